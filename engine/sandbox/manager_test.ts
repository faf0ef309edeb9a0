import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createMetrics } from "../metrics.ts";
import type { WorkflowEntry } from "../workflows/entry.ts";
import { createSandboxManager, type SandboxManagerOptions } from "./manager.ts";
import { TEST_WORK_DIR, testIssue, workflowSource } from "./_test_support.ts";

const OPTIONS = { sanitizeOps: false, sanitizeResources: false } as const;
const LABELS = fileURLToPath(
  new URL("../../tests/fixtures/workflows/labels_table.ts", import.meta.url),
);

function manager(directory: string, options: Partial<SandboxManagerOptions> = {}) {
  return createSandboxManager({
    directory,
    config: { workDir: TEST_WORK_DIR, typeCheck: false, pollIntervalMs: 50 },
    metrics: createMetrics(),
    watch: false,
    ...options,
  });
}

const says = (text: string) =>
  workflowSource("greeter", `ctx.enrich("Says", [markdown("${text}")]);`);

async function said(entry: WorkflowEntry | undefined): Promise<string> {
  assert.ok(entry, "no entry");
  const result = await entry.run({ issue: testIssue(), params: {}, timeoutMs: 5_000 });
  const block = result.enrichments[0]?.blocks[0];
  return block?.type === "markdown" ? block.text : `${result.outcome}: ${result.error}`;
}

