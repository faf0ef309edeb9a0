/**
 * Config of the Karo compatibility controller (`karo:` in the Cano config).
 *
 * @example
 * ```ts
 * import { KaroConfigSchema } from "./config.ts";
 * import assert from "node:assert/strict";
 *
 * const config = KaroConfigSchema.parse({ enabled: true, cooldown: "30m" });
 * assert.equal(config.cooldown, 1_800_000);
 * assert.deepEqual(config.versions, ["v1alpha1"]);
 * assert.equal(config.jobTtl, 300_000);
 * ```
 *
 * @module
 */
import { z } from "zod";
import { DurationSchema } from "../config/duration.ts";
import { KARO_VERSIONS } from "./schema.ts";

/** The Karo compatibility settings. */
export const KaroConfigSchema = z.strictObject({
  enabled: z.boolean().default(false).describe(
    "Watch karo.io AlertReactions and create their Jobs for matching Alertmanager alerts",
  ),
  namespaces: z.array(z.string().min(1)).default([]).describe(
    "Namespaces whose AlertReactions are watched; empty watches every namespace, as Karo does",
  ),
  versions: z.array(z.enum(KARO_VERSIONS)).min(1).default(["v1alpha1"]).describe(
    "API versions whose endpoints are watched. Karo's CRD serves only v1alpha1; Cano's serves " +
      "both (v1alpha1 stored), so v1alpha1 alone sees every object. The form an object was " +
      "written in (v1: README-style env values) is read from its managed fields either way",
  ),
  cooldown: DurationSchema.default(10 * 60_000).describe(
    "After a reaction ran for an alert, repeats of that alert (same fingerprint and start) " +
      "create no Job for this long; a new firing after resolution does. 0 disables it",
  ),
  jobTtl: DurationSchema.default(300_000).describe(
    "ttlSecondsAfterFinished of the Jobs (Karo's fixed value is 5m)",
  ),
  backoffLimit: z.number().int().min(0).optional().describe(
    "backoffLimit of the Jobs; unset keeps the Kubernetes default (6), as Karo does",
  ),
  activeDeadline: DurationSchema.optional().describe(
    "activeDeadlineSeconds of the Jobs; unset means no deadline, as Karo does",
  ),
});
/** The Karo compatibility settings, with defaults applied. */
export type KaroConfig = z.output<typeof KaroConfigSchema>;
/** The Karo compatibility settings as written in the config file. */
export type KaroConfigInput = z.input<typeof KaroConfigSchema>;
