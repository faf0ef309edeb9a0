/**
 * What the pipeline knows of a runnable workflow, wherever its code runs.
 *
 * Trusted built-ins run in-process; user workflows run in a sandbox child. The pipeline
 * sees only this shape: metadata to match triggers, and a `run` that never throws.
 *
 * @module
 */
import type { Block, Issue, Permissions, Trigger } from "@cano/sdk";

/** How one run ended. */
export type RunOutcome =
  | "success"
  | "error"
  | "timeout"
  | "crash"
  | "oom"
  | "quarantined"
  | "rejected";

/** Blocks a run added, in call order. */
export interface RunEnrichment {
  /** Title given to `ctx.enrich`. */
  title?: string;
  /** The blocks, validated against the block schema. */
  blocks: Block[];
}

/** The result of running one workflow on one issue. */
export interface RunResult {
  /** How the run ended. */
  outcome: RunOutcome;
  /** Enrichments added before the run ended (kept even when it failed later). */
  enrichments: RunEnrichment[];
  /** Set when the workflow called `ctx.silence(reason)`. */
  silenced?: string;
  /** Why the run failed, for the error note; never contains secrets. */
  error?: string;
  /** Wall-clock duration. */
  durationMs: number;
}

/** What a run receives. */
export interface RunRequest {
  /** The issue, as it stands before this workflow. */
  issue: Issue;
  /** Raw params from config; the workflow's schema parses them. */
  params: unknown;
  /** Deadline for the run. */
  timeoutMs: number;
}

/** A workflow ready to run. */
export interface WorkflowEntry {
  /** Stable id. */
  readonly id: string;
  /** One-sentence description. */
  readonly description: string;
  /** Parsed triggers. */
  readonly triggers: readonly Trigger[];
  /** Declared permissions. */
  readonly permissions: Permissions;
  /** `builtin` (trusted, in-process by default) or `user` (sandboxed). */
  readonly origin: "builtin" | "user";
  /** Where the code runs. */
  readonly isolation: "in-process" | "sandbox";
  /** Content hash of the loaded version (user workflows) or the engine version (built-ins). */
  readonly version: string;
  /** Runs the workflow. Never throws: failures come back as an outcome and an error. */
  run(request: RunRequest): Promise<RunResult>;
}
