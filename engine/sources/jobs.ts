/**
 * Job detector: a Job that failed becomes a `job_failed` issue.
 *
 * The failure signal is a `Failed` or a `FailureTarget` condition with status `True`
 * (newer clusters add `FailureTarget` first and `Failed` only once the pods have
 * terminated); whichever comes first is reported, the other is the same failure. Reasons
 * include `BackoffLimitExceeded`, `DeadlineExceeded`, `PodFailurePolicy`,
 * `MaxFailedIndexesExceeded` and `FailedIndexes`. A failed Job does not resolve: it is a
 * fact, and a re-created Job of the same name that fails again is a new issue on the same
 * fingerprint.
 *
 * @example
 * ```ts
 * import { detectJobIssues } from "./jobs.ts";
 * import assert from "node:assert/strict";
 *
 * const job = (conditions: object[]) => ({
 *   metadata: { name: "nightly", namespace: "batch" },
 *   status: { failed: 7, conditions },
 * });
 * const failed = { type: "Failed", status: "True", reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit" };
 * const [issue] = detectJobIssues(job([]), job([failed]));
 * assert.equal(issue?.title, "Job batch/nightly failed: BackoffLimitExceeded (Job has reached the specified backoff limit)");
 * assert.deepEqual(detectJobIssues(job([failed]), job([failed])), []);
 * ```
 *
 * @module
 */
import type { Issue, Severity } from "@cano/sdk";
import type { KubeObject } from "../kubernetes/api.ts";
import {
  buildIssue,
  conditionOf,
  controllerOf,
  type DetectorOptions,
  displayName,
  isPastFact,
  type KubeCondition,
  parseTime,
  subjectOf,
} from "./_kube_issue.ts";

/** Default severity of a failed Job. */
export const DEFAULT_JOB_SEVERITY: Severity = "HIGH";

/** Options of {@linkcode detectJobIssues}. */
export interface JobDetectorOptions extends DetectorOptions {
  /** Severity. @default DEFAULT_JOB_SEVERITY */
  severity?: Severity;
}

interface JobShape {
  spec?: { backoffLimit?: number; activeDeadlineSeconds?: number; completions?: number };
  status?: { failed?: number; succeeded?: number; startTime?: string };
}

function failure(job: KubeObject | undefined): KubeCondition | undefined {
  const failed = conditionOf(job, "Failed");
  if (failed?.status === "True") return failed;
  const target = conditionOf(job, "FailureTarget");
  return target?.status === "True" ? target : undefined;
}

/**
 * Detects a Job that has just failed.
 *
 * @param previous The Job as last seen, or undefined when it is new.
 * @param next The Job now.
 * @param options Severity, clock, watch start.
 * @returns One `job_failed` issue on the transition to failed, else none.
 */
export function detectJobIssues(
  previous: KubeObject | undefined,
  next: KubeObject,
  options: JobDetectorOptions = {},
): Issue[] {
  const condition = failure(next);
  if (!condition || failure(previous)) return [];
  const at = parseTime(condition.lastTransitionTime);
  if (isPastFact(previous, at, options.since)) return [];
  const job = next as KubeObject & JobShape;
  const owner = controllerOf(job);
  const cronJob = owner?.kind === "CronJob" ? owner.name : undefined;
  const reason = condition.reason ?? "Failed";
  return [buildIssue({
    key: ["Job", job.metadata?.namespace, job.metadata?.name, "", "failed"],
    aggregationKey: "job_failed",
    title: `Job ${displayName(job)} failed: ${reason}` +
      (condition.message ? ` (${condition.message})` : ""),
    description: [
      cronJob ? `Created by CronJob ${cronJob}.` : undefined,
      `${job.status?.failed ?? 0} failed pod(s)` +
      (job.spec?.backoffLimit !== undefined ? `, backoff limit ${job.spec.backoffLimit}` : "") +
      (job.spec?.activeDeadlineSeconds !== undefined
        ? `, active deadline ${job.spec.activeDeadlineSeconds}s`
        : "") +
      ".",
    ].filter(Boolean).join(" "),
    severity: options.severity ?? DEFAULT_JOB_SEVERITY,
    status: "firing",
    subject: subjectOf("Job", job),
    labels: {
      namespace: job.metadata?.namespace,
      job_name: job.metadata?.name,
      cronjob: cronJob,
      reason,
      condition: condition.type,
    },
    annotations: {
      message: condition.message,
      failed_pods: job.status?.failed,
      succeeded_pods: job.status?.succeeded,
      backoff_limit: job.spec?.backoffLimit,
      active_deadline_seconds: job.spec?.activeDeadlineSeconds,
      start_time: job.status?.startTime,
    },
    startsAt: at,
    raw: { status: job["status"] },
  }, options)];
}
