/**
 * Derives the Kubernetes object an alert is about from its Prometheus labels.
 *
 * The most specific label wins, in this order: `pod` (Pod), `deployment`, `statefulset`,
 * `daemonset`, `replicaset`, `job_name` (Job), `cronjob`, `persistentvolumeclaim`,
 * `horizontalpodautoscaler`, `node` (Node), `service`, `namespace` (Namespace). `node` ranks
 * above `service` because most scraped series carry the `service` of the exporter that was
 * scraped, while a `node` label names the node the alert is about. The
 * `namespace`, `node` and `container` labels are copied onto the subject when present.
 *
 * The plain `job` label is deliberately ignored: Prometheus sets it to the *scrape job*
 * (`kube-state-metrics`, `node-exporter`...), so reading it as a Kubernetes Job names the
 * exporter, not the object in trouble. kube-state-metrics reports the Job as `job_name`.
 * `instance` is ignored for the same reason (it is the scrape target's address).
 *
 * @module
 */
import type { Subject } from "@cano/sdk";

/** Subject labels, most specific first, with the Kubernetes kind each one names. */
export const SUBJECT_LABELS: readonly (readonly [label: string, kind: string])[] = [
  ["pod", "Pod"],
  ["deployment", "Deployment"],
  ["statefulset", "StatefulSet"],
  ["daemonset", "DaemonSet"],
  ["replicaset", "ReplicaSet"],
  ["job_name", "Job"],
  ["cronjob", "CronJob"],
  ["persistentvolumeclaim", "PersistentVolumeClaim"],
  ["horizontalpodautoscaler", "HorizontalPodAutoscaler"],
  ["node", "Node"],
  ["service", "Service"],
  ["namespace", "Namespace"],
];

/**
 * Picks the subject of an alert from its labels.
 *
 * @param labels The alert's labels.
 * @returns The subject, or `undefined` when no subject label is set (or all are empty).
 * @example The scrape `job` label does not make the subject a Job
 * ```ts
 * import { subjectFromLabels } from "./_subject.ts";
 * import assert from "node:assert/strict";
 *
 * const subject = subjectFromLabels({
 *   alertname: "KubeJobFailed", job: "kube-state-metrics", job_name: "backup-29500", namespace: "ops",
 * });
 * assert.deepEqual(subject, { kind: "Job", name: "backup-29500", namespace: "ops" });
 * ```
 */
export function subjectFromLabels(labels: Readonly<Record<string, string>>): Subject | undefined {
  const match = SUBJECT_LABELS.find(([label]) => nonEmpty(labels[label]));
  if (!match) return undefined;
  const [label, kind] = match;
  const subject: Subject = { kind, name: labels[label]! };
  const namespace = labels["namespace"];
  const node = labels["node"];
  const container = labels["container"];
  if (nonEmpty(namespace)) subject.namespace = namespace;
  if (nonEmpty(node)) subject.node = node;
  if (nonEmpty(container)) subject.container = container;
  return subject;
}

function nonEmpty(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== "";
}
