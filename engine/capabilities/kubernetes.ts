/**
 * The `k8s.*` capabilities: `ctx.k8s` served by the host against the cluster Cano runs in.
 *
 * Reads: `k8s.get`, `k8s.list`, `k8s.logs`, `k8s.events`, `k8s.ownerChain`, `k8s.podNode`.
 * Writes: `k8s.createJob`, `k8s.deletePod`, `k8s.rolloutRestart`, `k8s.scale`,
 * `k8s.rerunJob` (the functions of `engine/kubernetes/actions.ts`). The SDK's
 * `sdk/kubernetes.ts` lists what each call needs.
 *
 * A call is permitted when the workflow declares every `resource:verb` it needs **and** the
 * operator's `capabilities.kubernetes.allow` lists it (the default allows common reads and
 * no writes), the namespace matches `capabilities.kubernetes.namespaces`, and no Secret is
 * involved (never readable, whatever is declared). Listing across every namespace needs
 * `allowAllNamespaces`. Events of cluster-scoped objects (Nodes) are read from `default`,
 * where the kubelet records them.
 *
 * Answers are trimmed (`managedFields` and the last-applied annotation removed, inline env
 * values with credential-like names masked) and capped: lists and events at
 * `maxListItems`, logs at `maxLogTailLines` lines (also the default tail) and `maxLogBytes`
 * (the newest whole lines are kept; the transfer is bounded at 8 × `maxLogBytes`),
 * everything at `maxResponseBytes`.
 * Each API request has `timeoutMs` and the run's deadline.
 *
 * Every write is audited: an info line `Kubernetes write` with the workflow, verb, kind,
 * namespace and name; the host counts it in
 * `cano_sandbox_capability_calls_total{capability="k8s.createJob",...}`. The API server's
 * own refusal (RBAC, 403) reaches the workflow as a `not_permitted` error quoting it.
 *
 * @example Serve ctx.k8s in-process (needs a cluster)
 * ```ts ignore
 * import { createCapabilityHost, capabilitiesFor } from "./host.ts";
 * import { createKubernetesProviders } from "./kubernetes.ts";
 *
 * const host = createCapabilityHost({ providers: createKubernetesProviders({ api }) });
 * const { k8s } = capabilitiesFor(host, context);
 * const pod = await k8s.get("Pod", "shop", "api-0");
 * ```
 *
 * @module
 */
import type { KubeApi } from "../kubernetes/api.ts";
import { createApiCall } from "./_kubernetes_access.ts";
import { createReadProviders } from "./_kubernetes_reads.ts";
import { createWriteProviders } from "./_kubernetes_writes.ts";
import type { CapabilityProvider } from "./provider.ts";

/** Options of {@linkcode createKubernetesProviders}. */
export interface KubernetesProvidersOptions {
  /** The API, or a getter (undefined while Kubernetes is off: calls then fail clearly). */
  api: KubeApi | undefined | (() => KubeApi | undefined);
  /** Clock of `rolloutRestart`. @default Date.now */
  now?: () => number;
  /** Random numbers of `rerunJob` names. @default Math.random */
  random?: () => number;
}

/**
 * Creates the `k8s.*` providers, to pass as `providers` to `createCapabilityHost`.
 *
 * @param options The API (or a getter), clock and random source.
 * @returns The eleven providers: six reads, then five writes.
 */
export function createKubernetesProviders(
  { api, now = Date.now, random = Math.random }: KubernetesProvidersOptions,
): CapabilityProvider[] {
  const call = createApiCall(typeof api === "function" ? api : () => api);
  return [...createReadProviders(call), ...createWriteProviders(call, { now, random })];
}
