/**
 * What running a workflow in the sandbox costs, each figure against a baseline measured in
 * the same run:
 *
 * 1. **Warm overhead**: p50/p99 of `entry.run` (call → result) for the same workflow
 *    (`_sandbox_workflow.ts`) sandboxed and in-process, sequential runs after a warm-up.
 *    Target: at most 1 ms added at p50.
 * 2. **Cold start**: a new workflow file → its first run done, through `manager.start()`,
 *    `manager.reload()` and the directory watcher (`_sandbox_cold.ts`), against spawning
 *    `deno run --no-config` on an empty script. The SDK bundle is built before, and
 *    `deno check` is shown apart. Target: at most 150 ms.
 * 3. **Idle memory**: RSS and PSS (`/proc`) of each of {@linkcode MEMORY_WORKFLOWS} loaded
 *    children after one run, against as many bare idle `deno` children. Target: at most
 *    35 MB per workflow.
 * 4. **Throughput**: runs/s of `entry.run` kept at the sandbox's concurrency, sandboxed vs
 *    in-process; and delivered alerts/s of `serveCommand` under the throughput benchmark's
 *    load (`_load.ts`, `_sandbox_e2e.ts`) with a user workflow directory vs no workflows,
 *    and with `default-alert-enricher` sandboxed vs in-process.
 *
 * @module
 */
import type { Benchmark, BenchmarkReport } from "./benchmark.ts";
import { fixed, percentile } from "./_stats.ts";
import { measureColdStarts } from "./_sandbox_cold.ts";
import { type E2eTargetName, runEndToEnd } from "./_sandbox_e2e.ts";
import {
  BENCH_WORKFLOW_ID,
  benchIssue,
  type BenchWorkDir,
  createBenchWorkDir,
  runOnce,
  runsPerSecond,
  timeRuns,
  writeWorkflows,
} from "./_sandbox_fixture.ts";
import { type ProcessMemory, readMemory, startIdleChild, timeBareSpawns } from "./_sandbox_proc.ts";
import workflow from "./_sandbox_workflow.ts";
import { silentLogger } from "../engine/log.ts";
import { parseSandboxConfig } from "../engine/sandbox/config.ts";
import { loadWorkflowDirectory } from "../engine/sandbox/loader.ts";
import { createSandboxManager } from "../engine/sandbox/manager.ts";
import { createInProcessEntry } from "../engine/workflows/in_process.ts";

/** Sequential runs per path for the warm overhead, after {@linkcode WARM_UP_RUNS}. */
export const WARM_RUNS = 2_000;
/** Unmeasured runs first. */
export const WARM_UP_RUNS = 300;
/** Samples of each cold start (the type-checked one gets half). */
export const COLD_REPS = 5;
/** Workflows loaded at once for the idle memory. */
export const MEMORY_WORKFLOWS = 5;
/** Idle time before memory is read. */
export const IDLE_SETTLE_MS = 1_000;
/** Longest measured window of each throughput target; `--duration` may shorten it. */
export const THROUGHPUT_WINDOW_MS = 3_000;
/** Concurrent clients of the end-to-end load unless `--clients` says otherwise. */
export const DEFAULT_CLIENTS = 8;
/** Targets: added p50 of a warm run, cold start, idle memory per workflow. */
export const TARGETS = { warmAddedMs: 1, coldStartMs: 150, idleMb: 35 } as const;

type Row = [measure: string, sandboxed: string, baseline: string, added: string, target: string];

