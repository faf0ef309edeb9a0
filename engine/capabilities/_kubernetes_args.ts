/**
 * The argument schemas of the `k8s.*` capabilities. Kinds are resolved to the SDK's table
 * here, so an unknown kind is an `invalid_args` error naming the known ones; names and
 * namespaces must be Kubernetes names, so no argument can step out of its path segment.
 *
 * @module
 */
import { KUBERNETES_KINDS, type KubernetesKind, resolveKubernetesKind } from "@cano/sdk";
import { z } from "zod";

/** A kind (`Pod`) or plural (`pods`), resolved to its table row. */
export const Kind = z.string().min(1).max(64).transform((value, ctx) => {
  const kind = resolveKubernetesKind(value);
  if (!kind) {
    ctx.issues.push({
      code: "custom",
      input: value,
      message: `Unknown kind "${value}" (known: ${KUBERNETES_KINDS.map((k) => k.kind).join(", ")})`,
    });
    return z.NEVER;
  }
  return kind;
});
const Namespace = z.string().max(63).regex(
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$/,
  "Expected a namespace name",
);
const RequiredNamespace = Namespace.min(1, "Expected a namespace");
const Name = z.string().min(1).max(253).regex(
  /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/,
  "Expected a Kubernetes object name (lower-case letters, digits, '-' and '.')",
);
const Selector = z.string().max(1024);

/** `get`, `events`, `ownerChain`: one object; namespaced kinds need a namespace. */
export const ObjectArgs = z.strictObject({
  kind: Kind,
  namespace: Namespace.optional(),
  name: Name,
})
  .refine((args) => !args.kind.namespaced || Boolean(args.namespace), {
    message: "Expected a namespace: the kind is namespaced",
    path: ["namespace"],
  });
/** {@linkcode ObjectArgs}, parsed. */
export type ObjectArgs = z.output<typeof ObjectArgs>;

/** `list`. */
export const ListArgs = z.strictObject({
  kind: Kind,
  namespace: Namespace.optional(),
  labelSelector: Selector.optional(),
  fieldSelector: Selector.optional(),
  limit: z.number().int().positive().optional(),
});
/** {@linkcode ListArgs}, parsed. */
export type ListArgs = z.output<typeof ListArgs>;

/** `logs`. */
export const LogArgs = z.strictObject({
  namespace: RequiredNamespace,
  pod: Name,
  container: z.string().min(1).max(63).optional(),
  tailLines: z.number().int().positive().optional(),
  previous: z.boolean().optional(),
  sinceSeconds: z.number().int().positive().optional(),
});
/** {@linkcode LogArgs}, parsed. */
export type LogArgs = z.output<typeof LogArgs>;

/** `podNode`. */
export const PodArgs = z.strictObject({ namespace: RequiredNamespace, pod: Name });
/** {@linkcode PodArgs}, parsed. */
export type PodArgs = z.output<typeof PodArgs>;

/** `deletePod`, `rerunJob`: a namespaced name. */
export const NamedArgs = z.strictObject({ namespace: RequiredNamespace, name: Name });
/** {@linkcode NamedArgs}, parsed. */
export type NamedArgs = z.output<typeof NamedArgs>;

/** `createJob`: the manifest is checked by the API server. */
export const CreateJobArgs = z.strictObject({
  namespace: RequiredNamespace,
  job: z.record(z.string(), z.unknown()),
});
/** {@linkcode CreateJobArgs}, parsed. */
export type CreateJobArgs = z.output<typeof CreateJobArgs>;

const workload = (kinds: string[]) =>
  Kind.refine((kind) => kinds.includes(kind.kind), {
    message: `Expected one of ${kinds.join(", ")}`,
  });

/** `rolloutRestart`. */
export const RestartArgs = z.strictObject({
  kind: workload(["Deployment", "StatefulSet", "DaemonSet"]),
  namespace: RequiredNamespace,
  name: Name,
});
/** {@linkcode RestartArgs}, parsed. */
export type RestartArgs = z.output<typeof RestartArgs>;

/** `scale`. */
export const ScaleArgs = z.strictObject({
  kind: workload(["Deployment", "StatefulSet", "ReplicaSet"]),
  namespace: RequiredNamespace,
  name: Name,
  replicas: z.number().int().min(0).max(10_000),
});
/** {@linkcode ScaleArgs}, parsed. */
export type ScaleArgs = z.output<typeof ScaleArgs>;

/**
 * Safe log fields of a call naming one object.
 *
 * @param args Parsed arguments with a kind, namespace and name.
 * @returns `kind`, `namespace` and `name`.
 */
export function summarizeObject(
  args: { kind: KubernetesKind; namespace?: string | undefined; name: string },
): Record<string, string> {
  return { kind: args.kind.kind, namespace: args.namespace ?? "", name: args.name };
}
