/**
 * The hostile-workflow suite: workflows written to break the engine, run in the real sandbox.
 *
 * Every case asserts that
 * 1. the engine (this test process) stays up and a well-behaved workflow, run through the
 *    real pipeline on the same issue, still adds its enrichment;
 * 2. the issue is delivered with an error note naming the right outcome and reason (or,
 *    for attacks the sandbox simply refuses, that every attempt was refused);
 * 3. the relevant metric moved;
 * 4. nothing secret leaked: a canary secret sits in this process's environment and in files
 *    outside the workflow directory, and never appears in any result or log line.
 *
 * Fixtures live in `tests/fixtures/hostile/`: `run/` (attacks at run time), `load/`
 * (attacks at load time, checked by the sandbox alone, without `deno check`) and `check/`
 * (what `deno check` must catch without reading outside files).
 *
 * @module
 */
import { type Issue, IssueSchema } from "@cano/sdk";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { createCapabilityHost } from "../engine/capabilities/host.ts";
import { createLogger } from "../engine/log.ts";
import { createMetrics } from "../engine/metrics.ts";
import { createPipeline, type ProcessResult } from "../engine/pipeline.ts";
import { RoutingSchema } from "../engine/routing.ts";
import { createSandboxManager, loadWorkflowDirectory } from "../engine/sandbox/mod.ts";
import type { SandboxConfigInput } from "../engine/sandbox/config.ts";
import type { WorkflowEntry } from "../engine/workflows/entry.ts";

const FIXTURES = fileURLToPath(new URL("./fixtures/hostile/", import.meta.url));
const CANARY = `CANO-CANARY-${crypto.randomUUID()}`;
const CANARY_DIR = "/tmp/cano-hostile-canary";
const PWNED = "/tmp/cano-hostile-pwned";
const DEADLINE_MS = 1_500;
const SLOW_MS = 15_000;
const OPTIONS = { sanitizeOps: false, sanitizeResources: false } as const;

Deno.env.set("CANO_CANARY_SECRET", CANARY);
await Deno.mkdir(CANARY_DIR, { recursive: true });
await Deno.writeTextFile(`${CANARY_DIR}/secret.json`, JSON.stringify({ token: CANARY }));
await Deno.writeTextFile(
  `${CANARY_DIR}/secret.ts`,
  `export const secret = "${CANARY}" as const;\n`,
);
await Deno.writeTextFile(`${CANARY_DIR}/secret.txt`, `${CANARY}\n`);
await Deno.remove(PWNED, { recursive: true }).catch(() => undefined);

const logLines: string[] = [];
const log = createLogger({ level: "debug", write: (line) => logLines.push(line) });
const metrics = createMetrics();

// A canary server: records every request; the allowed host of ctx-http-forbidden redirects.
const hits: string[] = [];
const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
  const path = new URL(request.url).pathname;
  hits.push(path);
  if (path === "/redirect-to-metadata") {
    return Response.redirect("http://169.254.169.254/latest/meta-data/iam/", 302);
  }
  if (path === "/redirect-to-private") return Response.redirect("http://10.0.0.1/admin", 302);
  return new Response("ok");
});
const port = server.addr.port;

const capabilityHost = createCapabilityHost({
  policy: { http: { allowHosts: ["127.0.0.1"], allowPrivateNetworks: ["127.0.0.1/32"] } },
  logger: log,
  metrics,
  countMetrics: false,
});
const workDir = await Deno.makeTempDir({ prefix: "cano-hostile-" });
const config: SandboxConfigInput = {
  workDir,
  typeCheck: false,
  heapMb: 64,
  externalMemoryMb: 64,
  loadTimeoutMs: 3_000,
  quarantineAfter: 3,
  restartBackoffMs: 0,
  maxRestartBackoffMs: 0,
  pollIntervalMs: 0,
};
const manager = createSandboxManager({
  directory: `${FIXTURES}run`,
  config,
  capabilityHost,
  metrics,
  log,
  watch: false,
});
await manager.start();

function entry(id: string): WorkflowEntry {
  const found = manager.entries().find((e) => e.id === id);
  assert.ok(found, `workflow "${id}" is not loaded: ${JSON.stringify(manager.status())}`);
  return found;
}

