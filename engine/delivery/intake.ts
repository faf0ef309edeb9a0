/**
 * The intake journal: every accepted Issue is written down before the webhook answers 2xx,
 * and crossed off once routing has handed it to the outbox (or decided it goes nowhere).
 *
 * Between the answer and routing, workflows run for up to their deadline; a crash there
 * would lose an alert Alertmanager believes delivered. With the journal on the state file,
 * the next start runs every uncrossed Issue through the workflows again, so the alert is
 * delivered at least once. The memory journal keeps nothing and exists so the engine has
 * one code path.
 *
 * @example An Issue recorded and not crossed off comes back after a restart
 * ```ts
 * import { openIntake } from "./intake.ts";
 * import { openStateDatabase } from "./outbox.ts";
 * import { IssueSchema } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * const issue = IssueSchema.parse({
 *   id: "1", fingerprint: "f1", aggregationKey: "Oom", type: "alert", source: "prometheus",
 *   title: "Pod OOMKilled", severity: "HIGH", status: "firing",
 *   startsAt: "2026-03-01T10:00:00Z", createdAt: "2026-03-01T10:00:01Z",
 * });
 * let db = openStateDatabase(`${dir}/state.db`);
 * openIntake(db).record(issue);
 * db.close();
 * db = openStateDatabase(`${dir}/state.db`);
 * const [pending] = openIntake(db).pending().entries;
 * assert.equal(pending?.issue.fingerprint, "f1");
 * db.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import { type Issue, IssueSchema } from "@cano/sdk";

/** An Issue accepted and not yet routed. */
export interface IntakeEntry {
  /** Journal id, to cross the entry off. */
  readonly id: number;
  /** The Issue as the source normalized it, before workflows. */
  readonly issue: Issue;
}

/** Where accepted Issues wait for routing. */
export interface IntakeJournal {
  /** Whether entries outlive the process. */
  readonly durable: boolean;
  /** Writes an accepted Issue down; returns its id. Throws when the write fails. */
  record(issue: Issue): number;
  /** Crosses an entry off once its Issue is routed. */
  done(id: number): void;
  /**
   * Entries written by an earlier process and never crossed off, oldest first, and how
   * many rows this version cannot read (kept for an operator; never retried).
   */
  pending(): { entries: IntakeEntry[]; unreadable: number };
  /**
   * Runs `write` in one transaction: all its records land, or none. Committed before it
   * returns, together with any {@linkcode IntakeJournal.batchSoon} work still open.
   */
  batch<T>(write: () => T): T;
  /**
   * Runs `write` as one unit (all its writes land, or none) of a shared transaction that
   * is committed within {@linkcode GROUP_COMMIT_MS}, by the next `batch`, or by `flush`:
   * one commit for the routing of many Issues. For writes whose loss in a crash is made
   * good by the journal (an entry crossed off with its outbox rows: both or neither).
   */
  batchSoon<T>(write: () => T): T;
  /** Commits the open `batchSoon` work now (before closing the database). */
  flush(): void;
}

/** Longest a {@linkcode IntakeJournal.batchSoon} unit waits for its commit. */
export const GROUP_COMMIT_MS = 2;

/**
 * A journal that keeps nothing: for engines without `delivery.state`.
 *
 * @returns The journal.
 * @example
 * ```ts
 * import { createMemoryIntake } from "./intake.ts";
 * import assert from "node:assert/strict";
 *
 * const intake = createMemoryIntake();
 * assert.equal(intake.durable, false);
 * assert.deepEqual(intake.pending(), { entries: [], unreadable: 0 });
 * ```
 */
export function createMemoryIntake(): IntakeJournal {
  let lastId = 0;
  return {
    durable: false,
    record: () => ++lastId,
    done() {
      // Nothing was written.
    },
    pending: () => ({ entries: [], unreadable: 0 }),
    batch: (write) => write(),
    batchSoon: (write) => write(),
    flush() {
      // Nothing is written.
    },
  };
}

