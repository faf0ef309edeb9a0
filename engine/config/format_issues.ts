/**
 * Validation issues with a location, and the one formatter that prints them.
 *
 * {@linkcode fromZodIssues} turns zod issues into {@linkcode ConfigIssue}s: one issue per
 * unrecognized key, a line and column when a `locate` function is given, and a fix hint where
 * zod's message leaves one out ("did you mean "channel"?"). {@linkcode formatConfigIssues}
 * prints them in zod's `prettifyError` layout with the file name and position, for the CLI and
 * the logs; {@linkcode toIssueList} gives the JSON form for `/health/detailed` and 400 bodies.
 *
 * @module
 */
import type { z } from "zod";

/** One problem in a config file or payload. */
export interface ConfigIssue {
  /** Keys and indexes from the root to the offending value; empty for the whole document. */
  path: (string | number)[];
  /** What is wrong, as zod or the schema phrases it. */
  message: string;
  /** 1-based line in the source, when known. */
  line?: number;
  /** 1-based column in the source, when known. */
  column?: number;
  /** How to fix it, when a likely fix is known, such as `did you mean "channel"?`. */
  hint?: string;
}

/** The JSON form of a {@linkcode ConfigIssue}, with the path as text. */
export interface IssueListEntry {
  /** Path as `destinations[0].channel`; empty for the whole document. */
  path: string;
  /** What is wrong. */
  message: string;
  /** 1-based line, when known. */
  line?: number;
  /** 1-based column, when known. */
  column?: number;
  /** How to fix it, when known. */
  hint?: string;
}

/** A line and column, both 1-based. */
export interface SourcePosition {
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  column: number;
}

/** Options of {@linkcode fromZodIssues}. */
export interface FromZodIssuesOptions {
  /** The schema that was parsed, to suggest known keys. @default undefined (no key hints) */
  schema?: z.ZodType;
  /** The value that was parsed, to read what was received. @default undefined */
  input?: unknown;
  /**
   * Finds the source position of a path; `key: true` asks for the key rather than its value.
   * @default undefined (no positions)
   */
  locate?: (path: (string | number)[], options: { key: boolean }) => SourcePosition | undefined;
}

/** Largest edit distance for a "did you mean" hint. */
export const MAX_HINT_DISTANCE = 2;
const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * Formats a path the way zod's `prettifyError` does: `a.b[0].c`, quoting keys that are not
 * identifiers.
 *
 * @param path Keys and indexes from the root.
 * @returns The path as text; empty for the root.
 * @example Quoting a label key
 * ```ts
 * import { formatPath } from "./format_issues.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatPath(["labels", "app.kubernetes.io/name"]), 'labels["app.kubernetes.io/name"]');
 * assert.equal(formatPath(["destinations", 0, "channel"]), "destinations[0].channel");
 * ```
 */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (typeof segment === "symbol") out += `[${String(segment)}]`;
    else if (IDENTIFIER.test(segment)) out += out === "" ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/**
 * Prints issues in zod's `prettifyError` layout, headed by the file that holds them.
 *
 * @param file Path of the config file, as the operator wrote it.
 * @param issues The problems, in the order to print them.
 * @returns The text, one `✖` entry per issue.
 * @example Two problems
 * ```ts
 * import { formatConfigIssues } from "./format_issues.ts";
 * import assert from "node:assert/strict";
 *
 * const text = formatConfigIssues("/etc/cano/config.yaml", [
 *   { path: ["destinations", 0, "channel"], message: "Invalid input: expected string, received number", line: 14, column: 14 },
 *   { path: ["destinations", 1], message: 'Unrecognized key: "chanel"', line: 19, column: 5 },
 * ]);
 * assert.equal(text, [
 *   "Cannot load config from /etc/cano/config.yaml: 2 problems",
 *   "✖ Invalid input: expected string, received number",
 *   "  → at destinations[0].channel (line 14, column 14)",
 *   '✖ Unrecognized key: "chanel"',
 *   "  → at destinations[1] (line 19, column 5)",
 * ].join("\n"));
 * ```
 */
export function formatConfigIssues(file: string, issues: readonly ConfigIssue[]): string {
  const count = `${issues.length} ${issues.length === 1 ? "problem" : "problems"}`;
  const lines = [`Cannot load config from ${file}: ${count}`];
  for (const issue of issues) {
    lines.push(`✖ ${issue.message.replaceAll("\n", "\n  ")}`);
    const where = formatPath(issue.path);
    const position = issue.line === undefined
      ? ""
      : `line ${issue.line}${issue.column === undefined ? "" : `, column ${issue.column}`}`;
    if (where !== "") lines.push(`  → at ${where}${position === "" ? "" : ` (${position})`}`);
    else if (position !== "") lines.push(`  → at ${position}`);
    if (issue.hint !== undefined) lines.push(`  ↳ ${issue.hint}`);
  }
  return lines.join("\n");
}

