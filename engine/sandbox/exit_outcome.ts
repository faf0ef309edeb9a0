/**
 * What the runs of a child that ended get as their outcome and error note.
 *
 * `oom` and protocol violations are the workflow's fault and count toward its quarantine; a
 * child killed because another run timed out, or stopped by the engine, fails its other runs
 * as collateral (`crash`, not counted).
 *
 * @example
 * ```ts
 * import { outcomeOfExit } from "./exit_outcome.ts";
 * import assert from "node:assert/strict";
 *
 * const exit = { reason: "oom", code: 133, signal: null, detail: "it ran out of memory" } as const;
 * const { outcome } = outcomeOfExit(exit, "oom-context", { heapMb: 128, externalMemoryMb: 256 });
 * assert.equal(outcome, "oom");
 * ```
 *
 * @module
 */
import type { RunOutcome } from "../workflows/entry.ts";
import type { ChildExit } from "./child.ts";
import type { SandboxConfig } from "./config.ts";

/** The outcome of the runs a child was serving when it ended. */
export interface ExitOutcome {
  /** Run outcome. */
  outcome: RunOutcome;
  /** Error note, safe to show. */
  error: string;
  /** `true` when the run was not at fault (it does not count toward quarantine). */
  collateral: boolean;
}

/**
 * Maps a child's exit to the outcome of the runs it was serving.
 *
 * @param exit How the child ended.
 * @param name The workflow id.
 * @param config The memory limits, quoted in the note.
 * @returns Outcome, error note and whether the run was collateral.
 */
export function outcomeOfExit(
  exit: ChildExit,
  name: string,
  config: Pick<SandboxConfig, "heapMb" | "externalMemoryMb">,
): ExitOutcome {
  switch (exit.reason) {
    case "oom":
      return {
        outcome: "oom",
        error:
          `Cannot finish workflow "${name}": its sandbox ran out of memory (heap ${config.heapMb} MB, external ${config.externalMemoryMb} MB)`,
        collateral: false,
      };
    case "violation":
      return {
        outcome: "crash",
        error:
          `Cannot finish workflow "${name}": its sandbox broke the protocol (${exit.detail}) and was restarted`,
        collateral: false,
      };
    case "timeout":
    case "quarantine":
    case "recycle":
    case "stopped":
    case "load-timeout":
      return {
        outcome: "crash",
        error: `Cannot finish workflow "${name}": its sandbox was restarted because ${
          exit.detail || exit.reason
        }`,
        collateral: true,
      };
    default:
      return {
        outcome: "crash",
        error: `Cannot finish workflow "${name}": its sandbox ${exit.detail}`,
        collateral: false,
      };
  }
}
