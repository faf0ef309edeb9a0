/**
 * Default alert enricher: the context every Alertmanager alert should carry.
 *
 * ## Description
 * Adds the alert's description, its labels and annotations as tables, and its links
 * (Prometheus, runbook, dashboard, silence). Labels that only describe the scrape
 * (`prometheus`, `endpoint`, `service` of the exporter...) can be hidden with `excludeLabels`.
 *
 * ## Triggers
 * Every Alertmanager alert, firing or resolved.
 *
 * ## Params
 * - `excludeLabels` (globs, default `["prometheus", "__*"]`): labels left out of the table.
 * - `showAnnotations` (default `true`): add the annotations table.
 * - `resolvedBrief` (default `true`): on resolution, add only the description.
 *
 * ## Output
 * A markdown description, a "Labels" table (`label | value`), an "Annotations" table and
 * a links block.
 *
 * @module
 */
import { defineWorkflow, links, markdown, matchesAny, table, z } from "@cano/sdk";
import type { Block } from "@cano/sdk";

/** Annotations shown elsewhere (title, description, links) and left out of the table. */
const SHOWN_ANNOTATIONS = ["summary", "description", "message", "runbook_url", "dashboard_url"];

export default defineWorkflow({
  id: "default-alert-enricher",
  description: "Adds the description, labels, annotations and links of every alert",
  triggers: [{ on: "prometheus_alert", status: "all" }],
  params: z.object({
    excludeLabels: z.array(z.string()).default(["prometheus", "__*"]).describe(
      "Label globs left out of the labels table",
    ),
    showAnnotations: z.boolean().default(true).describe("Add the annotations table"),
    resolvedBrief: z.boolean().default(true).describe("On resolution add only the description"),
  }),
  run(ctx) {
    const { issue, params } = ctx;
    const blocks: Block[] = [];
    if (issue.description) blocks.push(markdown(issue.description));
    if (issue.status === "resolved" && params.resolvedBrief) {
      if (blocks.length > 0) ctx.enrich("Alert", blocks);
      return;
    }
    const labelRows = Object.entries(issue.labels)
      .filter(([name]) => !matchesAny(name, params.excludeLabels))
      .sort(([a], [b]) => a.localeCompare(b));
    if (labelRows.length > 0) {
      blocks.push(table(["label", "value"], labelRows, { title: "Labels" }));
    }
    const annotationRows = Object.entries(issue.annotations)
      .filter(([name]) => !SHOWN_ANNOTATIONS.includes(name))
      .sort(([a], [b]) => a.localeCompare(b));
    if (params.showAnnotations && annotationRows.length > 0) {
      blocks.push(table(["annotation", "value"], annotationRows, { title: "Annotations" }));
    }
    if (issue.links.length > 0) blocks.push(links(issue.links.map((l) => ({ ...l }))));
    if (blocks.length > 0) ctx.enrich("Alert", blocks);
  },
});
