/**
 * Triggers: when a workflow runs. Triggers are data, so the engine matches them without
 * running workflow code (a sandboxed workflow is only started when one matches).
 *
 * String filters accept globs: `*` matches any run of characters, `?` one character.
 * A list matches when any entry matches. An absent filter matches everything.
 *
 * Kubernetes-derived triggers (`pod_oom_killed`, `pod_crash_loop`, ...) match issues whose
 * `aggregationKey` is the trigger name; the Kubernetes sources set it that way.
 *
 * @example Run on critical crash-loop alerts in production namespaces
 * ```ts
 * import { TriggerSchema } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * const trigger = TriggerSchema.parse({
 *   on: "prometheus_alert", alertName: "KubePodCrashLooping", severity: "HIGH", namespace: "prod-*",
 * });
 * assert.equal(trigger.on, "prometheus_alert");
 * assert.throws(() => TriggerSchema.parse({ on: "prometheus_alerts" }));
 * ```
 *
 * @module
 */
import { z } from "zod";
import { SeveritySchema } from "./issue.ts";

const Pattern = z.string().min(1);
const Patterns = z.union([Pattern, z.array(Pattern).min(1)]);

/** Fires on Alertmanager alerts. */
export const PrometheusAlertTriggerSchema = z.strictObject({
  on: z.literal("prometheus_alert"),
  alertName: Patterns.optional().describe("Alert name glob(s)"),
  labels: z.record(z.string(), Patterns).optional().describe("Every label must match its glob(s)"),
  severity: z.union([SeveritySchema, z.array(SeveritySchema).min(1)]).optional(),
  status: z.enum(["firing", "resolved", "all"]).default("firing"),
  namespace: Patterns.optional().describe("Namespace glob(s)"),
});

/** Fires on core/v1 Kubernetes Events. */
export const KubernetesEventTriggerSchema = z.strictObject({
  on: z.literal("kubernetes_event"),
  reason: Patterns.optional(),
  kind: Patterns.optional().describe("Kind of the involved object"),
  namespace: Patterns.optional(),
  eventType: z.enum(["Normal", "Warning"]).optional(),
});

const resourceTrigger = <T extends string>(on: T) =>
  z.strictObject({
    on: z.literal(on),
    namespace: Patterns.optional(),
    name: Patterns.optional().describe("Name glob(s) of the subject"),
  });

/** Fires when a container was OOMKilled. */
export const PodOomKilledTriggerSchema = resourceTrigger("pod_oom_killed");
/** Fires when a container enters CrashLoopBackOff. */
export const PodCrashLoopTriggerSchema = resourceTrigger("pod_crash_loop");
/** Fires on ImagePullBackOff or ErrImagePull. */
export const ImagePullBackoffTriggerSchema = resourceTrigger("image_pull_backoff");
/** Fires when a Job failed. */
export const JobFailedTriggerSchema = resourceTrigger("job_failed");
/** Fires when a Helm release ends in a failed state. */
export const HelmReleaseFailedTriggerSchema = resourceTrigger("helm_release_failed");

/** Fires on a cron schedule (5 fields, UTC). */
export const ScheduleTriggerSchema = z.strictObject({
  on: z.literal("schedule"),
  cron: z.string().regex(/^\S+( \S+){4}$/, "Expected a 5-field cron expression"),
});

/** Fires when an issue is submitted by hand (CLI or API). */
export const ManualTriggerSchema = z.strictObject({
  on: z.literal("manual"),
  aggregationKey: Patterns.optional(),
});

/** Fires on every issue, optionally narrowed by source, type or severity. */
export const AnyIssueTriggerSchema = z.strictObject({
  on: z.literal("any_issue"),
  source: Patterns.optional(),
  type: z.enum(["alert", "event", "change", "manual"]).optional(),
  severity: z.union([SeveritySchema, z.array(SeveritySchema).min(1)]).optional(),
});

/** Any trigger; discriminated on `on`. */
export const TriggerSchema = z.discriminatedUnion("on", [
  PrometheusAlertTriggerSchema,
  KubernetesEventTriggerSchema,
  PodOomKilledTriggerSchema,
  PodCrashLoopTriggerSchema,
  ImagePullBackoffTriggerSchema,
  JobFailedTriggerSchema,
  HelmReleaseFailedTriggerSchema,
  ScheduleTriggerSchema,
  ManualTriggerSchema,
  AnyIssueTriggerSchema,
]);
/** A trigger as written by a workflow author (defaults may be omitted). */
export type TriggerInput = z.input<typeof TriggerSchema>;
/** A trigger after parsing, with defaults applied. */
export type Trigger = z.output<typeof TriggerSchema>;
/** Every trigger name. */
export type TriggerName = Trigger["on"];
