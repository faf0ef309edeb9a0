import assert from "node:assert/strict";
import telegram, {
  escapeHtml,
  type TelegramConfig,
  TelegramConfigSchema,
  type TelegramPayload,
  visibleLength,
} from "./telegram.ts";
import { parseHtml, startTelegramApi, type TelegramApi } from "../../tests/_telegram_api.ts";
import { everyBlockIssue, hugeIssue } from "../../tests/_chat_issues.ts";

const TOKEN = "123456789:test-bot-token";
const CHAT = -1001234567890;

function configFor(api: TelegramApi, extra: Record<string, unknown> = {}): TelegramConfig {
  return TelegramConfigSchema.parse({
    name: "ops-tg",
    type: "telegram",
    token: TOKEN,
    chatId: CHAT,
    apiUrl: api.url,
    ...extra,
  });
}

Deno.test("telegram.render() keeps every block type within limits and the API accepts it", async () => {
  await using api = startTelegramApi();
  const config = configFor(api, { messageThreadId: 42 });
  const [payload] = telegram.render(everyBlockIssue(), config);
  const html = payload!.text;
  for (
    const expected of [
      "<b>🔥 [FIRING] HIGH Pod &lt;api&gt; is crash looping &amp; @everyone *now*</b>",
      "<code>team=a&lt;b&gt;&amp;c</code>",
      '<b>Links:</b> <a href="https://runbooks.example/crash">Runbook</a>',
      "<b>▍Everything (all-blocks)</b>",
      "**Memory** is above the limit: 5 &lt; 6 &amp; 7 &gt; 3 @here",
      "<b><u>Resources</u></b>",
      "1. first\n2. second &lt;b&gt;",
      "<b>Limits</b>\n\n<pre>\ncontainer  limit\n---------  -----\napi        512Mi\nside|car   64Mi\n</pre>",
      '<pre><code class="language-json">\n{\n  &quot;nested&quot;: {',
      "<pre>\nline 1\n```\nbreak out\nline 4\n</pre>",
      "🖼️ Image graph.png (12 B): memory graph (not attached)",
      '<pre><code class="language-diff">\n  {\n    &quot;image&quot;: &quot;api:1&quot;,',
      '• <a href="https://grafana.example.com/d/1?a=1&amp;b=(2)">Grafana</a>',
    ]
  ) assert.ok(html.includes(expected), `missing ${JSON.stringify(expected)} in\n${html}`);
  const result = await telegram.send(payload!, config, {});
  assert.deepEqual(result, {
    ok: true,
    thread: { messageId: "100", chatId: String(CHAT), messageThreadId: "42" },
  });
  const [sent] = api.messages;
  assert.equal(sent!.threadId, 42);
  assert.equal(sent!.text.length, visibleLength(html.trim()));
  assert.match(sent!.text, /Pod <api> is crash looping & @everyone/);
});

Deno.test("telegram.render() cuts a huge issue to 4096 visible characters and the API accepts it", async () => {
  await using api = startTelegramApi();
  const config = configFor(api);
  const [payload] = telegram.render(hugeIssue(), config);
  const parsed = parseHtml(payload!.text);
  assert.ok("text" in parsed, JSON.stringify(parsed));
  assert.ok(parsed.text.length <= 4096 && parsed.text.length > 3900, `${parsed.text.length}`);
  assert.ok(payload!.text.length > 4096, "markup does not count against the limit");
  assert.match(payload!.text, /<i>… [\d,]+ more characters and \d+ more blocks cut<\/i>$/);
  assert.ok((await telegram.send(payload!, config, {})).ok);
});

