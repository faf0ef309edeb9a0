import assert from "node:assert/strict";
import { IssueSchema } from "@cano/sdk";
import { k8sFixture } from "../../tests/fixtures/k8s/load.ts";
import type { KubeObject } from "../kubernetes/api.ts";
import type { KubeCondition } from "./_kube_issue.ts";
import { detectDeploymentIssues } from "./workloads.ts";

type Deploy = KubeObject & {
  status: { conditions: KubeCondition[]; unavailableReplicas?: number; availableReplicas?: number };
};

const progressing = (deploy: Deploy): Deploy => {
  const copy = structuredClone(deploy);
  copy.status.conditions[1] = {
    type: "Progressing",
    status: "True",
    reason: "ReplicaSetUpdated",
    message: 'ReplicaSet "api-6f9d8c7b5" is progressing.',
    lastUpdateTime: "2026-03-01T10:00:00Z",
    lastTransitionTime: "2025-11-02T12:00:00Z",
  };
  return copy;
};

Deno.test("detectDeploymentIssues() reports ProgressDeadlineExceeded and its recovery", () => {
  const stuck = k8sFixture<Deploy>("deployment_progress_deadline");
  const options = { conditions: ["progressDeadline"] as const };
  const [firing] = detectDeploymentIssues(progressing(stuck), stuck, options);
  const issue = IssueSchema.parse(firing);
  assert.equal(issue.aggregationKey, "deployment_rollout_stuck");
  assert.equal(issue.severity, "HIGH");
  assert.equal(
    issue.title,
    'Deployment shop/api rollout is stuck: ReplicaSet "api-6f9d8c7b5" has timed out progressing.',
  );
  assert.equal(issue.description, "3/3 replicas available, 1 updated.");
  assert.equal(issue.startsAt, "2026-03-01T10:10:00.000Z");
  assert.deepEqual(detectDeploymentIssues(stuck, structuredClone(stuck), options), []);
  const done = progressing(stuck);
  done.status.conditions[1]!.reason = "NewReplicaSetAvailable";
  const [resolved] = detectDeploymentIssues(stuck, done, options);
  assert.equal(resolved?.status, "resolved");
  assert.equal(resolved?.fingerprint, issue.fingerprint);
});

Deno.test("detectDeploymentIssues() reports replicas unavailable without progress past the threshold", () => {
  const deploy = progressing(k8sFixture<Deploy>("deployment_progress_deadline"));
  const options = { conditions: ["unavailable"] as const, unavailableAfterMs: 600_000 };
  assert.deepEqual(
    detectDeploymentIssues(undefined, deploy, {
      ...options,
      now: () => Date.parse("2026-03-01T10:05:00Z"),
    }),
    [],
  );
  const [firing] = detectDeploymentIssues(deploy, deploy, {
    ...options,
    previousAt: Date.parse("2026-03-01T10:05:00Z"),
    now: () => Date.parse("2026-03-01T10:11:00Z"),
  });
  assert.equal(firing?.aggregationKey, "deployment_unavailable");
  assert.equal(
    firing?.title,
    "Deployment shop/api has 1 unavailable replica(s) for 11m (3/3 replicas available)",
  );
  const healthy = structuredClone(deploy);
  healthy.status.unavailableReplicas = 0;
  const [resolved] = detectDeploymentIssues(deploy, healthy, {
    ...options,
    previousAt: Date.parse("2026-03-01T10:11:00Z"),
    now: () => Date.parse("2026-03-01T10:12:00Z"),
  });
  assert.equal(resolved?.status, "resolved");
  assert.equal(resolved?.fingerprint, firing?.fingerprint);
});

Deno.test("detectDeploymentIssues() does not report a rollout that keeps progressing", () => {
  const deploy = progressing(k8sFixture<Deploy>("deployment_progress_deadline"));
  const moved = structuredClone(deploy);
  moved.status.conditions[1]!.lastUpdateTime = "2026-03-01T10:09:00Z";
  assert.deepEqual(
    detectDeploymentIssues(deploy, moved, {
      conditions: ["unavailable"],
      previousAt: Date.parse("2026-03-01T10:09:00Z"),
      now: () => Date.parse("2026-03-01T10:12:00Z"),
    }),
    [],
  );
});
