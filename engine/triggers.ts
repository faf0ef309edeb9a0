/**
 * Trigger matching: which workflows run for an issue. Pure functions over data, so the
 * engine decides without starting any workflow code.
 *
 * @module
 */
import { type Issue, matchesAny, type Severity, type Trigger } from "@cano/sdk";

/**
 * Tells whether a trigger fires for an issue.
 *
 * @param trigger A parsed trigger.
 * @param issue The issue.
 * @returns Whether it matches.
 * @example
 * ```ts
 * import { matchesTrigger } from "./triggers.ts";
 * import { TriggerSchema } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * const trigger = TriggerSchema.parse({ on: "prometheus_alert", alertName: "Kube*" });
 * const issue = {
 *   id: "1", fingerprint: "f", aggregationKey: "KubePodCrashLooping", type: "alert" as const,
 *   source: "prometheus", title: "t", severity: "MEDIUM" as const, status: "firing" as const,
 *   labels: { alertname: "KubePodCrashLooping" }, annotations: {}, links: [], enrichments: [],
 *   startsAt: "2026-01-01T00:00:00Z", createdAt: "2026-01-01T00:00:00Z",
 * };
 * assert.ok(matchesTrigger(trigger, issue));
 * assert.ok(!matchesTrigger(trigger, { ...issue, status: "resolved" }));
 * ```
 */
export function matchesTrigger(trigger: Trigger, issue: Issue): boolean {
  const namespace = issue.subject?.namespace ?? issue.labels["namespace"];
  switch (trigger.on) {
    case "prometheus_alert":
      return issue.type === "alert" && issue.source === "prometheus" &&
        (trigger.status === "all" || trigger.status === issue.status) &&
        matchesAny(issue.labels["alertname"] ?? issue.aggregationKey, trigger.alertName) &&
        matchesSeverity(issue.severity, trigger.severity) &&
        matchesAny(namespace, trigger.namespace) &&
        Object.entries(trigger.labels ?? {}).every(([k, v]) => matchesAny(issue.labels[k], v));
    case "kubernetes_event":
      return issue.type === "event" && issue.source === "kubernetes" &&
        issue.aggregationKey === "kubernetes_event" &&
        matchesAny(issue.labels["reason"], trigger.reason) &&
        matchesAny(issue.subject?.kind, trigger.kind) &&
        matchesAny(namespace, trigger.namespace) &&
        matchesAny(issue.labels["type"], trigger.eventType);
    case "pod_oom_killed":
    case "pod_crash_loop":
    case "image_pull_backoff":
    case "job_failed":
    case "helm_release_failed":
      return issue.aggregationKey === trigger.on && issue.source !== "prometheus" &&
        matchesAny(namespace, trigger.namespace) && matchesAny(issue.subject?.name, trigger.name);
    case "schedule":
      // Scheduled runs are started by the scheduler for their own workflow, never by an issue.
      return false;
    case "manual":
      return issue.type === "manual" && matchesAny(issue.aggregationKey, trigger.aggregationKey);
    case "any_issue":
      return matchesAny(issue.source, trigger.source) &&
        (trigger.type === undefined || trigger.type === issue.type) &&
        matchesSeverity(issue.severity, trigger.severity);
  }
}

/**
 * Tells whether any of a workflow's triggers fires for an issue.
 *
 * @param triggers The workflow's triggers.
 * @param issue The issue.
 * @returns Whether the workflow should run.
 */
export function matchesAnyTrigger(triggers: readonly Trigger[], issue: Issue): boolean {
  return triggers.some((trigger) => matchesTrigger(trigger, issue));
}

function matchesSeverity(severity: Severity, filter: Severity | Severity[] | undefined): boolean {
  if (filter === undefined) return true;
  return typeof filter === "string" ? filter === severity : filter.includes(severity);
}
