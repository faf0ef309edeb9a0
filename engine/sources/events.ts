/**
 * Kubernetes Events as issues: core/v1 and events.k8s.io/v1 shapes, normalised, filtered
 * and deduplicated.
 *
 * Both APIs serve the same stored objects with different field names; {@linkcode
 * normalizeEvent} reads either. An Event object is updated in place when it repeats (a
 * higher `count` / `series.count`), so an occurrence is `metadata.uid` + count: an update
 * with the same count (a label change, a relist) produces nothing. Events last seen before
 * `since` (the watch start) are skipped, so the up-to-an-hour of old Events the first LIST
 * returns is not replayed.
 *
 * Issues have aggregationKey `kubernetes_event`, labels `reason`, `type`, `kind`,
 * `namespace`, `name`, `component`, and `category` when the reason is known
 * (`BackOff` is `crash_loop` or `image_pull` by its message, then by its type: the kubelet
 * writes a crash-loop back-off as Warning and an image back-off as Normal). One fingerprint
 * per object, container and reason, so repeats of an Event land on the same thread.
 *
 * @example
 * ```ts
 * import { detectEventIssues } from "./events.ts";
 * import assert from "node:assert/strict";
 *
 * const event = (count: number) => ({
 *   metadata: { name: "api-0.17f2", namespace: "shop", uid: "e1" },
 *   involvedObject: { kind: "Pod", name: "api-0", namespace: "shop", fieldPath: "spec.containers{api}" },
 *   reason: "BackOff", type: "Warning", count,
 *   message: "Back-off restarting failed container api in pod api-0_shop(0d1f)",
 *   lastTimestamp: "2026-03-01T10:12:04Z",
 * });
 * const [issue] = detectEventIssues(undefined, event(1));
 * assert.equal(issue?.labels.category, "crash_loop");
 * assert.equal(issue?.subject?.container, "api");
 * assert.deepEqual(detectEventIssues(event(1), event(1)), []);
 * ```
 *
 * @module
 */
import { type Issue, matchesAny, type Severity } from "@cano/sdk";
import type { KubeObject } from "../kubernetes/api.ts";
import { buildIssue, type DetectorOptions, parseTime } from "./_kube_issue.ts";

/** An Event in one shape, whichever API served it. */
export interface NormalizedEvent {
  /** `metadata.uid`. */
  uid: string;
  /** Namespace of the Event. */
  namespace?: string;
  /** CamelCase reason. */
  reason: string;
  /** `Normal` or `Warning` (new types may come). */
  type: string;
  /** `message` (core) or `note` (events.k8s.io). */
  message: string;
  /** Occurrences. */
  count: number;
  /** Last occurrence (ms since the epoch), if known. */
  lastSeen?: number;
  /** The object the Event is about. */
  object: { kind: string; name: string; namespace?: string; uid?: string; fieldPath?: string };
  /** Container named by `fieldPath`, e.g. `spec.containers{api}`. */
  container?: string;
  /** Who wrote it, e.g. `kubelet`, `default-scheduler`. */
  component?: string;
  /** Node of the writer (kubelet events). */
  host?: string;
}

interface EventShape {
  involvedObject?: NormalizedEvent["object"];
  regarding?: NormalizedEvent["object"];
  reason?: string;
  message?: string;
  note?: string;
  type?: string;
  count?: number;
  deprecatedCount?: number;
  series?: { count?: number; lastObservedTime?: string };
  lastTimestamp?: string | null;
  deprecatedLastTimestamp?: string | null;
  eventTime?: string | null;
  reportingComponent?: string;
  reportingController?: string;
  source?: { component?: string; host?: string };
  deprecatedSource?: { component?: string; host?: string };
}

/**
 * Reads a core/v1 or events.k8s.io/v1 Event into one shape (protocols §2.1).
 *
 * @param object The Event as the API served it.
 * @returns The normalised Event.
 */
export function normalizeEvent(object: KubeObject): NormalizedEvent {
  const e = object as KubeObject & EventShape;
  const target = e.involvedObject ?? e.regarding ?? { kind: "", name: "" };
  const fieldPath = target.fieldPath;
  const container = fieldPath
    ? /^spec\.(?:init|ephemeral)?[cC]ontainers\{(.+)\}$/.exec(fieldPath)?.[1]
    : undefined;
  const source = e.source ?? e.deprecatedSource;
  const lastSeen = parseTime(e.series?.lastObservedTime) ?? parseTime(e.lastTimestamp) ??
    parseTime(e.deprecatedLastTimestamp) ?? parseTime(e.eventTime) ??
    parseTime(e.metadata?.creationTimestamp);
  const event: NormalizedEvent = {
    uid: e.metadata?.uid ?? `${e.metadata?.namespace ?? ""}/${e.metadata?.name ?? ""}`,
    reason: e.reason ?? "",
    type: e.type ?? "Normal",
    message: e.message ?? e.note ?? "",
    count: e.series?.count ?? e.count ?? e.deprecatedCount ?? 1,
    object: target,
  };
  if (e.metadata?.namespace) event.namespace = e.metadata.namespace;
  if (lastSeen !== undefined) event.lastSeen = lastSeen;
  if (container) event.container = container;
  const component = e.reportingComponent || e.reportingController || source?.component;
  if (component) event.component = component;
  if (source?.host) event.host = source.host;
  return event;
}

