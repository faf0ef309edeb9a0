/**
 * `cano serve` end to end: real HTTP on loopback, a real webhook sink, real config files.
 * Graceful shutdown (abort signal and a real SIGTERM to the CLI) and config reload.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type RunningServer, serveCommand } from "../engine/commands/serve.ts";
import { createLogger, silentLogger } from "../engine/log.ts";
import { type Sink, startSink } from "./_sink.ts";
import { startCano } from "./_cano_process.ts";

function configFor(sink: Sink, path = "/cano"): string {
  return `server:
  host: 127.0.0.1
  port: 0
  shutdownTimeout: 10s
destinations:
  - name: sink
    type: webhook
    url: ${sink.url}${path}
routing:
  default:
    destinations: [sink]
`;
}

function alertPayload(alertname: string, count = 1): string {
  const startsAt = new Date().toISOString();
  return JSON.stringify({
    status: "firing",
    externalURL: "http://alertmanager.example:9093",
    alerts: Array.from({ length: count }, (_, i) => ({
      status: "firing",
      labels: { alertname, namespace: "shop", pod: `api-${i}`, severity: "warning" },
      annotations: { summary: `${alertname} ${i}` },
      startsAt,
      fingerprint: `${alertname}-${i}`,
    })),
  });
}

async function post(server: RunningServer, body: string): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${server.port}/api/alerts`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  await response.body?.cancel();
  return response.status;
}

/** Writes a file the way ConfigMap updates and editors do: a new file renamed over the old. */
async function replaceFile(path: string, text: string): Promise<void> {
  await Deno.writeTextFile(`${path}.tmp`, text);
  await Deno.rename(`${path}.tmp`, path);
}

