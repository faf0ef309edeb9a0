import assert from "node:assert/strict";
import { createCooldown } from "./cooldown.ts";

Deno.test("createCooldown() holds a (reaction, alert) pair for the window", () => {
  let now = 1_000;
  const cooldown = createCooldown({ windowMs: 600_000, now: () => now });
  assert.equal(cooldown.claim("r/fp", "t1"), true);
  now += 599_999;
  assert.equal(cooldown.claim("r/fp", "t1"), false);
  assert.equal(cooldown.claim("r2/fp", "t1"), true, "another reaction is independent");
  assert.equal(cooldown.claim("r/fp2", "t1"), true, "another alert is independent");
  now += 1;
  assert.equal(cooldown.claim("r/fp", "t1"), true);
});

Deno.test("createCooldown() lets a new firing of the same alert through", () => {
  const cooldown = createCooldown({ windowMs: 600_000, now: () => 0 });
  assert.equal(cooldown.claim("r/fp", "2026-03-01T10:00:00Z"), true);
  assert.equal(cooldown.claim("r/fp", "2026-03-01T10:20:00Z"), true);
  assert.equal(cooldown.claim("r/fp", "2026-03-01T10:20:00Z"), false);
});

Deno.test("createCooldown() release() and note() adjust a claim", () => {
  let now = 0;
  const cooldown = createCooldown({ windowMs: 1_000, now: () => now });
  assert.equal(cooldown.claim("k", "t"), true);
  cooldown.release("k");
  assert.equal(cooldown.claim("k", "t"), true);
  cooldown.note("n", "t", -500);
  now = 400;
  assert.equal(cooldown.claim("n", "t"), false);
  now = 500;
  assert.equal(cooldown.claim("n", "t"), true);
});

Deno.test("createCooldown() with a zero window never holds", () => {
  const cooldown = createCooldown({ windowMs: 0 });
  assert.equal(cooldown.claim("k", "t"), true);
  assert.equal(cooldown.claim("k", "t"), true);
  assert.equal(cooldown.size, 0);
});

Deno.test("createCooldown() caps its entries, dropping expired and then oldest", () => {
  let now = 0;
  const cooldown = createCooldown({ windowMs: 100, now: () => now, maxEntries: 3 });
  for (const key of ["a", "b", "c"]) cooldown.claim(key, "t");
  now = 50;
  cooldown.claim("d", "t");
  assert.equal(cooldown.size, 3);
  assert.equal(cooldown.claim("a", "t"), true, "the oldest was dropped");
  assert.throws(() => createCooldown({ windowMs: -1 }), RangeError);
  assert.throws(() => createCooldown({ windowMs: 1, maxEntries: 0 }), RangeError);
});