/**
 * Converts issues to plain JSON entries with text paths.
 *
 * @param issues The problems.
 * @returns One entry per issue; absent positions and hints are left out.
 * @example
 * ```ts
 * import { toIssueList } from "./format_issues.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(toIssueList([{ path: ["a", 0], message: "Bad", line: 2, column: 3 }]), [
 *   { path: "a[0]", message: "Bad", line: 2, column: 3 },
 * ]);
 * ```
 */
export function toIssueList(issues: readonly ConfigIssue[]): IssueListEntry[] {
  return issues.map((issue) => {
    const entry: IssueListEntry = { path: formatPath(issue.path), message: issue.message };
    if (issue.line !== undefined) entry.line = issue.line;
    if (issue.column !== undefined) entry.column = issue.column;
    if (issue.hint !== undefined) entry.hint = issue.hint;
    return entry;
  });
}

/**
 * Converts zod issues to {@linkcode ConfigIssue}s with positions and fix hints.
 *
 * Unrecognized keys become one issue each, pointing at the key itself. A value that zod
 * reports at a path that does not exist in the input is located at its nearest parent.
 *
 * @param issues The issues from `safeParse`.
 * @param options The schema and input, for hints, and a `locate` function, for positions.
 * @returns The issues, in zod's order.
 * @example A misspelled key
 * ```ts
 * import { fromZodIssues } from "./format_issues.ts";
 * import { z } from "zod";
 * import assert from "node:assert/strict";
 *
 * const schema = z.strictObject({ channel: z.string() });
 * const input = { chanel: "#ops" };
 * const result = schema.safeParse(input);
 * const issues = fromZodIssues(result.error!.issues, { schema, input });
 * assert.equal(issues[1]!.hint, 'did you mean "channel"?');
 * ```
 */
export function fromZodIssues(
  issues: readonly z.core.$ZodIssue[],
  { schema, input, locate }: FromZodIssuesOptions = {},
): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const at = (path: (string | number)[], key: boolean): Partial<SourcePosition> =>
    locate?.(path, { key }) ?? {};
  for (const issue of issues) {
    const path = issue.path.map((s) => typeof s === "symbol" ? String(s) : s);
    if (issue.code === "unrecognized_keys") {
      const parent = valueAt(input, path);
      const known = schema === undefined ? [] : knownKeys(schema, path, input);
      const candidates = known.filter((k) => !hasOwn(parent, k));
      for (const key of issue.keys) {
        const message = issue.keys.length === 1
          ? issue.message
          : `Unrecognized key: ${JSON.stringify(key)}`;
        const near = closestMatch(key, candidates);
        out.push(
          withHint({ path, message, ...at([...path, key], true) }, near && didYouMean(near)),
        );
      }
      continue;
    }
    out.push(withHint({ path, message: issue.message, ...at(path, false) }, hintFor(issue, input)));
  }
  return out;
}

/**
 * Finds the candidate nearest to `word` by edit distance. A candidate that shares nothing with
 * the word (a distance as long as the shorter of the two) is not a match.
 *
 * @param word The misspelled word.
 * @param candidates The known words.
 * @param options `maxDistance`: the largest edit distance accepted (default {@linkcode MAX_HINT_DISTANCE}).
 * @returns The nearest candidate, or `undefined` when none is within `maxDistance`.
 * @example
 * ```ts
 * import { closestMatch } from "./format_issues.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(closestMatch("chanel", ["channel", "url"]), "channel");
 * assert.equal(closestMatch("colour", ["channel", "url"]), undefined);
 * assert.equal(closestMatch("x", ["a"]), undefined);
 * ```
 */
export function closestMatch(
  word: string,
  candidates: Iterable<string>,
  { maxDistance = MAX_HINT_DISTANCE }: { maxDistance?: number } = {},
): string | undefined {
  let best: string | undefined;
  let bestDistance = maxDistance + 1;
  for (const candidate of candidates) {
    const distance = editDistance(word, candidate);
    // A distance as long as either word means nothing in common ("x" and "a").
    const related = distance < Math.min(word.length, candidate.length);
    if (related && distance > 0 && distance < bestDistance) {
      [best, bestDistance] = [candidate, distance];
    }
  }
  return best;
}

function withHint(issue: ConfigIssue, hint: string | undefined): ConfigIssue {
  return hint === undefined ? issue : { ...issue, hint };
}

