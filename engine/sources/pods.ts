/**
 * Pod detectors: turn the change between two states of a Pod into Issues.
 *
 * | Condition | aggregationKey | Fires | Resolves |
 * |---|---|---|---|
 * | OOM kill | `pod_oom_killed` | a new `OOMKilled` termination in `lastState` or `state` | never (a fact) |
 * | Crash loop | `pod_crash_loop` | a container enters `CrashLoopBackOff` | running for `crashLoopStableMs` |
 * | Image pull | `image_pull_backoff` | a container starts waiting on an image reason | the container runs |
 * | Eviction | `pod_evicted` | phase `Failed`, reason `Evicted` | never (a fact) |
 * | Long pending | `pod_pending` | `PodScheduled=False` for `pendingAfterMs` | the pod is scheduled |
 *
 * An OOM kill shows only in the container status (the kubelet writes no Pod event for it),
 * so it is read from `lastState.terminated` (restarting containers) or `state.terminated`
 * (`restartPolicy: Never`), and identified by its `containerID` so the same kill is never
 * reported twice, whichever field holds it.
 *
 * A crash-looping container passes through `running` between restarts. It counts as
 * recovered only once it has run for `crashLoopStableMs`, so a loop does not flap to
 * resolved. Because that is a matter of time, the runner re-checks known pods periodically
 * (same object as `previous` and `next`, with `previousAt` the last check). Each entry into
 * `CrashLoopBackOff` is a transition the detector reports (the first one often follows a
 * restart that never showed the back-off); the runner's gate delivers the first of an
 * episode and drops the rest while the crash loop is open.
 *
 * Never copies the Pod spec into the issue (env values may hold secrets): `raw` is the
 * container status only.
 *
 * Evictions and long pending pods are detected in `_pod_phase.ts`.
 *
 * @example Detect an OOM kill seen only in lastState
 * ```ts
 * import { detectPodIssues } from "./pods.ts";
 * import assert from "node:assert/strict";
 *
 * const pod = (restartCount: number, lastState: object) => ({
 *   metadata: { name: "api-0", namespace: "shop" },
 *   spec: { containers: [{ name: "api", resources: { limits: { memory: "512Mi" } } }] },
 *   status: { phase: "Running", containerStatuses: [{ name: "api", restartCount, lastState, state: { running: {} } }] },
 * });
 * const oom = { terminated: { reason: "OOMKilled", exitCode: 137, containerID: "containerd://1" } };
 * const [issue] = detectPodIssues(pod(0, {}), pod(1, oom));
 * assert.equal(issue?.aggregationKey, "pod_oom_killed");
 * assert.equal(issue?.title, "Container api in shop/api-0 was OOMKilled (limit 512Mi, exit code 137, 1 restart)");
 * ```
 *
 * @module
 */
import type { Issue, Severity } from "@cano/sdk";
import type { KubeObject } from "../kubernetes/api.ts";
import {
  buildIssue,
  conditionOf,
  type DetectorOptions,
  displayName,
  isPastFact,
  parseTime,
  subjectOf,
} from "./_kube_issue.ts";
import {
  allStatuses,
  type ContainerState,
  type ContainerStatus,
  type PodCondition,
  type PodContext,
  podLabels,
  type PodShape,
  specOf,
} from "./_pod.ts";
import { evicted, isLongPending, pending } from "./_pod_phase.ts";

export type { PodCondition } from "./_pod.ts";

/** Default severity per Pod condition. */
export const DEFAULT_POD_SEVERITIES: Readonly<Record<PodCondition, Severity>> = Object.freeze({
  oomKilled: "HIGH",
  crashLoop: "MEDIUM",
  imagePull: "MEDIUM",
  evicted: "MEDIUM",
  pending: "MEDIUM",
});

/** Kubelet waiting reasons that mean the image cannot be pulled (pkg/kubelet/images/types.go). */
export const IMAGE_WAITING_REASONS: readonly string[] = Object.freeze([
  "ErrImagePull",
  "ImagePullBackOff",
  "InvalidImageName",
  "ErrImageNeverPull",
  "ImageInspectError",
  "RegistryUnavailable",
]);

/** Options of {@linkcode detectPodIssues}. */
export interface PodDetectorOptions extends DetectorOptions {
  /** Conditions to detect. @default all five */
  conditions?: readonly PodCondition[];
  /** Severity per condition. @default DEFAULT_POD_SEVERITIES */
  severity?: Partial<Record<PodCondition, Severity>>;
  /** How long `PodScheduled=False` lasts before it is reported. @default 300_000 (5 min) */
  pendingAfterMs?: number;
  /** How long a restarted container must run to count as recovered. @default 120_000 (2 min) */
  crashLoopStableMs?: number;
}

