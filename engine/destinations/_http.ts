/**
 * One HTTP attempt for a destination, with the answer classified the same way everywhere.
 *
 * - 2xx: success; the caller reads the body it needs.
 * - 408, 429 and 5xx: retryable, with `Retry-After` (seconds or HTTP date) as the wait.
 * - 3xx: permanent; redirects are not followed (a webhook URL that moved is a config fix).
 * - Other 4xx: permanent, with the status and a short body excerpt in the reason.
 * - Network errors, resets and the deadline: retryable.
 *
 * Every reason names the destination and passes through {@linkcode redactSecrets}, so a
 * token in a URL or header never reaches a log line or a dead letter.
 *
 * @example A 429 becomes a retryable failure that waits as asked
 * ```ts
 * import { httpAttempt } from "./_http.ts";
 * import assert from "node:assert/strict";
 *
 * const fetch = () => Promise.resolve(new Response("slow down", {
 *   status: 429, headers: { "retry-after": "7" },
 * }));
 * const answer = await httpAttempt(
 *   { label: 'Discord "ops"', timeoutMs: 1000, secrets: ["hook-token"] },
 *   { method: "POST", url: "https://discord.example/api/webhooks/1/hook-token", headers: {}, body: "{}" },
 *   { fetch, now: () => 0 },
 * );
 * assert.equal(answer.ok, false);
 * assert.ok(!answer.ok && answer.failure.retryable && answer.failure.retryAfterMs === 7000);
 * assert.ok(!answer.ok && !answer.failure.reason.includes("hook-token"));
 * ```
 *
 * @module
 */
import type { OutboundRequest, SendOptions, SendResult } from "./destination.ts";
import { parseRetryAfter } from "../delivery/retry.ts";
import { DEADLINES } from "../deadlines.ts";

/** Characters of a response body kept in a failure reason. */
export const REASON_BODY_CHARS = 200;

/** A failed attempt, as `send` returns it. */
export type SendFailure = Extract<SendResult, { ok: false }>;

/** Who is being called, for reasons, the deadline and redaction. */
export interface HttpTarget {
  /** Names the destination in reasons, e.g. `PagerDuty "oncall"`. */
  label: string;
  /** Time allowed for the whole response, in ms. */
  timeoutMs: number;
  /** Values that must never appear in a reason (tokens, keys, secret URLs). */
  secrets: readonly string[];
}

/** The answer of one attempt: a 2xx response already read, or a classified failure. */
export type HttpAnswer =
  | { ok: true; status: number; headers: Headers; text: string }
  | { ok: false; status?: number; text?: string; failure: SendFailure };

/**
 * Sends one request and classifies the answer. Never throws for network or HTTP errors.
 *
 * @param target The destination label, deadline and secrets to redact.
 * @param request Method, URL, headers and body, exactly as sent.
 * @param options The send options (signal, fetch, clock).
 * @returns The read 2xx answer, or a failure whose `retryable` follows the rules above.
 * @example A 400 is permanent and its reason quotes the body
 * ```ts
 * import { httpAttempt } from "./_http.ts";
 * import assert from "node:assert/strict";
 *
 * const fetch = () => Promise.resolve(new Response('{"message":"Invalid Form Body"}', { status: 400 }));
 * const answer = await httpAttempt(
 *   { label: 'Discord "ops"', timeoutMs: 1000, secrets: [] },
 *   { method: "POST", url: "https://discord.example/hook", headers: {}, body: "{}" },
 *   { fetch },
 * );
 * assert.ok(!answer.ok && !answer.failure.retryable);
 * assert.match(!answer.ok ? answer.failure.reason : "", /HTTP 400: .*Invalid Form Body/);
 * ```
 */
export async function httpAttempt(
  target: HttpTarget,
  request:
    | OutboundRequest
    | (Omit<OutboundRequest, "method" | "body"> & {
      method: "GET" | "POST" | "PUT" | "PATCH";
      body?: string | Uint8Array<ArrayBuffer>;
    }),
  { signal, fetch: fetchFn = globalThis.fetch, now = Date.now }: SendOptions,
): Promise<HttpAnswer> {
  const fail = (retryable: boolean, detail: string, retryAfterMs?: number): SendFailure =>
    failure(target, retryable, detail, retryAfterMs);
  const controller = new AbortController();
  let timedOut = false;
  const cancelDeadline = DEADLINES.add(target.timeoutMs, () => {
    timedOut = true;
    controller.abort();
  });
  const onAbort = () => controller.abort();
  signal?.addEventListener("abort", onAbort, { once: true });
  if (signal?.aborted) controller.abort();
  try {
    const response = await fetchFn(request.url, {
      method: request.method,
      headers: request.headers,
      ...(request.body === undefined ? {} : { body: request.body }),
      redirect: "manual",
      signal: controller.signal,
    });
    const text = await response.text();
    const { status } = response;
    if (status >= 200 && status < 300) {
      return { ok: true, status, headers: response.headers, text };
    }
    const statusText = `HTTP ${status}${response.statusText ? ` ${response.statusText}` : ""}`;
    const excerpt = text.replace(/\s+/g, " ").trim().slice(0, REASON_BODY_CHARS);
    const detail = excerpt ? `${statusText}: ${excerpt}` : statusText;
    if (status === 408 || status === 429 || status >= 500) {
      const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"), now());
      return { ok: false, status, text, failure: fail(true, detail, retryAfterMs) };
    }
    if (status >= 300 && status < 400) {
      const hint = `${detail} (redirects are not followed; use the final URL)`;
      return { ok: false, status, text, failure: fail(false, hint) };
    }
    return { ok: false, status, text, failure: fail(false, detail) };
  } catch (error) {
    if (timedOut) {
      return {
        ok: false,
        failure: fail(true, `no complete response within ${target.timeoutMs} ms`),
      };
    }
    if (signal?.aborted) return { ok: false, failure: fail(true, "aborted") };
    return { ok: false, failure: fail(true, describeError(error)) };
  } finally {
    cancelDeadline();
    signal?.removeEventListener("abort", onAbort);
  }
}

