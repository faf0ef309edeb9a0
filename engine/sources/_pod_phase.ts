/**
 * Pod phase detectors: evictions and pods that wait too long to be scheduled. Used by
 * `detectPodIssues` in `pods.ts`.
 *
 * @module
 */
import ms from "ms";
import type { Issue } from "@cano/sdk";
import type { KubeObject } from "../kubernetes/api.ts";
import {
  buildIssue,
  conditionOf,
  displayName,
  isPastFact,
  parseTime,
  subjectOf,
} from "./_kube_issue.ts";
import { type PodContext, podLabels, type PodShape } from "./_pod.ts";

/** What an eviction message says, parsed from the kubelet's fixed sentences. */
export interface EvictionDetails {
  /** The starved resource, e.g. `memory`, `ephemeral-storage`. */
  resource?: string;
  /** Threshold quantity. */
  threshold?: string;
  /** What was available. */
  available?: string;
  /** Containers using more than they requested, with usage and request. */
  containers: { name: string; usage: string; request: string }[];
}

/**
 * Parses a kubelet eviction message (`pkg/kubelet/eviction/helpers.go`).
 *
 * @param message The pod's `status.message`.
 * @returns The starved resource, threshold, availability and offending containers.
 * @example
 * ```ts
 * import { parseEvictionMessage } from "./_pod_phase.ts";
 * import assert from "node:assert/strict";
 *
 * const details = parseEvictionMessage(
 *   "The node was low on resource: memory. Threshold quantity: 100Mi, available: 87692Ki. " +
 *     "Container api was using 1432Mi, request is 256Mi, has larger consumption of memory. ",
 * );
 * assert.equal(details.resource, "memory");
 * assert.deepEqual(details.containers, [{ name: "api", usage: "1432Mi", request: "256Mi" }]);
 * ```
 */
export function parseEvictionMessage(message: string): EvictionDetails {
  const details: EvictionDetails = { containers: [] };
  const low = /low on resource: ([\w.\/-]+)\./.exec(message);
  if (low?.[1]) details.resource = low[1];
  const threshold = /Threshold quantity: ([^,]+), available: ([^.\s]+(?:\.\d+)?[^.\s]*)/.exec(
    message,
  );
  if (threshold?.[1]) details.threshold = threshold[1].trim();
  if (threshold?.[2]) details.available = threshold[2].trim();
  for (const m of message.matchAll(/Container (\S+) was using ([^,]+), request is ([^,]+),/g)) {
    details.containers.push({ name: m[1]!, usage: m[2]!.trim(), request: m[3]!.trim() });
  }
  return details;
}

function isEvicted(pod: PodShape | undefined): boolean {
  return pod?.status?.phase === "Failed" && pod.status.reason === "Evicted";
}

/**
 * Detects a pod that has just been evicted.
 *
 * @param prev The pod as last seen.
 * @param pod The pod now.
 * @param context Severities and options.
 * @returns One `pod_evicted` issue, or none.
 */
export function evicted(
  prev: PodShape | undefined,
  pod: KubeObject & PodShape,
  context: PodContext,
): Issue[] {
  if (!isEvicted(pod) || isEvicted(prev)) return [];
  const { severity, options } = context;
  const at = parseTime(conditionOf(pod, "DisruptionTarget")?.lastTransitionTime) ??
    parseTime(conditionOf(pod, "Ready")?.lastTransitionTime);
  if (isPastFact(prev, at, options.since)) return [];
  const message = pod.status?.message ?? "";
  const details = parseEvictionMessage(message);
  const node = pod.spec?.nodeName;
  return [buildIssue({
    key: ["Pod", pod.metadata?.namespace, pod.metadata?.name, "", "evicted"],
    aggregationKey: "pod_evicted",
    title: `Pod ${displayName(pod)} was evicted${node ? ` from node ${node}` : ""}` +
      (details.resource ? ` (node low on ${details.resource})` : ""),
    description: message.trim() || undefined,
    severity: severity.evicted,
    status: "firing",
    subject: subjectOf("Pod", pod, { node }),
    labels: { ...podLabels(pod), reason: "Evicted", starved_resource: details.resource },
    annotations: {
      threshold: details.threshold,
      available: details.available,
      offending_containers: details.containers.map((c) => c.name).join(","),
      offending_containers_usage: details.containers.map((c) => c.usage).join(","),
    },
    startsAt: at,
  }, options)];
}

/**
 * Tells whether a pod has waited for scheduling for at least `afterMs` at time `at`.
 *
 * @param pod The pod.
 * @param at The time (ms).
 * @param afterMs The threshold.
 * @returns Whether it is a long pending pod.
 */
export function isLongPending(pod: PodShape & KubeObject, at: number, afterMs: number): boolean {
  if (pod.status?.phase !== "Pending") return false;
  const scheduled = conditionOf(pod, "PodScheduled");
  if (scheduled?.status !== "False") return false;
  const since = parseTime(scheduled.lastTransitionTime) ??
    parseTime(pod.metadata?.creationTimestamp);
  return since !== undefined && at - since >= afterMs;
}

/**
 * Builds the `pod_pending` issue.
 *
 * @param pod The pod.
 * @param status Firing or resolved.
 * @param time Now (ms).
 * @param context Severities and options.
 * @returns The issue.
 */
export function pending(
  pod: KubeObject & PodShape,
  status: "firing" | "resolved",
  time: number,
  { severity, options }: PodContext,
): Issue {
  const scheduled = conditionOf(pod, "PodScheduled");
  const since = parseTime(scheduled?.lastTransitionTime) ??
    parseTime(pod.metadata?.creationTimestamp);
  const reason = scheduled?.reason ?? "Pending";
  const firing = status === "firing";
  return buildIssue({
    key: ["Pod", pod.metadata?.namespace, pod.metadata?.name, "", "pending"],
    aggregationKey: "pod_pending",
    title: firing
      ? `Pod ${displayName(pod)} has been ${
        reason === "Unschedulable" ? "unschedulable" : "pending"
      } for ${ms(time - (since ?? time))}${scheduled?.message ? `: ${scheduled.message}` : ""}`
      : `Pod ${displayName(pod)} was scheduled`,
    description: firing ? scheduled?.message : undefined,
    severity: severity.pending,
    status,
    subject: subjectOf("Pod", pod),
    labels: { ...podLabels(pod), reason },
    annotations: { pending_since: since !== undefined ? new Date(since).toISOString() : undefined },
    startsAt: since,
  }, options);
}
