/**
 * The small Slack Web API client the Slack destination sends with, built on
 * {@linkcode httpAttempt} (deadline, abort, network errors, `Retry-After`, redaction).
 *
 * What is Slack's own:
 * - `chat.*` methods get JSON bodies, `files.*` methods form-encoded ones; both carry
 *   `authorization: Bearer <token>`.
 * - Slack answers logical errors with HTTP 200 and `{"ok":false,"error":"…"}`. The errors in
 *   {@linkcode SLACK_RETRYABLE_ERRORS} (`ratelimited` and Slack's transient failures) are
 *   retried, after `Retry-After` when given; every other error is permanent, with its name
 *   and the first `response_metadata.messages` in the reason.
 * - HTTP 429 is retried after `Retry-After`, 5xx (and 408) are retried, other statuses are
 *   permanent with a body excerpt.
 * - A file is uploaded in three steps: `files.getUploadURLExternal`, the raw bytes POSTed
 *   to the upload URL it hands out (without the token), then `files.completeUploadExternal`.
 *
 * The token (and the upload URL) never appear in a reason: they are redacted to `***`.
 *
 * @example A 200 with `ok:false` is a failure named after Slack's error
 * ```ts
 * import { callSlack } from "./_slack_api.ts";
 * import assert from "node:assert/strict";
 *
 * const fetch = () => Promise.resolve(Response.json({ ok: false, error: "channel_not_found" }));
 * const client = { name: "ops", token: "xoxb-1-secret", apiUrl: "https://slack.example/api", timeoutMs: 1000 };
 * const answer = await callSlack(client, { method: "chat.postMessage", args: {} }, { fetch });
 * assert.ok(!answer.ok && answer.error === "channel_not_found" && !answer.failure.retryable);
 * assert.equal(
 *   !answer.ok && answer.failure.reason,
 *   'Cannot send to Slack "ops": chat.postMessage failed: channel_not_found',
 * );
 * ```
 *
 * @module
 */
import type { OutboundRequest, SendOptions, SendResult } from "./destination.ts";
import {
  failure,
  type HttpAnswer,
  httpAttempt,
  type HttpTarget,
  REASON_BODY_CHARS,
  type SendFailure,
} from "./_http.ts";
import { parseRetryAfter } from "../delivery/retry.ts";

/** Slack errors worth retrying: rate limits and Slack's own transient failures. */
export const SLACK_RETRYABLE_ERRORS: ReadonlySet<string> = new Set([
  "ratelimited",
  "internal_error",
  "fatal_error",
  "service_unavailable",
  "request_timeout",
]);

/** Who is called: the Slack destination config has these fields. */
export interface SlackClient {
  /** Destination name, for reasons. */
  name: string;
  /** Bot token; redacted from every reason. */
  token: string;
  /** Web API base URL, e.g. `https://slack.com/api`. */
  apiUrl: string;
  /** Time allowed for each call, in ms. */
  timeoutMs: number;
}

/** One Web API method call. */
export interface SlackCallRequest {
  /** Method name, e.g. `chat.postMessage` or `files.getUploadURLExternal`. */
  method: string;
  /** Arguments; for `files.*` methods, values that are not strings are sent as JSON. */
  args: Record<string, unknown>;
}

/** The answer of a call: Slack's body when `ok`, else Slack's error name and the failure. */
export type SlackCall =
  | { ok: true; body: Record<string, unknown> }
  | { ok: false; error?: string; failure: SendFailure };

/** A file to upload and where to share it. */
export interface SlackFile {
  /** File name shown in Slack. */
  filename: string;
  /** Title shown in Slack. */
  title: string;
  /** The content. */
  bytes: Uint8Array<ArrayBuffer>;
  /** Channel id or name to share it in. */
  channel: string;
  /** Thread to share it in, if any. */
  threadTs?: string;
}

/**
 * The request a Web API call sends, token included: JSON for `chat.*`, a form for `files.*`.
 *
 * @param client The base URL and token.
 * @param call The method and its arguments.
 * @returns Method, URL, headers and body, exactly as sent.
 * @example `files.*` methods take form bodies
 * ```ts
 * import { slackRequest } from "./_slack_api.ts";
 * import assert from "node:assert/strict";
 *
 * const client = { name: "ops", token: "xoxb-1", apiUrl: "https://slack.com/api", timeoutMs: 1 };
 * const request = slackRequest(client, {
 *   method: "files.getUploadURLExternal",
 *   args: { filename: "a.log", length: "3" },
 * });
 * assert.equal(request.url, "https://slack.com/api/files.getUploadURLExternal");
 * assert.equal(request.headers["content-type"], "application/x-www-form-urlencoded");
 * assert.equal(request.body, "filename=a.log&length=3");
 * ```
 */
export function slackRequest(client: SlackClient, call: SlackCallRequest): OutboundRequest {
  const form = call.method.startsWith("files.");
  const fields = Object.entries(call.args)
    .map(([key, value]) => [key, typeof value === "string" ? value : JSON.stringify(value)]);
  return {
    method: "POST",
    url: `${client.apiUrl}/${call.method}`,
    headers: {
      authorization: `Bearer ${client.token}`,
      "content-type": form
        ? "application/x-www-form-urlencoded"
        : "application/json; charset=utf-8",
    },
    body: form ? new URLSearchParams(fields).toString() : JSON.stringify(call.args),
  };
}

