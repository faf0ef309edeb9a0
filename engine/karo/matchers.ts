/**
 * AlertReaction matchers with Prometheus semantics: `=`, `!=`, `=~`, `!~`.
 *
 * A matcher's `name` is a label name, or `annotations.<key>` for an annotation; a name that is
 * neither falls back to a top-level alert field (`status`, `fingerprint`...), as in Karo.
 *
 * Two deliberate differences from Karo, both to match what Prometheus and Alertmanager users
 * expect from the same operators:
 * - **Regexes are anchored.** Karo called Go's `regexp.MatchString`, so `=~ "prod-.*"` also
 *   matched `xprod-1` and `=~ "api"` matched `api-2`. Here, as in Prometheus, the value must
 *   match the whole string (`^(?:<re>)$`, with `.` matching newlines like Prometheus' `(?s:)`).
 * - **A missing field is the empty string.** Karo failed every matcher on a field the alert
 *   lacks (so `severity != "info"` did not match an alert without `severity`); Prometheus
 *   treats a missing label as `""`, so `!=` and `!~` match it and `= ""` does too.
 *
 * Regexes are RE2 syntax in Prometheus and JavaScript syntax here; the common subset is the
 * same. A leading `(?i)` (case-insensitive) and `(?P<name>...)` groups are translated.
 *
 * @example
 * ```ts
 * import { compileMatcher } from "./matchers.ts";
 * import { alertDataFromAlert } from "./alert_data.ts";
 * import assert from "node:assert/strict";
 *
 * const data = alertDataFromAlert({ status: "firing", labels: { alertname: "X", service: "api-2" } });
 * assert.equal(compileMatcher({ name: "service", operator: "=~", value: "api" }).matches(data), false);
 * assert.equal(compileMatcher({ name: "service", operator: "=~", value: "api-.*" }).matches(data), true);
 * assert.equal(compileMatcher({ name: "team", operator: "!=", value: "db" }).matches(data), true);
 * ```
 *
 * @module
 */
import type { AlertData } from "./alert_data.ts";

/** The operators Karo's CRD allows. */
export const MATCH_OPERATORS = ["=", "!=", "=~", "!~"] as const;
/** A matcher operator. */
export type MatchOperator = typeof MATCH_OPERATORS[number];

/** A matcher as written in an AlertReaction. */
export interface MatcherSpec {
  /** Label name, `annotations.<key>`, or a top-level alert field. */
  name: string;
  /** The operator. */
  operator: MatchOperator;
  /** The value, or the regex for `=~` and `!~`. */
  value: string;
}

/** A compiled matcher. */
export interface Matcher extends Readonly<MatcherSpec> {
  /** Whether the alert satisfies this matcher. */
  matches(data: AlertData): boolean;
}

/**
 * Compiles a matcher.
 *
 * @param spec Name, operator and value.
 * @returns The matcher.
 * @throws {SyntaxError} When a regex does not compile on its own.
 * @throws {RangeError} When the operator is unknown.
 */
export function compileMatcher(spec: MatcherSpec): Matcher {
  const { name, operator, value } = spec;
  if (operator === "=" || operator === "!=") {
    const equal = operator === "=";
    return Object.freeze({
      name,
      operator,
      value,
      matches: (data: AlertData) => (matcherValue(data, name) === value) === equal,
    });
  }
  if (operator === "=~" || operator === "!~") {
    const regex = anchoredRegex(value);
    const positive = operator === "=~";
    return Object.freeze({
      name,
      operator,
      value,
      matches: (data: AlertData) => regex.test(matcherValue(data, name)) === positive,
    });
  }
  throw new RangeError(
    `Cannot compile matcher "${name}": operator "${operator}" is not one of ${MATCH_OPERATORS}`,
  );
}

/**
 * Whether every matcher matches (no matchers: always).
 *
 * @param matchers Compiled matchers.
 * @param data The alert map.
 * @returns `true` when all match.
 */
export function matchesAll(matchers: readonly Matcher[], data: AlertData): boolean {
  return matchers.every((m) => m.matches(data));
}

/**
 * The value a matcher compares: an annotation for `annotations.<key>`, else the label, else a
 * top-level string field; `""` when absent (Prometheus semantics).
 *
 * @param data The alert map.
 * @param name The matcher's name.
 * @returns The value.
 */
export function matcherValue(data: AlertData, name: string): string {
  if (name.startsWith("annotations.")) {
    const annotations = data["annotations"];
    const key = name.slice("annotations.".length);
    return typeof annotations === "object" && Object.hasOwn(annotations, key)
      ? annotations[key]!
      : "";
  }
  const labels = data["labels"];
  if (typeof labels === "object" && Object.hasOwn(labels, name)) return labels[name]!;
  const field = Object.hasOwn(data, name) ? data[name] : undefined;
  return typeof field === "string" ? field : "";
}

/**
 * Compiles a Prometheus regex anchored at both ends. The pattern is compiled on its own first,
 * so `a)|(b` cannot escape the anchoring group.
 *
 * @param pattern The regex as written.
 * @returns The anchored RegExp.
 * @throws {SyntaxError} When the pattern does not compile.
 */
export function anchoredRegex(pattern: string): RegExp {
  let source = pattern.replaceAll("(?P<", "(?<");
  let flags = "s";
  if (source.startsWith("(?i)")) {
    source = source.slice(4);
    flags += "i";
  }
  try {
    new RegExp(source, flags);
    return new RegExp(`^(?:${source})$`, flags);
  } catch (error) {
    throw new SyntaxError(
      `Cannot compile regex "${pattern}": ${error instanceof Error ? error.message : error}`,
    );
  }
}
