/**
 * Markdown rendering of an Issue for chat services (Discord, Mattermost), and the fitting
 * that keeps it within a character limit.
 *
 * An Issue becomes a list of {@linkcode TextChunk}s (facts, description, links, one heading
 * per enrichment, one chunk per block). {@linkcode fitChunks} joins them until the limit and
 * cuts the first chunk that does not fit at a line boundary, closing its code fence, then
 * ends with a note such as `… 1,234 more characters and 5 more blocks cut`. The fitter only
 * sees lines and a measure, so Telegram reuses it for HTML with a visible-length measure.
 *
 * Text from alert data is escaped ({@linkcode escapeMarkdown}) and mass mentions
 * (`@everyone`, `@here`, `@channel`, `@all`) are broken with a zero-width space; text of
 * markdown blocks is kept as written. Code blocks cannot be broken out of: backtick runs
 * inside them are split.
 *
 * @module
 */
import type { Block, Issue } from "@cano/sdk";
import { cleanText, jsonLineDiff, renderBlockText, subjectText } from "./_text.ts";

/** A unit of rendered text: lines, optionally wrapped in an opening and closing line. */
export interface TextChunk {
  /** Opening line (a code fence, `<pre>`), always kept with the chunk. */
  open?: string;
  /** Content lines; a cut keeps whole lines from the start. */
  lines: string[];
  /** Closing line, written even when the chunk is cut. */
  close?: string;
  /** Lines that must all stay for a cut chunk to be kept (e.g. a table header). @default 1 */
  keep?: number;
  /** Lines may open Markdown code fences; a cut closes the one left open. @default false */
  fenced?: boolean;
}

/** How a service's Markdown differs. */
export interface MarkdownOptions {
  /** `pipe` for Markdown tables, `code` for aligned text in a code block. @default "pipe" */
  tables?: "pipe" | "code";
  /** Line used for a divider block. @default "---" */
  divider?: string;
  /** Start with the status/severity/title line. @default true */
  headline?: boolean;
  /** Include subject, source, start/end and fingerprint lines. @default true */
  facts?: boolean;
}

/** Options of {@linkcode fitChunks}. */
export interface FitOptions {
  /** Cost of a text in the service's unit. @default UTF-16 length */
  measure?: (text: string) => number;
  /** Cuts one line to at most `max` cost, or returns undefined to drop it. @default cutText */
  cutLine?: (line: string, max: number) => string | undefined;
  /** Wraps the cut note (plain text) in the service's markup. @default `_${text}_` */
  note?: (text: string) => string;
  /** Between chunks. @default "\n\n" */
  joiner?: string;
}

const ZWSP = "\u200b";
const MASS_MENTION = /@(everyone|here|channel|all)\b/gi;

/**
 * The status line: `🔥 [FIRING] HIGH Pod OOMKilled`, plain text.
 *
 * @param issue The issue.
 * @returns The line, control characters replaced.
 * @example
 * ```ts
 * import { issueHeadline } from "./_markdown.ts";
 * import assert from "node:assert/strict";
 *
 * const line = issueHeadline({ status: "resolved", severity: "LOW", title: " ", aggregationKey: "Oom" });
 * assert.equal(line, "✅ [RESOLVED] LOW Oom");
 * ```
 */
export function issueHeadline(
  issue: Pick<Issue, "status" | "severity" | "title" | "aggregationKey">,
): string {
  const title = cleanText(issue.title).replace(/\s+/g, " ").trim() || issue.aggregationKey;
  const icon = issue.status === "firing" ? "🔥" : "✅";
  return `${icon} [${issue.status.toUpperCase()}] ${issue.severity} ${title}`;
}

/**
 * Escapes Markdown syntax in text from alert data and breaks mass mentions.
 *
 * @param text Plain text.
 * @returns Text that renders as written.
 * @example
 * ```ts
 * import { escapeMarkdown } from "./_markdown.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(escapeMarkdown("*a* [b] @here"), "\\*a\\* \\[b\\] @\u200bhere");
 * ```
 */
