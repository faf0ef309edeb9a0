import assert from "node:assert/strict";
import mattermost, {
  type MattermostConfig,
  MattermostConfigSchema,
  RESOLVED_COLOR,
  SEVERITY_COLORS,
} from "./mattermost.ts";
import { type MattermostApi, startMattermostApi } from "../../tests/_mattermost_api.ts";
import { everyBlockIssue, hugeIssue } from "../../tests/_chat_issues.ts";

const KEY = "test-hook-key";

function configFor(api: MattermostApi, extra: Record<string, unknown> = {}): MattermostConfig {
  return MattermostConfigSchema.parse({
    name: "ops-mm",
    type: "mattermost",
    url: api.hookUrl,
    ...extra,
  });
}

Deno.test("mattermost.render() keeps every block type within limits and the server accepts it", async () => {
  await using api = startMattermostApi();
  const config = configFor(api, { username: "cano", iconEmoji: ":fire:" });
  const [payload] = mattermost.render(everyBlockIssue(), config);
  const text = payload!.text;
  for (
    const expected of [
      "🔥 **[FIRING] HIGH** Pod \\<api\\> is crash looping & @\u200beveryone \\*now\\*",
      "**Subject:** Pod shop/api-7c9d8b6f5-x2kqp (container api)",
      "**Labels:** `alertname=KubePodCrashLooping` `namespace=shop` `team=a<b>&c`",
      "**Links:** [Runbook](https://runbooks.example/crash)",
      "### Everything (all-blocks)",
      "**Limits**\n\n| container | limit |\n| --- | --- |\n| api | 512Mi |\n| side\\|car | 64Mi |",
      '```json\n{\n  "nested": {',
      "```\nline 1\n`\u200b`\u200b`\nbreak out\nline 4\n```",
      "🖼️ Image graph.png (12 B): memory graph (not attached)",
      '```diff\n  {\n    "image": "api:1",\n-   "replicas": 2\n+   "replicas": 3\n  }\n```',
      "\n\n---\n\n",
    ]
  ) assert.ok(text.includes(expected), `missing ${JSON.stringify(expected)} in\n${text}`);
  assert.deepEqual(payload!.attachments[0].color, SEVERITY_COLORS.HIGH);
  assert.deepEqual(payload!.attachments[0].fields.map((f) => f.title), [
    "Severity",
    "Status",
    "Subject",
    "Cluster",
  ]);
  const result = await mattermost.send(payload!, config, {});
  assert.deepEqual(result, { ok: true });
  assert.equal(api.posts[0]!.channel, "alerts");
  assert.equal(api.posts[0]!.body.icon_emoji, ":fire:");
});

