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
 * issues (a crash-looping pod replaced by a rollout no longer crash-loops).
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

interface GateRecord {
  status: Issue["status"];
  startsAt: string;
  issue: Issue;
  objectKey: string;
}

/** Options of {@linkcode createIssueGate}. */
export interface IssueGateOptions {
  /** Fingerprints remembered; the least recently used are forgotten. @default 100_000 */
  maxEntries?: number;
}

/** Decides which detector output is delivered. */
export interface IssueGate {
  /**
   * Checks an issue and records it when it passes.
   *
   * @param issue What a detector produced.
   * @param objectKey The object it is about (uid), for {@linkcode IssueGate.release}.
   * @returns The issue to deliver, or undefined to drop it.
   */
  admit(issue: Issue, objectKey: string): Issue | undefined;
  /**
   * Resolves the open stateful issues of a deleted object and forgets the object. The
   * returned issues are already recorded: deliver them without {@linkcode IssueGate.admit}.
   *
   * @param objectKey The object's key.
   * @param options Clock and id generator for the resolved issues.
   * @returns The resolved issues to deliver.
   */
  release(objectKey: string, options: { now: number; newId: () => string }): Issue[];
  /** How many fingerprints are open. */
  open(): number;
}

/**
 * Creates an issue gate.
 *
 * @param options Size bound.
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
export function createIssueGate({ maxEntries = 100_000 }: IssueGateOptions = {}): IssueGate {
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new RangeError(
      `Cannot create issue gate: maxEntries must be a positive integer, got ${maxEntries}`,
    );
  }
  const records = new Map<string, GateRecord>();
  const byObject = new Map<string, Set<string>>();
  let openCount = 0;

  const forget = (fingerprint: string) => {
    const record = records.get(fingerprint);
    if (!record) return;
    records.delete(fingerprint);
    if (record.status === "firing" && STATEFUL_AGGREGATION_KEYS.has(record.issue.aggregationKey)) {
      openCount--;
    }
    const keys = byObject.get(record.objectKey);
    keys?.delete(fingerprint);
    if (keys?.size === 0) byObject.delete(record.objectKey);
  };

  const remember = (record: GateRecord) => {
    forget(record.issue.fingerprint);
    records.set(record.issue.fingerprint, record);
    if (record.status === "firing" && STATEFUL_AGGREGATION_KEYS.has(record.issue.aggregationKey)) {
      openCount++;
    }
    let keys = byObject.get(record.objectKey);
    if (!keys) byObject.set(record.objectKey, keys = new Set());
    keys.add(record.issue.fingerprint);
    while (records.size > maxEntries) {
      const oldest = records.keys().next();
      if (oldest.done) break;
      forget(oldest.value);
    }
  };

  return {
    admit(issue, objectKey) {
      const record = records.get(issue.fingerprint);
      if (issue.status === "firing") {
        if (record?.startsAt === issue.startsAt) return undefined;
        if (
          record?.status === "firing" && STATEFUL_AGGREGATION_KEYS.has(issue.aggregationKey)
        ) return undefined;
        remember({ status: "firing", startsAt: issue.startsAt, issue, objectKey });
        return issue;
      }
      if (record?.status !== "firing") return undefined;
      const resolved = { ...issue, startsAt: record.startsAt };
      remember({ status: "resolved", startsAt: record.startsAt, issue: resolved, objectKey });
      return resolved;
    },
    release(objectKey, { now, newId }) {
      const out: Issue[] = [];
      for (const fingerprint of [...byObject.get(objectKey) ?? []]) {
        const record = records.get(fingerprint);
        if (
          !record || record.status !== "firing" ||
          !STATEFUL_AGGREGATION_KEYS.has(record.issue.aggregationKey)
        ) continue;
        const time = new Date(now).toISOString();
        const subject = record.issue.subject;
        const name = subject ? `${subject.kind} ${subject.name}` : "The object";
        const resolved: Issue = {
          ...record.issue,
          id: newId(),
          status: "resolved",
          title: `${name} was deleted: ${record.issue.title}`,
          endsAt: time,
          createdAt: time,
        };
        remember({ status: "resolved", startsAt: record.startsAt, issue: resolved, objectKey });
        out.push(resolved);
      }
      for (const fingerprint of [...byObject.get(objectKey) ?? []]) forget(fingerprint);
      return out;
    },
    open: () => openCount,
  };
}
