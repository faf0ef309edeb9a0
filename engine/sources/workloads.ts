/**
 * Deployment detectors: a stuck rollout and replicas unavailable for too long.
 *
 * | Condition | aggregationKey | Fires | Resolves |
 * |---|---|---|---|
 * | Rollout stuck | `deployment_rollout_stuck` | `Progressing=False`, reason `ProgressDeadlineExceeded` | `Progressing=True` again |
 * | Unavailable | `deployment_unavailable` | unavailable replicas and no progress for `unavailableAfterMs` | no unavailable replicas |
 *
 * "No progress" is measured from the newer of the `Progressing` condition's
 * `lastUpdateTime` (bumped whenever the rollout moves) and the `Available` condition's
 * `lastTransitionTime`, so a rollout that keeps making progress is not reported. It depends
 * on time, so the runner re-checks known Deployments periodically.
 *
 * @example
 * ```ts
 * import { detectDeploymentIssues } from "./workloads.ts";
 * import assert from "node:assert/strict";
 *
 * const deploy = (status: string, reason: string) => ({
 *   metadata: { name: "api", namespace: "shop" },
 *   status: { conditions: [{ type: "Progressing", status, reason, message: 'ReplicaSet "api-7c9" has timed out progressing.' }] },
 * });
 * const [stuck] = detectDeploymentIssues(deploy("True", "ReplicaSetUpdated"), deploy("False", "ProgressDeadlineExceeded"));
 * assert.equal(stuck?.aggregationKey, "deployment_rollout_stuck");
 * const [back] = detectDeploymentIssues(deploy("False", "ProgressDeadlineExceeded"), deploy("True", "NewReplicaSetAvailable"));
 * assert.equal(back?.status, "resolved");
 * ```
 *
 * @module
 */
import ms from "ms";
import type { Issue, Severity } from "@cano/sdk";
import type { KubeObject } from "../kubernetes/api.ts";
import {
  buildIssue,
  conditionOf,
  type DetectorOptions,
  displayName,
  parseTime,
  subjectOf,
} from "./_kube_issue.ts";

/** The Deployment conditions this module detects. */
export type DeploymentCondition = "progressDeadline" | "unavailable";

/** Default severity per Deployment condition. */
export const DEFAULT_DEPLOYMENT_SEVERITIES: Readonly<Record<DeploymentCondition, Severity>> = Object
  .freeze({ progressDeadline: "HIGH", unavailable: "MEDIUM" });

/** Options of {@linkcode detectDeploymentIssues}. */
export interface DeploymentDetectorOptions extends DetectorOptions {
  /** Conditions to detect. @default both */
  conditions?: readonly DeploymentCondition[];
  /** Severity per condition. @default DEFAULT_DEPLOYMENT_SEVERITIES */
  severity?: Partial<Record<DeploymentCondition, Severity>>;
  /** How long replicas stay unavailable without progress before it is reported. @default 600_000 (10 min) */
  unavailableAfterMs?: number;
}

interface DeploymentShape {
  spec?: { replicas?: number };
  status?: {
    replicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    unavailableReplicas?: number;
    updatedReplicas?: number;
  };
}

function isStuck(deploy: KubeObject | undefined): boolean {
  const progressing = conditionOf(deploy, "Progressing");
  return progressing?.status === "False" && progressing.reason === "ProgressDeadlineExceeded";
}

function unavailableSince(deploy: KubeObject & DeploymentShape): number | undefined {
  if ((deploy.status?.unavailableReplicas ?? 0) <= 0) return undefined;
  const times = [
    parseTime(conditionOf(deploy, "Progressing")?.lastUpdateTime),
    parseTime(conditionOf(deploy, "Available")?.lastTransitionTime),
  ].filter((t): t is number => t !== undefined);
  return times.length ? Math.max(...times) : parseTime(deploy.metadata?.creationTimestamp);
}