const verdict = (ok: boolean) => (ok ? "met" : "NOT met");
const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function measureWarm(
  work: BenchWorkDir,
  window: number,
  progress: (line: string) => void,
): Promise<{ rows: Row[]; notes: string[] }> {
  const directory = await writeWorkflows(`${work.path}/warm`, [BENCH_WORKFLOW_ID]);
  const manager = createSandboxManager({ directory, config: work.config(), watch: false });
  try {
    await manager.start();
    const sandboxed = manager.entries()[0];
    if (!sandboxed) throw new Error("Cannot benchmark the sandbox: the workflow did not load");
    const inProcess = createInProcessEntry(workflow, { log: silentLogger });
    const issue = benchIssue();
    progress(`warm overhead: ${WARM_UP_RUNS} + ${WARM_RUNS} sequential runs per path`);
    await timeRuns(sandboxed, issue, WARM_UP_RUNS);
    await timeRuns(inProcess, issue, WARM_UP_RUNS);
    // Interleave blocks so drift in machine load hits both paths alike.
    const s: number[] = [];
    const p: number[] = [];
    for (let block = 0; block < 4; block++) {
      s.push(...await timeRuns(sandboxed, issue, WARM_RUNS / 4));
      p.push(...await timeRuns(inProcess, issue, WARM_RUNS / 4));
    }
    const concurrency = parseSandboxConfig(work.config()).concurrency;
    progress(`runs/s: ${concurrency} in flight, 2 × ${window} ms`);
    await runsPerSecond(sandboxed, issue, concurrency, 300);
    const sRate = await runsPerSecond(sandboxed, issue, concurrency, window);
    await runsPerSecond(inProcess, issue, concurrency, 300);
    const pRate = await runsPerSecond(inProcess, issue, concurrency, window);
    const added50 = percentile(s, 50) - percentile(p, 50);
    return {
      rows: [
        [
          "warm run p50, ms",
          fixed(percentile(s, 50), 3),
          fixed(percentile(p, 50), 3),
          fixed(added50, 3),
          `<= ${TARGETS.warmAddedMs} added: ${verdict(added50 <= TARGETS.warmAddedMs)}`,
        ],
        [
          "warm run p99, ms",
          fixed(percentile(s, 99), 3),
          fixed(percentile(p, 99), 3),
          fixed(percentile(s, 99) - percentile(p, 99), 3),
          "",
        ],
        [
          `entry.run, ${concurrency} in flight, runs/s`,
          fixed(sRate, 0),
          fixed(pRate, 0),
          `${fixed(sRate / pRate, 3)}x`,
          "",
        ],
      ],
      notes: [`warm runs: ${WARM_RUNS} per path; baseline = the same workflow in-process`],
    };
  } finally {
    await manager.close();
  }
}

async function measureCold(
  work: BenchWorkDir,
  progress: (line: string) => void,
): Promise<{ rows: Row[]; notes: string[] }> {
  progress(`cold start: ${COLD_REPS} bare spawns, then start/reload/watch/check samples`);
  await timeBareSpawns(1);
  const bare = percentile(await timeBareSpawns(COLD_REPS), 50);
  const cold = await measureColdStarts(work, COLD_REPS);
  const row = (measure: string, samples: number[], target = ""): Row => [
    measure,
    fixed(percentile(samples, 50), 1),
    fixed(bare, 1),
    fixed(percentile(samples, 50) - bare, 1),
    target,
  ];
  const p50 = percentile(cold.start, 50);
  const list = (samples: number[]) => samples.map((v) => fixed(v, 0)).join(", ");
  return {
    rows: [
      row(
        "cold: start() → 1st run, ms",
        cold.start,
        `<= ${TARGETS.coldStartMs}: ${verdict(p50 <= TARGETS.coldStartMs)}`,
      ),
      row("cold: same version again, ms", cold.startAgain),
      row("cold: reload() → 1st run, ms", cold.reload),
      row("cold: file watched → 1st run, ms", cold.watched),
      row("cold: start() + deno check, ms", cold.startChecked),
    ],
    notes: [
      `cold start baseline = deno run --no-config of an empty script, spawn → exit, p50 of ${COLD_REPS}`,
      `cold samples (ms): start ${list(cold.start)}; again ${list(cold.startAgain)}; reload ${
        list(cold.reload)
      }; watched ${list(cold.watched)} (includes the watcher's 200 ms debounce); with deno check ${
        list(cold.startChecked)
      }`,
    ],
  };
}

/** Loads every workflow of `directory`, runs each once, lets them idle, reads their memory. */
async function idleMemory(work: BenchWorkDir, directory: string): Promise<ProcessMemory[]> {
  const load = await loadWorkflowDirectory(directory, {
    config: work.config(),
    keepRunning: true,
  });
  try {
    if (load.loaded.length !== MEMORY_WORKFLOWS) {
      throw new Error(
        `Cannot benchmark idle memory: ${load.loaded.length} of ${MEMORY_WORKFLOWS} loaded (${
          load.errors.map((e) => e.message).join("; ")
        })`,
      );
    }
    for (const { id, supervisor } of load.loaded) {
      await runOnce({ id, run: (request) => supervisor.run(request) }, benchIssue());
    }
    await sleep(IDLE_SETTLE_MS);
    return await Promise.all(load.loaded.map((v) => readMemory(v.supervisor.stats.pid!)));
  } finally {
    await Promise.all(load.loaded.map((v) => v.supervisor.close()));
  }
}