/**
 * Detects Pod transitions: OOM kills, crash loops, image pull failures, evictions and long
 * pending.
 *
 * @param previous The pod as last seen, or undefined when it is new.
 * @param next The pod now.
 * @param options Conditions, severities, thresholds, clock and watch start.
 * @returns The issues of this transition (none when nothing changed).
 */
export function detectPodIssues(
  previous: KubeObject | undefined,
  next: KubeObject,
  options: PodDetectorOptions = {},
): Issue[] {
  const {
    conditions = ["oomKilled", "crashLoop", "imagePull", "evicted", "pending"],
    now = Date.now,
    pendingAfterMs = 300_000,
    crashLoopStableMs = 120_000,
  } = options;
  const severity = { ...DEFAULT_POD_SEVERITIES, ...options.severity };
  const time = now();
  const previousAt = options.previousAt ?? time;
  const pod = next as KubeObject & PodShape;
  const prev = previous as (KubeObject & PodShape) | undefined;
  const context: PodContext = { pod, severity, options };
  const issues: Issue[] = [];
  for (const status of allStatuses(pod)) {
    const before = allStatuses(prev).find((s) => s.name === status.name);
    if (conditions.includes("oomKilled")) issues.push(...oomKilled(before, status, prev, context));
    if (conditions.includes("crashLoop")) {
      const was = crashState(before, previousAt, crashLoopStableMs);
      const is = crashState(status, time, crashLoopStableMs);
      issues.push(...crashLoop(was, is, status, context));
    }
    if (conditions.includes("imagePull")) issues.push(...imagePull(before, status, context));
  }
  if (conditions.includes("evicted")) issues.push(...evicted(prev, pod, context));
  if (conditions.includes("pending")) {
    const was = prev ? isLongPending(prev, previousAt, pendingAfterMs) : false;
    const is = isLongPending(pod, time, pendingAfterMs);
    if (!was && is) issues.push(pending(pod, "firing", time, context));
    const scheduled = conditionOf(pod, "PodScheduled")?.status === "True";
    if (was && !is && scheduled) issues.push(pending(pod, "resolved", time, context));
  }
  return issues;
}

function terminationId(t: NonNullable<ContainerState["terminated"]>): string {
  return t.containerID || `${t.startedAt ?? ""}/${t.finishedAt ?? ""}`;
}

function oomKills(
  status: ContainerStatus | undefined,
): NonNullable<ContainerState["terminated"]>[] {
  return [status?.state?.terminated, status?.lastState?.terminated].filter((t) =>
    t?.reason === "OOMKilled"
  ) as NonNullable<ContainerState["terminated"]>[];
}

function oomKilled(
  before: ContainerStatus | undefined,
  status: ContainerStatus,
  prev: PodShape | undefined,
  { pod, severity, options }: PodContext,
): Issue[] {
  const [kill] = oomKills(status);
  if (!kill) return [];
  const seen = new Set(oomKills(before).map(terminationId));
  const restarted = (status.restartCount ?? 0) > (before?.restartCount ?? 0) &&
    status.lastState?.terminated?.reason === "OOMKilled";
  const isNew = !seen.has(terminationId(kill)) || (before !== undefined && restarted);
  const finishedAt = parseTime(kill.finishedAt);
  if (!isNew || isPastFact(prev, finishedAt, options.since)) return [];
  const spec = specOf(pod, status.name);
  const limit = spec?.resources?.limits?.["memory"];
  const request = spec?.resources?.requests?.["memory"];
  const restarts = status.restartCount ?? 0;
  const where = `${status.name} in ${displayName(pod)}`;
  const facts = [
    limit ? `limit ${limit}` : "no memory limit",
    kill.exitCode !== undefined ? `exit code ${kill.exitCode}` : undefined,
    `${restarts} restart${restarts === 1 ? "" : "s"}`,
  ].filter(Boolean).join(", ");
  return [buildIssue({
    key: ["Pod", pod.metadata?.namespace, pod.metadata?.name, status.name, "oom_killed"],
    aggregationKey: "pod_oom_killed",
    title: `Container ${where} was OOMKilled (${facts})`,
    description: `The kernel OOM killer stopped container ${where}` +
      (kill.finishedAt ? ` at ${kill.finishedAt}` : "") +
      `: it used more memory than ${limit ? `its limit of ${limit}` : "the node could give"}.` +
      (request ? ` Memory request: ${request}.` : ""),
    severity: severity.oomKilled,
    status: "firing",
    subject: subjectOf("Pod", pod, { node: pod.spec?.nodeName, container: status.name }),
    labels: { ...podLabels(pod, status), reason: "OOMKilled" },
    annotations: {
      exit_code: kill.exitCode,
      restart_count: restarts,
      memory_limit: limit,
      memory_request: request,
      started_at: kill.startedAt,
      finished_at: kill.finishedAt,
    },
    startsAt: finishedAt,
    raw: status,
  }, options)];
}

