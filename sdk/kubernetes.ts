/**
 * `ctx.k8s`: what a workflow may read from (and, where allowed, change in) the cluster.
 *
 * Every call is checked against the permissions the workflow declares
 * (`permissions.kubernetes: ["pods:get", "pods/log:get", "jobs:create"]`, RBAC-style
 * `resource:verb`) **and** the operator's policy. Secrets are never readable. Objects come
 * back as plain JSON with `metadata.managedFields` removed. Kinds are named as in manifests
 * (`Pod`, `Deployment`) or by their plural (`pods`); {@linkcode KUBERNETES_KINDS} lists them.
 *
 * | call | needs |
 * |---|---|
 * | `get(kind, ns, name)` | `<plural>:get` |
 * | `list(kind, options)` | `<plural>:list` |
 * | `logs(options)` | `pods/log:get` |
 * | `events(ref)` | `events:list` |
 * | `ownerChain(kind, ns, name)` | `<plural>:get` of each kind in the chain; the chain stops before the first kind the workflow may not read |
 * | `podNode(ns, pod)` | `pods:get`, `nodes:get` |
 * | `createJob(ns, job)` | `jobs:create` |
 * | `deletePod(ns, name)` | `pods:delete` |
 * | `rolloutRestart(kind, ns, name)` | `<plural>:patch` (deployments, statefulsets, daemonsets) |
 * | `scale(kind, ns, name, replicas)` | `<plural>/scale:patch` (deployments, statefulsets, replicasets) |
 * | `rerunJob(ns, name)` | `jobs:get`, `jobs:create` |
 *
 * A declared verb `*` (`pods:*`) covers every verb of that resource.
 *
 * @example Check what a call needs
 * ```ts
 * import { kubernetesAllows, resolveKubernetesKind } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * const deployment = resolveKubernetesKind("deployments");
 * assert.equal(deployment?.kind, "Deployment");
 * assert.equal(deployment?.group, "apps");
 * assert.equal(kubernetesAllows(["pods:*", "deployments:get"], "pods", "delete"), true);
 * assert.equal(kubernetesAllows(["deployments:get"], "deployments", "patch"), false);
 * ```
 *
 * @module
 */
import { z } from "zod";

