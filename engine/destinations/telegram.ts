/**
 * Sends Issues to a Telegram chat with the Bot API, as HTML-formatted messages, replying to
 * the first message of each fingerprint.
 *
 * ## Config
 * - `name`: unique name routes refer to.
 * - `type`: `"telegram"`.
 * - `token`: bot token from @BotFather (`123456:ABC…`); give it as `${TELEGRAM_TOKEN}`. It is
 *   part of the URL (`/bot<token>/sendMessage`), so dry-run prints `***` in its place and
 *   reasons never contain it.
 * - `chatId`: numeric chat id (`-100…` for groups and channels) or `@channelusername`.
 * - `messageThreadId`: forum topic to post into.
 * - `disableNotification`: send silently (default false).
 * - `apiUrl`: Bot API base URL (default `https://api.telegram.org`).
 * - `rateLimit`: default 20 sends a minute with bursts of 3, the Bot FAQ's limit for a group
 *   (a private chat allows about one a second).
 * - `timeoutMs`: time allowed for each request (default 10000).
 *
 * ## Limits
 * [`sendMessage`](https://core.telegram.org/bots/api#sendmessage): text of 1–4096 characters
 * after entity parsing. Cano uses `parse_mode: "HTML"` with only the supported tags (`b`,
 * `i`, `u`, `s`, `a`, `code`, `pre`, `blockquote`) and escapes `<`, `>`, `&` (and `"` in
 * links), so alert text cannot break the markup. The limit is measured on the visible text
 * (tags do not count, an entity counts as one character); what does not fit is cut at a
 * line boundary, open `<pre>` blocks are closed, and a note says how much was cut. Tables,
 * JSON, diffs and file previews are `<pre>` blocks; images are named.
 *
 * ## Threading
 * The first message's `message_id` (with the chat and topic) is the thread state. Later
 * sends for the same fingerprint go to that chat and topic and reply to it with
 * `reply_parameters: {message_id, allow_sending_without_reply: true}`, so a deleted root
 * does not block the resolution.
 *
 * ## Responses
 * The API answers `{"ok":false,"error_code":…,"description":"…"}` on errors. 429 is retried
 * after `parameters.retry_after` seconds (else `Retry-After`); 5xx and network errors are
 * retried; 400 (`Bad Request: chat not found`, `can't parse entities`…), 401 and 403 are
 * permanent, with the description in the reason. A group that became a supergroup
 * (`parameters.migrate_to_chat_id`) is reported with its new id.
 *
 * ## Example payload
 * ```http
 * POST https://api.telegram.org/bot<token, shown as ***>/sendMessage
 * content-type: application/json
 *
 * {"chat_id":-1001234567890,"text":"<b>🔥 [FIRING] HIGH Pod OOMKilled</b>\n\n<b>Subject:</b> …",
 *  "parse_mode":"HTML","link_preview_options":{"is_disabled":true}}
 * ```
 *
 * @example What dry-run prints
 * ```ts
 * import telegram, { TelegramConfigSchema } from "./telegram.ts";
 * import { IssueSchema } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * const config = TelegramConfigSchema.parse({
 *   name: "ops-tg", type: "telegram", token: "123456:secret-token", chatId: -1001234567890,
 * });
 * const issue = IssueSchema.parse({
 *   id: "7d0c", fingerprint: "3f2a", aggregationKey: "Oom", type: "alert", source: "prometheus",
 *   title: "Pod <api> OOMKilled", severity: "HIGH", status: "firing",
 *   startsAt: "2026-03-01T10:00:00Z", createdAt: "2026-03-01T10:00:01Z",
 * });
 * const [payload] = telegram.render(issue, config);
 * const request = telegram.describe(payload!, config);
 * assert.ok("url" in request);
 * assert.equal(request.url, "https://api.telegram.org/bot***" + "/sendMessage");
 * assert.match(JSON.parse(request.body).text, /^<b>🔥 \[FIRING\] HIGH Pod &lt;api&gt; OOMKilled<\/b>/);
 * ```
 *
 * @module
 */
