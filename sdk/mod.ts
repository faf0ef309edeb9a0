/**
 * The Cano SDK: everything a workflow author imports, as `@cano/sdk`.
 *
 * @example A complete workflow file
 * ```ts
 * import { defineWorkflow, table } from "@cano/sdk";
 *
 * export default defineWorkflow({
 *   id: "labels-table",
 *   description: "Shows the alert labels as a table",
 *   triggers: [{ on: "prometheus_alert" }],
 *   run(ctx) {
 *     const rows = Object.entries(ctx.issue.labels).map(([k, v]) => [k, v]);
 *     ctx.enrich("Labels", [table(["label", "value"], rows)]);
 *   },
 * });
 * ```
 *
 * @module
 */
export { z } from "zod";
export * from "./blocks.ts";
export type * from "./context.ts";
export { HTTP_FORBIDDEN_HEADERS } from "./context.ts";
export * from "./enrichment.ts";
export * from "./errors.ts";
export * from "./glob.ts";
export * from "./issue.ts";
export * from "./kubernetes.ts";
export * from "./permissions.ts";
export * from "./template.ts";
export * from "./triggers.ts";
export * from "./workflow.ts";
