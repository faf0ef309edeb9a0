import assert from "node:assert/strict";
import { IssueSchema } from "@cano/sdk";
import { k8sFixture } from "../../tests/fixtures/k8s/load.ts";
import type { KubeObject } from "../kubernetes/api.ts";
import type { KubeCondition } from "./_kube_issue.ts";
import { detectNodeIssues } from "./nodes.ts";

type Node = KubeObject & { status: { conditions: KubeCondition[] } };

function healthy(node: Node): Node {
  const copy = structuredClone(node);
  for (const condition of copy.status.conditions) {
    condition.status = condition.type === "Ready" ? "True" : "False";
  }
  return copy;
}

Deno.test("detectNodeIssues() reports a node whose kubelet stopped posting status as NotReady", () => {
  const down = k8sFixture<Node>("node_not_ready");
  const issues = detectNodeIssues(healthy(down), down);
  assert.equal(issues.length, 1, "Unknown pressure conditions are not pressure");
  const issue = IssueSchema.parse(issues[0]);
  assert.equal(issue.aggregationKey, "node_not_ready");
  assert.equal(issue.severity, "HIGH");
  assert.equal(
    issue.title,
    "Node ip-10-0-3-17.eu-west-1.compute.internal is NotReady (Unknown: Kubelet stopped posting node status.)",
  );
  assert.deepEqual(issue.subject, {
    kind: "Node",
    name: "ip-10-0-3-17.eu-west-1.compute.internal",
    node: "ip-10-0-3-17.eu-west-1.compute.internal",
  });
  assert.equal(issue.startsAt, "2026-03-01T10:40:12.000Z");
  assert.deepEqual(detectNodeIssues(down, structuredClone(down)), []);
  const [resolved] = detectNodeIssues(down, healthy(down));
  assert.equal(resolved?.status, "resolved");
  assert.equal(resolved?.fingerprint, issue.fingerprint);
});

Deno.test("detectNodeIssues() reports MemoryPressure with its own fingerprint", () => {
  const pressured = k8sFixture<Node>("node_memory_pressure");
  const [issue] = detectNodeIssues(healthy(pressured), pressured);
  assert.equal(issue?.aggregationKey, "node_pressure");
  assert.equal(
    issue?.title,
    "Node ip-10-0-1-44.eu-west-1.compute.internal has MemoryPressure: kubelet has insufficient memory available",
  );
  assert.equal(issue?.labels["condition"], "MemoryPressure");
  const disk = structuredClone(pressured);
  disk.status.conditions[1]!.status = "True";
  const [diskIssue] = detectNodeIssues(pressured, disk);
  assert.equal(diskIssue?.labels["condition"], "DiskPressure");
  assert.notEqual(diskIssue?.fingerprint, issue?.fingerprint);
  const [resolved] = detectNodeIssues(pressured, healthy(pressured));
  assert.equal(resolved?.status, "resolved");
  assert.equal(resolved?.fingerprint, issue?.fingerprint);
});

Deno.test("detectNodeIssues() reports a node NotReady when first seen, not a Ready one", () => {
  assert.equal(detectNodeIssues(undefined, k8sFixture("node_not_ready")).length, 1);
  assert.deepEqual(detectNodeIssues(undefined, healthy(k8sFixture("node_not_ready"))), []);
});