async function reloads(server: RunningServer, result: "success" | "failure"): Promise<number> {
  const text = await server.engine.metrics.registry.metrics();
  const match = text.match(new RegExp(`cano_config_reloads_total\\{result="${result}"\\} (\\d+)`));
  return Number(match?.[1] ?? 0);
}

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Cannot wait for ${what}: ${timeoutMs} ms passed`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function alertnames(sink: Sink): string[] {
  return sink.requests.map((r) =>
    (r.json as { issue: { labels: Record<string, string> } }).issue.labels["alertname"]!
  );
}

Deno.test("serveCommand() returns exit code 1 for an invalid config file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/cano.yaml`, "destinations: []\nrouting: {}\n");
    const lines: string[] = [];
    const result = await serveCommand({
      config: `${dir}/cano.yaml`,
      log: createLogger({ write: (l) => lines.push(l) }),
    });
    assert.equal(result, 1);
    assert.match(lines.join("\n"), /Cannot start: invalid config/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serveCommand() returns exit code 1 when delivery.state cannot be opened", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      `${dir}/cano.yaml`,
      `server: { host: 127.0.0.1, port: 0 }
delivery: { state: ${dir}/missing/state.db }
destinations: [{ name: console, type: stdout }]
routing: { default: { destinations: [console] } }
`,
    );
    const lines: string[] = [];
    const result = await serveCommand({
      config: `${dir}/cano.yaml`,
      log: createLogger({ write: (l) => lines.push(l) }),
    });
    assert.equal(result, 1);
    assert.match(
      lines.join("\n"),
      /Cannot open state database .*missing\/state.db.*directory exists/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serveCommand() finishes in-flight deliveries when its signal aborts", async () => {
  await using sink = await startSink({ delayMs: 300 });
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/cano.yaml`, configFor(sink));
    const controller = new AbortController();
    const server = await serveCommand({
      config: `${dir}/cano.yaml`,
      log: silentLogger,
      signal: controller.signal,
    });
    assert.ok(typeof server !== "number");
    assert.ok(server.port > 0);
    const health = await fetch(`http://127.0.0.1:${server.port}/health`);
    assert.deepEqual(await health.json(), { status: "ok" });

    // Accepted (200) means recorded: abort at once; the 3 deliveries, each answered 300 ms
    // later by the sink, must still complete before `finished` resolves.
    assert.equal(await post(server, alertPayload("KubePodCrashLooping", 3)), 200);
    const abortedAt = performance.now();
    controller.abort();
    await server.finished;
    const stoppedAfterMs = performance.now() - abortedAt;

    assert.deepEqual(alertnames(sink), Array(3).fill("KubePodCrashLooping"));
    assert.equal(sink.pending, 0);
    assert.ok(
      stoppedAfterMs >= 250,
      `stopped after ${stoppedAfterMs} ms, before the sink answered`,
    );
    assert.equal(server.engine.dispatcher.pending(), 0);
    assert.match(
      await server.engine.metrics.registry.metrics(),
      /cano_destination_sent_total\{destination="sink",destination_type="webhook"\} 3/,
    );
    await assert.rejects(fetch(`http://127.0.0.1:${server.port}/health`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cano serve exits 0 on SIGTERM after delivering accepted alerts", async () => {
  await using sink = await startSink({ delayMs: 300 });
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/cano.yaml`, configFor(sink));
    await using cano = await startCano(`${dir}/cano.yaml`);
    const response = await fetch(`http://127.0.0.1:${cano.port}/api/alerts`, {
      method: "POST",
      body: alertPayload("KubeJobFailed", 2),
    });
    assert.equal(response.status, 200);
    await response.body?.cancel();
    const status = await cano.stop("SIGTERM");

    assert.equal(status.code, 0, cano.lines.join("\n"));
    assert.deepEqual(alertnames(sink), ["KubeJobFailed", "KubeJobFailed"]);
    assert.equal(sink.pending, 0);
    assert.ok(cano.lines.some((l) => l.includes("Cano stopped")), cano.lines.join("\n"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test(
  "serveCommand() reloads a changed config file and keeps the old one when the new one is invalid",
  async () => {
    await using first = await startSink();
    await using second = await startSink();
    const dir = await Deno.makeTempDir();
    const path = `${dir}/cano.yaml`;
    const lines: string[] = [];
    const controller = new AbortController();
    try {
      await Deno.writeTextFile(path, configFor(first));
      const server = await serveCommand({
        config: path,
        log: createLogger({ write: (l) => lines.push(l) }),
        signal: controller.signal,
      });
      assert.ok(typeof server !== "number");

      assert.equal(await post(server, alertPayload("Before")), 200);
      await first.waitFor((r) => r.length === 1);
      // Let the watcher read the initial content before it changes.
      await new Promise((resolve) => setTimeout(resolve, 500));

      await replaceFile(path, configFor(second, "/after-reload"));
      await waitUntil(async () => await reloads(server, "success") === 1, "the reload");
      assert.equal(await post(server, alertPayload("AfterReload")), 200);
      await second.waitFor((r) => r.length === 1);
      assert.equal(second.requests[0]?.path, "/after-reload");

      await replaceFile(path, configFor(first).replace("type: webhook", "type: webhok"));
      await waitUntil(async () => await reloads(server, "failure") === 1, "the refused reload");
      const health = await (await fetch(`http://127.0.0.1:${server.port}/health/detailed`))
        .json();
      assert.equal(health.status, "degraded");
      assert.equal(health.components.config.detail.lastReload.ok, false);
      assert.match(health.components.config.detail.lastReload.error, /destinations/);
      assert.ok(lines.some((l) => l.includes("Config reload refused")), lines.join("\n"));

      assert.equal(await post(server, alertPayload("AfterBadConfig")), 200);
      await second.waitFor((r) => r.length === 2);
      await server.engine.idle();
      assert.deepEqual(alertnames(first), ["Before"]);
      assert.deepEqual(alertnames(second), ["AfterReload", "AfterBadConfig"]);
      assert.equal(await reloads(server, "success"), 1);

      controller.abort();
      await server.finished;
    } finally {
      controller.abort();
      await Deno.remove(dir, { recursive: true });
    }
  },
);
