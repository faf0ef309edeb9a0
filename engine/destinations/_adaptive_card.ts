/**
 * Adaptive Card 1.4 rendering for the Teams destination: an Issue's header, facts and
 * enrichment blocks as card elements, kept within Teams' 28 KB message limit.
 *
 * Elements used (all in schema 1.4): `TextBlock`, `FactSet`, `Image`, `ActionSet` and
 * `Action.OpenUrl`. `Table` is 1.5 and not used: two-column tables become a `FactSet`,
 * wider ones an aligned monospace `TextBlock`. Teams reads `TextBlock` text as markdown,
 * where a single newline is only a space, so preformatted lines are joined by `\n\n`,
 * their markdown characters escaped and their leading spaces made non-breaking.
 *
 * @module
 */
import type { Block, Issue } from "@cano/sdk";
import { renderBlockText } from "./_text.ts";
import { cutToFit, fitInOrder, jsonBytes, utf8Bytes } from "./_budget.ts";

/** Bytes of a posted message Teams accepts ("MessageSizeExceeded" above). */
export const TEAMS_MAX_BYTES = 28_672;
/**
 * Bytes Cano posts at most: the flow measures its own copy of the message, which can be
 * larger than the HTTP body (MicrosoftDocs/msteams-docs#11274), so 1 KiB stays free.
 */
export const TEAMS_BYTE_BUDGET = 27_648;
/** Bytes of the header, facts and description; above it their caps shrink fivefold. */
export const TEAMS_MAX_HEAD_BYTES = 12_000;
/** Rows of a table shown before the rest is counted. */
export const TEAMS_MAX_TABLE_ROWS = 50;
/** Lines of preformatted text (logs, JSON, diffs) shown per block. */
export const TEAMS_MAX_LINES = 60;
/** Characters of one markdown or preformatted `TextBlock`. */
export const TEAMS_MAX_TEXT = 6000;
/** `Action.OpenUrl` buttons per set; more links become markdown links. */
export const TEAMS_MAX_ACTIONS = 6;
/** PNG bytes inlined as a data URI; larger images are described instead. */
export const TEAMS_MAX_IMAGE_BYTES = 8 * 1024;

/** One Adaptive Card element or action, as JSON. */
export type CardElement = { type: string } & Record<string, unknown>;

/** The `content` of the card attachment. */
export interface AdaptiveCard {
  $schema: "http://adaptivecards.io/schemas/adaptive-card.json";
  type: "AdaptiveCard";
  version: "1.4";
  msteams: { width: "Full" };
  body: CardElement[];
  actions?: CardElement[];
}

/** The message body a Workflows webhook expects. */
export interface TeamsMessage {
  type: "message";
  attachments: [{
    contentType: "application/vnd.microsoft.card.adaptive";
    contentUrl: null;
    content: AdaptiveCard;
  }];
}

const COLORS: Record<Issue["severity"], string> = {
  HIGH: "Attention",
  MEDIUM: "Warning",
  LOW: "Accent",
  INFO: "Accent",
  DEBUG: "Default",
};

/**
 * Renders an Issue as one Teams message within {@linkcode TEAMS_BYTE_BUDGET}.
 *
 * @param issue The issue.
 * @returns The message; blocks that do not fit are left out with a visible note.
 * @example
 * ```ts
 * import { renderTeamsMessage } from "./_adaptive_card.ts";
 * import { IssueSchema } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * const message = renderTeamsMessage(IssueSchema.parse({
 *   id: "1", fingerprint: "f1", aggregationKey: "Oom", type: "alert", source: "prometheus",
 *   title: "Pod OOMKilled", severity: "HIGH", status: "firing",
 *   startsAt: "2026-03-01T10:00:00Z", createdAt: "2026-03-01T10:00:01Z",
 * }));
 * const [header] = message.attachments[0].content.body;
 * assert.equal(header?.color, "Attention");
 * ```
 */
export function renderTeamsMessage(issue: Issue): TeamsMessage {
  const firing = issue.status === "firing";
  const title = issue.title.trim() || issue.aggregationKey;
  const head = headElements(issue, title, firing, 1);
  if (jsonBytes(head) > TEAMS_MAX_HEAD_BYTES) {
    head.splice(0, head.length, ...headElements(issue, title, firing, 0.2));
  }
  const actions = issue.links.slice(0, TEAMS_MAX_ACTIONS).map(openUrl);
  const rest: Part[] = [];

  for (const enrichment of issue.enrichments) {
    const heading = enrichment.title?.trim() || enrichment.workflow;
    rest.push(part(textBlock(cutToFit(escapeMarkdown(heading), 300), {
      weight: "Bolder",
      size: "Medium",
      separator: true,
    })));
    let separate = false;
    for (const block of enrichment.blocks) {
      if (block.type === "divider") {
        separate = true;
        continue;
      }
      const parts = blockElements(block);
      if (separate && parts[0]) {
        parts[0] = { ...parts[0], element: { ...parts[0].element, separator: true } };
      }
      separate = false;
      rest.push(...parts);
    }
  }
  const base = jsonBytes(message([...head, textBlock("x".repeat(200))], actions));
  const fitted = fitInOrder(rest, TEAMS_BYTE_BUDGET - base, {
    cost: (p) => jsonBytes(p.element) + 1,
    shrink: shrinkText,
  });
  const body = [...head, ...fitted.kept.map((p) => p.element)];
  if (fitted.omitted > 0) {
    body.push(textBlock(
      `✂️ ${fitted.omitted} more element${fitted.omitted === 1 ? "" : "s"} not shown: ` +
        "the message would exceed Teams' 28 KB limit",
      { isSubtle: true, color: "Warning" },
    ));
  }
  return message(body, actions);
}

