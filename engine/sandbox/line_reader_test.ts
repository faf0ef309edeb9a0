import assert from "node:assert/strict";
import { type LineItem, readLines } from "./line_reader.ts";

async function collect(chunks: string[] | Uint8Array[], maxLineBytes = 64): Promise<LineItem[]> {
  const bytes = chunks.map((c) => typeof c === "string" ? new TextEncoder().encode(c) : c);
  const items: LineItem[] = [];
  for await (const item of readLines(ReadableStream.from(bytes), { maxLineBytes })) {
    items.push(item);
  }
  return items;
}

Deno.test("readLines() joins lines split across chunks", async () => {
  assert.deepEqual(await collect(["ab", "c\nd", "e\n", "\n"]), [
    { line: "abc" },
    { line: "de" },
    { line: "" },
  ]);
});

Deno.test("readLines() decodes a multi-byte character split across chunks", async () => {
  const bytes = new TextEncoder().encode("é€\n");
  assert.deepEqual(await collect([bytes.subarray(0, 1), bytes.subarray(1, 4), bytes.subarray(4)]), [
    { line: "é€" },
  ]);
});

Deno.test("readLines() stops at a line over the cap, before it is complete", async () => {
  // The oversized line never ends: the reader must not wait for its newline.
  const items = await collect(["ok\n", "x".repeat(40), "x".repeat(40)], 64);
  assert.deepEqual(items, [{ line: "ok" }, { overflow: true }]);
});

Deno.test("readLines() accepts a line of exactly the cap and drops an unterminated tail", async () => {
  assert.deepEqual(await collect(["x".repeat(64) + "\n", "tail"], 64), [{ line: "x".repeat(64) }]);
});
