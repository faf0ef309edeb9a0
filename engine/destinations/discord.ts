/**
 * Posts Issues to a Discord channel through an incoming webhook, as one embed per message.
 *
 * ## Config
 * - `name`: unique name routes refer to.
 * - `type`: `"discord"`.
 * - `url`: the webhook URL, `https://discord.com/api/webhooks/{id}/{token}`; give it as
 *   `${DISCORD_WEBHOOK_URL}`. The token is never printed: dry-run shows `…/{id}/***` and
 *   failure reasons show only the origin.
 * - `threadId`: post into this thread of the webhook's channel (`?thread_id=`).
 * - `username`, `avatarUrl`: override the webhook's name and avatar.
 * - `mentions`: users `<@id>` and roles `<@&id>` pinged when an Issue fires. Without them,
 *   `allowed_mentions` is `{"parse":[]}`, so no text from an alert can ping anyone.
 * - `rateLimit`: default 0.5 sends/s with bursts of 5 (about 30 messages a minute per
 *   channel, 5 requests per 2 s per webhook, as observed).
 * - `timeoutMs`: time allowed for each request (default 10000).
 *
 * ## Limits
 * From the [webhook](https://discord.com/developers/docs/resources/webhook) and
 * [embed](https://discord.com/developers/docs/resources/message#embed-object-embed-limits)
 * references: content 2000 characters, 10 embeds, embed title 256, description 4096, 25
 * fields of name 256 and value 1024, footer 2048, and 6000 characters across all embeds.
 * Cano sends one embed: the headline as title, facts as inline fields, the fingerprint as
 * footer and the rest as Markdown in the description, cut to what is left of the 6000 with
 * a note of how much was cut. Tables are aligned text in code blocks (Discord has no
 * Markdown tables); images and files are named, with a short text preview of files.
 *
 * ## Threading
 * Requests use `?wait=true`, so Discord returns the message; its id (and the thread id when
 * one is used) is the thread state. A later send for the same fingerprint `PATCH`es the
 * root message (`/messages/{id}`) so it shows the current status and colour, then posts the
 * repeat or resolution as a new message in the same place. When the root is gone (`Unknown
 * Message`, code 10008), a new root is posted.
 *
 * ## Responses
 * 2xx is success. 429 is retried after the body's `retry_after` (float seconds), else the
 * `Retry-After` header; 5xx and network errors are retried. Other 4xx are permanent, with
 * Discord's `message`, `code` and the first field errors in the reason.
 *
 * ## Example payload
 * ```http
 * POST https://discord.com/api/webhooks/1234/***?wait=true
 * content-type: application/json
 *
 * {"embeds":[{"title":"🔥 [FIRING] HIGH Pod OOMKilled","color":14687834,
 *   "description":"**Labels:** `alertname=KubePodOOMKilled`…","fields":[{"name":"Subject",
 *   "value":"Pod shop/api-1","inline":true}],"footer":{"text":"fp 3f2a"}}],
 *  "allowed_mentions":{"parse":[]}}
 * ```
 *
 * @example What dry-run prints
 * ```ts
 * import discord, { DiscordConfigSchema } from "./discord.ts";
 * import { IssueSchema } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * const config = DiscordConfigSchema.parse({
 *   name: "ops-discord", type: "discord",
 *   url: "https://discord.com/api/webhooks/1234/very-secret-token",
 * });
 * const issue = IssueSchema.parse({
 *   id: "7d0c", fingerprint: "3f2a", aggregationKey: "Oom", type: "alert", source: "prometheus",
 *   title: "Pod OOMKilled", severity: "HIGH", status: "firing",
 *   startsAt: "2026-03-01T10:00:00Z", createdAt: "2026-03-01T10:00:01Z",
 * });
 * const [payload] = discord.render(issue, config);
 * const request = discord.describe(payload!, config);
 * assert.ok("url" in request);
 * assert.equal(request.url, "https://discord.com/api/webhooks/1234/***?wait=true");
 * assert.deepEqual(JSON.parse(request.body).allowed_mentions, { parse: [] });
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
import { failure, httpAttempt, type HttpTarget, parseJsonObject } from "./_http.ts";
import { cutText, fitChunks, issueHeadline, issueMarkdownChunks } from "./_markdown.ts";
import { subjectText } from "./_text.ts";

/** Characters of `content`. */
export const DISCORD_MAX_CONTENT = 2000;
/** Characters of an embed title. */
export const DISCORD_MAX_TITLE = 256;
/** Characters of an embed description. */
export const DISCORD_MAX_DESCRIPTION = 4096;
/** Fields per embed. */
export const DISCORD_MAX_FIELDS = 25;
/** Characters of a field name. */
export const DISCORD_MAX_FIELD_NAME = 256;
/** Characters of a field value. */
export const DISCORD_MAX_FIELD_VALUE = 1024;
/** Characters of a footer. */
export const DISCORD_MAX_FOOTER = 2048;
/** Characters across every embed of a message (titles, descriptions, fields, footers). */
export const DISCORD_MAX_EMBED_TOTAL = 6000;

