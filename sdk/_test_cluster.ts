/**
 * The `ctx.k8s` of `createTestContext`: an in-memory cluster built from fixture objects, or
 * a handler answering every call. Calls are checked against the declared permissions with
 * the engine's table (`kubernetesNeeds`); Secrets are refused as in the engine. The
 * operator's policy (namespaces, caps) is not known here.
 *
 * Selectors in the fixture cluster are the equality forms only (`a=b`, `a==b`, `a!=b`,
 * `a`, `!a`); the set forms (`in`, `notin`) need a handler. Hand-written because the SDK
 * stays dependency-free.
 *
 * @module
 */
import {
  type KubernetesCapability,
  type KubernetesKind,
  type KubernetesList,
  type KubernetesMethod,
  kubernetesNeeds,
  type KubernetesObject,
  resolveKubernetesKind,
} from "./kubernetes.ts";

/** A call `ctx.k8s` made, as a handler receives it. */
export interface RecordedKubernetesCall {
  /** The `ctx.k8s` method. */
  method: KubernetesMethod;
  /** The arguments as one object, e.g. `{ kind: "Pod", namespace: "shop", name: "api-0" }`. */
  args: Record<string, unknown>;
}

/** An in-memory cluster for `ctx.k8s`. */
export interface KubernetesFixtures {
  /** Objects the reads see (each with `kind` and `metadata`); writes change this copy. */
  objects?: KubernetesObject[];
  /**
   * Pod logs keyed `"namespace/pod"` or `"namespace/pod/container"`; append `" (previous)"`
   * for the previous container's logs.
   */
  logs?: Record<string, string>;
}

/** Fixtures for `ctx.k8s`, or a handler answering every call (its value is returned). */
export type KubernetesRecording =
  | KubernetesFixtures
  | ((call: RecordedKubernetesCall) => unknown);

/**
 * Builds the test `ctx.k8s`.
 *
 * @param recording Fixtures or a handler.
 * @param declared The workflow's `permissions.kubernetes`.
 * @param hooks `spend` takes one unit of the run's budget (it throws when none is left);
 *   `record` adds a permitted call's text to the `calls` list.
 * @returns The capability.
 */
