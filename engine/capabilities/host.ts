/**
 * The capability host: serves every `ctx` call that leaves a workflow (`ctx.http.fetch`,
 * `ctx.prometheus.query`, `ctx.prometheus.queryRange`, and `ctx.k8s.*` when the
 * Kubernetes providers of `kubernetes.ts` are passed in `providers`).
 *
 * The sandbox supervisor forwards a child's capability frames to {@linkcode CapabilityHost.call};
 * in-process (trusted) workflows get the same checks through {@linkcode capabilitiesFor}.
 * Each call, in order:
 * 1. takes one unit of the run's budget (`budget_exhausted` at 0, before anything else);
 * 2. looks the name up in the provider table (`invalid_args` when unknown);
 * 3. validates the arguments with the provider's zod schema (`invalid_args`);
 * 4. checks the workflow's declared permissions **and** the operator's policy
 *    (`not_permitted`): a workflow cannot grant itself anything;
 * 5. runs the provider, whose own checks (redirect targets, resolved addresses, range
 *    caps) also end in `not_permitted`, and whose I/O errors end in `failed`.
 *
 * Every call is logged with the workflow id (debug when it succeeds, warn when refused or
 * failed; never header values or bodies) and counted in
 * `cano_sandbox_capability_calls_total{workflow,capability,outcome}`, where `outcome` is
 * `ok` or the error reason and unknown names count as `capability="unknown"`. Set
 * `countMetrics: false` when the caller counts calls itself (the sandbox supervisor counts
 * the calls of its children), so no call is counted twice.
 *
 * Error messages are written for the workflow author and are safe to show in the Issue's
 * error note, e.g.
 * `Cannot fetch "http://10.0.0.1/": address 10.0.0.1 is in a private network (allowed: none)`.
 *
 * @example Serve an in-process workflow's ctx.prometheus
 * ```ts
 * import { capabilitiesFor, CapabilityError, createCapabilityHost } from "./host.ts";
 * import assert from "node:assert/strict";
 *
 * const host = createCapabilityHost({ policy: {} });
 * const context = {
 *   workflowId: "demo",
 *   permissions: { kubernetes: [], prometheus: true, http: [] },
 *   signal: new AbortController().signal,
 *   budget: { remaining: 10 },
 * };
 * const { prometheus } = capabilitiesFor(host, context);
 * await assert.rejects(prometheus.query("up"), (error: unknown) =>
 *   error instanceof CapabilityError && error.reason === "not_permitted");
 * assert.equal(context.budget.remaining, 9);
 * ```
 *
 * @module
 */
