/**
 * A streaming line reader with a byte cap checked before a line is decoded or parsed.
 *
 * A sandboxed child controls its stdout, so a line is untrusted until proven small: the
 * reader never holds more than `maxLineBytes` of an unfinished line.
 *
 * @example Split a stream into lines and stop at an oversized one
 * ```ts
 * import { readLines } from "./line_reader.ts";
 * import assert from "node:assert/strict";
 *
 * const bytes = new TextEncoder().encode("a\nbb\n" + "x".repeat(20) + "\n");
 * const stream = ReadableStream.from([bytes]);
 * const seen = [];
 * for await (const item of readLines(stream, { maxLineBytes: 10 })) seen.push(item);
 * assert.deepEqual(seen, [{ line: "a" }, { line: "bb" }, { overflow: true }]);
 * ```
 *
 * @module
 */

/** Options of {@linkcode readLines}. */
export interface ReadLinesOptions {
  /** Longest line accepted, in bytes, without the newline. */
  maxLineBytes: number;
}

/** A complete line, or the marker that a line exceeded the cap (the reader then stops). */
export type LineItem = { line: string } | { overflow: true };

const NEWLINE = 0x0a;

/**
 * Reads newline-terminated UTF-8 lines. A trailing unterminated line is dropped when the
 * stream ends (a frame is only complete with its newline).
 *
 * @param stream The bytes, e.g. a child's stdout.
 * @param options The byte cap.
 * @returns Lines in order; `{ overflow: true }` last when a line was too long.
 */
export async function* readLines(
  stream: ReadableStream<Uint8Array>,
  { maxLineBytes }: ReadLinesOptions,
): AsyncGenerator<LineItem> {
  const decoder = new TextDecoder();
  let parts: Uint8Array[] = [];
  let pending = 0;
  const reader = stream.getReader();
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) return;
      let start = 0;
      while (start < value.length) {
        const end = value.indexOf(NEWLINE, start);
        const stop = end === -1 ? value.length : end;
        if (pending + stop - start > maxLineBytes) {
          yield { overflow: true };
          return;
        }
        // An unfinished tail outlives this chunk, so it is copied.
        parts.push(end === -1 ? value.slice(start, stop) : value.subarray(start, stop));
        pending += stop - start;
        if (end === -1) break;
        yield { line: decoder.decode(concat(parts, pending)) };
        parts = [];
        pending = 0;
        start = end + 1;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
