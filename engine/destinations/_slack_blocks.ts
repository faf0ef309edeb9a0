/**
 * Block Kit rendering for the Slack destination: an Issue's parts and enrichment blocks as
 * Slack blocks, kept within Slack's documented limits.
 *
 * Text is measured in UTF-16 code units, which is never less than the characters Slack
 * counts, and cut with a visible `…`. A message never exceeds {@linkcode SLACK_MAX_BLOCKS}
 * blocks or {@linkcode SLACK_MAX_BLOCKS_TEXT} characters of block text: what does not fit is
 * replaced by one note saying how much was left out. Blocks too big for a message (long
 * logs, big tables, binaries, images) become file uploads.
 *
 * @module
 */
import type { Block, Issue } from "@cano/sdk";
import { jsonLineDiff, renderBlockText } from "./_text.ts";

/** Blocks per message (Block Kit reference). */
export const SLACK_MAX_BLOCKS = 50;
/** Characters of a section's text (Block Kit reference). */
export const SLACK_MAX_SECTION_TEXT = 3000;
/** Characters of a section field. */
export const SLACK_MAX_FIELD_TEXT = 2000;
/** Fields per section. */
export const SLACK_MAX_FIELDS = 10;
/** Characters of a header's plain text. */
export const SLACK_MAX_HEADER_TEXT = 150;
/** Elements of a context block. */
export const SLACK_MAX_CONTEXT_ELEMENTS = 10;
/** Characters of a button label. */
export const SLACK_MAX_BUTTON_TEXT = 75;
/** Buttons Cano puts in one actions block (Slack allows 25). */
export const SLACK_MAX_BUTTONS = 5;
/**
 * Characters of block text Cano puts in one message. Slack documents none, but answers
 * `msg_blocks_too_long` at about 13,200 (slackapi/bolt-js#2509), so this stays well under.
 */
export const SLACK_MAX_BLOCKS_TEXT = 11_000;
/** Characters of the top-level notification text Cano sends (Slack truncates at 40,000). */
export const SLACK_MAX_TEXT = 3000;
/** Preformatted text longer than this is uploaded as a file instead. */
export const SLACK_INLINE_MAX_CHARS = 2500;
/** Lines of preformatted text shown inline before it is uploaded as a file instead. */
export const SLACK_INLINE_MAX_LINES = 40;

/** A Block Kit text object. */
export interface SlackText {
  type: "plain_text" | "mrkdwn";
  text: string;
  emoji?: boolean;
}
/** A Block Kit button. */
export interface SlackButton {
  type: "button";
  text: SlackText;
  url: string;
}
/** The Block Kit blocks Cano renders. */
export type SlackBlock =
  | { type: "header"; text: SlackText }
  | { type: "section"; text?: SlackText; fields?: SlackText[] }
  | { type: "context"; elements: SlackText[] }
  | { type: "divider" }
  | { type: "actions"; elements: SlackButton[] };

/** A file that goes to Slack as an upload. */
export interface SlackUpload {
  /** File name shown in Slack. */
  filename: string;
  /** Title shown above the file. */
  title: string;
  /** `utf8` text or `base64` bytes. */
  encoding: "utf8" | "base64";
  /** The content. */
  data: string;
}

/** Enrichment blocks as Slack blocks, plus the files they became. */
export interface ConvertedBlocks {
  /** Slack blocks, in order; may be more than fit (see {@linkcode fitBlocks}). */
  blocks: SlackBlock[];
  /** Files to upload. */
  uploads: SlackUpload[];
}

/**
 * Escapes `&`, `<` and `>` as Slack requires in text objects, and cuts the result to
 * `max` characters with `…` without splitting an entity or a surrogate pair.
 *
 * @param text Raw text.
 * @param max Largest length of the result.
 * @returns Escaped text of at most `max` characters.
 * @example
 * ```ts
 * import { escapeSlack } from "./_slack_blocks.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(escapeSlack("a < b & c", 100), "a &lt; b &amp; c");
 * assert.equal(escapeSlack("abcdef", 4), "abc…");
 * ```
 */
export function escapeSlack(text: string, max: number): string {
  const escaped = text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
  return cut(escaped, max);
}

