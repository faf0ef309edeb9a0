/**
 * `renderTemplate`: fills `{{ path }}` placeholders from an issue.
 *
 * Hand-written rather than a template library because the SDK is bundled into every
 * sandbox child: it must stay dependency-free and small, and a logic-less substitution is
 * all a notification line needs. Paths are dotted (`labels.namespace`) or bracketed for keys
 * with dots (`labels["app.kubernetes.io/name"]`); `{{ path ?? "fallback" }}` gives a
 * default. A missing value renders as the fallback or an empty string.
 *
 * @example
 * ```ts
 * import { renderTemplate } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * const issue = { title: "Pod crash looping", labels: { namespace: "shop", "app.kubernetes.io/name": "api" } };
 * assert.equal(
 *   renderTemplate('{{ title }} in {{ labels.namespace }} ({{ labels["app.kubernetes.io/name"] }}, team {{ labels.team ?? "none" }})', issue),
 *   "Pod crash looping in shop (api, team none)",
 * );
 * ```
 *
 * @module
 */

const PLACEHOLDER = /\{\{\s*([^}]*?)\s*\}\}/g;
const SEGMENT = /^(?:\.?([A-Za-z_$][\w$-]*)|\[\s*"([^"]*)"\s*\]|\[\s*(\d+)\s*\])/;

/**
 * Renders a template against a value (usually the issue).
 *
 * @param template Text with `{{ path }}` placeholders.
 * @param data The value paths are read from.
 * @returns The rendered text.
 * @throws {SyntaxError} When a placeholder's path does not parse.
 */
export function renderTemplate(template: string, data: unknown): string {
  return template.replace(PLACEHOLDER, (_, expression: string) => {
    const [path = "", fallback] = splitFallback(expression);
    const value = readPath(data, path.trim());
    if (value === undefined || value === null || value === "") return fallback ?? "";
    return typeof value === "object" ? JSON.stringify(value) : String(value);
  });
}

function splitFallback(expression: string): [string, string | undefined] {
  const at = expression.indexOf("??");
  if (at < 0) return [expression, undefined];
  const raw = expression.slice(at + 2).trim();
  const quoted = /^"(.*)"$/.exec(raw);
  return [expression.slice(0, at), quoted ? quoted[1] : raw];
}

function readPath(data: unknown, path: string): unknown {
  let rest = path;
  let current = data;
  while (rest.length > 0) {
    const match = SEGMENT.exec(rest);
    if (!match) throw new SyntaxError(`Cannot render template: path "${path}" does not parse`);
    const key = match[1] ?? match[2] ?? match[3] ?? "";
    if (current === null || typeof current !== "object" || !Object.hasOwn(current, key)) {
      return undefined;
    }
    current = (current as Record<string, unknown>)[key];
    rest = rest.slice(match[0].length);
  }
  return current;
}