/** Embed colour per severity while firing, as Discord's 0xRRGGBB integer. */
export const SEVERITY_COLORS: Readonly<Record<Issue["severity"], number>> = Object.freeze({
  HIGH: 0xe01e5a,
  MEDIUM: 0xecb22e,
  LOW: 0x36c5f0,
  INFO: 0x1d9bd1,
  DEBUG: 0x9e9ea6,
});
/** Embed colour of a resolved Issue. */
export const RESOLVED_COLOR = 0x2eb67d;

const SNOWFLAKE = /^\d{15,21}$/;
/** Characters of a fact field or the footer: short, so the description keeps ≥ 4000 of 6000. */
const FACT_CHARS = 256;

/** Config of a Discord destination. */
export const DiscordConfigSchema = z.strictObject({
  ...destinationBaseShape({ rateLimit: { perSecond: 0.5, burst: 5 } }),
  type: z.literal("discord"),
  url: z.url({ protocol: /^https?$/ }).regex(/\/webhooks\/\d+\/[^/?#]+$/, {
    error: "Discord webhook url must end with /webhooks/{id}/{token}",
  }).describe("Webhook URL with its token, e.g. ${DISCORD_WEBHOOK_URL}; never logged"),
  threadId: z.string().regex(SNOWFLAKE, { error: "Discord thread id must be a snowflake" })
    .optional().describe("Thread of the webhook's channel to post into"),
  username: z.string().min(1).max(80).refine((u) => !/clyde|discord/i.test(u), {
    error: 'Discord username must not contain "clyde" or "discord"',
  }).optional().describe("Name shown instead of the webhook's"),
  avatarUrl: z.url({ protocol: /^https?$/ }).optional().describe("Avatar shown instead"),
  mentions: z.array(
    z.string().regex(/^<@&?\d{15,21}>$/, {
      error: "Discord mention must be a user <@id> or a role <@&id>",
    }),
  ).default([]).describe("Who is pinged when an Issue fires"),
});
/** Config of a Discord destination, defaults applied. */
export type DiscordConfig = z.infer<typeof DiscordConfigSchema>;

/** An embed as Cano sends it. */
export interface DiscordEmbed {
  /** Headline. */
  title: string;
  /** Markdown body. */
  description: string;
  /** 0xRRGGBB. */
  color: number;
  /** Facts, inline. */
  fields: { name: string; value: string; inline: boolean }[];
  /** The fingerprint. */
  footer: { text: string };
  /** ISO 8601 start or end. */
  timestamp: string;
}

/** A message body, as `POST` (execute) and `PATCH` (edit) take it. */
export interface DiscordMessage {
  /** Mentions, when configured and firing. */
  content?: string;
  /** One embed. */
  embeds: [DiscordEmbed];
  /** Who may be pinged. */
  "allowed_mentions": { parse: []; users?: string[]; roles?: string[] };
  /** Name override. */
  username?: string;
  /** Avatar override. */
  "avatar_url"?: string;
}

