/**
 * Remediation actions as plain functions over {@linkcode KubeApi}: delete a pod, restart a
 * rollout, scale, re-run a Job, create a Job from a template. `ctx.k8s` (whose host checks
 * permissions, audits and counts every write) and YAML-configured workflows (through
 * `runKubernetesAction` in `run_action.ts`) both call these.
 *
 * They check nothing about who may do what: the caller does. API failures are thrown as
 * the client's `KubeApiError` (status 403 when RBAC refuses); a state that forbids the
 * action (re-running a Job that is still running, a template without a name) throws an
 * `Error` whose message says so.
 *
 * The file stays whole past 400 lines: the five actions are one catalogue that callers
 * read together, and most of its length is their documented options.
 *
 * @example Re-run a failed Job (needs a cluster)
 * ```ts ignore
 * import { rerunJob } from "./actions.ts";
 *
 * const job = await rerunJob(api, { namespace: "batch", name: "nightly-report-28471230" });
 * console.log(job.metadata?.name); // nightly-report-28471230-rerun-k2x9q
 * ```
 *
 * @module
 */
import {
  type KubernetesKind,
  renderTemplate,
  resolveKubernetesKind,
  type RolloutKind,
  type ScaleKind,
} from "@cano/sdk";
import { type KubeApi, KubeApiError, type KubeObject } from "./api.ts";
import { objectPath } from "./object_path.ts";

/** The annotation `kubectl rollout restart` sets on the pod template. */
export const RESTARTED_AT_ANNOTATION = "kubectl.kubernetes.io/restartedAt";
/** The annotation a re-run Job carries: the name of the Job it re-runs. */
export const RERUN_OF_ANNOTATION = "cano.dev/rerun-of";
/** Labels the Job controller sets; a re-run must not copy them (they hold the old uid). */
const CONTROLLER_LABELS = [
  "controller-uid",
  "batch.kubernetes.io/controller-uid",
  "job-name",
  "batch.kubernetes.io/job-name",
];
const CONTROLLER_ANNOTATIONS = [
  "batch.kubernetes.io/job-tracking",
  "kubectl.kubernetes.io/last-applied-configuration",
];
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const JOB = resolveKubernetesKind("Job")!;
const POD = resolveKubernetesKind("Pod")!;

/** Common options of the actions. */
export interface ActionOptions {
  /** Aborts the requests. */
  signal?: AbortSignal | undefined;
}

/** Target of {@linkcode deletePod}. */
export interface DeletePodOptions extends ActionOptions {
  /** Namespace. */
  namespace: string;
  /** Pod name. */
  name: string;
}

/** Target of {@linkcode rolloutRestart}. */
export interface RolloutRestartOptions extends ActionOptions {
  /** Deployment, StatefulSet or DaemonSet. */
  kind: RolloutKind;
  /** Namespace. */
  namespace: string;
  /** Workload name. */
  name: string;
  /** Clock for the `restartedAt` value. @default Date.now */
  now?: () => number;
}

/** Target of {@linkcode scale}. */
export interface ScaleOptions extends ActionOptions {
  /** Deployment, StatefulSet or ReplicaSet. */
  kind: ScaleKind;
  /** Namespace. */
  namespace: string;
  /** Workload name. */
  name: string;
  /** Desired replicas. */
  replicas: number;
}

/** Target of {@linkcode rerunJob}. */
export interface RerunJobOptions extends ActionOptions {
  /** Namespace. */
  namespace: string;
  /** The finished Job. */
  name: string;
  /** Random numbers for the name suffix. @default Math.random */
  random?: () => number;
}

/** Input of {@linkcode createJobFromTemplate}. */
export interface JobTemplateOptions extends ActionOptions {
  /** Namespace the Job is created in (overrides the template's). */
  namespace: string;
  /** A batch/v1 Job manifest whose strings are templates; `metadata.name` or `metadata.generateName` is required. */
  template: Record<string, unknown>;
  /** What the templates read (usually the Issue). */
  data: unknown;
  /** Random numbers for a `generateName` suffix. @default Math.random */
  random?: () => number;
}

