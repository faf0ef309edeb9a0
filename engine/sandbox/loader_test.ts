import assert from "node:assert/strict";
import { join } from "node:path";
import { type LoadedVersion, loadWorkflowDirectory } from "./loader.ts";
import { checkManifest, dedupeIds } from "./manifest.ts";
import { SandboxLoadError } from "./supervisor.ts";
import { TEST_WORK_DIR, testIssue, workflowDir, workflowSource } from "./_test_support.ts";

const OPTIONS = { sanitizeOps: false, sanitizeResources: false } as const;
const manifest: { id: string; description: string; triggers: unknown[]; permissions: unknown } = {
  id: "oom-context",
  description: "Adds context",
  triggers: [{ on: "pod_oom_killed" }],
  permissions: { prometheus: true },
};

Deno.test("checkManifest() parses what the child reported", () => {
  const checked = checkManifest(manifest, "/w/oom.ts");
  assert.deepEqual(checked.triggers, [{ on: "pod_oom_killed" }]);
  assert.deepEqual(checked.permissions, { kubernetes: [], prometheus: true, http: [] });
});

Deno.test("checkManifest() refuses malformed metadata with the file name", () => {
  const cases: [Partial<typeof manifest>, RegExp][] = [
    [{ id: "Not Kebab" }, /id "Not Kebab" is not a kebab-case id/],
    [{ description: " " }, /description must be one sentence/],
    [{ triggers: [] }, /invalid triggers: \(root\): Expected at least one trigger/],
    [{ triggers: [{ on: "nope" }] }, /invalid triggers: 0\.on/],
    [{ permissions: { kubernetes: ["pods"] } }, /invalid permissions: kubernetes\.0/],
    [{ permissions: { shell: true } }, /invalid permissions/],
  ];
  for (const [patch, pattern] of cases) {
    assert.throws(
      () => checkManifest({ ...manifest, ...patch }, "/w/oom.ts"),
      (error: unknown) =>
        error instanceof SandboxLoadError &&
        error.message.startsWith("Cannot load workflow from /w/oom.ts: ") &&
        pattern.test(error.message),
    );
  }
});

Deno.test("dedupeIds() keeps ids already taken and otherwise the first file by name", () => {
  const version = (file: string, id: string) =>
    ({ file, id, version: { hash: file }, supervisor: {} }) as LoadedVersion;
  const taken = new Map([["held", "/w/z.ts"]]);
  const { loaded, failures } = dedupeIds(
    [version("/w/b.ts", "same"), version("/w/a.ts", "same"), version("/w/c.ts", "held")],
    taken,
  );
  assert.deepEqual(loaded.map((l) => l.file), ["/w/a.ts"]);
  assert.deepEqual(failures.map((f) => f.message), [
    'Cannot load workflow from /w/b.ts: id "same" is already used by /w/a.ts',
    'Cannot load workflow from /w/c.ts: id "held" is already used by /w/z.ts',
  ]);
});

Deno.test("loadWorkflowDirectory() treats a missing directory as empty", OPTIONS, async () => {
  const result = await loadWorkflowDirectory("/nonexistent/cano-workflows", {
    config: { workDir: TEST_WORK_DIR },
  });
  assert.deepEqual(result, { exists: false, workflows: [], errors: [], loaded: [] });
});

Deno.test(
  "loadWorkflowDirectory() loads workflows with helpers and reports the rest",
  OPTIONS,
  async () => {
    const dir = await workflowDir({
      "greet.ts": `import { defineWorkflow, markdown } from "@cano/sdk";
import { greeting } from "./lib/greeting.ts";
export default defineWorkflow({
  id: "greet", description: "Greets", triggers: [{ on: "manual" }],
  run(ctx) { ctx.enrich("Hi", [markdown(greeting(ctx.issue.title))]); },
});`,
      "broken.ts": workflowSource("broken", 'ctx.enrich("x", [markdown(1)]);'),
      "greet_test.ts": "this is not even TypeScript",
    });
    await Deno.mkdir(join(dir, "lib"));
    await Deno.writeTextFile(
      join(dir, "lib", "greeting.ts"),
      "export const greeting = (s: string): string => `hi ${s}`;",
    );
    const result = await loadWorkflowDirectory(dir, {
      config: { workDir: TEST_WORK_DIR },
      keepRunning: true,
    });
    assert.deepEqual(result.workflows.map((w) => [w.id, w.file]), [[
      "greet",
      join(dir, "greet.ts"),
    ]]);
    assert.equal(result.workflows[0]?.version.length, 64);
    assert.equal(result.errors.length, 1);
    assert.match(
      result.errors[0]!.message,
      /broken\.ts: deno check found 1 error\n {2}.*broken\.ts:\d+:\d+: Argument/,
    );
    const run = await result.loaded[0]!.supervisor.run({
      issue: testIssue("you"),
      params: {},
      timeoutMs: 5_000,
    });
    assert.deepEqual(run.enrichments, [{
      title: "Hi",
      blocks: [{ type: "markdown", text: "hi you" }],
    }]);
    await Promise.all(result.loaded.map((l) => l.supervisor.close()));
    await Deno.remove(dir, { recursive: true });
  },
);
