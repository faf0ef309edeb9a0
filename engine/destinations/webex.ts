/**
 * Posts Issues to a Webex space (or a person) through the Messages API, as Markdown with a
 * plain-text fallback, threading repeats and the resolution under the first message.
 *
 * ## Config
 * - `name`: unique name routes refer to.
 * - `type`: `"webex"`.
 * - `token`: bot access token, sent as `Authorization: Bearer <token>`; give it as
 *   `${WEBEX_BOT_TOKEN}`. It is never printed: dry-run shows `Bearer ***` and failure
 *   reasons replace it with `***`.
 * - `roomId`: the space to post to (the bot must be a member), or
 * - `toPersonEmail`: a person to message directly. Exactly one of the two.
 * - `apiUrl`: the Messages endpoint (default `https://webexapis.com/v1/messages`, the same
 *   as Alertmanager's `webex_configs.api_url`).
 * - `rateLimit`: default 1 send/s with bursts of 5; Webex publishes no fixed figure and
 *   answers 429 with `Retry-After` when a bot posts too fast.
 * - `timeoutMs`: time allowed for each request (default 10000).
 *
 * ## Limits
 * [Messages](https://developer.webex.com/docs/api/v1/messages/create-a-message): `markdown`
 * and `text` are each at most 7439 bytes (Alertmanager's `maxMessageSize`), measured by
 * Cano as UTF-8 bytes. The whole Issue is Markdown in `markdown`, cut at a line boundary
 * with a note of what was cut (code fences stay closed); tables and aligned text are code
 * blocks, as Webex renders no Markdown tables; files are named with a short preview and
 * images are named. `text` is the plain-text rendering, cut the same way, shown by clients
 * and notifications that do not render Markdown. Mentions (`<@all>`, `<@personEmail:…>`)
 * in alert text are broken so an alert cannot notify a whole space.
 *
 * ## Threading
 * The first message's `id` (and its `roomId`) is kept per fingerprint; repeats and the
 * resolution are posted as replies with `parentId`, always to that first message, since
 * Webex does not allow replies to replies. When Webex answers 404 for the parent (the
 * message was deleted), Cano posts a new root message and keeps its `id` instead.
 *
 * ## Responses
 * `200` with a message object is success (a 2xx without an `id` is delivered but unthreaded). 429 (with `Retry-After`) and 5xx are retried;
 * other 4xx are permanent, with Webex's `message` and `trackingId` in the reason; 401 and
 * 403 mean the token is wrong or the bot is not in the space.
 *
 * ## Example payload
 * ```http
 * POST https://webexapis.com/v1/messages
 * authorization: Bearer ***
 * content-type: application/json
 *
 * {"roomId":"Y2lzY29zcGFyazovL3VzL1JPT00v…",
 *  "markdown":"🔥 **[FIRING] HIGH** Pod OOMKilled\n\n**Subject:** Pod shop/api-1 …",
 *  "text":"[FIRING] HIGH Pod OOMKilled\nSubject: Pod shop/api-1 …",
 *  "parentId":"Y2lzY29zcGFyazovL3VzL01FU1NBR0Uv…"}
 * ```
 *
 * @example What dry-run prints
 * ```ts
 * import webex, { WebexConfigSchema } from "./webex.ts";
 * import { IssueSchema } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * const config = WebexConfigSchema.parse({
 *   name: "ops-webex", type: "webex", token: "secret-bot-token", roomId: "room-1",
 * });
 * const issue = IssueSchema.parse({
 *   id: "7d0c", fingerprint: "3f2a", aggregationKey: "Oom", type: "alert", source: "prometheus",
 *   title: "Pod OOMKilled", severity: "HIGH", status: "firing",
 *   startsAt: "2026-03-01T10:00:00Z", createdAt: "2026-03-01T10:00:01Z",
 * });
 * const [payload] = webex.render(issue, config);
 * const request = webex.describe(payload!, config);
 * assert.ok("url" in request);
 * assert.equal(request.url, "https://webexapis.com/v1/messages");
 * assert.equal(request.headers.authorization, "Bearer ***");
 * assert.ok(!JSON.stringify(request).includes("secret-bot-token"));
 * assert.match(JSON.parse(request.body).markdown, /^🔥 \*\*\[FIRING\] HIGH\*\* Pod OOMKilled/);
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
import { fitChunks, issueMarkdownChunks } from "./_markdown.ts";
import { cutToFit, utf8Bytes } from "./_budget.ts";
import { renderIssueText } from "./_text.ts";

/** Bytes (UTF-8) of a message's `markdown`, and separately of its `text`. */
export const WEBEX_MAX_BYTES = 7439;

/** Config of a Webex destination. */
export const WebexConfigSchema = z.strictObject({
  ...destinationBaseShape({ rateLimit: { perSecond: 1, burst: 5 } }),
  type: z.literal("webex"),
  token: z.string().min(1).describe("Bot access token, e.g. ${WEBEX_BOT_TOKEN}; never logged"),
  roomId: z.string().min(1).optional().describe("Space to post to; the bot must be a member"),
  toPersonEmail: z.email().optional().describe("Person to message directly, instead of roomId"),
  apiUrl: z.url({ protocol: /^https?$/ }).default("https://webexapis.com/v1/messages")
    .describe("Messages endpoint"),
}).refine((c) => (c.roomId === undefined) !== (c.toPersonEmail === undefined), {
  error: "Webex destination needs exactly one of roomId and toPersonEmail",
  path: ["roomId"],
});
/** Config of a Webex destination, defaults applied. */
export type WebexConfig = z.infer<typeof WebexConfigSchema>;

