/**
 * Config of the Kubernetes and Helm sources (`kubernetes.sources` in the config file).
 * Every block is strict, has defaults, and can be switched off; namespace filters are
 * globs (`*`, `?`) and a source's own filter replaces the top-level one.
 *
 * Default severities (each configurable): OOM kill, NotReady node, failed Job, stuck
 * rollout and failed Helm release are `HIGH` (something broke and stays broken without a
 * human); crash loop, image pull, eviction, long pending, unavailable replicas, node
 * pressure and a stuck Helm release are `MEDIUM`; Warning Events are `LOW`, Normal Events
 * and changes `INFO`.
 *
 * Change tracking is off by default: every rollout would otherwise become an issue.
 *
 * @example
 * ```ts
 * import { KubernetesSourcesSchema } from "./kubernetes_config.ts";
 * import assert from "node:assert/strict";
 *
 * const config = KubernetesSourcesSchema.parse({
 *   excludeNamespaces: ["kube-system"],
 *   pods: { pending: { after: "10m" } },
 *   events: { reasons: ["Failed*", "BackOff"] },
 * });
 * assert.equal(config.pods.pending.afterMs, 600_000);
 * assert.equal(config.pods.oomKilled.severity, "HIGH");
 * assert.equal(config.changes.enabled, false);
 * assert.throws(() => KubernetesSourcesSchema.parse({ pods: { oomkilled: {} } }));
 * ```
 *
 * @module
 */
import { SeveritySchema } from "@cano/sdk";
import { z } from "zod";
import { DurationSchema } from "../config/duration.ts";
import { CHANGE_KINDS } from "./changes.ts";
import { DEFAULT_DEPLOYMENT_SEVERITIES } from "./workloads.ts";
import { DEFAULT_EVENT_SEVERITIES } from "./events.ts";
import { DEFAULT_HELM_SEVERITIES } from "./helm.ts";
import { DEFAULT_JOB_SEVERITY } from "./jobs.ts";
import { DEFAULT_NODE_SEVERITIES, NODE_PRESSURE_CONDITIONS } from "./nodes.ts";
import { DEFAULT_POD_SEVERITIES } from "./pods.ts";

const Globs = z.array(z.string().min(1));
const Selector = z.string().min(1).optional().describe(
  "Kubernetes label selector, sent to the API",
);

const detector = (severity: z.infer<typeof SeveritySchema>) =>
  z.strictObject({
    enabled: z.boolean().default(true),
    severity: SeveritySchema.default(severity),
  });

const timedDetector = (severity: z.infer<typeof SeveritySchema>, afterMs: number, what: string) =>
  z.strictObject({
    enabled: z.boolean().default(true),
    severity: SeveritySchema.default(severity),
    after: DurationSchema.default(afterMs).describe(what),
  }).transform(({ after, ...rest }) => ({ ...rest, afterMs: after }));

const scope = {
  enabled: z.boolean().default(true),
  namespaces: Globs.optional().describe("Namespace globs watched; default: the top-level list"),
  excludeNamespaces: Globs.optional().describe(
    "Namespace globs ignored; default: the top-level list",
  ),
};

/** Pod transitions. */
export const PodSourceSchema = z.strictObject({
  ...scope,
  labelSelector: Selector,
  oomKilled: detector(DEFAULT_POD_SEVERITIES.oomKilled).prefault({}),
  crashLoop: z.strictObject({
    enabled: z.boolean().default(true),
    severity: SeveritySchema.default(DEFAULT_POD_SEVERITIES.crashLoop),
    stableAfter: DurationSchema.default(120_000).describe(
      "How long a restarted container must run to count as recovered",
    ),
  }).transform(({ stableAfter, ...rest }) => ({ ...rest, stableAfterMs: stableAfter })).prefault(
    {},
  ),
  imagePull: detector(DEFAULT_POD_SEVERITIES.imagePull).prefault({}),
  evicted: detector(DEFAULT_POD_SEVERITIES.evicted).prefault({}),
  pending: timedDetector(
    DEFAULT_POD_SEVERITIES.pending,
    300_000,
    "How long PodScheduled=False lasts before it is reported",
  ).prefault({}),
});

