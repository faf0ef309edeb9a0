/**
 * The capability plugin contract: what one entry of the capability host's table looks like.
 *
 * A provider serves one capability name (`"http.fetch"`, `"prometheus.query"`, later
 * `"k8s.get"`...). The host validates the arguments with the provider's zod schema, asks
 * `permitted` whether the workflow's declared permissions and the operator's policy both
 * allow the call, then runs `handle`. Budget, logging and metrics live in the host, so a
 * provider only does its own checks and I/O.
 *
 * @example A provider that echoes its argument
 * ```ts
 * import { z } from "zod";
 * import type { CapabilityProvider } from "./provider.ts";
 *
 * const echo: CapabilityProvider<{ text: string }, string> = {
 *   name: "test.echo",
 *   args: z.strictObject({ text: z.string() }),
 *   permitted: () => true,
 *   handle: (args) => Promise.resolve(args.text),
 * };
 * ```
 *
 * @module
 */
import type { Permissions } from "@cano/sdk";
import type { z } from "zod";
import type { Logger } from "../log.ts";
import type { CapabilityPolicy } from "./policy.ts";

/** Why a capability call failed; also the `outcome` label of the call metric. */
export type CapabilityErrorReason =
  | "not_permitted"
  | "budget_exhausted"
  | "invalid_args"
  | "failed";

/** The `outcome` label of `cano_sandbox_capability_calls_total`: `ok` or the error reason. */
export type CapabilityOutcome = "ok" | CapabilityErrorReason;

/** Who is calling, with what rights, until when, and how many calls are left. */
export interface CapabilityCallContext {
  /** Id of the calling workflow; logs and metric labels use it. */
  workflowId: string;
  /** What the workflow declared, from the engine's own parsed copy (never from the child). */
  permissions: Permissions;
  /** Aborted at the run's deadline; providers pass it to their I/O. */
  signal: AbortSignal;
  /** Calls left in this run; the host decrements it on every call and rejects at 0. */
  budget: { remaining: number };
}

/** What a provider's `handle` receives besides its arguments. */
export interface ProviderContext {
  /** Id of the calling workflow. */
  readonly workflowId: string;
  /** The capability name being served. */
  readonly capability: string;
  /** The workflow's declared permissions. */
  readonly permissions: Permissions;
  /** The operator's policy at the time of the call. */
  readonly policy: CapabilityPolicy;
  /** Aborted at the run's deadline. */
  readonly signal: AbortSignal;
  /** Logger carrying the workflow id and capability name; never log header values or bodies. */
  readonly log: Logger;
  /** Builds a {@linkcode CapabilityError} stamped with this call's workflow and capability. */
  error(reason: CapabilityErrorReason, message: string, cause?: unknown): CapabilityError;
}

/** One entry of the capability table. */
export interface CapabilityProvider<A = unknown, R = unknown> {
  /** Capability name, `<area>.<verb>`, e.g. `"http.fetch"`. */
  readonly name: string;
  /** Schema of the arguments; a failing parse is an `invalid_args` error. */
  readonly args: z.ZodType<A>;
  /**
   * Checks the declared permissions and the policy before any I/O.
   *
   * @returns `true` when allowed; `false` or a message (`Cannot ...: ...`) when not.
   */
  permitted(permissions: Permissions, policy: CapabilityPolicy, args: A): boolean | string;
  /** Serves the call. Throws `context.error(...)` for failures the workflow should see. */
  handle(args: A, context: ProviderContext): Promise<R>;
  /** Safe log fields for a call (a host name, never headers, bodies or query strings). */
  summarize?(args: A): Record<string, string>;
}

/** Options of {@linkcode CapabilityError}. */
export interface CapabilityErrorOptions {
  /** The capability name. */
  capability: string;
  /** The calling workflow. */
  workflowId: string;
  /** Why the call failed. */
  reason: CapabilityErrorReason;
  /** The underlying error, kept for the engine's logs; never sent to the workflow. */
  cause?: unknown;
}

/**
 * A capability call was refused or failed. The message is safe to show to the workflow and
 * in the Issue's error note: it never contains credentials, header values or bodies.
 */
export class CapabilityError extends Error {
  /** The capability name, e.g. `"http.fetch"`. */
  readonly capability: string;
  /** The calling workflow. */
  readonly workflowId: string;
  /** Why the call failed. */
  readonly reason: CapabilityErrorReason;

  /**
   * @param message `Cannot <action>: <state>`, safe to show to the workflow.
   * @param options Capability, workflow, reason and cause.
   */
  constructor(message: string, { capability, workflowId, reason, cause }: CapabilityErrorOptions) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "CapabilityError";
    this.capability = capability;
    this.workflowId = workflowId;
    this.reason = reason;
  }
}
