/**
 * Posts Issues to Mattermost through an incoming webhook, as Markdown text with a coloured
 * Slack-style attachment.
 *
 * ## Config
 * - `name`: unique name routes refer to.
 * - `type`: `"mattermost"`.
 * - `url`: the incoming webhook, `https://<server>/hooks/<key>`; give it as
 *   `${MATTERMOST_WEBHOOK_URL}`. The key is never printed: dry-run shows `/hooks/***` and
 *   failure reasons show only the origin.
 * - `channel`: channel override (`town-square` or `@user`); needs the webhook not to be
 *   locked to its channel.
 * - `username`, `iconUrl`, `iconEmoji`: overrides; the server ignores them unless
 *   "Enable integrations to override usernames/profile picture icons" is on.
 * - `rateLimit`: default 10 sends/s with bursts of 10, Mattermost's default
 *   `RateLimitSettings.PerSec` when the server's rate limiting is enabled.
 * - `timeoutMs`: time allowed for each request (default 10000).
 *
 * ## Limits
 * [Incoming webhooks](https://developers.mattermost.com/integrate/webhooks/incoming/):
 * `text` up to 16383 characters (Alertmanager's `maxTextLenRunes`). The whole Issue is
 * Markdown in `text`, cut with a note of what was cut; tables are Markdown tables, JSON
 * and diffs are code blocks, files are named with a short preview and images are named.
 * One attachment carries the colour bar and the short facts as fields.
 *
 * ## Threading
 * An incoming webhook returns no post id, so posts cannot be threaded or edited. The state
 * kept per fingerprint is the channel override used, so a repeat and the resolution go to
 * the channel of the first post even when the config has changed since.
 *
 * ## Responses
 * `200` with `ok` is success. 429 (the server's rate limiter, with `Retry-After`) and 5xx
 * are retried; other 4xx are permanent with Mattermost's error `message` and `id`.
 *
 * ## Example payload
 * ```http
 * POST https://chat.example.com/hooks/***
 * content-type: application/json
 *
 * {"text":"🔥 **[FIRING] HIGH** Pod OOMKilled\n\n**Subject:** Pod shop/api-1 …",
 *  "attachments":[{"fallback":"🔥 [FIRING] HIGH Pod OOMKilled","color":"#E01E5A",
 *  "fields":[{"title":"Severity","value":"HIGH","short":true}]}]}
 * ```
 *
 * @example What dry-run prints
 * ```ts
 * import mattermost, { MattermostConfigSchema } from "./mattermost.ts";
 * import { IssueSchema } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * const config = MattermostConfigSchema.parse({
 *   name: "ops-mm", type: "mattermost", url: "https://chat.example.com/hooks/xyzsecretkey",
 * });
 * const issue = IssueSchema.parse({
 *   id: "7d0c", fingerprint: "3f2a", aggregationKey: "Oom", type: "alert", source: "prometheus",
 *   title: "Pod OOMKilled", severity: "HIGH", status: "firing",
 *   startsAt: "2026-03-01T10:00:00Z", createdAt: "2026-03-01T10:00:01Z",
 * });
 * const [payload] = mattermost.render(issue, config);
 * const request = mattermost.describe(payload!, config);
 * assert.ok("url" in request);
 * assert.equal(request.url, "https://chat.example.com/hooks/***");
 * assert.equal(JSON.parse(request.body).attachments[0].color, "#E01E5A");
 * ```
 *
 * @module
 */
import { z } from "zod";
import type { Issue } from "@cano/sdk";
import {
  defineDestination,
  destinationBaseShape,
  type OutboundRequest,
  type SendOptions,
  type SendResult,
} from "./destination.ts";
import { failure, httpAttempt } from "./_http.ts";
import { cutText, fitChunks, issueHeadline, issueMarkdownChunks } from "./_markdown.ts";
import { subjectText } from "./_text.ts";

/** Characters of a post's `text`. */
export const MATTERMOST_MAX_TEXT = 16_383;
/** Characters of an attachment field value Cano sends. */
export const MATTERMOST_MAX_FIELD = 300;

/** Attachment colour per severity while firing. */
export const SEVERITY_COLORS: Readonly<Record<Issue["severity"], string>> = Object.freeze({
  HIGH: "#E01E5A",
  MEDIUM: "#ECB22E",
  LOW: "#36C5F0",
  INFO: "#1D9BD1",
  DEBUG: "#9E9EA6",
});
/** Attachment colour of a resolved Issue. */
export const RESOLVED_COLOR = "#2EB67D";