async function until(check: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("Cannot wait: the condition never held");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

Deno.test(
  "createSandboxManager() starts with a missing directory and loads it once it appears",
  OPTIONS,
  async () => {
    const parent = await Deno.makeTempDir();
    const dir = join(parent, "workflows");
    const sandbox = manager(dir);
    const changes: string[][] = [];
    sandbox.onChange((entries) => changes.push(entries.map((e) => e.id)));
    await sandbox.start();
    assert.deepEqual(sandbox.entries(), []);
    assert.equal(sandbox.directoryStatus().exists, false);
    await Deno.mkdir(dir);
    await Deno.writeTextFile(join(dir, "greeter.ts"), says("v1"));
    await sandbox.reload();
    assert.deepEqual(changes, [["greeter"]]);
    const [entry] = sandbox.entries();
    assert.equal(entry?.origin, "user");
    assert.equal(entry?.isolation, "sandbox");
    assert.equal(await said(entry), "v1");
    await sandbox.close();
    await Deno.remove(parent, { recursive: true });
  },
);

Deno.test(
  "createSandboxManager() swaps in a new version and drains the old one",
  OPTIONS,
  async () => {
    const dir = await Deno.makeTempDir();
    const file = join(dir, "greeter.ts");
    await Deno.writeTextFile(
      file,
      workflowSource(
        "greeter",
        'await new Promise((r) => setTimeout(r, 300)); ctx.enrich("Says", [markdown("v1")]);',
      ),
    );
    const sandbox = manager(dir);
    await sandbox.start();
    const v1 = sandbox.entries()[0]!;
    const inFlight = said(v1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await Deno.writeTextFile(file, says("v2"));
    await sandbox.reload();
    const v2 = sandbox.entries()[0]!;
    assert.notEqual(v2.version, v1.version);
    assert.equal(await inFlight, "v1", "the run in flight was cut by the swap");
    assert.equal(await said(v2), "v2");
    const [status] = sandbox.status();
    assert.equal(status?.versionHash?.slice(0, 16), v2.version);
    assert.equal(status?.lastError, undefined);
    await sandbox.close();
    await Deno.remove(dir, { recursive: true });
  },
);

Deno.test(
  "createSandboxManager() keeps the previous version when the new one is bad",
  OPTIONS,
  async () => {
    const dir = await Deno.makeTempDir();
    const file = join(dir, "greeter.ts");
    await Deno.writeTextFile(file, says("good"));
    const sandbox = manager(dir);
    await sandbox.start();
    await Deno.writeTextFile(
      file,
      says("bad").replace("async run(ctx)", "async run(ctx) { throw 1; } x(ctx)"),
    );
    await sandbox.reload();
    const [status] = sandbox.status();
    assert.equal(status?.loaded, true);
    assert.match(status?.lastError ?? "", /^Cannot load workflow from .*greeter\.ts: /);
    assert.equal(await said(sandbox.entries()[0]), "good");
    // The failed version is not retried until the file changes again.
    await sandbox.reload();
    assert.equal(sandbox.status()[0]?.lastError, status?.lastError);
    await Deno.writeTextFile(file, says("fixed"));
    await sandbox.reload();
    assert.equal(sandbox.status()[0]?.lastError, undefined);
    assert.equal(await said(sandbox.entries()[0]), "fixed");
    await sandbox.close();
    await Deno.remove(dir, { recursive: true });
  },
);

Deno.test(
  "createSandboxManager() removes deleted files and keeps ids with the file holding them",
  OPTIONS,
  async () => {
    const dir = await Deno.makeTempDir();
    await Deno.writeTextFile(join(dir, "m.ts"), says("original"));
    const sandbox = manager(dir);
    await sandbox.start();
    // An earlier file name with the same id does not take the id from the running workflow.
    await Deno.writeTextFile(join(dir, "a.ts"), says("usurper"));
    await sandbox.reload();
    assert.equal(await said(sandbox.entries()[0]), "original");
    assert.match(
      sandbox.status().find((s) => s.file.endsWith("a.ts"))?.lastError ?? "",
      /id "greeter" is already used by .*m\.ts/,
    );
    await Deno.remove(join(dir, "m.ts"));
    await Deno.remove(join(dir, "a.ts"));
    await sandbox.reload();
    assert.deepEqual(sandbox.entries(), []);
    assert.deepEqual(sandbox.status(), []);
    await sandbox.close();
    await Deno.remove(dir, { recursive: true });
  },
);

Deno.test("createSandboxManager() follows a ConfigMap ..data swap by itself", OPTIONS, async () => {
  const dir = await Deno.makeTempDir();
  const publish = async (version: string, text: string) => {
    await Deno.mkdir(join(dir, `..${version}`));
    await Deno.writeTextFile(join(dir, `..${version}`, "greeter.ts"), says(text));
    await Deno.symlink(`..${version}`, join(dir, "..data_tmp"));
    await Deno.rename(join(dir, "..data_tmp"), join(dir, "..data"));
  };
  await publish("v1", "one");
  await Deno.symlink("..data/greeter.ts", join(dir, "greeter.ts"));
  const sandbox = manager(dir, { watch: true });
  await sandbox.start();
  assert.equal(await said(sandbox.entries()[0]), "one");
  const first = sandbox.entries()[0]!.version;
  await publish("v2", "two");
  await until(() => sandbox.entries()[0]?.version !== first);
  assert.equal(await said(sandbox.entries()[0]), "two");
  await sandbox.close();
  await Deno.remove(dir, { recursive: true });
});

Deno.test(
  "createSandboxManager() runs built-ins in the sandbox next to user files",
  OPTIONS,
  async () => {
    const sandbox = createSandboxManager({
      config: { workDir: TEST_WORK_DIR, typeCheck: false },
      extraFiles: [{ path: LABELS, origin: "builtin" }],
      watch: false,
    });
    await sandbox.start();
    const [entry] = sandbox.entries();
    assert.equal(entry?.id, "labels-table");
    assert.equal(entry?.origin, "builtin");
    const issue = { ...testIssue(), labels: { team: "a" } };
    const result = await entry!.run({ issue, params: {}, timeoutMs: 5_000 });
    assert.deepEqual(result.enrichments[0]?.blocks[0], {
      type: "table",
      headers: ["label", "value"],
      rows: [["team", "a"]],
    });
    assert.equal(sandbox.status()[0]?.runs, 1);
    await sandbox.close();
    assert.deepEqual(sandbox.entries(), []);
  },
);