/**
 * Cuts text to `max` UTF-16 code units, ending with `…` when cut.
 *
 * @param text The text.
 * @param max Largest length of the result, at least 1.
 * @returns The text, whole or cut.
 * @example
 * ```ts
 * import { cut } from "./_slack_blocks.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(cut("hello", 3), "he…");
 * ```
 */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  let head = text.slice(0, Math.max(0, max - 1));
  if (/[\uD800-\uDBFF]$/.test(head)) head = head.slice(0, -1);
  head = head.replace(/&[a-z]{0,4}$/, "");
  return `${head}…`;
}

/** A mrkdwn section, cut to the section limit. */
export function section(text: string): SlackBlock {
  return { type: "section", text: { type: "mrkdwn", text: cut(text, SLACK_MAX_SECTION_TEXT) } };
}

/** A context block of one mrkdwn element. */
export function context(text: string): SlackBlock {
  return {
    type: "context",
    elements: [{ type: "mrkdwn", text: cut(text, SLACK_MAX_SECTION_TEXT) }],
  };
}

/** A header block; empty text becomes a dash, since Slack rejects empty text. */
export function headerBlock(text: string): SlackBlock {
  const plain = text.replace(/\s+/g, " ").trim() || "-";
  return {
    type: "header",
    text: { type: "plain_text", text: cut(plain, SLACK_MAX_HEADER_TEXT), emoji: true },
  };
}

/**
 * Converts an Issue's enrichments to Slack blocks and uploads.
 *
 * @param issue The issue.
 * @returns Blocks in order and the files to upload.
 */
export function convertEnrichments(issue: Issue): ConvertedBlocks {
  const blocks: SlackBlock[] = [];
  const uploads: SlackUpload[] = [];
  issue.enrichments.forEach((enrichment, e) => {
    blocks.push({ type: "divider" });
    blocks.push(section(`*${escapeSlack(enrichment.title ?? enrichment.workflow, 200)}*`));
    enrichment.blocks.forEach((block, b) => {
      const name = `${e + 1}-${b + 1}`;
      blocks.push(...convertBlock(block, name, uploads));
    });
  });
  return { blocks, uploads };
}

function convertBlock(block: Block, name: string, uploads: SlackUpload[]): SlackBlock[] {
  switch (block.type) {
    case "markdown":
      return block.text.trim() ? [section(markdownToMrkdwn(block.text))] : [];
    case "header":
      return [headerBlock(block.text)];
    case "divider":
      return [{ type: "divider" }];
    case "list":
      return block.items.length === 0 ? [] : [
        section(
          block.items.map((item, i) =>
            `${block.ordered ? `${i + 1}.` : "•"} ${escapeSlack(item.replaceAll("\n", " "), 500)}`
          ).join("\n"),
        ),
      ];
    case "links":
      return block.links.length === 0
        ? []
        : [section(block.links.map((l) => link(l.url, l.title)).join("\n"))];
    case "table":
      return preformatted(renderBlockText(block).join("\n"), `table-${name}.txt`, uploads);
    case "json":
      return preformatted(renderBlockText(block).join("\n"), `data-${name}.json`, uploads);
    case "diff":
      return preformatted(
        jsonLineDiff(block.before, block.after).join("\n"),
        `diff-${name}.txt`,
        uploads,
      );
    case "file": {
      if (block.encoding === "utf8" && fitsInline(block.data)) {
        return [
          section(`*${escapeSlack(block.name, 200)}*\n${fence(block.data)}`),
        ];
      }
      uploads.push({
        filename: block.name,
        title: block.name,
        encoding: block.encoding,
        data: block.data,
      });
      return [context(`:paperclip: ${escapeSlack(block.name, 200)} is attached in the thread`)];
    }
    case "image":
      uploads.push({
        filename: block.name,
        title: block.alt || block.name,
        encoding: "base64",
        data: block.png,
      });
      return [
        context(`:frame_with_picture: ${escapeSlack(block.name, 200)} is attached in the thread`),
      ];
  }
}

function fitsInline(text: string): boolean {
  return text.length <= SLACK_INLINE_MAX_CHARS &&
    text.split("\n").length <= SLACK_INLINE_MAX_LINES;
}

