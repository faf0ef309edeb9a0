/**
 * Loads a YAML config file against any zod schema, reporting every problem with its line.
 *
 * The steps: parse with `npm:yaml` (syntax errors stop here, with their position), resolve
 * `${ENV}`, `${ENV:-default}` and `${file:/path}` references in every string
 * ({@linkcode resolveReferences}), then `schema.safeParse`. Each failure becomes a
 * {@linkcode ConfigIssue} located in the YAML source: at the value for a wrong value, at the
 * key for an unrecognized key, at the nearest existing parent for a missing key. Nothing
 * throws for bad input: the result is `{ ok: false, error }` with a {@linkcode ConfigError}.
 *
 * @module
 */
import { dirname } from "node:path";
import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
} from "yaml";
import type { z } from "zod";
import { ConfigError } from "./errors.ts";
import { type ConfigIssue, fromZodIssues, type SourcePosition } from "./format_issues.ts";
import { resolveReferences } from "./secrets.ts";

/** The outcome of loading a config: the parsed value, or every problem found. */
export type ConfigResult<T> =
  | { ok: true; config: T; secrets: string[] }
  | { ok: false; error: ConfigError };

/** Options of {@linkcode parseConfigText}. */
export interface ParseConfigOptions<T> {
  /** Path of the file the text came from, for messages and relative `${file:...}` paths. */
  file: string;
  /** The schema the config must satisfy. */
  schema: z.ZodType<T>;
  /** Environment for `${NAME}` references. @default Deno.env */
  env?: Record<string, string | undefined>;
  /** Reads `${file:...}` references (and, in {@linkcode loadConfigFile}, the config). @default Deno.readTextFileSync */
  readFile?: (path: string) => string;
}

/** Options of {@linkcode loadConfigFile}. */
export type LoadConfigOptions<T> = Omit<ParseConfigOptions<T>, "file">;

/**
 * Parses and validates config text.
 *
 * @param text The YAML source.
 * @param options The file name, schema, environment and file reader.
 * @returns The config and the secrets it references, or a {@linkcode ConfigError}.
 * @example A wrong type, reported with its line and column
 * ```ts
 * import { parseConfigText } from "./load.ts";
 * import { z } from "zod";
 * import assert from "node:assert/strict";
 *
 * const schema = z.strictObject({ server: z.strictObject({ port: z.number() }) });
 * const result = parseConfigText("server:\n  port: eighty\n", { file: "cano.yaml", schema });
 * assert.equal(result.ok, false);
 * if (!result.ok) {
 *   assert.deepEqual(result.error.issues[0], {
 *     path: ["server", "port"],
 *     message: "Invalid input: expected number, received string",
 *     line: 2,
 *     column: 9,
 *   });
 * }
 * ```
 */
export function parseConfigText<T>(
  text: string,
  { file, schema, env, readFile }: ParseConfigOptions<T>,
): ConfigResult<T> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const position = (offset: number): SourcePosition => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((e): ConfigIssue => ({
      path: [],
      message: e.message,
      ...position(e.pos[0]),
    }));
    return { ok: false, error: new ConfigError(file, issues, { cause: doc.errors[0] }) };
  }

  let data: unknown;
  try {
    data = doc.toJS();
  } catch (error) {
    // toJS throws for alias bombs (too many alias expansions) and similar structural limits.
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, error: new ConfigError(file, [{ path: [], message }], { cause: error }) };
  }

  const locate = (path: (string | number)[], { key }: { key: boolean }) => {
    const offset = locateOffset(doc, path, key);
    return offset === undefined ? undefined : position(offset);
  };
  const resolved = resolveReferences(data, {
    ...(env === undefined ? {} : { env }),
    ...(readFile === undefined ? {} : { readFile }),
    baseDir: dirname(file),
  });
  if (resolved.issues.length > 0) {
    const issues = resolved.issues.map((i) => ({ ...i, ...locate(i.path, { key: false }) }));
    return { ok: false, error: new ConfigError(file, sortIssues(issues)) };
  }

  const parsed = schema.safeParse(resolved.value);
  if (!parsed.success) {
    const issues = fromZodIssues(parsed.error.issues, { schema, input: resolved.value, locate });
    return { ok: false, error: new ConfigError(file, sortIssues(issues), { cause: parsed.error }) };
  }
  return { ok: true, config: parsed.data, secrets: resolved.secrets };
}

/**
 * Reads, parses and validates a config file.
 *
 * @param path Path of the YAML file.
 * @param options The schema, environment and file reader.
 * @returns The config and its secrets, or a {@linkcode ConfigError}; an unreadable file is
 *   an error result, not a throw.
 * @example
 * ```ts
 * import { loadConfigFile } from "./load.ts";
 * import { z } from "zod";
 * import assert from "node:assert/strict";
 *
 * const schema = z.strictObject({ token: z.string() });
 * const files: Record<string, string> = {
 *   "/etc/cano/config.yaml": "token: ${file:token}\n",
 *   "/etc/cano/token": "s3cret\n",
 * };
 * const result = await loadConfigFile("/etc/cano/config.yaml", {
 *   schema,
 *   readFile: (path) => files[path] ?? "",
 * });
 * assert.deepEqual(result, { ok: true, config: { token: "s3cret" }, secrets: ["s3cret"] });
 * ```
 */
export async function loadConfigFile<T>(
  path: string,
  options: LoadConfigOptions<T>,
): Promise<ConfigResult<T>> {
  let text: string;
  try {
    text = options.readFile === undefined ? await Deno.readTextFile(path) : options.readFile(path);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const issues = [{ path: [], message: `the file cannot be read: ${reason}` }];
    return { ok: false, error: new ConfigError(path, issues, { cause: error }) };
  }
  return parseConfigText(text, { ...options, file: path });
}

/** Issues without a position first, then by line and column; stable otherwise. */
function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return issues.toSorted((a, b) =>
    (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0)
  );
}

/**
 * The source offset of `path`: of its value, or of its key when `key` is true. A path that
 * leaves the document stops at the nearest existing parent.
 */
function locateOffset(
  doc: Document,
  path: readonly (string | number)[],
  key: boolean,
): number | undefined {
  let node: unknown = doc.contents;
  let offset = startOf(node);
  for (const [i, segment] of path.entries()) {
    if (isAlias(node)) node = node.resolve(doc);
    let next: unknown;
    let keyOffset: number | undefined;
    if (isMap(node)) {
      const pair = node.items.find((p) =>
        isScalar(p.key) && String(p.key.value) === String(segment)
      );
      if (pair === undefined) return offset;
      next = pair.value;
      keyOffset = startOf(pair.key);
    } else if (isSeq(node) && typeof segment === "number") {
      next = node.items[segment];
      if (next === undefined) return offset;
    } else {
      return offset;
    }
    const last = i === path.length - 1;
    offset = (last && key ? keyOffset : startOf(next)) ?? keyOffset ?? offset;
    node = next;
  }
  return offset;
}

function startOf(node: unknown): number | undefined {
  return (node as Node | null | undefined)?.range?.[0];
}