export function escapeMarkdown(text: string): string {
  return breakMentions(
    cleanText(text).replace(/[\\`*_~|<>\[\]]/g, "\\$&").replace(/^(\s*)([#+-])/gm, "$1\\$2"),
  );
}

/**
 * The chunks of an Issue: headline, facts, description, links, then each enrichment.
 *
 * @param issue The issue.
 * @param options Flavour of the target service.
 * @returns The chunks, in order.
 * @example
 * ```ts
 * import { issueMarkdownChunks } from "./_markdown.ts";
 * import { IssueSchema, table } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * const issue = IssueSchema.parse({
 *   id: "1", fingerprint: "f1", aggregationKey: "Oom", type: "alert", source: "prometheus",
 *   title: "Pod OOMKilled", severity: "HIGH", status: "firing",
 *   startsAt: "2026-03-01T10:00:00Z", createdAt: "2026-03-01T10:00:01Z",
 *   enrichments: [{ workflow: "oom", blocks: [table(["pod", "limit"], [["api", "512Mi"]])] }],
 * });
 * const text = issueMarkdownChunks(issue).map((c) => c.lines.join("\n")).join("\n\n");
 * assert.match(text, /^🔥 \*\*\[FIRING\] HIGH\*\* Pod OOMKilled/);
 * assert.match(text, /\| pod \| limit \|\n\| --- \| --- \|\n\| api \| 512Mi \|/);
 * ```
 */
export function issueMarkdownChunks(issue: Issue, options: MarkdownOptions = {}): TextChunk[] {
  const { headline = true, facts = true } = options;
  const chunks: TextChunk[] = [];
  if (headline) {
    const [icon, status, severity, ...title] = issueHeadline(issue).split(" ");
    chunks.push({
      lines: [`${icon} **${status} ${severity}** ${escapeMarkdown(title.join(" "))}`],
    });
  }
  const lines: string[] = [];
  const fact = (name: string, value: string) => lines.push(`**${name}:** ${value}`);
  if (facts) {
    if (issue.subject) fact("Subject", escapeMarkdown(subjectText(issue.subject)));
    const origin = [issue.source, issue.type, issue.cluster && `cluster ${issue.cluster}`];
    fact("Source", escapeMarkdown(origin.filter(Boolean).join(", ")));
    fact(issue.endsAt ? "Ended" : "Started", escapeMarkdown(issue.endsAt ?? issue.startsAt));
    fact("Fingerprint", inlineCode(issue.fingerprint));
  }
  const labels = Object.keys(issue.labels).sort().map((k) => inlineCode(`${k}=${issue.labels[k]}`));
  if (labels.length > 0) fact("Labels", labels.join(" "));
  if (lines.length > 0) chunks.push({ lines });
  if (issue.description?.trim()) {
    chunks.push({ lines: escapeMarkdown(issue.description.trim()).split("\n") });
  }
  if (issue.links.length > 0) {
    chunks.push({ lines: [`**Links:** ${issue.links.map(markdownLink).join(" · ")}`] });
  }
  for (const enrichment of issue.enrichments) {
    const title = enrichment.title
      ? `${escapeMarkdown(enrichment.title)} (${escapeMarkdown(enrichment.workflow)})`
      : escapeMarkdown(enrichment.workflow);
    chunks.push({ lines: [`### ${title.replace(/\s+/g, " ")}`] });
    for (const block of enrichment.blocks) chunks.push(...blockMarkdown(block, options));
  }
  return chunks;
}

/**
 * One block as Markdown chunks.
 *
 * @param block The block.
 * @param options Flavour of the target service.
 * @returns One chunk, or two when a title or mention precedes a code block.
 * @example A file becomes a mention and a short preview
 * ```ts
 * import { blockMarkdown } from "./_markdown.ts";
 * import { file } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * const [mention, preview] = blockMarkdown(file("app.log", "a\nb"));
 * assert.equal(mention?.lines[0], "📎 File app.log (text/plain, 3 B, 2 lines):");
 * const fence = "`".repeat(3);
 * assert.deepEqual(preview, { open: fence, lines: ["a", "b"], close: fence });
 * ```
 */
export function blockMarkdown(block: Block, options: MarkdownOptions = {}): TextChunk[] {
  const { tables = "pipe", divider = "---" } = options;
  switch (block.type) {
    case "markdown":
      return [{ lines: breakMentions(cleanText(block.text)).split("\n"), fenced: true }];
    case "header":
      return [{ lines: [`**${escapeMarkdown(block.text).replace(/\s+/g, " ")}**`] }];
    case "divider":
      return [{ lines: [divider] }];
    case "list":
      return [{
        lines: block.items.map((item, i) =>
          `${block.ordered ? `${i + 1}.` : "-"} ${
            breakMentions(cleanText(item)).replace(/\n/g, " ")
          }`
        ),
      }];
    case "links":
      return [{ lines: block.links.map((l) => `- ${markdownLink(l)}`) }];
    case "json":
      return [code(JSON.stringify(block.value, null, 2) ?? "null", "json")];
    case "diff":
      return [code(jsonLineDiff(block.before, block.after).join("\n"), "diff")];
    case "image":
      return [{ lines: [`🖼️ ${escapeMarkdown(renderBlockText(block)[0]!)} (not attached)`] }];
    case "file": {
      const [head = "", ...rest] = renderBlockText(block);
      const more = rest.at(-1)?.startsWith("  … ") ? rest.pop()!.trim() : undefined;
      const chunks: TextChunk[] = [{ lines: [`📎 ${escapeMarkdown(head)}`] }];
      if (rest.length > 0) chunks.push(code(rest.map((l) => l.slice(2)).join("\n")));
      if (more) chunks.push({ lines: [`_${more}_`] });
      return chunks;
    }
    case "table": {
      const title = block.title ? [`**${escapeMarkdown(block.title)}**`] : [];
      if (tables === "code") {
        const text = renderBlockText(block).slice(block.title ? 1 : 0);
        const table = { ...code(text.join("\n")), keep: 2 };
        return title.length ? [{ lines: title }, table] : [table];
      }
      const row = (cells: string[]) =>
        `| ${cells.map((c) => escapeMarkdown(c).replace(/\s*\n\s*/g, " ") || " ").join(" | ")} |`;
      return [{
        lines: [
          ...title,
          ...(title.length ? [""] : []),
          row(block.headers),
          `| ${block.headers.map(() => "---").join(" | ")} |`,
          ...block.rows.map(row),
        ],
        keep: title.length + (title.length ? 1 : 0) + 3,
      }];
    }
  }
}

/**
 * Joins chunks within `max`, cutting the first chunk that does not fit at a line boundary
 * (closing its fence) and ending with a note that says what was cut.
 *
 * @param chunks The chunks, in order.
 * @param max Largest cost of the result, at least 80.
 * @param options How to measure, cut lines and write the note.
 * @returns The text, at most `max` long by `measure`.
 * @throws {RangeError} When `max` is below 80.
 * @example
 * ```ts
 * import { fitChunks } from "./_markdown.ts";
 * import assert from "node:assert/strict";
 *
 * const fence = "`".repeat(3);
 * const log = { open: fence, lines: Array.from({ length: 50 }, (_, i) => `line ${i}`), close: fence };
 * const text = fitChunks([{ lines: ["**Logs**"] }, log, { lines: ["after"] }], 120);
 * assert.ok(text.length <= 120);
 * assert.match(text, /line \d+\n`{3}\n\n_… \d+ more characters and 1 more block cut_$/);
 * ```
 */
export function fitChunks(chunks: TextChunk[], max: number, options: FitOptions = {}): string {
  if (max < 80) throw new RangeError(`Cannot fit text in ${max} characters: expected at least 80`);
  const {
    measure = (t: string) => t.length,
    cutLine = cutText,
    note = (t: string) => `_${t}_`,
    joiner = "\n\n",
  } = options;
  const render = (c: TextChunk) =>
    [...(c.open === undefined ? [] : [c.open]), ...c.lines, ...(c.close ? [c.close] : [])]
      .join("\n");
  const whole = chunks.map(render);
  const all = whole.join(joiner);
  if (measure(all) <= max) return all;
  const noteText = (chars: number, blocks: number) =>
    note(
      `… ${
        [
          chars > 0 ? `${chars.toLocaleString("en-US")} more characters` : "",
          blocks > 0 ? `${blocks} more block${blocks === 1 ? "" : "s"}` : "",
        ].filter(Boolean).join(" and ")
      } cut`,
    );
  const joinCost = measure(joiner);
  const budget = max - measure(noteText(measure(all), chunks.length)) - joinCost;
  const out: string[] = [];
  let used = 0;
  let i = 0;
  for (; i < chunks.length; i++) {
    const cost = measure(whole[i]!) + (out.length > 0 ? joinCost : 0);
    if (used + cost > budget) break;
    out.push(whole[i]!);
    used += cost;
  }
  let cutChars = 0;
  let dropped = chunks.length - i;
  const chunk = chunks[i];
  if (chunk) {
    const frame = (chunk.open === undefined ? 0 : measure(chunk.open) + 1) +
      (chunk.close ? measure(chunk.close) + 1 : 0);
    let room = budget - used - (out.length > 0 ? joinCost : 0) - frame - (chunk.fenced ? 4 : 0);
    const kept: string[] = [];
    let ellipsis = 0;
    for (const line of chunk.lines) {
      const cost = measure(line) + (kept.length > 0 ? 1 : 0);
      if (cost <= room) {
        kept.push(line);
        room -= cost;
        continue;
      }
      const part = room > 20 ? cutLine(line, room - (kept.length > 0 ? 1 : 0)) : undefined;
      if (part) {
        kept.push(part);
        ellipsis = 1;
      }
      break;
    }
    if (kept.length >= Math.min(chunk.keep ?? 1, chunk.lines.length) && kept.length > 0) {
      const open = kept.filter((l) => /^\s*(`{3,}|~{3,})/.test(l)).length % 2 === 1;
      const partial = render({ ...chunk, lines: chunk.fenced && open ? [...kept, "```"] : kept });
      out.push(partial);
      // Characters of the original chunk not shown; the added "…" hid one more.
      cutChars = measure(whole[i]!) - measure(render({ ...chunk, lines: kept })) + ellipsis;
      dropped--;
    }
  }
  out.push(noteText(cutChars, dropped));
  return out.join(joiner);
}

/**
 * Cuts text to `max` UTF-16 code units ending with `…`, never inside a surrogate pair.
 *
 * @param text The text.
 * @param max Largest length of the result, at least 1.
 * @returns The text, whole or cut.
 * @example
 * ```ts
 * import { cutText } from "./_markdown.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(cutText("hello", 3), "he…");
 * assert.equal(cutText("a😀b", 3), "a…");
 * ```
 */
export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  let head = text.slice(0, Math.max(0, max - 1));
  if (/[\uD800-\uDBFF]$/.test(head)) head = head.slice(0, -1);
  return `${head}…`;
}

/** A fenced code chunk whose content cannot close the fence. */
function code(text: string, language = ""): TextChunk {
  const lines = cleanText(text).split("\n").map((l) => l.replace(/`(?=`)/g, `\`${ZWSP}`));
  return { open: `\`\`\`${language}`, lines, close: "```" };
}

function inlineCode(text: string): string {
  return `\`${cleanText(text).replace(/[`\n]/g, " ")}\``;
}

function markdownLink(link: { title: string; url: string }): string {
  const url = link.url.replace(
    /[()\s<>]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`,
  );
  return `[${escapeMarkdown(link.title).replace(/\s+/g, " ")}](${url})`;
}

function breakMentions(text: string): string {
  return text.replace(MASS_MENTION, `@${ZWSP}$1`);
}
