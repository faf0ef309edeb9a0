/**
 * Atlassian Document Format (ADF) for Jira Cloud REST v3: Issue blocks to ADF nodes, and a
 * document builder that keeps the JSON within Jira's 32,767-character field limit.
 *
 * Node types used: paragraph, heading, bulletList, orderedList, listItem, codeBlock, table,
 * tableRow, tableHeader, tableCell, rule, text and hardBreak; marks: strong, code and link.
 * Text nodes are never empty (Jira rejects them), so empty strings become empty paragraphs.
 *
 * @module
 */
import type { Block, Issue } from "@cano/sdk";
import { cutChars as cut, renderBlockText } from "./_text.ts";

/** Characters of a Jira rich-text field (description, comment body) as JSON. */
export const JIRA_MAX_FIELD = 32_767;
/** Characters kept from one log, JSON or diff code block (the end of a log). */
export const JIRA_MAX_CODE = 6000;
/** Characters kept from one paragraph of a markdown block. */
export const JIRA_MAX_PARAGRAPH = 3000;
/** Rows kept from one table. */
export const JIRA_MAX_ROWS = 50;
/** Items kept from one list. */
export const JIRA_MAX_ITEMS = 50;
/** Characters kept from one table cell or list item. */
export const JIRA_MAX_CELL = 500;

/** An ADF mark. */
export type AdfMark =
  | { type: "strong" | "em" | "code" }
  | { type: "link"; attrs: { href: string } };

/** An ADF node; `content` holds children, `text` only on text nodes. */
export interface AdfNode {
  /** Node type, e.g. "paragraph". */
  type: string;
  /** Node attributes (heading level, code language, link href...). */
  attrs?: Record<string, string | number>;
  /** Child nodes. */
  content?: AdfNode[];
  /** Text of a text node; never empty. */
  text?: string;
  /** Marks of a text node. */
  marks?: AdfMark[];
}

/** A complete ADF document. */
export interface AdfDoc {
  /** Always "doc". */
  type: "doc";
  /** Always 1. */
  version: 1;
  /** Top-level block nodes. */
  content: AdfNode[];
}

/**
 * A text node, or none for an empty string.
 *
 * @param value The text; control characters are replaced.
 * @param marks Marks to apply.
 * @returns Zero or one text node.
 * @example
 * ```ts
 * import { text } from "./_jira_adf.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(text(""), []);
 * assert.deepEqual(text("a", [{ type: "strong" }]), [{ type: "text", text: "a", marks: [{ type: "strong" }] }]);
 * ```
 */
export function text(value: string, marks: AdfMark[] = []): AdfNode[] {
  const clean = cleanText(value);
  if (clean === "") return [];
  return [marks.length > 0 ? { type: "text", text: clean, marks } : { type: "text", text: clean }];
}

/** A paragraph of inline nodes (may be empty). */
export function paragraph(...inline: AdfNode[][]): AdfNode {
  return { type: "paragraph", content: inline.flat() };
}

/** A paragraph whose lines are joined by hard breaks. */
export function lines(value: string): AdfNode {
  const parts = value.split("\n").map((line) => text(line));
  return paragraph(...parts.flatMap((p, i) => i === 0 ? [p] : [[{ type: "hardBreak" }], p]));
}

/** A heading of level 1 to 6. */
export function heading(level: number, value: string): AdfNode {
  return { type: "heading", attrs: { level }, content: text(cut(oneLine(value), 250)) };
}

/** A bullet or ordered list of paragraphs. */
export function bulletList(items: AdfNode[][], ordered = false): AdfNode {
  return {
    type: ordered ? "orderedList" : "bulletList",
    content: items.map((inline) => ({ type: "listItem", content: [paragraph(inline)] })),
  };
}

/** A code block; long code keeps its end, where the latest log lines are. */
export function codeBlock(value: string, language?: string): AdfNode {
  let code = cleanText(value.replace(/\n$/, ""), true);
  if (code.length > JIRA_MAX_CODE) {
    const kept = code.slice(code.length - JIRA_MAX_CODE);
    code = `… ${code.length - kept.length} characters cut\n${kept}`;
  }
  return {
    type: "codeBlock",
    ...(language ? { attrs: { language } } : {}),
    ...(code === "" ? {} : { content: [{ type: "text", text: code }] }),
  };
}

