/**
 * `objectPath`: the REST path of a kind, an object or a subresource.
 *
 * @example
 * ```ts
 * import { resolveKubernetesKind } from "@cano/sdk";
 * import { objectPath } from "./object_path.ts";
 * import assert from "node:assert/strict";
 *
 * const deployment = resolveKubernetesKind("Deployment")!;
 * assert.equal(
 *   objectPath(deployment, { namespace: "shop", name: "api", subresource: "scale" }),
 *   "/apis/apps/v1/namespaces/shop/deployments/api/scale",
 * );
 * assert.equal(objectPath(resolveKubernetesKind("Node")!, { name: "n1" }), "/api/v1/nodes/n1");
 * assert.equal(objectPath(resolveKubernetesKind("pods")!, {}), "/api/v1/pods");
 * ```
 *
 * @module
 */
import type { KubernetesKind } from "@cano/sdk";

/** Where in a kind's REST tree. */
export interface ObjectPathOptions {
  /** Namespace; ignored for cluster-scoped kinds, omitted for "every namespace". */
  namespace?: string | undefined;
  /** Object name; omitted for the collection. */
  name?: string | undefined;
  /** Subresource, e.g. `log`, `scale`, `status`. */
  subresource?: string | undefined;
}

/**
 * Builds the REST path of a collection, object or subresource. Segments are URL-encoded.
 *
 * @param kind The kind (from `resolveKubernetesKind`).
 * @param options Namespace, name and subresource.
 * @returns e.g. `/api/v1/namespaces/shop/pods/api-0/log`.
 * @throws {TypeError} When a subresource is given without a name.
 */
export function objectPath(
  kind: KubernetesKind,
  { namespace, name, subresource }: ObjectPathOptions,
): string {
  if (subresource !== undefined && name === undefined) {
    throw new TypeError(`Cannot build path of ${kind.plural}/${subresource}: no object name`);
  }
  const root = kind.group === "" ? `/api/${kind.version}` : `/apis/${kind.group}/${kind.version}`;
  const scope = kind.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : "";
  const object = name === undefined ? "" : `/${encodeURIComponent(name)}`;
  const sub = subresource === undefined ? "" : `/${subresource}`;
  return `${root}${scope}/${kind.plural}${object}${sub}`;
}