Deno.test("mattermost.render() cuts a huge issue to 16383 characters and the server accepts it", async () => {
  await using api = startMattermostApi();
  const config = configFor(api);
  const [payload] = mattermost.render(hugeIssue(), config);
  assert.ok(payload!.text.length <= 16_383 && payload!.text.length > 16_000);
  assert.match(payload!.text, /_… [\d,]+ more characters and \d+ more blocks cut_$/);
  const fences = payload!.text.split("\n").filter((l) => /^```/.test(l)).length;
  assert.equal(fences % 2, 0, "every code fence is closed");
  assert.deepEqual(await mattermost.send(payload!, config, {}), { ok: true });

  const over = { ...payload!, text: payload!.text + "x".repeat(100) };
  const rejected = await mattermost.send(over, config, {});
  assert.ok(!rejected.ok && !rejected.retryable);
  assert.match(
    rejected.reason,
    /HTTP 400: Invalid Message\. \(model\.post\.is_valid\.msg\.app_error\)/,
  );
});

Deno.test("mattermost.send() retries 429 after Retry-After, then succeeds", async () => {
  await using api = startMattermostApi();
  const config = configFor(api);
  const [payload] = mattermost.render(everyBlockIssue(), config);
  api.failNext({ rateLimit: 3 }, { status: 503, body: "maintenance" });
  const limited = await mattermost.send(payload!, config, {});
  assert.ok(!limited.ok && limited.retryable && limited.retryAfterMs === 3000);
  const down = await mattermost.send(payload!, config, {});
  assert.ok(!down.ok && down.retryable);
  assert.ok((await mattermost.send(payload!, config, {})).ok);
  assert.equal(api.posts.length, 1);
});

Deno.test("mattermost.send() fails permanently on a bad key, channel or body", async () => {
  await using api = startMattermostApi({ locked: true });
  const good = configFor(api);
  const [payload] = mattermost.render(everyBlockIssue(), good);
  const wrongKey = configFor(api, { url: api.hookUrl.replace(KEY, "wrong-secret-key") });
  const cases = [
    [await mattermost.send(payload!, wrongKey, {}), /HTTP 400: Invalid webhook\./],
    [
      await mattermost.send({ ...payload!, channel: "nowhere" }, good, {}),
      /Couldn't find the channel/,
    ],
    [
      await mattermost.send({ ...payload!, channel: "town-square" }, good, {}),
      /HTTP 403: This webhook is not permitted/,
    ],
    [
      await mattermost.send(
        {
          ...payload!,
          attachments: [{ ...payload!.attachments[0], color: "red" }],
        },
        good,
        {},
      ),
      /HTTP 400: Invalid webhook\. \(web\.incoming_webhook\.invalid\.app_error\)/,
    ],
  ] as const;
  for (const [result, reason] of cases) {
    assert.ok(!result.ok && !result.retryable, JSON.stringify(result));
    assert.match(result.reason, reason);
    assert.ok(!result.reason.includes(KEY) && !result.reason.includes("wrong-secret-key"));
  }
  assert.equal(api.posts.length, 0);
});

Deno.test("mattermost.send() posts the repeat and the resolution to the first post's channel", async () => {
  await using api = startMattermostApi();
  const first = configFor(api, { channel: "town-square" });
  const firing = await mattermost.send(mattermost.render(everyBlockIssue(), first)[0]!, first, {});
  assert.deepEqual(firing, { ok: true, thread: { channel: "town-square" } });
  const moved = configFor(api, { channel: "@alice" });
  const resolvedIssue = everyBlockIssue({ status: "resolved", endsAt: "2026-03-01T10:30:00Z" });
  const resolved = await mattermost.send(mattermost.render(resolvedIssue, moved)[0]!, moved, {
    thread: firing.ok ? firing.thread! : {},
  });
  assert.deepEqual(resolved, { ok: true, thread: { channel: "town-square" } });
  assert.deepEqual(api.posts.map((p) => p.channel), ["town-square", "town-square"]);
  const body = api.posts[1]!.body as { text: string; attachments: { color: string }[] };
  assert.match(body.text, /^✅ \*\*\[RESOLVED\] HIGH\*\*/);
  assert.match(
    body.text,
    /\*\*Ended:\*\* 2026-03-01T10:30:00Z/,
  );
  assert.equal(body.attachments[0]!.color, RESOLVED_COLOR);
});

Deno.test("mattermost.describe() masks the hook key", () => {
  const config = MattermostConfigSchema.parse({
    name: "ops-mm",
    type: "mattermost",
    url: "https://chat.example.com/hooks/abcdefsecret",
  });
  const request = mattermost.describe(mattermost.render(everyBlockIssue(), config)[0]!, config);
  assert.ok("url" in request);
  assert.equal(request.url, "https://chat.example.com/hooks/***");
  assert.ok(!JSON.stringify(request).includes("abcdefsecret"));
});

Deno.test("MattermostConfigSchema rejects a bad url and channel", () => {
  const result = MattermostConfigSchema.safeParse({
    name: "m",
    type: "mattermost",
    url: "https://chat.example.com/api/v4/posts",
    channel: "#alerts",
  });
  assert.deepEqual(result.error?.issues.map((i) => i.path.join(".")), ["url", "channel"]);
});
