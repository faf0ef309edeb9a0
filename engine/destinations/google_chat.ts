/**
 * Posts Issues to a Google Chat space as cards v2, through an incoming webhook, one thread
 * per fingerprint.
 *
 * ## Config
 * - `name`: unique name routes refer to.
 * - `type`: `"google_chat"`.
 * - `url`: the space's incoming webhook URL,
 *   `https://chat.googleapis.com/v1/spaces/<SPACE>/messages?key=<KEY>&token=<TOKEN>`. The key
 *   and token are the credential, so the whole URL is a secret: give it as
 *   `${GOOGLE_CHAT_WEBHOOK_URL}`. Dry-run shows `key=***&token=***`; failure reasons show
 *   only the origin.
 * - `threads`: group an Issue's messages in one thread (default true).
 * - `timeoutMs`: time allowed for the response (default 10000).
 * - `rateLimit`: default 1 per second, burst 1: a space takes 60 writes per minute, shared
 *   by every app posting to it.
 *
 * ## Limits
 * From the [spaces.messages.create
 * reference](https://developers.google.com/workspace/chat/api/reference/rest/v1/spaces.messages/create)
 * and [Chat limits](https://developers.google.com/workspace/chat/limits): a message (text and
 * cards) is at most 32,000 bytes, measured by Cano as the UTF-8 bytes of the posted JSON;
 * a card shows at most 100 widgets. Widgets that do not fit are cut (paragraphs, by whole
 * lines, with a visible mark) or left out, and a note says how many. At most 50 table rows
 * and 60 lines of logs (the last ones), JSON or diff per block. Card text is HTML-escaped,
 * then formatted with Chat's HTML subset. Images are described, not shown: Chat needs an
 * HTTPS image URL and image blocks carry PNG bytes.
 *
 * ## Responses
 * 200 with the created Message resource is success. 429 (RESOURCE_EXHAUSTED) and 5xx are
 * retried, after `Retry-After` when given; other 4xx (a bad key or token, a payload Chat
 * rejects) are permanent.
 *
 * ## Threading
 * Stateless: every message carries `thread.threadKey` = the Issue's fingerprint and the URL
 * gets `messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD`, so the first message
 * starts a thread and repeats and the resolution reply in it. `send` also returns the
 * thread's resource name (`threadName`) and the message's (`messageName`) as thread state.
 * Webhooks cannot edit messages, so the resolution is a new reply.
 *
 * ## Example payload
 * ```http
 * POST https://chat.googleapis.com/v1/spaces/AAAA1234/messages?key=***&token=***&messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD
 * content-type: application/json; charset=UTF-8
 *
 * {"text":"🔥 FIRING: Pod OOMKilled","cardsV2":[{"cardId":"issue","card":{"header":{
 *  "title":"Pod OOMKilled","subtitle":"HIGH · firing · prod · prometheus"},"sections":[{
 *  "widgets":[{"decoratedText":{"topLabel":"Subject","text":"Pod shop/api-1","wrapText":true}},
 *  ...]}]}}],"thread":{"threadKey":"3f2a9c1b7d4e8a60"}}
 * ```
 *
 * @example What dry-run prints
 * ```ts
 * import googleChat, { GoogleChatConfigSchema } from "./google_chat.ts";
 * import { IssueSchema } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * const config = GoogleChatConfigSchema.parse({
 *   name: "ops-chat", type: "google_chat",
 *   url: "https://chat.googleapis.com/v1/spaces/AAAA1234/messages?key=AIzaSy-key&token=tok-secret",
 * });
 * const issue = IssueSchema.parse({
 *   id: "7d0c", fingerprint: "3f2a", aggregationKey: "Oom", type: "alert", source: "prometheus",
 *   title: "Pod OOMKilled", severity: "HIGH", status: "firing",
 *   startsAt: "2026-03-01T10:00:00Z", createdAt: "2026-03-01T10:00:01Z",
 * });
 * const [payload] = googleChat.render(issue, config);
 * const request = googleChat.describe(payload!, config);
 * assert.ok("url" in request);
 * assert.equal(
 *   request.url,
 *   "https://chat.googleapis.com/v1/spaces/AAAA1234/messages?key=***&token=***" +
 *     "&messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD",
 * );
 * assert.deepEqual(JSON.parse(request.body).thread, { threadKey: "3f2a" });
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
import { httpAttempt, maskQuery } from "./_http.ts";
import { type ChatMessage, renderChatMessage } from "./_chat_card.ts";

export { CHAT_MAX_BYTES, CHAT_MAX_WIDGETS, type ChatMessage } from "./_chat_card.ts";

/** The reply option that makes a `threadKey` reply in its thread, or start it. */
export const REPLY_OPTION = "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD";

