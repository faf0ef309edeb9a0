/**
 * Cold-start measurements of the sandbox benchmark: how long a newly written workflow
 * takes to serve its first run, through each way the engine loads one.
 *
 * Every sample uses a workflow id (so file content, version hash, snapshot and private Deno
 * cache) never seen before, in a work dir whose SDK bundle is already built: the figures
 * include the copy, the optional `deno check`, the child's start (including transpiling the
 * runner into its fresh cache), the metadata check and the first run, and nothing else.
 *
 * @module
 */
import { join } from "node:path";
import { createSandboxManager, type SandboxManager } from "../engine/sandbox/manager.ts";
import type { WorkflowEntry } from "../engine/workflows/entry.ts";
import { benchIssue, type BenchWorkDir, runOnce, writeWorkflows } from "./_sandbox_fixture.ts";

/** Cold-start samples, ms. */
export interface ColdStartSamples {
  /** `manager.start()` on a directory of one new file → first run done, type-check off. */
  start: number[];
  /** The same versions started again: their private Deno caches are warm. */
  startAgain: number[];
  /** The same, with `deno check` on. */
  startChecked: number[];
  /** New file written, `manager.reload()` → its first run done, type-check off. */
  reload: number[];
  /** New file written into a watched directory → its first run done (watcher debounce in). */
  watched: number[];
}

let counter = 0;
function freshId(): string {
  return `bench-cold-${Date.now().toString(36)}-${counter++}`;
}

function entryOf(manager: SandboxManager, id: string): WorkflowEntry {
  const entry = manager.entries().find((e) => e.id === id);
  if (entry) return entry;
  const error = manager.status().find((s) => s.lastError !== undefined)?.lastError ??
    manager.directoryStatus().problems.map((p) => p.message).join("; ");
  throw new Error(`Cannot benchmark a cold start: workflow "${id}" did not load (${error})`);
}

/**
 * Times `manager.start()` → first run of one new workflow, each sample with a new manager.
 * With `repeat`, each sample is followed by a second one on the same file: the same version
 * again, whose private Deno cache already holds the transpiled runner and workflow (as
 * after an engine restart with a kept work dir).
 *
 * @param work The work dir.
 * @param n Samples.
 * @param typeCheck Run `deno check` on the file.
 * @param repeat Also time the same version again.
 * @returns The samples, ms: new versions, and the same versions again.
 */
export async function timeColdStarts(
  work: BenchWorkDir,
  n: number,
  typeCheck: boolean,
  repeat: boolean,
): Promise<{ fresh: number[]; again: number[] }> {
  const fresh: number[] = [];
  const again: number[] = [];
  for (let i = 0; i < n; i++) {
    const id = freshId();
    const directory = await writeWorkflows(join(work.path, `cold-${id}`), [id]);
    for (const samples of repeat ? [fresh, again] : [fresh]) {
      const manager = createSandboxManager({
        directory,
        config: work.config({ typeCheck }),
        watch: false,
      });
      try {
        const started = performance.now();
        await manager.start();
        await runOnce(entryOf(manager, id), benchIssue());
        samples.push(performance.now() - started);
      } finally {
        await manager.close();
      }
    }
  }
  return { fresh, again };
}

/**
 * Times hot reloads into a running manager: a new file is written, then `reload()` (or the
 * watcher) loads it; each sample ends when its first run is done.
 *
 * @param work The work dir.
 * @param n Samples.
 * @param watched Let the directory watcher notice the file instead of calling `reload()`.
 * @returns The samples, ms.
 */
export async function timeHotReloads(
  work: BenchWorkDir,
  n: number,
  watched: boolean,
): Promise<number[]> {
  const first = freshId();
  const directory = await writeWorkflows(join(work.path, `reload-${first}`), [first]);
  const manager = createSandboxManager({ directory, config: work.config(), watch: watched });
  const samples: number[] = [];
  try {
    await manager.start();
    entryOf(manager, first);
    for (let i = 0; i < n; i++) {
      const id = freshId();
      const loaded = Promise.withResolvers<void>();
      const unsubscribe = manager.onChange((entries) => {
        if (entries.some((e) => e.id === id)) loaded.resolve();
      });
      // Let the watcher settle after the previous change.
      if (watched) await new Promise((resolve) => setTimeout(resolve, 300));
      const started = performance.now();
      await writeWorkflows(directory, [id]);
      if (watched) await loaded.promise;
      else await manager.reload();
      unsubscribe();
      await runOnce(entryOf(manager, id), benchIssue());
      samples.push(performance.now() - started);
    }
  } finally {
    await manager.close();
  }
  return samples;
}

/**
 * Runs every cold-start measurement.
 *
 * @param work The work dir.
 * @param reps Samples of each fast measurement; the type-checked one gets `ceil(reps / 2)`.
 * @returns The samples.
 */
export async function measureColdStarts(
  work: BenchWorkDir,
  reps: number,
): Promise<ColdStartSamples> {
  const start = await timeColdStarts(work, reps, false, true);
  const reload = await timeHotReloads(work, reps, false);
  const watched = await timeHotReloads(work, Math.ceil(reps / 2), true);
  const checked = await timeColdStarts(work, Math.ceil(reps / 2), true, false);
  return {
    start: start.fresh,
    startAgain: start.again,
    startChecked: checked.fresh,
    reload,
    watched,
  };
}
