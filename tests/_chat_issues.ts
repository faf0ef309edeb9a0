/**
 * Issues that chat destinations' tests render: one with every block type, one far over
 * every chat service's limits.
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
  json,
  links,
  list,
  markdown,
  table,
} from "@cano/sdk";
import { alertIssue } from "./_issue.ts";

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0]);

/**
 * A firing issue whose one enrichment holds every block type, with text that needs escaping.
 *
 * @param overrides Fields to replace.
 * @returns The issue.
 */
export function everyBlockIssue(overrides: Partial<Issue> = {}): Issue {
  return alertIssue({
    severity: "HIGH",
    cluster: "prod-eu",
    title: "Pod <api> is crash looping & @everyone *now*",
    labels: { alertname: "KubePodCrashLooping", namespace: "shop", team: "a<b>&c" },
    enrichments: [{
      title: "Everything",
      workflow: "all-blocks",
      blocks: [
        markdown("**Memory** is above the limit: 5 < 6 & 7 > 3 @here"),
        header("Resources"),
        divider(),
        list(["first", "second <b>"], { ordered: true }),
        table(["container", "limit"], [["api", "512Mi"], ["side|car", "64Mi"]], {
          title: "Limits",
        }),
        json({ nested: { value: [1, 2, 3], html: "<i>x</i>" } }),
        file("previous.log", "line 1\n```\nbreak out\nline 4"),
        file("dump.bin", new Uint8Array([0, 1, 2, 255])),
        image("graph.png", PNG, "memory graph"),
        diff({ replicas: 2, image: "api:1" }, { replicas: 3, image: "api:1" }),
        links([{ title: "Grafana", url: "https://grafana.example.com/d/1?a=1&b=(2)" }]),
      ],
    }],
    ...overrides,
  });
}

/**
 * An issue far over every chat limit: long logs, a 100-row table and 60 blocks.
 *
 * @param overrides Fields to replace.
 * @returns The issue.
 */
export function hugeIssue(overrides: Partial<Issue> = {}): Issue {
  const log = Array.from({ length: 3000 }, (_, i) => `2026-03-01T10:00:${i} ERROR <x> & boom ${i}`)
    .join("\n");
  const rows = Array.from(
    { length: 100 },
    (_, i) => [`pod-${i}`, "CrashLoopBackOff", "x".repeat(40)],
  );
  const blocks = Array.from(
    { length: 60 },
    (_, i) =>
      i % 3 === 0
        ? markdown(`Paragraph ${i} ${"word ".repeat(200)}`)
        : i % 3 === 1
        ? json({ index: i, payload: "p".repeat(500) })
        : list(Array.from({ length: 20 }, (_, j) => `item ${i}.${j}`)),
  );
  return alertIssue({
    title: "T".repeat(400),
    description: "D".repeat(6000),
    labels: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`label${i}`, "v".repeat(30)])),
    enrichments: [
      {
        title: "Logs",
        workflow: "crash-loop-logs",
        blocks: [file("previous.log", log), markdown("```\n" + log + "\n```")],
      },
      { title: "Pods", workflow: "pods", blocks: [table(["pod", "reason", "note"], rows)] },
      { title: "Many", workflow: "many", blocks },
    ],
    ...overrides,
  });
}