function didYouMean(word: string): string {
  return `did you mean ${JSON.stringify(word)}?`;
}

function hintFor(issue: z.core.$ZodIssue, input: unknown): string | undefined {
  const path = issue.path.map((s) => typeof s === "symbol" ? String(s) : s);
  const received = valueAt(input, path);
  if (issue.code === "invalid_type" && received === undefined && path.length > 0) {
    const parent = valueAt(input, path.slice(0, -1));
    const key = path.at(-1)!;
    if (isRecord(parent) && !hasOwn(parent, key)) {
      return `add the required key ${JSON.stringify(String(key))}`;
    }
  }
  const options: readonly unknown[] | undefined = issue.code === "invalid_value"
    ? issue.values
    : issue.code === "invalid_union" && "options" in issue && Array.isArray(issue.options)
    ? issue.options
    : undefined;
  if (options === undefined) return undefined;
  const words = options.filter((o): o is string => typeof o === "string");
  if (typeof received === "string") {
    const near = closestMatch(received, words);
    if (near !== undefined) return didYouMean(near);
  }
  const listed = options.every((o) => issue.message.includes(String(o)));
  return listed || options.length === 0
    ? undefined
    : `expected one of ${options.map((o) => JSON.stringify(o)).join(", ")}`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function hasOwn(value: unknown, key: string | number): boolean {
  return isRecord(value) && Object.hasOwn(value, key);
}

function valueAt(value: unknown, path: readonly (string | number)[]): unknown {
  let current = value;
  for (const segment of path) {
    if (Array.isArray(current) && typeof segment === "number") current = current[segment];
    else if (isRecord(current) && Object.hasOwn(current, segment)) current = current[segment];
    else return undefined;
  }
  return current;
}

/** The parts of a zod 4 schema definition that the key walk reads. */
interface SchemaDef {
  type: string;
  innerType?: unknown;
  in?: unknown;
  getter?: () => unknown;
  options?: unknown[];
  left?: unknown;
  right?: unknown;
  shape?: Record<string, unknown>;
  element?: unknown;
  valueType?: unknown;
  items?: unknown[];
}

const WRAPPERS = new Set(["optional", "nullable", "default", "prefault", "readonly", "catch"]);

function internals(
  schema: unknown,
): { def?: SchemaDef; propValues?: Record<string, Set<unknown>> } {
  return (schema as { _zod?: ReturnType<typeof internals> } | undefined)?._zod ?? {};
}

/** The object-like schemas `schema` may be for `value`, with wrappers and unions unwrapped. */
function candidates(schema: unknown, value: unknown, depth = 0): unknown[] {
  const def = internals(schema).def;
  if (def === undefined || depth > 32) return [];
  if (WRAPPERS.has(def.type) || def.type === "nonoptional") {
    return candidates(def.innerType, value, depth + 1);
  }
  if (def.type === "pipe") return candidates(def.in, value, depth + 1);
  if (def.type === "lazy" && def.getter) return candidates(def.getter(), value, depth + 1);
  if (def.type === "intersection") {
    return [...candidates(def.left, value, depth + 1), ...candidates(def.right, value, depth + 1)];
  }
  if (def.type === "union") {
    const all = (def.options ?? []).flatMap((o) => candidates(o, value, depth + 1));
    const fitting = all.filter((o) => fitsLiterals(o, value));
    return fitting.length > 0 ? fitting : all;
  }
  return [schema];
}

function fitsLiterals(schema: unknown, value: unknown): boolean {
  const literals = internals(schema).propValues ?? {};
  return Object.entries(literals).every(([key, allowed]) =>
    !hasOwn(value, key) || allowed.has((value as Record<string, unknown>)[key])
  );
}

function knownKeys(
  schema: z.ZodType,
  path: readonly (string | number)[],
  input: unknown,
): string[] {
  let schemas: unknown[] = [schema];
  let value = input;
  for (const segment of path) {
    const next = valueAt(value, [segment]);
    schemas = schemas.flatMap((s) => candidates(s, value)).flatMap((s) => {
      const def = internals(s).def!;
      if (def.type === "object") return def.shape?.[segment] ?? [];
      if (def.type === "record") return def.valueType ?? [];
      if (def.type === "array" && typeof segment === "number") return def.element ?? [];
      if (def.type === "tuple" && typeof segment === "number") return def.items?.[segment] ?? [];
      return [];
    });
    value = next;
  }
  const keys = schemas.flatMap((s) => candidates(s, value))
    .flatMap((s) => Object.keys(internals(s).def?.shape ?? {}));
  return [...new Set(keys)];
}
