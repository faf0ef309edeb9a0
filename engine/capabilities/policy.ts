/**
 * The operator's capability policy: the `capabilities:` section of the central config.
 *
 * A workflow declares what it needs (`permissions` in `defineWorkflow`); this policy decides
 * what the installation allows. A capability call succeeds only when both allow it, so a
 * workflow can never grant itself anything. Every field has a default: an empty policy
 * allows no HTTP host and no Prometheus.
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
 * ```
 *
 * @module
 */
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

/** The `capabilities:` section of the config. */
export const CapabilityPolicySchema = z.strictObject({
  http: HttpPolicySchema.prefault({}),
  prometheus: PrometheusPolicySchema.prefault({}),
});

/** The policy as written (every field optional). */
export type CapabilityPolicyInput = z.input<typeof CapabilityPolicySchema>;
/** The policy after parsing, defaults applied. */
export type CapabilityPolicy = z.output<typeof CapabilityPolicySchema>;
/** The HTTP part of the policy. */
export type HttpPolicy = CapabilityPolicy["http"];
/** The Prometheus part of the policy. */
export type PrometheusPolicy = CapabilityPolicy["prometheus"];