/** Config of a Google Chat destination. */
export const GoogleChatConfigSchema = z.strictObject({
  // 60 writes per minute per space, shared by every app in it.
  ...destinationBaseShape({ rateLimit: { perSecond: 1, burst: 1 } }),
  type: z.literal("google_chat"),
  url: z.url({
    protocol: /^https?$/,
    error: "Google Chat url must be the http(s) URL of an incoming webhook",
  }).refine((url) => {
    const parsed = new URL(url);
    return /^\/v1\/spaces\/[^/]+\/messages$/.test(parsed.pathname) &&
      parsed.searchParams.has("key") && parsed.searchParams.has("token");
  }, {
    error: "Google Chat url must look like https://chat.googleapis.com/v1/spaces/<SPACE>/" +
      "messages?key=<KEY>&token=<TOKEN>",
  }).describe("Incoming webhook URL; its key and token are secret, give it as ${CHAT_URL}"),
  threads: z.boolean().default(true).describe("Keep an Issue's messages in one thread"),
});
/** Config of a Google Chat destination, defaults applied. */
export type GoogleChatConfig = z.infer<typeof GoogleChatConfigSchema>;

/** The Google Chat destination. */
const googleChat = defineDestination({
  type: "google_chat",
  config: GoogleChatConfigSchema,
  render(issue: Issue, config: GoogleChatConfig): ChatMessage[] {
    return [renderChatMessage(issue, config.threads ? issue.fingerprint : undefined)];
  },
  describe(payload: ChatMessage, config: GoogleChatConfig): OutboundRequest {
    const sent = request(payload, config);
    return { ...sent, url: maskQuery(sent.url, ["messageReplyOption"]) };
  },
  send: sendGoogleChat,
});

export default googleChat;

function request(payload: ChatMessage, config: GoogleChatConfig): OutboundRequest {
  const url = new URL(config.url);
  if (payload.thread) url.searchParams.set("messageReplyOption", REPLY_OPTION);
  return {
    method: "POST",
    url: url.href,
    headers: { "content-type": "application/json; charset=UTF-8" },
    body: JSON.stringify(payload),
  };
}

async function sendGoogleChat(
  payload: ChatMessage,
  config: GoogleChatConfig,
  options: SendOptions,
): Promise<SendResult> {
  const url = new URL(config.url);
  const secrets = [
    config.url,
    url.href,
    ...[url.searchParams.get("key"), url.searchParams.get("token")]
      .filter((v): v is string => !!v),
  ];
  const answer = await httpAttempt(
    { label: `Google Chat "${config.name}"`, timeoutMs: config.timeoutMs, secrets },
    request(payload, config),
    options,
  );
  if (!answer.ok) return answer.failure;
  return { ok: true, ...threadOf(answer.text) };
}

/** The thread state of a created Message resource: its thread's and its own name. */
function threadOf(text: string): { thread?: Record<string, string> } {
  let message: { name?: unknown; thread?: { name?: unknown } };
  try {
    message = JSON.parse(text);
  } catch (_error) {
    // Delivered all the same; without a Message resource there is no state to keep.
    return {};
  }
  const thread: Record<string, string> = {};
  if (typeof message?.thread?.name === "string") thread.threadName = message.thread.name;
  if (typeof message?.name === "string") thread.messageName = message.name;
  return Object.keys(thread).length > 0 ? { thread } : {};
}
