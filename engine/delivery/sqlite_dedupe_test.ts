import assert from "node:assert/strict";
import {
  createAlertDeduper,
  createMemoryDedupeStore,
  type DedupeStore,
} from "../sources/dedupe.ts";
import { openOutbox, openStateDatabase } from "./outbox.ts";
import { createSqliteDedupeStore } from "./sqlite_dedupe.ts";

async function tempDb(): Promise<{ path: string; [Symbol.asyncDispose](): Promise<void> }> {
  const dir = await Deno.makeTempDir();
  return {
    path: `${dir}/state.db`,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

/** Runs the same operations on `store` and returns what it observed. */
function exercise(store: DedupeStore): unknown[] {
  const seen: unknown[] = [];
  store.set("a", { deliveredMs: 1, seenMs: 1 });
  store.set("b", { deliveredMs: 2, seenMs: 2 });
  store.set("c\u0000firing", { deliveredMs: 3, seenMs: 3 });
  seen.push(store.oldest(), store.size());
  store.set("a", { deliveredMs: 1, seenMs: 4 });
  seen.push(store.oldest(), store.get("a"), store.get("zz"));
  store.delete("b");
  store.delete("missing");
  seen.push(store.oldest(), store.size());
  store.delete("c\u0000firing");
  seen.push(store.oldest());
  store.delete("a");
  seen.push(store.oldest(), store.size());
  return seen;
}

Deno.test("createSqliteDedupeStore() behaves like the in-memory store", async () => {
  await using db = await tempDb();
  const store = createSqliteDedupeStore({ database: db.path });
  const expected = exercise(createMemoryDedupeStore());
  assert.deepEqual(exercise(store), expected);
  assert.deepEqual(expected[0], ["a", { deliveredMs: 1, seenMs: 1 }]);
  store.close();
});

Deno.test("createSqliteDedupeStore() keeps keys and their age order across a restart", async () => {
  await using db = await tempDb();
  let time = 0;
  const alert = (fingerprint: string) =>
    ({ fingerprint, startsAt: "2026-03-01T10:12:04Z", status: "firing" }) as const;
  let store = createSqliteDedupeStore({ database: db.path });
  let deduper = createAlertDeduper({ store, maxEntries: 2, now: () => time });
  for (const fp of ["a", "b"]) assert.equal(deduper.check(alert(fp)), "new");
  time = 10;
  assert.equal(deduper.check(alert("a")), "duplicate"); // "a" is now newer than "b"
  store.close();

  store = createSqliteDedupeStore({ database: db.path });
  deduper = createAlertDeduper({ store, maxEntries: 2, now: () => time });
  assert.equal(store.size(), 2);
  assert.equal(deduper.check(alert("a")), "duplicate");
  assert.equal(deduper.check(alert("c")), "new"); // evicts "b", the least recently seen
  assert.equal(deduper.check(alert("a")), "duplicate");
  assert.equal(deduper.check(alert("b")), "new");
  store.close();
});

Deno.test("createSqliteDedupeStore() shares the outbox database", async () => {
  await using db = await tempDb();
  const database = openStateDatabase(db.path);
  const outbox = openOutbox({ path: database });
  const store = createSqliteDedupeStore({ database, table: "alert_dedupe" });
  store.set("k", { deliveredMs: 5, seenMs: 6 });
  store.close();
  outbox.close();
  assert.equal(database.isOpen, true, "a shared database stays open");
  const tables = database.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
  )
    .all().map((row) => row.name);
  assert.deepEqual(tables.filter((name) => name !== "sqlite_sequence"), ["alert_dedupe", "outbox"]);
  database.close();
  assert.throws(() => createSqliteDedupeStore({ database: db.path, table: "x; DROP" }), {
    message: 'Cannot create dedupe store: table must be an identifier, got "x; DROP"',
  });
});

Deno.test("createSqliteDedupeStore() size follows sets, deletes and a rolled-back transaction", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const db = openStateDatabase(`${dir}/state.db`);
    const store = createSqliteDedupeStore({ database: db });
    store.set("a", { deliveredMs: 1, seenMs: 1 });
    store.set("a", { deliveredMs: 1, seenMs: 2 });
    store.set("b", { deliveredMs: 1, seenMs: 1 });
    store.delete("missing");
    assert.equal(store.size(), 2);
    db.exec("BEGIN");
    store.set("c", { deliveredMs: 1, seenMs: 1 });
    db.exec("ROLLBACK");
    assert.equal(store.size(), 3);
    store.recount();
    assert.equal(store.size(), 2);
    store.delete("a");
    assert.equal(store.size(), 1);
    assert.deepEqual(store.oldest(), ["b", { deliveredMs: 1, seenMs: 1 }]);
    db.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
