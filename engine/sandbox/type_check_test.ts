import assert from "node:assert/strict";
import { join } from "node:path";
import { parseDiagnostics, typeCheckSnapshots } from "./type_check.ts";
import { TEST_WORK_DIR, workflowSource } from "./_test_support.ts";

Deno.test("parseDiagnostics() reads type errors and fatal errors with their locations", () => {
  const output = [
    "TS2345 [ERROR]: Argument of type 'number' is not assignable to parameter of type 'string'.",
    "    ctx.enrich('x', [markdown(1)]);",
    "                              ^",
    "    at file:///snap/a.ts:9:31",
    "",
    "error: SyntaxError: Expression expected",
    "  |",
    "2 | const x = ;",
    "    at file:///snap/b.ts:2:11",
    "",
    "error: Type checking failed.",
  ].join("\n");
  assert.deepEqual(parseDiagnostics(output), [
    {
      message: "Argument of type 'number' is not assignable to parameter of type 'string'.",
      fatal: false,
      url: "file:///snap/a.ts",
      line: 9,
      column: 31,
    },
    {
      message: "SyntaxError: Expression expected",
      fatal: true,
      url: "file:///snap/b.ts",
      line: 2,
      column: 11,
    },
  ]);
});

Deno.test("typeCheckSnapshots() attributes errors per snapshot and never reads outside files", async () => {
  const root = await Deno.makeTempDir();
  const secret = join(root, "secret.ts");
  await Deno.writeTextFile(secret, 'export const token = "SUPER-SECRET-VALUE" as const;\n');
  const snapshots: Record<string, string> = {
    ok: workflowSource("ok", 'ctx.enrich("x", [markdown("fine")]);'),
    bad: workflowSource("bad", 'ctx.enrich("x", [markdown(1)]);'),
    leak: `import { token } from "${secret}";\nconst n: number = token;\nexport default n;\n`,
    broken: "const x = ;\n",
  };
  const targets = await Promise.all(
    Object.entries(snapshots).map(async ([name, source]) => {
      const snapshotDir = join(root, `snap-${name}`);
      await Deno.mkdir(snapshotDir);
      await Deno.writeTextFile(join(snapshotDir, `${name}.ts`), source);
      return {
        snapshotDir,
        entry: join(snapshotDir, `${name}.ts`),
        display: (text: string) => text.replaceAll(snapshotDir, `/workflows`),
      };
    }),
  );
  const results = await typeCheckSnapshots(targets, { workDir: TEST_WORK_DIR });
  const [ok, bad, leak, broken] = targets.map((t) => results.get(t.snapshotDir)!);
  assert.deepEqual(ok, []);
  assert.equal(bad?.length, 1);
  assert.match(bad![0]!, /^\/workflows\/bad\.ts:\d+:\d+: Argument of type 'number'/);
  assert.match(
    leak!.join("\n"),
    /Cannot find module '.*secret\.ts' \(only files in the workflow directory/,
  );
  assert.ok(!JSON.stringify([...results]).includes("SUPER-SECRET-VALUE"));
  assert.match(broken!.join("\n"), /^\/workflows\/broken\.ts:1:11: SyntaxError/);
  await Deno.remove(root, { recursive: true });
});
