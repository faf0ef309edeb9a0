/**
 * When and how long to wait before sending a failed delivery again.
 *
 * Delays grow exponentially with jitter (500 ms, 1 s, 2 s, ... up to 60 s by default). A
 * `Retry-After` from the service is honoured: the next attempt never comes earlier than it
 * asks, but never later than `maxDelayMs` either, so one misbehaving service cannot park a
 * delivery for hours.
 *
 * @example Retry a 503 twice, then give up
 * ```ts
 * import { createRetryPolicy } from "./retry.ts";
 * import assert from "node:assert/strict";
 *
 * const policy = createRetryPolicy({ maxAttempts: 3, jitter: 0 });
 * const failure = { ok: false, retryable: true, reason: "HTTP 503" } as const;
 * assert.equal(policy.shouldRetry(1, failure), true);
 * assert.equal(policy.nextDelayMs(1), 500);
 * assert.equal(policy.nextDelayMs(2), 1000);
 * assert.equal(policy.shouldRetry(3, failure), false);
 * ```
 *
 * @module
 */
import type { SendResult } from "../destinations/destination.ts";
import { backoffDelayMs, parseRetryAfterMs } from "./_backoff.ts";

/** Options of {@linkcode createRetryPolicy}. */
export interface RetryPolicyOptions {
  /** Attempts in total, the first included. @default 8 */
  maxAttempts?: number;
  /** Delay after the first failed attempt. @default 500 */
  minDelayMs?: number;
  /** Upper bound of every delay, `Retry-After` included. @default 60000 */
  maxDelayMs?: number;
  /** Growth factor per attempt. @default 2 */
  multiplier?: number;
  /** Random spread around each delay, as a fraction in [0, 1]. @default 0.2 */
  jitter?: number;
  /** Source of randomness in [0, 1). @default Math.random */
  random?: () => number;
}

/** A checked retry policy. */
export interface RetryPolicy {
  /** Attempts in total, the first included. */
  readonly maxAttempts: number;
  /**
   * The delay before the next attempt.
   *
   * @param attempt Attempts made so far (1 after the first failure).
   * @param retryAfterMs The delay the service asked for, if any.
   * @returns Milliseconds to wait.
   */
  nextDelayMs(attempt: number, retryAfterMs?: number): number;
  /**
   * Whether to try again after `attempt` attempts ended with `result`.
   *
   * @param attempt Attempts made so far.
   * @param result The last attempt's result.
   * @returns `true` for a retryable failure while attempts remain.
   */
  shouldRetry(attempt: number, result: SendResult): boolean;
}

/**
 * Creates a retry policy.
 *
 * @param options Attempts, delays, jitter and randomness.
 * @returns The policy.
 * @throws {RangeError} When a number is out of range (e.g. `maxDelayMs < minDelayMs`).
 * @throws {TypeError} When `random` is not a function.
 * @example Retry-After wins over a shorter backoff, within maxDelayMs
 * ```ts
 * import { createRetryPolicy } from "./retry.ts";
 * import assert from "node:assert/strict";
 *
 * const policy = createRetryPolicy({ maxDelayMs: 30_000, jitter: 0 });
 * assert.equal(policy.nextDelayMs(1, 5_000), 5_000);
 * assert.equal(policy.nextDelayMs(1, 3_600_000), 30_000);
 * ```
 */
export function createRetryPolicy(
  {
    maxAttempts = 8,
    minDelayMs = 500,
    maxDelayMs = 60_000,
    multiplier = 2,
    jitter = 0.2,
    random = Math.random,
  }: RetryPolicyOptions = {},
): RetryPolicy {
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new RangeError(
      `Cannot create retry policy: maxAttempts must be an integer >= 1, got ${maxAttempts}`,
    );
  }
  if (!Number.isFinite(minDelayMs) || minDelayMs < 0) {
    throw new RangeError(
      `Cannot create retry policy: minDelayMs must be a finite number >= 0, got ${minDelayMs}`,
    );
  }
  if (!Number.isFinite(maxDelayMs) || maxDelayMs < minDelayMs) {
    throw new RangeError(
      `Cannot create retry policy: maxDelayMs must be finite and >= minDelayMs (${minDelayMs}), got ${maxDelayMs}`,
    );
  }
  if (!Number.isFinite(multiplier) || multiplier < 1) {
    throw new RangeError(
      `Cannot create retry policy: multiplier must be a finite number >= 1, got ${multiplier}`,
    );
  }
  if (!(jitter >= 0 && jitter <= 1)) {
    throw new RangeError(`Cannot create retry policy: jitter must be in [0, 1], got ${jitter}`);
  }
  if (typeof random !== "function") {
    throw new TypeError("Cannot create retry policy: random must be a function");
  }
  const params = { minDelayMs, maxDelayMs, multiplier, jitter, random };
  return Object.freeze({
    maxAttempts,
    nextDelayMs(attempt: number, retryAfterMs?: number): number {
      const backoff = backoffDelayMs(attempt, params);
      if (retryAfterMs === undefined || !Number.isFinite(retryAfterMs)) return backoff;
      return Math.min(maxDelayMs, Math.max(backoff, Math.ceil(retryAfterMs)));
    },
    shouldRetry(attempt: number, result: SendResult): boolean {
      return !result.ok && result.retryable && attempt < maxAttempts;
    },
  });
}

/**
 * Parses an HTTP `Retry-After` header: delay seconds or an HTTP date. Destinations use it to
 * fill `retryAfterMs` in their send result.
 *
 * @param value The header value, or `null` when absent.
 * @param now The current time in ms, for HTTP dates.
 * @returns The delay in ms (never negative), or `undefined` when absent or unparsable.
 * @example
 * ```ts
 * import { parseRetryAfter } from "./retry.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(parseRetryAfter("1", Date.now()), 1000);
 * assert.equal(parseRetryAfter(null, Date.now()), undefined);
 * ```
 */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  return parseRetryAfterMs(value, now);
}
