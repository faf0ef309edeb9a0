import assert from "node:assert/strict";
import { join } from "node:path";
import { findPrlimit } from "./child.ts";
import { parseSandboxConfig } from "./config.ts";
import { ensureDenoDirTemplate, seedDenoDir } from "./deno_dir_template.ts";
import { ensureSdkBundle } from "./sdk_bundle.ts";

Deno.test("ensureDenoDirTemplate() warms a cache once per SDK bundle and seedDenoDir() copies only its databases", async () => {
  const workDir = await Deno.makeTempDir({ prefix: "cano-template-" });
  try {
    const sdk = await ensureSdkBundle({ workDir });
    const options = { workDir, sdk, config: parseSandboxConfig({}), prlimit: await findPrlimit() };
    const template = await ensureDenoDirTemplate(options);
    assert.ok(template, "the template was built");
    const names = [];
    for await (const entry of Deno.readDir(template)) names.push(entry.name);
    assert.ok(names.includes(".ready"));
    assert.ok(names.some((n) => n.startsWith("v8_code_cache")), names.join(","));
    const started = performance.now();
    assert.equal(await ensureDenoDirTemplate(options), template);
    assert.ok(performance.now() - started < 50, "the second call reuses the template");

    const target = join(workDir, "version-cache");
    await Deno.mkdir(target);
    await seedDenoDir(template, target);
    const copied = [];
    for await (const entry of Deno.readDir(target)) copied.push(entry.name);
    assert.ok(copied.length > 0 && copied.every((n) => n.includes("_cache_")), copied.join(","));
    assert.ok(!copied.includes("gen") && !copied.includes(".ready"));
  } finally {
    await Deno.remove(workDir, { recursive: true });
  }
});
