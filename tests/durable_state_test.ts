/**
 * `delivery.state`: the outbox and the alert dedupe state survive a restart of the engine.
 * Alerts accepted while the destination is down are delivered by the next engine on the
 * same file, and an alert handled before the restart is still a duplicate after it.
 *
 * @module
 */
import assert from "node:assert/strict";
import { parseConfigText } from "../engine/config/load.ts";
import { CanoConfigSchema } from "../engine/config/schema.ts";
import { Engine } from "../engine/engine.ts";
import { silentLogger } from "../engine/log.ts";
import { startSink } from "./_sink.ts";

const payload = JSON.parse(
  await Deno.readTextFile(new URL("../examples/alerts/crashloop_group.json", import.meta.url)),
);

function engineFor(state: string, url: string): Engine {
  const loaded = parseConfigText(
    `delivery: { state: ${state} }
destinations: [{ name: hook, type: webhook, url: "${url}", timeoutMs: 500 }]
routing: { default: { destinations: [hook] } }
`,
    { file: "test.yaml", schema: CanoConfigSchema },
  );
  if (!loaded.ok) throw loaded.error;
  return new Engine({ config: loaded.config, log: silentLogger });
}

Deno.test("Engine with delivery.state resumes undelivered alerts and remembers handled ones after a restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cano-state-" });
  const state = `${dir}/state.db`;
  try {
    await using sink = await startSink();
    // First engine: the destination's port is closed, so nothing can be delivered.
    const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const deadUrl = `http://127.0.0.1:${(closed.addr as Deno.NetAddr).port}/hook`;
    closed.close();
    const first = engineFor(state, deadUrl);
    const accepted = first.ingestAlertmanager(payload);
    assert.deepEqual(accepted, { ok: true, received: 2, accepted: 2, duplicates: 0 });
    await new Promise((r) => setTimeout(r, 300));
    await first.shutdown(200);

    // Second engine on the same file: the sink is up under the destination's new URL.
    const second = engineFor(state, `${sink.url}/hook`);
    await sink.waitFor((requests) => requests.length >= 2, { timeoutMs: 10_000 });
    const fingerprints = sink.requests.map((r) =>
      (r.json as { issue: { fingerprint: string } }).issue.fingerprint
    )
      .sort();
    assert.deepEqual(fingerprints, ["3f2a9c1b7d4e8a60", "a81c03e5f9b27d44"]);
    const again = second.ingestAlertmanager(payload);
    assert.deepEqual(again, { ok: true, received: 2, accepted: 0, duplicates: 2 });
    await second.shutdown(1000);
    assert.equal(sink.requests.length, 2, "nothing delivered twice");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Engine with delivery.state keeps repeat suppression across a restart", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cano-state-" });
  try {
    await using sink = await startSink();
    const config = (state: string) => {
      const loaded = parseConfigText(
        `delivery: { state: ${state} }
alertmanager: { repeatInterval: 1ms }
destinations: [{ name: hook, type: webhook, url: "${sink.url}/hook" }]
routing:
  routes: [{ name: all, destinations: [hook], repeatInterval: 1h }]
  default: { destinations: [hook] }
`,
        { file: "test.yaml", schema: CanoConfigSchema },
      );
      if (!loaded.ok) throw loaded.error;
      return new Engine({ config: loaded.config, log: silentLogger });
    };
    const first = config(`${dir}/state.db`);
    first.ingestAlertmanager(payload);
    await first.idle();
    await first.shutdown(1000);
    assert.equal(sink.requests.length, 2);

    // Alertmanager re-sends the unchanged group after its repeat interval: the webhook
    // accepts it (alertmanager.repeatInterval is 1 ms), the route's 1 h interval holds it.
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = config(`${dir}/state.db`);
    const again = second.ingestAlertmanager(payload);
    assert.ok(again.ok && again.accepted === 2, JSON.stringify(again));
    await second.idle();
    await second.shutdown(1000);
    assert.equal(sink.requests.length, 2, "no repeat delivered after the restart");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