/** Options of {@linkcode openIntake}. */
export interface IntakeOptions {
  /** Told when a group commit of `batchSoon` work fails and was rolled back. */
  onCommitError?: (error: unknown) => void;
}

/**
 * Opens the journal in a state database (see `openStateDatabase` in `./outbox.ts`).
 *
 * @param db The open state database, shared with the outbox and the dedupe store.
 * @param options Where failed group commits are reported.
 * @returns The journal.
 * @throws {Error} When the table cannot be created.
 */
export function openIntake(db: DatabaseSync, options: IntakeOptions = {}): IntakeJournal {
  db.exec(`
    CREATE TABLE IF NOT EXISTS intake (
      id INTEGER PRIMARY KEY AUTOINCREMENT,
      received_ms INTEGER NOT NULL,
      issue TEXT NOT NULL
    );
  `);
  const insert = db.prepare("INSERT INTO intake (received_ms, issue) VALUES (?, ?)");
  const remove = db.prepare("DELETE FROM intake WHERE id = ?");
  const all = db.prepare("SELECT id, issue FROM intake ORDER BY id");
  let depth = 0;
  // Whether the open transaction is the shared one of batchSoon, and its commit timer.
  let group = false;
  let groupTimer: ReturnType<typeof setTimeout> | undefined;
  /** Runs `write` in a savepoint of the open transaction: a failure undoes it alone. */
  const unit = <T>(write: () => T): T => {
    depth++;
    db.exec("SAVEPOINT intake_unit");
    try {
      const result = write();
      db.exec("RELEASE intake_unit");
      return result;
    } catch (error) {
      db.exec("ROLLBACK TO intake_unit");
      db.exec("RELEASE intake_unit");
      throw error;
    } finally {
      depth--;
    }
  };
  /** Commits the shared transaction; throws when the commit fails (after a rollback). */
  const commitGroup = () => {
    clearTimeout(groupTimer);
    groupTimer = undefined;
    if (!group) return;
    group = false;
    if (!db.isOpen || !db.isTransaction) return;
    try {
      db.exec("COMMIT");
    } catch (error) {
      if (db.isTransaction) db.exec("ROLLBACK");
      throw error;
    }
  };
  const commitLater = () => {
    try {
      commitGroup();
    } catch (error) {
      // The units are undone: their entries stay in the journal and run again at start.
      options.onCommitError?.(error);
    }
  };
  return {
    durable: true,
    record(issue) {
      return Number(insert.run(Date.now(), JSON.stringify(issue)).lastInsertRowid);
    },
    done(id) {
      remove.run(id);
    },
    pending() {
      const entries: IntakeEntry[] = [];
      let unreadable = 0;
      for (const row of all.all()) {
        const parsed = IssueSchema.safeParse(parseJson(String(row.issue)));
        if (parsed.success) entries.push({ id: Number(row.id), issue: parsed.data });
        else unreadable++;
      }
      return { entries, unreadable };
    },
    batch(write) {
      // Nested batches join the outer transaction.
      if (depth > 0 || (db.isTransaction && !group)) return write();
      if (group) {
        // Lands with the open batchSoon work, in the same commit.
        const result = unit(write);
        commitGroup();
        return result;
      }
      depth++;
      db.exec("BEGIN IMMEDIATE");
      try {
        const result = write();
        db.exec("COMMIT");
        return result;
      } catch (error) {
        if (db.isTransaction) db.exec("ROLLBACK");
        throw error;
      } finally {
        depth--;
      }
    },
    batchSoon(write) {
      if (depth > 0 || (db.isTransaction && !group)) return write();
      if (!group) {
        db.exec("BEGIN IMMEDIATE");
        group = true;
        groupTimer = setTimeout(commitLater, GROUP_COMMIT_MS);
      }
      return unit(write);
    },
    flush: commitGroup,
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (_error) {
    // Counted as unreadable by the caller.
    return undefined;
  }
}
