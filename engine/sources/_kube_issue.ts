/**
 * Shared parts of the Kubernetes detectors: the options every detector takes, stable
 * fingerprints, timestamps, and one builder that turns a draft into a valid `Issue`.
 *
 * Folder-private: only `engine/sources/*` imports it.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { Enrichment, Issue, IssueStatus, IssueType, Link, Severity, Subject } from "@cano/sdk";
import type { KubeObject } from "../kubernetes/api.ts";

/** Options every detector takes. */
export interface DetectorOptions {
  /** Cluster name, stamped on the issue and part of every fingerprint. @default undefined */
  cluster?: string;
  /** Clock. @default Date.now */
  now?: () => number;
  /**
   * When `previous` was evaluated (ms since the epoch), for conditions that depend on how
   * long they last. A periodic re-check passes the same object as `previous` and `next`
   * with the time of the last check here. @default now()
   */
  previousAt?: number;
  /**
   * Start of the watch (ms since the epoch). A past fact (an OOM kill, a failed Job, a
   * failed Helm revision, an Event) on an object seen for the first time is only reported
   * when it happened at or after this time. @default undefined (report every fact)
   */
  since?: number;
  /** Id generator. @default crypto.randomUUID */
  newId?: () => string;
}

/** What a detector fills in; {@linkcode buildIssue} adds the rest. */
export interface IssueDraft {
  /** The parts hashed into the fingerprint after the cluster: kind, namespace, name, ... */
  key: readonly (string | undefined)[];
  /** Trigger name, e.g. `pod_oom_killed`. */
  aggregationKey: string;
  /** `kubernetes` unless set. */
  source?: string;
  /** `event` unless set. */
  type?: IssueType;
  /** One line. */
  title: string;
  /** More detail. */
  description?: string | undefined;
  /** Severity. */
  severity: Severity;
  /** Firing or resolved. */
  status: IssueStatus;
  /** The object. */
  subject: Subject;
  /** Labels; undefined values are left out. */
  labels?: Record<string, string | number | undefined>;
  /** Annotations; undefined and empty values are left out. */
  annotations?: Record<string, string | number | undefined>;
  /** When the condition started (ms); `now` when unknown. */
  startsAt?: number | undefined;
  /** Links. */
  links?: Link[];
  /** Enrichments added by the source itself (a change diff). */
  enrichments?: Enrichment[];
  /** The original object part, never secrets. */
  raw?: unknown;
}

/**
 * The stable fingerprint of a condition: the first 16 hex digits of the SHA-256 of its parts.
 *
 * @param cluster The cluster name, if any.
 * @param key Kind, namespace, name, container, condition...
 * @returns 16 hex digits, the same across restarts and relists.
 */
export function fingerprintOf(
  cluster: string | undefined,
  key: readonly (string | undefined)[],
): string {
  return createHash("sha256").update([cluster ?? "", ...key.map((p) => p ?? "")].join("\u0000"))
    .digest("hex").slice(0, 16);
}

/**
 * Builds a valid issue from a draft.
 *
 * @param draft What the detector found.
 * @param options Cluster, clock and id generator.
 * @returns The issue; `endsAt` is `now` when resolved.
 */
export function buildIssue(draft: IssueDraft, options: DetectorOptions): Issue {
  const { cluster, now = Date.now, newId = () => crypto.randomUUID() } = options;
  const time = now();
  const issue: Issue = {
    id: newId(),
    fingerprint: fingerprintOf(cluster, draft.key),
    aggregationKey: draft.aggregationKey,
    type: draft.type ?? "event",
    source: draft.source ?? "kubernetes",
    title: draft.title,
    severity: draft.severity,
    status: draft.status,
    subject: draft.subject,
    labels: compact(draft.labels),
    annotations: compact(draft.annotations),
    startsAt: new Date(draft.startsAt ?? time).toISOString(),
    createdAt: new Date(time).toISOString(),
    links: draft.links ?? [],
    enrichments: draft.enrichments ?? [],
  };
  if (cluster) issue.cluster = cluster;
  if (draft.description) issue.description = draft.description;
  if (draft.status === "resolved") issue.endsAt = new Date(time).toISOString();
  if (draft.raw !== undefined) issue.raw = draft.raw;
  return issue;
}

function compact(map: Record<string, string | number | undefined> = {}): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(map)) {
    if (value !== undefined && value !== "") out[key] = String(value);
  }
  return out;
}

/**
 * Parses an RFC 3339 time.
 *
 * @param value The text, or anything else.
 * @returns Milliseconds since the epoch, or undefined when absent or invalid.
 */
export function parseTime(value: unknown): number | undefined {
  if (typeof value !== "string" || value === "") return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : time;
}

/**
 * Tells whether a fact on a newly seen object is old enough to skip (before `since`).
 *
 * @param previous The previous object, or undefined when it is new.
 * @param time When the fact happened, if known.
 * @param since Start of the watch.
 * @returns Whether to skip it.
 */
export function isPastFact(
  previous: unknown,
  time: number | undefined,
  since: number | undefined,
): boolean {
  if (previous !== undefined || since === undefined) return false;
  return time === undefined || time < since;
}

/** A status condition as most kinds have it. */
export interface KubeCondition {
  /** e.g. `Ready`, `Failed`, `Progressing`. */
  type: string;
  /** `True`, `False` or `Unknown`. */
  status: string;
  /** CamelCase reason. */
  reason?: string;
  /** Human text. */
  message?: string;
  /** When the status last changed. */
  lastTransitionTime?: string;
  /** When the condition was last updated (Deployments). */
  lastUpdateTime?: string;
}

/**
 * Reads a condition from `status.conditions`.
 *
 * @param object A Kubernetes object.
 * @param type The condition type.
 * @returns The condition, if present.
 */
export function conditionOf(
  object: KubeObject | undefined,
  type: string,
): KubeCondition | undefined {
  const status = object?.["status"] as { conditions?: KubeCondition[] } | undefined;
  return status?.conditions?.find((c) => c.type === type);
}

/**
 * `namespace/name`, or `name` for cluster-scoped objects.
 *
 * @param object A Kubernetes object.
 * @returns The display name.
 */
export function displayName(object: KubeObject): string {
  const { namespace, name = "?" } = object.metadata ?? {};
  return namespace ? `${namespace}/${name}` : name;
}

/**
 * The subject of an object.
 *
 * @param kind The kind (objects from a watch may lack it).
 * @param object The object.
 * @param extra Node and container.
 * @returns The subject.
 */
export function subjectOf(
  kind: string,
  object: KubeObject,
  extra: { node?: string | undefined; container?: string | undefined } = {},
): Subject {
  const subject: Subject = { kind, name: object.metadata?.name ?? "?" };
  if (object.metadata?.namespace) subject.namespace = object.metadata.namespace;
  if (extra.node) subject.node = extra.node;
  if (extra.container) subject.container = extra.container;
  return subject;
}

/**
 * The controller owner of an object.
 *
 * @param object A Kubernetes object.
 * @returns Kind and name, if it has a controller.
 */
export function controllerOf(object: KubeObject): { kind: string; name: string } | undefined {
  const owner = object.metadata?.ownerReferences?.find((o) => o.controller) ??
    object.metadata?.ownerReferences?.[0];
  return owner ? { kind: owner.kind, name: owner.name } : undefined;
}