Deno.test("telegram.send() fails on markup Telegram cannot parse, naming the error", async () => {
  await using api = startTelegramApi();
  const config = configFor(api);
  const [good] = telegram.render(everyBlockIssue(), config);
  const cases: [string, RegExp][] = [
    ["<b>open", /can't parse entities: Can't find end tag corresponding to start tag "b"/],
    ["<b>x</i>", /Unmatched end tag at byte offset 4, expected "<\/b>", found "<\/i>"/],
    ["<h1>x</h1>", /Unsupported start tag "h1" at byte offset 0/],
    ["a & b", /Can't find end of the entity starting at byte offset 2/],
    ["&nbsp;", /Unsupported HTML entity/],
    ["<pre><b>x</b></pre>", /Unsupported start tag "b" inside "pre"/],
    ["<b> </b>", /Bad Request: message text is empty/],
    ["x".repeat(4097), /Bad Request: message is too long/],
  ];
  for (const [text, reason] of cases) {
    const result = await telegram.send({ ...good!, text }, config, {});
    assert.ok(!result.ok && !result.retryable, JSON.stringify(result));
    assert.match(result.reason, reason);
    assert.match(result.reason, /\(error_code 400\)$/);
  }
  const exact = await telegram.send(
    { ...good!, text: `<b>${"&amp;".repeat(4096)}</b>` },
    config,
    {},
  );
  assert.ok(exact.ok, "4096 visible characters are allowed");
  assert.equal(api.messages.length, 1);
});

Deno.test("telegram.send() waits parameters.retry_after from a 429, then succeeds", async () => {
  await using api = startTelegramApi({ perChat: { messages: 1, windowMs: 60_000 } });
  const config = configFor(api);
  const [payload] = telegram.render(everyBlockIssue(), config);
  api.failNext({ retryAfter: 7 }, { status: 502, body: "Bad Gateway" });
  const limited = await telegram.send(payload!, config, {});
  assert.ok(!limited.ok && limited.retryable && limited.retryAfterMs === 7000);
  assert.match(limited.reason, /Too Many Requests: retry after 7 \(error_code 429\)/);
  const gateway = await telegram.send(payload!, config, {});
  assert.ok(!gateway.ok && gateway.retryable);
  assert.ok((await telegram.send(payload!, config, {})).ok);
  const perChat = await telegram.send(payload!, config, {});
  assert.ok(!perChat.ok && perChat.retryable && perChat.retryAfterMs === 60_000);
  assert.equal(api.messages.length, 1);
});

Deno.test("telegram.send() fails permanently on a bad token or chat, without the token", async () => {
  await using api = startTelegramApi();
  const wrong = configFor(api, { token: "123456789:wrong-secret-token" });
  const [payload] = telegram.render(everyBlockIssue(), wrong);
  const unauthorized = await telegram.send(payload!, wrong, {});
  assert.ok(!unauthorized.ok && !unauthorized.retryable);
  assert.equal(
    unauthorized.reason,
    'Cannot send to Telegram "ops-tg": sendMessage failed: Unauthorized (error_code 401)',
  );
  const nowhere = configFor(api, { chatId: "@nowhere_chat" });
  const missing = await telegram.send(telegram.render(everyBlockIssue(), nowhere)[0]!, nowhere, {});
  assert.ok(!missing.ok && !missing.retryable && /chat not found/.test(missing.reason));
  api.failNext({ status: 404, body: `no bot ${TOKEN} here` });
  const proxy = await telegram.send(payload!, configFor(api), {});
  assert.ok(!proxy.ok && !proxy.retryable);
  for (const result of [unauthorized, missing, proxy]) {
    assert.ok(!result.ok && !result.reason.includes("secret-token"));
    assert.ok(!result.reason.includes("test-bot-token"), result.ok ? "" : result.reason);
  }
});

Deno.test("telegram.send() replies to the first message in its chat and topic", async () => {
  await using api = startTelegramApi({ chats: { [String(CHAT)]: [42], "-1009999": [] } });
  const config = configFor(api, { messageThreadId: 42 });
  const first = await telegram.send(telegram.render(everyBlockIssue(), config)[0]!, config, {});
  assert.ok(first.ok && first.thread);
  // The config moves to another chat; this fingerprint's messages stay in the first one.
  const moved = configFor(api, { chatId: -1009999 });
  const resolvedIssue = everyBlockIssue({ status: "resolved", endsAt: "2026-03-01T10:30:00Z" });
  for (const issue of [everyBlockIssue(), resolvedIssue]) {
    const [payload] = telegram.render(issue, moved);
    const result = await telegram.send(payload!, moved, { thread: first.thread });
    assert.deepEqual(result, first);
  }
  assert.deepEqual(api.messages.map((m) => [m.chatId, m.threadId, m.replyTo]), [
    [String(CHAT), 42, undefined],
    [String(CHAT), 42, 100],
    [String(CHAT), 42, 100],
  ]);
  assert.match(api.messages[2]!.text, /^✅ \[RESOLVED\] HIGH/);

  const gone = await telegram.send(telegram.render(resolvedIssue, config)[0]!, config, {
    thread: { messageId: "99999", chatId: String(CHAT), messageThreadId: "42" },
  });
  assert.ok(gone.ok, "a deleted root does not block the resolution");
  assert.equal(api.messages.at(-1)!.replyTo, undefined);
});

Deno.test("telegram.describe() masks the token in the URL", () => {
  const config = TelegramConfigSchema.parse({
    name: "ops-tg",
    type: "telegram",
    token: "42:very-secret-token",
    chatId: "@ops_alerts",
  });
  const [payload] = telegram.render(everyBlockIssue(), config) as [TelegramPayload];
  const request = telegram.describe(payload, config);
  assert.ok("url" in request);
  assert.equal(request.url, "https://api.telegram.org/bot***/sendMessage");
  assert.ok(!JSON.stringify(request).includes("very-secret-token"));
  assert.equal(JSON.parse(request.body).chat_id, "@ops_alerts");
});

Deno.test("escapeHtml() output always parses back to the input", () => {
  const input = 'a <b> & "c" &amp; </pre> <a href="x">';
  const parsed = parseHtml(escapeHtml(input));
  assert.deepEqual(parsed, { text: input });
});

Deno.test("TelegramConfigSchema rejects a bad token and chat id", () => {
  const result = TelegramConfigSchema.safeParse({
    name: "t",
    type: "telegram",
    token: "not-a-token",
    chatId: "ops",
  });
  assert.deepEqual(result.error?.issues.map((i) => i.path.join(".")), ["token", "chatId"]);
});
