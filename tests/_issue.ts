/**
 * Builds valid issues for tests.
 *
 * @module
 */
import { type Issue, IssueSchema } from "@cano/sdk";

/**
 * A firing Alertmanager issue with overrides.
 *
 * @param overrides Fields to replace.
 * @returns A valid issue.
 */
export function alertIssue(overrides: Partial<Issue> = {}): Issue {
  return IssueSchema.parse({
    id: crypto.randomUUID(),
    fingerprint: "3f2a9c1b7d4e8a60",
    aggregationKey: "KubePodCrashLooping",
    type: "alert",
    source: "prometheus",
    title: "Pod is crash looping",
    description: "Pod shop/api is in waiting state",
    severity: "MEDIUM",
    status: "firing",
    subject: { kind: "Pod", name: "api-7c9d8b6f5-x2kqp", namespace: "shop", container: "api" },
    labels: {
      alertname: "KubePodCrashLooping",
      namespace: "shop",
      pod: "api-7c9d8b6f5-x2kqp",
      severity: "warning",
      prometheus: "monitoring/kube-prometheus-stack-prometheus",
    },
    annotations: {
      summary: "Pod is crash looping.",
      runbook_url: "https://runbooks.example/crash",
    },
    startsAt: "2026-03-01T10:12:04.512Z",
    createdAt: "2026-03-01T10:12:05.000Z",
    links: [{ title: "Runbook", url: "https://runbooks.example/crash" }],
    ...overrides,
  });
}
