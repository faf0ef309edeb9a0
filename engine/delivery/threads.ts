/**
 * Per-fingerprint thread state: what a destination needs to post follow-ups where the first
 * message went (Slack channel and ts, Jira issue key, Discord message id...).
 *
 * The memory store forgets the oldest of {@linkcode THREAD_STATE_LIMIT} entries. The SQLite
 * store keeps them in the state file, so a resolution that arrives after a restart still
 * lands in the firing's thread; entries untouched for `ttlMs` (default 30 days) go first.
 *
 * @example A thread survives a restart
 * ```ts
 * import { openThreadStore } from "./threads.ts";
 * import { openStateDatabase } from "./outbox.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * let db = openStateDatabase(`${dir}/state.db`);
 * openThreadStore(db).set("slack", "f1", { channel: "C1", ts: "1.2" });
 * db.close();
 * db = openStateDatabase(`${dir}/state.db`);
 * assert.deepEqual(openThreadStore(db).get("slack", "f1"), { channel: "C1", ts: "1.2" });
 * db.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import type { ThreadState } from "../destinations/destination.ts";

/** Thread states kept before the oldest is forgotten. */
export const THREAD_STATE_LIMIT = 10_000;
/** Default age after which an untouched thread state is forgotten: 30 days. */
export const THREAD_STATE_TTL_MS = 30 * 24 * 3600 * 1000;

/** Where thread states live, keyed by destination name and fingerprint. */
export interface ThreadStore {
  /** The state an earlier send returned, if any. */
  get(destination: string, fingerprint: string): ThreadState | undefined;
  /** Records the state a send returned. Throws when the write fails. */
  set(destination: string, fingerprint: string, state: ThreadState): void;
  /** States kept. */
  size(): number;
}

/**
 * A bounded in-memory store.
 *
 * @param limit Entries kept; the least recently set go first.
 * @returns The store.
 * @example
 * ```ts
 * import { createMemoryThreadStore } from "./threads.ts";
 * import assert from "node:assert/strict";
 *
 * const threads = createMemoryThreadStore(1);
 * threads.set("slack", "a", { ts: "1" });
 * threads.set("slack", "b", { ts: "2" });
 * assert.equal(threads.get("slack", "a"), undefined);
 * assert.deepEqual(threads.get("slack", "b"), { ts: "2" });
 * ```
 */
export function createMemoryThreadStore(limit = THREAD_STATE_LIMIT): ThreadStore {
  const states = new Map<string, ThreadState>();
  return {
    get: (destination, fingerprint) => states.get(`${destination}\n${fingerprint}`),
    set(destination, fingerprint, state) {
      const key = `${destination}\n${fingerprint}`;
      states.delete(key);
      states.set(key, { ...state });
      if (states.size > limit) states.delete(states.keys().next().value!);
    },
    size: () => states.size,
  };
}

/**
 * Opens the store in a state database (see `openStateDatabase` in `./outbox.ts`).
 *
 * @param db The open state database.
 * @param options Entries kept, age limit and clock.
 * @returns The store.
 * @throws {Error} When the table cannot be created.
 */
export function openThreadStore(
  db: DatabaseSync,
  { limit = THREAD_STATE_LIMIT * 10, ttlMs = THREAD_STATE_TTL_MS, now = Date.now }: {
    limit?: number;
    ttlMs?: number;
    now?: () => number;
  } = {},
): ThreadStore {
  db.exec(`
    CREATE TABLE IF NOT EXISTS threads (
      destination TEXT NOT NULL,
      fingerprint TEXT NOT NULL,
      state TEXT NOT NULL,
      updated_ms INTEGER NOT NULL,
      PRIMARY KEY (destination, fingerprint)
    );
    CREATE INDEX IF NOT EXISTS threads_updated ON threads (updated_ms);
  `);
  const select = db.prepare("SELECT state FROM threads WHERE destination = ? AND fingerprint = ?");
  const upsert = db.prepare(
    `INSERT INTO threads (destination, fingerprint, state, updated_ms) VALUES (?, ?, ?, ?)
       ON CONFLICT (destination, fingerprint) DO UPDATE SET state = excluded.state,
       updated_ms = excluded.updated_ms`,
  );
  const expire = db.prepare("DELETE FROM threads WHERE updated_ms < ?");
  const trim = db.prepare(
    `DELETE FROM threads WHERE rowid IN
       (SELECT rowid FROM threads ORDER BY updated_ms LIMIT max(0, (SELECT count(*) FROM threads) - ?))`,
  );
  const count = db.prepare("SELECT count(*) AS n FROM threads");
  let writes = 0;
  return {
    get(destination, fingerprint) {
      const row = select.get(destination, fingerprint);
      if (!row) return undefined;
      try {
        return JSON.parse(String(row.state)) as ThreadState;
      } catch (_error) {
        // A damaged row only costs the thread: the next message starts a new one.
        return undefined;
      }
    },
    set(destination, fingerprint, state) {
      upsert.run(destination, fingerprint, JSON.stringify(state), now());
      // Pruning scans the index; every 100th write keeps it cheap.
      if (++writes % 100 === 1) {
        expire.run(now() - ttlMs);
        trim.run(limit);
      }
    },
    size: () => Number(count.get()?.n ?? 0),
  };
}
