/**
 * The read providers of `ctx.k8s`: `k8s.get`, `k8s.list`, `k8s.logs`, `k8s.events`,
 * `k8s.ownerChain` and `k8s.podNode` (see `kubernetes.ts` for the rules they follow).
 *
 * @module
 */
import {
  type KubernetesKind,
  type KubernetesList,
  kubernetesNeeds,
  type KubernetesObject,
  resolveKubernetesKind,
} from "@cano/sdk";
import { KubeApiError, type KubeList, type KubeObject } from "../kubernetes/api.ts";
import { objectPath } from "../kubernetes/object_path.ts";
import {
  type ApiCall,
  capSize,
  checkAccess,
  describeObject,
  getObject,
  kubernetesPolicy,
  scopeOf,
  trimObject,
} from "./_kubernetes_access.ts";
import { ListArgs, LogArgs, ObjectArgs, PodArgs, summarizeObject } from "./_kubernetes_args.ts";
import type { CapabilityProvider } from "./provider.ts";

const MAX_OWNER_DEPTH = 8;
/**
 * The API server cuts a log at `limitBytes` from its *start*; the newest lines matter most,
 * so the request allows this many times `maxLogBytes` and the host keeps the newest part.
 */
const LOG_TRANSFER_FACTOR = 8;
const POD = resolveKubernetesKind("Pod")!;
const NODE = resolveKubernetesKind("Node")!;
const EVENT = resolveKubernetesKind("Event")!;

/**
 * Creates the six read providers.
 *
 * @param call The API caller.
 * @returns `k8s.get`, `k8s.list`, `k8s.logs`, `k8s.events`, `k8s.ownerChain`, `k8s.podNode`.
 */
export function createReadProviders(call: ApiCall): CapabilityProvider[] {
  const get: CapabilityProvider<ObjectArgs, KubernetesObject> = {
    name: "k8s.get",
    args: ObjectArgs,
    summarize: summarizeObject,
    permitted: (permissions, policy, { kind, namespace, name }) =>
      checkAccess(
        permissions,
        policy,
        kubernetesNeeds("get", kind),
        scopeOf(kind, namespace),
        `Cannot get ${describeObject(kind, namespace, name)}`,
      ),
    async handle({ kind, namespace, name }, context) {
      const object = await getObject(context, { call, kind, namespace, name });
      return capSize(
        context,
        `Cannot get ${describeObject(kind, namespace, name)}`,
        trimObject(object),
      );
    },
  };

  const list: CapabilityProvider<ListArgs, KubernetesList> = {
    name: "k8s.list",
    args: ListArgs,
    summarize: ({ kind, namespace }) => ({ kind: kind.kind, namespace: namespace ?? "*" }),
    permitted: (permissions, policy, { kind, namespace }) =>
      checkAccess(
        permissions,
        policy,
        kubernetesNeeds("list", kind),
        scopeOf(kind, namespace),
        listAction(kind, namespace),
      ),
    async handle({ kind, namespace, labelSelector, fieldSelector, limit }, context) {
      const action = listAction(kind, namespace);
      const max = Math.min(limit ?? Infinity, kubernetesPolicy(context.policy).maxListItems);
      const answer = await call(
        context,
        action,
        (client, signal) =>
          client.request<KubeList>("GET", objectPath(kind, { namespace }), {
            query: { labelSelector, fieldSelector, limit: max },
            signal,
          }),
      );
      const metadata: KubernetesList["metadata"] = {};
      if (answer.metadata?.resourceVersion) {
        metadata.resourceVersion = answer.metadata.resourceVersion;
      }
      if (answer.metadata?.continue || answer.items.length > max) {
        metadata.continue = answer.metadata?.continue ?? "";
      }
      const items = answer.items.slice(0, max).map(trimObject);
      return capSize(context, action, { items, metadata });
    },
  };

  const logs: CapabilityProvider<LogArgs, string> = {
    name: "k8s.logs",
    args: LogArgs,
    summarize: ({ namespace, pod, container }) => ({ namespace, pod, container: container ?? "" }),
    permitted: (permissions, policy, { namespace, pod }) =>
      checkAccess(
        permissions,
        policy,
        kubernetesNeeds("logs"),
        { namespace },
        `Cannot read logs of pod "${namespace}/${pod}"`,
      ),
    async handle({ namespace, pod, container, tailLines, previous, sinceSeconds }, context) {
      const policy = kubernetesPolicy(context.policy);
      const lines = Math.min(tailLines ?? policy.maxLogTailLines, policy.maxLogTailLines);
      const action = `Cannot read logs of pod "${namespace}/${pod}"${
        container ? ` container "${container}"` : ""
      }`;
      const text = await call(
        context,
        action,
        (client, signal) =>
          client.requestText(objectPath(POD, { namespace, name: pod, subresource: "log" }), {
            query: {
              container,
              tailLines: lines,
              previous: previous || undefined,
              sinceSeconds,
              limitBytes: policy.maxLogBytes * LOG_TRANSFER_FACTOR,
            },
            signal,
          }),
      );
      return capLog(text, lines, policy.maxLogBytes);
    },
  };

  const events: CapabilityProvider<ObjectArgs, KubernetesObject[]> = {
    name: "k8s.events",
    args: ObjectArgs,
    summarize: summarizeObject,
    permitted: (permissions, policy, { kind, namespace, name }) =>
      checkAccess(
        permissions,
        policy,
        kubernetesNeeds("events"),
        { namespace: eventNamespace(kind, namespace) },
        `Cannot list events of ${describeObject(kind, namespace, name)}`,
      ),
    async handle({ kind, namespace, name }, context) {
      const action = `Cannot list events of ${describeObject(kind, namespace, name)}`;
      const where = eventNamespace(kind, namespace);
      const selector = [`involvedObject.kind=${kind.kind}`, `involvedObject.name=${name}`];
      if (kind.namespaced) selector.push(`involvedObject.namespace=${where}`);
      const answer = await call(
        context,
        action,
        (client, signal) =>
          client.request<KubeList>("GET", objectPath(EVENT, { namespace: where }), {
            query: { fieldSelector: selector.join(",") },
            signal,
          }),
      );
      const max = kubernetesPolicy(context.policy).maxListItems;
      const sorted = answer.items.map(trimObject)
        .sort((a, b) => lastSeen(a).localeCompare(lastSeen(b)));
      return capSize(context, action, sorted.slice(-max));
    },
  };

  const ownerChain: CapabilityProvider<ObjectArgs, KubernetesObject[]> = {
    name: "k8s.ownerChain",
    args: ObjectArgs,
    summarize: summarizeObject,
    permitted: get.permitted,
    async handle({ kind, namespace, name }, context) {
      const action = `Cannot follow the owners of ${describeObject(kind, namespace, name)}`;
      const chain = [trimObject(await getObject(context, { call, kind, namespace, name }))];
      for (let depth = 0; depth < MAX_OWNER_DEPTH; depth++) {
        const current = chain[chain.length - 1]!;
        const owner = controllerOf(current);
        const ownerKind = owner && resolveKubernetesKind(owner.kind);
        if (!owner || !ownerKind || groupOf(owner.apiVersion) !== ownerKind.group) break;
        const ns = ownerKind.namespaced ? current.metadata?.namespace ?? namespace : undefined;
        const verdict = checkAccess(
          context.permissions,
          context.policy,
          kubernetesNeeds("get", ownerKind),
          scopeOf(ownerKind, ns),
          action,
        );
        if (verdict !== true) {
          context.log.debug("Owner chain stops at a kind the workflow may not read", {
            kind: ownerKind.kind,
            reason: verdict,
          });
          break;
        }
        const path = objectPath(ownerKind, { namespace: ns, name: owner.name });
        const next = await call(
          context,
          action,
          (client, signal) =>
            client.request<KubeObject>("GET", path, { signal }).catch((error) => {
              if (error instanceof KubeApiError && error.status === 404) return undefined;
              throw error;
            }),
        );
        // Gone, or a namesake created after the owner was deleted: the chain ends here.
        if (!next || (next.metadata?.uid && owner.uid && next.metadata.uid !== owner.uid)) break;
        chain.push(trimObject(next));
      }
      return capSize(context, action, chain);
    },
  };

  const podNode: CapabilityProvider<PodArgs, KubernetesObject> = {
    name: "k8s.podNode",
    args: PodArgs,
    summarize: ({ namespace, pod }) => ({ namespace, pod }),
    permitted: (permissions, policy, { namespace, pod }) =>
      checkAccess(
        permissions,
        policy,
        kubernetesNeeds("podNode"),
        { namespace },
        `Cannot get the node of pod "${namespace}/${pod}"`,
      ),
    async handle({ namespace, pod }, context) {
      const action = `Cannot get the node of pod "${namespace}/${pod}"`;
      const object = await getObject(context, { call, kind: POD, namespace, name: pod });
      const nodeName = (object.spec as { nodeName?: unknown } | undefined)?.nodeName;
      if (typeof nodeName !== "string" || !nodeName) {
        throw context.error("failed", `${action}: the pod is not scheduled on a node`);
      }
      const node = await getObject(context, {
        call,
        kind: NODE,
        namespace: undefined,
        name: nodeName,
      });
      return capSize(context, action, trimObject(node));
    },
  };

  return [get, list, logs, events, ownerChain, podNode] as CapabilityProvider[];
}

