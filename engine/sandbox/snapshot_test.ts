import assert from "node:assert/strict";
import { join } from "node:path";
import { isWorkflowFile, scanWorkflowDirectory, writeSnapshot } from "./snapshot.ts";

const LIMITS = { maxFiles: 50, maxFileBytes: 1_000, maxTotalBytes: 5_000 };
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

Deno.test("isWorkflowFile() tells workflows from helpers, tests and declarations", () => {
  assert.deepEqual(
    ["oom.ts", "_helpers.ts", "oom_test.ts", "types.d.ts", "lib/x.ts", "data.json", "a.js"].map(
      isWorkflowFile,
    ),
    [true, false, false, false, false, false, false],
  );
});

Deno.test("scanWorkflowDirectory() reads a ConfigMap mount through ..data and skips tests", async () => {
  const dir = await Deno.makeTempDir();
  // kubelet layout: files are links to ..data/<name>, ..data links to ..<timestamp>
  await Deno.mkdir(join(dir, "..2026_01_01_00_00_00.1"));
  await Deno.writeTextFile(join(dir, "..2026_01_01_00_00_00.1", "oom.ts"), "export {};");
  await Deno.writeTextFile(join(dir, "..2026_01_01_00_00_00.1", "_lib.ts"), "export {};");
  await Deno.writeTextFile(join(dir, "..2026_01_01_00_00_00.1", "oom_test.ts"), "export {};");
  await Deno.writeTextFile(join(dir, "..2026_01_01_00_00_00.1", "README.md"), "# hi");
  await Deno.symlink("..2026_01_01_00_00_00.1", join(dir, "..data"));
  for (const name of ["oom.ts", "_lib.ts", "oom_test.ts", "README.md"]) {
    await Deno.symlink(join("..data", name), join(dir, name));
  }
  const scan = await scanWorkflowDirectory(dir, LIMITS);
  assert.deepEqual(scan.entries.map((f) => f.rel), ["oom.ts"]);
  assert.deepEqual(scan.helpers.map((f) => f.rel), ["_lib.ts"]);
  assert.deepEqual(scan.problems, []);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("scanWorkflowDirectory() refuses links leaving the directory and oversized files", async () => {
  const dir = await Deno.makeTempDir();
  const outside = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.symlink(outside, join(dir, "escape.ts"));
  await Deno.symlink("/etc", join(dir, "etc"));
  await Deno.writeTextFile(join(dir, "big.ts"), "x".repeat(2_000));
  await Deno.writeTextFile(join(dir, "ok.ts"), "export {};");
  const scan = await scanWorkflowDirectory(dir, LIMITS);
  assert.deepEqual(scan.entries.map((f) => f.rel), ["ok.ts"]);
  const messages = scan.problems.map((p) => p.message).sort();
  assert.equal(messages.length, 3);
  assert.match(messages[0]!, /big\.ts: it is 2000 bytes, the limit is 1000/);
  assert.match(messages[1]!, /escape\.ts: it links outside the workflow directory/);
  assert.match(messages[2]!, /etc: it links outside the workflow directory/);
  await Deno.remove(dir, { recursive: true });
  await Deno.remove(outside);
});

Deno.test("scanWorkflowDirectory() reports a missing directory and caps the total size", async () => {
  assert.equal((await scanWorkflowDirectory("/nonexistent/cano", LIMITS)).exists, false);
  const dir = await Deno.makeTempDir();
  for (let i = 0; i < 6; i++) await Deno.writeTextFile(join(dir, `w${i}.ts`), "x".repeat(900));
  await assert.rejects(scanWorkflowDirectory(dir, LIMITS), /its files exceed 5000 bytes/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("writeSnapshot() copies the entry and helpers once per content hash", async () => {
  const workDir = await Deno.makeTempDir();
  const entry = { rel: "a.ts", content: new TextEncoder().encode("export const a = 1;") };
  const helpers = [{ rel: "lib/b.ts", content: new TextEncoder().encode("export const b = 2;") }];
  const first = await writeSnapshot(workDir, entry, helpers);
  const again = await writeSnapshot(workDir, entry, helpers);
  assert.deepEqual(again, first);
  assert.equal(text(await Deno.readFile(first.entry)), "export const a = 1;");
  assert.equal(
    text(await Deno.readFile(join(first.snapshotDir, "lib/b.ts"))),
    "export const b = 2;",
  );
  assert.equal((await Deno.stat(first.snapshotDir)).mode! & 0o777, 0o755);
  const changed = await writeSnapshot(workDir, entry, [{
    ...helpers[0]!,
    content: new Uint8Array([1]),
  }]);
  assert.notEqual(changed.hash, first.hash);
  await Deno.remove(workDir, { recursive: true });
});
