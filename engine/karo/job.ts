/**
 * Builds the Job of one AlertReaction action, named and labelled exactly as Karo does, so
 * `kubectl get jobs -l karo/alert-name=HighCPUUsage` and existing dashboards keep working.
 *
 * - Name: `<reaction>-<action>-<unix seconds>` lower-cased, characters outside `[a-z0-9.-]`
 *   replaced by `-`, trimmed to alphanumerics at both ends, cut to 54 characters, then `-` and
 *   8 random `[a-z0-9]` (63 at most). Cano also trims the end again after the cut, so the name
 *   stays a valid DNS label where Karo's could end in `-` or `.` before the suffix.
 * - Labels: `app.kubernetes.io/name=karo-job`, `app.kubernetes.io/component=job`,
 *   `karo/alert-name`, `karo/action-name`, `karo/owner` (values sanitised as Karo does), plus
 *   `cano.dev/alert-fingerprint`, and the annotation `cano.dev/alert-starts-at`: together
 *   they let any replica, or Cano after a restart, find the Job an alert already created.
 * - Owner: the AlertReaction (no `controller`, no `blockOwnerDeletion`, as in Karo), so
 *   deleting the reaction deletes its Jobs.
 * - Spec: `restartPolicy: Never`, `ttlSecondsAfterFinished` (Karo's fixed 300 by default),
 *   one container named `action`, the reaction's volumes, the action's service account.
 *   `backoffLimit` and `activeDeadlineSeconds` only when configured (Karo sets neither).
 *
 * @example
 * ```ts
 * import { jobName, sanitizeLabelValue } from "./job.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   jobName("high-cpu-alert", "notify-slack", { nowSeconds: 1700000000, suffix: "abcd1234" }),
 *   "high-cpu-alert-notify-slack-1700000000-abcd1234",
 * );
 * assert.equal(sanitizeLabelValue("DB:Connection/Failed"), "DB-Connection-Failed");
 * ```
 *
 * @module
 */
import type { KubeObject } from "../kubernetes/api.ts";
import type { JobEnvVar } from "./env.ts";
import type { AlertReaction, ReactionAction } from "./reaction.ts";

/** Label with the (sanitised) alert name. */
export const LABEL_ALERT_NAME = "karo/alert-name";
/** Label with the (sanitised) action name. */
export const LABEL_ACTION_NAME = "karo/action-name";
/** Label with the (sanitised) AlertReaction name. */
export const LABEL_OWNER = "karo/owner";
/** Label with the alert's fingerprint; finds the Jobs an alert created. */
export const LABEL_FINGERPRINT = "cano.dev/alert-fingerprint";
/** Annotation with the alert's `startsAt`; tells a repeat from a new firing. */
export const ANNOTATION_STARTS_AT = "cano.dev/alert-starts-at";
/** Karo's fixed `ttlSecondsAfterFinished`. */
export const DEFAULT_JOB_TTL_SECONDS = 300;

/** The alert a Job is created for. */
export interface JobAlert {
  /** Alertmanager fingerprint. */
  fingerprint: string;
  /** When the alert started firing (RFC 3339). */
  startsAt: string;
}

/** Options of {@linkcode buildJob}. */
export interface BuildJobOptions {
  /** Clock in ms, for the name. @default Date.now */
  now?: () => number;
  /** Random name suffix, 8 `[a-z0-9]`. @default crypto-random */
  suffix?: () => string;
  /** `ttlSecondsAfterFinished`. @default 300 */
  ttlSecondsAfterFinished?: number;
  /** `backoffLimit`. @default undefined (the Kubernetes default, 6) */
  backoffLimit?: number;
  /** `activeDeadlineSeconds`. @default undefined (none) */
  activeDeadlineSeconds?: number;
}

/**
 * Builds the Job for one action of a reaction.
 *
 * @param reaction The AlertReaction (owner and namespace).
 * @param action The action.
 * @param input The resolved container env and the alert the Job answers.
 * @param options Clock, name suffix, TTL and limits.
 * @returns A `batch/v1` Job ready to POST.
 */
