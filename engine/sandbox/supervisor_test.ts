import { PermissionsSchema } from "@cano/sdk";
import assert from "node:assert/strict";
import { join } from "node:path";
import type { CapabilityHost } from "../capabilities/host.ts";
import { silentLogger } from "../log.ts";
import { createMetrics, type Metrics } from "../metrics.ts";
import { findPrlimit } from "./child.ts";
import { parseSandboxConfig, type SandboxConfigInput } from "./config.ts";
import { ensureSdkBundle } from "./sdk_bundle.ts";
import { writeSnapshot } from "./snapshot.ts";
import { SandboxLoadError, Supervisor } from "./supervisor.ts";
import {
  createFakeCapabilityHost,
  TEST_WORK_DIR,
  testIssue,
  workflowSource,
} from "./_test_support.ts";

const OPTIONS = { sanitizeOps: false, sanitizeResources: false } as const;

async function supervise(
  source: string,
  config: SandboxConfigInput = {},
  { host = createFakeCapabilityHost().host, metrics = createMetrics() }: {
    host?: CapabilityHost;
    metrics?: Metrics;
  } = {},
): Promise<{ supervisor: Supervisor; metrics: Metrics }> {
  const sdk = await ensureSdkBundle({ workDir: TEST_WORK_DIR });
  const entry = { rel: "wf.ts", content: new TextEncoder().encode(source) };
  const version = await writeSnapshot(TEST_WORK_DIR, entry, []);
  const denoDir = join(TEST_WORK_DIR, "deno-dirs", version.hash.slice(0, 16));
  await Deno.mkdir(denoDir, { recursive: true });
  const parsed = parseSandboxConfig({ restartBackoffMs: 0, ...config });
  if (parsed.uid !== undefined) await Deno.chown(denoDir, parsed.uid, parsed.gid ?? null);
  const supervisor = new Supervisor({
    spec: {
      snapshotDir: version.snapshotDir,
      entry: version.entry,
      sdk,
      denoDir,
      cwd: "/",
      prlimit: await findPrlimit(),
    },
    config: parsed,
    capabilityHost: host,
    metrics,
    log: silentLogger,
    name: "wf.ts",
  });
  await supervisor.start((manifest) => PermissionsSchema.parse(manifest.permissions));
  return { supervisor, metrics };
}

const request = (title = "test", timeoutMs = 5_000) => ({
  issue: testIssue(title),
  params: {},
  timeoutMs,
});

async function counter(metrics: Metrics, name: string, labels: Record<string, string>) {
  const { values } = await metrics.registry.getSingleMetric(name)!.get();
  return values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
    .reduce((sum, v) => sum + v.value, 0);
}

