/**
 * Chaos for the delivery layer: a destination that is down for a while, answers 429
 * storms, resets connections or hangs. Whatever it does, every issue arrives, at least once,
 * and a resolution never overtakes its firing.
 *
 * @module
 */
import assert from "node:assert/strict";
import { parseConfigText } from "../engine/config/load.ts";
import { CanoConfigSchema } from "../engine/config/schema.ts";
import { Engine } from "../engine/engine.ts";
import { silentLogger } from "../engine/log.ts";
import { type ChaosAction, type ChaosRequest, startChaosServer } from "./_chaos_server.ts";

const FINGERPRINTS = 20;

function engineFor(url: string, extra = ""): Engine {
  const loaded = parseConfigText(
    `delivery:
  retry: { maxAttempts: 200, minDelay: 20, maxDelay: 1000 }${extra}
destinations: [{ name: hook, type: webhook, url: "${url}/hook", timeoutMs: 300 }]
routing: { default: { destinations: [hook] } }
`,
    { file: "chaos.yaml", schema: CanoConfigSchema },
  );
  if (!loaded.ok) throw loaded.error;
  return new Engine({ config: loaded.config, log: silentLogger });
}

/** Twenty alerts firing, then the same twenty resolved, in two webhook calls. */
function sendFiringThenResolved(engine: Engine): void {
  for (const status of ["firing", "resolved"] as const) {
    const result = engine.ingestAlertmanager({
      status,
      alerts: Array.from({ length: FINGERPRINTS }, (_, i) => ({
        status,
        labels: { alertname: "KubePodCrashLooping", namespace: "shop", pod: `api-${i}` },
        annotations: {},
        startsAt: "2026-11-23T10:00:00Z",
        ...(status === "resolved" ? { endsAt: "2026-11-23T10:05:00Z" } : {}),
        fingerprint: `fp-${i}`,
      })),
    });
    assert.equal(result.ok && result.accepted, FINGERPRINTS);
  }
}

/** Checks the accepted requests: every (fingerprint, status) once or more, firing first. */
function assertDelivered(requests: ChaosRequest[]): void {
  const accepted = requests.filter((r) => "status" in r.action && r.action.status < 300);
  const seen = new Map<string, string[]>();
  for (const request of accepted) {
    const issue = (request.json as { issue: { fingerprint: string; status: string } }).issue;
    seen.set(issue.fingerprint, [...(seen.get(issue.fingerprint) ?? []), issue.status]);
  }
  assert.equal(seen.size, FINGERPRINTS, "every fingerprint delivered");
  for (const [fingerprint, statuses] of seen) {
    assert.ok(statuses.includes("firing") && statuses.includes("resolved"), fingerprint);
    // At-least-once may repeat a status; a resolution never comes before the firing.
    assert.equal(statuses.indexOf("firing") < statuses.indexOf("resolved"), true, fingerprint);
    assert.equal(statuses.at(-1), "resolved", `${fingerprint}: ${statuses.join(",")}`);
  }
}

async function run(script: (n: number, json: unknown) => ChaosAction, extra = "") {
  await using server = startChaosServer(script);
  const engine = engineFor(server.url, extra);
  try {
    sendFiringThenResolved(engine);
    await engine.idle();
    assertDelivered(server.requests);
    assert.deepEqual(engine.dispatcher.deadLetters(), []);
    return [...server.requests];
  } finally {
    await engine.shutdown(1000);
  }
}

Deno.test("delivery chaos: a destination down (503) for its first 60 requests, then back", async () => {
  const requests = await run((n) => n < 60 ? { status: 503 } : { status: 200 });
  assert.ok(requests.length >= 60 + 2 * FINGERPRINTS);
});

Deno.test("delivery chaos: a 429 storm with Retry-After is waited out, not hammered", async () => {
  const requests = await run((n) => n < 30 ? { status: 429, retryAfter: "1" } : { status: 200 });
  const key = (r: ChaosRequest) => {
    const issue = (r.json as { issue: { fingerprint: string; status: string } }).issue;
    return `${issue.fingerprint}/${issue.status}`;
  };
  // Each throttled delivery waited the second it was asked for before its next attempt.
  for (const [i, throttled] of requests.entries()) {
    if (!("status" in throttled.action) || throttled.action.status !== 429) continue;
    const next = requests.slice(i + 1).find((r) => key(r) === key(throttled));
    assert.ok(next, `${key(throttled)} was tried again`);
    assert.ok(
      next.at - throttled.at >= 900,
      `${key(throttled)} waited ${next.at - throttled.at} ms`,
    );
  }
});

Deno.test("delivery chaos: connection resets are retried", async () => {
  const requests = await run((n) => n % 3 === 0 ? { reset: true } : { status: 200 });
  assert.ok(requests.some((r) => "reset" in r.action));
});

Deno.test("delivery chaos: a hanging destination times out and is retried", async () => {
  const requests = await run((n) => n < 5 ? { hang: true } : { status: 200 });
  assert.equal(requests.filter((r) => "hang" in r.action).length, 5);
});

Deno.test("delivery chaos: with the durable outbox, a mix of every failure loses nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cano-chaos-" });
  try {
    await run((n) => {
      const roll = (n * 7919) % 10;
      if (n > 200) return { status: 200 };
      return roll < 2
        ? { status: 503 }
        : roll < 4
        ? { status: 429, retryAfter: "0" }
        : roll < 5
        ? { reset: true }
        : { status: 200 };
    }, `\n  state: ${dir}/state.db`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
