/**
 * The runner's last line against duplicates: remembers, per fingerprint, what was
 * delivered, so a transition seen twice (a relist, a replayed watch event, a detector that
 * sees the same fact again) is delivered once, and a resolution is delivered only for an
 * issue that is open.
 *
 * Rules, per fingerprint:
 * - a firing issue with the `startsAt` already recorded is a replay: dropped;
 * - a firing issue of a *stateful* condition (one that resolves: crash loop, NotReady...)
 *   while that condition is open is the same episode: dropped;
 * - any other firing issue (a new OOM kill, a new Event occurrence) is delivered;
 * - a resolved issue is delivered only when the fingerprint is open, and carries the
 *   `startsAt` of the firing issue it resolves.
 *
 * When an object is deleted, {@linkcode IssueGate.release} resolves its open stateful
 * issues (a crash-looping pod replaced by a rollout no longer crash-loops); after a watch's
 * first list, {@linkcode IssueGate.sweep} resolves the open issues of objects that were
 * deleted while nobody watched (only a durable store remembers any).
 *
 * The records live in an {@linkcode IssueGateStore}: in memory by default
 * ({@linkcode createMemoryGateStore}), or in the state file (`./_issue_gate_sqlite.ts`) so
 * that a restart neither repeats an ongoing condition nor loses its resolution.
 *
 * @module
 */
import type { Issue } from "@cano/sdk";

/** Aggregation keys of conditions that end (and so can be open). */
export const STATEFUL_AGGREGATION_KEYS: ReadonlySet<string> = new Set([
  "pod_crash_loop",
  "image_pull_backoff",
  "pod_pending",
  "deployment_rollout_stuck",
  "deployment_unavailable",
  "node_not_ready",
  "node_pressure",
  "helm_release_pending",
]);

/** What the gate remembers of one fingerprint. */
export interface GateRecord {
  /** Status of the last delivered issue. */
  status: Issue["status"];
  /** `startsAt` of the firing issue the record is about. */
  startsAt: string;
  /** The last delivered issue. */
  issue: Issue;
  /** The object it is about (uid). */
  objectKey: string;
  /** The watch that saw the object (e.g. `pods`), for {@linkcode IssueGate.sweep}. */
  scope?: string;
}

/**
 * Whether a record is an open condition: firing, and of a kind that resolves.
 *
 * @param record The record.
 * @returns Whether it is open.
 * @example
 * ```ts
 * import { isOpenRecord } from "./_issue_gate.ts";
 * import assert from "node:assert/strict";
 *
 * const issue = { aggregationKey: "pod_crash_loop" } as import("@cano/sdk").Issue;
 * assert.ok(isOpenRecord({ status: "firing", startsAt: "", issue, objectKey: "u" }));
 * assert.ok(!isOpenRecord({ status: "resolved", startsAt: "", issue, objectKey: "u" }));
 * ```
 */
export function isOpenRecord(record: GateRecord): boolean {
  return record.status === "firing" && STATEFUL_AGGREGATION_KEYS.has(record.issue.aggregationKey);
}

/**
 * Where the gate keeps its records, keyed by the issue's fingerprint. Bounded: past its
 * size the least recently set records are forgotten.
 */
export interface IssueGateStore {
  /** Whether records outlive the process. */
  readonly durable: boolean;
  /** The record of a fingerprint. */
  get(fingerprint: string): GateRecord | undefined;
  /** Records (replaces) the record of `record.issue.fingerprint`, as the most recent. */
  set(record: GateRecord): void;
  /** Forgets a fingerprint. */
  delete(fingerprint: string): void;
  /** The records of one object. */
  byObject(objectKey: string): GateRecord[];
  /** The open records (see {@linkcode isOpenRecord}) seen by one watch. */
  openIn(scope: string): GateRecord[];
  /** How many records are open. */
  open(): number;
  /** How many records are kept. */
  size(): number;
}

/** Default bound of a gate store. */
export const GATE_STORE_LIMIT = 100_000;