/** What `send` gets: the root (posted first, later edited) and the follow-up message. */
export interface DiscordPayload {
  /** Root message: posted on the first send, `PATCH`ed on later ones. */
  root: DiscordMessage;
  /** Posted after the root was edited. */
  reply: DiscordMessage;
}

/** The Discord destination. */
const discord = defineDestination({
  type: "discord",
  config: DiscordConfigSchema,
  render: renderDiscord,
  describe(payload: DiscordPayload, config: DiscordConfig): OutboundRequest {
    return {
      method: "POST",
      url: executeUrl(maskedUrl(config.url), config.threadId),
      headers: { "content-type": "application/json" },
      body: JSON.stringify(payload.root),
    };
  },
  send: sendDiscord,
});

export default discord;

/**
 * Renders an Issue as the root message and the follow-up message.
 *
 * @param issue The issue.
 * @param config The destination config.
 * @returns One payload.
 */
export function renderDiscord(issue: Issue, config: DiscordConfig): DiscordPayload[] {
  const firing = issue.status === "firing";
  const headline = issueHeadline(issue);
  const again = firing ? `🔁 Firing again: ${headline}` : headline;
  return [{ root: message(issue, config, headline), reply: message(issue, config, again) }];
}

function message(issue: Issue, config: DiscordConfig, title: string): DiscordMessage {
  const firing = issue.status === "firing";
  const fields = [
    { name: "Severity", value: issue.severity },
    { name: "Status", value: issue.status },
    ...(issue.subject ? [{ name: "Subject", value: subjectText(issue.subject) }] : []),
    ...(issue.cluster ? [{ name: "Cluster", value: issue.cluster }] : []),
    { name: "Source", value: `${issue.source}, ${issue.type}` },
  ].map((f) => ({ name: f.name, value: cutText(f.value, FACT_CHARS), inline: true }));
  const embed = {
    title: cutText(title, DISCORD_MAX_TITLE),
    description: "",
    color: firing ? SEVERITY_COLORS[issue.severity] : RESOLVED_COLOR,
    fields,
    footer: { text: cutText(`fp ${issue.fingerprint}`, FACT_CHARS) },
    timestamp: validTimestamp(issue.endsAt ?? issue.startsAt) ?? issue.createdAt,
  };
  const used = embed.title.length + embed.footer.text.length +
    fields.reduce((n, f) => n + f.name.length + f.value.length, 0);
  const room = Math.min(DISCORD_MAX_DESCRIPTION, DISCORD_MAX_EMBED_TOTAL - used);
  const chunks = issueMarkdownChunks(issue, { headline: false, facts: false, tables: "code" });
  embed.description = chunks.length === 0
    ? "_No enrichments_"
    : fitChunks(chunks, room, { note: (t) => `*${t}*` });
  const mentions = firing && config.mentions.length > 0 ? config.mentions : [];
  const ids = (role: boolean) =>
    mentions.filter((m) => m.startsWith("<@&") === role).map((m) => m.replace(/\D/g, ""));
  return {
    ...(mentions.length > 0 ? { content: mentions.join(" ") } : {}),
    embeds: [embed],
    "allowed_mentions": mentions.length > 0
      ? { parse: [], users: ids(false), roles: ids(true) }
      : { parse: [] },
    ...(config.username ? { username: config.username } : {}),
    ...(config.avatarUrl ? { avatar_url: config.avatarUrl } : {}),
  };
}

function validTimestamp(value: string): string | undefined {
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : new Date(time).toISOString();
}

function executeUrl(base: string, threadId?: string): string {
  return `${base}?wait=true${threadId ? `&thread_id=${threadId}` : ""}`;
}