/** Job failures. */
export const JobSourceSchema = z.strictObject({
  ...scope,
  labelSelector: Selector,
  severity: SeveritySchema.default(DEFAULT_JOB_SEVERITY),
});

/** Deployment rollouts. */
export const DeploymentSourceSchema = z.strictObject({
  ...scope,
  labelSelector: Selector,
  progressDeadline: detector(DEFAULT_DEPLOYMENT_SEVERITIES.progressDeadline).prefault({}),
  unavailable: timedDetector(
    DEFAULT_DEPLOYMENT_SEVERITIES.unavailable,
    600_000,
    "How long replicas stay unavailable without progress before it is reported",
  ).prefault({}),
});

/** Node conditions. */
export const NodeSourceSchema = z.strictObject({
  enabled: z.boolean().default(true),
  labelSelector: Selector,
  notReady: detector(DEFAULT_NODE_SEVERITIES.notReady).prefault({}),
  pressure: z.strictObject({
    enabled: z.boolean().default(true),
    severity: SeveritySchema.default(DEFAULT_NODE_SEVERITIES.pressure),
    conditions: z.array(z.string().min(1)).default([...NODE_PRESSURE_CONDITIONS]),
  }).prefault({}),
});

/** Kubernetes Events. */
export const EventSourceSchema = z.strictObject({
  ...scope,
  api: z.enum(["core", "events.k8s.io"]).default("core").describe(
    "core: /api/v1/events; events.k8s.io: /apis/events.k8s.io/v1/events (same objects)",
  ),
  types: z.array(z.string().min(1)).min(1).default(["Warning"]),
  reasons: Globs.optional().describe("Reason globs reported; default: all"),
  excludeReasons: Globs.default([]),
  kinds: Globs.optional().describe("Involved-object kind globs reported; default: all"),
  severity: z.record(z.string(), SeveritySchema).default({ ...DEFAULT_EVENT_SEVERITIES }).describe(
    "Severity per Event type; other types get INFO",
  ),
});

/** Helm releases. */
export const HelmSourceSchema = z.strictObject({
  ...scope,
  failed: detector(DEFAULT_HELM_SEVERITIES.failed).prefault({}),
  pending: timedDetector(
    DEFAULT_HELM_SEVERITIES.pending,
    900_000,
    "How long a pending-* status lasts before it is reported",
  ).prefault({}),
});

/** Change tracking. */
export const ChangeSourceSchema = z.strictObject({
  ...scope,
  enabled: z.boolean().default(false),
  labelSelector: Selector,
  kinds: z.array(z.enum(CHANGE_KINDS as [string, ...string[]])).min(1).default([...CHANGE_KINDS]),
  severity: SeveritySchema.default("INFO"),
});

/** The Kubernetes and Helm sources. */
export const KubernetesSourcesSchema = z.strictObject({
  enabled: z.boolean().default(true).describe("Off switch for every Kubernetes source"),
  namespaces: Globs.optional().describe("Namespace globs watched by every source; default: all"),
  excludeNamespaces: Globs.default([]).describe("Namespace globs ignored by every source"),
  startup: z.enum(["ongoing", "quiet"]).default("ongoing").describe(
    "ongoing: conditions present at start-up (a crash loop, a NotReady node) are reported once; " +
      "quiet: only what changes after start-up. Past facts (old Events, OOM kills, failed Jobs) never are",
  ),
  resync: DurationSchema.default(30_000).describe(
    "How often known objects are re-checked for conditions that depend on time",
  ),
  watchdog: DurationSchema.default(300_000).describe(
    "Restart a watch that has been silent this long",
  ),
  pods: PodSourceSchema.prefault({}),
  jobs: JobSourceSchema.prefault({}),
  deployments: DeploymentSourceSchema.prefault({}),
  nodes: NodeSourceSchema.prefault({}),
  events: EventSourceSchema.prefault({}),
  helm: HelmSourceSchema.prefault({}),
  changes: ChangeSourceSchema.prefault({}),
});
/** The Kubernetes sources config as written (defaults may be omitted). */
export type KubernetesSourcesInput = z.input<typeof KubernetesSourcesSchema>;
/** The Kubernetes sources config after parsing, with defaults and durations in ms. */
export type KubernetesSourcesConfig = z.output<typeof KubernetesSourcesSchema>;
