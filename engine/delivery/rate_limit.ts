/**
 * Token buckets in front of each destination: a send waits until the service's documented
 * rate allows it, instead of being answered 429 (Slack: about one message per second per
 * channel; Teams: four requests per second; ...).
 *
 * `reserve` takes a token now and says how long to wait for it, so concurrent senders queue
 * up in order without polling: each reservation pushes the next one further out.
 *
 * @example One per second, bursts of two
 * ```ts
 * import { createRateLimiter } from "./rate_limit.ts";
 * import assert from "node:assert/strict";
 *
 * let now = 0;
 * const limiter = createRateLimiter({ now: () => now });
 * const limit = { perSecond: 1, burst: 2 };
 * assert.equal(limiter.reserve("slack", limit), 0);
 * assert.equal(limiter.reserve("slack", limit), 0);
 * assert.equal(limiter.reserve("slack", limit), 1000);
 * now = 5000;
 * assert.equal(limiter.reserve("slack", limit), 0);
 * ```
 *
 * @module
 */
import type { RateLimit } from "../destinations/destination.ts";

/** Rate limiters by key. */
export interface RateLimiter {
  /**
   * Takes one token from `key`'s bucket.
   *
   * @param key The bucket, e.g. the destination name.
   * @param limit Its rate and burst; a changed limit applies from this call on.
   * @returns Milliseconds to wait before sending (0 when a token was free).
   */
  reserve(key: string, limit: RateLimit): number;
}

/**
 * Creates a set of token buckets.
 *
 * @param options Clock in ms.
 * @returns The limiter.
 */
export function createRateLimiter({ now = Date.now }: { now?: () => number } = {}): RateLimiter {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    reserve(key, { perSecond, burst }) {
      const time = now();
      const bucket = buckets.get(key) ?? { tokens: burst, at: time };
      // Refill for the time passed; tokens below zero are reservations not yet due.
      bucket.tokens = Math.min(burst, bucket.tokens + ((time - bucket.at) / 1000) * perSecond);
      bucket.at = time;
      bucket.tokens -= 1;
      buckets.set(key, bucket);
      return bucket.tokens >= 0 ? 0 : Math.ceil((-bucket.tokens / perSecond) * 1000);
    },
  };
}