/**
 * Deletes a pod; its controller (if any) creates a replacement.
 *
 * @param api The Kubernetes API.
 * @param options Namespace, name and signal.
 * @throws {KubeApiError} When the API server refuses (404 when gone, 403 when forbidden).
 */
export async function deletePod(
  api: KubeApi,
  { namespace, name, signal }: DeletePodOptions,
): Promise<void> {
  await api.request("DELETE", objectPath(POD, { namespace, name }), withSignal(signal));
}

/**
 * Restarts a workload's pods as `kubectl rollout restart` does: patches
 * `spec.template.metadata.annotations["kubectl.kubernetes.io/restartedAt"]` to now.
 *
 * @param api The Kubernetes API.
 * @param options Kind, namespace, name, clock and signal.
 * @returns The patched workload.
 * @throws {TypeError} When the kind cannot be restarted.
 * @throws {KubeApiError} When the API server refuses.
 */
export async function rolloutRestart(
  api: KubeApi,
  { kind, namespace, name, now = Date.now, signal }: RolloutRestartOptions,
): Promise<KubeObject> {
  const resolved = workloadKind(kind, ["Deployment", "StatefulSet", "DaemonSet"], "restart");
  const restartedAt = new Date(now()).toISOString().replace(/\.\d+Z$/, "Z");
  return await api.request<KubeObject>("PATCH", objectPath(resolved, { namespace, name }), {
    contentType: "application/merge-patch+json",
    body: {
      spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: restartedAt } } } },
    },
    ...withSignal(signal),
  });
}

/**
 * Sets a workload's replicas through its `scale` subresource. When the server does not
 * serve the subresource (404 while the workload exists), patches `spec.replicas` instead.
 *
 * @param api The Kubernetes API.
 * @param options Kind, namespace, name, replicas and signal.
 * @returns The `Scale` object (or the patched workload).
 * @throws {TypeError} When the kind cannot be scaled.
 * @throws {RangeError} When replicas is not a non-negative integer.
 * @throws {KubeApiError} When the API server refuses.
 */
export async function scale(
  api: KubeApi,
  { kind, namespace, name, replicas, signal }: ScaleOptions,
): Promise<KubeObject> {
  const resolved = workloadKind(kind, ["Deployment", "StatefulSet", "ReplicaSet"], "scale");
  if (!Number.isInteger(replicas) || replicas < 0) {
    throw new RangeError(
      `Cannot scale ${kind} "${namespace}/${name}": replicas must be a non-negative integer, got ${replicas}`,
    );
  }
  const patch = {
    contentType: "application/merge-patch+json" as const,
    body: { spec: { replicas } },
    ...withSignal(signal),
  };
  try {
    return await api.request<KubeObject>(
      "PATCH",
      objectPath(resolved, { namespace, name, subresource: "scale" }),
      patch,
    );
  } catch (error) {
    if (!(error instanceof KubeApiError && (error.status === 404 || error.status === 405))) {
      throw error;
    }
    return await api.request<KubeObject>("PATCH", objectPath(resolved, { namespace, name }), patch);
  }
}

/**
 * Creates a Job in a namespace.
 *
 * @param api The Kubernetes API.
 * @param options Namespace, the Job manifest and signal.
 * @returns The created Job.
 * @throws {KubeApiError} When the API server refuses.
 */
export async function createJob(
  api: KubeApi,
  { namespace, job, signal }: ActionOptions & { namespace: string; job: KubeObject },
): Promise<KubeObject> {
  const body = {
    ...job,
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { ...job.metadata, namespace },
  };
  return await api.request<KubeObject>("POST", objectPath(JOB, { namespace }), {
    body,
    ...withSignal(signal),
  });
}