type CrashState = "looping" | "recovering" | "healthy";

function crashState(status: ContainerStatus | undefined, at: number, stableMs: number): CrashState {
  if (!status) return "healthy";
  if (status.state?.waiting?.reason === "CrashLoopBackOff") return "looping";
  if ((status.restartCount ?? 0) === 0) return "healthy";
  const started = parseTime(status.state?.running?.startedAt);
  return started !== undefined && at - started >= stableMs ? "healthy" : "recovering";
}

function crashLoop(
  was: CrashState,
  is: CrashState,
  status: ContainerStatus,
  { pod, severity, options }: PodContext,
): Issue[] {
  const firing = is === "looping" && was !== "looping";
  const resolved = is === "healthy" && was !== "healthy";
  if (!firing && !resolved) return [];
  const last = status.lastState?.terminated;
  const restarts = status.restartCount ?? 0;
  const where = `${status.name} in ${displayName(pod)}`;
  const exit = last
    ? `, last exit: ${last.reason ?? "unknown"}${
      last.exitCode !== undefined ? `, exit code ${last.exitCode}` : ""
    }`
    : "";
  return [buildIssue({
    key: ["Pod", pod.metadata?.namespace, pod.metadata?.name, status.name, "crash_loop"],
    aggregationKey: "pod_crash_loop",
    title: firing
      ? `Container ${where} is in CrashLoopBackOff (${restarts} restart${
        restarts === 1 ? "" : "s"
      }${exit})`
      : `Container ${where} is running again after ${restarts} restarts`,
    description: firing ? status.state?.waiting?.message ?? last?.message : undefined,
    severity: severity.crashLoop,
    status: firing ? "firing" : "resolved",
    subject: subjectOf("Pod", pod, { node: pod.spec?.nodeName, container: status.name }),
    labels: { ...podLabels(pod, status), reason: "CrashLoopBackOff" },
    annotations: {
      restart_count: restarts,
      last_exit_reason: last?.reason,
      last_exit_code: last?.exitCode,
      last_exit_message: last?.message,
      last_finished_at: last?.finishedAt,
    },
    raw: status,
  }, options)];
}

function imageReason(status: ContainerStatus | undefined): string | undefined {
  const reason = status?.state?.waiting?.reason;
  return reason && IMAGE_WAITING_REASONS.includes(reason) ? reason : undefined;
}

function imagePull(
  before: ContainerStatus | undefined,
  status: ContainerStatus,
  { pod, severity, options }: PodContext,
): Issue[] {
  const was = imageReason(before);
  const is = imageReason(status);
  const firing = is !== undefined && was === undefined;
  const resolved = was !== undefined && is === undefined &&
    (status.state?.running !== undefined || status.state?.terminated !== undefined);
  if (!firing && !resolved) return [];
  const image = specOf(pod, status.name)?.image ?? status.image;
  const where = `${status.name} in ${displayName(pod)}`;
  return [buildIssue({
    key: ["Pod", pod.metadata?.namespace, pod.metadata?.name, status.name, "image_pull"],
    aggregationKey: "image_pull_backoff",
    title: firing
      ? `Container ${where} cannot pull image ${image ? `"${image}" ` : ""}(${is})`
      : `Container ${where} pulled its image`,
    description: firing ? status.state?.waiting?.message : undefined,
    severity: severity.imagePull,
    status: firing ? "firing" : "resolved",
    subject: subjectOf("Pod", pod, { node: pod.spec?.nodeName, container: status.name }),
    labels: { ...podLabels(pod, status), reason: is ?? was },
    annotations: { image, message: firing ? status.state?.waiting?.message : undefined },
    raw: status,
  }, options)];
}