import { z } from "zod";
import type { Block, Issue } from "@cano/sdk";
import {
  defineDestination,
  destinationBaseShape,
  type OutboundRequest,
  type SendOptions,
  type SendResult,
} from "./destination.ts";
import { failure, httpAttempt, type HttpTarget, parseJsonObject } from "./_http.ts";
import { fitChunks, issueHeadline, type TextChunk } from "./_markdown.ts";
import { cleanText, jsonLineDiff, renderBlockText, subjectText } from "./_text.ts";

/** Characters of message text after entity parsing. */
export const TELEGRAM_MAX_TEXT = 4096;

/** Config of a Telegram destination. */
export const TelegramConfigSchema = z.strictObject({
  ...destinationBaseShape({ rateLimit: { perSecond: 20 / 60, burst: 3 } }),
  type: z.literal("telegram"),
  token: z.string().regex(/^\d+:[A-Za-z0-9_-]+$/, {
    error: "Telegram token must look like 123456:ABC-DEF (from @BotFather)",
  }).describe("Bot token, e.g. ${TELEGRAM_TOKEN}; never logged"),
  chatId: z.union([
    z.number().int(),
    z.string().regex(/^(-?\d+|@[A-Za-z][A-Za-z0-9_]{3,31})$/, {
      error: "Telegram chat id must be a number or @channelusername",
    }),
  ]).describe("Chat id (-1001234567890) or @channelusername"),
  messageThreadId: z.number().int().positive().optional().describe("Forum topic id"),
  disableNotification: z.boolean().default(false).describe("Send silently"),
  apiUrl: z.url({ protocol: /^https?$/ }).default("https://api.telegram.org")
    .describe("Bot API base URL"),
});
/** Config of a Telegram destination, defaults applied. */
export type TelegramConfig = z.infer<typeof TelegramConfigSchema>;

/** A `sendMessage` body without the reply, which `send` adds from the thread state. */
export interface TelegramPayload {
  /** Chat id or @channelusername. */
  "chat_id": number | string;
  /** HTML text. */
  text: string;
  /** Always HTML. */
  "parse_mode": "HTML";
  /** Forum topic. */
  "message_thread_id"?: number;
  /** No link previews: alerts carry many links. */
  "link_preview_options": { "is_disabled": true };
  /** Silent. */
  "disable_notification"?: true;
}

/** The Telegram destination. */
const telegram = defineDestination({
  type: "telegram",
  config: TelegramConfigSchema,
  render: renderTelegram,
  describe(payload: TelegramPayload, config: TelegramConfig): OutboundRequest {
    return {
      method: "POST",
      url: `${config.apiUrl}/bot***/sendMessage`,
      headers: { "content-type": "application/json" },
      body: JSON.stringify(payload),
    };
  },
  send: sendTelegram,
});

export default telegram;

/**
 * Escapes text for Telegram's HTML parse mode.
 *
 * @param text Plain text.
 * @returns Text with `&`, `<`, `>` and `"` as entities, control characters replaced.
 * @example
 * ```ts
 * import { escapeHtml } from "./telegram.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(escapeHtml('a < b & "c"'), "a &lt; b &amp; &quot;c&quot;");
 * ```
 */
