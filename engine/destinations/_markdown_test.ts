import assert from "node:assert/strict";
import { markdown } from "@cano/sdk";
import { blockMarkdown, fitChunks, issueMarkdownChunks } from "./_markdown.ts";
import { everyBlockIssue, hugeIssue } from "../../tests/_chat_issues.ts";

const FENCE = /^\s*(`{3,}|~{3,})/;

Deno.test("fitChunks() stays within every limit and leaves no code fence open", () => {
  const chunks = issueMarkdownChunks(hugeIssue(), { tables: "code" });
  for (let max = 80; max <= 20_000; max += 397) {
    const text = fitChunks(chunks, max);
    assert.ok(text.length <= max, `${text.length} > ${max}`);
    assert.ok(text.length > max - 250, `${text.length} wastes room under ${max}`);
    const fences = text.split("\n").filter((l) => FENCE.test(l)).length;
    assert.equal(fences % 2, 0, `open fence at ${max}`);
    assert.match(
      text,
      /_… (\d[\d,]* more characters|\d+ more blocks?)( and \d+ more blocks?)? cut_$/,
    );
  }
});

Deno.test("fitChunks() closes a fence opened inside a markdown block it cuts", () => {
  const log = Array.from({ length: 200 }, (_, i) => `line ${i}`).join("\n");
  const chunks = blockMarkdown(markdown(`Before\n\`\`\`\n${log}\n\`\`\`\nAfter`));
  const text = fitChunks(chunks, 300);
  assert.match(text, /^Before\n```\nline 0\n[^]*line \d+\n```\n\n_… [\d,]+ more characters cut_$/);
});

Deno.test("fitChunks() counts what it cut", () => {
  const chunks = [{ lines: ["a".repeat(50)] }, { lines: ["b".repeat(100)] }, { lines: ["c"] }];
  const text = fitChunks(chunks, 120);
  assert.equal(text.split("\n\n")[0], "a".repeat(50));
  const cut = text.match(/(\d+) more characters and 1 more block/);
  const kept = text.split("\n\n")[1]!.replace("…", "").length;
  assert.equal(Number(cut?.[1]) + kept, 100, "cut + shown = the whole chunk");
});

Deno.test("issueMarkdownChunks() renders every block and escapes alert text", () => {
  const text = issueMarkdownChunks(everyBlockIssue()).map((c) =>
    [c.open, ...c.lines, c.close].filter((l) => l !== undefined).join("\n")
  ).join("\n\n");
  assert.match(
    text,
    /^🔥 \*\*\[FIRING\] HIGH\*\* Pod \\<api\\> is crash looping & @\u200beveryone/,
  );
  assert.match(text, /\| side\\\|car \| 64Mi \|/);
  assert.match(text, /\n---\n/);
  assert.ok(text.includes("```\nline 1\n`\u200b`\u200b`\nbreak out\nline 4\n```"), "no break-out");
  assert.match(text, /📎 File dump\.bin \(text\/plain, 4 B, binary\)/);
});
