/**
 * Shared pieces of the sandbox benchmark: the workflow written into directories, the issue
 * it runs on, a private sandbox work dir, and the two ways of driving a `WorkflowEntry`
 * (sequential latency samples and a closed loop at a fixed concurrency).
 *
 * @example Time a few runs of an in-process entry
 * ```ts
 * import { benchIssue, timeRuns } from "./_sandbox_fixture.ts";
 * import workflow from "./_sandbox_workflow.ts";
 * import { createInProcessEntry } from "../engine/workflows/in_process.ts";
 * import { silentLogger } from "../engine/log.ts";
 * import assert from "node:assert/strict";
 *
 * const entry = createInProcessEntry(workflow, { log: silentLogger });
 * const samples = await timeRuns(entry, benchIssue(), 5);
 * assert.equal(samples.length, 5);
 * ```
 *
 * @module
 */
import { type Issue, IssueSchema } from "@cano/sdk";
import { join } from "node:path";
import type { SandboxConfigInput } from "../engine/sandbox/config.ts";
import { createSandboxContext } from "../engine/sandbox/loader.ts";
import type { RunRequest, WorkflowEntry } from "../engine/workflows/entry.ts";

/** Id of the workflow in `_sandbox_workflow.ts`. */
export const BENCH_WORKFLOW_ID = "bench-labels";
/** Deadline of every benchmark run. */
export const RUN_TIMEOUT_MS = 10_000;

const WORKFLOW_FILE = new URL("./_sandbox_workflow.ts", import.meta.url);

/**
 * The source of the benchmark workflow with another id (distinct content, distinct version).
 *
 * @param id The id to give it.
 * @returns The file's text.
 */
export async function workflowSource(id: string = BENCH_WORKFLOW_ID): Promise<string> {
  const text = await Deno.readTextFile(WORKFLOW_FILE);
  return text.replace(`id: "${BENCH_WORKFLOW_ID}"`, `id: ${JSON.stringify(id)}`);
}

/**
 * Writes one copy of the benchmark workflow per id into `dir` (`<id>.ts`).
 *
 * @param dir The workflow directory (created when missing).
 * @param ids One id per file.
 * @returns The directory.
 */
export async function writeWorkflows(dir: string, ids: readonly string[]): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  for (const id of ids) await Deno.writeTextFile(join(dir, `${id}.ts`), await workflowSource(id));
  return dir;
}

/**
 * A firing Alertmanager issue shaped like kube-prometheus-stack's (no `raw`).
 *
 * @returns A valid issue.
 */
export function benchIssue(): Issue {
  return IssueSchema.parse({
    id: crypto.randomUUID(),
    fingerprint: "3f2a9c1b7d4e8a60",
    aggregationKey: "KubePodCrashLooping",
    type: "alert",
    source: "prometheus",
    title: "Pod is crash looping",
    description:
      "Pod shop/api-7c9d8b6f5-x2kqp (api) is in waiting state (reason: CrashLoopBackOff).",
    severity: "MEDIUM",
    status: "firing",
    subject: { kind: "Pod", name: "api-7c9d8b6f5-x2kqp", namespace: "shop", container: "api" },
    labels: {
      alertname: "KubePodCrashLooping",
      container: "api",
      endpoint: "http",
      job: "kube-state-metrics",
      namespace: "shop",
      pod: "api-7c9d8b6f5-x2kqp",
      prometheus: "monitoring/kube-prometheus-stack-prometheus",
      severity: "warning",
    },
    annotations: {
      description: "Pod shop/api-7c9d8b6f5-x2kqp (api) is in waiting state.",
      runbook_url:
        "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping",
      summary: "Pod is crash looping.",
    },
    startsAt: "2026-03-01T10:12:04.512Z",
    createdAt: "2026-03-01T10:12:05.000Z",
    links: [{ title: "Runbook", url: "https://runbooks.example/crash" }],
  });
}

/** A private sandbox work dir whose SDK bundle is already built. */
export interface BenchWorkDir extends AsyncDisposable {
  /** The work dir. */
  path: string;
  /** Sandbox settings using it (type-check off unless overridden). */
  config(overrides?: SandboxConfigInput): SandboxConfigInput;
  /** Removes it. */
  remove(): Promise<void>;
}

/**
 * Creates a work dir and builds the SDK bundle in it, so no measurement pays that one-time
 * cost.
 *
 * @returns The work dir.
 */
export async function createBenchWorkDir(): Promise<BenchWorkDir> {
  const path = await Deno.makeTempDir({ prefix: "cano-bench-sandbox-" });
  const config = (overrides: SandboxConfigInput = {}): SandboxConfigInput => ({
    workDir: path,
    typeCheck: false,
    pollIntervalMs: 0,
    ...overrides,
  });
  await createSandboxContext({ config: config() });
  const remove = async () => {
    // The sandbox makes some folders read-only; make them writable again first.
    await new Deno.Command("chmod", { args: ["-R", "u+w", path] }).output().catch(() => undefined);
    await Deno.remove(path, { recursive: true }).catch(() => undefined);
  };
  return { path, config, remove, [Symbol.asyncDispose]: remove };
}

/**
 * Runs `entry` once and fails unless the run succeeded.
 *
 * @param entry The workflow.
 * @param issue The issue.
 * @returns Nothing.
 * @throws {Error} When the outcome is not `success`.
 */
export async function runOnce(
  entry: Pick<WorkflowEntry, "id" | "run">,
  issue: Issue,
): Promise<void> {
  const result = await entry.run(request(issue));
  if (result.outcome !== "success") {
    throw new Error(
      `Cannot benchmark workflow "${entry.id}": a run ended with ${result.outcome} (${result.error})`,
    );
  }
}

/**
 * Runs `entry` `n` times one after the other.
 *
 * @param entry The workflow.
 * @param issue The issue.
 * @param n Runs.
 * @returns The duration of each run (call → result), ms.
 */
export async function timeRuns(
  entry: Pick<WorkflowEntry, "id" | "run">,
  issue: Issue,
  n: number,
): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await runOnce(entry, issue);
    samples.push(performance.now() - started);
  }
  return samples;
}

/**
 * Keeps `concurrency` runs of `entry` in flight for `durationMs`.
 *
 * @param entry The workflow.
 * @param issue The issue.
 * @param concurrency Runs in flight.
 * @param durationMs How long.
 * @returns Successful runs per second.
 */
export async function runsPerSecond(
  entry: Pick<WorkflowEntry, "id" | "run">,
  issue: Issue,
  concurrency: number,
  durationMs: number,
): Promise<number> {
  const started = performance.now();
  const end = started + durationMs;
  let runs = 0;
  const loop = async () => {
    while (performance.now() < end) {
      await runOnce(entry, issue);
      runs++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return runs / ((performance.now() - started) / 1000);
}

function request(issue: Issue): RunRequest {
  return { issue, params: {}, timeoutMs: RUN_TIMEOUT_MS };
}
