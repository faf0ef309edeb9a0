/**
 * The `ctx` a workflow's `run` receives. The same interface in-process and in the sandbox;
 * in the sandbox every call that leaves it is an RPC checked by the host.
 *
 * @module
 */
import type { Block } from "./blocks.ts";
import type { Issue } from "./issue.ts";

/** Structured fields attached to a log line. */
export type LogFields = Record<string, string | number | boolean | null>;

/** A logger whose lines are attributed to the workflow and the issue. */
export interface WorkflowLogger {
  /** Logs at debug level. */
  debug(message: string, fields?: LogFields): void;
  /** Logs at info level. */
  info(message: string, fields?: LogFields): void;
  /** Logs at warn level. */
  warn(message: string, fields?: LogFields): void;
  /** Logs at error level. */
  error(message: string, fields?: LogFields): void;
}

/** Recursively read-only view of a value. */
export type DeepReadonly<T> = T extends (infer U)[] ? readonly DeepReadonly<U>[]
  : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
  : T;

/** What a workflow's `run` receives. */
export interface WorkflowContext<P = Record<string, unknown>> {
  /** The issue being handled; read-only (add to it with `enrich`). */
  readonly issue: DeepReadonly<Issue>;
  /** The workflow's params, parsed and defaulted by its `params` schema. */
  readonly params: P;
  /** Aborted when the workflow's deadline passes; pass it to long calls. */
  readonly signal: AbortSignal;
  /** Logger attributed to this workflow and issue. */
  readonly log: WorkflowLogger;
  /**
   * Adds blocks to the issue under a title. Enrichments keep the order of the calls.
   *
   * @throws {TypeError} When a block does not match the block schema.
   */
  enrich(title: string | undefined, blocks: Block[]): void;
  /** Drops the issue: it is not delivered anywhere. The reason is logged and counted. */
  silence(reason: string): void;
}