async function measureMemory(
  work: BenchWorkDir,
  progress: (line: string) => void,
): Promise<{ rows: Row[]; notes: string[] }> {
  progress(`idle memory: ${MEMORY_WORKFLOWS} workflows vs ${MEMORY_WORKFLOWS} bare children`);
  const ids = Array.from({ length: MEMORY_WORKFLOWS }, (_, i) => `bench-memory-${i}`);
  const directory = await writeWorkflows(`${work.path}/memory`, ids);
  const bare = await Promise.all(ids.map(() => startIdleChild()));
  try {
    // Bare children stay up meanwhile, so PSS splits the deno binary's pages alike.
    const fresh = await idleMemory(work, directory);
    const again = await idleMemory(work, directory);
    await sleep(IDLE_SETTLE_MS);
    const baseline = await Promise.all(bare.map((b) => readMemory(b.pid)));
    const rssBare = mean(baseline.map((m) => m.rssMb));
    const pssBare = mean(baseline.map((m) => m.pssMb));
    const row = (measure: string, value: number, base: number, target = ""): Row => [
      measure,
      fixed(value, 1),
      fixed(base, 1),
      fixed(value - base, 1),
      target,
    ];
    const rss = mean(fresh.map((m) => m.rssMb));
    return {
      rows: [
        row(
          "idle RSS per workflow, MB",
          rss,
          rssBare,
          `<= ${TARGETS.idleMb}: ${verdict(rss <= TARGETS.idleMb)}`,
        ),
        row("idle PSS per workflow, MB", mean(fresh.map((m) => m.pssMb)), pssBare),
        row("idle RSS, same versions again, MB", mean(again.map((m) => m.rssMb)), rssBare),
      ],
      notes: [
        `idle memory: mean over ${MEMORY_WORKFLOWS} children (${
          [...new Set(fresh.map((m) => m.command))].join(",")
        }), ${IDLE_SETTLE_MS} ms after one run each; baseline = as many bare deno run children ` +
        `waiting on stdin; "again" = the same versions reloaded, their Deno caches warm`,
      ],
    };
  } finally {
    await Promise.all(bare.map((b) => b.close()));
  }
}

async function measureEndToEnd(
  work: BenchWorkDir,
  window: number,
  clients: number,
  progress: (line: string) => void,
): Promise<{ rows: Row[]; notes: string[] }> {
  const directory = await writeWorkflows(`${work.path}/e2e`, [BENCH_WORKFLOW_ID]);
  const rates = await runEndToEnd({ workDir: work.path, directory, window, clients, progress });
  const row = (measure: string, s: E2eTargetName, b: E2eTargetName): Row => [
    measure,
    fixed(rates[s]!.rate, 0),
    fixed(rates[b]!.rate, 0),
    `${fixed(rates[s]!.rate / rates[b]!.rate, 2)}x`,
    "",
  ];
  return {
    rows: [
      row("e2e alerts/s: user dir vs none", "userDir", "none"),
      row("e2e alerts/s: enricher sandbox vs in-proc", "enricherSandbox", "enricherInProcess"),
    ],
    notes: [
      `end to end: serveCommand, silencer off, ${clients} clients × 10 alerts, p50 post → sink ms: ${
        Object.entries(rates).map(([name, r]) => `${name} ${fixed(r.p50, 1)}`).join(", ")
      }`,
    ],
  };
}

/** The sandbox benchmark. */
const sandbox: Benchmark = {
  name: "sandbox",
  description:
    "Sandboxed vs in-process workflow: warm overhead, cold start, idle memory, throughput",
  async run({ durationMs, clients = DEFAULT_CLIENTS, progress }): Promise<BenchmarkReport> {
    const window = Math.min(durationMs, THROUGHPUT_WINDOW_MS);
    await using work = await createBenchWorkDir();
    const parts = [
      await measureWarm(work, window, progress),
      await measureCold(work, progress),
      await measureMemory(work, progress),
      await measureEndToEnd(work, window, clients, progress),
    ];
    return {
      headers: ["measure", "sandboxed", "baseline", "added", "target"],
      rows: parts.flatMap((p) => p.rows),
      notes: parts.flatMap((p) => p.notes),
    };
  },
};

export default sandbox;
