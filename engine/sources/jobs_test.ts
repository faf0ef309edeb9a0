import assert from "node:assert/strict";
import { IssueSchema } from "@cano/sdk";
import { k8sFixture } from "../../tests/fixtures/k8s/load.ts";
import type { KubeObject } from "../kubernetes/api.ts";
import type { KubeCondition } from "./_kube_issue.ts";
import { detectJobIssues } from "./jobs.ts";

type Job = KubeObject & { status: { conditions?: KubeCondition[]; failed?: number } };

function running(job: Job): Job {
  const copy = structuredClone(job);
  copy.status.conditions = [];
  return copy;
}

Deno.test("detectJobIssues() reports BackoffLimitExceeded with the CronJob and counts", () => {
  const failed = k8sFixture<Job>("job_backoff_limit");
  const issues = detectJobIssues(running(failed), failed, { cluster: "prod-eu" });
  assert.equal(issues.length, 1);
  const issue = IssueSchema.parse(issues[0]);
  assert.equal(issue.aggregationKey, "job_failed");
  assert.equal(issue.severity, "HIGH");
  assert.equal(
    issue.title,
    "Job batch/nightly-report-29043060 failed: BackoffLimitExceeded (Job has reached the specified backoff limit)",
  );
  assert.equal(
    issue.description,
    "Created by CronJob nightly-report. 7 failed pod(s), backoff limit 6.",
  );
  assert.deepEqual(issue.subject, {
    kind: "Job",
    name: "nightly-report-29043060",
    namespace: "batch",
  });
  assert.equal(issue.labels["cronjob"], "nightly-report");
  assert.equal(issue.labels["reason"], "BackoffLimitExceeded");
  assert.equal(issue.labels["condition"], "Failed");
  assert.equal(issue.startsAt, "2026-03-01T02:41:10.000Z");
});

Deno.test("detectJobIssues() reports DeadlineExceeded", () => {
  const failed = k8sFixture<Job>("job_deadline_exceeded");
  const [issue] = detectJobIssues(running(failed), failed);
  assert.equal(issue?.labels["reason"], "DeadlineExceeded");
  assert.match(issue?.description ?? "", /active deadline 600s/);
});

Deno.test("detectJobIssues() reports FailureTarget once, not again when Failed follows", () => {
  const target = k8sFixture<Job>("job_failure_target");
  const [issue] = detectJobIssues(running(target), target);
  assert.equal(issue?.labels["reason"], "PodFailurePolicy");
  const failed = structuredClone(target);
  failed.status.conditions!.push({
    type: "Failed",
    status: "True",
    reason: "PodFailurePolicy",
    message: target.status.conditions![0]!.message!,
    lastTransitionTime: "2026-03-01T08:15:50Z",
  });
  assert.deepEqual(detectJobIssues(target, failed), []);
});

Deno.test("detectJobIssues() skips a Job that failed before the watch started, reports one after", () => {
  const failed = k8sFixture<Job>("job_backoff_limit");
  assert.deepEqual(
    detectJobIssues(undefined, failed, { since: Date.parse("2026-03-01T03:00:00Z") }),
    [],
  );
  assert.equal(
    detectJobIssues(undefined, failed, { since: Date.parse("2026-03-01T02:00:00Z") }).length,
    1,
  );
});

Deno.test("detectJobIssues() ignores Failed=False and running Jobs", () => {
  const job = k8sFixture<Job>("job_deadline_exceeded");
  job.status.conditions![0]!.status = "False";
  assert.deepEqual(detectJobIssues(running(job), job), []);
});