async function waitFor(check: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error("Cannot wait: the condition never held");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

Deno.test(
  "Supervisor.run() returns enrichments, keeps the child warm and relays silence",
  OPTIONS,
  async () => {
    const { supervisor } = await supervise(workflowSource(
      "echo",
      `console.log("to the log");
    ctx.enrich("Title", [markdown(ctx.issue.title)]);
    ctx.enrich(undefined, [json({ n: 1 })]);
    if (ctx.issue.title === "quiet") ctx.silence("maintenance");`,
    ));
    const pid = supervisor.stats.pid;
    const first = await supervisor.run(request("hello"));
    assert.equal(first.outcome, "success");
    assert.deepEqual(first.enrichments, [
      { title: "Title", blocks: [{ type: "markdown", text: "hello" }] },
      { blocks: [{ type: "json", value: { n: 1 } }] },
    ]);
    const second = await supervisor.run(request("quiet"));
    assert.equal(second.silenced, "maintenance");
    assert.equal(supervisor.stats.pid, pid);
    assert.equal(supervisor.stats.runs, 2);
    await supervisor.close();
  },
);

Deno.test(
  "Supervisor.run() kills a run at its deadline and serves the next on a fresh child",
  OPTIONS,
  async () => {
    const { supervisor, metrics } = await supervise(
      workflowSource("spin", `if (ctx.issue.title === "spin") while (true) {}`),
    );
    const pid = supervisor.stats.pid;
    const started = performance.now();
    const slow = await supervisor.run(request("spin", 300));
    assert.equal(slow.outcome, "timeout");
    assert.ok(performance.now() - started < 1_000);
    const next = await supervisor.run(request("fine"));
    assert.equal(next.outcome, "success");
    assert.notEqual(supervisor.stats.pid, pid);
    assert.equal(await counter(metrics, "cano_sandbox_restarts_total", { reason: "timeout" }), 1);
    await supervisor.close();
  },
);

Deno.test(
  "Supervisor.run() rejects when the queue is full and times out queued runs",
  OPTIONS,
  async () => {
    const { supervisor } = await supervise(
      workflowSource("slow", `await new Promise((r) => setTimeout(r, 400));`),
      { concurrency: 1, queueSize: 1 },
    );
    const [a, b, c] = await Promise.all([
      supervisor.run(request("a")),
      supervisor.run(request("b", 200)),
      supervisor.run(request("c")),
    ]);
    assert.equal(a.outcome, "success");
    assert.equal(b.outcome, "timeout");
    assert.match(b.error!, /waited 200 ms in the queue/);
    assert.equal(c.outcome, "rejected");
    assert.match(c.error!, /queue is full \(1 runs waiting\)/);
    await supervisor.close();
  },
);

Deno.test(
  "Supervisor.run() quarantines after consecutive failures, then lets a trial through",
  OPTIONS,
  async () => {
    const { supervisor } = await supervise(
      workflowSource("flaky", `if (ctx.issue.title !== "ok") throw new Error("boom");`),
      { quarantineAfter: 2, quarantineMs: 1_000 },
    );
    assert.equal((await supervisor.run(request("x"))).outcome, "error");
    assert.equal((await supervisor.run(request("x"))).outcome, "error");
    const refused = await supervisor.run(request("ok"));
    assert.equal(refused.outcome, "quarantined");
    assert.match(refused.error!, /quarantined after 2 consecutive failed runs, until \d{4}-/);
    assert.ok(supervisor.stats.quarantinedUntil! > Date.now());
    await new Promise((resolve) => setTimeout(resolve, 1_050));
    assert.equal((await supervisor.run(request("ok"))).outcome, "success");
    assert.equal(supervisor.stats.consecutiveFailures, 0);
    await supervisor.close();
  },
);

Deno.test("Supervisor.run() recycles the child after N runs", OPTIONS, async () => {
  const { supervisor, metrics } = await supervise(workflowSource("r", ""), { recycleAfter: 2 });
  const pid = supervisor.stats.pid;
  await supervisor.run(request());
  await supervisor.run(request());
  await waitFor(async () =>
    await counter(metrics, "cano_sandbox_restarts_total", { reason: "recycle" }) === 1
  );
  assert.equal((await supervisor.run(request())).outcome, "success");
  assert.notEqual(supervisor.stats.pid, pid);
  await supervisor.close();
});

Deno.test(
  "Supervisor serves capability calls with the engine's permissions and a budget",
  OPTIONS,
  async () => {
    const { host, calls } = createFakeCapabilityHost();
    const { supervisor, metrics } = await supervise(
      workflowSource(
        "caps",
        `const value = await ctx.prometheus.query("up", { time: "1" });
      const refused = await ctx.http.fetch("https://x.example").catch((e) => e.message);
      const results = await Promise.all(Array.from({ length: 5 }, () =>
        ctx.prometheus.query("up").then(() => "ok", (e) => e.message)));
      ctx.enrich("Caps", [json({ value, refused, results })]);`,
        "permissions: { prometheus: true },",
      ),
      { maxCapabilityCalls: 4 },
      { host },
    );
    const result = await supervisor.run(request());
    assert.equal(result.outcome, "success");
    const block = result.enrichments[0]!.blocks[0]!;
    assert.ok(block.type === "json");
    const value = block.value as { value: unknown; refused: string; results: string[] };
    assert.deepEqual(value.value, {
      resultType: "vector",
      result: [{ metric: {}, value: [1, "42"] }],
    });
    assert.equal(value.refused, 'Cannot call "http.fetch": not permitted');
    assert.deepEqual(value.results.filter((r) => r === "ok").length, 2);
    assert.equal(value.results.filter((r) => /used its 4 capability calls/.test(r)).length, 3);
    assert.equal(calls.length, 4);
    assert.deepEqual(calls[0]!.args, { expr: "up", time: "1" });
    assert.equal(calls[0]!.context.workflowId, "caps");
    assert.equal(calls[0]!.context.permissions.prometheus, true);
    assert.equal(
      await counter(metrics, "cano_sandbox_capability_calls_total", { outcome: "ok" }),
      3,
    );
    assert.equal(
      await counter(metrics, "cano_sandbox_capability_calls_total", { outcome: "not_permitted" }),
      1,
    );
    await supervisor.close();
  },
);

Deno.test(
  "Supervisor fails runs killed as collateral without counting them toward quarantine",
  OPTIONS,
  async () => {
    const { supervisor } = await supervise(
      workflowSource(
        "mixed",
        `if (ctx.issue.title === "spin") { await new Promise((r) => setTimeout(r, 50)); while (true) {} }
      await new Promise((r) => setTimeout(r, 5_000));`,
      ),
      { concurrency: 2, quarantineAfter: 2 },
    );
    const [innocent, spinner] = await Promise.all([
      supervisor.run(request("wait", 10_000)),
      supervisor.run(request("spin", 300)),
    ]);
    assert.equal(spinner.outcome, "timeout");
    assert.equal(innocent.outcome, "crash");
    assert.match(innocent.error!, /restarted because a run passed its 300 ms deadline/);
    assert.equal(supervisor.stats.consecutiveFailures, 1);
    await supervisor.close();
  },
);

Deno.test(
  "Supervisor.drain() lets running work finish; close() fails what is left",
  OPTIONS,
  async () => {
    const { supervisor } = await supervise(
      workflowSource(
        "d",
        `await new Promise((r) => setTimeout(r, 200)); ctx.enrich("Done", [markdown("y")]);`,
      ),
    );
    const running = supervisor.run(request());
    await new Promise((resolve) => setTimeout(resolve, 20));
    await supervisor.drain();
    assert.equal((await running).outcome, "success");
    assert.equal(supervisor.stats.pid, undefined);
    assert.equal((await supervisor.run(request())).outcome, "rejected");
  },
);

Deno.test("Supervisor.start() reports a load error naming the problem", OPTIONS, async () => {
  await assert.rejects(
    supervise(`throw new RangeError("bad config at load");`),
    (error: unknown) =>
      error instanceof SandboxLoadError && /RangeError: bad config at load/.test(error.message),
  );
});

/** The deno binary may sit under /root; copy it where the sandbox uid can execute it. */
async function denoForOtherUsers(): Promise<string> {
  const target = join(TEST_WORK_DIR, "bin", "deno");
  try {
    await Deno.stat(target);
    return target;
  } catch {
    await Deno.mkdir(join(TEST_WORK_DIR, "bin"), { recursive: true });
    const tmp = `${target}.${crypto.randomUUID()}`;
    await Deno.copyFile(Deno.execPath(), tmp);
    await Deno.chmod(tmp, 0o755);
    await Deno.rename(tmp, target);
    return target;
  }
}

Deno.test({
  name: "Supervisor runs children as a dedicated uid with RLIMIT_NPROC",
  ignore: Deno.uid() !== 0,
  ...OPTIONS,
  async fn() {
    const { supervisor } = await supervise(
      workflowSource(
        "uid",
        `const { Worker } = process.getBuiltinModule("node:worker_threads");
        let spawned = 0;
        try { for (let i = 0; i < 500; i++) { new Worker("setInterval(() => {}, 1000)", { eval: true }); spawned++; } }
        catch (error) { ctx.enrich("Stopped", [markdown(String(spawned))]); }`,
      ).replace("import {", 'import process from "node:process";\nimport {'),
      { uid: 65534, gid: 65534, maxThreads: 64, denoPath: await denoForOtherUsers() },
    );
    const status = await Deno.readTextFile(`/proc/${supervisor.stats.pid}/status`);
    assert.match(status, /^Uid:\s+65534\s/m);
    const result = await supervisor.run(request("bomb", 3_000));
    // RLIMIT_DATA (each isolate reserves address space) or RLIMIT_NPROC stops the bomb: the
    // spawn fails (caught) or the child dies.
    assert.ok(["success", "crash", "oom"].includes(result.outcome), result.error ?? "");
    if (result.outcome === "success") {
      assert.ok(Number((result.enrichments[0]!.blocks[0] as { text: string }).text) < 64);
    }
    await supervisor.close();
  },
});
