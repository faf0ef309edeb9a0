/**
 * The error a caller catches when a config file cannot be loaded.
 *
 * @module
 */
import { type ConfigIssue, formatConfigIssues } from "./format_issues.ts";

/**
 * A config file that cannot be loaded: unreadable, not YAML, an unresolved reference, or
 * values the schema rejects. The message is the full report from
 * {@linkcode formatConfigIssues}, so logging `error.message` shows every problem.
 *
 * @example
 * ```ts
 * import { ConfigError } from "./errors.ts";
 * import assert from "node:assert/strict";
 *
 * const error = new ConfigError("/etc/cano/config.yaml", [
 *   { path: ["server", "port"], message: "Invalid input: expected number, received string", line: 3, column: 9 },
 * ]);
 * assert.equal(error.name, "ConfigError");
 * assert.equal(error.issues.length, 1);
 * assert.match(error.message, /^Cannot load config from \/etc\/cano\/config.yaml: 1 problem\n/);
 * ```
 */
export class ConfigError extends Error {
  /** Path of the config file. */
  readonly file: string;
  /** Every problem found, in source order. */
  readonly issues: ConfigIssue[];

  /**
   * Creates the error.
   *
   * @param file Path of the config file.
   * @param issues Every problem found.
   * @param options The underlying error, if any.
   */
  constructor(file: string, issues: ConfigIssue[], options?: ErrorOptions) {
    super(formatConfigIssues(file, issues), options);
    this.name = "ConfigError";
    this.file = file;
    this.issues = issues;
  }
}
