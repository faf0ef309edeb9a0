/**
 * Exponential backoff with jitter, and `Retry-After` parsing: the arithmetic behind
 * `retry.ts`, kept pure so it is easy to test.
 *
 * @module
 */

/** Inputs of {@linkcode backoffDelayMs}, already validated by the caller. */
export interface BackoffParams {
  /** Delay after the first failed attempt. */
  minDelayMs: number;
  /** Upper bound of every delay. */
  maxDelayMs: number;
  /** Growth factor per attempt. */
  multiplier: number;
  /** Spread around the base delay, as a fraction (0.2 = ±20%). */
  jitter: number;
  /** Source of randomness in [0, 1). */
  random: () => number;
}

/**
 * The delay before the attempt that follows attempt number `attempt` (1-based):
 * `minDelayMs * multiplier^(attempt - 1)`, spread by ±`jitter`, within [0, `maxDelayMs`].
 *
 * @param attempt Number of attempts made so far (1 after the first failure).
 * @param params Backoff parameters.
 * @returns The delay in whole milliseconds.
 * @example
 * ```ts
 * import { backoffDelayMs } from "./_backoff.ts";
 * import assert from "node:assert/strict";
 *
 * const params = { minDelayMs: 500, maxDelayMs: 60_000, multiplier: 2, jitter: 0, random: Math.random };
 * assert.equal(backoffDelayMs(3, params), 2000);
 * ```
 */
export function backoffDelayMs(attempt: number, params: BackoffParams): number {
  const { minDelayMs, maxDelayMs, multiplier, jitter, random } = params;
  const exponent = Math.max(0, attempt - 1);
  const base = Math.min(maxDelayMs, minDelayMs * multiplier ** exponent);
  const spread = 1 + jitter * (2 * random() - 1);
  return Math.round(Math.min(maxDelayMs, Math.max(0, base * spread)));
}

/**
 * Parses an HTTP `Retry-After` value: delay seconds (`"120"`, `"1.5"`) or an HTTP date.
 *
 * @param value The header value, or `null` when absent.
 * @param now The current time in ms, for HTTP dates.
 * @returns The delay in ms (never negative), or `undefined` when absent or unparsable.
 * @example
 * ```ts
 * import { parseRetryAfterMs } from "./_backoff.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(parseRetryAfterMs("2", 0), 2000);
 * assert.equal(parseRetryAfterMs("Thu, 01 Jan 1970 00:00:05 GMT", 1000), 4000);
 * assert.equal(parseRetryAfterMs("soon", 0), undefined);
 * ```
 */
export function parseRetryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  if (!/[a-z]/i.test(text)) return undefined;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