export function createTestKubernetes(
  recording: KubernetesRecording,
  declared: readonly string[],
  hooks: { spend(capability: string): void; record(text: string): void },
): KubernetesCapability {
  const objects = typeof recording === "function"
    ? []
    : structuredClone(recording.objects ?? []) as KubernetesObject[];
  const logs = typeof recording === "function" ? {} : recording.logs ?? {};
  let reruns = 0;

  async function serve<T>(
    method: KubernetesMethod,
    args: Record<string, unknown>,
    text: string,
    local: () => T,
  ): Promise<T> {
    hooks.spend(`k8s.${method}`);
    const kind = typeof args.kind === "string" ? requireKind(method, args.kind) : undefined;
    for (const [resource, verb] of kubernetesNeeds(method, kind)) check(method, resource, verb);
    hooks.record(`${method} ${text}`);
    if (typeof recording === "function") {
      return structuredClone(await recording({ method, args: structuredClone(args) })) as T;
    }
    return structuredClone(local());
  }

  function check(method: string, resource: string, verb: string): void {
    if (resource === "secrets" || resource.startsWith("secrets/")) {
      throw new Error(`Cannot call "k8s.${method}": Secrets are never readable by workflows`);
    }
    if (!declared.includes(`${resource}:${verb}`) && !declared.includes(`${resource}:*`)) {
      throw new Error(
        `Cannot call "k8s.${method}": the workflow does not declare "${resource}:${verb}" in permissions.kubernetes (declared: ${
          declared.join(", ") || "none"
        })`,
      );
    }
  }

  const find = (kind: KubernetesKind, namespace: string | undefined, name: string) =>
    objects.find((o) =>
      o.kind === kind.kind && o.metadata?.name === name &&
      (!kind.namespaced || o.metadata?.namespace === namespace)
    );
  const must = (kind: KubernetesKind, namespace: string | undefined, name: string) => {
    const found = find(kind, namespace, name);
    if (!found) {
      const known = objects.map((o) => `${o.kind} ${ref(o.metadata?.namespace, o.metadata?.name)}`);
      throw new Error(
        `Cannot get ${kind.kind} "${ref(namespace, name)}": not found (fixtures: ${
          known.join(", ") || "none"
        })`,
      );
    }
    return found;
  };

  return {
    get: (kind, namespace, name) =>
      serve(
        "get",
        { kind, namespace, name },
        `${kind} ${ref(namespace, name)}`,
        () => must(requireKind("get", kind), namespace, name),
      ),
    list: (kind, options = {}) =>
      serve("list", { kind, ...options }, `${kind} ${options.namespace ?? "*"}`, () => {
        const resolved = requireKind("list", kind);
        const items = objects.filter((o) =>
          o.kind === resolved.kind &&
          (options.namespace === undefined || o.metadata?.namespace === options.namespace) &&
          matchesSelector(o.metadata?.labels ?? {}, options.labelSelector, "label") &&
          matchesFields(o, options.fieldSelector)
        );
        return { items: items.slice(0, options.limit), metadata: {} } satisfies KubernetesList;
      }),
    logs: (options) => {
      const base = `${options.namespace}/${options.pod}`;
      const key = options.container ? `${base}/${options.container}` : base;
      return serve("logs", { ...options }, key + (options.previous ? " (previous)" : ""), () => {
        const suffix = options.previous ? " (previous)" : "";
        const text = logs[key + suffix] ?? logs[base + suffix];
        if (text === undefined) {
          throw new Error(
            `Cannot read logs of pod "${base}": no recorded logs for "${key + suffix}" (recorded: ${
              Object.keys(logs).map((k) => `"${k}"`).join(", ") || "none"
            })`,
          );
        }
        if (options.tailLines === undefined) return text;
        const lines = text.replace(/\n$/, "").split("\n");
        return lines.slice(-options.tailLines).join("\n") + (text.endsWith("\n") ? "\n" : "");
      });
    },
    events: (target) =>
      serve(
        "events",
        { ...target },
        `${target.kind} ${ref(target.namespace, target.name)}`,
        () => {
          const kind = requireKind("events", target.kind);
          return objects.filter((o) => {
            const involved = o.involvedObject as Record<string, unknown> | undefined;
            return o.kind === "Event" && involved?.kind === kind.kind &&
              involved?.name === target.name &&
              (!kind.namespaced || involved?.namespace === target.namespace);
          }).sort((a, b) => lastSeen(a).localeCompare(lastSeen(b)));
        },
      ),
    ownerChain: (kind, namespace, name) =>
      serve("ownerChain", { kind, namespace, name }, `${kind} ${ref(namespace, name)}`, () => {
        const chain = [must(requireKind("ownerChain", kind), namespace, name)];
        while (chain.length < 8) {
          const refs = chain[chain.length - 1]!.metadata?.ownerReferences ?? [];
          const owner = refs.find((r) => r.controller) ?? (refs.length === 1 ? refs[0] : undefined);
          const ownerKind = owner && resolveKubernetesKind(owner.kind);
          if (!owner || !ownerKind) break;
          const [[resource, verb]] = kubernetesNeeds("get", ownerKind) as [[string, string]];
          if (!declared.includes(`${resource}:${verb}`) && !declared.includes(`${resource}:*`)) {
            break;
          }
          const next = find(ownerKind, namespace, owner.name);
          if (!next) break;
          chain.push(next);
        }
        return chain;
      }),
    podNode: (namespace, pod) =>
      serve("podNode", { namespace, pod }, ref(namespace, pod), () => {
        const found = must(requireKind("podNode", "Pod"), namespace, pod);
        const node = (found.spec as { nodeName?: string } | undefined)?.nodeName;
        if (!node) {
          throw new Error(
            `Cannot get the node of pod "${
              ref(namespace, pod)
            }": the pod is not scheduled on a node`,
          );
        }
        return must(requireKind("podNode", "Node"), undefined, node);
      }),
    createJob: (namespace, job) =>
      serve("createJob", { namespace, job }, ref(namespace, job.metadata?.name), () => {
        const name = job.metadata?.name;
        if (!name) {
          throw new Error(`Cannot create Job in "${namespace}": metadata.name is required`);
        }
        if (find(requireKind("createJob", "Job"), namespace, name)) {
          throw new Error(`Cannot create Job "${ref(namespace, name)}": it already exists`);
        }
        const created = {
          ...structuredClone(job),
          apiVersion: "batch/v1",
          kind: "Job",
          metadata: { ...job.metadata, namespace, name },
        };
        objects.push(created);
        return created;
      }),
    deletePod: (namespace, name) =>
      serve("deletePod", { namespace, name }, ref(namespace, name), () => {
        const found = must(requireKind("deletePod", "Pod"), namespace, name);
        objects.splice(objects.indexOf(found), 1);
      }),
    rolloutRestart: (kind, namespace, name) =>
      serve("rolloutRestart", { kind, namespace, name }, `${kind} ${ref(namespace, name)}`, () => {
        const found = must(requireKind("rolloutRestart", kind), namespace, name);
        const spec = (found.spec ??= {}) as { template?: { metadata?: { annotations?: object } } };
        spec.template ??= {};
        spec.template.metadata ??= {};
        spec.template.metadata.annotations = {
          ...spec.template.metadata.annotations,
          "kubectl.kubernetes.io/restartedAt": new Date().toISOString().replace(/\.\d+Z$/, "Z"),
        };
        return found;
      }),
    scale: (kind, namespace, name, replicas) =>
      serve(
        "scale",
        { kind, namespace, name, replicas },
        `${kind} ${ref(namespace, name)} ${replicas}`,
        () => {
          const found = must(requireKind("scale", kind), namespace, name);
          ((found.spec ??= {}) as { replicas?: number }).replicas = replicas;
          return found;
        },
      ),
    rerunJob: (namespace, name) =>
      serve("rerunJob", { namespace, name }, ref(namespace, name), () => {
        const job = must(requireKind("rerunJob", "Job"), namespace, name);
        const created: KubernetesObject = {
          ...structuredClone(job),
          metadata: {
            name: `${name.slice(0, 50)}-rerun-${++reruns}`,
            namespace,
            labels: { ...job.metadata?.labels },
            annotations: { "cano.dev/rerun-of": name },
          },
        };
        delete created.status;
        objects.push(created);
        return created;
      }),
  };
}