/**
 * Renders one Issue block as ADF nodes.
 *
 * @param block The block.
 * @returns The nodes: headings, paragraphs, lists, code blocks, tables or a rule.
 * @example A table becomes a table node with a header row
 * ```ts
 * import { blockToAdf } from "./_jira_adf.ts";
 * import { table } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * const [node] = blockToAdf(table(["pod"], [["api"]]));
 * assert.equal(node?.type, "table");
 * assert.deepEqual(node?.content?.map((row) => row.content?.[0]?.type), ["tableHeader", "tableCell"]);
 * ```
 */
export function blockToAdf(block: Block): AdfNode[] {
  switch (block.type) {
    case "markdown":
      return block.text.split(/\n\s*\n/).filter((p) => p.trim())
        .map((p) => lines(cut(p.trim(), JIRA_MAX_PARAGRAPH)));
    case "header":
      return [heading(3, block.text)];
    case "divider":
      return [{ type: "rule" }];
    case "list": {
      const shown = block.items.slice(0, JIRA_MAX_ITEMS);
      const more = block.items.length - shown.length;
      return [
        bulletList(shown.map((item) => text(cut(oneLine(item), JIRA_MAX_CELL))), block.ordered),
        ...(more > 0 ? [paragraph(text(`… ${more} more items`, [{ type: "em" }]))] : []),
      ];
    }
    case "table":
      return tableToAdf(block.title, block.headers, block.rows);
    case "json":
      return [codeBlock(JSON.stringify(block.value, null, 2) ?? "undefined", "json")];
    case "file": {
      if (block.encoding !== "utf8") return [paragraph(text(renderBlockText(block)[0] ?? ""))];
      return [
        paragraph(text(`${block.name} (${block.contentType})`, [{ type: "strong" }])),
        codeBlock(block.data),
      ];
    }
    case "image":
      return [paragraph(text(renderBlockText(block).join(" ")))];
    case "diff":
      return [codeBlock(renderBlockText(block).join("\n"), "diff")];
    case "links": {
      const more = block.links.length - JIRA_MAX_ITEMS;
      return [
        bulletList(block.links.slice(0, JIRA_MAX_ITEMS).map((l) => linkText(l.title, l.url))),
        ...(more > 0 ? [paragraph(text(`… ${more} more links`, [{ type: "em" }]))] : []),
      ];
    }
  }
}

function tableToAdf(title: string | undefined, headers: string[], rows: string[][]): AdfNode[] {
  const row = (cells: string[], type: "tableHeader" | "tableCell"): AdfNode => ({
    type: "tableRow",
    content: cells.map((c) => ({
      type,
      content: [paragraph(text(cut(oneLine(c), JIRA_MAX_CELL)))],
    })),
  });
  const shown = rows.slice(0, JIRA_MAX_ROWS);
  const more = rows.length - shown.length;
  return [
    ...(title ? [paragraph(text(title, [{ type: "strong" }]))] : []),
    {
      type: "table",
      content: [row(headers, "tableHeader"), ...shown.map((r) => row(r, "tableCell"))],
    },
    ...(more > 0 ? [paragraph(text(`… ${more} more rows`, [{ type: "em" }]))] : []),
  ];
}

/** Link text: the title with a link mark. */
export function linkText(title: string, href: string): AdfNode[] {
  return text(cut(oneLine(title), JIRA_MAX_CELL) || href, [{ type: "link", attrs: { href } }]);
}

/**
 * ADF nodes of every enrichment: a level-2 heading per workflow, then its blocks.
 *
 * @param issue The issue.
 * @returns The nodes, in order.
 */
export function enrichmentsToAdf(issue: Issue): AdfNode[] {
  return issue.enrichments.flatMap((e) => [
    heading(2, e.title ? `${e.title} (${e.workflow})` : e.workflow),
    ...e.blocks.flatMap(blockToAdf),
  ]);
}