function isLongUnavailable(
  deploy: KubeObject & DeploymentShape,
  at: number,
  afterMs: number,
): boolean {
  const since = unavailableSince(deploy);
  return since !== undefined && at - since >= afterMs;
}

/**
 * Detects a Deployment whose rollout is stuck or whose replicas stay unavailable.
 *
 * @param previous The Deployment as last seen, or undefined when it is new.
 * @param next The Deployment now.
 * @param options Conditions, severities, threshold, clock.
 * @returns The issues of this transition.
 */
export function detectDeploymentIssues(
  previous: KubeObject | undefined,
  next: KubeObject,
  options: DeploymentDetectorOptions = {},
): Issue[] {
  const {
    conditions = ["progressDeadline", "unavailable"],
    now = Date.now,
    unavailableAfterMs = 600_000,
  } = options;
  const severity = { ...DEFAULT_DEPLOYMENT_SEVERITIES, ...options.severity };
  const time = now();
  const deploy = next as KubeObject & DeploymentShape;
  const prev = previous as (KubeObject & DeploymentShape) | undefined;
  const issues: Issue[] = [];
  const subject = subjectOf("Deployment", deploy);
  const labels = { namespace: deploy.metadata?.namespace, deployment: deploy.metadata?.name };
  const replicas = `${deploy.status?.availableReplicas ?? 0}/${
    deploy.spec?.replicas ?? deploy.status?.replicas ?? 0
  } replicas available`;
  if (conditions.includes("progressDeadline")) {
    const was = isStuck(prev);
    const is = isStuck(deploy);
    const progressing = conditionOf(deploy, "Progressing");
    if (was !== is && (is || progressing?.status === "True")) {
      issues.push(buildIssue({
        key: ["Deployment", deploy.metadata?.namespace, deploy.metadata?.name, "", "rollout_stuck"],
        aggregationKey: "deployment_rollout_stuck",
        title: is
          ? `Deployment ${displayName(deploy)} rollout is stuck: ${
            progressing?.message ?? "ProgressDeadlineExceeded"
          }`
          : `Deployment ${displayName(deploy)} rollout is progressing again`,
        description: `${replicas}, ${deploy.status?.updatedReplicas ?? 0} updated.`,
        severity: severity.progressDeadline,
        status: is ? "firing" : "resolved",
        subject,
        labels: { ...labels, reason: progressing?.reason },
        annotations: { message: progressing?.message },
        startsAt: is ? parseTime(progressing?.lastTransitionTime) : undefined,
        raw: { status: deploy.status },
      }, options));
    }
  }
  if (conditions.includes("unavailable")) {
    const previousAt = options.previousAt ?? time;
    const was = prev ? isLongUnavailable(prev, previousAt, unavailableAfterMs) : false;
    const is = isLongUnavailable(deploy, time, unavailableAfterMs);
    const recovered = (deploy.status?.unavailableReplicas ?? 0) === 0;
    if ((!was && is) || (was && recovered)) {
      const since = unavailableSince(deploy);
      issues.push(buildIssue({
        key: ["Deployment", deploy.metadata?.namespace, deploy.metadata?.name, "", "unavailable"],
        aggregationKey: "deployment_unavailable",
        title: is
          ? `Deployment ${
            displayName(deploy)
          } has ${deploy.status?.unavailableReplicas} unavailable replica(s) for ${
            ms(time - (since ?? time))
          } (${replicas})`
          : `Deployment ${displayName(deploy)} has all replicas available`,
        severity: severity.unavailable,
        status: is ? "firing" : "resolved",
        subject,
        labels,
        annotations: {
          unavailable_replicas: deploy.status?.unavailableReplicas,
          available_replicas: deploy.status?.availableReplicas,
          desired_replicas: deploy.spec?.replicas,
        },
        startsAt: is ? since : undefined,
        raw: { status: deploy.status },
      }, options));
    }
  }
  return issues;
}
