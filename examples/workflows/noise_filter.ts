/**
 * Silences alerts that are known noise in development namespaces, so they reach no
 * destination. Urgent alerts are never silenced.
 *
 * ## Triggers
 * Every Prometheus alert, firing or resolved.
 *
 * ## Params
 * - `namespaces`: namespace globs treated as development (default `dev-*`, `sandbox-*`,
 *   `*-preview`).
 * - `alertNames`: alert name globs that are noise there (default `CPUThrottlingHigh`,
 *   `KubeHpaMaxedOut`, `KubeContainerWaiting`, `KubePodNotReady`).
 * - `neverSilence`: severities always delivered (default `HIGH`).
 *
 * ## Output
 * No blocks. A matching issue is silenced with a reason that is logged and counted.
 *
 * @module
 */
import { defineWorkflow, matchesGlob, SeveritySchema, z } from "@cano/sdk";

export default defineWorkflow({
  id: "noise-filter",
  description: "Silences known-noisy alerts in development namespaces",
  triggers: [{ on: "prometheus_alert", status: "all" }],
  params: z.object({
    namespaces: z.array(z.string().min(1)).default(["dev-*", "sandbox-*", "*-preview"])
      .describe("Namespace globs treated as development"),
    alertNames: z.array(z.string().min(1))
      .default(["CPUThrottlingHigh", "KubeHpaMaxedOut", "KubeContainerWaiting", "KubePodNotReady"])
      .describe("Alert name globs that are noise in those namespaces"),
    neverSilence: z.array(SeveritySchema).default(["HIGH"]).describe("Severities always delivered"),
  }),
  run(ctx) {
    const { issue, params } = ctx;
    const namespace = issue.labels.namespace ?? issue.subject?.namespace;
    const alertName = issue.labels.alertname ?? issue.aggregationKey;
    if (!namespace || params.neverSilence.includes(issue.severity)) return;
    const devNamespace = params.namespaces.find((glob) => matchesGlob(namespace, glob));
    const noisyAlert = params.alertNames.find((glob) => matchesGlob(alertName, glob));
    if (!devNamespace || !noisyAlert) return;
    ctx.log.debug("Silencing known noise", { namespace, alertName, severity: issue.severity });
    ctx.silence(
      `${alertName} in ${namespace} is known noise (namespaces "${devNamespace}", alerts "${noisyAlert}")`,
    );
  },
});