/** Config of a Mattermost destination. */
export const MattermostConfigSchema = z.strictObject({
  ...destinationBaseShape({ rateLimit: { perSecond: 10, burst: 10 } }),
  type: z.literal("mattermost"),
  url: z.url({ protocol: /^https?$/ }).regex(/\/hooks\/[A-Za-z0-9_-]+$/, {
    error: "Mattermost webhook url must end with /hooks/<key>",
  }).describe("Incoming webhook URL, e.g. ${MATTERMOST_WEBHOOK_URL}; never logged"),
  channel: z.string().regex(/^(@[a-z0-9._-]+|[a-z0-9][a-z0-9_-]*)$/, {
    error: "Mattermost channel must be a channel name (town-square) or @username",
  }).optional().describe("Channel override"),
  username: z.string().min(1).max(64).optional().describe("Username override"),
  iconUrl: z.url({ protocol: /^https?$/ }).optional().describe("Profile picture override"),
  iconEmoji: z.string().regex(/^:?[a-z0-9_+-]+:?$/).optional().describe("Emoji icon override"),
});
/** Config of a Mattermost destination, defaults applied. */
export type MattermostConfig = z.infer<typeof MattermostConfigSchema>;

/** The webhook body Cano sends. */
export interface MattermostPayload {
  /** The Issue as Markdown. */
  text: string;
  /** One attachment: colour bar and facts. */
  attachments: [{
    fallback: string;
    color: string;
    fields: { title: string; value: string; short: boolean }[];
  }];
  /** Channel override. */
  channel?: string;
  /** Username override. */
  username?: string;
  /** Icon override. */
  "icon_url"?: string;
  /** Emoji icon override. */
  "icon_emoji"?: string;
}

/** The Mattermost destination. */
const mattermost = defineDestination({
  type: "mattermost",
  config: MattermostConfigSchema,
  render: renderMattermost,
  describe(payload: MattermostPayload, config: MattermostConfig): OutboundRequest {
    return {
      method: "POST",
      url: config.url.replace(/\/hooks\/[^/]+$/, "/hooks/***"),
      headers: { "content-type": "application/json" },
      body: JSON.stringify(payload),
    };
  },
  send: sendMattermost,
});

export default mattermost;

/**
 * Renders an Issue as one webhook body.
 *
 * @param issue The issue.
 * @param config The destination config.
 * @returns One payload.
 */
export function renderMattermost(issue: Issue, config: MattermostConfig): MattermostPayload[] {
  const headline = issueHeadline(issue);
  const fields = [
    ["Severity", issue.severity],
    ["Status", issue.status],
    ["Subject", issue.subject && subjectText(issue.subject)],
    ["Cluster", issue.cluster],
  ].filter((f): f is [string, string] => !!f[1]).map(([title, value]) => ({
    title,
    value: cutText(value, MATTERMOST_MAX_FIELD),
    short: true,
  }));
  return [{
    text: fitChunks(issueMarkdownChunks(issue), MATTERMOST_MAX_TEXT),
    attachments: [{
      fallback: cutText(headline, MATTERMOST_MAX_FIELD),
      color: issue.status === "firing" ? SEVERITY_COLORS[issue.severity] : RESOLVED_COLOR,
      fields,
    }],
    ...(config.channel ? { channel: config.channel } : {}),
    ...(config.username ? { username: config.username } : {}),
    ...(config.iconUrl ? { icon_url: config.iconUrl } : {}),
    ...(config.iconEmoji ? { icon_emoji: config.iconEmoji } : {}),
  }];
}

async function sendMattermost(
  payload: MattermostPayload,
  config: MattermostConfig,
  options: SendOptions,
): Promise<SendResult> {
  const target = {
    label: `Mattermost "${config.name}"`,
    timeoutMs: config.timeoutMs,
    secrets: [config.url, config.url.replace(/^.*\//, "")],
  };
  // The first post's channel wins, so the resolution lands where the firing did.
  const channel = options.thread?.channel ?? payload.channel;
  const body = channel ? { ...payload, channel } : payload;
  const answer = await httpAttempt(target, {
    method: "POST",
    url: config.url,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  }, options);
  if (answer.ok) return channel ? { ok: true, thread: { channel } } : { ok: true };
  if (answer.status === undefined || answer.status === 429 || answer.status >= 500) {
    return answer.failure;
  }
  const error = parseError(answer.text ?? "");
  if (!error) return answer.failure;
  return failure(target, false, `HTTP ${answer.status}: ${error}`);
}

function parseError(text: string): string | undefined {
  try {
    const body = JSON.parse(text);
    if (typeof body?.message !== "string") return undefined;
    return `${body.message}${typeof body.id === "string" ? ` (${body.id})` : ""}`;
  } catch (_error) {
    // Plain text or HTML from a proxy: the status and excerpt from httpAttempt say it.
    return undefined;
  }
}
