/**
 * An {@linkcode IssueGateStore} in the state file (`delivery.state`), so the Kubernetes
 * sources' gate remembers across a restart what it delivered: a pod still crash-looping is
 * not reported again, and its resolution (even a deletion while Cano was down) is delivered
 * because the gate still knows the condition is open.
 *
 * Table `kube_gate`: one row per fingerprint with its status, `startsAt`, object key, the
 * watch that saw it, the last delivered issue as JSON and the time of the last write. Rows
 * are ordered by a sequence number bumped on every write; past `maxEntries` the least
 * recently written go first. It shares the engine's handle (`openStateDatabase()` in
 * `../delivery/outbox.ts`); statements are prepared once.
 *
 * @example An open condition survives a restart
 * ```ts
 * import { openSqliteGateStore } from "./_issue_gate_sqlite.ts";
 * import { createIssueGate } from "./_issue_gate.ts";
 * import { openStateDatabase } from "../delivery/outbox.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * const issue = {
 *   id: "1", fingerprint: "f", aggregationKey: "pod_crash_loop", type: "event" as const,
 *   source: "kubernetes", title: "Pod p is crash-looping", severity: "HIGH" as const,
 *   status: "firing" as const, labels: {}, annotations: {}, links: [], enrichments: [],
 *   startsAt: "2026-03-01T10:40:12.000Z", createdAt: "2026-03-01T10:40:13.000Z",
 * };
 * let db = openStateDatabase(`${dir}/state.db`);
 * assert.ok(createIssueGate({ store: openSqliteGateStore(db) }).admit(issue, "pod-uid"));
 * db.close();
 * db = openStateDatabase(`${dir}/state.db`);
 * const gate = createIssueGate({ store: openSqliteGateStore(db) });
 * assert.equal(gate.admit({ ...issue, id: "2", startsAt: "2026-03-01T11:00:00.000Z" }, "pod-uid"), undefined);
 * assert.equal(gate.release("pod-uid", { now: Date.now(), newId: () => "3" }).length, 1);
 * db.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */
import type { Issue } from "@cano/sdk";
import type { DatabaseSync } from "node:sqlite";
import {
  checkGateLimit,
  GATE_STORE_LIMIT,
  type GateRecord,
  isOpenRecord,
  type IssueGateStore,
} from "./_issue_gate.ts";

/** Options of {@linkcode openSqliteGateStore}. */
export interface SqliteGateStoreOptions {
  /** Records kept; the least recently written go first. @default 100_000 */
  maxEntries?: number;
  /** Clock for the `updated_ms` column. @default Date.now */
  now?: () => number;
}

/**
 * Opens the gate store in a state database, creating its table when missing.
 *
 * @param db The open state database (shared with the outbox and the other stores).
 * @param options Bound and clock.
 * @returns The store. Its methods throw when the database is closed or a write fails.
 * @throws {RangeError} When `maxEntries` is not a positive integer.
 * @throws {Error} When the table cannot be created.
 */
export function openSqliteGateStore(
  db: DatabaseSync,
  { maxEntries = GATE_STORE_LIMIT, now = Date.now }: SqliteGateStoreOptions = {},
): IssueGateStore {
  checkGateLimit(maxEntries);
  db.exec(`
    CREATE TABLE IF NOT EXISTS kube_gate (
      fingerprint TEXT PRIMARY KEY,
      status TEXT NOT NULL,
      starts_at TEXT NOT NULL,
      object_key TEXT NOT NULL,
      scope TEXT,
      open INTEGER NOT NULL,
      issue TEXT NOT NULL,
      updated_ms INTEGER NOT NULL,
      seq INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS kube_gate_object ON kube_gate (object_key);
    CREATE UNIQUE INDEX IF NOT EXISTS kube_gate_seq ON kube_gate (seq);
    CREATE INDEX IF NOT EXISTS kube_gate_open ON kube_gate (scope) WHERE open = 1;
  `);
  const columns = "fingerprint, status, starts_at, object_key, scope, issue";
  const select = db.prepare(`SELECT ${columns} FROM kube_gate WHERE fingerprint = ?`);
  const update = db.prepare(
    `UPDATE kube_gate SET status = ?, starts_at = ?, object_key = ?, scope = ?, open = ?,
       issue = ?, updated_ms = ?, seq = ? WHERE fingerprint = ?`,
  );
  const insert = db.prepare(
    `INSERT INTO kube_gate (status, starts_at, object_key, scope, open, issue, updated_ms, seq,
       fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const remove = db.prepare("DELETE FROM kube_gate WHERE fingerprint = ?");
  const ofObject = db.prepare(`SELECT ${columns} FROM kube_gate WHERE object_key = ?`);
  const openInScope = db.prepare(
    `SELECT ${columns} FROM kube_gate WHERE open = 1 AND scope = ?`,
  );
  const countOpen = db.prepare("SELECT count(*) AS n FROM kube_gate WHERE open = 1");
  const count = db.prepare("SELECT count(*) AS n FROM kube_gate");
  const trim = db.prepare(
    `DELETE FROM kube_gate WHERE seq IN (SELECT seq FROM kube_gate ORDER BY seq LIMIT ?)`,
  );
  let seq = Number(db.prepare("SELECT max(seq) AS seq FROM kube_gate").get()?.seq ?? 0);
  // Counted once, then kept in step; counted again now and then, since a write may join a
  // transaction of the outbox or the intake that is rolled back.
  let size = Number(count.get()?.n ?? 0);
  let writes = 0;

  const record = (row: Record<string, unknown>): GateRecord | undefined => {
    let issue: Issue;
    try {
      issue = JSON.parse(String(row.issue)) as Issue;
    } catch (_error) {
      // A damaged row costs one repeat of the condition, not the gate.
      return undefined;
    }
    return {
      status: row.status === "resolved" ? "resolved" : "firing",
      startsAt: String(row.starts_at),
      issue,
      objectKey: String(row.object_key),
      ...(typeof row.scope === "string" ? { scope: row.scope } : {}),
    };
  };
  const records = (rows: Record<string, unknown>[]) => rows.flatMap((row) => record(row) ?? []);

  return {
    durable: true,
    get(fingerprint) {
      const row = select.get(fingerprint);
      return row ? record(row) : undefined;
    },
    set(entry) {
      const values = [
        entry.status,
        entry.startsAt,
        entry.objectKey,
        entry.scope ?? null,
        isOpenRecord(entry) ? 1 : 0,
        JSON.stringify(entry.issue),
        now(),
        ++seq,
        entry.issue.fingerprint,
      ] as const;
      if (Number(update.run(...values).changes) === 0) {
        insert.run(...values);
        size++;
      }
      if (++writes % 1000 === 0) size = Number(count.get()?.n ?? 0);
      if (size > maxEntries) {
        trim.run(size - maxEntries);
        size = Number(count.get()?.n ?? 0);
      }
    },
    delete(fingerprint) {
      size -= Number(remove.run(fingerprint).changes);
    },
    byObject: (objectKey) => records(ofObject.all(objectKey)),
    openIn: (scope) => records(openInScope.all(scope)),
    open: () => Number(countOpen.get()?.n ?? 0),
    size: () => size,
  };
}
