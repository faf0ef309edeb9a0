import assert from "node:assert/strict";
import { parseSandboxConfig, SandboxConfigSchema } from "./config.ts";

Deno.test("parseSandboxConfig() applies safe defaults", () => {
  const config = parseSandboxConfig();
  assert.equal(config.heapMb, 128);
  assert.equal(config.externalMemoryMb, 256);
  assert.equal(config.maxFrameBytes, 1_048_576);
  assert.equal(config.concurrency, 8);
  assert.equal(config.queueSize, 100);
  assert.equal(config.quarantineAfter, 10);
  assert.equal(config.loadTimeoutMs, 5_000);
  assert.equal(config.typeCheck, true);
  assert.equal(config.uid, undefined);
});

Deno.test("parseSandboxConfig() rejects typos and out-of-range limits with the field name", () => {
  assert.throws(
    () => parseSandboxConfig({ heapMB: 64 } as never),
    /Cannot use sandbox config: .*heapMB/s,
  );
  assert.throws(() => parseSandboxConfig({ concurrency: 0 }), /concurrency/);
  assert.throws(() => parseSandboxConfig({ heapMb: 1.5 }), /heapMb/);
});

Deno.test("SandboxConfigSchema documents every field", () => {
  for (const [name, field] of Object.entries(SandboxConfigSchema.shape)) {
    assert.ok(field.description, `${name} has no description`);
  }
});