/**
 * Builds the Job that re-runs a finished Job: same spec and user labels, a new name
 * (`<name>-rerun-<5 chars>`), without the controller's selector, labels, owner and status.
 *
 * @param job The finished Job as read from the API.
 * @param options Random numbers for the name suffix.
 * @returns The manifest to create.
 * @throws {Error} When the Job is still running.
 * @example
 * ```ts
 * import { rerunManifest } from "./actions.ts";
 * import assert from "node:assert/strict";
 *
 * const job = {
 *   metadata: { name: "report", namespace: "batch", uid: "u1", labels: { app: "report", "job-name": "report" } },
 *   spec: {
 *     selector: { matchLabels: { "batch.kubernetes.io/controller-uid": "u1" } },
 *     template: { metadata: { labels: { app: "report", "controller-uid": "u1" } }, spec: { restartPolicy: "Never" } },
 *   },
 *   status: { conditions: [{ type: "Failed", status: "True", reason: "BackoffLimitExceeded" }] },
 * };
 * const rerun = rerunManifest(job, { random: () => 0 });
 * assert.equal(rerun.metadata?.name, "report-rerun-aaaaa");
 * assert.deepEqual(rerun.metadata?.labels, { app: "report" });
 * assert.equal((rerun.spec as { selector?: unknown }).selector, undefined);
 * ```
 */
export function rerunManifest(
  job: KubeObject,
  { random = Math.random }: { random?: () => number } = {},
): KubeObject {
  const name = job.metadata?.name ?? "";
  const namespace = job.metadata?.namespace ?? "";
  const conditions =
    (job.status as { conditions?: { type?: string; status?: string }[] } | undefined)
      ?.conditions ?? [];
  const finished = conditions.some((c) =>
    c.status === "True" &&
    ["Complete", "Failed", "FailureTarget", "SuccessCriteriaMet"].includes(c.type ?? "")
  );
  if (!finished) {
    throw new Error(
      `Cannot rerun job "${namespace}/${name}": it is still running (no Complete or Failed condition)`,
    );
  }
  const spec = structuredClone((job.spec ?? {}) as Record<string, unknown>);
  delete spec.selector;
  delete spec.manualSelector;
  const template = (spec.template ?? {}) as { metadata?: { labels?: Record<string, string> } };
  if (template.metadata?.labels) {
    template.metadata.labels = withoutKeys(template.metadata.labels, CONTROLLER_LABELS);
  }
  const labels = withoutKeys(job.metadata?.labels ?? {}, CONTROLLER_LABELS);
  const annotations = {
    ...withoutKeys(job.metadata?.annotations ?? {}, CONTROLLER_ANNOTATIONS),
    [RERUN_OF_ANNOTATION]: name,
  };
  const base = name.slice(0, 63 - 12).replace(/[-.]+$/, "");
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: `${base}-rerun-${suffix(random)}`, namespace, labels, annotations },
    spec,
  };
}

/**
 * Re-runs a finished Job: reads it, builds {@linkcode rerunManifest}, creates the new Job.
 * The old Job stays for its logs.
 *
 * @param api The Kubernetes API.
 * @param options Namespace, name, random source and signal.
 * @returns The new Job.
 * @throws {Error} When the Job is still running.
 * @throws {KubeApiError} When the API server refuses.
 */
export async function rerunJob(
  api: KubeApi,
  { namespace, name, random, signal }: RerunJobOptions,
): Promise<KubeObject> {
  const job = await api.request<KubeObject>(
    "GET",
    objectPath(JOB, { namespace, name }),
    withSignal(signal),
  );
  const manifest = rerunManifest(job, random ? { random } : {});
  return await createJob(api, { namespace, job: manifest, ...withSignal(signal) });
}