function requireKind(method: string, name: string): KubernetesKind {
  const kind = resolveKubernetesKind(name);
  if (!kind) throw new Error(`Cannot call "k8s.${method}": unknown kind "${name}"`);
  return kind;
}

function ref(namespace: string | undefined, name: string | undefined): string {
  return namespace ? `${namespace}/${name ?? ""}` : name ?? "";
}

function lastSeen(event: KubernetesObject): string {
  const e = event as { lastTimestamp?: string; eventTime?: string };
  return e.lastTimestamp ?? e.eventTime ?? event.metadata?.creationTimestamp ?? "";
}

function matchesSelector(
  values: Record<string, string>,
  selector: string | undefined,
  what: string,
): boolean {
  if (!selector) return true;
  return selector.split(",").map((part) => part.trim()).filter(Boolean).every((term) => {
    const match = /^(!?)([^=!\s]+)\s*(?:(==|=|!=)\s*(.*))?$/.exec(term);
    if (!match || (match[1] && match[3])) {
      throw new Error(
        `Cannot match ${what} selector "${selector}" in a test: only "a=b", "a!=b", "a" and "!a" are supported (use a handler)`,
      );
    }
    const [, not, key = "", op, value = ""] = match;
    if (!op) return not ? !(key in values) : key in values;
    return op === "!=" ? values[key] !== value : values[key] === value;
  });
}

function matchesFields(object: KubernetesObject, selector: string | undefined): boolean {
  if (!selector) return true;
  const values: Record<string, string> = {};
  for (const term of selector.split(",")) {
    const key = term.split(/!?=/)[0]?.trim() ?? "";
    let current: unknown = object;
    for (const segment of key.split(".")) {
      current = typeof current === "object" && current !== null
        ? (current as Record<string, unknown>)[segment]
        : undefined;
    }
    if (current !== undefined && current !== null) values[key] = String(current);
  }
  return matchesSelector(values, selector, "field");
}
