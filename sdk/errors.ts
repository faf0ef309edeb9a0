/**
 * Errors the SDK throws that callers catch.
 *
 * @module
 */
import type { z } from "zod";

/** A path-and-message pair, as zod reports it. */
export interface DefinitionProblem {
  /** Where in the definition, e.g. `["triggers", 0, "on"]`. */
  path: PropertyKey[];
  /** What was expected. */
  message: string;
}

/** A workflow definition failed validation. Thrown by `defineWorkflow` when the file loads. */
export class WorkflowDefinitionError extends TypeError {
  /** The id the definition gave, or `"(no id)"`. */
  readonly workflowId: string;
  /** Every problem found. */
  readonly issues: DefinitionProblem[];

  /**
   * @param workflowId The id as given.
   * @param error The zod error listing the problems.
   */
  constructor(workflowId: unknown, error: z.ZodError) {
    const id = typeof workflowId === "string" && workflowId ? workflowId : "(no id)";
    const issues = error.issues.map((i) => ({ path: i.path, message: i.message }));
    const detail = issues.map((i) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`);
    super(`Cannot define workflow "${id}": ${detail.join("; ")}`, { cause: error });
    this.name = "WorkflowDefinitionError";
    this.workflowId = id;
    this.issues = issues;
  }
}
