import assert from "node:assert/strict";
import webex, { WEBEX_MAX_BYTES, type WebexConfig, WebexConfigSchema } from "./webex.ts";
import type { SendResult, ThreadState } from "./destination.ts";
import { startWebexApi, type WebexApi } from "../../tests/_webex_api.ts";
import { fullIssue, hugeIssue } from "../../tests/_issue.ts";

const TOKEN = "test-bot-token";

function configFor(api: WebexApi, extra: Record<string, unknown> = {}): WebexConfig {
  return WebexConfigSchema.parse({
    name: "ops-webex",
    type: "webex",
    token: TOKEN,
    roomId: "room-1",
    apiUrl: api.url,
    ...extra,
  });
}

function threadOf(result: SendResult): ThreadState {
  assert.ok(result.ok && result.thread, "expected a thread");
  return result.thread;
}

function bytes(text: string): number {
  return new TextEncoder().encode(text).length;
}

Deno.test("webex.render() renders every block type and the server accepts it", async () => {
  await using api = startWebexApi();
  const config = configFor(api);
  const [payload] = webex.render(fullIssue(), config);
  for (
    const expected of [
      "🔥 **[FIRING] HIGH**",
      "**Links:** [Runbook](https://runbooks.example/crash)",
      "### Everything (all-blocks)",
      "**Limits**",
      '```json\n{\n  "nested": {',
      "📎 File previous.log",
      '```diff\n  {\n-   "replicas": 2\n+   "replicas": 3\n  }\n```',
    ]
  ) assert.ok(payload!.markdown.includes(expected), `missing ${JSON.stringify(expected)}`);
  assert.match(payload!.text, /^\[FIRING\] HIGH /);
  const result = await webex.send(payload!, config, {});
  assert.deepEqual(result, { ok: true, thread: { messageId: "msg-1", roomId: "room-1" } });
  assert.equal(api.messages[0]!.markdown, payload!.markdown);
  assert.equal(api.messages[0]!.parentId, undefined);
});