function message(body: CardElement[], actions: CardElement[]): TeamsMessage {
  const content: AdaptiveCard = {
    $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
    type: "AdaptiveCard",
    version: "1.4",
    msteams: { width: "Full" },
    body,
    ...(actions.length > 0 ? { actions } : {}),
  };
  return {
    type: "message",
    attachments: [{
      contentType: "application/vnd.microsoft.card.adaptive",
      contentUrl: null,
      content,
    }],
  };
}

/** The header, the facts and the description; `scale` shrinks their caps. */
function headElements(issue: Issue, title: string, firing: boolean, scale: number): CardElement[] {
  const head: CardElement[] = [
    textBlock(
      cutToFit(
        `${firing ? "🔥" : "✅"} ${issue.status.toUpperCase()}: ${escapeMarkdown(title)}`,
        600 * scale,
      ),
      { weight: "Bolder", size: "Large", color: firing ? COLORS[issue.severity] : "Good" },
    ),
    { type: "FactSet", facts: facts(issue, 1500 * scale) },
  ];
  if (issue.description?.trim()) {
    head.push(textBlock(cutToFit(escapeMarkdown(issue.description), 3000 * scale)));
  }
  return head;
}

function facts(issue: Issue, max: number): { title: string; value: string }[] {
  const subject = issue.subject &&
    `${issue.subject.kind} ${
      issue.subject.namespace ? `${issue.subject.namespace}/` : ""
    }${issue.subject.name}${issue.subject.container ? ` (${issue.subject.container})` : ""}`;
  const labels = Object.keys(issue.labels).sort().map((k) => `${k}=${issue.labels[k]}`);
  const rows: [string, string | undefined][] = [
    ["Subject", subject],
    ["Severity", issue.severity],
    ["Status", issue.status],
    ["Cluster", issue.cluster],
    ["Source", issue.source],
    [issue.endsAt ? "Ended" : "Started", issue.endsAt ?? issue.startsAt],
    ["Labels", labels.join(", ")],
    ["Fingerprint", issue.fingerprint],
  ];
  return rows.filter((r): r is [string, string] => !!r[1])
    .map(([title, value]) => ({ title, value: cutToFit(escapeMarkdown(value), max) }));
}

/** Enrichment block to card elements. */
function blockElements(block: Exclude<Block, { type: "divider" }>): Part[] {
  if (block.type === "file") return fileParts(block);
  return elementsOf(block).map((element) => part(element));
}

function elementsOf(block: Exclude<Block, { type: "divider" | "file" }>): CardElement[] {
  switch (block.type) {
    case "markdown":
      return [textBlock(cutToFit(teamsMarkdown(block.text), TEAMS_MAX_TEXT))];
    case "header":
      return [textBlock(cutToFit(escapeMarkdown(block.text), 300), { weight: "Bolder" })];
    case "list":
      return [textBlock(cutToFit(
        block.items.map((item, i) =>
          `${block.ordered ? `${i + 1}.` : "-"} ${escapeMarkdown(item.replaceAll("\n", " "))}`
        ).join("\n"),
        TEAMS_MAX_TEXT,
      ))];
    case "table": {
      const shown = block.rows.slice(0, TEAMS_MAX_TABLE_ROWS);
      const more = block.rows.length - shown.length;
      const note = more > 0 ? [textBlock(`… ${more} more rows`, { isSubtle: true })] : [];
      const caption = [block.title, block.headers.join(" · ")].filter(Boolean).join(": ");
      if (block.headers.length === 2) {
        return [
          textBlock(cutToFit(escapeMarkdown(caption), 300), { isSubtle: true }),
          {
            type: "FactSet",
            facts: shown.map(([title, value]) => ({
              title: cutToFit(escapeMarkdown(title ?? ""), 200),
              value: cutToFit(escapeMarkdown(value ?? ""), 500),
            })),
          },
          ...note,
        ];
      }
      const lines = renderBlockText({ ...block, rows: shown });
      return [monospace(lines), ...note];
    }
    case "json":
    case "diff":
      return [monospace(renderBlockText(block))];
    case "image": {
      const bytes = Math.floor(block.png.length * 3 / 4);
      if (bytes > TEAMS_MAX_IMAGE_BYTES) {
        return [textBlock(
          escapeMarkdown(
            `🖼 ${block.name} (${Math.ceil(bytes / 1024)} KiB, not inlined): ${block.alt}`,
          ),
          { isSubtle: true },
        )];
      }
      return [{
        type: "Image",
        url: `data:image/png;base64,${block.png}`,
        altText: cutToFit(block.alt || block.name, 300),
      }];
    }
    case "links": {
      const buttons = block.links.slice(0, TEAMS_MAX_ACTIONS);
      const extra = block.links.slice(TEAMS_MAX_ACTIONS);
      return [
        ...(buttons.length > 0 ? [{ type: "ActionSet", actions: buttons.map(openUrl) }] : []),
        ...(extra.length > 0
          ? [textBlock(extra.map((l) => `- ${markdownLink(l.title, l.url)}`).join("\n"))]
          : []),
      ];
    }
  }
}

