/**
 * Google Chat cards v2 rendering for the Google Chat destination: an Issue as a header, a
 * summary section and one section per enrichment, kept within Chat's 32,000-byte message
 * limit and 100 widgets per card.
 *
 * Widgets used: `decoratedText`, `textParagraph`, `buttonList` and `divider`. Card text takes
 * Chat's HTML subset (`<b>`, `<i>`, `<font color>`, `<a href>`, `<br>`), so alert data is
 * HTML-escaped first. Chat has no monospace text in cards: logs, JSON and diffs keep their
 * lines with `<br>` and their indentation with `&nbsp;`; diff lines are coloured. Chat shows
 * images only from an HTTPS URL, and image blocks hold PNG bytes, so they are described.
 *
 * @module
 */
import type { Block, Issue } from "@cano/sdk";
import { renderBlockText } from "./_text.ts";
import { cutToFit, fitInOrder, jsonBytes, utf8Bytes } from "./_budget.ts";

/** Bytes of a message, text and cards together (spaces.messages.create reference). */
export const CHAT_MAX_BYTES = 32_000;
/** Widgets Chat shows per card; later ones are ignored. */
export const CHAT_MAX_WIDGETS = 100;
/** Bytes of the summary section; above it its caps shrink fivefold. */
export const CHAT_MAX_SUMMARY_BYTES = 12_000;
/** Rows of a table shown before the rest is counted. */
export const CHAT_MAX_TABLE_ROWS = 50;
/** Lines of logs, JSON or diff shown per block. */
export const CHAT_MAX_LINES = 60;
/** Characters of one paragraph's source text. */
export const CHAT_MAX_TEXT = 6000;
/** Buttons per button list; more links become paragraph links. */
export const CHAT_MAX_BUTTONS = 6;

/** One card widget, as JSON. */
export type ChatWidget = Record<string, unknown>;
/** One card section. */
export interface ChatSection {
  header?: string;
  widgets: ChatWidget[];
}
/** The message body an incoming webhook takes. */
export interface ChatMessage {
  text: string;
  cardsV2: [{
    cardId: string;
    card: { header: { title: string; subtitle: string }; sections: ChatSection[] };
  }];
  thread?: { threadKey: string };
}

/**
 * Renders an Issue as one Chat message of at most {@linkcode CHAT_MAX_BYTES} bytes.
 *
 * @param issue The issue.
 * @param threadKey The thread key to send, if any.
 * @returns The message; widgets that do not fit are left out with a visible note.
 * @example
 * ```ts
 * import { renderChatMessage } from "./_chat_card.ts";
 * import { IssueSchema, markdown } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * const message = renderChatMessage(IssueSchema.parse({
 *   id: "1", fingerprint: "f1", aggregationKey: "Oom", type: "alert", source: "prometheus",
 *   title: "Pod <OOMKilled>", severity: "HIGH", status: "firing",
 *   startsAt: "2026-03-01T10:00:00Z", createdAt: "2026-03-01T10:00:01Z",
 *   enrichments: [{ workflow: "w", blocks: [markdown("**5** restarts & counting")] }],
 * }), "f1");
 * const [, enrichment] = message.cardsV2[0].card.sections;
 * assert.deepEqual(enrichment?.widgets, [{ textParagraph: { text: "<b>5</b> restarts &amp; counting" } }]);
 * assert.deepEqual(message.thread, { threadKey: "f1" });
 * ```
 */
export function renderChatMessage(issue: Issue, threadKey?: string): ChatMessage {
  const firing = issue.status === "firing";
  const title = issue.title.trim() || issue.aggregationKey;
  const text = cutToFit(`${firing ? "🔥" : "✅"} ${issue.status.toUpperCase()}: ${title}`, 500);
  let summary: ChatSection = { widgets: summaryWidgets(issue, 1) };
  if (jsonBytes(summary) > CHAT_MAX_SUMMARY_BYTES) {
    summary = { widgets: summaryWidgets(issue, 0.2) };
  }
  const items: Item[] = [];
  issue.enrichments.forEach((enrichment, section) => {
    const header = escapeHtml(cutToFit(enrichment.title?.trim() || enrichment.workflow, 200));
    items.push({ section, header });
    for (const block of enrichment.blocks) {
      for (const widget of blockWidgets(block)) items.push({ section, widget });
    }
  });
  const room = CHAT_MAX_WIDGETS - summary.widgets.length - 1;
  const widgetItems = items.filter((i) => i.widget);
  const overflow = Math.max(0, widgetItems.length - room);
  const capped = overflow > 0
    ? items.filter((i) => !i.widget || widgetItems.indexOf(i) < room)
    : items;
  const build = (sections: ChatSection[]): ChatMessage => ({
    text,
    cardsV2: [{
      cardId: "issue",
      card: {
        header: {
          title: cutToFit(title, 200),
          subtitle: cutToFit(
            [issue.severity, issue.status, issue.cluster, issue.source].filter(Boolean)
              .join(" · "),
            200,
          ),
        },
        sections,
      },
    }],
    ...(threadKey === undefined ? {} : { thread: { threadKey } }),
  });
  const note = (n: number): ChatSection => ({
    widgets: [{
      textParagraph: {
        text: `<font color="#b06000">✂️ ${n} more widget${n === 1 ? "" : "s"} not shown: ` +
          "the message would exceed Google Chat's limits</font>",
      },
    }],
  });
  const base = jsonBytes(build([summary, note(1000)]));
  const fitted = fitInOrder(capped, CHAT_MAX_BYTES - base, {
    cost: (item) => item.widget ? jsonBytes(item.widget) + 1 : jsonBytes(section(item)) + 1,
    shrink: shrinkParagraph,
  });
  const sections = new Map<number, ChatSection>();
  let lost = overflow + fitted.omitted;
  for (const item of fitted.kept) {
    if (!item.widget) sections.set(item.section, section(item));
    else if (sections.has(item.section)) sections.get(item.section)!.widgets.push(item.widget);
    else lost++;
  }
  const kept = [...sections.values()].filter((s) => s.widgets.length > 0);
  return build([summary, ...kept, ...(lost > 0 ? [note(lost)] : [])]);
}

