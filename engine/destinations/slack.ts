/**
 * Posts Issues to a Slack channel with the Web API and Block Kit, one thread per fingerprint.
 *
 * ## Config
 * - `name`: unique name routes refer to.
 * - `type`: `"slack"`.
 * - `token`: bot token (`xoxb-…`, scopes `chat:write` and `files:write`); give it as
 *   `${SLACK_TOKEN}`. Never printed: dry-run and failure reasons show `***`.
 * - `channel`: `#name` or a channel id (`C…`).
 * - `apiUrl`: Web API base URL (default `https://slack.com/api`).
 * - `mentions`: `here`, `channel`, user ids (`U…`) or user group ids (`S…`) mentioned when
 *   an Issue fires.
 * - `threads`: post repeats and the resolution into the first message's thread (default true).
 * - `timeoutMs`: time allowed for each API call (default 10000).
 *
 * ## Limits
 * From the [Block Kit reference](https://docs.slack.dev/reference/block-kit/blocks):
 * 50 blocks per message, 3000 characters per section, 150 per header. Cano also keeps block
 * text under 11,000 characters, below the undocumented `msg_blocks_too_long` limit. What does
 * not fit is cut with `…` or replaced by a note; long logs, big tables, binaries and images
 * are uploaded with `files.getUploadURLExternal` + `files.completeUploadExternal`
 * ({@linkcode SLACK_MAX_UPLOADS} per Issue).
 *
 * ## Threading
 * The first message for a fingerprint is the root; `send` returns `{ ts, channel }` as the
 * thread state. Later sends first `chat.update` the root (header and colour show the current
 * status), then post into its thread with `thread_ts`. Uploads go into the thread. When the
 * root is gone (`message_not_found`), a new root is posted. Dry-run has no thread state: it
 * shows the first message as it would be posted without an existing thread (the root
 * `chat.postMessage`), also for a resolution.
 *
 * ## Responses
 * Slack answers logical errors with HTTP 200 and `{"ok":false,"error":"…"}`. HTTP 429 and
 * `ratelimited` are retried after `Retry-After`; 5xx, network errors and Slack's transient
 * errors are retried; `invalid_auth`, `channel_not_found`, `invalid_blocks` and every other
 * error are permanent, with the error name in the reason. The Web API client (JSON and form
 * calls, the three-step upload, this error mapping) is `_slack_api.ts`.
 *
 * ## Example payload
 * ```http
 * POST https://slack.com/api/chat.postMessage
 * authorization: Bearer ***
 * content-type: application/json; charset=utf-8
 *
 * {"channel":"#alerts","text":"[FIRING] HIGH Pod OOMKilled","blocks":[{"type":"header",...}],
 *  "attachments":[{"color":"#E01E5A","blocks":[...]}],"unfurl_links":false,"unfurl_media":false}
 * ```
 *
 * @example What dry-run prints
 * ```ts
 * import slack, { SlackConfigSchema } from "./slack.ts";
 * import { IssueSchema } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * const config = SlackConfigSchema.parse({
 *   name: "ops-slack", type: "slack", token: "xoxb-1-secret", channel: "#alerts",
 * });
 * const issue = IssueSchema.parse({
 *   id: "7d0c", fingerprint: "3f2a", aggregationKey: "Oom", type: "alert", source: "prometheus",
 *   title: "Pod OOMKilled", severity: "HIGH", status: "firing",
 *   startsAt: "2026-03-01T10:00:00Z", createdAt: "2026-03-01T10:00:01Z",
 * });
 * const [payload] = slack.render(issue, config);
 * const request = slack.describe(payload!, config);
 * assert.ok("url" in request);
 * assert.equal(request.url, "https://slack.com/api/chat.postMessage");
 * assert.equal(request.headers.authorization, "Bearer ***");
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
import {
  context,
  convertEnrichments,
  escapeSlack,
  fitBlocks,
  headerBlock,
  SLACK_MAX_BLOCKS,
  SLACK_MAX_BLOCKS_TEXT,
  SLACK_MAX_BUTTON_TEXT,
  SLACK_MAX_BUTTONS,
  SLACK_MAX_FIELD_TEXT,
  SLACK_MAX_TEXT,
  type SlackBlock,
  type SlackUpload,
} from "./_slack_blocks.ts";
import { callSlack, type SlackCallRequest, slackRequest, uploadFile } from "./_slack_api.ts";

/** Files uploaded per Issue; further ones are named in the message only. */
export const SLACK_MAX_UPLOADS = 10;
/** Colour bar per severity while firing. */
export const SEVERITY_COLORS: Readonly<Record<Issue["severity"], string>> = Object.freeze({
  HIGH: "#E01E5A",
  MEDIUM: "#ECB22E",
  LOW: "#36C5F0",
  INFO: "#1D9BD1",
  DEBUG: "#9E9EA6",
});
/** Colour bar of a resolved Issue. */
export const RESOLVED_COLOR = "#2EB67D";

