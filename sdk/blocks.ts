/**
 * Enrichment blocks and their builders.
 *
 * Blocks are plain JSON data (no classes, no `Date`, no `Uint8Array`) so they cross the
 * sandbox boundary unchanged; binary content travels base64-encoded.
 *
 * @example Build a table and a log file
 * ```ts
 * import { file, markdown, table } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * const blocks = [
 *   markdown("*Memory* is above the limit"),
 *   table(["container", "limit"], [["api", "512Mi"]], { title: "Resources" }),
 *   file("previous.log", "line 1\nline 2"),
 * ];
 * assert.equal(blocks[1]?.type, "table");
 * assert.throws(() => table(["a", "b"], [["only one"]]), RangeError);
 * ```
 *
 * @module
 */
import { z } from "zod";

/** Markdown text (CommonMark subset; destinations convert it). */
export const MarkdownBlockSchema = z.object({ type: z.literal("markdown"), text: z.string() });
/** A section heading. */
export const HeaderBlockSchema = z.object({ type: z.literal("header"), text: z.string() });
/** A horizontal rule. */
export const DividerBlockSchema = z.object({ type: z.literal("divider") });
/** A bulleted or numbered list. */
export const ListBlockSchema = z.object({
  type: z.literal("list"),
  items: z.array(z.string()),
  ordered: z.boolean().optional(),
});
/** A table of strings; every row has as many cells as there are headers. */
export const TableBlockSchema = z.object({
  type: z.literal("table"),
  title: z.string().optional(),
  headers: z.array(z.string()).min(1),
  rows: z.array(z.array(z.string())),
}).refine((t) => t.rows.every((row) => row.length === t.headers.length), {
  message: "Every table row must have as many cells as there are headers",
  path: ["rows"],
});
/** Any JSON value, shown pretty-printed. */
export const JsonBlockSchema = z.object({ type: z.literal("json"), value: z.unknown() });
/** An attachment: text as UTF-8, binary as base64. */
export const FileBlockSchema = z.object({
  type: z.literal("file"),
  name: z.string().min(1),
  contentType: z.string().min(1),
  encoding: z.enum(["utf8", "base64"]),
  data: z.string(),
});
/** A PNG image, base64-encoded. */
export const ImageBlockSchema = z.object({
  type: z.literal("image"),
  name: z.string().min(1),
  alt: z.string(),
  png: z.base64(),
});
/** A before/after pair, rendered as a diff. */
export const DiffBlockSchema = z.object({
  type: z.literal("diff"),
  before: z.unknown(),
  after: z.unknown(),
});
/** A list of titled links. */
export const LinksBlockSchema = z.object({
  type: z.literal("links"),
  links: z.array(z.object({ title: z.string().min(1), url: z.url() })),
});

/** Any block; discriminated on `type`. */
export const BlockSchema = z.discriminatedUnion("type", [
  MarkdownBlockSchema,
  HeaderBlockSchema,
  DividerBlockSchema,
  ListBlockSchema,
  TableBlockSchema,
  JsonBlockSchema,
  FileBlockSchema,
  ImageBlockSchema,
  DiffBlockSchema,
  LinksBlockSchema,
]);
/** Any enrichment block. */
export type Block = z.infer<typeof BlockSchema>;
/** Markdown text. */
export type MarkdownBlock = z.infer<typeof MarkdownBlockSchema>;
/** A section heading. */
export type HeaderBlock = z.infer<typeof HeaderBlockSchema>;
/** A horizontal rule. */
export type DividerBlock = z.infer<typeof DividerBlockSchema>;
/** A list. */
export type ListBlock = z.infer<typeof ListBlockSchema>;
/** A table. */
export type TableBlock = z.infer<typeof TableBlockSchema>;
/** A JSON value. */
export type JsonBlock = z.infer<typeof JsonBlockSchema>;
/** A file attachment. */
export type FileBlock = z.infer<typeof FileBlockSchema>;
/** A PNG image. */
export type ImageBlock = z.infer<typeof ImageBlockSchema>;
/** A before/after diff. */
export type DiffBlock = z.infer<typeof DiffBlockSchema>;
/** A list of links. */
export type LinksBlock = z.infer<typeof LinksBlockSchema>;
/** Every block type name. */
export type BlockType = Block["type"];