import type {
  HttpCapability,
  HttpResponse,
  KubernetesCapability,
  KubernetesList,
  KubernetesObject,
  PrometheusCapability,
  PrometheusResult,
} from "@cano/sdk";
import type { z } from "zod";
import { type Logger, silentLogger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { ResolveDns } from "./_ssrf.ts";
import { createHttpFetchProvider } from "./http.ts";
import {
  type CapabilityPolicy,
  type CapabilityPolicyInput,
  CapabilityPolicySchema,
} from "./policy.ts";
import { createPrometheusProviders } from "./prometheus.ts";
import {
  type CapabilityCallContext,
  CapabilityError,
  type CapabilityErrorReason,
  type CapabilityOutcome,
  type CapabilityProvider,
} from "./provider.ts";

export { CapabilityError } from "./provider.ts";
export type {
  CapabilityCallContext,
  CapabilityErrorReason,
  CapabilityOutcome,
  CapabilityProvider,
  ProviderContext,
} from "./provider.ts";
export type { ResolveDns } from "./_ssrf.ts";

/** Serves capability calls by name. */
export interface CapabilityHost {
  /**
   * Serves one call.
   *
   * @param name Capability name, e.g. `"http.fetch"`.
   * @param args Arguments as received (validated here).
   * @param context Workflow id, declared permissions, deadline and budget.
   * @returns The provider's result, plain data.
   * @throws {CapabilityError} When the call is refused or fails.
   */
  call(name: string, args: unknown, context: CapabilityCallContext): Promise<unknown>;
}

/** Options of {@linkcode createCapabilityHost}. */
export interface CapabilityHostOptions {
  /** The operator's policy, or a getter read on every call (for config reloads). @default {} (allows nothing) */
  policy?: CapabilityPolicyInput | (() => CapabilityPolicy);
  /** Where calls are logged. @default silentLogger */
  logger?: Logger;
  /** Metrics to count calls in; without them nothing is counted. */
  metrics?: Metrics;
  /** Count calls in `cano_sandbox_capability_calls_total`; `false` when the caller counts. @default true */
  countMetrics?: boolean;
  /** More providers, e.g. the Kubernetes ones; names must not repeat. @default [] */
  providers?: readonly CapabilityProvider[];
  /** HTTP client of the built-in providers. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** DNS resolver of `http.fetch`. @default Deno.resolveDns */
  resolveDns?: ResolveDns;
  /** Clock for durations. @default performance.now */
  now?: () => number;
}

/** The capabilities an in-process workflow's `ctx` exposes. */
export interface InProcessCapabilities {
  /** `ctx.http`. */
  http: HttpCapability;
  /** `ctx.prometheus`. */
  prometheus: PrometheusCapability;
  /** `ctx.k8s`; its calls fail as unknown capabilities unless the host has the `k8s.*` providers. */
  k8s: KubernetesCapability;
}

/**
 * Creates the capability host with the `http.fetch`, `prometheus.query` and
 * `prometheus.queryRange` providers, plus any given in `providers`.
 *
 * @param options Policy, logger, metrics, extra providers and injectable I/O.
 * @returns The host.
 * @throws {TypeError} When the policy is invalid or two providers share a name.
 */
export function createCapabilityHost(
  {
    policy = {},
    logger = silentLogger,
    metrics,
    countMetrics = true,
    providers = [],
    fetch = globalThis.fetch,
    resolveDns,
    now = () => performance.now(),
  }: CapabilityHostOptions = {},
): CapabilityHost {
  const getPolicy = policyGetter(policy);
  const table = new Map<string, CapabilityProvider>();
  const builtins: CapabilityProvider[] = [
    createHttpFetchProvider(resolveDns ? { fetch, resolveDns } : { fetch }),
    ...createPrometheusProviders({ fetch }),
  ];
  for (const provider of [...builtins, ...providers]) {
    if (table.has(provider.name)) {
      throw new TypeError(
        `Cannot create capability host: capability "${provider.name}" is registered twice`,
      );
    }
    table.set(provider.name, provider);
  }
  const available = [...table.keys()].sort().join(", ");
  const log = logger.child({ component: "capabilities" });

  return {
    async call(name, args, context) {
      const started = now();
      const provider = typeof name === "string" ? table.get(name) : undefined;
      const capability = provider ? provider.name : "unknown";
      const stamp = (reason: CapabilityErrorReason, message: string, cause?: unknown) =>
        new CapabilityError(message, { capability, workflowId: context.workflowId, reason, cause });
      let summary: Record<string, string> = {};
      const record = (outcome: CapabilityOutcome, message?: string) => {
        const fields = {
          workflow: context.workflowId,
          capability,
          outcome,
          durationMs: Math.round((now() - started) * 100) / 100,
          ...summary,
        };
        if (outcome === "ok") log.debug("Capability call", fields);
        else log.warn("Capability call refused or failed", { ...fields, error: message });
        if (countMetrics && metrics) {
          metrics.sandboxCapabilityCalls.inc({ workflow: context.workflowId, capability, outcome });
        }
      };
      try {
        if (!(context.budget.remaining > 0)) {
          throw stamp(
            "budget_exhausted",
            `Cannot call "${shownName(name)}": this run has used all its capability calls`,
          );
        }
        context.budget.remaining -= 1;
        if (!provider) {
          throw stamp(
            "invalid_args",
            `Cannot call "${shownName(name)}": no such capability (available: ${available})`,
          );
        }
        const parsed = provider.args.safeParse(args);
        if (!parsed.success) {
          throw stamp(
            "invalid_args",
            `Cannot call "${name}": invalid arguments: ${formatIssues(parsed.error)}`,
          );
        }
        summary = provider.summarize?.(parsed.data) ?? {};
        const current = getPolicy();
        const verdict = provider.permitted(context.permissions, current, parsed.data);
        if (verdict !== true) {
          throw stamp("not_permitted", verdict || `Cannot call "${name}": not permitted`);
        }
        if (context.signal.aborted) {
          throw stamp("failed", `Cannot call "${name}": the run's deadline passed`);
        }
        const result = await provider.handle(parsed.data, {
          workflowId: context.workflowId,
          capability,
          permissions: context.permissions,
          policy: current,
          signal: context.signal,
          log: log.child({ workflow: context.workflowId, capability }),
          error: stamp,
        });
        record("ok");
        return result;
      } catch (error) {
        const failure = error instanceof CapabilityError ? error : stamp(
          "failed",
          `Cannot call "${capability}": the capability failed unexpectedly`,
          error,
        );
        if (!(error instanceof CapabilityError)) {
          log.error("Capability provider threw", {
            workflow: context.workflowId,
            capability,
            error,
          });
        }
        record(failure.reason, failure.message);
        throw failure;
      }
    },
  };
}

/**
 * Builds the `ctx.http`, `ctx.prometheus` and `ctx.k8s` of an in-process workflow on top of a host,
 * so trusted built-ins pass the same checks, budget, logs and metrics as sandboxed code.
 *
 * @param host The capability host.
 * @param context The run's workflow id, permissions, deadline and budget (shared by all calls).
 * @returns `http`, `prometheus` and `k8s` for the workflow's `ctx`.
 */
export function capabilitiesFor(
  host: CapabilityHost,
  context: CapabilityCallContext,
): InProcessCapabilities {
  return {
    http: {
      fetch(url, init) {
        const args = init === undefined ? { url } : { url, init };
        return host.call("http.fetch", args, context) as Promise<HttpResponse>;
      },
    },
    prometheus: {
      query(expr, options) {
        const args = options?.time === undefined ? { expr } : { expr, time: options.time };
        return host.call("prometheus.query", args, context) as Promise<PrometheusResult>;
      },
      queryRange(expr, { start, end, step }) {
        const args = { expr, start, end, step };
        return host.call("prometheus.queryRange", args, context) as Promise<PrometheusResult>;
      },
    },
    k8s: kubernetesFor(host, context),
  };
}

/** `ctx.k8s` as calls on the host; the argument shapes are the ones the sandbox child sends. */
function kubernetesFor(host: CapabilityHost, context: CapabilityCallContext): KubernetesCapability {
  const object = (name: string, args: Record<string, unknown>) =>
    host.call(name, args, context) as Promise<KubernetesObject>;
  return {
    get: (kind, namespace, name) => object("k8s.get", { kind, namespace, name }),
    list: (kind, options = {}) =>
      host.call("k8s.list", {
        kind,
        namespace: options.namespace,
        labelSelector: options.labelSelector,
        fieldSelector: options.fieldSelector,
        limit: options.limit,
      }, context) as Promise<KubernetesList>,
    logs: (options) =>
      host.call("k8s.logs", {
        namespace: options.namespace,
        pod: options.pod,
        container: options.container,
        tailLines: options.tailLines,
        previous: options.previous,
        sinceSeconds: options.sinceSeconds,
      }, context) as Promise<string>,
    events: (ref) =>
      host.call(
        "k8s.events",
        { kind: ref.kind, namespace: ref.namespace, name: ref.name },
        context,
      ) as Promise<
        KubernetesObject[]
      >,
    ownerChain: (kind, namespace, name) =>
      host.call("k8s.ownerChain", { kind, namespace, name }, context) as Promise<
        KubernetesObject[]
      >,
    podNode: (namespace, pod) => object("k8s.podNode", { namespace, pod }),
    createJob: (namespace, job) => object("k8s.createJob", { namespace, job }),
    deletePod: async (namespace, name) => {
      await host.call("k8s.deletePod", { namespace, name }, context);
    },
    rolloutRestart: (kind, namespace, name) =>
      object("k8s.rolloutRestart", { kind, namespace, name }),
    scale: (kind, namespace, name, replicas) =>
      object("k8s.scale", { kind, namespace, name, replicas }),
    rerunJob: (namespace, name) => object("k8s.rerunJob", { namespace, name }),
  };
}

function policyGetter(
  policy: CapabilityPolicyInput | (() => CapabilityPolicy),
): () => CapabilityPolicy {
  if (typeof policy === "function") return policy;
  const parsed = CapabilityPolicySchema.safeParse(policy);
  if (!parsed.success) {
    throw new TypeError(
      `Cannot create capability host: invalid policy: ${formatIssues(parsed.error)}`,
    );
  }
  return () => parsed.data;
}

function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.map(String).join(".") || "(root)"}: ${issue.message}`)
    .join("; ");
}

function shownName(name: unknown): string {
  const text = typeof name === "string" ? name : String(typeof name);
  return text.length > 64 ? `${text.slice(0, 63)}…` : text;
}
