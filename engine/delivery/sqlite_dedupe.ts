/**
 * A {@linkcode DedupeStore} on SQLite, so alerts handled before a restart stay handled.
 *
 * Keys are stored as UTF-8 blobs, since deduper keys hold NUL separators that SQLite text
 * would cut short when read back. Keys are ordered by a sequence number bumped on every `set`, which gives the deduper its
 * oldest key in one indexed look-up. It can share the outbox's database (pass the
 * `DatabaseSync` from `openStateDatabase()`) or open its own file.
 *
 * @example Remember an alert across a restart
 * ```ts
 * import { createSqliteDedupeStore } from "./sqlite_dedupe.ts";
 * import { createAlertDeduper } from "../sources/dedupe.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * const alert = { fingerprint: "3f2a9c1b7d4e8a60", startsAt: "2026-03-01T10:12:04Z", status: "firing" } as const;
 * const before = createSqliteDedupeStore({ database: `${dir}/state.db` });
 * assert.equal(createAlertDeduper({ store: before }).check(alert), "new");
 * before.close();
 * const after = createSqliteDedupeStore({ database: `${dir}/state.db` });
 * assert.equal(createAlertDeduper({ store: after }).check(alert), "duplicate");
 * after.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import type { DedupeRecord, DedupeStore } from "../sources/dedupe.ts";
import { openStateDatabase } from "./outbox.ts";

/** Options of {@linkcode createSqliteDedupeStore}. */
export interface SqliteDedupeStoreOptions {
  /** The SQLite file, created when missing; or an open database to share. */
  database: string | DatabaseSync;
  /** Table name, letters, digits and `_`. @default "dedupe" */
  table?: string;
}

/** A durable dedupe store and the file it may own. */
export interface SqliteDedupeStore extends DedupeStore {
  /** Closes the file when the store opened it. */
  close(): void;
  /** Counts the keys again, after a rolled-back transaction undid writes the store counted. */
  recount(): void;
}

/**
 * Creates a {@linkcode DedupeStore} kept in a SQLite table.
 *
 * @param options Database (path or open handle) and table name.
 * @returns The store.
 * @throws {RangeError} When `table` is not a plain identifier.
 * @throws {Error} When the file cannot be opened.
 */
export function createSqliteDedupeStore(
  { database, table = "dedupe" }: SqliteDedupeStoreOptions,
): SqliteDedupeStore {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(table)) {
    throw new RangeError(`Cannot create dedupe store: table must be an identifier, got "${table}"`);
  }
  const owned = typeof database === "string";
  const db = owned ? openStateDatabase(database) : database;
  db.exec(`
    CREATE TABLE IF NOT EXISTS ${table} (
      key BLOB PRIMARY KEY,
      delivered_ms INTEGER NOT NULL,
      seen_ms INTEGER NOT NULL,
      seq INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX IF NOT EXISTS ${table}_seq ON ${table} (seq);
  `);
  const select = db.prepare(`SELECT delivered_ms, seen_ms FROM ${table} WHERE key = ?`);
  const update = db.prepare(
    `UPDATE ${table} SET delivered_ms = ?, seen_ms = ?, seq = ? WHERE key = ?`,
  );
  const insert = db.prepare(
    `INSERT INTO ${table} (key, delivered_ms, seen_ms, seq) VALUES (?, ?, ?, ?)
       ON CONFLICT (key) DO NOTHING`,
  );
  const remove = db.prepare(`DELETE FROM ${table} WHERE key = ?`);
  const first = db.prepare(
    `SELECT key, delivered_ms, seen_ms FROM ${table} ORDER BY seq LIMIT 1`,
  );
  // Counted once, then kept in step: the deduper asks for the size on every check, and
  // count(*) walks the whole table (the file has one owner, so nobody else changes it).
  const count = db.prepare(`SELECT count(*) AS n FROM ${table}`);
  let size = Number(count.get()?.n ?? 0);
  let seq = Number(db.prepare(`SELECT max(seq) AS seq FROM ${table}`).get()?.seq ?? 0);

  // The key of the last get() and whether it was there, so the set() after it needs one
  // statement.
  let looked: { key: string; found: boolean } | undefined;
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const record = (row: Record<string, unknown>): DedupeRecord => ({
    deliveredMs: Number(row.delivered_ms),
    seenMs: Number(row.seen_ms),
  });

  return {
    get(key) {
      const row = select.get(encoder.encode(key));
      looked = { key, found: row !== undefined };
      return row ? record(row) : undefined;
    },
    set(key, { deliveredMs, seenMs }) {
      const bytes = encoder.encode(key);
      // The deduper sets right after it got: one statement whether the key is new or known.
      const known = looked?.key === key && looked.found;
      looked = undefined;
      if (known) update.run(deliveredMs, seenMs, ++seq, bytes);
      else if (Number(insert.run(bytes, deliveredMs, seenMs, ++seq).changes) > 0) size++;
      else update.run(deliveredMs, seenMs, seq, bytes);
    },
    delete(key) {
      looked = undefined;
      size -= Number(remove.run(encoder.encode(key)).changes);
    },
    oldest() {
      const row = first.get();
      return row ? [decoder.decode(row.key as Uint8Array), record(row)] : undefined;
    },
    size: () => size,
    recount() {
      size = Number(count.get()?.n ?? 0);
    },
    close() {
      if (owned && db.isOpen) db.close();
    },
  };
}
