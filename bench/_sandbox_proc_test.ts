import assert from "node:assert/strict";
import { readMemory, startIdleChild, timeBareSpawns } from "./_sandbox_proc.ts";

Deno.test("timeBareSpawns() times each spawn of an empty script until it exits", async () => {
  const samples = await timeBareSpawns(2);
  assert.equal(samples.length, 2);
  for (const ms of samples) assert.ok(ms > 0 && ms < 10_000, `${ms} ms`);
});

Deno.test("startIdleChild() keeps a deno child alive until closed, readMemory() reads it", async () => {
  const child = await startIdleChild();
  try {
    const memory = await readMemory(child.pid);
    assert.equal(memory.command, "deno");
    assert.ok(memory.rssMb > 5 && memory.rssMb < 1_000, `${memory.rssMb} MB`);
    assert.ok(memory.pssMb > 0 && memory.pssMb <= memory.rssMb);
  } finally {
    await child.close();
  }
  await assert.rejects(readMemory(child.pid), Deno.errors.NotFound);
});

Deno.test("readMemory() reads this process", async () => {
  const memory = await readMemory(Deno.pid);
  assert.ok(memory.rssMb > 5);
});
