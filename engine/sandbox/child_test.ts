import assert from "node:assert/strict";
import { buildChildCommand } from "./child.ts";
import { DATA_BASELINE_MB, parseSandboxConfig } from "./config.ts";

const spec = {
  snapshotDir: "/work/versions/oom-abc",
  entry: "/work/versions/oom-abc/oom.ts",
  sdk: {
    dir: "/work/sdk-1",
    file: "/work/sdk-1/sdk.js",
    runner: "/work/sdk-1/runner.js",
    importMap: "/work/sdk-1/map.json",
    hash: "1",
  },
  denoDir: "/work/deno-dirs/oom-abc",
  cwd: "/work/empty",
};

Deno.test("buildChildCommand() grants read of the snapshot and SDK only, with a clean env", () => {
  const { program, args, options } = buildChildCommand(spec, parseSandboxConfig({ heapMb: 96 }));
  assert.equal(program, Deno.execPath());
  for (
    const flag of [
      "--no-prompt",
      "--no-config",
      "--no-lock",
      "--no-remote",
      "--no-npm",
      "--cached-only",
      "--allow-read=/work/versions/oom-abc,/work/sdk-1",
      "--v8-flags=--max-old-space-size=96,--max-semi-space-size=1,--disallow-code-generation-from-strings",
      "--import-map=/work/sdk-1/map.json",
    ]
  ) assert.ok(args.includes(flag), flag);
  assert.equal(
    args.at(-1),
    "/work/sdk-1/runner.js",
    "the compiled runner, inside the readable SDK dir",
  );
  assert.ok(!args.some((a) => /^--allow-(net|env|write|run|ffi|sys|all)|^-A$/.test(a)));
  assert.equal(options.clearEnv, true);
  assert.deepEqual(options.env, {
    NO_COLOR: "1",
    DENO_DIR: "/work/deno-dirs/oom-abc",
    DENO_NO_UPDATE_CHECK: "1",
    MALLOC_TRIM_THRESHOLD_: "131072",
  });
  assert.equal(options.cwd, "/work/empty");
});

Deno.test("buildChildCommand() wraps deno in prlimit, with nproc only for a dedicated uid", () => {
  const plain = buildChildCommand(
    { ...spec, prlimit: "/usr/bin/prlimit" },
    parseSandboxConfig({
      externalMemoryMb: 100,
    }),
  );
  assert.equal(plain.program, "/usr/bin/prlimit");
  assert.deepEqual(plain.args.slice(0, 3), [
    `--data=${(DATA_BASELINE_MB + 100) * 1_048_576}`,
    "--",
    Deno.execPath(),
  ]);
  const dedicated = buildChildCommand(
    { ...spec, prlimit: "/usr/bin/prlimit" },
    parseSandboxConfig({ uid: 65534, gid: 65534, maxThreads: 32 }),
  );
  assert.ok(dedicated.args.includes("--nproc=32"));
  assert.equal(dedicated.options.uid, 65534);
  assert.equal(dedicated.options.gid, 65534);
});