/** Builds a markdown block. @param text Markdown text. @returns The block. */
export function markdown(text: string): MarkdownBlock {
  return { type: "markdown", text };
}

/** Builds a header block. @param text Heading text. @returns The block. */
export function header(text: string): HeaderBlock {
  return { type: "header", text };
}

/** Builds a divider block. @returns The block. */
export function divider(): DividerBlock {
  return { type: "divider" };
}

/**
 * Builds a list block.
 *
 * @param items The list items.
 * @param options `ordered: true` numbers the items.
 * @returns The block.
 */
export function list(items: string[], options: { ordered?: boolean } = {}): ListBlock {
  return options.ordered === undefined
    ? { type: "list", items }
    : { type: "list", items, ordered: options.ordered };
}

/**
 * Builds a table block.
 *
 * @param headers Column names.
 * @param rows Rows of cells, each as wide as `headers`.
 * @param options An optional `title`.
 * @returns The block.
 * @throws {RangeError} When a row's width differs from the headers.
 */
export function table(
  headers: string[],
  rows: string[][],
  options: { title?: string } = {},
): TableBlock {
  if (headers.length === 0) {
    throw new RangeError("Cannot build table: expected at least one header");
  }
  rows.forEach((row, i) => {
    if (row.length !== headers.length) {
      throw new RangeError(
        `Cannot build table: row ${i} has ${row.length} cells, expected ${headers.length}`,
      );
    }
  });
  return options.title === undefined
    ? { type: "table", headers, rows }
    : { type: "table", title: options.title, headers, rows };
}

/** Builds a JSON block. @param value Any JSON-serializable value. @returns The block. */
export function json(value: unknown): JsonBlock {
  return { type: "json", value };
}

/**
 * Builds a file block. Strings are stored as UTF-8 text, bytes as base64.
 *
 * @param name File name shown to the reader.
 * @param data Text or bytes.
 * @param contentType MIME type.
 * @returns The block.
 * @throws {RangeError} When the name is empty.
 */
export function file(
  name: string,
  data: string | Uint8Array,
  contentType = "text/plain",
): FileBlock {
  if (name.length === 0) throw new RangeError("Cannot build file: expected a non-empty name");
  return typeof data === "string"
    ? { type: "file", name, contentType, encoding: "utf8", data }
    : { type: "file", name, contentType, encoding: "base64", data: encodeBase64(data) };
}

/**
 * Builds an image block from PNG bytes.
 *
 * @param name File name.
 * @param png PNG bytes.
 * @param alt Text shown where images are not supported.
 * @returns The block.
 * @throws {RangeError} When the bytes are not a PNG.
 */
export function image(name: string, png: Uint8Array, alt: string): ImageBlock {
  const signature = [0x89, 0x50, 0x4e, 0x47];
  if (!signature.every((byte, i) => png[i] === byte)) {
    throw new RangeError(`Cannot build image "${name}": expected PNG bytes`);
  }
  return { type: "image", name, alt, png: encodeBase64(png) };
}

/** Builds a diff block. @param before Old value. @param after New value. @returns The block. */
export function diff(before: unknown, after: unknown): DiffBlock {
  return { type: "diff", before, after };
}

/**
 * Builds a links block.
 *
 * @param links Titled URLs.
 * @returns The block.
 * @throws {RangeError} When a URL does not parse.
 */
export function links(links: { title: string; url: string }[]): LinksBlock {
  for (const link of links) {
    if (!URL.canParse(link.url)) {
      throw new RangeError(`Cannot build links: "${link.url}" is not a URL`);
    }
  }
  return { type: "links", links };
}

function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}