/**
 * Checks a store bound.
 *
 * @param maxEntries The bound.
 * @throws {RangeError} When it is not a positive integer.
 */
export function checkGateLimit(maxEntries: number): void {
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new RangeError(
      `Cannot create issue gate: maxEntries must be a positive integer, got ${maxEntries}`,
    );
  }
}

/**
 * A bounded in-memory {@linkcode IssueGateStore}: forgotten on restart.
 *
 * @param maxEntries Records kept; the least recently set go first.
 * @returns The store.
 * @throws {RangeError} When `maxEntries` is not a positive integer.
 * @example
 * ```ts
 * import { createMemoryGateStore } from "./_issue_gate.ts";
 * import assert from "node:assert/strict";
 *
 * const store = createMemoryGateStore(1);
 * const issue = (fingerprint: string) =>
 *   ({ fingerprint, aggregationKey: "pod_crash_loop" }) as import("@cano/sdk").Issue;
 * store.set({ status: "firing", startsAt: "t", issue: issue("a"), objectKey: "u1" });
 * store.set({ status: "firing", startsAt: "t", issue: issue("b"), objectKey: "u2" });
 * assert.equal(store.get("a"), undefined);
 * assert.equal(store.open(), 1);
 * ```
 */
export function createMemoryGateStore(maxEntries: number = GATE_STORE_LIMIT): IssueGateStore {
  checkGateLimit(maxEntries);
  const records = new Map<string, GateRecord>();
  const objects = new Map<string, Set<string>>();
  let openCount = 0;
  const remove = (fingerprint: string) => {
    const record = records.get(fingerprint);
    if (!record) return;
    records.delete(fingerprint);
    if (isOpenRecord(record)) openCount--;
    const keys = objects.get(record.objectKey);
    keys?.delete(fingerprint);
    if (keys?.size === 0) objects.delete(record.objectKey);
  };
  return {
    durable: false,
    get: (fingerprint) => records.get(fingerprint),
    set(record) {
      const fingerprint = record.issue.fingerprint;
      remove(fingerprint);
      records.set(fingerprint, record);
      if (isOpenRecord(record)) openCount++;
      let keys = objects.get(record.objectKey);
      if (!keys) objects.set(record.objectKey, keys = new Set());
      keys.add(fingerprint);
      while (records.size > maxEntries) {
        const oldest = records.keys().next();
        if (oldest.done) break;
        remove(oldest.value);
      }
    },
    delete: remove,
    byObject: (objectKey) => [...objects.get(objectKey) ?? []].flatMap((f) => records.get(f) ?? []),
    openIn: (scope) => [...records.values()].filter((r) => r.scope === scope && isOpenRecord(r)),
    open: () => openCount,
    size: () => records.size,
  };
}

/** Options of {@linkcode createIssueGate}. */
export interface IssueGateOptions {
  /**
   * Fingerprints remembered by the default memory store; the least recently used are
   * forgotten. @default 100_000
   */
  maxEntries?: number;
  /** Where records live. @default createMemoryGateStore(maxEntries) */
  store?: IssueGateStore;
}

/** Clock and id generator for issues the gate makes itself. */
export interface GateResolveOptions {
  /** Time of the resolution, ms. */
  now: number;
  /** Id generator. */
  newId: () => string;
}

/** Decides which detector output is delivered. */
export interface IssueGate {
  /**
   * Checks an issue and records it when it passes.
   *
   * @param issue What a detector produced.
   * @param objectKey The object it is about (uid), for {@linkcode IssueGate.release}.
   * @param scope The watch that saw the object, for {@linkcode IssueGate.sweep}.
   * @returns The issue to deliver, or undefined to drop it.
   */
  admit(issue: Issue, objectKey: string, scope?: string): Issue | undefined;
  /**
   * Resolves the open stateful issues of a deleted object and forgets the object. The
   * returned issues are already recorded: deliver them without {@linkcode IssueGate.admit}.
   *
   * @param objectKey The object's key.
   * @param options Clock and id generator for the resolved issues.
   * @returns The resolved issues to deliver.
   */
  release(objectKey: string, options: GateResolveOptions): Issue[];
  /**
   * After a watch's first list: resolves, like {@linkcode IssueGate.release}, the open
   * issues that watch recorded for objects the list no longer holds (deleted while no one
   * watched: Cano was restarting or not the leader).
   *
   * @param scope The watch.
   * @param exists Whether the list holds an object.
   * @param options Clock and id generator for the resolved issues.
   * @returns The resolved issues to deliver.
   */
  sweep(
    scope: string,
    exists: (objectKey: string) => boolean,
    options: GateResolveOptions,
  ): Issue[];
  /** How many fingerprints are open. */
  open(): number;
}

