import assert from "node:assert/strict";
import { createRetryPolicy, parseRetryAfter } from "./retry.ts";

const RETRYABLE = { ok: false, retryable: true, reason: "HTTP 503" } as const;
const PERMANENT = { ok: false, retryable: false, reason: "HTTP 400" } as const;

Deno.test("createRetryPolicy() doubles the delay from minDelayMs up to maxDelayMs", () => {
  const policy = createRetryPolicy({ random: () => 0.5 });
  const delays = Array.from({ length: 10 }, (_, i) => policy.nextDelayMs(i + 1));
  assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
});

Deno.test("createRetryPolicy() spreads each delay by ±jitter", () => {
  const low = createRetryPolicy({ random: () => 0 });
  const high = createRetryPolicy({ random: () => 0.999_999 });
  assert.equal(low.nextDelayMs(3), 1600);
  assert.equal(high.nextDelayMs(3), 2400);
  const none = createRetryPolicy({ jitter: 0, random: () => 0 });
  assert.equal(none.nextDelayMs(3), 2000);
  // Jitter never pushes past the cap.
  const capped = createRetryPolicy({ maxDelayMs: 1000, random: () => 0.999_999 });
  assert.equal(capped.nextDelayMs(20), 1000);
});

Deno.test("createRetryPolicy() honours Retry-After, capped by maxDelayMs", () => {
  const policy = createRetryPolicy({ random: () => 0.5 });
  assert.equal(policy.nextDelayMs(1, 1000), 1000);
  assert.equal(policy.nextDelayMs(1, 1), 500, "a shorter Retry-After does not shorten backoff");
  assert.equal(policy.nextDelayMs(1, 3_600_000), 60_000);
  assert.equal(policy.nextDelayMs(2, Number.NaN), 1000);
});

Deno.test("createRetryPolicy() retries only retryable failures while attempts remain", () => {
  const policy = createRetryPolicy({ maxAttempts: 3 });
  assert.equal(policy.maxAttempts, 3);
  assert.equal(policy.shouldRetry(1, RETRYABLE), true);
  assert.equal(policy.shouldRetry(2, RETRYABLE), true);
  assert.equal(policy.shouldRetry(3, RETRYABLE), false);
  assert.equal(policy.shouldRetry(1, PERMANENT), false);
  assert.equal(policy.shouldRetry(1, { ok: true }), false);
  assert.equal(createRetryPolicy({ maxAttempts: 1 }).shouldRetry(1, RETRYABLE), false);
});

Deno.test("createRetryPolicy() rejects bad options when created", () => {
  const cases: [Parameters<typeof createRetryPolicy>[0], RegExp][] = [
    [{ maxAttempts: 0 }, /maxAttempts must be an integer >= 1, got 0/],
    [{ maxAttempts: 1.5 }, /maxAttempts/],
    [{ minDelayMs: -1 }, /minDelayMs must be a finite number >= 0, got -1/],
    [{ minDelayMs: 1000, maxDelayMs: 999 }, /maxDelayMs must be finite and >= minDelayMs \(1000\)/],
    [{ maxDelayMs: Infinity }, /maxDelayMs/],
    [{ multiplier: 0.5 }, /multiplier must be a finite number >= 1/],
    [{ jitter: 1.5 }, /jitter must be in \[0, 1\], got 1.5/],
    [{ jitter: Number.NaN }, /jitter/],
  ];
  for (const [options, message] of cases) {
    assert.throws(() => createRetryPolicy(options), (error: unknown) => {
      assert.ok(error instanceof RangeError);
      assert.match(error.message, /^Cannot create retry policy: /);
      assert.match(error.message, message);
      return true;
    });
  }
  assert.throws(
    () => createRetryPolicy({ random: "no" as unknown as () => number }),
    TypeError,
  );
});

Deno.test("parseRetryAfter() reads delay seconds and HTTP dates", () => {
  const now = Date.parse("2026-03-01T10:00:00Z");
  assert.equal(parseRetryAfter("1", now), 1000);
  assert.equal(parseRetryAfter(" 120 ", now), 120_000);
  assert.equal(parseRetryAfter("1.5", now), 1500);
  assert.equal(parseRetryAfter("Sun, 01 Mar 2026 10:00:30 GMT", now), 30_000);
  assert.equal(parseRetryAfter("Sun, 01 Mar 2026 09:00:00 GMT", now), 0);
  assert.equal(parseRetryAfter(null, now), undefined);
  assert.equal(parseRetryAfter("-5", now), undefined);
  assert.equal(parseRetryAfter("", now), undefined);
  assert.equal(parseRetryAfter("soon", now), undefined);
});
