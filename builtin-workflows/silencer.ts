/**
 * Silencer: drops issues nobody should be woken for.
 *
 * ## Description
 * Each matcher lists fields that must all match (globs with `*` and `?`); an issue that
 * matches any matcher is silenced: it is not delivered, and the silence is logged and
 * counted (`cano_alerts_processed_total{outcome="silenced"}`). With no matchers nothing is
 * dropped.
 *
 * ## Triggers
 * Every issue.
 *
 * ## Params
 * - `matchers`: list of `{ name?, alertname?, namespace?, severity?, source?, labels? }`.
 *
 * ## Output
 * No blocks; a silenced issue is not sent.
 *
 * @module
 */
import { defineWorkflow, matchesAny, SeveritySchema, z } from "@cano/sdk";

const Globs = z.union([z.string(), z.array(z.string()).min(1)]);

const MatcherSchema = z.strictObject({
  name: z.string().optional().describe("Shown in the log when this matcher silences"),
  alertname: Globs.optional(),
  namespace: Globs.optional(),
  severity: z.array(SeveritySchema).min(1).optional(),
  source: Globs.optional(),
  labels: z.record(z.string(), Globs).optional(),
});

export default defineWorkflow({
  id: "silencer",
  description: "Drops issues that match configured matchers",
  triggers: [{ on: "any_issue" }],
  params: z.object({
    matchers: z.array(MatcherSchema).default([]).describe(
      "An issue matching any matcher is dropped",
    ),
  }),
  run(ctx) {
    const { issue } = ctx;
    const namespace = issue.subject?.namespace ?? issue.labels["namespace"];
    for (const [index, m] of ctx.params.matchers.entries()) {
      const hit = (m.alertname === undefined ||
        matchesAny(issue.labels["alertname"] ?? issue.aggregationKey, m.alertname)) &&
        (m.namespace === undefined || matchesAny(namespace, m.namespace)) &&
        (m.severity === undefined || m.severity.includes(issue.severity)) &&
        (m.source === undefined || matchesAny(issue.source, m.source)) &&
        Object.entries(m.labels ?? {}).every(([k, v]) => matchesAny(issue.labels[k], v));
      if (hit) {
        ctx.silence(`matched silencer "${m.name ?? `matchers[${index}]`}"`);
        return;
      }
    }
  },
});