export function buildJob(
  reaction: AlertReaction,
  action: ReactionAction,
  input: { env: readonly JobEnvVar[]; alert: JobAlert },
  {
    now = Date.now,
    suffix = randomSuffix,
    ttlSecondsAfterFinished = DEFAULT_JOB_TTL_SECONDS,
    backoffLimit,
    activeDeadlineSeconds,
  }: BuildJobOptions = {},
): KubeObject {
  const container: Record<string, unknown> = { name: "action", image: action.image };
  if (action.command) container["command"] = [...action.command];
  if (action.args) container["args"] = [...action.args];
  if (input.env.length > 0) container["env"] = input.env.map((e) => structuredClone(e));
  if (action.resources) container["resources"] = structuredClone(action.resources);
  if (action.volumeMounts.length > 0) {
    container["volumeMounts"] = action.volumeMounts.map((m) => ({ ...m }));
  }
  const podSpec: Record<string, unknown> = { restartPolicy: "Never", containers: [container] };
  if (action.serviceAccountName) podSpec["serviceAccountName"] = action.serviceAccountName;
  if (reaction.volumes.length > 0) podSpec["volumes"] = structuredClone(reaction.volumes);
  const spec: Record<string, unknown> = {
    ttlSecondsAfterFinished,
    template: { spec: podSpec },
  };
  if (backoffLimit !== undefined) spec["backoffLimit"] = backoffLimit;
  if (activeDeadlineSeconds !== undefined) spec["activeDeadlineSeconds"] = activeDeadlineSeconds;
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      name: jobName(reaction.name, action.name, {
        nowSeconds: Math.floor(now() / 1000),
        suffix: suffix(),
      }),
      namespace: reaction.namespace,
      labels: {
        "app.kubernetes.io/name": "karo-job",
        "app.kubernetes.io/component": "job",
        [LABEL_ALERT_NAME]: sanitizeLabelValue(reaction.alertName),
        [LABEL_ACTION_NAME]: sanitizeLabelValue(action.name),
        [LABEL_OWNER]: sanitizeLabelValue(reaction.name),
        [LABEL_FINGERPRINT]: sanitizeLabelValue(input.alert.fingerprint),
      },
      annotations: { [ANNOTATION_STARTS_AT]: input.alert.startsAt },
      ownerReferences: [{
        apiVersion: reaction.apiVersion,
        kind: "AlertReaction",
        name: reaction.name,
        uid: reaction.uid,
      }],
    },
    spec,
  };
}

/**
 * Karo's Job name: see the module doc.
 *
 * @param reactionName The AlertReaction's name.
 * @param actionName The action's name.
 * @param parts Unix seconds and the random suffix.
 * @returns A name of at most 63 characters.
 */
export function jobName(
  reactionName: string,
  actionName: string,
  parts: { nowSeconds: number; suffix: string },
): string {
  const base = trimToAlnum(
    `${reactionName}-${actionName}-${parts.nowSeconds}`.toLowerCase().replace(/[^a-z0-9.-]/g, "-"),
    /[a-z0-9]/,
  );
  return `${trimToAlnum(base.slice(0, 54), /[a-z0-9]/)}-${parts.suffix}`;
}

/**
 * Karo's label value sanitising: first 63 characters, `[^A-Za-z0-9_.-]` replaced by `-`,
 * non-alphanumerics trimmed at both ends.
 *
 * @param value Any text.
 * @returns A valid label value (possibly empty).
 */
export function sanitizeLabelValue(value: string): string {
  return trimToAlnum(value.slice(0, 63).replace(/[^A-Za-z0-9_.-]/g, "-"), /[A-Za-z0-9]/);
}

function trimToAlnum(value: string, alnum: RegExp): string {
  let start = 0;
  let end = value.length;
  while (start < end && !alnum.test(value[start]!)) start++;
  while (end > start && !alnum.test(value[end - 1]!)) end--;
  return value.slice(start, end);
}

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

function randomSuffix(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => ALPHABET[b % ALPHABET.length]).join("");
}