/** Preformatted text inline when small, otherwise an upload and a note. */
function preformatted(text: string, filename: string, uploads: SlackUpload[]): SlackBlock[] {
  if (fitsInline(text)) return [section(fence(text))];
  uploads.push({ filename, title: filename, encoding: "utf8", data: text });
  return [context(`:paperclip: Too large for a message: ${filename} is attached in the thread`)];
}

function fence(text: string): string {
  // A ``` inside would end the block early; a zero-width space keeps it visible.
  const body = text.replace(/\n$/, "").replaceAll("```", "`\u200b``") || " ";
  return "```" + escapeSlack(body, SLACK_MAX_SECTION_TEXT - 200) + "```";
}

function link(url: string, title: string): string {
  const safeUrl = url.replaceAll("&", "&amp;").replaceAll("<", "%3C").replaceAll(">", "%3E")
    .replaceAll("|", "%7C");
  return `<${safeUrl}|${escapeSlack(title, 200).replaceAll("|", "¦")}>`;
}

/** CommonMark's common marks to Slack mrkdwn: `**b**` to `*b*`, `[t](u)` to `<u|t>`. */
function markdownToMrkdwn(text: string): string {
  const links: string[] = [];
  const withMarkers = text.replaceAll("\uE000", "").replace(
    /\[([^\]\n]+)\]\((https?:\/\/[^)\s]+)\)/g,
    (_m, t, u) => {
      links.push(link(u, t));
      return `\uE000${links.length - 1}\uE000`;
    },
  );
  return escapeSlack(withMarkers, SLACK_MAX_SECTION_TEXT * 2)
    .replace(/\*\*([^*\n]+)\*\*/g, "*$1*")
    .replace(/^#{1,6}\s+(.+)$/gm, "*$1*")
    .replace(/\uE000(\d+)\uE000/g, (_m, i) => links[Number(i)] ?? "");
}

/**
 * Fits blocks within a message's block count and text budget: keeps them in order while
 * they fit, then ends with one note saying how many were left out.
 *
 * @param head Blocks that always come first (header, summary).
 * @param rest Blocks kept while they fit.
 * @param budget Blocks and characters available to `head` and `rest` together.
 * @returns The blocks that fit, plus the note when some were left out.
 * @example
 * ```ts
 * import { fitBlocks, section } from "./_slack_blocks.ts";
 * import assert from "node:assert/strict";
 *
 * const rest = Array.from({ length: 80 }, (_, i) => section(`block ${i}`));
 * const fitted = fitBlocks([], rest, { blocks: 50, chars: 11_000 });
 * assert.equal(fitted.length, 50);
 * assert.match(JSON.stringify(fitted.at(-1)), /31 more blocks not shown/);
 * ```
 */
export function fitBlocks(
  head: SlackBlock[],
  rest: SlackBlock[],
  budget: { blocks: number; chars: number },
): SlackBlock[] {
  const out = [...head];
  let chars = head.reduce((sum, b) => sum + blockTextLength(b), 0);
  const reserve = { blocks: 1, chars: 120 };
  for (let i = 0; i < rest.length; i++) {
    const block = rest[i]!;
    const size = blockTextLength(block);
    const last = i === rest.length - 1;
    const room = last ? { blocks: 0, chars: 0 } : reserve;
    if (out.length + 1 + room.blocks > budget.blocks || chars + size + room.chars > budget.chars) {
      const left = rest.length - i;
      out.push(context(
        `:scissors: ${left} more block${left === 1 ? "" : "s"} not shown: Slack message limits`,
      ));
      return out;
    }
    out.push(block);
    chars += size;
  }
  return out;
}

/**
 * Characters of text in a block, as Slack adds them up for `msg_blocks_too_long`.
 *
 * @param block The block.
 * @returns The sum of its text objects' lengths.
 */
export function blockTextLength(block: SlackBlock): number {
  switch (block.type) {
    case "header":
      return block.text.text.length;
    case "section":
      return (block.text?.text.length ?? 0) +
        (block.fields ?? []).reduce((s, f) => s + f.text.length, 0);
    case "context":
      return block.elements.reduce((s, e) => s + e.text.length, 0);
    case "actions":
      return block.elements.reduce((s, e) => s + e.text.text.length, 0);
    case "divider":
      return 0;
  }
}