function issueFor(name: string): Issue {
  return IssueSchema.parse({
    id: crypto.randomUUID(),
    fingerprint: `fp-${name}`,
    aggregationKey: name,
    type: "manual",
    source: "manual",
    title: name,
    severity: "HIGH",
    status: "firing",
    startsAt: new Date().toISOString(),
    createdAt: new Date().toISOString(),
  });
}

/** Runs a hostile workflow next to the good one through the real pipeline. */
async function attack(id: string, timeoutMs = DEADLINE_MS): Promise<ProcessResult> {
  const workflows = [entry("good"), entry(id)];
  const pipeline = createPipeline({
    state: () => ({
      workflows,
      settings: new Map([
        ["good", { params: {}, timeoutMs: 30_000 }],
        [id, { params: { port }, timeoutMs }],
      ]),
      defaultTimeoutMs: 10_000,
      routing: RoutingSchema.parse({ default: { destinations: ["test"] } }),
    }),
    metrics,
    log,
  });
  const result = await pipeline.process(issueFor(id));
  // The engine is up and the good workflow's enrichment is delivered on the same issue.
  const good = result.issue.enrichments.find((e) => e.workflow === "good");
  assert.equal(good?.title, "Good");
  assert.deepEqual(result.runs.find((r) => r.workflow === "good")?.outcome, "success");
  assert.deepEqual(result.route?.destinations, ["test"]);
  assertNoCanary(result);
  return result;
}

function run(result: ProcessResult, id: string) {
  const report = result.runs.find((r) => r.workflow === id);
  assert.ok(report, `no run of ${id}`);
  return report;
}

/** The error note the pipeline adds to the delivered issue. */
function note(result: ProcessResult, id: string): string {
  const enrichment = result.issue.enrichments.find((e) =>
    e.workflow === id && e.title === "Workflow error"
  );
  const block = enrichment?.blocks[0];
  assert.ok(block?.type === "markdown", `no error note for ${id}`);
  return block.text;
}

function enrichmentsOf(result: ProcessResult, id: string) {
  return result.issue.enrichments.filter((e) => e.workflow === id && e.title !== "Workflow error");
}

function jsonResults(result: ProcessResult, id: string): string[] {
  const block = enrichmentsOf(result, id)[0]?.blocks[0];
  assert.ok(block?.type === "json", `no json enrichment from ${id}`);
  return block.value as string[];
}

function assertNoCanary(value: unknown): void {
  assert.ok(!JSON.stringify(value).includes(CANARY), "the canary secret leaked");
}

async function counter(name: string, labels: Record<string, string>): Promise<number> {
  const metric = metrics.registry.getSingleMetric(name);
  assert.ok(metric, `no metric ${name}`);
  const { values } = await metric.get();
  return values
    .filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
    .reduce((sum, v) => sum + v.value, 0);
}

/** Waits for a counter to reach a value: restarts are counted once the child has exited. */
async function eventually(read: () => Promise<number>, atLeast = 1): Promise<number> {
  const until = Date.now() + 5_000;
  let value = await read();
  while (value < atLeast && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    value = await read();
  }
  return value;
}

async function runs(workflow: string, outcome: string): Promise<number> {
  return await counter("cano_workflow_runs_total", { workflow, outcome });
}

async function restarts(workflow: string, reason: string): Promise<number> {
  return await counter("cano_sandbox_restarts_total", { workflow, reason });
}

// Start every run-time attack at once, so the suite's wall time is the slowest case, not
// the sum; each test below awaits its own.
const ATTACKS = [
  "spin-sync",
  "never-resolves",
  "microtask-starvation",
  "atomics-wait",
  "heap-bomb",
  "arraybuffer-bomb",
  "thread-bomb-workers",
  "thread-bomb-node",
  "huge-enrichment",
  "forged-huge-line",
  "fake-frames",
  "partial-line",
  "direct-network",
  "ctx-http-forbidden",
  "read-files",
  "env-vars",
  "computed-import-outside",
  "computed-import-remote",
  "node-builtins",
  "deno-exit",
  "spawn",
  "ffi",
  "write-files",
  "proto-pollution",
  "throw-non-error",
  "flood-logs",
  "flood-capability-calls",
  "flood-enrich",
  "eval-code",
  "stray-rejections",
  "escalation",
  "protocol-stdin",
] as const;
// Attacks on the deadline get a short one; the others a generous one, so that CPU contention
// from the thread bombs running at the same time cannot turn them into timeouts.
const SHORT = new Set(["spin-sync", "never-resolves", "microtask-starvation", "atomics-wait"]);
const attacks = new Map(
  ATTACKS.map((
    id,
  ) => [
    id,
    attack(id, SHORT.has(id) ? DEADLINE_MS : id.startsWith("thread-bomb") ? 3_000 : SLOW_MS),
  ]),
);
const attacked = (id: typeof ATTACKS[number]) => attacks.get(id)!;
const refused = (line: string) => !/: allowed/.test(line);

