/**
 * Builds valid issues for tests.
 *
 * @module
 */
import {
  diff,
  divider,
  file,
  header,
  image,
  type Issue,
  IssueSchema,
  json,
  links,
  list,
  markdown,
  table,
} from "@cano/sdk";

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

/**
 * A firing issue with one enrichment holding every block type.
 *
 * @param overrides Fields to replace.
 * @returns A valid issue.
 */
export function fullIssue(overrides: Partial<Issue> = {}): Issue {
  return alertIssue({
    severity: "HIGH",
    cluster: "prod",
    links: [
      { title: "Runbook", url: "https://runbooks.example/crash" },
      { title: "Memory graph", url: "https://grafana.example/render/d/1.png" },
      { title: "Plain graph", url: "http://grafana.example/render/d/2.png" },
    ],
    enrichments: [{
      title: "Everything",
      workflow: "all-blocks",
      blocks: [
        markdown("*Memory* is above the limit\nsince 10:00\n\nSecond paragraph"),
        header("Resources"),
        divider(),
        list(["a", "b", ""]),
        list(["first", "second"], { ordered: true }),
        table(["container", "limit"], [["api", "512Mi"], ["sidecar", ""]], { title: "Limits" }),
        json({ nested: { value: [1, 2, 3] } }),
        file("previous.log", "line 1\nline 2\n"),
        file("dump.bin", new Uint8Array([0, 1, 2, 255])),
        image("graph.png", new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0]), "memory graph"),
        diff({ replicas: 2 }, { replicas: 3 }),
        links([{ title: "Grafana", url: "https://grafana.example/d/1" }]),
      ],
    }],
    ...overrides,
  });
}

/**
 * A firing issue far over every destination's limits: long title and description, many
 * labels, and a dozen enrichments with big logs, tables and JSON.
 *
 * @param overrides Fields to replace.
 * @returns A valid issue.
 */
export function hugeIssue(overrides: Partial<Issue> = {}): Issue {
  const rows = Array.from({ length: 400 }, (_, i) => [`pod-${i}`, "Running", "x".repeat(40)]);
  const log = Array.from({ length: 4000 }, (_, i) => `${i} ${"log ".repeat(20)}`).join("\n");
  return alertIssue({
    title: "T".repeat(2000),
    description: "D ".repeat(20_000),
    labels: Object.fromEntries(
      Array.from({ length: 300 }, (_, i) => [`label${i}`, "v".repeat(60)]),
    ),
    links: Array.from(
      { length: 40 },
      (_, i) => ({ title: `L${i}`, url: `https://e.example/${i}` }),
    ),
    enrichments: Array.from({ length: 12 }, (_, e) => ({
      workflow: `wf-${e}`,
      title: "W".repeat(300),
      blocks: [
        markdown("m".repeat(20_000)),
        table(["pod", "phase", "note"], rows),
        file("big.log", log),
        json({ items: rows }),
        list(rows.map((r) => r.join(" "))),
      ],
    })),
    ...overrides,
  });
}
