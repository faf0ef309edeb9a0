/**
 * The durable outbox: a {@linkcode DeliveryQueue} on an embedded SQLite file (`node:sqlite`).
 *
 * - Written first: `add` inserts the (issue, destination) row before `dispatch` returns, so
 *   the webhook can answer 2xx once its work is on disk.
 * - Removed last: a row is deleted only once the destination accepted the delivery, which
 *   also keeps the file bounded: free pages are reused, and handed back to the file system
 *   every {@linkcode OUTBOX_VACUUM_EVERY} deliveries and at `close()`.
 * - Resumable: rows keep their attempts, next attempt time and payloads already sent;
 *   opening the file again hands every pending row back in id order, which is dispatch
 *   order, so a resolution still follows its firing after a crash.
 * - Dead letters stay on disk (the newest `deadLetterLimit`) with the issue, and can be
 *   replayed; a replayed row gets a new id and goes to the back of the queue.
 * - One owner: the file is opened in exclusive locking mode, so a second process cannot
 *   deliver the same rows while the first lives; the lock dies with the process.
 *
 * Destination configs are not written (they hold secrets): a resumed row goes to the
 * current config of its destination name.
 *
 * @example Deliveries outlive the dispatcher
 * ```ts
 * import { openOutbox } from "./outbox.ts";
 * import { IssueSchema } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * const issue = IssueSchema.parse({
 *   id: "1", fingerprint: "f1", aggregationKey: "Oom", type: "alert", source: "prometheus",
 *   title: "Pod OOMKilled", severity: "HIGH", status: "firing",
 *   startsAt: "2026-03-01T10:00:00Z", createdAt: "2026-03-01T10:00:01Z",
 * });
 * const first = openOutbox({ path: `${dir}/state.db` });
 * first.add({ issue, destination: "slack" });
 * first.close();
 * const second = openOutbox({ path: `${dir}/state.db` });
 * assert.equal(second.take("slack", new Set())?.issue.fingerprint, "f1");
 * second.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { IssueSchema } from "@cano/sdk";
import type { DeadLetter, DeliveryQueue, NewDelivery, QueuedDelivery } from "./dispatcher.ts";
import { createWaitingLists } from "./_waiting.ts";

/** Longest a delivered row waits to be deleted with others in one transaction. */
export const COMPLETE_BATCH_MS = 10;
/** Deleted rows that make a batch go at once. */
export const COMPLETE_BATCH_SIZE = 256;
/** Free pages handed back to the file system after this many deliveries. */
export const OUTBOX_VACUUM_EVERY = 1000;

/** Options of {@linkcode openOutbox}. */
export interface OutboxOptions {
  /** The SQLite file, created when missing; or an open database to share. */
  path: string | DatabaseSync;
  /** Dead letters kept; the oldest go first. @default 1000 */
  deadLetterLimit?: number;
  /** `full` syncs every write to disk; `normal` survives a process crash, not power loss. @default "full" */
  synchronous?: "full" | "normal";
  /** Clock in ms. @default Date.now */
  now?: () => number;
}

/** The durable outbox: a delivery queue plus the file it owns. */
export interface Outbox extends DeliveryQueue {
  /** Closes the file when the outbox opened it. Rows stay for the next start. */
  close(): void;
}

/**
 * Opens a SQLite state file as Cano uses it: WAL journal, exclusive lock, bounded WAL.
 *
 * @param path The file, created when missing.
 * @param options `synchronous`: see {@linkcode OutboxOptions.synchronous}.
 * @returns The open database.
 * @throws {Error} When the file cannot be opened or another process holds it.
 */
export function openStateDatabase(
  path: string,
  { synchronous = "full" }: { synchronous?: "full" | "normal" } = {},
): DatabaseSync {
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `Cannot open state database "${path}": ${reason} (check that its directory exists and is writable)`,
    );
  }
  try {
    db.exec(`
      PRAGMA locking_mode = EXCLUSIVE;
      PRAGMA auto_vacuum = INCREMENTAL;
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = ${synchronous === "full" ? "FULL" : "NORMAL"};
      PRAGMA journal_size_limit = 67108864;
      PRAGMA busy_timeout = 0;
      PRAGMA temp_store = MEMORY;
    `);
    // temp_store: the savepoint journals of grouped commits (see intake.ts) stay in memory
    // instead of being written to a temporary file page by page; they only serve a rollback
    // inside an open transaction, so durability is unchanged.
    // Takes the exclusive lock now rather than at the first write.
    db.exec("BEGIN IMMEDIATE; COMMIT;");
  } catch (error) {
    db.close();
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`Cannot open state database "${path}": ${reason}`);
  }
  return db;
}

