/**
 * REST paths of the kinds Cano reads and writes, from a small explicit table.
 *
 * @example
 * ```ts
 * import { kindPath, resourceOf } from "./paths.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(kindPath("Pod", { namespace: "shop" }), "/api/v1/namespaces/shop/pods");
 * assert.equal(
 *   kindPath("Deployment", { namespace: "shop", name: "api", subresource: "scale" }),
 *   "/apis/apps/v1/namespaces/shop/deployments/api/scale",
 * );
 * assert.equal(kindPath("Node", { name: "n1" }), "/api/v1/nodes/n1");
 * assert.equal(resourceOf({ apiVersion: "karo.io/v1alpha1", kind: "AlertReaction" })?.plural, "alertreactions");
 * ```
 *
 * @module
 */

/** One row of the table: where a kind lives. */
export interface KubeResource {
  /** e.g. `Deployment`. */
  readonly kind: string;
  /** API group, `""` for core. */
  readonly group: string;
  /** e.g. `v1`, `v1alpha1`. */
  readonly version: string;
  /** Lower-case plural used in paths, e.g. `deployments`. */
  readonly plural: string;
  /** Whether objects live in a namespace. */
  readonly namespaced: boolean;
}

/** The kinds Cano knows, first version of a kind is its default. */
export const KUBE_RESOURCES: readonly KubeResource[] = Object.freeze([
  { kind: "Pod", group: "", version: "v1", plural: "pods", namespaced: true },
  { kind: "Event", group: "", version: "v1", plural: "events", namespaced: true },
  { kind: "Secret", group: "", version: "v1", plural: "secrets", namespaced: true },
  { kind: "ConfigMap", group: "", version: "v1", plural: "configmaps", namespaced: true },
  { kind: "Service", group: "", version: "v1", plural: "services", namespaced: true },
  { kind: "Node", group: "", version: "v1", plural: "nodes", namespaced: false },
  { kind: "Namespace", group: "", version: "v1", plural: "namespaces", namespaced: false },
  { kind: "Deployment", group: "apps", version: "v1", plural: "deployments", namespaced: true },
  { kind: "ReplicaSet", group: "apps", version: "v1", plural: "replicasets", namespaced: true },
  { kind: "StatefulSet", group: "apps", version: "v1", plural: "statefulsets", namespaced: true },
  { kind: "DaemonSet", group: "apps", version: "v1", plural: "daemonsets", namespaced: true },
  { kind: "Job", group: "batch", version: "v1", plural: "jobs", namespaced: true },
  { kind: "CronJob", group: "batch", version: "v1", plural: "cronjobs", namespaced: true },
  {
    kind: "Lease",
    group: "coordination.k8s.io",
    version: "v1",
    plural: "leases",
    namespaced: true,
  },
  {
    kind: "AlertReaction",
    group: "karo.io",
    version: "v1alpha1",
    plural: "alertreactions",
    namespaced: true,
  },
  {
    kind: "AlertReaction",
    group: "karo.io",
    version: "v1",
    plural: "alertreactions",
    namespaced: true,
  },
].map((row) => Object.freeze(row)));

/** Where in a kind's REST tree. */
export interface KindPathOptions {
  /** Namespace; left out for cluster-scoped kinds and for "every namespace". */
  namespace?: string | undefined;
  /** Object name; left out for the collection. */
  name?: string | undefined;
  /** Subresource such as `status`, `log`, `scale`. */
  subresource?: string | undefined;
  /** API version, e.g. `karo.io/v1`; @default the table's first version of the kind */
  apiVersion?: string | undefined;
}

/**
 * Finds the table row of a kind, by `kind` and optionally `apiVersion`.
 *
 * @param object An object or `{ kind, apiVersion? }`.
 * @returns The row, or undefined for a kind the table does not hold.
 */
export function resourceOf(
  object: { kind?: string | undefined; apiVersion?: string | undefined },
): KubeResource | undefined {
  const rows = KUBE_RESOURCES.filter((row) => row.kind === object.kind);
  if (object.apiVersion === undefined) return rows[0];
  return rows.find((row) => apiVersionOf(row) === object.apiVersion);
}

/**
 * The `apiVersion` string of a row: `v1`, `apps/v1`.
 *
 * @param resource A table row.
 * @returns `group/version`, or the version alone for the core group.
 */
export function apiVersionOf(resource: KubeResource): string {
  return resource.group === "" ? resource.version : `${resource.group}/${resource.version}`;
}

/**
 * The path prefix of an API version: `/api/v1`, `/apis/apps/v1`.
 *
 * @param apiVersion e.g. `v1`, `apps/v1`.
 * @returns The prefix.
 */
export function apiPrefix(apiVersion: string): string {
  return apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

/**
 * Builds the path of a kind's collection, object or subresource. Segments are URL-encoded.
 *
 * @param kind e.g. `Pod`, `Deployment`, `AlertReaction`.
 * @param options Namespace, name, subresource and API version.
 * @returns e.g. `/api/v1/namespaces/shop/pods/api-0/log`.
 * @throws {TypeError} For a kind or version missing from the table, or a subresource without a name.
 */
export function kindPath(
  kind: string,
  { namespace, name, subresource, apiVersion }: KindPathOptions = {},
): string {
  const resource = resourceOf({ kind, apiVersion });
  if (!resource) {
    throw new TypeError(
      `Cannot build path of kind "${kind}"${
        apiVersion ? ` in "${apiVersion}"` : ""
      }: not in the table (known: ${[...new Set(KUBE_RESOURCES.map((r) => r.kind))].join(", ")})`,
    );
  }
  if (subresource !== undefined && name === undefined) {
    throw new TypeError(`Cannot build path of ${resource.plural}/${subresource}: no object name`);
  }
  const scope = resource.namespaced && namespace
    ? `/namespaces/${encodeURIComponent(namespace)}`
    : "";
  const object = name === undefined ? "" : `/${encodeURIComponent(name)}`;
  const sub = subresource === undefined ? "" : `/${subresource}`;
  return `${apiPrefix(apiVersionOf(resource))}${scope}/${resource.plural}${object}${sub}`;
}

/**
 * The path of an object from its own `apiVersion`, `kind` and metadata.
 *
 * @param object A Kubernetes object.
 * @param subresource Optional subresource, e.g. `status`.
 * @returns The object path.
 * @throws {TypeError} When the kind is not in the table or the object has no name.
 */
export function objectPathOf(
  object: {
    apiVersion?: string | undefined;
    kind?: string | undefined;
    metadata?: { name?: string | undefined; namespace?: string | undefined } | undefined;
  },
  subresource?: string,
): string {
  const name = object.metadata?.name;
  if (!name) throw new TypeError(`Cannot build path of a ${object.kind ?? "object"}: no name`);
  return kindPath(object.kind ?? "", {
    namespace: object.metadata?.namespace,
    name,
    subresource,
    apiVersion: object.apiVersion,
  });
}