/**
 * Calls one Web API method and classifies the answer (see the module doc). Never throws.
 *
 * @param client The destination's name, token, base URL and deadline.
 * @param call The method and its arguments.
 * @param options The send options (signal, fetch, clock).
 * @returns Slack's answer body, or Slack's error name and a classified failure.
 * @example `ratelimited` is retried after `Retry-After`
 * ```ts
 * import { callSlack } from "./_slack_api.ts";
 * import assert from "node:assert/strict";
 *
 * const fetch = () =>
 *   Promise.resolve(Response.json({ ok: false, error: "ratelimited" }, { headers: { "retry-after": "3" } }));
 * const client = { name: "ops", token: "xoxb-1-secret", apiUrl: "https://slack.example/api", timeoutMs: 1000 };
 * const answer = await callSlack(client, { method: "chat.update", args: {} }, { fetch, now: () => 0 });
 * assert.ok(!answer.ok && answer.failure.retryable && answer.failure.retryAfterMs === 3000);
 * ```
 */
export async function callSlack(
  client: SlackClient,
  call: SlackCallRequest,
  options: SendOptions,
): Promise<SlackCall> {
  const target = targetOf(client);
  const answer = await attempt(target, call.method, slackRequest(client, call), options);
  if (!answer.ok) return { ok: false, failure: statusFailure(target, call.method, answer) };
  const fail = (detail: string): SlackCall => ({
    ok: false,
    failure: failure(target, false, `${call.method} ${detail}`),
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.text);
  } catch (error) {
    return fail(`answered with a body that is not JSON (${String(error)})`);
  }
  if (!parsed || typeof parsed !== "object") return fail("answered with a non-object");
  const body = parsed as Record<string, unknown>;
  if (body.ok !== false) return { ok: true, body };
  const error = typeof body.error === "string" ? body.error : "unknown_error";
  const messages = (body.response_metadata as { messages?: unknown } | undefined)?.messages;
  const details = Array.isArray(messages) ? ` (${messages.slice(0, 3).join("; ")})` : "";
  const retryAfterMs = parseRetryAfter(
    answer.headers.get("retry-after"),
    (options.now ?? Date.now)(),
  );
  return {
    ok: false,
    error,
    failure: failure(
      target,
      SLACK_RETRYABLE_ERRORS.has(error),
      `${call.method} failed: ${error}${details}`,
      retryAfterMs,
    ),
  };
}

/**
 * Uploads one file: gets an upload URL, POSTs the bytes there (without the token), then
 * shares the file in the channel (and thread). Never throws.
 *
 * @param client The destination's name, token, base URL and deadline.
 * @param file The bytes, their name and title, and where to share them.
 * @param options The send options (signal, fetch, clock).
 * @returns `{ ok: true }` once shared, or the failure of the first step that failed.
 * @example An answer without an upload URL is a permanent failure
 * ```ts
 * import { uploadFile } from "./_slack_api.ts";
 * import assert from "node:assert/strict";
 *
 * const fetch = () => Promise.resolve(Response.json({ ok: true }));
 * const client = { name: "ops", token: "xoxb-1-secret", apiUrl: "https://slack.example/api", timeoutMs: 1000 };
 * const file = { filename: "a.log", title: "a.log", bytes: new Uint8Array([1]), channel: "C1" };
 * const result = await uploadFile(client, file, { fetch });
 * assert.ok(!result.ok && !result.retryable);
 * assert.match(result.reason, /without upload_url and file_id/);
 * ```
 */
export async function uploadFile(
  client: SlackClient,
  file: SlackFile,
  options: SendOptions,
): Promise<SendResult> {
  const got = await callSlack(client, {
    method: "files.getUploadURLExternal",
    args: { filename: file.filename, length: `${file.bytes.length}` },
  }, options);
  if (!got.ok) return got.failure;
  const { upload_url: uploadUrl, file_id: fileId } = got.body;
  if (typeof uploadUrl !== "string" || typeof fileId !== "string") {
    return failure(
      targetOf(client),
      false,
      "files.getUploadURLExternal answered without upload_url and file_id",
    );
  }
  const target = { ...targetOf(client), secrets: [client.token, uploadUrl] };
  const put = await attempt(target, "upload", {
    method: "POST",
    url: uploadUrl,
    headers: { "content-type": "application/octet-stream" },
    body: file.bytes,
  }, options);
  if (!put.ok) return statusFailure(target, "upload", put);
  const done = await callSlack(client, {
    method: "files.completeUploadExternal",
    args: {
      files: [{ id: fileId, title: file.title }],
      channel_id: file.channel,
      ...(file.threadTs ? { thread_ts: file.threadTs } : {}),
    },
  }, options);
  return done.ok ? { ok: true } : done.failure;
}

function targetOf(client: SlackClient): HttpTarget {
  return { label: `Slack "${client.name}"`, timeoutMs: client.timeoutMs, secrets: [client.token] };
}

/** One HTTP attempt; a network error, deadline or abort reads `<method>: <what happened>`. */
async function attempt(
  target: HttpTarget,
  method: string,
  request: Parameters<typeof httpAttempt>[1],
  options: SendOptions,
): Promise<HttpAnswer> {
  return await httpAttempt({ ...target, label: `${target.label}: ${method}` }, request, options);
}

/** Keeps `httpAttempt`'s classification of a status, with Slack's wording of the reason. */
function statusFailure(
  target: HttpTarget,
  method: string,
  answer: Extract<HttpAnswer, { ok: false }>,
): SendFailure {
  const { status, text = "", failure: { retryable, retryAfterMs } } = answer;
  if (status === undefined) return answer.failure;
  const detail = status === 429
    ? "was rate limited (HTTP 429)"
    : retryable
    ? `failed with HTTP ${status}`
    : `failed with HTTP ${status}: ${text.slice(0, REASON_BODY_CHARS)}`;
  return failure(target, retryable, `${method} ${detail}`, retryAfterMs);
}
