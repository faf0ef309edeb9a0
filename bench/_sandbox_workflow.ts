/**
 * The workflow the sandbox benchmark runs both ways: imported in-process, and copied into a
 * workflow directory to run sandboxed. It imports only `@cano/sdk` and adds the issue's
 * labels as a table, a small realistic enrichment.
 *
 * The benchmark rewrites the id (`bench-labels`) in the copied text to load several
 * distinct versions at once.
 *
 * @module
 */
import { defineWorkflow, table } from "@cano/sdk";

export default defineWorkflow({
  id: "bench-labels",
  description: "Shows the issue's labels as a table",
  triggers: [{ on: "manual" }, { on: "prometheus_alert" }],
  run(ctx) {
    const rows = Object.entries(ctx.issue.labels).map(([name, value]) => [name, value]);
    ctx.enrich("Labels", [table(["label", "value"], rows.length > 0 ? rows : [["(none)", ""]])]);
  },
});
