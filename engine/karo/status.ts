/**
 * Writes of an AlertReaction's `status`, through the status subresource, with Karo's field
 * names: `lastTriggered`, `triggerCount`, `lastJobsCreated` (`name`, `namespace`,
 * `actionName`, `createdAt`; replaced at each trigger) and `conditions`.
 *
 * Each write reads the current object, changes the status and PUTs it with that
 * `resourceVersion`; on `409 Conflict` (another replica, a user) it reads again and retries,
 * and writes of one process to one reaction are queued. Karo wrote once from a cached copy
 * without retry, so concurrent alerts lost increments of `triggerCount`.
 *
 * @module
 */
import { type KubeApi, KubeApiError, type KubeObject } from "../kubernetes/api.ts";
import { kindPath } from "../kubernetes/paths.ts";

/** A Job created by a trigger, as recorded in `status.lastJobsCreated`. */
export interface JobReference {
  /** Job name. */
  name: string;
  /** Job namespace. */
  namespace: string;
  /** The action that created it. */
  actionName: string;
  /** When (RFC 3339, whole seconds). */
  createdAt: string;
}

/** A `metav1.Condition`. */
export interface Condition {
  /** e.g. `Ready`. */
  type: string;
  /** `True`, `False` or `Unknown`. */
  status: "True" | "False" | "Unknown";
  /** CamelCase reason. */
  reason: string;
  /** Human text. */
  message: string;
  /** When `status` last changed (RFC 3339). */
  lastTransitionTime: string;
  /** `metadata.generation` the condition was computed from. */
  observedGeneration?: number;
}

/** Where an AlertReaction lives. */
export interface ReactionRef {
  /** `karo.io/v1alpha1` or `karo.io/v1`. */
  apiVersion: string;
  /** Namespace. */
  namespace: string;
  /** Name. */
  name: string;
}

/** Options of the status writers. */
export interface StatusWriteOptions {
  /** Attempts on `409 Conflict`. @default 5 */
  maxAttempts?: number;
}

/**
 * The path of an AlertReaction's status subresource.
 *
 * @param ref The reaction.
 * @returns e.g. `/apis/karo.io/v1alpha1/namespaces/default/alertreactions/x/status`.
 */
export function statusPath(ref: ReactionRef): string {
  const { apiVersion, namespace, name } = ref;
  return kindPath("AlertReaction", { apiVersion, namespace, name, subresource: "status" });
}

/**
 * Formats a time as Kubernetes' `metav1.Time`: RFC 3339 in UTC, whole seconds.
 *
 * @param ms Epoch milliseconds.
 * @returns e.g. `2026-03-01T10:12:04Z`.
 */
export function kubeTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** Writes the status of AlertReactions. */
export interface StatusWriter {
  /**
   * Records a trigger: `lastTriggered`, `triggerCount + 1` and `lastJobsCreated`.
   *
   * @returns The new trigger count.
   * @throws {KubeApiError} When the write fails for another reason than a conflict, or keeps
   * conflicting.
   */
  recordTrigger(
    ref: ReactionRef,
    trigger: { at: string; jobs: readonly JobReference[] },
  ): Promise<number>;
  /**
   * Sets a condition (one entry per type), keeping `lastTransitionTime` while the status is
   * unchanged; writes only when something differs.
   *
   * @returns Whether a write was made.
   * @throws {KubeApiError} As `recordTrigger`.
   */
  setCondition(ref: ReactionRef, condition: Condition): Promise<boolean>;
}

/**
 * Creates a status writer. Writes to one reaction are queued, so this process never
 * conflicts with itself; conflicts with other writers are retried.
 *
 * @param api The Kubernetes API.
 * @param options Retry attempts.
 * @returns The writer.
 */
export function createStatusWriter(
  api: KubeApi,
  { maxAttempts = 5 }: StatusWriteOptions = {},
): StatusWriter {
  const queues = new Map<string, Promise<unknown>>();
  const update = (
    ref: ReactionRef,
    change: (status: Record<string, unknown>) => Record<string, unknown> | undefined,
  ): Promise<void> => {
    const path = statusPath(ref);
    const run = (queues.get(path) ?? Promise.resolve())
      .catch(() => {})
      .then(() => updateStatus(api, path, change, maxAttempts));
    queues.set(path, run);
    const done = () => {
      if (queues.get(path) === run) queues.delete(path);
    };
    run.then(done, done);
    return run;
  };
  return {
    async recordTrigger(ref, trigger) {
      let count = 0;
      await update(ref, (status) => {
        count = (typeof status["triggerCount"] === "number" ? status["triggerCount"] : 0) + 1;
        return {
          ...status,
          lastTriggered: trigger.at,
          triggerCount: count,
          lastJobsCreated: trigger.jobs.map((j) => ({ ...j })),
        };
      });
      return count;
    },
    async setCondition(ref, condition) {
      let wrote = false;
      await update(ref, (status) => {
        const conditions = Array.isArray(status["conditions"])
          ? status["conditions"] as Condition[]
          : [];
        const current = conditions.find((c) => c.type === condition.type);
        if (
          current && current.status === condition.status &&
          current.reason === condition.reason && current.message === condition.message &&
          current.observedGeneration === condition.observedGeneration
        ) {
          return undefined;
        }
        wrote = true;
        const next: Condition = current?.status === condition.status
          ? { ...condition, lastTransitionTime: current.lastTransitionTime }
          : condition;
        return {
          ...status,
          conditions: [...conditions.filter((c) => c.type !== condition.type), next],
        };
      });
      return wrote;
    },
  };
}

async function updateStatus(
  api: KubeApi,
  path: string,
  change: (status: Record<string, unknown>) => Record<string, unknown> | undefined,
  maxAttempts: number,
): Promise<void> {
  for (let attempt = 1;; attempt++) {
    const object = await api.request<KubeObject>("GET", path);
    const status = typeof object["status"] === "object" && object["status"] !== null
      ? object["status"] as Record<string, unknown>
      : {};
    const next = change(status);
    if (next === undefined) return;
    try {
      await api.request("PUT", path, { body: { ...object, status: next } });
      return;
    } catch (error) {
      if (!(error instanceof KubeApiError) || error.status !== 409 || attempt >= maxAttempts) {
        throw error;
      }
    }
  }
}
