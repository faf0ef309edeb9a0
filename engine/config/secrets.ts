/**
 * References in config strings: `${ENV_VAR}`, `${ENV_VAR:-default}` and `${file:/path}`.
 *
 * Every string value of the parsed config is scanned once; values read from the environment
 * or from files are not scanned again. `$${` writes a literal `${`. A reference that cannot be
 * resolved becomes a {@linkcode ConfigIssue} at the path of the value that holds it, so every
 * missing variable is reported at once.
 *
 * Values read from the environment or a file are returned as `secrets`, so callers can mask
 * them with {@linkcode maskSecrets} in output and logs. Defaults are written in the config
 * itself and are not secrets.
 *
 * This is a small hand-written scanner because no maintained library implements this exact
 * grammar (with `file:` references and `$${` escapes) on plain values.
 *
 * @module
 */
import { isAbsolute, join } from "node:path";
import type { ConfigIssue } from "./format_issues.ts";

/** Options of {@linkcode resolveReferences}. */
export interface ResolveReferencesOptions {
  /** Environment to read `${NAME}` from. @default Deno.env */
  env?: Record<string, string | undefined>;
  /** Reads a `${file:...}` path. @default Deno.readTextFileSync */
  readFile?: (path: string) => string;
  /** Directory that relative `${file:...}` paths start from. @default Deno.cwd() */
  baseDir?: string;
}

/** What {@linkcode resolveReferences} returns. */
export interface ResolvedReferences {
  /** A copy of the input with every reference replaced. */
  value: unknown;
  /** Values read from the environment or files, without duplicates or empty strings. */
  secrets: string[];
  /** One issue per reference that could not be resolved. */
  issues: ConfigIssue[];
}

/** What masked secrets are replaced with. */
export const SECRET_MASK = "***";

const REFERENCE = /\$\$\{|\$\{([^{}]*)\}|\$\{/g;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Replaces references in every string of a parsed config value.
 *
 * @param value A parsed YAML or JSON value; it is not changed.
 * @param options Environment, file reader and base directory.
 * @returns The resolved copy, the secrets read and the issues found.
 * @example Environment variables, defaults and escapes
 * ```ts
 * import { resolveReferences } from "./secrets.ts";
 * import assert from "node:assert/strict";
 *
 * const result = resolveReferences(
 *   { token: "${SLACK_TOKEN}", level: "${LOG_LEVEL:-info}", note: "$${HOME}" },
 *   { env: { SLACK_TOKEN: "xoxb-1" } },
 * );
 * assert.deepEqual(result.value, { token: "xoxb-1", level: "info", note: "${HOME}" });
 * assert.deepEqual(result.secrets, ["xoxb-1"]);
 * assert.deepEqual(result.issues, []);
 * ```
 */
export function resolveReferences(
  value: unknown,
  { env, readFile = Deno.readTextFileSync, baseDir }: ResolveReferencesOptions = {},
): ResolvedReferences {
  const secrets = new Set<string>();
  const issues: ConfigIssue[] = [];
  const getEnv = env === undefined
    ? (name: string) => Deno.env.get(name)
    : (name: string) => Object.hasOwn(env, name) ? env[name] : undefined;

  const resolveString = (text: string, path: (string | number)[]): string =>
    text.replace(REFERENCE, (match: string, body: string | undefined) => {
      if (match === "$${") return "${";
      if (body === undefined) {
        issues.push({
          path,
          message: `reference "\${" is not closed with "}" (write "$\${" for a literal "\${")`,
        });
        return match;
      }
      const resolved = resolveOne(body, path);
      if (resolved === undefined) return match;
      if (resolved.secret && resolved.value !== "") secrets.add(resolved.value);
      return resolved.value;
    });

  const resolveOne = (
    body: string,
    path: (string | number)[],
  ): { value: string; secret: boolean } | undefined => {
    if (body.startsWith("file:")) {
      const file = body.slice("file:".length);
      const full = isAbsolute(file) ? file : join(baseDir ?? Deno.cwd(), file);
      try {
        return { value: readFile(full).replace(/\r?\n$/, ""), secret: true };
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        issues.push({ path, message: `file "${full}" cannot be read: ${reason}` });
        return undefined;
      }
    }
    const split = body.indexOf(":-");
    const name = split === -1 ? body : body.slice(0, split);
    if (!ENV_NAME.test(name)) {
      issues.push({
        path,
        message: `reference "\${${body}}" is neither an environment variable nor "file:<path>"`,
      });
      return undefined;
    }
    let found: string | undefined;
    try {
      found = getEnv(name);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      issues.push({ path, message: `environment variable "${name}" cannot be read: ${reason}` });
      return undefined;
    }
    if (split !== -1 && (found === undefined || found === "")) {
      return { value: body.slice(split + 2), secret: false };
    }
    if (found === undefined) {
      issues.push({ path, message: `environment variable "${name}" is not set` });
      return undefined;
    }
    return { value: found, secret: true };
  };

  const ancestors = new Set<object>();
  const walk = (node: unknown, path: (string | number)[]): unknown => {
    if (typeof node === "string") return resolveString(node, path);
    const isArray = Array.isArray(node);
    if (
      typeof node !== "object" || node === null ||
      (!isArray && Object.getPrototypeOf(node) !== Object.prototype)
    ) {
      return node;
    }
    if (ancestors.has(node)) {
      issues.push({ path, message: "value contains itself through an alias" });
      return undefined;
    }
    ancestors.add(node);
    let out: unknown[] | Record<string, unknown>;
    if (isArray) {
      out = (node as unknown[]).map((item, i) => walk(item, [...path, i]));
    } else {
      out = {};
      for (const [key, item] of Object.entries(node)) {
        Object.defineProperty(out, key, {
          value: walk(item, [...path, key]),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
    }
    ancestors.delete(node);
    return out;
  };

  return { value: walk(value, []), secrets: [...secrets], issues };
}

/**
 * Replaces every occurrence of each secret in `text` with {@linkcode SECRET_MASK}.
 *
 * Longer secrets are replaced first, so a secret that contains another is masked whole.
 *
 * @param text Output or a log line.
 * @param secrets The `secrets` of a loaded config.
 * @returns The masked text.
 * @example
 * ```ts
 * import { maskSecrets } from "./secrets.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(maskSecrets("POST https://hooks/T0/abc", ["abc"]), "POST https://hooks/T0/***");
 * ```
 */
export function maskSecrets(text: string, secrets: readonly string[]): string {
  const sorted = secrets.filter((s) => s !== "").sort((a, b) => b.length - a.length);
  return sorted.reduce((out, secret) => out.replaceAll(secret, SECRET_MASK), text);
}
