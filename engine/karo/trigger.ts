/**
 * Runs one AlertReaction for one alert: one Job per action, then the status write.
 *
 * Each action stands alone, as in Karo: an env field the alert lacks or a refused create
 * (403, 422...) is logged and counted in `cano_alerts_errors_total{source="karo"}`, and the
 * other actions go on. Karo's status semantics are kept: `triggerCount` grows by one per
 * matching alert, even when no Job could be created, and `lastJobsCreated` lists the Jobs of
 * this trigger only.
 *
 * @module
 */
import { type KubeApi, KubeApiError, type KubeObject } from "../kubernetes/api.ts";
import { kindPath } from "../kubernetes/paths.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { AlertData } from "./alert_data.ts";
import { resolveEnv } from "./env.ts";
import {
  ANNOTATION_STARTS_AT,
  buildJob,
  type BuildJobOptions,
  type JobAlert,
  LABEL_FINGERPRINT,
  LABEL_OWNER,
  sanitizeLabelValue,
} from "./job.ts";
import type { AlertReaction } from "./reaction.ts";
import { type JobReference, kubeTime, type StatusWriter } from "./status.ts";

/** Options of {@linkcode runReaction}. */
export interface RunReactionOptions {
  /** Logger. */
  log: Logger;
  /** Metrics. */
  metrics: Metrics;
  /** Where the trigger is recorded. */
  status: StatusWriter;
  /** Clock in ms. @default Date.now */
  now?: () => number;
  /** Job shape: TTL, limits, name suffix. @default {} */
  job?: Omit<BuildJobOptions, "now">;
}

/** What one run did. */
export interface RunReactionResult {
  /** Jobs created. */
  jobs: JobReference[];
  /** Actions that created no Job. */
  failed: { action: string; error: string }[];
}

/**
 * Creates the Jobs of every action of a reaction for one alert and records the trigger.
 *
 * @param api The Kubernetes API.
 * @param reaction The matching reaction.
 * @param alert The alert map and the alert's identity.
 * @param options Logger, metrics, clock and Job options.
 * @returns The Jobs created and the actions that failed. Never throws.
 */
export async function runReaction(
  api: KubeApi,
  reaction: AlertReaction,
  alert: { data: AlertData; id: JobAlert },
  { log, metrics, status, now = Date.now, job = {} }: RunReactionOptions,
): Promise<RunReactionResult> {
  const at = kubeTime(now());
  const result: RunReactionResult = { jobs: [], failed: [] };
  const rlog = log.child({ alertReaction: `${reaction.namespace}/${reaction.name}` });
  const fail = (action: string, errorType: string, error: string, fields = {}) => {
    result.failed.push({ action, error });
    metrics.alertsErrors.inc({ source: "karo", error_type: errorType });
    rlog.error("Cannot create AlertReaction job", { action, reason: error, ...fields });
  };
  for (const action of reaction.actions) {
    const env = resolveEnv(action.env, alert.data);
    if (!env.ok) {
      fail(action.name, "env", env.error);
      continue;
    }
    const body = buildJob(reaction, action, { env: env.env, alert: alert.id }, { ...job, now });
    try {
      const created = await api.request<KubeObject>(
        "POST",
        kindPath("Job", { namespace: reaction.namespace }),
        { body },
      );
      const name = created?.metadata?.name ?? body.metadata!.name!;
      result.jobs.push({
        name,
        namespace: reaction.namespace,
        actionName: action.name,
        createdAt: at,
      });
      metrics.alertReactionJobsCreated.inc({
        namespace: reaction.namespace,
        alert_reaction: reaction.name,
        action: action.name,
      });
      rlog.info("Created AlertReaction job", { action: action.name, job: name });
    } catch (error) {
      const status = error instanceof KubeApiError ? error.status : 0;
      fail(
        action.name,
        status === 403 ? "job_forbidden" : "job_create",
        error instanceof Error ? error.message : String(error),
        { status, job: body.metadata!.name },
      );
    }
  }
  try {
    await status.recordTrigger(reaction, { at, jobs: result.jobs });
  } catch (error) {
    metrics.alertsErrors.inc({ source: "karo", error_type: "status_update" });
    rlog.warn("Cannot update AlertReaction status", { reason: error });
  }
  return result;
}

/**
 * Finds when this reaction last created a Job for this alert firing, by the labels every
 * Job carries, so a restart or another replica honours the cooldown too.
 *
 * @param api The Kubernetes API.
 * @param reaction The reaction.
 * @param alert The alert's fingerprint and start.
 * @returns The creation time in ms of the newest such Job, or `undefined` (none, or the
 * lookup failed: then the run goes ahead).
 */
export async function lastJobFor(
  api: KubeApi,
  reaction: AlertReaction,
  alert: JobAlert,
): Promise<number | undefined> {
  const selector = `${LABEL_OWNER}=${sanitizeLabelValue(reaction.name)},` +
    `${LABEL_FINGERPRINT}=${sanitizeLabelValue(alert.fingerprint)}`;
  let list: { items?: KubeObject[] };
  try {
    list = await api.request(
      "GET",
      kindPath("Job", { namespace: reaction.namespace }),
      { query: { labelSelector: selector } },
    );
  } catch {
    return undefined;
  }
  let latest: number | undefined;
  for (const item of list.items ?? []) {
    const meta = item.metadata ?? {};
    if (!meta.ownerReferences?.some((o) => o.uid === reaction.uid)) continue;
    if (meta.annotations?.[ANNOTATION_STARTS_AT] !== alert.startsAt) continue;
    const created = Date.parse(meta.creationTimestamp ?? "");
    if (!Number.isNaN(created) && (latest === undefined || created > latest)) latest = created;
  }
  return latest;
}
