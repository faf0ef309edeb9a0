/**
 * The workflow sandbox: user workflows (and built-ins configured for it) run in one
 * restricted child `deno run` process per workflow version, supervised by the engine.
 *
 * Outside callers import from here: {@linkcode createSandboxManager} for `serve` and
 * dry-runs, {@linkcode loadWorkflowDirectory} for `cano workflows list`, and
 * {@linkcode SandboxConfigSchema} for the config schema.
 *
 * @module
 */
export { DATA_BASELINE_MB, parseSandboxConfig, SandboxConfigSchema } from "./config.ts";
export type { SandboxConfig, SandboxConfigInput } from "./config.ts";
export { createSandboxManager } from "./manager.ts";
export type {
  DirectoryStatus,
  ExtraWorkflowFile,
  SandboxManager,
  SandboxManagerOptions,
  WorkflowStatus,
} from "./manager.ts";
export { loadWorkflowDirectory, REFUSING_CAPABILITY_HOST } from "./loader.ts";
export type { DirectoryLoad, ListedWorkflow, LoadDirectoryOptions } from "./loader.ts";
