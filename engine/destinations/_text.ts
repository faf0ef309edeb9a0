/**
 * Plain-text rendering of an Issue and its blocks, for terminals and logs.
 *
 * Output is stable (labels sorted, no clock, no colours unless asked) so tests and
 * dry-run can compare it. Control characters from alert data are replaced, so a label
 * cannot inject terminal escape sequences. The JSON line diff is a small LCS over at most
 * {@linkcode DIFF_MAX_CELLS} line pairs, not a dependency: inputs are bounded and only a
 * display is needed.
 *
 * @module
 */
import type { Block, Issue } from "@cano/sdk";

/** Options of {@linkcode renderIssueText}. */
export interface TextOptions {
  /** Use ANSI colours. @default false */
  color?: boolean;
}

/** Lines of a file block shown before the rest is summarised. */
export const FILE_PREVIEW_LINES = 10;
/** Characters of one preview line shown before it is cut. */
export const PREVIEW_LINE_CHARS = 200;
/** Lines of unchanged context around each change in a diff. */
export const DIFF_CONTEXT_LINES = 3;
/** Largest before×after line product diffed line by line; above it, whole blocks swap. */
export const DIFF_MAX_CELLS = 250_000;

const ANSI = { reset: 0, bold: 1, dim: 2, red: 31, green: 32, yellow: 33, blue: 34, cyan: 36 };
type Style = keyof typeof ANSI;
type Paint = (text: string, style: Style) => string;

const SEVERITY_STYLE: Record<Issue["severity"], Style> = {
  HIGH: "red",
  MEDIUM: "yellow",
  LOW: "blue",
  INFO: "cyan",
  DEBUG: "dim",
};

/**
 * Renders an Issue as readable multi-line text: status, severity, title, subject, labels,
 * links, then every enrichment's blocks.
 *
 * @param issue The issue.
 * @param options `color: true` adds ANSI colours.
 * @returns The text, without a trailing newline.
 * @example
 * ```ts
 * import { renderIssueText } from "./_text.ts";
 * import { IssueSchema, table } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * const issue = IssueSchema.parse({
 *   id: "1", fingerprint: "f1", aggregationKey: "Oom", type: "alert", source: "prometheus",
 *   title: "Pod OOMKilled", severity: "HIGH", status: "firing",
 *   startsAt: "2026-03-01T10:00:00Z", createdAt: "2026-03-01T10:00:01Z",
 *   enrichments: [{ workflow: "oom-context", blocks: [table(["container", "limit"], [["api", "512Mi"]])] }],
 * });
 * const text = renderIssueText(issue);
 * assert.match(text, /^\[FIRING\] HIGH Pod OOMKilled/);
 * assert.match(text, /api        512Mi/);
 * ```
 */
export function renderIssueText(issue: Issue, { color = false }: TextOptions = {}): string {
  const paint: Paint = color ? (text, style) => `\x1b[${ANSI[style]}m${text}\x1b[0m` : (t) => t;
  const lines: string[] = [];
  const status = `[${issue.status.toUpperCase()}]`;
  lines.push(
    [
      paint(status, issue.status === "firing" ? "red" : "green"),
      paint(issue.severity, SEVERITY_STYLE[issue.severity]),
      paint(cleanText(issue.title), "bold"),
    ].join(" "),
  );
  const field = (name: string, value: string) => lines.push(`${`${name}:`.padEnd(13)}${value}`);
  if (issue.subject) field("Subject", subjectText(issue.subject));
  const origin = [issue.source, issue.type, issue.cluster && `cluster ${issue.cluster}`];
  field("Source", cleanText(origin.filter(Boolean).join(", ")));
  field("Started", cleanText(issue.startsAt));
  if (issue.endsAt) field("Ended", cleanText(issue.endsAt));
  field("Fingerprint", cleanText(issue.fingerprint));
  const labels = Object.keys(issue.labels).sort().map((k) => `${k}=${issue.labels[k]}`);
  if (labels.length > 0) field("Labels", cleanText(labels.join(", ")));
  if (issue.description) lines.push("", ...cleanText(issue.description).split("\n"));
  if (issue.links.length > 0) {
    lines.push(
      "",
      "Links:",
      ...issue.links.map((l) => `  - ${cleanText(l.title)}: ${cleanText(l.url)}`),
    );
  }
  for (const enrichment of issue.enrichments) {
    const heading = enrichment.title
      ? `${cleanText(enrichment.title)} (${cleanText(enrichment.workflow)})`
      : cleanText(enrichment.workflow);
    lines.push("", paint(`## ${heading}`, "bold"));
    enrichment.blocks.forEach((block, i) => {
      if (i > 0) lines.push("");
      lines.push(...renderBlockText(block, { color }));
    });
  }
  return lines.join("\n");
}