/**
 * Opens (or creates) the outbox and loads its pending rows.
 *
 * @param options File, dead-letter bound, sync mode and clock.
 * @returns The outbox, to pass as the dispatcher's `queue`.
 * @throws {RangeError} When `deadLetterLimit` is not an integer >= 0.
 * @throws {Error} When the file cannot be opened.
 */
export function openOutbox(
  { path, deadLetterLimit = 1000, synchronous = "full", now = Date.now }: OutboxOptions,
): Outbox {
  if (!Number.isInteger(deadLetterLimit) || deadLetterLimit < 0) {
    throw new RangeError(
      `Cannot open outbox: deadLetterLimit must be an integer >= 0, got ${deadLetterLimit}`,
    );
  }
  const owned = typeof path === "string";
  const db = owned ? openStateDatabase(path, { synchronous }) : path;
  db.exec(`
    CREATE TABLE IF NOT EXISTS outbox (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      destination TEXT NOT NULL,
      fingerprint TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('pending', 'dead')),
      attempts INTEGER NOT NULL DEFAULT 0,
      next_attempt_ms INTEGER NOT NULL,
      sent INTEGER NOT NULL DEFAULT 0,
      reason TEXT,
      dead_at TEXT,
      issue TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS outbox_status_id ON outbox (status, id);
  `);
  const insert = db.prepare(
    `INSERT INTO outbox (destination, fingerprint, status, attempts, next_attempt_ms, sent,
       reason, dead_at, issue) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const progress = db.prepare(
    "UPDATE outbox SET attempts = ?, next_attempt_ms = ?, sent = ? WHERE id = ?",
  );
  const remove = db.prepare("DELETE FROM outbox WHERE id = ?");
  const markDead = db.prepare(
    "UPDATE outbox SET status = 'dead', reason = ?, dead_at = ?, attempts = ? WHERE id = ?",
  );
  const pruneDead = db.prepare(
    `DELETE FROM outbox WHERE status = 'dead' AND id NOT IN
       (SELECT id FROM outbox WHERE status = 'dead' ORDER BY id DESC LIMIT ?)`,
  );
  const selectDead = db.prepare(
    "SELECT id, destination, fingerprint, reason, dead_at FROM outbox WHERE status = 'dead' ORDER BY id",
  );
  const selectRow = db.prepare("SELECT * FROM outbox WHERE id = ?");
  // Stepped to the end with all(): exec() stops after the first page.
  const vacuum = db.prepare("PRAGMA incremental_vacuum");

  const waiting = createWaitingLists<QueuedDelivery>();
  let removed = 0;

  const enqueue = (delivery: QueuedDelivery) => waiting.add(delivery);

  const transaction = <T>(work: () => T): T => {
    // Inside a caller's transaction (the engine's intake batch), join it.
    if (db.isTransaction) return work();
    db.exec("BEGIN IMMEDIATE");
    try {
      const result = work();
      db.exec("COMMIT");
      return result;
    } catch (error) {
      db.exec("ROLLBACK");
      throw error;
    }
  };

  let completed: number[] = [];
  let completeTimer: ReturnType<typeof setTimeout> | undefined;
  const flushCompleted = () => {
    clearTimeout(completeTimer);
    completeTimer = undefined;
    if (completed.length === 0 || !db.isOpen) return;
    const ids = completed;
    completed = [];
    transaction(() => {
      for (const id of ids) remove.run(id);
    });
    const before = removed;
    removed += ids.length;
    if (Math.floor(removed / OUTBOX_VACUUM_EVERY) > Math.floor(before / OUTBOX_VACUUM_EVERY)) {
      vacuum.all();
    }
  };

  /** Turns a stored row back into a delivery; rows whose issue no longer parses die. */
  const revive = (row: Record<string, unknown>): QueuedDelivery | undefined => {
    const parsed = IssueSchema.safeParse(JSON.parse(String(row.issue)));
    if (!parsed.success) {
      const reason = `Cannot read stored issue: ${parsed.error.message}`;
      markDead.run(reason, new Date(now()).toISOString(), Number(row.attempts), Number(row.id));
      return undefined;
    }
    return {
      id: Number(row.id),
      issue: parsed.data,
      destination: String(row.destination),
      attempts: Number(row.attempts),
      nextAttemptMs: Number(row.next_attempt_ms),
      sent: Number(row.sent),
    };
  };

  /** Moves dead row `id` to the back of the queue as a fresh pending row. */
  const requeue = (id: number): QueuedDelivery | undefined => {
    const row = selectRow.get(id);
    if (!row || row.status !== "dead") return undefined;
    const issue = String(row.issue);
    const { lastInsertRowid } = insert.run(
      String(row.destination),
      String(row.fingerprint),
      "pending",
      0,
      now(),
      0,
      null,
      null,
      issue,
    );
    remove.run(id);
    return revive({ ...row, id: lastInsertRowid, attempts: 0, next_attempt_ms: now(), sent: 0 });
  };

  for (const row of db.prepare("SELECT * FROM outbox WHERE status = 'pending' ORDER BY id").all()) {
    const delivery = revive(row);
    if (delivery) enqueue(delivery);
  }

  return {
    durable: true,
    add({ issue, destination }: NewDelivery): QueuedDelivery {
      const nextAttemptMs = now();
      const { lastInsertRowid } = insert.run(
        destination,
        issue.fingerprint,
        "pending",
        0,
        nextAttemptMs,
        0,
        null,
        null,
        JSON.stringify(issue),
      );
      const delivery = {
        id: Number(lastInsertRowid),
        issue,
        destination,
        attempts: 0,
        nextAttemptMs,
        sent: 0,
      };
      enqueue(delivery);
      return delivery;
    },
    take: (destination, busy) => waiting.take(destination, busy),
    retry({ id, attempts, nextAttemptMs, sent }) {
      progress.run(attempts, nextAttemptMs, sent, id);
    },
    complete({ id }) {
      // Deletes are coalesced for up to COMPLETE_BATCH_MS: one disk sync for many deliveries.
      // A crash inside that window sends those few again (at-least-once), never loses one.
      completed.push(id);
      if (completed.length >= COMPLETE_BATCH_SIZE) flushCompleted();
      else if (completeTimer === undefined) {
        const timer = setTimeout(flushCompleted, COMPLETE_BATCH_MS);
        Deno.unrefTimer(timer);
        completeTimer = timer;
      }
    },
    bury(delivery, { reason, at }) {
      transaction(() => {
        if ("id" in delivery) {
          markDead.run(reason, at, delivery.attempts, delivery.id);
        } else {
          insert.run(
            delivery.destination,
            delivery.issue.fingerprint,
            "dead",
            0,
            now(),
            0,
            reason,
            at,
            JSON.stringify(delivery.issue),
          );
        }
        pruneDead.run(deadLetterLimit);
      });
    },
    deadLetters(): DeadLetter[] {
      return selectDead.all().map((row) => ({
        id: Number(row.id),
        destination: String(row.destination),
        fingerprint: String(row.fingerprint),
        reason: String(row.reason),
        at: String(row.dead_at),
      }));
    },
    replay(id) {
      const ids = id === undefined ? selectDead.all().map((row) => Number(row.id)) : [id];
      const revived = transaction(() => ids.map(requeue).filter((d) => d !== undefined));
      for (const delivery of revived) enqueue(delivery);
      return revived;
    },
    destinations: () => waiting.destinations(),
    size: (destination) => waiting.size(destination),
    clear: () => waiting.clear(),
    close() {
      waiting.clear();
      if (!db.isOpen) return;
      flushCompleted();
      vacuum.all();
      if (owned) db.close();
    },
  };
}
