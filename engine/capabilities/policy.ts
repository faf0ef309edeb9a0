/**
 * The operator's capability policy: the `capabilities:` section of the central config.
 *
 * A workflow declares what it needs (`permissions` in `defineWorkflow`); this policy decides
 * what the installation allows. A capability call succeeds only when both allow it, so a
 * workflow can never grant itself anything. Every field has a default: an empty policy
 * allows no HTTP host and no Prometheus, and for `ctx.k8s` common reads (never Secrets) and
 * no writes.
 *
 * @example A policy that allows one API and the in-cluster Prometheus
 * ```ts
 * import { CapabilityPolicySchema } from "./policy.ts";
 * import assert from "node:assert/strict";
 *
 * const policy = CapabilityPolicySchema.parse({
 *   http: { allowHosts: ["*.example.com"] },
 *   prometheus: { url: "http://prometheus.monitoring:9090" },
 * });
 * assert.equal(policy.http.timeoutMs, 5000);
 * assert.deepEqual(policy.http.allowPrivateNetworks, []);
 * assert.equal(policy.prometheus.maxPoints, 11000);
 * assert.throws(() => CapabilityPolicySchema.parse({ http: { allowHost: [] } }));
 *
 * const { kubernetes } = CapabilityPolicySchema.parse({
 *   kubernetes: { allow: ["pods:get", "pods/log:get", "jobs:create"], namespaces: ["shop-*"] },
 * });
 * assert.equal(kubernetes?.maxLogTailLines, 500);
 * assert.throws(() => CapabilityPolicySchema.parse({ kubernetes: { allow: ["secrets:get"] } }));
 * ```
 *
 * @module
 */
import { KubernetesPermissionSchema } from "@cano/sdk";
import { z } from "zod";

/** A host pattern: `api.example.com`, `*.example.com` (any subdomain), `host:port`, or `*`. */
export const HostPatternSchema = z.string().regex(
  /^(\*|(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*(:\d{1,5})?)$/i,
  'Expected a host like "api.example.com", "*.example.com", "api.example.com:8443" or "*"',
);

/** Operator policy for `ctx.http.fetch`. */
export const HttpPolicySchema = z.strictObject({
  allowHosts: z.array(HostPatternSchema).default([]).describe(
    "Hosts workflows may call, as globs; a workflow must also list the host in permissions.http",
  ),
  allowPrivateNetworks: z.array(z.union([z.cidrv4(), z.cidrv6()])).default([]).describe(
    "CIDRs of private, loopback or link-local addresses that may be reached (metadata endpoints never)",
  ),
  timeoutMs: z.number().int().positive().default(5000).describe(
    "Deadline of one fetch, redirects and body included",
  ),
  maxResponseBytes: z.number().int().positive().default(5 * 1024 * 1024).describe(
    "Largest response body; the read is aborted past it",
  ),
  maxRedirects: z.number().int().min(0).max(20).default(5).describe(
    "Redirects followed, each re-checked",
  ),
});

/** Operator policy for `ctx.prometheus`. */
export const PrometheusPolicySchema = z.strictObject({
  url: z.url({ protocol: /^https?$/ }).optional().describe(
    "Base URL of Prometheus; unset means no workflow may query",
  ),
  timeoutMs: z.number().int().positive().default(10_000).describe("Deadline of one query"),
  maxRangeSeconds: z.number().int().positive().default(86_400 * 7).describe(
    "Longest range of a range query",
  ),
  maxPoints: z.number().int().positive().default(11_000).describe(
    "Most points per series of a range query ((end - start) / step + 1)",
  ),
  maxResponseBytes: z.number().int().positive().default(10 * 1024 * 1024).describe(
    "Largest response body; the read is aborted past it",
  ),
  headers: z.record(z.string(), z.string()).optional().describe(
    "Headers the host adds to every query (e.g. Authorization); workflows never see them",
  ),
});

/** What workflows may read unless the operator says otherwise: common kinds, never Secrets. */
export const DEFAULT_KUBERNETES_ALLOW: readonly string[] = Object.freeze([
  "cronjobs:get",
  "daemonsets:get",
  "deployments:get",
  "events:list",
  "horizontalpodautoscalers:get",
  "jobs:get",
  "jobs:list",
  "nodes:get",
  "persistentvolumeclaims:get",
  "pods/log:get",
  "pods:get",
  "pods:list",
  "replicasets:get",
  "services:get",
  "statefulsets:get",
]);

/**
 * Operator policy for `ctx.k8s`: which `resource:verb` pairs workflows may use, in which
 * namespaces, and the size caps. Writes are off unless listed in `allow`
 * (e.g. `jobs:create`, `pods:delete`, `deployments:patch`, `deployments/scale:patch`).
 * Secrets are never readable, whatever the policy says; listing them is an error.
 */
export const KubernetesPolicySchema = z.strictObject({
  allow: z.array(
    KubernetesPermissionSchema.refine((entry) => !/^secrets(\/|:)/.test(entry), {
      message: "Secrets are never readable by workflows",
    }),
  ).default([...DEFAULT_KUBERNETES_ALLOW]).describe(
    "resource:verb pairs workflows may use (a workflow must also declare them); writes are off unless listed",
  ),
  namespaces: z.array(z.string().regex(/^[a-z0-9*?-]+$/, "Expected a namespace or a glob"))
    .default(["*"]).describe("Namespaces calls may reach, as globs"),
  allowAllNamespaces: z.boolean().default(false).describe(
    "Allow list calls without a namespace (across every namespace)",
  ),
  maxLogTailLines: z.number().int().positive().default(500).describe(
    "Most log lines one logs call returns; also the default tail",
  ),
  maxLogBytes: z.number().int().positive().default(256 * 1024).describe(
    "Most log bytes one logs call returns (the newest are kept)",
  ),
  maxListItems: z.number().int().positive().default(200).describe(
    "Most items one list or events call returns",
  ),
  maxResponseBytes: z.number().int().positive().default(2 * 1024 * 1024).describe(
    "Largest answer, as JSON after trimming",
  ),
  timeoutMs: z.number().int().positive().default(10_000).describe("Deadline of one API request"),
});

/** The `capabilities:` section of the config. */
export const CapabilityPolicySchema = z.strictObject({
  http: HttpPolicySchema.prefault({}),
  prometheus: PrometheusPolicySchema.prefault({}),
  kubernetes: KubernetesPolicySchema.optional().describe(
    "ctx.k8s; when omitted, the defaults of each field apply",
  ),
});

/** The policy as written (every field optional). */
export type CapabilityPolicyInput = z.input<typeof CapabilityPolicySchema>;
/** The policy after parsing, defaults applied. */
export type CapabilityPolicy = z.output<typeof CapabilityPolicySchema>;
/** The HTTP part of the policy. */
export type HttpPolicy = CapabilityPolicy["http"];
/** The Prometheus part of the policy. */
export type PrometheusPolicy = CapabilityPolicy["prometheus"];
/** The Kubernetes part of the policy, defaults applied. */
export type KubernetesPolicy = z.output<typeof KubernetesPolicySchema>;
/** The Kubernetes policy when the config has none: every field's default. */
export const DEFAULT_KUBERNETES_POLICY: KubernetesPolicy = Object.freeze(
  KubernetesPolicySchema.parse({}),
);