/**
 * Renders one block as lines of plain text.
 *
 * @param block The block.
 * @param options `color: true` adds ANSI colours.
 * @returns The lines.
 * @example
 * ```ts
 * import { renderBlockText } from "./_text.ts";
 * import { diff } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(renderBlockText(diff({ replicas: 2 }, { replicas: 3 })), [
 *   "  {", '-   "replicas": 2', '+   "replicas": 3', "  }",
 * ]);
 * ```
 */
export function renderBlockText(block: Block, { color = false }: TextOptions = {}): string[] {
  const paint: Paint = color ? (text, style) => `\x1b[${ANSI[style]}m${text}\x1b[0m` : (t) => t;
  switch (block.type) {
    case "markdown":
      return cleanText(block.text).split("\n");
    case "header":
      return [paint(`### ${cleanText(block.text)}`, "bold")];
    case "divider":
      return ["---"];
    case "list":
      return block.items.map((item, i) =>
        `${block.ordered ? `${i + 1}.` : "-"} ${cleanText(item).replaceAll("\n", " ")}`
      );
    case "table":
      return tableText(block.title, block.headers, block.rows);
    case "json":
      return cleanText(JSON.stringify(block.value, null, 2) ?? "undefined").split("\n");
    case "file":
      return fileText(block);
    case "image":
      return [
        cleanText(`Image ${block.name} (${formatBytes(base64Length(block.png))}): ${block.alt}`),
      ];
    case "diff":
      return jsonLineDiff(block.before, block.after).map((line) =>
        line.startsWith("-")
          ? paint(line, "red")
          : line.startsWith("+")
          ? paint(line, "green")
          : line
      );
    case "links":
      return block.links.map((l) => `- ${cleanText(l.title)}: ${cleanText(l.url)}`);
  }
}

/**
 * A line diff of two values as pretty JSON with sorted keys: `- ` removed, `+ ` added,
 * two spaces unchanged; unchanged runs longer than the context collapse to `  …`.
 *
 * @param before The old value.
 * @param after The new value.
 * @returns The diff lines, or `["  (no changes)"]`.
 * @example A changed field
 * ```ts
 * import { jsonLineDiff } from "./_text.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(jsonLineDiff({ image: "api:1" }, { image: "api:2" }), [
 *   "  {", '-   "image": "api:1"', '+   "image": "api:2"', "  }",
 * ]);
 * ```
 */
export function jsonLineDiff(before: unknown, after: unknown): string[] {
  const a = cleanText(stableJson(before)).split("\n");
  const b = cleanText(stableJson(after)).split("\n");
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  if (start === endA && start === endB) return ["  (no changes)"];
  const ops: [" " | "-" | "+", string][] = [
    ...a.slice(0, start).map((l): [" ", string] => [" ", l]),
    ...middleDiff(a.slice(start, endA), b.slice(start, endB)),
    ...a.slice(endA).map((l): [" ", string] => [" ", l]),
  ];
  const near = ops.map((_, i) =>
    ops.slice(Math.max(0, i - DIFF_CONTEXT_LINES), i + DIFF_CONTEXT_LINES + 1)
      .some(([op]) => op !== " ")
  );
  const out: string[] = [];
  ops.forEach(([op, line], i) => {
    if (near[i]) out.push(`${op} ${line}`);
    else if (i === 0 || near[i - 1]) out.push("  …");
  });
  return out;
}

function middleDiff(a: string[], b: string[]): [" " | "-" | "+", string][] {
  const removed = a.map((l): ["-", string] => ["-", l]);
  const added = b.map((l): ["+", string] => ["+", l]);
  if (a.length * b.length > DIFF_MAX_CELLS || a.length === 0 || b.length === 0) {
    return [...removed, ...added];
  }
  // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
  const lcs = Array.from({ length: a.length + 1 }, () => new Uint32Array(b.length + 1));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j]
        ? lcs[i + 1]![j + 1]! + 1
        : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const ops: [" " | "-" | "+", string][] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      ops.push([" ", a[i++]!]);
      j++;
    } else if (j >= b.length || (i < a.length && lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      ops.push(["-", a[i++]!]);
    } else {
      ops.push(["+", b[j++]!]);
    }
  }
  return ops;
}