/** Config of a Slack destination. */
export const SlackConfigSchema = z.strictObject({
  // chat.postMessage: about one message per second per channel, short bursts allowed.
  ...destinationBaseShape({ rateLimit: { perSecond: 1, burst: 3 } }),
  type: z.literal("slack"),
  token: z.string().min(1).describe("Bot token (xoxb-…), e.g. ${SLACK_TOKEN}; never logged"),
  channel: z.string().regex(/^(#[a-z0-9][a-z0-9._-]*|[CGD][A-Z0-9]{2,})$/, {
    error: "Slack channel must start with # or be a channel id",
  }).describe("Channel name (#alerts) or id (C0123456789)"),
  apiUrl: z.url({ protocol: /^https?$/ }).default("https://slack.com/api")
    .describe("Web API base URL"),
  mentions: z.array(
    z.string().regex(/^(here|channel|[UW][A-Z0-9]+|S[A-Z0-9]+)$/, {
      error: "Slack mention must be here, channel, a user id (U…) or a user group id (S…)",
    }),
  ).default([]).describe("Who is mentioned when an Issue fires"),
  threads: z.boolean().default(true).describe("Post repeats and the resolution in one thread"),
});
/** Config of a Slack destination, defaults applied. */
export type SlackConfig = z.infer<typeof SlackConfigSchema>;

/** A message body without its channel: what `chat.postMessage` and `chat.update` get. */
export interface SlackMessage {
  /** Notification and fallback text. */
  text: string;
  /** Top-level blocks: header and summary. */
  blocks: SlackBlock[];
  /** One attachment carrying the colour bar and the enrichment blocks. */
  attachments: [{ color: string; blocks: SlackBlock[] }];
}

/** One unit of work for `send`. */
export type SlackPayload =
  | {
    kind: "message";
    /** The root message: posted first, later `chat.update`d with the current status. */
    root: SlackMessage;
    /** What goes into the thread when a root exists. */
    reply: SlackMessage;
  }
  | { kind: "upload"; upload: SlackUpload };

/** The Slack destination. */
const slack = defineDestination({
  type: "slack",
  config: SlackConfigSchema,
  render: renderSlack,
  describe(payload: SlackPayload, config: SlackConfig): OutboundRequest {
    const call: SlackCallRequest = payload.kind === "upload"
      ? {
        method: "files.getUploadURLExternal",
        args: {
          filename: payload.upload.filename,
          length: `${uploadBytes(payload.upload).length}`,
        },
      }
      : rootPost(config, payload.root);
    const request = slackRequest(config, call);
    return { ...request, headers: { ...request.headers, authorization: "Bearer ***" } };
  },
  send: sendSlack,
});

export default slack;

/**
 * Renders an Issue as the root message (and its thread reply), then one upload per file.
 *
 * @param issue The issue.
 * @param config The destination config.
 * @returns The message payload first, then the uploads.
 */
export function renderSlack(issue: Issue, config: SlackConfig): SlackPayload[] {
  const { blocks: enriched, uploads } = convertEnrichments(issue);
  const firing = issue.status === "firing";
  const color = firing ? SEVERITY_COLORS[issue.severity] : RESOLVED_COLOR;
  const title = issue.title.trim() || issue.aggregationKey;
  const summary = `[${issue.status.toUpperCase()}] ${issue.severity} ${title}`;
  const mentions = firing ? config.mentions.map(mention).join(" ") : "";
  const text = escapeSlack(mentions ? `${summary} ` : summary, SLACK_MAX_TEXT - 500) +
    (mentions ? mentions : "");
  const headerText = `${firing ? "🔥" : "✅"} ${issue.status.toUpperCase()}: ${title}`;
  const head: SlackBlock[] = [headerBlock(headerText), summaryBlock(issue)];
  if (issue.description?.trim()) {
    head.push({
      type: "section",
      text: { type: "mrkdwn", text: escapeSlack(issue.description, SLACK_MAX_FIELD_TEXT) },
    });
  }
  head.push(context(labelsText(issue)));
  const extra = uploads.length - SLACK_MAX_UPLOADS;
  if (extra > 0) head.push(context(`:scissors: ${extra} more files not uploaded`));
  if (mentions) head.push(context(mentions));
  const buttons = issue.links.slice(0, SLACK_MAX_BUTTONS).filter((l) => l.url.length <= 3000);
  if (buttons.length > 0) {
    head.push({
      type: "actions",
      elements: buttons.map((l) => ({
        type: "button",
        text: { type: "plain_text", text: plainCut(l.title, SLACK_MAX_BUTTON_TEXT), emoji: true },
        url: l.url,
      })),
    });
  }
  const root = message(text, head, enriched, color);
  const status = firing
    ? `:fire: *Firing again* since ${escapeSlack(issue.startsAt, 40)}`
    : `:white_check_mark: *Resolved*${issue.endsAt ? ` at ${escapeSlack(issue.endsAt, 40)}` : ""}`;
  const reply = message(escapeSlack(summary, SLACK_MAX_TEXT), [context(status)], enriched, color);
  return [
    { kind: "message", root, reply },
    ...uploads.slice(0, SLACK_MAX_UPLOADS).map((upload) => ({ kind: "upload" as const, upload })),
  ];
}