Deno.test("hostile: while(true) in run is killed at the deadline", OPTIONS, async () => {
  const result = await attacked("spin-sync");
  assert.equal(run(result, "spin-sync").outcome, "timeout");
  assert.match(note(result, "spin-sync"), /ran past its 1500 ms deadline/);
  assert.equal(enrichmentsOf(result, "spin-sync")[0]?.title, "Before");
  assert.ok(await runs("spin-sync", "timeout") >= 1);
  assert.ok(await eventually(() => restarts("spin-sync", "timeout")) >= 1);
});

Deno.test("hostile: a promise that never resolves times out", OPTIONS, async () => {
  const result = await attacked("never-resolves");
  assert.equal(run(result, "never-resolves").outcome, "timeout");
  assert.ok(await runs("never-resolves", "timeout") >= 1);
});

Deno.test("hostile: microtask starvation is killed at the deadline", OPTIONS, async () => {
  const result = await attacked("microtask-starvation");
  assert.equal(run(result, "microtask-starvation").outcome, "timeout");
  assert.ok(await eventually(() => restarts("microtask-starvation", "timeout")) >= 1);
});

Deno.test("hostile: Atomics.wait blocking is killed at the deadline", OPTIONS, async () => {
  const result = await attacked("atomics-wait");
  assert.equal(run(result, "atomics-wait").outcome, "timeout");
  assert.ok(await runs("atomics-wait", "timeout") >= 1);
});

Deno.test("hostile: a V8 heap bomb ends as oom", OPTIONS, async () => {
  const result = await attacked("heap-bomb");
  assert.equal(run(result, "heap-bomb").outcome, "oom", note(result, "heap-bomb"));
  assert.match(note(result, "heap-bomb"), /ran out of memory/);
  assert.ok(await eventually(() => restarts("heap-bomb", "oom")) >= 1);
});

Deno.test(
  "hostile: an ArrayBuffer bomb beyond the heap stops at RLIMIT_DATA",
  OPTIONS,
  async () => {
    const result = await attacked("arraybuffer-bomb");
    const { outcome } = run(result, "arraybuffer-bomb");
    assert.ok(outcome === "error" || outcome === "oom", outcome);
    assert.match(note(result, "arraybuffer-bomb"), /allocation failed|out of memory/i);
    assert.equal(enrichmentsOf(result, "arraybuffer-bomb").length, 0, "2 GB were allocated");
    assert.ok(await runs("arraybuffer-bomb", outcome) >= 1);
  },
);

Deno.test("hostile: a thread bomb of nested workers is contained", OPTIONS, async () => {
  const result = await attacked("thread-bomb-workers");
  const { outcome } = run(result, "thread-bomb-workers");
  assert.ok(["timeout", "crash", "oom"].includes(outcome), outcome);
  assert.ok(await runs("thread-bomb-workers", outcome) >= 1);
});

Deno.test(
  "hostile: a node:worker_threads bomb via getBuiltinModule is contained",
  OPTIONS,
  async () => {
    const result = await attacked("thread-bomb-node");
    const { outcome } = run(result, "thread-bomb-node");
    assert.ok(["timeout", "crash", "oom"].includes(outcome), outcome);
    assert.ok(await runs("thread-bomb-node", outcome) >= 1);
  },
);

Deno.test("hostile: a 100 MB enrichment is refused", OPTIONS, async () => {
  const result = await attacked("huge-enrichment");
  assert.equal(run(result, "huge-enrichment").outcome, "error");
  assert.match(note(result, "huge-enrichment"), /Cannot enrich: a string is 104857600 characters/);
  assert.equal(enrichmentsOf(result, "huge-enrichment").length, 0);
  assert.ok(await runs("huge-enrichment", "error") >= 1);
});

