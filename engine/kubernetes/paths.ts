/**
 * REST paths of the kinds Cano reads and writes: the SDK's `KUBERNETES_KINDS` and the custom
 * resources of the engine (Karo's AlertReaction).
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
import { KUBERNETES_KINDS } from "@cano/sdk";
import { KARO_GROUP, KARO_VERSIONS } from "../karo/schema.ts";
import { objectPath } from "./object_path.ts";

/** One row of the table: where a kind lives. The SDK's `KubernetesKind` has the same shape. */
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

/**
 * The kinds Cano knows: every kind `ctx.k8s` serves ({@linkcode KUBERNETES_KINDS}, the one
 * source of built-in kinds), then the custom resources only the engine reads (Karo's
 * AlertReaction in each of {@linkcode KARO_VERSIONS}). The first version of a kind is its
 * default.
 */
export const KUBE_RESOURCES: readonly KubeResource[] = Object.freeze([
  ...KUBERNETES_KINDS,
  ...KARO_VERSIONS.map((version): KubeResource =>
    Object.freeze({
      kind: "AlertReaction",
      group: KARO_GROUP,
      version,
      plural: "alertreactions",
      namespaced: true,
    })
  ),
]);

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
  return objectPath(resource, { namespace, name, subresource });
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
