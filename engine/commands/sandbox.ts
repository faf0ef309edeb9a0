/**
 * Starts the sandbox for a config: user workflows from `workflows.directory` and built-ins
 * configured with `isolation: sandbox`, fed into the engine as they load and reload.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { BUILTIN_FILES } from "../../builtin-workflows/mod.ts";
import type { CanoConfig } from "../config/schema.ts";
import type { Engine } from "../engine.ts";
import type { Logger } from "../log.ts";
import { createSandboxManager, type SandboxManager } from "../sandbox/manager.ts";
import { enabledBuiltins } from "../workflows/registry.ts";

/** Options of {@linkcode startSandbox}. */
export interface StartSandboxOptions {
  /** Watch the directory and reload on change. @default true */
  watch?: boolean;
  /** Logger. */
  log: Logger;
}

/**
 * Tells whether a config runs anything in the sandbox.
 *
 * @param config The config.
 * @returns Whether a sandbox is needed.
 */
export function needsSandbox(config: CanoConfig): boolean {
  return config.workflows.directory !== undefined ||
    enabledBuiltins(config).some((b) => b.isolation === "sandbox");
}

/**
 * Creates the sandbox manager, connects it to the engine and starts loading in the
 * background (the HTTP server does not wait for it).
 *
 * @param engine The engine that runs the loaded workflows.
 * @param config The config.
 * @param options Watch flag and logger.
 * @returns The manager and a promise of its first load.
 */
export function startSandbox(
  engine: Engine,
  config: CanoConfig,
  { watch = true, log }: StartSandboxOptions,
): { manager: SandboxManager; ready: Promise<void> } {
  const extraFiles = enabledBuiltins(config).filter((b) => b.isolation === "sandbox").map((b) => ({
    path: fileURLToPath(BUILTIN_FILES[b.id]!),
    origin: "builtin" as const,
  }));
  const manager = createSandboxManager({
    directory: config.workflows.directory,
    config: config.workflows.sandbox,
    capabilityHost: engine.createSandboxCapabilityHost(),
    metrics: engine.metrics,
    log,
    extraFiles,
    watch,
  });
  manager.onChange((entries) => {
    engine.setSandboxedWorkflows(entries);
    log.info("Sandboxed workflows changed", { workflows: entries.map((e) => e.id).join(",") });
  });
  const ready = manager.start().then(() => engine.setSandboxedWorkflows(manager.entries()));
  return { manager, ready };
}

/**
 * The sandbox component of `/health/detailed`.
 *
 * @param manager The sandbox manager.
 * @returns Status, directory and per-workflow status.
 */
export function sandboxHealth(manager: SandboxManager): Record<string, unknown> {
  const directory = manager.directoryStatus();
  const workflows = manager.status();
  const degraded = directory.problems.length > 0 ||
    workflows.some((w) => w.lastError !== undefined || w.quarantined);
  return { sandbox: { status: degraded ? "degraded" : "ok", detail: { directory, workflows } } };
}