/** A section opener (header only) or one widget of the section. */
interface Item {
  section: number;
  header?: string;
  widget?: ChatWidget;
}

function section(item: Item): ChatSection {
  return item.header ? { header: item.header, widgets: [] } : { widgets: [] };
}

/** The facts, description and links; `scale` shrinks their caps. */
function summaryWidgets(issue: Issue, scale: number): ChatWidget[] {
  const subject = issue.subject &&
    `${issue.subject.kind} ${
      issue.subject.namespace ? `${issue.subject.namespace}/` : ""
    }${issue.subject.name}${issue.subject.container ? ` (${issue.subject.container})` : ""}`;
  const labels = Object.keys(issue.labels).sort().map((k) => `${k}=${issue.labels[k]}`);
  const rows: [string, string | undefined][] = [
    ["Subject", subject],
    ["Severity", issue.severity],
    ["Cluster", issue.cluster],
    [issue.endsAt ? "Ended" : "Started", issue.endsAt ?? issue.startsAt],
    ["Labels", labels.join(", ")],
  ];
  const widgets: ChatWidget[] = rows.filter((r): r is [string, string] => !!r[1])
    .map(([label, value]) => ({
      decoratedText: {
        topLabel: label,
        text: escapeHtml(cutToFit(value, 1500 * scale)),
        wrapText: true,
      },
    }));
  if (issue.description?.trim()) {
    widgets.push({
      textParagraph: { text: escapeHtml(cutToFit(issue.description, 3000 * scale)) },
    });
  }
  if (issue.links.length > 0) widgets.push(buttonList(issue.links.slice(0, CHAT_MAX_BUTTONS)));
  return widgets;
}

function blockWidgets(block: Block): ChatWidget[] {
  const paragraph = (text: string): ChatWidget => ({ textParagraph: { text } });
  switch (block.type) {
    case "markdown":
      return [paragraph(chatHtml(cutToFit(block.text, CHAT_MAX_TEXT)))];
    case "header":
      return [paragraph(`<b>${escapeHtml(cutToFit(block.text, 300))}</b>`)];
    case "divider":
      return [{ divider: {} }];
    case "list":
      return [paragraph(
        block.items.map((item, i) => `${block.ordered ? `${i + 1}.` : "•"} ${escapeHtml(item)}`)
          .join("<br>"),
      )];
    case "table": {
      const shown = block.rows.slice(0, CHAT_MAX_TABLE_ROWS);
      const more = block.rows.length - shown.length;
      const row = (cells: string[]) =>
        cells.map((c, i) => i === 0 ? `<b>${escapeHtml(c)}</b>` : escapeHtml(c)).join(" · ");
      const lines = [
        ...(block.title ? [`<b>${escapeHtml(block.title)}</b>`] : []),
        `<i>${escapeHtml(block.headers.join(" · "))}</i>`,
        ...shown.map(row),
        ...(more > 0 ? [`<i>… ${more} more rows</i>`] : []),
      ];
      return [paragraph(lines.join("<br>"))];
    }
    case "json":
      return [paragraph(preformatted(renderBlockText(block)))];
    case "diff":
      return [paragraph(preformatted(renderBlockText(block), true))];
    case "file": {
      if (block.encoding !== "utf8") {
        return [paragraph(`<i>${escapeHtml(renderBlockText(block)[0] ?? block.name)}</i>`)];
      }
      const all = block.data.replace(/\n$/, "").split("\n");
      const tail = all.slice(-CHAT_MAX_LINES);
      const caption = `📄 ${block.name} (${block.contentType}, ${
        Math.ceil(utf8Bytes(block.data) / 1024)
      } KiB, ${all.length} lines)${tail.length < all.length ? `, last ${tail.length} lines` : ""}`;
      return [{
        decoratedText: {
          topLabel: "File",
          text: escapeHtml(caption),
          wrapText: true,
        },
      }, paragraph(preformatted(tail, false, "end"))];
    }
    case "image": {
      const kib = Math.ceil(block.png.length * 3 / 4 / 1024);
      return [{
        decoratedText: {
          topLabel: "Image (not shown: Chat needs an HTTPS URL)",
          text: escapeHtml(`🖼 ${block.name} (${kib} KiB): ${block.alt}`),
          wrapText: true,
        },
      }];
    }
    case "links": {
      const extra = block.links.slice(CHAT_MAX_BUTTONS);
      return [
        ...(block.links.length > 0 ? [buttonList(block.links.slice(0, CHAT_MAX_BUTTONS))] : []),
        ...(extra.length > 0
          ? [paragraph(extra.map((l) => anchor(l.url, escapeHtml(l.title))).join("<br>"))]
          : []),
      ];
    }
  }
}

