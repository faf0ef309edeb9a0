/**
 * Template enricher: adds a line of your own, filled from the alert.
 *
 * ## Description
 * Renders `template` with `renderTemplate` from `@cano/sdk` against the issue: any field is
 * available (`{{ title }}`, `{{ labels.namespace }}`, `{{ annotations.summary }}`,
 * `{{ subject.name }}`, `{{ labels.team ?? "unowned" }}`).
 *
 * ## Triggers
 * Alerts whose name matches `alertName` (default: every alert).
 *
 * ## Params
 * - `template` (required): the markdown template.
 * - `title` (default `"Notes"`): enrichment title.
 * - `alertName` (globs, default `["*"]`): alerts to annotate.
 *
 * ## Output
 * One markdown block with the rendered text.
 *
 * @module
 */
import { defineWorkflow, markdown, matchesAny, renderTemplate, z } from "@cano/sdk";

export default defineWorkflow({
  id: "template-enricher",
  description: "Adds a markdown line rendered from a template of alert fields",
  triggers: [{ on: "prometheus_alert", status: "all" }],
  params: z.object({
    template: z.string().min(1).describe(
      'Markdown with placeholders such as "{{ labels.namespace }}"',
    ),
    title: z.string().default("Notes").describe("Enrichment title"),
    alertName: z.array(z.string()).default(["*"]).describe("Alert name globs to annotate"),
  }),
  run(ctx) {
    const name = ctx.issue.labels["alertname"] ?? ctx.issue.aggregationKey;
    if (!matchesAny(name, ctx.params.alertName)) return;
    ctx.enrich(ctx.params.title, [markdown(renderTemplate(ctx.params.template, ctx.issue))]);
  },
});