/**
 * Creates an issue gate.
 *
 * @param options Store, or the size bound of the default memory store.
 * @returns The gate.
 * @throws {RangeError} When `maxEntries` is not a positive integer.
 * @example
 * ```ts
 * import { createIssueGate } from "./_issue_gate.ts";
 * import assert from "node:assert/strict";
 *
 * const gate = createIssueGate();
 * const issue = {
 *   id: "1", fingerprint: "f", aggregationKey: "node_not_ready", type: "event" as const,
 *   source: "kubernetes", title: "Node n is NotReady", severity: "HIGH" as const,
 *   status: "firing" as const, labels: {}, annotations: {}, links: [], enrichments: [],
 *   startsAt: "2026-03-01T10:40:12.000Z", createdAt: "2026-03-01T10:40:13.000Z",
 * };
 * assert.ok(gate.admit(issue, "node-uid"));
 * assert.equal(gate.admit({ ...issue, id: "2" }, "node-uid"), undefined);
 * const resolved = gate.admit({ ...issue, id: "3", status: "resolved", startsAt: "2026-03-01T10:50:00.000Z" }, "node-uid");
 * assert.equal(resolved?.startsAt, "2026-03-01T10:40:12.000Z");
 * ```
 */
export function createIssueGate(
  { maxEntries = GATE_STORE_LIMIT, store }: IssueGateOptions = {},
): IssueGate {
  const records = store ?? createMemoryGateStore(maxEntries);

  const resolveDeleted = (record: GateRecord, { now, newId }: GateResolveOptions): Issue => {
    const time = new Date(now).toISOString();
    const subject = record.issue.subject;
    const name = subject ? `${subject.kind} ${subject.name}` : "The object";
    return {
      ...record.issue,
      id: newId(),
      status: "resolved",
      title: `${name} was deleted: ${record.issue.title}`,
      endsAt: time,
      createdAt: time,
    };
  };

  const release = (objectKey: string, options: GateResolveOptions) => {
    // The object is gone: its records go too, so nothing of it is open any more.
    const all = records.byObject(objectKey);
    const out = all.filter(isOpenRecord).map((record) => resolveDeleted(record, options));
    for (const record of all) records.delete(record.issue.fingerprint);
    return out;
  };

  return {
    admit(issue, objectKey, scope) {
      const record = records.get(issue.fingerprint);
      const where = scope === undefined ? { objectKey } : { objectKey, scope };
      if (issue.status === "firing") {
        if (record?.startsAt === issue.startsAt) return undefined;
        if (
          record?.status === "firing" && STATEFUL_AGGREGATION_KEYS.has(issue.aggregationKey)
        ) return undefined;
        records.set({ status: "firing", startsAt: issue.startsAt, issue, ...where });
        return issue;
      }
      if (record?.status !== "firing") return undefined;
      const resolved = { ...issue, startsAt: record.startsAt };
      records.set({ status: "resolved", startsAt: record.startsAt, issue: resolved, ...where });
      return resolved;
    },
    release,
    sweep(scope, exists, options) {
      const gone = new Set(
        records.openIn(scope).map((r) => r.objectKey).filter((key) => !exists(key)),
      );
      return [...gone].flatMap((key) => release(key, options));
    },
    open: () => records.open(),
  };
}