/**
 * Renders a Job template: every string is filled from `data` with `renderTemplate`,
 * `metadata.generateName` gets a 5-character suffix, the namespace is set and
 * `app.kubernetes.io/managed-by: cano` is added.
 *
 * @param template A batch/v1 Job manifest whose strings are templates.
 * @param options Namespace, data and random numbers.
 * @returns The Job manifest.
 * @throws {TypeError} When the rendered name is missing or not a DNS-1123 label.
 * @example
 * ```ts
 * import { renderJobTemplate } from "./actions.ts";
 * import assert from "node:assert/strict";
 *
 * const job = renderJobTemplate({
 *   metadata: { generateName: "dump-{{ labels.pod }}-" },
 *   spec: { template: { spec: { containers: [{ name: "dump", image: "busybox", args: ["{{ labels.pod }}"] }] } } },
 * }, { namespace: "shop", data: { labels: { pod: "api-0" } }, random: () => 0.5 });
 * assert.equal(job.metadata?.name, "dump-api-0-sssss");
 * assert.deepEqual(job.metadata?.labels, { "app.kubernetes.io/managed-by": "cano" });
 * ```
 */
export function renderJobTemplate(
  template: Record<string, unknown>,
  { namespace, data, random = Math.random }: Omit<JobTemplateOptions, "template" | "signal">,
): KubeObject {
  const rendered = renderStrings(template, data) as KubeObject;
  const metadata = { ...(rendered.metadata ?? {}) };
  const generateName = typeof metadata.generateName === "string" ? metadata.generateName : "";
  delete metadata.generateName;
  const name = metadata.name ??
    (generateName ? `${generateName.slice(0, 58)}${suffix(random)}` : "");
  if (!name || name.length > 63 || !DNS_LABEL.test(name)) {
    throw new TypeError(
      `Cannot create job from template: name "${name}" is not a DNS-1123 label (lower-case letters, digits and "-", at most 63)`,
    );
  }
  return {
    ...rendered,
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      ...metadata,
      name,
      namespace,
      labels: { ...metadata.labels, "app.kubernetes.io/managed-by": "cano" },
    },
  };
}

/**
 * Creates a Job from a template ({@linkcode renderJobTemplate}).
 *
 * @param api The Kubernetes API.
 * @param options Namespace, template, data, random numbers and signal.
 * @returns The created Job.
 * @throws {TypeError} When the rendered name is invalid.
 * @throws {KubeApiError} When the API server refuses.
 */
export async function createJobFromTemplate(
  api: KubeApi,
  { namespace, template, data, random, signal }: JobTemplateOptions,
): Promise<KubeObject> {
  const job = renderJobTemplate(
    template,
    random ? { namespace, data, random } : { namespace, data },
  );
  return await createJob(api, { namespace, job, ...withSignal(signal) });
}

function workloadKind(kind: string, allowed: string[], verb: string): KubernetesKind {
  const resolved = resolveKubernetesKind(kind);
  if (!resolved || !allowed.includes(resolved.kind)) {
    throw new TypeError(
      `Cannot ${verb} a ${kind}: only ${allowed.join(", ")} can be ${
        verb === "scale" ? "scaled" : "restarted"
      }`,
    );
  }
  return resolved;
}

function renderStrings(value: unknown, data: unknown): unknown {
  if (typeof value === "string") return renderTemplate(value, data);
  if (Array.isArray(value)) return value.map((item) => renderStrings(item, data));
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      if (key === "__proto__") continue;
      out[key] = renderStrings(child, data);
    }
    return out;
  }
  return value;
}

function withoutKeys(record: Record<string, string>, keys: string[]): Record<string, string> {
  return Object.fromEntries(Object.entries(record).filter(([key]) => !keys.includes(key)));
}

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

function suffix(random: () => number): string {
  let out = "";
  for (let i = 0; i < 5; i++) {
    out += ALPHABET[Math.floor(random() * ALPHABET.length) % ALPHABET.length];
  }
  return out;
}

function withSignal(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal ? { signal } : {};
}
