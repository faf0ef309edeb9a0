/**
 * Assembles the workflows the pipeline runs: enabled built-ins first (in their registry
 * order), then user workflows by id, with the settings config gives each.
 *
 * @module
 */
import { BUILTIN_ENABLED_BY_DEFAULT, BUILTIN_WORKFLOWS } from "../../builtin-workflows/mod.ts";
import type { CanoConfig } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import type { WorkflowSettings } from "../pipeline.ts";
import type { WorkflowEntry } from "./entry.ts";
import { type CapabilityFactory, createInProcessEntry } from "./in_process.ts";
import { yamlWorkflow } from "./yaml.ts";

/** What {@linkcode assembleWorkflows} returns. */
export interface AssembledWorkflows {
  /** Entries in enrichment order. */
  workflows: WorkflowEntry[];
  /** Settings per id. */
  settings: Map<string, WorkflowSettings>;
}

/** Options of {@linkcode assembleWorkflows}. */
export interface AssembleOptions {
  /** Logger for in-process runs. */
  log: Logger;
  /** Capabilities for in-process runs. */
  capabilities?: CapabilityFactory;
  /** Sandboxed entries (user workflows and built-ins configured to run in the sandbox). */
  sandboxed?: readonly WorkflowEntry[];
}

/**
 * Lists the enabled built-in ids and whether each runs in the sandbox.
 *
 * @param config The config.
 * @returns Enabled built-ins with their isolation.
 */
export function enabledBuiltins(
  config: CanoConfig,
): { id: string; isolation: "in-process" | "sandbox" }[] {
  return BUILTIN_WORKFLOWS.flatMap((w) => {
    const settings = config.workflows.builtin[w.id];
    const enabled = settings?.enabled ?? BUILTIN_ENABLED_BY_DEFAULT.includes(w.id);
    return enabled ? [{ id: w.id, isolation: settings?.isolation ?? "in-process" }] : [];
  });
}

/**
 * Builds the ordered workflow list and settings from config.
 *
 * @param config The config.
 * @param options Logger, capabilities and sandboxed entries.
 * @returns Entries and settings.
 */
export function assembleWorkflows(
  config: CanoConfig,
  options: AssembleOptions,
): AssembledWorkflows {
  const sandboxed = new Map((options.sandboxed ?? []).map((e) => [`${e.origin}:${e.id}`, e]));
  const workflows: WorkflowEntry[] = [];
  const settings = new Map<string, WorkflowSettings>();
  for (const { id, isolation } of enabledBuiltins(config)) {
    const builtin = BUILTIN_WORKFLOWS.find((w) => w.id === id)!;
    const entry = isolation === "sandbox"
      ? sandboxed.get(`builtin:${id}`)
      : createInProcessEntry(builtin, {
        log: options.log,
        ...(options.capabilities ? { capabilities: options.capabilities } : {}),
      });
    if (!entry) continue;
    workflows.push(entry);
    const own = config.workflows.builtin[id];
    settings.set(id, {
      params: own?.params ?? {},
      timeoutMs: own?.timeout ?? config.workflows.timeout,
    });
  }
  for (const definition of config.workflows.yaml) {
    workflows.push(createInProcessEntry(yamlWorkflow(definition), {
      log: options.log,
      version: "config",
      ...(options.capabilities ? { capabilities: options.capabilities } : {}),
    }));
    settings.set(definition.id, { params: {}, timeoutMs: config.workflows.timeout });
  }
  const builtinIds = new Set(workflows.map((w) => w.id));
  const users = [...sandboxed.values()].filter((e) => e.origin === "user" && !builtinIds.has(e.id))
    .sort((a, b) => a.id.localeCompare(b.id));
  for (const entry of users) {
    workflows.push(entry);
    const own = config.workflows.user[entry.id];
    settings.set(entry.id, {
      params: own?.params ?? {},
      timeoutMs: own?.timeout ?? config.workflows.timeout,
    });
  }
  return { workflows, settings };
}
