import assert from "node:assert/strict";
import type { Issue } from "@cano/sdk";
import discord, {
  type DiscordConfig,
  DiscordConfigSchema,
  type DiscordPayload,
  RESOLVED_COLOR,
  SEVERITY_COLORS,
} from "./discord.ts";
import type { SendResult, ThreadState } from "./destination.ts";
import { type DiscordApi, startDiscordApi } from "../../tests/_discord_api.ts";
import { everyBlockIssue, hugeIssue } from "../../tests/_chat_issues.ts";

const TOKEN = "test-webhook-token";

function configFor(api: DiscordApi, extra: Record<string, unknown> = {}): DiscordConfig {
  return DiscordConfigSchema.parse({
    name: "ops-discord",
    type: "discord",
    url: api.webhookUrl,
    ...extra,
  });
}

async function deliver(issue: Issue, config: DiscordConfig, thread?: ThreadState) {
  const results: SendResult[] = [];
  for (const payload of discord.render(issue, config)) {
    const result = await discord.send(payload, config, thread ? { thread } : {});
    results.push(result);
    if (result.ok && result.thread) thread = result.thread;
  }
  return { results, thread };
}

function embedSize(payload: DiscordPayload["root"]): number {
  return payload.embeds.reduce(
    (n, e) =>
      n + e.title.length + e.description.length + e.footer.text.length +
      e.fields.reduce((m, f) => m + f.name.length + f.value.length, 0),
    0,
  );
}

Deno.test("discord.render() keeps every block type within limits and the API accepts it", async () => {
  await using api = startDiscordApi();
  const config = configFor(api);
  const issue = everyBlockIssue();
  const [payload] = discord.render(issue, config);
  const embed = payload!.root.embeds[0];
  assert.equal(embed.title, "🔥 [FIRING] HIGH Pod <api> is crash looping & @everyone *now*");
  assert.equal(embed.color, SEVERITY_COLORS.HIGH);
  assert.deepEqual(payload!.root.allowed_mentions, { parse: [] });
  const text = embed.description;
  for (
    const expected of [
      "### Everything (all-blocks)",
      "**Memory** is above the limit: 5 < 6 & 7 > 3 @\u200bhere",
      "**Resources**",
      "1. first\n2. second <b>",
      "**Limits**\n\n```\ncontainer  limit\n---------  -----\napi        512Mi",
      '```json\n{\n  "nested": {',
      "📎 File previous.log (text/plain, 27 B, 4 lines):\n\n```\nline 1\n`\u200b`\u200b`\nbreak out",
      "📎 File dump.bin (text/plain, 4 B, binary)",
      "🖼️ Image graph.png (12 B): memory graph (not attached)",
      '```diff\n  {\n    "image": "api:1",\n-   "replicas": 2\n+   "replicas": 3\n  }\n```',
      "- [Grafana](https://grafana.example.com/d/1?a=1&b=%282%29)",
      "**Labels:** `alertname=KubePodCrashLooping` `namespace=shop`",
    ]
  ) assert.ok(text.includes(expected), `missing ${JSON.stringify(expected)} in\n${text}`);
  assert.ok(!text.includes("… "), "nothing is cut");
  assert.deepEqual(embed.fields.map((f) => f.name), [
    "Severity",
    "Status",
    "Subject",
    "Cluster",
    "Source",
  ]);

  const { results, thread } = await deliver(issue, config);
  assert.ok(results.every((r) => r.ok), JSON.stringify(results));
  assert.deepEqual(thread, { messageId: api.messages[0]!.id });
  assert.equal(api.calls[0]!.path.endsWith("?wait=true"), true);
});

