import assert from "node:assert/strict";
import { ensureSdkBundle } from "./sdk_bundle.ts";
import { TEST_WORK_DIR } from "./_test_support.ts";

Deno.test("ensureSdkBundle() builds one self-contained file and reuses it", async () => {
  const bundle = await ensureSdkBundle({ workDir: TEST_WORK_DIR });
  const source = await Deno.readTextFile(bundle.file);
  assert.ok(!/from\s*["'](npm:|zod|node:)/.test(source), "the bundle imports a package");
  assert.ok(!source.includes("/.cache/deno"), "the bundle names host paths");
  const map = JSON.parse(await Deno.readTextFile(bundle.importMap));
  assert.equal(map.imports["@cano/sdk"], `file://${bundle.file}`);
  const started = performance.now();
  assert.deepEqual(await ensureSdkBundle({ workDir: TEST_WORK_DIR }), bundle);
  assert.ok(performance.now() - started < 200, "the cached bundle was rebuilt");
});

Deno.test("ensureSdkBundle() output loads in a child without npm or remote access", async () => {
  const bundle = await ensureSdkBundle({ workDir: TEST_WORK_DIR });
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(
    script,
    'import { defineWorkflow, z } from "@cano/sdk";\nconsole.log(defineWorkflow({ id: "a", description: "d", triggers: [{ on: "manual" }], params: z.object({}), run() {} }).kind);',
  );
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-config",
      "--no-lock",
      "--no-npm",
      "--no-remote",
      `--allow-read=${bundle.dir}`,
      `--import-map=${bundle.importMap}`,
      script,
    ],
    clearEnv: true,
    env: { NO_COLOR: "1" },
  }).output();
  assert.equal(new TextDecoder().decode(output.stdout).trim(), "cano.workflow");
  await Deno.remove(script);
});
