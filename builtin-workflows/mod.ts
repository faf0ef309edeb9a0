/**
 * The built-in workflows, in the order their enrichments appear. A hand-written list.
 *
 * @module
 */
import type { Workflow } from "@cano/sdk";
import defaultAlertEnricher from "./default_alert_enricher.ts";
import silencer from "./silencer.ts";
import templateEnricher from "./template_enricher.ts";

/** Every built-in workflow; enrichment order follows this list. */
export const BUILTIN_WORKFLOWS: readonly Workflow[] = Object.freeze([
  silencer,
  defaultAlertEnricher,
  templateEnricher,
]);

/** Built-ins enabled when the config says nothing about them. */
export const BUILTIN_ENABLED_BY_DEFAULT: readonly string[] = ["silencer", "default-alert-enricher"];

/** Source file of each built-in, for running it in the sandbox by config. */
export const BUILTIN_FILES: Readonly<Record<string, URL>> = Object.freeze({
  "default-alert-enricher": new URL("./default_alert_enricher.ts", import.meta.url),
  "silencer": new URL("./silencer.ts", import.meta.url),
  "template-enricher": new URL("./template_enricher.ts", import.meta.url),
});