Deno.test("hostile: a 100 MB line on stdout is cut at the byte cap", OPTIONS, async () => {
  const result = await attacked("forged-huge-line");
  assert.equal(run(result, "forged-huge-line").outcome, "crash");
  assert.match(note(result, "forged-huge-line"), /broke the protocol \(a line longer than 1048576/);
  assert.ok(await eventually(() => restarts("forged-huge-line", "violation")) >= 1);
});

Deno.test("hostile: forged protocol frames are rejected", OPTIONS, async () => {
  const result = await attacked("fake-frames");
  assert.equal(run(result, "fake-frames").outcome, "crash");
  assert.match(note(result, "fake-frames"), /without the session nonce/);
  assert.ok(!enrichmentsOf(result, "fake-frames").some((e) => e.title === "Forged"));
  assert.ok(await eventually(() => restarts("fake-frames", "violation")) >= 1);
});

Deno.test("hostile: a partial line on stdout corrupts no frame", OPTIONS, async () => {
  const result = await attacked("partial-line");
  assert.equal(run(result, "partial-line").outcome, "crash");
  assert.match(note(result, "partial-line"), /broke the protocol/);
  assert.ok(await eventually(() => restarts("partial-line", "violation")) >= 1);
});

Deno.test("hostile: direct fetch, connect, DNS and WebSocket are denied", OPTIONS, async () => {
  const result = await attacked("direct-network");
  assert.equal(run(result, "direct-network").outcome, "success");
  const lines = jsonResults(result, "direct-network");
  assert.equal(lines.length, 5);
  assert.ok(lines.every(refused), lines.join("\n"));
  assert.ok(!hits.includes("/direct"), "the child reached the network");
  assert.ok(await runs("direct-network", "success") >= 1);
});

Deno.test(
  "hostile: ctx.http refuses metadata, private and unlisted hosts and forbidden redirects",
  OPTIONS,
  async () => {
    const result = await attacked("ctx-http-forbidden");
    assert.equal(
      run(result, "ctx-http-forbidden").outcome,
      "success",
      run(result, "ctx-http-forbidden").error ?? "",
    );
    const lines = jsonResults(result, "ctx-http-forbidden");
    assert.equal(lines.length, 5);
    assert.ok(lines.every((l) => l.includes(": refused: Cannot")), lines.join("\n"));
    // Only the allowed host was reached; the redirect targets were refused before connecting.
    assert.deepEqual(hits.filter((h) => h.startsWith("/redirect")).sort(), [
      "/redirect-to-metadata",
      "/redirect-to-private",
    ]);
    assert.ok(
      await counter("cano_sandbox_capability_calls_total", {
        workflow: "ctx-http-forbidden",
        outcome: "not_permitted",
      }) >= 5,
    );
  },
);

Deno.test(
  "hostile: reading /etc/passwd, the SA token, /proc and secrets is denied",
  OPTIONS,
  async () => {
    const result = await attacked("read-files");
    const lines = jsonResults(result, "read-files");
    assert.equal(lines.length, 7);
    assert.ok(lines.every(refused), lines.join("\n"));
    assert.ok(await runs("read-files", "success") >= 1);
  },
);

Deno.test("hostile: environment variables are denied and empty", OPTIONS, async () => {
  const result = await attacked("env-vars");
  const lines = jsonResults(result, "env-vars");
  for (const name of ["toObject", "get", "process.env", "process.env.key"]) {
    const line = lines.find((l) => l.startsWith(`${name}:`));
    assert.ok(line && (refused(line) || !line.includes("CANO")), line ?? "");
  }
  assert.ok(lines.includes("permission: allowed denied"), lines.join("\n"));
  assert.ok(await runs("env-vars", "success") >= 1);
});

Deno.test(
  "hostile: computed imports outside the directory are denied (JSON, TS, token)",
  OPTIONS,
  async () => {
    const result = await attacked("computed-import-outside");
    const lines = jsonResults(result, "computed-import-outside");
    assert.equal(lines.length, 4);
    assert.ok(lines.every(refused), lines.join("\n"));
  },
);

Deno.test(
  "hostile: computed npm:, jsr: and remote imports are denied without a request",
  OPTIONS,
  async () => {
    const result = await attacked("computed-import-remote");
    const lines = jsonResults(result, "computed-import-remote");
    assert.ok(lines.every(refused), lines.join("\n"));
    assert.ok(!hits.some((h) => h.includes("secret-in-url")), "a remote import was attempted");
  },
);

Deno.test("hostile: node:fs and node:child_process are denied", OPTIONS, async () => {
  const result = await attacked("node-builtins");
  const lines = jsonResults(result, "node-builtins");
  assert.equal(lines.length, 4);
  assert.ok(lines.every(refused), lines.join("\n"));
  await assert.rejects(Deno.stat(PWNED), Deno.errors.NotFound);
});

Deno.test("hostile: Deno.exit() in run fails only that run", OPTIONS, async () => {
  const result = await attacked("deno-exit");
  assert.equal(run(result, "deno-exit").outcome, "crash");
  assert.match(note(result, "deno-exit"), /exited with code 0/);
  assert.equal(enrichmentsOf(result, "deno-exit")[0]?.title, "Before");
  assert.ok(await eventually(() => restarts("deno-exit", "crash")) >= 1);
});

Deno.test("hostile: spawning a process is denied", OPTIONS, async () => {
  const result = await attacked("spawn");
  assert.equal(run(result, "spawn").outcome, "error");
  assert.match(note(result, "spawn"), /NotCapable: Requires run access/);
  assert.ok(await runs("spawn", "error") >= 1);
});

Deno.test("hostile: FFI is denied", OPTIONS, async () => {
  const result = await attacked("ffi");
  assert.equal(run(result, "ffi").outcome, "error");
  assert.match(note(result, "ffi"), /Requires ffi access/);
  assert.ok(await runs("ffi", "error") >= 1);
});

Deno.test(
  "hostile: writing files is denied and caches stay in the private cache dir",
  OPTIONS,
  async () => {
    const result = await attacked("write-files");
    const lines = jsonResults(result, "write-files");
    for (const name of ["write", "write-own-dir", "mkdir"]) {
      const line = lines.find((l) => l.startsWith(`${name}:`));
      assert.ok(line && refused(line), line ?? "");
    }
    await assert.rejects(Deno.stat(PWNED), Deno.errors.NotFound);
    await assert.rejects(Deno.stat(`${PWNED}-dir`), Deno.errors.NotFound);
  },
);

Deno.test("hostile: __proto__ and constructor keys in output are refused", OPTIONS, async () => {
  const result = await attacked("proto-pollution");
  assert.equal(run(result, "proto-pollution").outcome, "error");
  assert.match(note(result, "proto-pollution"), /the key "__proto__" is not allowed/);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.ok(!("polluted" in Object.prototype));
  assert.ok(await runs("proto-pollution", "error") >= 1);
});

Deno.test("hostile: throwing a non-Error value is reported", OPTIONS, async () => {
  const result = await attacked("throw-non-error");
  assert.equal(run(result, "throw-non-error").outcome, "error");
  assert.match(note(result, "throw-non-error"), /non-Error value: object/);
  assert.ok(await runs("throw-non-error", "error") >= 1);
});

Deno.test("hostile: a log flood is capped per run", OPTIONS, async () => {
  const result = await attacked("flood-logs");
  assert.equal(run(result, "flood-logs").outcome, "success");
  const lines = logLines.filter((l) =>
    l.includes('"workflow":"flood-logs"') && l.includes("Workflow log")
  );
  assert.ok(lines.length > 0 && lines.length <= 1_000, `${lines.length} log lines`);
  assert.ok(await runs("flood-logs", "success") >= 1);
});

Deno.test("hostile: a capability call flood is cut by the per-run budget", OPTIONS, async () => {
  const result = await attacked("flood-capability-calls");
  assert.equal(run(result, "flood-capability-calls").outcome, "success");
  const counts = enrichmentsOf(result, "flood-capability-calls")[0]?.blocks[0];
  assert.ok(counts?.type === "json");
  const served = await counter("cano_sandbox_capability_calls_total", {
    workflow: "flood-capability-calls",
  });
  assert.equal(served, 50);
  assert.match(JSON.stringify(counts.value), /used its N capability calls":9950/);
});

Deno.test("hostile: an enrich flood is capped at the block limit", OPTIONS, async () => {
  const result = await attacked("flood-enrich");
  assert.equal(run(result, "flood-enrich").outcome, "success");
  assert.equal(enrichmentsOf(result, "flood-enrich").length, 50);
});

Deno.test("hostile: eval and new Function throw EvalError", OPTIONS, async () => {
  const result = await attacked("eval-code");
  assert.deepEqual(jsonResults(result, "eval-code"), ["eval: EvalError", "function: EvalError"]);
});

Deno.test(
  "hostile: stray rejections and uncaught timer errors do not kill the child",
  OPTIONS,
  async () => {
    const result = await attacked("stray-rejections");
    assert.equal(run(result, "stray-rejections").outcome, "success");
    assert.equal(await restarts("stray-rejections", "crash"), 0);
    const again = await attack("stray-rejections");
    assert.equal(run(again, "stray-rejections").outcome, "success");
  },
);

Deno.test("hostile: permission requests and worker escalation are denied", OPTIONS, async () => {
  const result = await attacked("escalation");
  assert.deepEqual(jsonResults(result, "escalation"), [
    "request-read: allowed denied",
    "request-net: allowed denied",
  ]);
  assert.equal(run(result, "escalation").outcome, "crash");
  assert.match(note(result, "escalation"), /Unstable API 'Worker\.deno\.permissions'/);
  assert.ok(!enrichmentsOf(result, "escalation").some((e) => e.title === "Escalated"));
});

Deno.test("hostile: stdin, argv and cwd reveal nothing", OPTIONS, async () => {
  const result = await attacked("protocol-stdin");
  const lines = jsonResults(result, "protocol-stdin");
  assert.ok(lines.includes("args: allowed []"), lines.join("\n"));
  assert.ok(!lines.join("\n").includes('"n"'), "a nonce-bearing frame was visible");
});

Deno.test("hostile: a workflow failing every run is quarantined", OPTIONS, async () => {
  for (let i = 0; i < 3; i++) {
    const result = await attack("always-fails");
    assert.equal(run(result, "always-fails").outcome, "error");
  }
  const result = await attack("always-fails");
  assert.equal(run(result, "always-fails").outcome, "quarantined");
  assert.match(note(result, "always-fails"), /quarantined after 3 consecutive failed runs/);
  const status = manager.status().find((s) => s.id === "always-fails");
  assert.equal(status?.quarantined, true);
  assert.ok(await runs("always-fails", "quarantined") >= 1);
});

// Load-time attacks: the sandbox alone (no deno check) must refuse them, naming the file.
const loadDir = `${FIXTURES}load`;
// A generous load timeout: the heap bomb must end as out-of-memory even while the run-time
// attacks above keep both CPUs busy.
const loaded = loadWorkflowDirectory(loadDir, {
  config: { ...config, loadTimeoutMs: 8_000 },
  capabilityHost,
  metrics,
  log,
});
async function loadError(file: string): Promise<string> {
  const { errors } = await loaded;
  const found = errors.find((e) => e.file === `${loadDir}/${file}`);
  assert.ok(found, `no error for ${file}: ${JSON.stringify(errors)}`);
  assertNoCanary(found);
  assert.ok(found.message.startsWith(`Cannot load workflow from ${loadDir}/${file}: `));
  // The engine still runs the good workflow.
  const result = await attack("spawn");
  assert.ok(result.issue.enrichments.some((e) => e.workflow === "good"));
  return found.message;
}

Deno.test("hostile load: a top-level spin times out and is killed", OPTIONS, async () => {
  assert.match(await loadError("top_level_spin.ts"), /did not finish within 8000 ms/);
});

Deno.test("hostile load: a top-level heap bomb fails the load", OPTIONS, async () => {
  assert.match(await loadError("top_level_heap_bomb.ts"), /ran out of memory while loading/);
});

Deno.test(
  "hostile load: a static JSON import outside the directory is denied",
  OPTIONS,
  async () => {
    assert.match(
      await loadError("import_outside_json.ts"),
      /Requires read access to .*secret\.json/,
    );
  },
);

Deno.test("hostile load: a static TS import outside the directory is denied", OPTIONS, async () => {
  assert.match(await loadError("import_outside_ts.ts"), /Requires read access to .*secret\.ts/);
});

Deno.test("hostile load: importing the service-account token is denied", OPTIONS, async () => {
  assert.match(await loadError("import_sa_token.ts"), /Requires read access/);
});

Deno.test("hostile load: npm: imports are refused", OPTIONS, async () => {
  assert.match(await loadError("import_npm.ts"), /--no-npm/);
});

Deno.test("hostile load: remote imports are refused", OPTIONS, async () => {
  assert.match(await loadError("import_remote.ts"), /--no-remote/);
});

Deno.test("hostile load: a syntax error names the file and line", OPTIONS, async () => {
  assert.match(await loadError("syntax_error.ts"), /syntax_error\.ts:3:\d+/);
});

Deno.test("hostile load: a default export of the wrong shape is refused", OPTIONS, async () => {
  assert.match(
    await loadError("wrong_shape.ts"),
    /default export must be the result of defineWorkflow/,
  );
  assert.match(await loadError("no_default.ts"), /got no default export/);
});

Deno.test(
  "hostile load: metadata faked without defineWorkflow is re-validated by the host",
  OPTIONS,
  async () => {
    assert.match(await loadError("forged_manifest.ts"), /invalid triggers/);
  },
);

Deno.test("hostile load: an unknown trigger is refused with its location", OPTIONS, async () => {
  assert.match(await loadError("bad_trigger.ts"), /triggers\.0\.on: .*bad_trigger\.ts:\d+:\d+/s);
});

Deno.test("hostile load: two files with the same id load once", OPTIONS, async () => {
  assert.match(await loadError("dup_b.ts"), /id "duplicate-id" is already used by .*dup_a\.ts/);
  const { workflows } = await loaded;
  assert.deepEqual(workflows.map((w) => w.id), ["duplicate-id"]);
});

Deno.test("hostile load: Deno.exit() at load fails only that file", OPTIONS, async () => {
  assert.match(await loadError("exit_at_load.ts"), /exited with code 7 before loading/);
});

// deno check must report type and syntax errors with file and line, without reading files
// outside the directory and without downloading anything.
const checkDir = `${FIXTURES}check`;
const checked = loadWorkflowDirectory(checkDir, {
  config: { ...config, typeCheck: true },
  capabilityHost,
  log,
});

Deno.test(
  "hostile check: a type error names the file and line; neighbours load",
  OPTIONS,
  async () => {
    const { errors, workflows } = await checked;
    const error = errors.find((e) => e.file.endsWith("/type_error.ts"));
    assert.match(
      error?.message ?? "",
      /type_error\.ts:9:\d+: Argument of type 'number' is not assignable/,
    );
    assert.deepEqual(workflows.map((w) => w.id), ["fine"]);
  },
);

Deno.test("hostile check: a syntax error names the file and line", OPTIONS, async () => {
  const { errors } = await checked;
  const error = errors.find((e) => e.file.endsWith("/syntax_error.ts"));
  assert.match(error?.message ?? "", /syntax_error\.ts:4:\d+: SyntaxError/);
});

Deno.test(
  "hostile check: diagnostics never quote a file outside the directory",
  OPTIONS,
  async () => {
    const { errors } = await checked;
    const error = errors.find((e) => e.file.endsWith("/type_leak.ts"));
    assert.match(
      error?.message ?? "",
      /Cannot find module '\/tmp\/cano-hostile-canary\/secret\.ts'/,
    );
    assertNoCanary(errors);
  },
);

Deno.test("hostile check: an npm import is not downloaded", OPTIONS, async () => {
  const { errors } = await checked;
  const error = errors.find((e) => e.file.endsWith("/npm_import.ts"));
  assert.match(error?.message ?? "", /npm_import\.ts:5:\d+/);
});

Deno.test(
  "hostile: nothing secret reached any log line; the engine is intact",
  OPTIONS,
  async () => {
    await Promise.all(attacks.values());
    await loaded;
    await checked;
    assertNoCanary(logLines);
    assert.ok(!("polluted" in Object.prototype));
    const result = await attack("spawn");
    assert.ok(result.issue.enrichments.some((e) => e.workflow === "good"));
    await manager.close();
    await server.shutdown();
    await Deno.remove(workDir, { recursive: true });
    await Deno.remove(CANARY_DIR, { recursive: true });
  },
);