function tableText(title: string | undefined, headers: string[], rows: string[][]): string[] {
  const cells = [headers, ...rows].map((row) =>
    row.map((c) => cleanText(c).replace(/\s*\n\s*/g, " "))
  );
  const widths = headers.map((_, col) =>
    Math.max(...cells.map((row) => [...(row[col] ?? "")].length))
  );
  const line = (row: string[]) =>
    row.map((c, col) => col === row.length - 1 ? c : c + " ".repeat(widths[col]! - [...c].length))
      .join("  ").trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  return [
    ...(title ? [cleanText(title)] : []),
    line(cells[0]!),
    rule,
    ...cells.slice(1).map(line),
  ];
}

function fileText(block: Extract<Block, { type: "file" }>): string[] {
  const size = block.encoding === "utf8"
    ? new TextEncoder().encode(block.data).length
    : base64Length(block.data);
  const text = block.encoding === "utf8" ? block.data : decodeBase64Text(block.data);
  const textual = block.encoding === "utf8" ||
    (/^text\/|json|xml|yaml/.test(block.contentType) && text !== undefined && !text.includes("\0"));
  const head = `File ${cleanText(block.name)} (${cleanText(block.contentType)}, ${
    formatBytes(size)
  }`;
  if (!textual || text === undefined) return [`${head}, binary)`];
  const all = text.replace(/\n$/, "").split("\n");
  const shown = all.slice(0, FILE_PREVIEW_LINES).map((l) => {
    const chars = [...cleanText(l)];
    return `  ${
      chars.length > PREVIEW_LINE_CHARS
        ? chars.slice(0, PREVIEW_LINE_CHARS).join("") + "…"
        : chars.join("")
    }`;
  });
  const rest = all.length - shown.length;
  const plural = (n: number) => `${n} line${n === 1 ? "" : "s"}`;
  return [
    `${head}, ${plural(all.length)}):`,
    ...shown,
    ...(rest > 0 ? [`  … ${rest} more line${rest === 1 ? "" : "s"}`] : []),
  ];
}

/**
 * The subject as one line: kind, namespace/name, then container and node.
 *
 * @param subject The issue's subject.
 * @returns The line, control characters replaced.
 * @example
 * ```ts
 * import { subjectText } from "./_text.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(subjectText({ kind: "Pod", name: "api-1", namespace: "shop", container: "api" }),
 *   "Pod shop/api-1 (container api)");
 * ```
 */
export function subjectText(subject: NonNullable<Issue["subject"]>): string {
  const where = subject.namespace ? `${subject.namespace}/${subject.name}` : subject.name;
  const extra = [
    subject.container && `container ${subject.container}`,
    subject.node && `node ${subject.node}`,
  ].filter(Boolean);
  return cleanText(`${subject.kind} ${where}${extra.length ? ` (${extra.join(", ")})` : ""}`);
}

function stableJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v && typeof v === "object") {
      return Object.fromEntries(
        Object.keys(v).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return JSON.stringify(sort(value), null, 2) ?? "undefined";
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function base64Length(data: string): number {
  const trimmed = data.replace(/\s/g, "");
  const padding = trimmed.endsWith("==") ? 2 : trimmed.endsWith("=") ? 1 : 0;
  return Math.max(0, Math.floor(trimmed.length * 3 / 4) - padding);
}

function decodeBase64Text(data: string): string | undefined {
  try {
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (_error) {
    // Not base64 or not UTF-8: summarised as binary; it is the workflow's data, not a failure.
    return undefined;
  }
}

/**
 * Replaces control characters (except newline and tab) so data cannot drive the terminal.
 *
 * @param text Text from alert data.
 * @returns The text with CRLF as LF and other control characters as U+FFFD.
 * @example
 * ```ts
 * import { cleanText } from "./_text.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(cleanText("a\x1b[31mb\r\n"), "a\uFFFD[31mb\n");
 * ```
 */
export function cleanText(text: string): string {
  // deno-lint-ignore no-control-regex -- matching control characters is the point.
  return text.replace(/\r\n/g, "\n").replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, "\uFFFD");
}

/**
 * Cuts to `max` characters (code points, as services count them), ending with `…` when cut.
 *
 * @param value The text.
 * @param max Characters allowed, the ellipsis included.
 * @returns The text, or its head and `…`.
 * @example
 * ```ts
 * import { cutChars } from "./_text.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(cutChars("🔥 crash looping", 5), "🔥 cr…");
 * assert.equal(cutChars("short", 10), "short");
 * ```
 */
export function cutChars(value: string, max: number): string {
  const chars = [...value];
  return chars.length <= max ? value : `${chars.slice(0, max - 1).join("")}…`;
}
