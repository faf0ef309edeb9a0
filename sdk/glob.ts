/**
 * Glob matching for trigger and route filters: `*` is any run of characters, `?` one.
 *
 * Hand-written on purpose: it is a dozen lines, it must match whole values (anchored), and
 * the glob libraries on npm add path semantics (`/` handling, braces) that label values
 * must not have.
 *
 * @module
 */

const cache = new Map<string, RegExp>();

/**
 * Tells whether `value` matches the glob `pattern` (anchored, case-sensitive).
 *
 * @param value The value to test.
 * @param pattern A glob: `*` and `?` are wildcards, everything else is literal.
 * @returns Whether it matches.
 * @example
 * ```ts
 * import { matchesGlob } from "./glob.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(matchesGlob("prod-eu", "prod-*"));
 * assert.ok(!matchesGlob("preprod-eu", "prod-*"));
 * assert.ok(matchesGlob("a.b", "a.b") && !matchesGlob("axb", "a.b"));
 * ```
 */
export function matchesGlob(value: string, pattern: string): boolean {
  if (!pattern.includes("*") && !pattern.includes("?")) return value === pattern;
  let regex = cache.get(pattern);
  if (!regex) {
    const source = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*")
      .replaceAll("?", ".");
    regex = new RegExp(`^${source}$`, "s");
    if (cache.size > 10_000) cache.clear();
    cache.set(pattern, regex);
  }
  return regex.test(value);
}

/**
 * Tells whether `value` matches one of the globs; an absent filter matches everything and
 * an absent value matches nothing.
 *
 * @param value The value, or `undefined` when the issue lacks it.
 * @param patterns One glob, a list, or `undefined` for no filter.
 * @returns Whether the filter passes.
 */
export function matchesAny(
  value: string | undefined,
  patterns: string | readonly string[] | undefined,
): boolean {
  if (patterns === undefined) return true;
  if (value === undefined) return false;
  const list = typeof patterns === "string" ? [patterns] : patterns;
  return list.some((pattern) => matchesGlob(value, pattern));
}