/**
 * A document of `head` (always kept) then, in order, each node of `rest` that still fits in
 * {@linkcode JIRA_MAX_FIELD} characters of JSON; a note counts the nodes left out.
 *
 * @param head Nodes that always go in.
 * @param rest Nodes added in order while they fit.
 * @returns The document.
 * @example
 * ```ts
 * import { fitDoc, lines, JIRA_MAX_FIELD } from "./_jira_adf.ts";
 * import assert from "node:assert/strict";
 *
 * const doc = fitDoc([lines("head")], Array.from({ length: 100 }, () => lines("x".repeat(1000))));
 * assert.ok(JSON.stringify(doc).length <= JIRA_MAX_FIELD);
 * assert.match(JSON.stringify(doc.content.at(-1)), /blocks not shown/);
 * ```
 */
export function fitDoc(head: AdfNode[], rest: AdfNode[]): AdfDoc {
  const doc: AdfDoc = { type: "doc", version: 1, content: [...head] };
  const reserve = 200;
  let size = JSON.stringify(doc).length;
  let left = 0;
  for (const node of rest) {
    const add = JSON.stringify(node).length + 1;
    if (size + add + reserve > JIRA_MAX_FIELD) {
      left++;
      continue;
    }
    doc.content.push(node);
    size += add;
  }
  if (left > 0) {
    doc.content.push(
      paragraph(text(`… ${left} blocks not shown: Jira field limit`, [{ type: "em" }])),
    );
  }
  return doc;
}

/**
 * The facts every description starts with: status, severity, subject, cluster, source,
 * start and fingerprint as a list, then the Issue description.
 *
 * @param issue The issue.
 * @returns The nodes.
 */
export function summaryToAdf(issue: Issue): AdfNode[] {
  const subject = issue.subject;
  const facts: [string, string | undefined][] = [
    ["Status", issue.status],
    ["Severity", issue.severity],
    [
      "Subject",
      subject &&
      `${subject.kind} ${subject.namespace ? `${subject.namespace}/` : ""}${subject.name}${
        subject.container ? ` (container ${subject.container})` : ""
      }`,
    ],
    ["Cluster", issue.cluster],
    ["Source", `${issue.source} ${issue.type}`],
    ["Started", issue.startsAt],
    ["Fingerprint", issue.fingerprint],
  ];
  return [
    bulletList(
      facts.filter((f): f is [string, string] => !!f[1]).map(([name, value]) => [
        ...text(`${name}: `, [{ type: "strong" }]),
        ...text(cut(oneLine(value), 500)),
      ]),
    ),
    ...(issue.description?.trim() ? [lines(cut(issue.description.trim(), 5000))] : []),
  ];
}

/**
 * The Issue's links and labels (at most {@linkcode JIRA_MAX_ITEMS} each), under headings.
 *
 * @param issue The issue.
 * @returns The nodes.
 */
export function detailsToAdf(issue: Issue): AdfNode[] {
  const labels = Object.keys(issue.labels).sort();
  return [
    ...(issue.links.length > 0
      ? [heading(2, "Links"), ...blockToAdf({ type: "links", links: issue.links })]
      : []),
    ...(labels.length > 0
      ? [
        heading(2, "Labels"),
        bulletList(
          labels.slice(0, JIRA_MAX_ITEMS)
            .map((k) => text(cut(`${k}=${issue.labels[k]}`, 500), [{ type: "code" }])),
        ),
        ...(labels.length > JIRA_MAX_ITEMS
          ? [paragraph(text(`… ${labels.length - JIRA_MAX_ITEMS} more labels`, [{ type: "em" }]))]
          : []),
      ]
      : []),
  ];
}

/** Collapses whitespace to single spaces. */
export function oneLine(value: string): string {
  return value.replace(/\s+/g, " ").trim();
}

function cleanText(value: string, keepNewlines = false): string {
  const pattern = keepNewlines
    // deno-lint-ignore no-control-regex -- matching control characters is the point.
    ? /[\x00-\x08\x0b-\x1f\x7f]/g
    // deno-lint-ignore no-control-regex -- matching control characters is the point.
    : /[\x00-\x08\x0a-\x1f\x7f]/g;
  return value.replace(/\r\n/g, "\n").replace(pattern, keepNewlines ? "\uFFFD" : " ");
}