function maskedUrl(url: string): string {
  return url.replace(/\/[^/?#]+$/, "/***");
}

async function sendDiscord(
  payload: DiscordPayload,
  config: DiscordConfig,
  options: SendOptions,
): Promise<SendResult> {
  const target: HttpTarget = {
    label: `Discord "${config.name}"`,
    timeoutMs: config.timeoutMs,
    secrets: [config.url, config.url.replace(/^.*\//, "")],
  };
  const state = options.thread?.messageId ? options.thread : undefined;
  const threadId = state ? state.threadId : config.threadId;
  if (state?.messageId) {
    const query = threadId ? `?thread_id=${threadId}` : "";
    // An edit cannot change the author: username and avatar_url are not PATCH fields.
    const { username: _username, avatar_url: _avatar, ...edit } = payload.root;
    const path = `/messages/${state.messageId}${query}`;
    const edited = await call(target, options, "PATCH", path, edit, config.url);
    if (edited.ok) {
      const posted = await call(
        target,
        options,
        "POST",
        executeUrl("", threadId),
        payload.reply,
        config.url,
      );
      return posted.ok ? { ok: true, thread: state } : posted.failure;
    }
    if (edited.code !== 10008) return edited.failure;
  }
  const posted = await call(
    target,
    options,
    "POST",
    executeUrl("", threadId),
    payload.root,
    config.url,
  );
  if (!posted.ok) return posted.failure;
  const id = posted.body.id;
  if (typeof id !== "string") return { ok: true };
  return { ok: true, thread: { messageId: id, ...(threadId ? { threadId } : {}) } };
}

type Call =
  | { ok: true; body: Record<string, unknown> }
  | { ok: false; code?: number; failure: Extract<SendResult, { ok: false }> };

/** One request to the webhook (`path` is appended to its URL); never throws. */
async function call(
  target: HttpTarget,
  options: SendOptions,
  method: "POST" | "PATCH",
  path: string,
  body: unknown,
  url: string,
): Promise<Call> {
  const answer = await httpAttempt(target, {
    method,
    url: `${url}${path}`,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  }, options);
  const parsed = parseJsonObject(answer.ok ? answer.text : answer.text ?? "");
  if (answer.ok) return { ok: true, body: parsed ?? {} };
  if (answer.status === undefined || parsed === undefined) {
    return { ok: false, failure: answer.failure };
  }
  const code = typeof parsed.code === "number" ? parsed.code : undefined;
  if (answer.status === 429) {
    const seconds = Number(parsed.retry_after);
    const retryAfterMs = Number.isFinite(seconds) && seconds >= 0
      ? Math.ceil(seconds * 1000)
      : answer.failure.retryAfterMs;
    const scope = parsed.global === true ? " (global)" : "";
    return {
      ok: false,
      failure: failure(target, true, `${method} was rate limited${scope} (HTTP 429)`, retryAfterMs),
    };
  }
  if (answer.status >= 500) return { ok: false, failure: answer.failure };
  const detail = `${method} failed with HTTP ${answer.status}: ${String(parsed.message ?? "")}` +
    `${code === undefined ? "" : ` (code ${code})`}${fieldErrors(parsed.errors)}`;
  return {
    ok: false,
    ...(code === undefined ? {} : { code }),
    failure: failure(target, false, detail),
  };
}

/** The first few `path: CODE` pairs of Discord's nested `errors` object. */
function fieldErrors(errors: unknown): string {
  const found: string[] = [];
  const walk = (value: unknown, path: string[]) => {
    if (!value || typeof value !== "object" || found.length >= 3) return;
    for (const [key, child] of Object.entries(value)) {
      if (key === "_errors" && Array.isArray(child)) {
        for (const e of child) found.push(`${path.join(".")}: ${e?.code ?? e?.message}`);
      } else walk(child, [...path, key]);
    }
  };
  walk(errors, []);
  return found.length > 0 ? ` [${found.slice(0, 3).join("; ")}]` : "";
}