/**
 * What an Event is about, when its reason says: `crash_loop`, `image_pull`, `scheduling`,
 * `oom`, `eviction`, `probe`, `volume`; undefined otherwise.
 *
 * @param event A normalised Event.
 * @returns The category.
 * @example
 * ```ts
 * import { classifyEvent } from "./events.ts";
 * import assert from "node:assert/strict";
 *
 * const base = { uid: "u", count: 1, object: { kind: "Pod", name: "p" } };
 * assert.equal(classifyEvent({ ...base, reason: "BackOff", type: "Normal", message: 'Back-off pulling image "nginx:nope"' }), "image_pull");
 * assert.equal(classifyEvent({ ...base, reason: "BackOff", type: "Warning", message: "" }), "crash_loop");
 * ```
 */
export function classifyEvent(event: NormalizedEvent): string | undefined {
  const message = event.message.replace(/^\(combined from similar events\): /, "");
  switch (event.reason) {
    case "BackOff":
      if (/^Back-off pulling image/i.test(message)) return "image_pull";
      if (/^Back-off restarting failed container/i.test(message)) return "crash_loop";
      return event.type === "Normal" ? "image_pull" : "crash_loop";
    case "Failed":
    case "ErrImageNeverPull":
    case "InspectFailed":
      return /image/i.test(message) ? "image_pull" : undefined;
    case "FailedScheduling":
      return "scheduling";
    case "SystemOOM":
    case "OOMKilling":
      return "oom";
    case "Evicted":
    case "EvictionThresholdMet":
      return "eviction";
    case "Unhealthy":
    case "ProbeWarning":
      return "probe";
    case "FailedMount":
    case "FailedAttachVolume":
      return "volume";
    default:
      return undefined;
  }
}

/** Default severity per Event type; other types get `INFO`. */
export const DEFAULT_EVENT_SEVERITIES: Readonly<Record<string, Severity>> = Object.freeze({
  Warning: "LOW",
  Normal: "INFO",
});

/** Options of {@linkcode detectEventIssues}. */
export interface EventDetectorOptions extends DetectorOptions {
  /** Event types reported. @default ["Warning"] */
  types?: readonly string[];
  /** Reason globs reported. @default undefined (all) */
  reasons?: readonly string[];
  /** Reason globs dropped. @default [] */
  excludeReasons?: readonly string[];
  /** Involved-object kind globs reported. @default undefined (all) */
  kinds?: readonly string[];
  /** Namespace globs reported (cluster-scoped objects have the namespace `""`). @default undefined (all) */
  namespaces?: readonly string[];
  /** Namespace globs dropped. @default [] */
  excludeNamespaces?: readonly string[];
  /** Severity per Event type. @default DEFAULT_EVENT_SEVERITIES */
  severity?: Readonly<Record<string, Severity>>;
}

/**
 * Tells whether a normalised Event passes the filters of {@linkcode EventDetectorOptions}.
 *
 * @param event The Event.
 * @param options The filters.
 * @returns Whether to report it.
 */
export function eventPasses(event: NormalizedEvent, options: EventDetectorOptions = {}): boolean {
  const { types = ["Warning"], excludeReasons = [], excludeNamespaces = [] } = options;
  const namespace = event.object.namespace ?? "";
  return types.includes(event.type) &&
    matchesAny(event.reason, options.reasons) && !matchesAny(event.reason, excludeReasons) &&
    matchesAny(event.object.kind, options.kinds) &&
    matchesAny(namespace, options.namespaces) && !matchesAny(namespace, excludeNamespaces);
}

/**
 * Turns a new Event, or a repeat of one (higher count), into an issue.
 *
 * @param previous The Event as last seen, or undefined when it is new.
 * @param next The Event now.
 * @param options Filters, severities, watch start, clock.
 * @returns One issue per new occurrence that passes the filters.
 */
export function detectEventIssues(
  previous: KubeObject | undefined,
  next: KubeObject,
  options: EventDetectorOptions = {},
): Issue[] {
  const event = normalizeEvent(next);
  if (!eventPasses(event, options)) return [];
  if (options.since !== undefined && (event.lastSeen ?? 0) < options.since) return [];
  if (previous) {
    const before = normalizeEvent(previous);
    if (before.uid === event.uid && before.count >= event.count) return [];
  }
  const { kind, name, namespace } = event.object;
  const category = classifyEvent(event);
  const message = event.message.replace(/^\(combined from similar events\): /, "");
  const node = kind === "Node" ? name : event.host;
  const subject: NonNullable<Issue["subject"]> = { kind: kind || "Unknown", name: name || "?" };
  if (namespace) subject.namespace = namespace;
  if (node) subject.node = node;
  if (event.container) subject.container = event.container;
  const where = namespace ? `${namespace}/${name}` : name;
  const severity = { ...DEFAULT_EVENT_SEVERITIES, ...options.severity }[event.type] ?? "INFO";
  return [buildIssue({
    key: [kind, namespace, name, event.container, `event:${event.reason}`],
    aggregationKey: "kubernetes_event",
    title: `${event.reason} on ${kind} ${where}${message ? `: ${firstLine(message)}` : ""}`,
    description: message || undefined,
    severity,
    status: "firing",
    subject,
    labels: {
      reason: event.reason,
      type: event.type,
      kind,
      namespace,
      name,
      container: event.container,
      component: event.component,
      category,
    },
    annotations: { count: event.count, event_uid: event.uid, host: event.host },
    startsAt: event.lastSeen,
    raw: next,
  }, options)];
}

function firstLine(text: string, max = 200): string {
  const line = text.split("\n", 1)[0] ?? "";
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