function listAction(kind: KubernetesKind, namespace: string | undefined): string {
  return `Cannot list ${kind.plural}${namespace && kind.namespaced ? ` in "${namespace}"` : ""}`;
}

/** Events of cluster-scoped objects (Nodes) are recorded in `default`. */
function eventNamespace(kind: KubernetesKind, namespace: string | undefined): string {
  return kind.namespaced ? namespace ?? "" : "default";
}

function controllerOf(object: KubeObject) {
  const refs = object.metadata?.ownerReferences ?? [];
  return refs.find((ref) => ref.controller === true) ?? (refs.length === 1 ? refs[0] : undefined);
}

function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}

/** When an event was last seen, across core/v1 and events.k8s.io shapes. */
function lastSeen(event: KubeObject): string {
  const e = event as {
    series?: { lastObservedTime?: string };
    lastTimestamp?: string | null;
    eventTime?: string | null;
  };
  return e.series?.lastObservedTime ?? e.lastTimestamp ?? e.eventTime ??
    event.metadata?.creationTimestamp ?? "";
}

/** Keeps the last `lines` lines and at most `bytes` bytes (the newest, cut at a line start). */
function capLog(text: string, lines: number, bytes: number): string {
  let out = text;
  const all = out.split("\n");
  const trailing = all[all.length - 1] === "" ? 1 : 0;
  if (all.length - trailing > lines) out = all.slice(all.length - trailing - lines).join("\n");
  const encoded = new TextEncoder().encode(out);
  if (encoded.length <= bytes) return out;
  const tail = new TextDecoder().decode(encoded.subarray(encoded.length - bytes));
  const newline = tail.indexOf("\n");
  return newline >= 0 && newline < tail.length - 1 ? tail.slice(newline + 1) : tail;
}
