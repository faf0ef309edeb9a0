import assert from "node:assert/strict";
import { decodeChildFrame, encodeHostFrame, parseUntrustedJson } from "./protocol.ts";

const limits = { maxDepth: 6, maxStringBytes: 32 };
const nonce = "0123456789abcdef";

Deno.test("decodeChildFrame() accepts a valid frame with the nonce", () => {
  const line = `{"n":"${nonce}","op":"enrich","id":3,"title":"T","blocks":[{"type":"divider"}]}`;
  const result = decodeChildFrame(line, nonce, limits);
  assert.ok(result.ok);
  assert.deepEqual(result.frame, {
    n: nonce,
    op: "enrich",
    id: 3,
    title: "T",
    blocks: [{ type: "divider" }],
  });
});

Deno.test("decodeChildFrame() refuses a wrong or missing nonce before parsing", () => {
  for (const line of ['{"op":"done","id":1}', `{"n":"${nonce}x","op":"done","id":1}`, "not json"]) {
    const result = decodeChildFrame(line, nonce, limits);
    assert.equal(result.ok, false);
    assert.match(!result.ok ? result.reason : "", /without the session nonce/);
  }
});

Deno.test("decodeChildFrame() refuses forbidden keys at any depth", () => {
  for (const key of ["__proto__", "constructor", "prototype"]) {
    const line =
      `{"n":"${nonce}","op":"enrich","id":1,"blocks":[{"type":"json","value":{"a":{"${key}":{"x":1}}}}]}`;
    const result = decodeChildFrame(line, nonce, limits);
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.reason, `a forbidden key "${key}"`);
  }
  assert.equal(({} as Record<string, unknown>).x, undefined);
});

Deno.test("decodeChildFrame() refuses deep nesting, long strings, bad JSON and bad schema", () => {
  const deep =
    `{"n":"${nonce}","op":"enrich","id":1,"blocks":[{"type":"json","value":[[[[[[1]]]]]]}]}`;
  const long = `{"n":"${nonce}","op":"error","id":1,"error":"${"x".repeat(33)}"}`;
  const broken = `{"n":"${nonce}","op":"done","id":1`;
  const unknown = `{"n":"${nonce}","op":"shell","id":1}`;
  const extra = `{"n":"${nonce}","op":"done","id":1,"merge":{"a":1}}`;
  const reasons = [deep, long, broken, unknown, extra].map((line) => {
    const result = decodeChildFrame(line, nonce, limits);
    return result.ok ? "accepted" : result.reason;
  });
  assert.deepEqual(reasons.slice(0, 3), [
    "nesting deeper than 6",
    "a string longer than 32 characters",
    "a line that is not JSON",
  ]);
  assert.match(reasons[3]!, /^a malformed frame \(op:/);
  assert.match(reasons[4]!, /^a malformed frame/);
});

Deno.test("parseUntrustedJson() returns plain data", () => {
  assert.deepEqual(parseUntrustedJson('{"a":[1,"b",null]}', limits), { a: [1, "b", null] });
});

Deno.test("encodeHostFrame() writes one line", () => {
  const line = encodeHostFrame({ op: "capResult", id: 1, call: 2, ok: false, error: "a\nb" });
  assert.equal(line.split("\n").length, 2);
  assert.ok(line.endsWith("\n"));
});