/** The message body Cano posts. */
export interface WebexPayload {
  /** Space to post to. */
  roomId?: string;
  /** Person to message directly. */
  toPersonEmail?: string;
  /** The Issue as Markdown, at most {@linkcode WEBEX_MAX_BYTES}. */
  markdown: string;
  /** The Issue as plain text, at most {@linkcode WEBEX_MAX_BYTES}. */
  text: string;
  /** The root message this one replies to; set by send from thread state. */
  parentId?: string;
}

/** The Webex destination. */
const webex = defineDestination({
  type: "webex",
  config: WebexConfigSchema,
  render: renderWebex,
  describe(payload: WebexPayload, config: WebexConfig): OutboundRequest {
    return {
      method: "POST",
      url: config.apiUrl,
      headers: { authorization: "Bearer ***", "content-type": "application/json" },
      body: JSON.stringify(payload),
    };
  },
  send: sendWebex,
});

export default webex;

/**
 * Renders an Issue as one message: Markdown and plain text, each fitted to 7439 bytes.
 *
 * @param issue The issue.
 * @param config The destination config.
 * @returns One payload.
 * @example A multi-byte Issue is cut by bytes, not characters
 * ```ts
 * import { renderWebex, WEBEX_MAX_BYTES, WebexConfigSchema } from "./webex.ts";
 * import { IssueSchema } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * const config = WebexConfigSchema.parse({ name: "w", type: "webex", token: "t", roomId: "r" });
 * const issue = IssueSchema.parse({
 *   id: "1", fingerprint: "f", aggregationKey: "A", type: "alert", source: "prometheus",
 *   title: "Disk", description: "日本語 ".repeat(3000), severity: "LOW", status: "firing",
 *   startsAt: "2026-03-01T10:00:00Z", createdAt: "2026-03-01T10:00:01Z",
 * });
 * const [payload] = renderWebex(issue, config);
 * const bytes = (s: string) => new TextEncoder().encode(s).length;
 * assert.ok(bytes(payload!.markdown) <= WEBEX_MAX_BYTES);
 * assert.ok(bytes(payload!.text) <= WEBEX_MAX_BYTES);
 * ```
 */
export function renderWebex(issue: Issue, config: WebexConfig): WebexPayload[] {
  const chunks = issueMarkdownChunks(issue, { tables: "code" }).map((chunk) => ({
    ...chunk,
    lines: chunk.lines.map(breakMentions),
  }));
  const markdown = fitChunks(chunks, WEBEX_MAX_BYTES, {
    measure: utf8Bytes,
    cutLine: (line, max) => cutToFit(line, max) || undefined,
  });
  const text = cutToFit(breakMentions(renderIssueText(issue)), WEBEX_MAX_BYTES, {
    marker: "\n…",
  });
  return [{
    ...(config.roomId ? { roomId: config.roomId } : { toPersonEmail: config.toPersonEmail! }),
    markdown,
    text,
  }];
}

async function sendWebex(
  payload: WebexPayload,
  config: WebexConfig,
  options: SendOptions,
): Promise<SendResult> {
  const target: HttpTarget = {
    label: `Webex "${config.name}"`,
    timeoutMs: config.timeoutMs,
    secrets: [config.token],
  };
  const parentId = options.thread?.messageId;
  const roomId = options.thread?.roomId;
  if (parentId && roomId) {
    // Replies go to the room of the root, whatever the config says now.
    const { toPersonEmail: _, ...rest } = payload;
    const reply = await post(target, config, { ...rest, roomId, parentId }, options);
    if (reply.ok) return { ok: true, thread: { messageId: parentId, roomId } };
    // 404 for the parent: the root was deleted, so start a new thread below.
    if (reply.status !== 404) return reply.failure;
  }
  const root = await post(target, config, payload, options);
  if (!root.ok) return root.failure;
  if (!root.id || !root.roomId) return { ok: true };
  return { ok: true, thread: { messageId: root.id, roomId: root.roomId } };
}

type Posted =
  | { ok: true; id?: string; roomId?: string }
  | { ok: false; status?: number | undefined; failure: Extract<SendResult, { ok: false }> };

async function post(
  target: HttpTarget,
  config: WebexConfig,
  body: WebexPayload,
  options: SendOptions,
): Promise<Posted> {
  const answer = await httpAttempt(target, {
    method: "POST",
    url: config.apiUrl,
    headers: { authorization: `Bearer ${config.token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  }, options);
  if (answer.ok) {
    // Delivered either way; without an id (a proxy's empty 200) there is nothing to thread.
    const message = parseJsonObject(answer.text);
    const id = typeof message?.id === "string" ? message.id : undefined;
    const roomId = typeof message?.roomId === "string" ? message.roomId : undefined;
    return id && roomId ? { ok: true, id, roomId } : { ok: true };
  }
  if (answer.status === undefined || answer.status === 429 || answer.status >= 500) {
    return { ok: false, status: answer.status, failure: answer.failure };
  }
  const error = parseJsonObject(answer.text ?? "");
  if (typeof error?.message !== "string") return answer;
  const tracking = typeof error.trackingId === "string" ? ` (trackingId ${error.trackingId})` : "";
  return {
    ok: false,
    status: answer.status,
    failure: failure(target, false, `HTTP ${answer.status}: ${error.message}${tracking}`),
  };
}

/** Breaks Webex mentions (`<@all>`, `<@personEmail:…>`) with a zero-width space. */
function breakMentions(text: string): string {
  return text.replace(/<@/g, "<\u200b@");
}