function message(text: string, head: SlackBlock[], rest: SlackBlock[], color: string) {
  const fitted = fitBlocks(head, rest, { blocks: SLACK_MAX_BLOCKS, chars: SLACK_MAX_BLOCKS_TEXT });
  const body = fitted.slice(head.length);
  const attachment = { color, blocks: body.length > 0 ? body : [context("_No enrichments_")] };
  return {
    text,
    blocks: fitted.slice(0, head.length),
    attachments: [attachment],
  } satisfies SlackMessage as SlackMessage;
}

function summaryBlock(issue: Issue): SlackBlock {
  const fields: [string, string | undefined][] = [
    ["Severity", issue.severity],
    ["Status", issue.status],
    [
      "Subject",
      issue.subject &&
      `${issue.subject.kind} ${
        issue.subject.namespace ? `${issue.subject.namespace}/` : ""
      }${issue.subject.name}${issue.subject.container ? ` (${issue.subject.container})` : ""}`,
    ],
    ["Cluster", issue.cluster],
    ["Source", issue.source],
    [issue.endsAt ? "Ended" : "Started", issue.endsAt ?? issue.startsAt],
  ];
  return {
    type: "section",
    fields: fields.filter((f): f is [string, string] => !!f[1]).map(([name, value]) => ({
      type: "mrkdwn",
      text: `*${name}*\n${escapeSlack(value, SLACK_MAX_FIELD_TEXT - 40)}`,
    })),
  };
}

function labelsText(issue: Issue): string {
  const labels = Object.keys(issue.labels).sort().map((k) => `\`${k}=${issue.labels[k]}\``);
  return escapeSlack([`fp ${issue.fingerprint}`, ...labels].join(" · "), 2000);
}

function mention(id: string): string {
  if (id === "here" || id === "channel") return `<!${id}>`;
  return id.startsWith("S") ? `<!subteam^${id}>` : `<@${id}>`;
}

function plainCut(text: string, max: number): string {
  const plain = text.trim() || "link";
  return plain.length <= max ? plain : `${plain.slice(0, max - 1)}…`;
}

function postBody(channel: string, msg: SlackMessage): Record<string, unknown> {
  return { channel, ...msg, unfurl_links: false, unfurl_media: false };
}

function rootPost(config: SlackConfig, root: SlackMessage): SlackCallRequest {
  return { method: "chat.postMessage", args: postBody(config.channel, root) };
}

function uploadBytes(upload: SlackUpload): Uint8Array<ArrayBuffer> {
  if (upload.encoding === "utf8") return new TextEncoder().encode(upload.data);
  return Uint8Array.from(atob(upload.data.replace(/\s/g, "")), (c) => c.charCodeAt(0));
}

async function sendSlack(
  payload: SlackPayload,
  config: SlackConfig,
  options: SendOptions,
): Promise<SendResult> {
  const thread = options.thread?.ts && options.thread.channel
    ? { ts: options.thread.ts, channel: options.thread.channel }
    : undefined;
  if (payload.kind === "upload") {
    return await uploadFile(config, {
      ...payload.upload,
      bytes: uploadBytes(payload.upload),
      channel: thread?.channel ?? config.channel,
      ...(thread ? { threadTs: thread.ts } : {}),
    }, options);
  }
  if (config.threads && thread) {
    // Update first: it is idempotent, so a retry after a failed reply does not post twice.
    const updated = await callSlack(config, {
      method: "chat.update",
      args: { channel: thread.channel, ts: thread.ts, ...payload.root },
    }, options);
    if (updated.ok) {
      const replied = await callSlack(config, {
        method: "chat.postMessage",
        args: { ...postBody(thread.channel, payload.reply), thread_ts: thread.ts },
      }, options);
      return replied.ok ? { ok: true, thread } : replied.failure;
    }
    if (updated.error !== "message_not_found") return updated.failure;
  }
  const posted = await callSlack(config, rootPost(config, payload.root), options);
  if (!posted.ok) return posted.failure;
  const { ts, channel } = posted.body;
  return typeof ts === "string"
    ? { ok: true, thread: { ts, channel: typeof channel === "string" ? channel : config.channel } }
    : { ok: true };
}