function buttonList(links: { title: string; url: string }[]): ChatWidget {
  return {
    buttonList: {
      buttons: links.map((l) => ({
        text: cutToFit(l.title, 100),
        onClick: { openLink: { url: l.url } },
      })),
    },
  };
}

/** Lines as a paragraph that keeps them: `<br>`, `&nbsp;` indentation, diff colours. */
function preformatted(lines: string[], diff = false, keep: "start" | "end" = "start"): string {
  const shown = keep === "start" ? lines.slice(0, CHAT_MAX_LINES) : lines.slice(-CHAT_MAX_LINES);
  const html = shown.map((line) => {
    const text = escapeHtml(line).replace(/^ +/, (s) => "&nbsp;".repeat(s.length));
    if (diff && line.startsWith("-")) return `<font color="#d93025">${text}</font>`;
    if (diff && line.startsWith("+")) return `<font color="#188038">${text}</font>`;
    return text;
  });
  const more = lines.length - shown.length;
  if (more > 0 && keep === "start") html.push(`<i>… ${more} more lines</i>`);
  // Cut whole lines, never inside an entity or a tag.
  let cut = false;
  while (html.length > 1 && html.join("<br>").length > CHAT_MAX_TEXT * 2) {
    if (keep === "end") html.shift();
    else html.pop();
    cut = true;
  }
  if (cut && keep === "end") html.unshift("…");
  else if (cut) html.push("…");
  return html.join("<br>");
}

/** A paragraph cut to fit `max` bytes, keeping whole lines, or nothing when little is left. */
function shrinkParagraph(item: Item, max: number): Item | undefined {
  const paragraph = item.widget?.textParagraph as { text?: string } | undefined;
  if (!paragraph?.text || max < 400) return undefined;
  const overhead = jsonBytes({ textParagraph: { text: "" } }) + 1;
  const lines = paragraph.text.split("<br>");
  const marker = "<br><i>…(cut to fit Google Chat's 32,000-byte limit)</i>";
  const budget = max - overhead - jsonBytes(marker) + 2;
  let text = "";
  for (const line of lines) {
    const next = text ? `${text}<br>${line}` : line;
    if (jsonBytes(next) - 2 > budget) break;
    text = next;
  }
  return text ? { ...item, widget: { textParagraph: { text: text + marker } } } : undefined;
}

/**
 * Escapes text for Chat's card HTML.
 *
 * @param text Plain text.
 * @returns The text with `&`, `<`, `>` and `"` as entities.
 * @example
 * ```ts
 * import { escapeHtml } from "./_chat_card.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(escapeHtml('<b>"a" & b</b>'), "&lt;b&gt;&quot;a&quot; &amp; b&lt;/b&gt;");
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

function anchor(url: string, html: string): string {
  return `<a href="${escapeHtml(url)}">${html}</a>`;
}

/** CommonMark to Chat's card HTML: bold, italic, links, headings as bold, line breaks. */
function chatHtml(markdown: string): string {
  return escapeHtml(markdown.replace(/\r\n?/g, "\n").replace(/^```[^\n]*\n?/gm, ""))
    .replace(
      /\[([^\]\n]+)\]\((https?:\/\/[^)\s]+)\)/g,
      (_m, t: string, u: string) => `<a href="${u}">${t}</a>`,
    )
    .replace(/^#{1,6}\s+(.+)$/gm, "<b>$1</b>")
    .replace(/\*\*([^*\n]+)\*\*/g, "<b>$1</b>")
    .replace(/(^|[^\w*])[*_]([^*_\n]+)[*_](?=$|[^\w*])/gm, "$1<i>$2</i>")
    .replace(/`([^`\n]+)`/g, "$1")
    .replace(/^[-*]\s+/gm, "• ")
    .replace(/\n/g, "<br>");
}