Deno.test("webex.render() fits a huge issue under 7439 bytes and the server accepts it", async () => {
  await using api = startWebexApi();
  const config = configFor(api);
  for (const issue of [hugeIssue(), hugeIssue({ description: "日本語の説明 🔥 ".repeat(5000) })]) {
    const [payload] = webex.render(issue, config);
    const size = bytes(payload!.markdown);
    assert.ok(size <= WEBEX_MAX_BYTES && size > WEBEX_MAX_BYTES - 400, `markdown ${size} B`);
    assert.ok(bytes(payload!.text) <= WEBEX_MAX_BYTES, `text ${bytes(payload!.text)} B`);
    assert.match(payload!.markdown, /_… [\d,]+ more characters and \d+ more blocks cut_$/);
    const fences = payload!.markdown.split("\n").filter((l) => /^```/.test(l)).length;
    assert.equal(fences % 2, 0, "every code fence is closed");
    assert.ok((await webex.send(payload!, config, {})).ok);
  }
  // The server really enforces the byte limit: a few multi-byte characters more fail.
  const [payload] = webex.render(hugeIssue(), config);
  const over = { ...payload!, markdown: payload!.markdown + "é".repeat(400) };
  const rejected = await webex.send(over, config, {});
  assert.ok(!rejected.ok && !rejected.retryable);
  assert.match(rejected.reason, /HTTP 400: Message markdown exceeds .*7439 bytes.*trackingId/);
});

Deno.test("webex.render() breaks mentions of the whole space", () => {
  const config = WebexConfigSchema.parse({ name: "w", type: "webex", token: "t", roomId: "r" });
  const issue = fullIssue({ description: "ping <@all> now" });
  const [payload] = webex.render(issue, config);
  assert.ok(!payload!.markdown.includes("<@all>") && !payload!.text.includes("<@all>"));
});

Deno.test("webex.send() retries 429 after Retry-After, then succeeds", async () => {
  await using api = startWebexApi();
  const config = configFor(api);
  const [payload] = webex.render(fullIssue(), config);
  api.failNext({ rateLimit: 3 }, { status: 503, body: "maintenance" });
  const limited = await webex.send(payload!, config, {});
  assert.ok(!limited.ok && limited.retryable && limited.retryAfterMs === 3000);
  const unavailable = await webex.send(payload!, config, {});
  assert.ok(!unavailable.ok && unavailable.retryable);
  const sent = await webex.send(payload!, config, {});
  assert.ok(sent.ok);
  assert.deepEqual(api.calls.map((c) => c.status), [429, 503, 200]);
  assert.equal(api.messages.length, 1);
});

Deno.test("webex.send() fails permanently on a bad token or room, without the token", async () => {
  await using api = startWebexApi();
  const wrong = configFor(api, { token: "wrong-secret-token" });
  const [payload] = webex.render(fullIssue(), wrong);
  const unauthorized = await webex.send(payload!, wrong, {});
  assert.ok(!unauthorized.ok && !unauthorized.retryable);
  assert.match(unauthorized.reason, /^Cannot send to Webex "ops-webex": HTTP 401: .*access token/);
  const noRoom = configFor(api, { roomId: "room-gone" });
  const missing = await webex.send(webex.render(fullIssue(), noRoom)[0]!, noRoom, {});
  assert.ok(!missing.ok && !missing.retryable);
  assert.match(missing.reason, /HTTP 404: Could not find a room/);
  for (const result of [unauthorized, missing]) {
    assert.ok(!result.ok && !result.reason.includes(TOKEN));
    assert.ok(!result.ok && !result.reason.includes("wrong-secret-token"));
  }
  assert.equal(api.messages.length, 0);
});

Deno.test("webex.send() threads the resolution under the firing message", async () => {
  await using api = startWebexApi();
  const config = configFor(api);
  const [firing] = webex.render(fullIssue(), config);
  const first = await webex.send(firing!, config, {});
  assert.ok(first.ok && first.thread);
  const [repeat] = webex.render(fullIssue(), config);
  const second = await webex.send(repeat!, config, { thread: threadOf(first) });
  const [resolved] = webex.render(fullIssue({ status: "resolved" }), config);
  const third = await webex.send(resolved!, config, { thread: threadOf(second) });
  assert.deepEqual(third, { ok: true, thread: { messageId: "msg-1", roomId: "room-1" } });
  assert.deepEqual(api.messages.map((m) => m.parentId), [undefined, "msg-1", "msg-1"]);
  assert.match(api.messages[2]!.markdown!, /^✅ \*\*\[RESOLVED\] HIGH\*\*/);
});

Deno.test("webex.send() replies in the root's room for a direct message", async () => {
  await using api = startWebexApi();
  const config = configFor(api, { roomId: undefined, toPersonEmail: "oncall@example.com" });
  const [payload] = webex.render(fullIssue(), config);
  const first = await webex.send(payload!, config, {});
  assert.deepEqual(first, {
    ok: true,
    thread: { messageId: "msg-1", roomId: "direct-oncall@example.com" },
  });
  const second = await webex.send(payload!, config, { thread: threadOf(first) });
  assert.ok(second.ok);
  assert.equal(api.messages[1]!.parentId, "msg-1");
});

Deno.test("webex.send() posts a new root when the parent was deleted", async () => {
  await using api = startWebexApi();
  const config = configFor(api);
  const [payload] = webex.render(fullIssue(), config);
  const first = await webex.send(payload!, config, {});
  assert.ok(first.ok);
  api.deleteMessage("msg-1");
  const [resolved] = webex.render(fullIssue({ status: "resolved" }), config);
  const second = await webex.send(resolved!, config, { thread: threadOf(first) });
  assert.deepEqual(second, { ok: true, thread: { messageId: "msg-2", roomId: "room-1" } });
  assert.deepEqual(api.calls.map((c) => c.status), [200, 404, 200]);
  assert.equal(api.messages[1]!.parentId, undefined);
  // Later sends thread under the new root.
  const third = await webex.send(resolved!, config, { thread: threadOf(second) });
  assert.ok(third.ok);
  assert.equal(api.messages[2]!.parentId, "msg-2");
});

Deno.test("webex.send() keeps a retryable reply failure retryable", async () => {
  await using api = startWebexApi();
  const config = configFor(api);
  const [payload] = webex.render(fullIssue(), config);
  api.failNext({ rateLimit: 2 });
  const result = await webex.send(payload!, config, {
    thread: { messageId: "msg-9", roomId: "room-1" },
  });
  assert.ok(!result.ok && result.retryable && result.retryAfterMs === 2000);
  assert.equal(api.messages.length, 0);
});

Deno.test("webex.describe() masks the token", () => {
  const config = WebexConfigSchema.parse({
    name: "ops-webex",
    type: "webex",
    token: "very-secret-bot-token",
    roomId: "room-1",
  });
  const [payload] = webex.render(fullIssue(), config);
  const request = webex.describe(payload!, config);
  assert.ok("url" in request);
  assert.equal(request.url, "https://webexapis.com/v1/messages");
  assert.equal(request.headers.authorization, "Bearer ***");
  assert.ok(!JSON.stringify(request).includes("very-secret-bot-token"));
  assert.deepEqual(config.rateLimit, { perSecond: 1, burst: 5 });
});

Deno.test("WebexConfigSchema needs exactly one of roomId and toPersonEmail", () => {
  const base = { name: "w", type: "webex", token: "t" };
  for (const extra of [{}, { roomId: "r", toPersonEmail: "a@example.com" }]) {
    const result = WebexConfigSchema.safeParse({ ...base, ...extra });
    assert.match(result.error?.issues[0]?.message ?? "", /exactly one of roomId and toPersonEmail/);
  }
  assert.ok(WebexConfigSchema.safeParse({ ...base, toPersonEmail: "a@example.com" }).success);
  assert.ok(!WebexConfigSchema.safeParse({ ...base, roomId: "r", apiUrl: "ftp://x" }).success);
});