Deno.test("discord.render() cuts a huge issue to 6000 characters and the API accepts it", async () => {
  await using api = startDiscordApi();
  const config = configFor(api, { mentions: ["<@123456789012345678>", "<@&223456789012345678>"] });
  const issue = hugeIssue();
  const [payload] = discord.render(issue, config);
  for (const message of [payload!.root, payload!.reply]) {
    const embed = message.embeds[0];
    assert.ok(embed.title.length <= 256 && embed.title.endsWith("…"));
    assert.ok(embed.description.length <= 4096 && embed.description.length > 3900);
    assert.ok(embedSize(message) <= 6000, `${embedSize(message)}`);
    assert.match(embed.description, /\*… [\d,]+ more characters and \d+ more blocks cut\*$/);
    const fences = embed.description.split("\n").filter((l) => /^```/.test(l)).length;
    assert.equal(fences % 2, 0, "every code fence is closed");
  }
  assert.equal(payload!.root.content, "<@123456789012345678> <@&223456789012345678>");
  assert.deepEqual(payload!.root.allowed_mentions, {
    parse: [],
    users: ["123456789012345678"],
    roles: ["223456789012345678"],
  });
  const { results, thread } = await deliver(issue, config);
  assert.ok(results[0]!.ok, JSON.stringify(results));
  const resolved = await deliver({ ...issue, status: "resolved" }, config, thread);
  assert.ok(resolved.results[0]!.ok, JSON.stringify(resolved.results));
  assert.deepEqual(api.calls.map((c) => c.status), [200, 200, 200]);
});

Deno.test("discord.send() waits retry_after from the 429 body, then succeeds", async () => {
  await using api = startDiscordApi();
  const config = configFor(api);
  const [payload] = discord.render(everyBlockIssue(), config);
  api.failNext({ rateLimit: 1.337 }, { rateLimit: 0.2, global: true }, { status: 502 });
  const first = await discord.send(payload!, config, {});
  assert.ok(!first.ok && first.retryable && first.retryAfterMs === 1337, JSON.stringify(first));
  assert.match(first.reason, /^Cannot send to Discord "ops-discord": POST was rate limited/);
  const global = await discord.send(payload!, config, {});
  assert.ok(!global.ok && global.retryAfterMs === 200 && /\(global\)/.test(global.reason));
  const bad = await discord.send(payload!, config, {});
  assert.ok(!bad.ok && bad.retryable && bad.retryAfterMs === undefined);
  assert.ok((await discord.send(payload!, config, {})).ok);
  assert.equal(api.messages.length, 1);
});

Deno.test("discord.send() is limited by the webhook bucket and succeeds after the wait", async () => {
  await using api = startDiscordApi({ bucket: { requests: 2, windowMs: 300 } });
  const config = configFor(api);
  const [payload] = discord.render(everyBlockIssue(), config);
  assert.ok((await discord.send(payload!, config, {})).ok);
  assert.ok((await discord.send(payload!, config, {})).ok);
  const limited = await discord.send(payload!, config, {});
  assert.ok(!limited.ok && limited.retryable && limited.retryAfterMs! <= 300);
  await new Promise((resolve) => setTimeout(resolve, limited.retryAfterMs! + 20));
  assert.ok((await discord.send(payload!, config, {})).ok);
});

Deno.test("discord.send() fails permanently on a malformed message and a bad token", async () => {
  await using api = startDiscordApi();
  const config = configFor(api);
  const [good] = discord.render(everyBlockIssue(), config);
  const bad = structuredClone(good!);
  bad.root.embeds[0].title = "t".repeat(257);
  bad.root.embeds[0].fields = Array.from(
    { length: 26 },
    () => ({ name: "n", value: "v", inline: true }),
  );
  const invalid = await discord.send(bad, config, {});
  assert.ok(!invalid.ok && !invalid.retryable);
  assert.match(
    invalid.reason,
    /HTTP 400: Invalid Form Body \(code 50035\) \[embeds\.0\.title: BASE_TYPE_MAX_LENGTH; embeds\.0\.fields: BASE_TYPE_MAX_LENGTH/,
  );
  const empty = structuredClone(good!);
  empty.root.embeds[0].description = "d".repeat(4097);
  const tooLong = await discord.send(empty, config, {});
  assert.ok(!tooLong.ok && /embeds\.0\.description: BASE_TYPE_MAX_LENGTH/.test(tooLong.reason));

  const wrong = configFor(api, { url: api.webhookUrl.replace(TOKEN, "wrong-secret-token") });
  const unauthorized = await discord.send(good!, wrong, {});
  assert.ok(!unauthorized.ok && !unauthorized.retryable);
  assert.match(unauthorized.reason, /HTTP 401: Invalid Webhook Token \(code 50027\)/);
  for (const result of [invalid, tooLong, unauthorized]) {
    assert.ok(
      !result.ok && !result.reason.includes(TOKEN) && !result.reason.includes("wrong-secret"),
    );
  }
  api.failNext({ status: 404, body: `no webhook at ${api.webhookUrl}` });
  const notFound = await discord.send(good!, config, {});
  assert.ok(!notFound.ok && !notFound.reason.includes(TOKEN), notFound.ok ? "" : notFound.reason);
  assert.equal(api.messages.length, 0);
});

Deno.test("discord.send() edits the root and posts repeats and the resolution where it went", async () => {
  await using api = startDiscordApi();
  const config = configFor(api, { threadId: "2222222222222222222" });
  const firing = everyBlockIssue();
  const first = await deliver(firing, config);
  assert.deepEqual(first.thread, {
    messageId: api.messages[0]!.id,
    threadId: "2222222222222222222",
  });
  // The config changes; the issue's messages stay where they started.
  const moved = configFor(api);
  const again = await deliver(firing, moved, first.thread);
  const resolved = await deliver(
    everyBlockIssue({ status: "resolved", endsAt: "2026-03-01T10:30:00Z" }),
    moved,
    again.thread,
  );
  assert.deepEqual(resolved.thread, first.thread);
  assert.equal(api.messages.length, 3);
  assert.ok(api.messages.every((m) => m.threadId === "2222222222222222222"));
  const [root, repeat, resolution] = api.messages as [
    typeof api.messages[0],
    ...typeof api.messages,
  ];
  assert.equal(root.edits, 2);
  const rootEmbed = (root.body.embeds as { title: string; color: number }[])[0]!;
  assert.match(rootEmbed.title, /^✅ \[RESOLVED\] HIGH/);
  assert.equal(rootEmbed.color, RESOLVED_COLOR);
  assert.match(JSON.stringify(repeat!.body), /🔁 Firing again: 🔥 \[FIRING\]/);
  assert.match(JSON.stringify(resolution!.body), /"title":"✅ \[RESOLVED\]/);
  const prefix = new URL(api.webhookUrl).pathname;
  const thread = "thread_id=2222222222222222222";
  assert.deepEqual(api.calls.map((c) => `${c.method} ${c.path.replace(prefix, "")} ${c.status}`), [
    `POST ?wait=true&${thread} 200`,
    `PATCH /messages/${root.id}?${thread} 200`,
    `POST ?wait=true&${thread} 200`,
    `PATCH /messages/${root.id}?${thread} 200`,
    `POST ?wait=true&${thread} 200`,
  ]);
});

Deno.test("discord.send() posts a new root when the old one is gone", async () => {
  await using api = startDiscordApi();
  const config = configFor(api);
  const [payload] = discord.render(everyBlockIssue(), config);
  const result = await discord.send(payload!, config, {
    thread: { messageId: "999999999999999999" },
  });
  assert.ok(result.ok);
  assert.deepEqual(result.thread, { messageId: api.messages[0]!.id });
  assert.deepEqual(api.calls.map((c) => [c.method, c.status, c.code]), [
    ["PATCH", 404, 10008],
    ["POST", 200, undefined],
  ]);
});

Deno.test("discord.describe() masks the webhook token", () => {
  const config = DiscordConfigSchema.parse({
    name: "ops-discord",
    type: "discord",
    url: "https://discord.com/api/webhooks/1234/very-secret-token",
    threadId: "2222222222222222222",
  });
  const [payload] = discord.render(everyBlockIssue({ status: "resolved" }), config);
  const request = discord.describe(payload!, config);
  assert.ok("url" in request);
  assert.equal(
    request.url,
    "https://discord.com/api/webhooks/1234/***?wait=true&thread_id=2222222222222222222",
  );
  assert.ok(!JSON.stringify(request).includes("very-secret-token"));
  assert.equal(JSON.parse(request.body).embeds[0].color, RESOLVED_COLOR);
});

Deno.test("DiscordConfigSchema rejects a bad url, mention and username", () => {
  const result = DiscordConfigSchema.safeParse({
    name: "d",
    type: "discord",
    url: "https://discord.com/api/channels/1",
    mentions: ["@bob"],
    username: "Discord bot",
  });
  assert.deepEqual(result.error?.issues.map((i) => i.path.join(".")), [
    "url",
    "username",
    "mentions.0",
  ]);
  const ok = DiscordConfigSchema.parse({
    name: "d",
    type: "discord",
    url: "https://discord.com/api/webhooks/1/t",
  });
  assert.deepEqual(ok.rateLimit, { perSecond: 0.5, burst: 5 });
});