/**
 * Builds a failure whose reason names the destination, with secrets redacted.
 *
 * @param target The destination label and secrets.
 * @param retryable Whether another attempt may succeed.
 * @param detail What went wrong.
 * @param retryAfterMs The wait the service asked for, if any.
 * @returns The failure.
 * @example
 * ```ts
 * import { failure } from "./_http.ts";
 * import assert from "node:assert/strict";
 *
 * const f = failure({ label: 'Opsgenie "ops"', timeoutMs: 1, secrets: ["key-123456"] }, false, "bad key-123456");
 * assert.equal(f.reason, 'Cannot send to Opsgenie "ops": bad ***');
 * ```
 */
export function failure(
  target: HttpTarget,
  retryable: boolean,
  detail: string,
  retryAfterMs?: number,
): SendFailure {
  const reason = redactSecrets(`Cannot send to ${target.label}: ${detail}`, target.secrets);
  return retryAfterMs === undefined
    ? { ok: false, retryable, reason }
    : { ok: false, retryable, retryAfterMs, reason };
}

/**
 * Replaces every secret (6 characters or longer, longest first) with `***`. A secret that
 * is a URL keeps its origin, so the reason still says which host failed.
 *
 * @param text The text to clean.
 * @param secrets Values to hide.
 * @returns The text without them.
 * @example
 * ```ts
 * import { redactSecrets } from "./_http.ts";
 * import assert from "node:assert/strict";
 *
 * const url = "https://hooks.example.com/services/T1/B2/secret";
 * assert.equal(redactSecrets(`POST ${url} failed`, [url]), "POST https://hooks.example.com failed");
 * ```
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (
    const secret of [...secrets].filter((s) => s.length >= 6).sort((a, b) => b.length - a.length)
  ) {
    out = out.replaceAll(secret, originOf(secret) ?? "***");
  }
  return out;
}

/**
 * A URL whose query values are secrets (a signature, a key, a token), fit for dry-run:
 * every query value except the listed ones becomes `***`.
 *
 * @param url The URL.
 * @param keep Query parameters whose values are not secret.
 * @returns The URL with masked query values.
 * @example
 * ```ts
 * import { maskQuery } from "./_http.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   maskQuery("https://x.example/invoke?api-version=1&sig=abc", ["api-version"]),
 *   "https://x.example/invoke?api-version=1&sig=***",
 * );
 * ```
 */
export function maskQuery(url: string, keep: readonly string[] = []): string {
  const parsed = new URL(url);
  const query = [...parsed.searchParams.entries()]
    .map(([key, value]) =>
      `${encodeURIComponent(key)}=${keep.includes(key) ? encodeURIComponent(value) : "***"}`
    ).join("&");
  return `${parsed.origin}${parsed.pathname}${query ? `?${query}` : ""}`;
}

function originOf(value: string): string | undefined {
  if (!/^https?:\/\//.test(value)) return undefined;
  try {
    return new URL(value).origin;
  } catch (_error) {
    // Not a URL after all: hide it whole.
    return undefined;
  }
}

/**
 * The message of an error and of its causes: "fetch failed: ... Connection refused".
 *
 * @param error What was thrown.
 * @returns Up to four messages joined by ": ".
 * @example
 * ```ts
 * import { describeError } from "./_http.ts";
 * import assert from "node:assert/strict";
 *
 * const error = new TypeError("fetch failed", { cause: new Error("Connection refused") });
 * assert.equal(describeError(error), "fetch failed: Connection refused");
 * ```
 */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error; e !== undefined && parts.length < 4;) {
    parts.push(e instanceof Error ? e.message : String(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join(": ");
}

/**
 * Parses a response body that should be a JSON object; anything else (an HTML error page
 * from a proxy, plain text, an array) gives `undefined`, leaving the HTTP status to decide.
 *
 * @param text The body.
 * @returns The object, or `undefined`.
 * @example
 * ```ts
 * import { parseJsonObject } from "./_http.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseJsonObject('{"ok":false}'), { ok: false });
 * assert.equal(parseJsonObject("<html>502</html>"), undefined);
 * assert.equal(parseJsonObject("[1]"), undefined);
 * ```
 */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text);
    return value && typeof value === "object" && !Array.isArray(value) ? value : undefined;
  } catch (_error) {
    // Not JSON: the caller falls back on the status.
    return undefined;
  }
}
