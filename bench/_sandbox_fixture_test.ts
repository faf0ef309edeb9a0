import assert from "node:assert/strict";
import { join } from "node:path";
import {
  BENCH_WORKFLOW_ID,
  benchIssue,
  runOnce,
  runsPerSecond,
  workflowSource,
  writeWorkflows,
} from "./_sandbox_fixture.ts";
import workflow from "./_sandbox_workflow.ts";
import { silentLogger } from "../engine/log.ts";
import { createInProcessEntry } from "../engine/workflows/in_process.ts";
import type { WorkflowEntry } from "../engine/workflows/entry.ts";

Deno.test("workflowSource() renames the workflow and keeps the rest", async () => {
  const original = await workflowSource();
  const renamed = await workflowSource("bench-other");
  assert.match(original, new RegExp(`id: "${BENCH_WORKFLOW_ID}"`));
  assert.match(renamed, /id: "bench-other"/);
  assert.doesNotMatch(renamed, new RegExp(`id: "${BENCH_WORKFLOW_ID}"`));
  assert.equal(renamed.length, original.length - BENCH_WORKFLOW_ID.length + "bench-other".length);
});

Deno.test("writeWorkflows() writes one file per id", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeWorkflows(join(dir, "wf"), ["a-1", "b-2"]);
    const names = [...Deno.readDirSync(join(dir, "wf"))].map((e) => e.name).sort();
    assert.deepEqual(names, ["a-1.ts", "b-2.ts"]);
    assert.match(await Deno.readTextFile(join(dir, "wf", "b-2.ts")), /id: "b-2"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runOnce() passes a successful run and rejects a failed one", async () => {
  const entry = createInProcessEntry(workflow, { log: silentLogger });
  await runOnce(entry, benchIssue());
  const failing: Pick<WorkflowEntry, "id" | "run"> = {
    id: "broken",
    run: () => Promise.resolve({ outcome: "crash", enrichments: [], durationMs: 0, error: "boom" }),
  };
  await assert.rejects(runOnce(failing, benchIssue()), /broken.*crash \(boom\)/);
});

Deno.test("runsPerSecond() counts runs over the window", async () => {
  let runs = 0;
  const entry: Pick<WorkflowEntry, "id" | "run"> = {
    id: "counted",
    run: async () => {
      runs++;
      await new Promise((resolve) => setTimeout(resolve, 5));
      return { outcome: "success", enrichments: [], durationMs: 5 };
    },
  };
  const rate = await runsPerSecond(entry, benchIssue(), 2, 200);
  assert.ok(runs >= 4, `${runs} runs`);
  assert.ok(rate > 10 && rate < 1_000, `${rate} runs/s`);
});