export function escapeHtml(text: string): string {
  return cleanText(text).replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

/**
 * The length Telegram counts: UTF-16 code units of the text with tags removed and each
 * entity as one character.
 *
 * @param html Telegram HTML.
 * @returns The visible length.
 * @example
 * ```ts
 * import { visibleLength } from "./telegram.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(visibleLength("<b>a &amp; b</b>"), 5);
 * ```
 */
export function visibleLength(html: string): number {
  return html.replace(/<[^>]*>/g, "").replace(/&(#x?[0-9a-f]+|[a-z]+);/gi, "_").length;
}

/**
 * Renders an Issue as one `sendMessage` body within 4096 visible characters.
 *
 * @param issue The issue.
 * @param config The destination config.
 * @returns One payload.
 */
export function renderTelegram(issue: Issue, config: TelegramConfig): TelegramPayload[] {
  const text = fitChunks(issueChunks(issue), TELEGRAM_MAX_TEXT, {
    measure: visibleLength,
    cutLine: cutHtmlLine,
    note: (t) => `<i>${escapeHtml(t)}</i>`,
  });
  return [{
    "chat_id": config.chatId,
    text,
    "parse_mode": "HTML",
    ...(config.messageThreadId === undefined ? {} : { message_thread_id: config.messageThreadId }),
    "link_preview_options": { "is_disabled": true },
    ...(config.disableNotification ? { disable_notification: true as const } : {}),
  }];
}

function issueChunks(issue: Issue): TextChunk[] {
  const chunks: TextChunk[] = [{ lines: [`<b>${escapeHtml(issueHeadline(issue))}</b>`] }];
  const facts: string[] = [];
  const fact = (name: string, html: string) => facts.push(`<b>${name}:</b> ${html}`);
  if (issue.subject) fact("Subject", escapeHtml(subjectText(issue.subject)));
  const origin = [issue.source, issue.type, issue.cluster && `cluster ${issue.cluster}`];
  fact("Source", escapeHtml(origin.filter(Boolean).join(", ")));
  fact(issue.endsAt ? "Ended" : "Started", escapeHtml(issue.endsAt ?? issue.startsAt));
  fact("Fingerprint", `<code>${escapeHtml(issue.fingerprint)}</code>`);
  const labels = Object.keys(issue.labels).sort();
  if (labels.length > 0) {
    fact(
      "Labels",
      labels.map((k) => `<code>${escapeHtml(`${k}=${issue.labels[k]}`)}</code>`).join(" "),
    );
  }
  chunks.push({ lines: facts });
  if (issue.description?.trim()) {
    chunks.push({ lines: escapeHtml(issue.description.trim()).split("\n") });
  }
  if (issue.links.length > 0) {
    chunks.push({ lines: [`<b>Links:</b> ${issue.links.map(link).join(" · ")}`] });
  }
  for (const enrichment of issue.enrichments) {
    const title = enrichment.title
      ? `${enrichment.title} (${enrichment.workflow})`
      : enrichment.workflow;
    chunks.push({ lines: [`<b>▍${escapeHtml(title.replace(/\s+/g, " "))}</b>`] });
    for (const block of enrichment.blocks) chunks.push(...blockChunks(block));
  }
  return chunks;
}

function blockChunks(block: Block): TextChunk[] {
  const plain = (lines: string[]): TextChunk => ({ lines: lines.map(escapeHtml) });
  switch (block.type) {
    case "markdown":
      return [plain(block.text.split("\n"))];
    case "header":
      return [{ lines: [`<b><u>${escapeHtml(block.text.replace(/\s+/g, " "))}</u></b>`] }];
    case "divider":
      return [{ lines: ["──────────"] }];
    case "list":
      return [
        plain(
          block.items.map((item, i) =>
            `${block.ordered ? `${i + 1}.` : "•"} ${item.replace(/\n/g, " ")}`
          ),
        ),
      ];
    case "links":
      return [{ lines: block.links.map((l) => `• ${link(l)}`) }];
    case "json":
      return [pre((JSON.stringify(block.value, null, 2) ?? "null").split("\n"), "json")];
    case "diff":
      return [pre(jsonLineDiff(block.before, block.after), "diff")];
    case "image":
      return [plain([`🖼️ ${renderBlockText(block)[0]} (not attached)`])];
    case "table": {
      const lines = renderBlockText(block);
      const table = { ...pre(lines.slice(block.title ? 1 : 0)), keep: 2 };
      return block.title ? [{ lines: [`<b>${escapeHtml(block.title)}</b>`] }, table] : [table];
    }
    case "file": {
      const [head = "", ...rest] = renderBlockText(block);
      const more = rest.at(-1)?.startsWith("  … ") ? rest.pop()!.trim() : undefined;
      return [
        plain([`📎 ${head}`]),
        ...(rest.length > 0 ? [pre(rest.map((l) => l.slice(2)))] : []),
        ...(more ? [{ lines: [`<i>${escapeHtml(more)}</i>`] }] : []),
      ];
    }
  }
}

function pre(lines: string[], language?: string): TextChunk {
  return language
    ? {
      open: `<pre><code class="language-${language}">`,
      lines: lines.map(escapeHtml),
      close: "</code></pre>",
    }
    : { open: "<pre>", lines: lines.map(escapeHtml), close: "</pre>" };
}

function link(l: { title: string; url: string }): string {
  return `<a href="${escapeHtml(l.url)}">${escapeHtml(l.title)}</a>`;
}

/** Cuts a line of escaped text to `max` visible characters; lines with tags are dropped. */
function cutHtmlLine(line: string, max: number): string | undefined {
  if (line.includes("<")) return undefined;
  const tokens = line.match(/&(#x?[0-9a-f]+|[a-z]+);|[\uD800-\uDBFF][\uDC00-\uDFFF]|[^]/gi) ?? [];
  let out = "";
  let used = 0;
  for (const token of tokens) {
    const cost = token.startsWith("&") ? 1 : token.length;
    if (used + cost > max - 1) break;
    out += token;
    used += cost;
  }
  return `${out}…`;
}

async function sendTelegram(
  payload: TelegramPayload,
  config: TelegramConfig,
  options: SendOptions,
): Promise<SendResult> {
  const target: HttpTarget = {
    label: `Telegram "${config.name}"`,
    timeoutMs: config.timeoutMs,
    secrets: [config.token],
  };
  const state = options.thread?.messageId && options.thread.chatId ? options.thread : undefined;
  const body: Record<string, unknown> = { ...payload };
  if (state) {
    body.chat_id = state.chatId;
    delete body.message_thread_id;
    if (state.messageThreadId) body.message_thread_id = Number(state.messageThreadId);
    body.reply_parameters = {
      message_id: Number(state.messageId),
      allow_sending_without_reply: true,
    };
  }
  const answer = await httpAttempt(target, {
    method: "POST",
    url: `${config.apiUrl}/bot${config.token}/sendMessage`,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  }, options);
  const parsed = parseJsonObject(answer.text ?? "");
  if (answer.ok && parsed?.ok !== false) {
    if (state) return { ok: true, thread: state };
    const id = (parsed?.result as { message_id?: unknown } | undefined)?.message_id;
    if (typeof id !== "number") return { ok: true };
    const thread: Record<string, string> = { messageId: String(id), chatId: String(body.chat_id) };
    if (payload.message_thread_id) thread.messageThreadId = String(payload.message_thread_id);
    return { ok: true, thread };
  }
  if (!answer.ok && (parsed === undefined || answer.status === undefined)) return answer.failure;
  const code = Number(parsed?.error_code ?? answer.status);
  const parameters = (parsed?.parameters ?? {}) as {
    retry_after?: unknown;
    migrate_to_chat_id?: unknown;
  };
  const moved = parameters.migrate_to_chat_id === undefined
    ? ""
    : `; the group is now the supergroup ${parameters.migrate_to_chat_id}, set chatId to it`;
  const detail = `sendMessage failed: ${
    String(parsed?.description ?? "")
  } (error_code ${code})${moved}`;
  if (code === 429) {
    const seconds = Number(parameters.retry_after);
    const retryAfterMs = Number.isFinite(seconds) && seconds >= 0
      ? seconds * 1000
      : answer.ok
      ? undefined
      : answer.failure.retryAfterMs;
    return failure(target, true, detail, retryAfterMs);
  }
  return failure(target, code >= 500 || code === 408, detail);
}
