import { type TriggerInput, TriggerSchema } from "@cano/sdk";
import assert from "node:assert/strict";
import { alertIssue } from "../tests/_issue.ts";
import { matchesAnyTrigger, matchesTrigger } from "./triggers.ts";

const t = (input: TriggerInput) => TriggerSchema.parse(input);

Deno.test("matchesTrigger() matches prometheus_alert by name glob, severity, namespace and labels", () => {
  const issue = alertIssue();
  assert.ok(matchesTrigger(t({ on: "prometheus_alert" }), issue));
  assert.ok(matchesTrigger(t({ on: "prometheus_alert", alertName: ["Other", "KubePod*"] }), issue));
  assert.ok(!matchesTrigger(t({ on: "prometheus_alert", alertName: "KubeNode*" }), issue));
  assert.ok(matchesTrigger(t({ on: "prometheus_alert", severity: ["HIGH", "MEDIUM"] }), issue));
  assert.ok(!matchesTrigger(t({ on: "prometheus_alert", severity: "HIGH" }), issue));
  assert.ok(matchesTrigger(t({ on: "prometheus_alert", namespace: "sh?p" }), issue));
  assert.ok(!matchesTrigger(t({ on: "prometheus_alert", namespace: "prod-*" }), issue));
  assert.ok(matchesTrigger(t({ on: "prometheus_alert", labels: { severity: "warn*" } }), issue));
  assert.ok(!matchesTrigger(t({ on: "prometheus_alert", labels: { team: "*" } }), issue));
});

Deno.test("matchesTrigger() prometheus_alert defaults to firing; status all matches resolved", () => {
  const resolved = alertIssue({ status: "resolved" });
  assert.ok(!matchesTrigger(t({ on: "prometheus_alert" }), resolved));
  assert.ok(matchesTrigger(t({ on: "prometheus_alert", status: "all" }), resolved));
  assert.ok(matchesTrigger(t({ on: "prometheus_alert", status: "resolved" }), resolved));
});

Deno.test("matchesTrigger() keeps Kubernetes triggers away from Prometheus alerts", () => {
  const alert = alertIssue({ aggregationKey: "pod_oom_killed" });
  assert.ok(!matchesTrigger(t({ on: "pod_oom_killed" }), alert));
  const event = alertIssue({
    type: "event",
    source: "kubernetes",
    aggregationKey: "pod_oom_killed",
  });
  assert.ok(matchesTrigger(t({ on: "pod_oom_killed", namespace: "shop" }), event));
  assert.ok(!matchesTrigger(t({ on: "pod_crash_loop" }), event));
  assert.ok(!matchesTrigger(t({ on: "prometheus_alert" }), event));
});

Deno.test("matchesTrigger() matches kubernetes_event on reason, kind and type", () => {
  const event = alertIssue({
    type: "event",
    source: "kubernetes",
    aggregationKey: "kubernetes_event",
    labels: { reason: "FailedMount", type: "Warning" },
  });
  assert.ok(matchesTrigger(t({ on: "kubernetes_event", reason: "Failed*", kind: "Pod" }), event));
  assert.ok(!matchesTrigger(t({ on: "kubernetes_event", eventType: "Normal" }), event));
});

Deno.test("matchesTrigger() any_issue, manual and schedule", () => {
  const issue = alertIssue();
  assert.ok(matchesTrigger(t({ on: "any_issue" }), issue));
  assert.ok(!matchesTrigger(t({ on: "any_issue", source: "kubernetes" }), issue));
  assert.ok(!matchesTrigger(t({ on: "manual" }), issue));
  assert.ok(matchesTrigger(t({ on: "manual" }), alertIssue({ type: "manual", source: "manual" })));
  assert.ok(!matchesTrigger(t({ on: "schedule", cron: "*/5 * * * *" }), issue));
  assert.ok(
    matchesAnyTrigger([t({ on: "pod_oom_killed" }), t({ on: "prometheus_alert" })], issue),
  );
});