/** A Kubernetes object as JSON, loosely typed (many kinds, many versions). */
export interface KubernetesObject {
  /** e.g. `v1`, `apps/v1`. */
  apiVersion?: string;
  /** e.g. `Pod`. */
  kind?: string;
  /** Object metadata. */
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    creationTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: {
      apiVersion: string;
      kind: string;
      name: string;
      uid: string;
      controller?: boolean;
    }[];
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** A list answer. */
export interface KubernetesList {
  /** The items, trimmed. */
  items: KubernetesObject[];
  /** `continue` is set when more items exist than `limit` returned. */
  metadata: { resourceVersion?: string; continue?: string };
}

/** Options of `ctx.k8s.list`. */
export interface KubernetesListOptions {
  /** Namespace to list in; omitted lists every namespace (only if the operator allows it). */
  namespace?: string;
  /** Label selector, e.g. `app=api,tier!=cache`. */
  labelSelector?: string;
  /** Field selector, e.g. `spec.nodeName=node-1`. */
  fieldSelector?: string;
  /** Most items to return; the operator's cap applies. */
  limit?: number;
}

/** Options of `ctx.k8s.logs`. */
export interface KubernetesLogOptions {
  /** Namespace of the pod. */
  namespace: string;
  /** Pod name. */
  pod: string;
  /** Container; required by the API server when the pod has more than one. */
  container?: string;
  /** Lines from the end; the operator's cap applies (and is the default). */
  tailLines?: number;
  /** Logs of the previous (crashed) container instance. @default false */
  previous?: boolean;
  /** Only lines newer than this many seconds. */
  sinceSeconds?: number;
}

/** Names one object. */
export interface KubernetesObjectRef {
  /** Kind, e.g. `Pod`. */
  kind: string;
  /** Namespace; omitted for cluster-scoped kinds. */
  namespace?: string;
  /** Name. */
  name: string;
}

/** Kinds `ctx.k8s.rolloutRestart` accepts. */
export type RolloutKind = "Deployment" | "StatefulSet" | "DaemonSet";
/** Kinds `ctx.k8s.scale` accepts. */
export type ScaleKind = "Deployment" | "StatefulSet" | "ReplicaSet";

/** Reads and (where declared and allowed) writes cluster state. */
export interface KubernetesCapability {
  /**
   * Reads one object; `namespace` is ignored for cluster-scoped kinds (pass `""`).
   *
   * @throws {Error} When not permitted, not found, or the call fails.
   */
  get(kind: string, namespace: string | undefined, name: string): Promise<KubernetesObject>;
  /** Lists objects. @throws {Error} When not permitted or the call fails. */
  list(kind: string, options?: KubernetesListOptions): Promise<KubernetesList>;
  /** Reads a container's logs, tail-capped by the operator. @throws {Error} When not permitted or the call fails. */
  logs(options: KubernetesLogOptions): Promise<string>;
  /** Events about one object, oldest first. @throws {Error} When not permitted or the call fails. */
  events(ref: KubernetesObjectRef): Promise<KubernetesObject[]>;
  /**
   * The object and its controllers, e.g. Pod → ReplicaSet → Deployment or Job → CronJob.
   *
   * @throws {Error} When the first object cannot be read.
   */
  ownerChain(
    kind: string,
    namespace: string | undefined,
    name: string,
  ): Promise<KubernetesObject[]>;
  /** The Node a pod runs on. @throws {Error} When not permitted, or the pod is not scheduled. */
  podNode(namespace: string, pod: string): Promise<KubernetesObject>;
  /** Creates a Job (`metadata.namespace` is set to `namespace`). @throws {Error} When not permitted or refused. */
  createJob(namespace: string, job: KubernetesObject): Promise<KubernetesObject>;
  /** Deletes a pod (its controller recreates it). @throws {Error} When not permitted or refused. */
  deletePod(namespace: string, name: string): Promise<void>;
  /** Restarts a workload's pods as `kubectl rollout restart` does. @throws {Error} When not permitted or refused. */
  rolloutRestart(kind: RolloutKind, namespace: string, name: string): Promise<KubernetesObject>;
  /** Sets a workload's replicas through its scale subresource. @throws {Error} When not permitted or refused. */
  scale(
    kind: ScaleKind,
    namespace: string,
    name: string,
    replicas: number,
  ): Promise<KubernetesObject>;
  /** Creates a new Job from a finished Job's spec; returns the new Job. @throws {Error} When not permitted, still running, or refused. */
  rerunJob(namespace: string, name: string): Promise<KubernetesObject>;
}

/** What Cano knows about a kind: where it is served and how permissions name it. */
export interface KubernetesKind {
  /** e.g. `Deployment`. */
  kind: string;
  /** Lower-case plural, the permission's resource, e.g. `deployments`. */
  plural: string;
  /** API group, `""` for core. */
  group: string;
  /** API version, e.g. `v1`. */
  version: string;
  /** Whether objects live in a namespace. */
  namespaced: boolean;
}

const kind = (
  name: string,
  plural: string,
  group: string,
  version: string,
  namespaced = true,
): KubernetesKind => Object.freeze({ kind: name, plural, group, version, namespaced });

/** The kinds `ctx.k8s` serves, sorted by group then kind; the engine builds its API paths from it. */
export const KUBERNETES_KINDS: readonly KubernetesKind[] = Object.freeze([
  kind("ConfigMap", "configmaps", "", "v1"),
  kind("Endpoints", "endpoints", "", "v1"),
  kind("Event", "events", "", "v1"),
  kind("Namespace", "namespaces", "", "v1", false),
  kind("Node", "nodes", "", "v1", false),
  kind("PersistentVolume", "persistentvolumes", "", "v1", false),
  kind("PersistentVolumeClaim", "persistentvolumeclaims", "", "v1"),
  kind("Pod", "pods", "", "v1"),
  kind("ReplicationController", "replicationcontrollers", "", "v1"),
  kind("Secret", "secrets", "", "v1"),
  kind("Service", "services", "", "v1"),
  kind("ServiceAccount", "serviceaccounts", "", "v1"),
  kind("DaemonSet", "daemonsets", "apps", "v1"),
  kind("Deployment", "deployments", "apps", "v1"),
  kind("ReplicaSet", "replicasets", "apps", "v1"),
  kind("StatefulSet", "statefulsets", "apps", "v1"),
  kind("HorizontalPodAutoscaler", "horizontalpodautoscalers", "autoscaling", "v2"),
  kind("CronJob", "cronjobs", "batch", "v1"),
  kind("Job", "jobs", "batch", "v1"),
  kind("Lease", "leases", "coordination.k8s.io", "v1"),
  kind("EndpointSlice", "endpointslices", "discovery.k8s.io", "v1"),
  kind("Ingress", "ingresses", "networking.k8s.io", "v1"),
  kind("NetworkPolicy", "networkpolicies", "networking.k8s.io", "v1"),
  kind("PodDisruptionBudget", "poddisruptionbudgets", "policy", "v1"),
]);

const BY_NAME = new Map<string, KubernetesKind>();
for (const entry of KUBERNETES_KINDS) {
  BY_NAME.set(entry.kind.toLowerCase(), entry);
  BY_NAME.set(entry.plural, entry);
}

/**
 * Finds a kind by its name (`Deployment`, case-insensitive) or plural (`deployments`).
 *
 * @param name Kind or plural.
 * @returns The kind, or `undefined` when Cano does not serve it.
 */
export function resolveKubernetesKind(name: string): KubernetesKind | undefined {
  return typeof name === "string" ? BY_NAME.get(name.toLowerCase()) : undefined;
}

/**
 * Whether a list of `resource:verb` permissions grants a verb on a resource.
 *
 * @param permissions e.g. `["pods:get", "jobs:*"]`.
 * @param resource e.g. `pods`, `pods/log`, `deployments/scale`.
 * @param verb e.g. `get`.
 * @returns True when an entry names the resource with that verb or `*`.
 */
export function kubernetesAllows(
  permissions: readonly string[],
  resource: string,
  verb: string,
): boolean {
  return permissions.includes(`${resource}:${verb}`) || permissions.includes(`${resource}:*`);
}

/** The methods of {@linkcode KubernetesCapability}. */
export type KubernetesMethod = keyof KubernetesCapability;

/**
 * The `resource:verb` pairs a `ctx.k8s` call needs, as in the table of this module's doc.
 * For `ownerChain` only the first kind is listed: each owner's kind is checked as it is
 * reached, and the chain stops before one the workflow may not read.
 *
 * @param method The `ctx.k8s` method.
 * @param kind The kind the call names (for `get`, `list`, `ownerChain`, `rolloutRestart`, `scale`).
 * @returns `[resource, verb]` pairs, e.g. `[["pods", "get"], ["nodes", "get"]]` for `podNode`.
 * @throws {TypeError} When the method needs a kind and none is given.
 * @example
 * ```ts
 * import { kubernetesNeeds, resolveKubernetesKind } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(kubernetesNeeds("scale", resolveKubernetesKind("Deployment")), [["deployments/scale", "patch"]]);
 * assert.deepEqual(kubernetesNeeds("rerunJob"), [["jobs", "get"], ["jobs", "create"]]);
 * ```
 */
export function kubernetesNeeds(
  method: KubernetesMethod,
  kind?: KubernetesKind,
): [resource: string, verb: string][] {
  const plural = () => {
    if (!kind) throw new TypeError(`Cannot tell what ctx.k8s.${method} needs: no kind given`);
    return kind.plural;
  };
  switch (method) {
    case "get":
    case "ownerChain":
      return [[plural(), "get"]];
    case "list":
      return [[plural(), "list"]];
    case "logs":
      return [["pods/log", "get"]];
    case "events":
      return [["events", "list"]];
    case "podNode":
      return [["pods", "get"], ["nodes", "get"]];
    case "createJob":
      return [["jobs", "create"]];
    case "deletePod":
      return [["pods", "delete"]];
    case "rolloutRestart":
      return [[plural(), "patch"]];
    case "scale":
      return [[`${plural()}/scale`, "patch"]];
    case "rerunJob":
      return [["jobs", "get"], ["jobs", "create"]];
  }
}

/** A template string: `{{ path }}` placeholders are filled from the Issue (see `renderTemplate`). */
const Template = z.string().min(1).max(4096);

/** A remediation action as YAML workflows and the SDK describe it; names are templates. */
export const KubernetesActionSchema = z.discriminatedUnion("action", [
  z.strictObject({
    action: z.literal("delete_pod"),
    namespace: Template.default("{{ subject.namespace }}").describe("Namespace of the pod"),
    name: Template.default("{{ subject.name }}").describe("Pod to delete"),
  }),
  z.strictObject({
    action: z.literal("rollout_restart"),
    kind: z.enum(["Deployment", "StatefulSet", "DaemonSet"]),
    namespace: Template.default("{{ subject.namespace }}"),
    name: Template.describe("Workload to restart"),
  }),
  z.strictObject({
    action: z.literal("scale"),
    kind: z.enum(["Deployment", "StatefulSet", "ReplicaSet"]),
    namespace: Template.default("{{ subject.namespace }}"),
    name: Template.describe("Workload to scale"),
    replicas: z.number().int().min(0).max(10_000),
  }),
  z.strictObject({
    action: z.literal("rerun_job"),
    namespace: Template.default("{{ subject.namespace }}"),
    name: Template.default("{{ subject.name }}").describe("The finished Job to run again"),
  }),
  z.strictObject({
    action: z.literal("create_job"),
    namespace: Template.default("{{ subject.namespace }}"),
    template: z.record(z.string(), z.unknown()).describe(
      "A batch/v1 Job manifest; every string in it is a template",
    ),
  }),
]);
/** A remediation action as written. */
export type KubernetesActionInput = z.input<typeof KubernetesActionSchema>;
/** A remediation action, defaults applied. */
export type KubernetesAction = z.output<typeof KubernetesActionSchema>;