function fileParts(block: Extract<Block, { type: "file" }>): Part[] {
  if (block.encoding !== "utf8") {
    const [summary] = renderBlockText(block);
    return [part(textBlock(escapeMarkdown(summary ?? block.name), { isSubtle: true }))];
  }
  const all = block.data.replace(/\n$/, "").split("\n");
  const tail = all.slice(-TEAMS_MAX_LINES);
  const size = utf8Bytes(block.data);
  const caption = `📄 ${block.name} (${block.contentType}, ${Math.ceil(size / 1024)} KiB, ` +
    `${all.length} lines)${tail.length < all.length ? `, last ${tail.length} lines` : ""}`;
  return [
    part(textBlock(escapeMarkdown(caption), { isSubtle: true })),
    part(monospace(tail, "end"), "end"),
  ];
}

/** A body element and which end of its text to keep when it must be cut. */
interface Part {
  element: CardElement;
  keep: "start" | "end";
}

function part(element: CardElement, keep: "start" | "end" = "start"): Part {
  return { element, keep };
}

function textBlock(text: string, extra: Record<string, unknown> = {}): CardElement {
  return { type: "TextBlock", text: text || " ", wrap: true, ...extra };
}

/** Preformatted lines as a monospace TextBlock, literal in Teams' markdown. */
function monospace(lines: string[], keep: "start" | "end" = "start"): CardElement {
  const shown = keep === "start" ? lines.slice(0, TEAMS_MAX_LINES) : lines.slice(-TEAMS_MAX_LINES);
  const text = shown.map((line) =>
    escapeMarkdown(line).replace(/^ +/, (spaces) => "\u00a0".repeat(spaces.length)) || "\u00a0"
  ).join("\n\n");
  const cut = keep === "start"
    ? cutToFit(text, TEAMS_MAX_TEXT, { measure: (t) => t.length, marker: "\n\n…" })
    : cutToFit(text, TEAMS_MAX_TEXT, { measure: (t) => t.length, marker: "…\n\n", keep });
  const more = lines.length - shown.length;
  const note = more > 0 ? (keep === "start" ? `\n\n… ${more} more lines` : "") : "";
  return textBlock(cut + note, { fontType: "Monospace" });
}

/** A TextBlock cut to fit `max` bytes of JSON, or nothing when too little room is left. */
function shrinkText({ element, keep }: Part, max: number): Part | undefined {
  if (element.type !== "TextBlock" || typeof element.text !== "string" || max < 400) {
    return undefined;
  }
  const marker = keep === "end" ? "…(cut to fit)\n\n" : "\n\n…(cut to fit Teams' 28 KB limit)";
  const overhead = jsonBytes({ ...element, text: "" }) + 1;
  const text = cutToFit(element.text, max - overhead, {
    measure: (t) => jsonBytes(t) - 2,
    marker,
    keep,
  });
  return text ? { element: { ...element, text }, keep } : undefined;
}

function openUrl(link: { title: string; url: string }): CardElement {
  return { type: "Action.OpenUrl", title: cutToFit(link.title, 100), url: link.url };
}

function markdownLink(title: string, url: string): string {
  return `[${escapeMarkdown(title).replace(/[[\]]/g, "")}](${url.replace(/[()\s]/g, encodeURI)})`;
}

/**
 * Escapes text so Teams' markdown shows it literally.
 *
 * @param text Plain text.
 * @returns The text with markdown characters and line-leading markers backslash-escaped.
 * @example
 * ```ts
 * import { escapeMarkdown } from "./_adaptive_card.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(escapeMarkdown("- a_b *c*"), "\\- a\\_b \\*c\\*");
 * ```
 */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\*_[\]`~]/g, "\\$&")
    .replace(
      /^(\s*)([-+>#]|\d+\.)/gm,
      (_m, space: string, mark: string) =>
        `${space}${mark.replace(/^(\d+)\./, "$1\\.").replace(/^[-+>#]/, "\\$&")}`,
    );
}

/**
 * CommonMark to the subset Teams renders in a TextBlock: bold, italic, lists and links stay;
 * headings become bold, code fences and backticks are dropped, images become links.
 */
function teamsMarkdown(text: string): string {
  return text.replace(/\r\n?/g, "\n")
    .replace(/^```[^\n]*\n?/gm, "")
    .replace(/`([^`\n]+)`/g, "$1")
    .replace(/^#{1,6}\s+(.+)$/gm, "**$1**")
    .replace(/!\[([^\]]*)\]\(([^)\s]+)\)/g, "[$1]($2)")
    .replace(/\n{3,}/g, "\n\n");
}
