/**
 * Dead letters end to end: a destination that refuses a payload for good, what
 * `/health/detailed` and `cano dead-letters list` show, and replay through the running
 * engine's admin API and through the state file of a stopped one.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type RunningServer, serveCommand } from "../engine/commands/serve.ts";
import {
  deadLettersListCommand,
  deadLettersReplayCommand,
} from "../engine/commands/dead_letters.ts";
import { silentLogger } from "../engine/log.ts";
import { type Sink, startSink } from "./_sink.ts";

const ALERT = JSON.stringify({
  status: "firing",
  alerts: [{
    status: "firing",
    labels: { alertname: "KubeJobFailed", namespace: "batch", job_name: "nightly" },
    annotations: { summary: "Job nightly failed" },
    startsAt: "2026-11-23T10:00:00Z",
    fingerprint: "job-nightly",
  }],
});

async function serve(dir: string, sink: Sink, extra = ""): Promise<RunningServer> {
  await Deno.writeTextFile(
    `${dir}/cano.yaml`,
    `server: { host: 127.0.0.1, port: 0${extra} }
delivery: { state: ${dir}/state.db }
destinations: [{ name: hook, type: webhook, url: "${sink.url}/hook" }]
routing: { default: { destinations: [hook] } }
`,
  );
  const running = await serveCommand({ config: `${dir}/cano.yaml`, log: silentLogger });
  assert.ok(typeof running !== "number");
  return running;
}

function capture(): { write: (t: string) => void; text: () => string } {
  let out = "";
  return { write: (t) => void (out += t), text: () => out };
}

Deno.test("cano dead-letters: a 400 becomes a dead letter shown by health and the CLI; replay delivers it", async () => {
  await using sink = await startSink({ status: 400 });
  const dir = await Deno.makeTempDir({ prefix: "cano-dead-" });
  const running = await serve(dir, sink);
  try {
    const base = `http://127.0.0.1:${running.port}`;
    const posted = await fetch(`${base}/api/alerts`, { method: "POST", body: ALERT });
    assert.equal(posted.status, 200);
    await posted.body?.cancel();
    await running.engine.idle();
    assert.equal(sink.requests.length, 1, "a 400 is not retried");

    const health = await (await fetch(`${base}/health/detailed`)).json();
    const destinations = health.components.destinations;
    assert.equal(destinations.status, "degraded");
    assert.equal(destinations.detail.deadLetters, 1);
    const [hook] = destinations.detail.perDestination;
    assert.equal(hook.destination, "hook");
    assert.equal(hook.deadLetters, 1);
    assert.equal(hook.lastFailure.retryable, false);
    assert.match(hook.lastFailure.reason, /HTTP 400/);
    assert.equal(destinations.detail.recentDeadLetters[0].fingerprint, "job-nightly");

    const listed = capture();
    assert.equal(await deadLettersListCommand({ url: base, write: listed.write }), 0);
    const [line] = listed.text().split("\n");
    const [id, , destination, fingerprint, reason] = line!.split("\t");
    assert.equal(destination, "hook");
    assert.equal(fingerprint, "job-nightly");
    assert.match(reason!, /HTTP 400 Bad Request: sink error/);

    const missing = await deadLettersReplayCommand("999", { url: base, write: () => {} });
    assert.equal(missing, 1);
    sink.setStatus(200);
    const replayed = capture();
    assert.equal(await deadLettersReplayCommand(id, { url: base, write: replayed.write }), 0);
    assert.match(replayed.text(), /Replayed 1 dead letter/);
    await sink.waitFor((requests) => requests.length === 2);
    const json = capture();
    await deadLettersListCommand({ url: base, format: "json", write: json.write });
    assert.deepEqual(JSON.parse(json.text()), { deadLetters: [] });
  } finally {
    await running.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cano dead-letters --state replays into a stopped engine's outbox; the next start delivers", async () => {
  await using sink = await startSink({ status: 422 });
  const dir = await Deno.makeTempDir({ prefix: "cano-dead-" });
  try {
    const first = await serve(dir, sink);
    const posted = await fetch(`http://127.0.0.1:${first.port}/api/alerts`, {
      method: "POST",
      body: ALERT,
    });
    await posted.body?.cancel();
    await first.engine.idle();
    // While it runs, the file is locked: the CLI says to use --url.
    const locked = await deadLettersListCommand({ state: `${dir}/state.db`, write: () => {} });
    assert.equal(locked, 1);
    await first.shutdown();

    const listed = capture();
    assert.equal(
      await deadLettersListCommand({ state: `${dir}/state.db`, write: listed.write }),
      0,
    );
    assert.match(listed.text(), /job-nightly\tCannot send to webhook "hook": HTTP 422/);
    const replayed = capture();
    assert.equal(
      await deadLettersReplayCommand(undefined, {
        state: `${dir}/state.db`,
        all: true,
        write: replayed.write,
      }),
      0,
    );
    assert.match(
      replayed.text(),
      /Replayed 1 dead letter\(s\); the next start of Cano delivers them/,
    );

    sink.setStatus(200);
    const second = await serve(dir, sink);
    try {
      await sink.waitFor((requests) => requests.length === 2);
      assert.deepEqual(second.engine.dispatcher.deadLetters(), []);
    } finally {
      await second.shutdown();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("admin API: with server.adminToken a request needs the token", async () => {
  await using sink = await startSink();
  const dir = await Deno.makeTempDir({ prefix: "cano-dead-" });
  const running = await serve(dir, sink, ", adminToken: admin-token-0123456789");
  try {
    const base = `http://127.0.0.1:${running.port}`;
    const anonymous = await fetch(`${base}/api/dead-letters`);
    assert.equal(anonymous.status, 401);
    await anonymous.body?.cancel();
    const denied = await deadLettersListCommand({ url: base, token: "wrong", write: () => {} });
    assert.equal(denied, 1);
    const out = capture();
    const code = await deadLettersListCommand({
      url: base,
      token: "admin-token-0123456789",
      write: out.write,
    });
    assert.equal(code, 0);
    assert.equal(out.text(), "No dead letters\n");
    const bad = await fetch(`${base}/api/dead-letters/replay`, {
      method: "POST",
      headers: { authorization: "Bearer admin-token-0123456789" },
      body: JSON.stringify({ id: "one" }),
    });
    assert.equal(bad.status, 400);
    assert.match(
      (await bad.json()).error,
      /Expected \{"id": <dead letter id>\} or \{"all": true\}/,
    );
  } finally {
    await running.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
