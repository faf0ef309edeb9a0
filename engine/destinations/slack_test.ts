import assert from "node:assert/strict";
import { file, image, type Issue, IssueSchema, markdown, table } from "@cano/sdk";
import slack, {
  RESOLVED_COLOR,
  SEVERITY_COLORS,
  type SlackConfig,
  SlackConfigSchema,
  type SlackPayload,
} from "./slack.ts";
import { blockTextLength, SLACK_MAX_BLOCKS, SLACK_MAX_BLOCKS_TEXT } from "./_slack_blocks.ts";
import type { ThreadState } from "./destination.ts";
import { type SlackApi, startSlackApi } from "../../tests/_slack_api.ts";

const TOKEN = "xoxb-test-token";

function configFor(api: SlackApi, extra: Record<string, unknown> = {}): SlackConfig {
  return SlackConfigSchema.parse({
    name: "ops-slack",
    type: "slack",
    token: TOKEN,
    channel: "#alerts",
    apiUrl: api.url,
    ...extra,
  });
}

function issueWith(fields: Record<string, unknown> = {}): Issue {
  return IssueSchema.parse({
    id: "7d0c",
    fingerprint: "3f2a9c1b7d4e8a60",
    aggregationKey: "KubePodCrashLooping",
    cluster: "prod",
    type: "alert",
    source: "prometheus",
    title: "Pod is crash looping",
    severity: "HIGH",
    status: "firing",
    subject: { kind: "Pod", name: "api-1", namespace: "shop" },
    labels: { alertname: "KubePodCrashLooping", namespace: "shop" },
    startsAt: "2026-03-01T10:12:04Z",
    createdAt: "2026-03-01T10:12:05Z",
    links: [{ title: "Runbook", url: "https://runbooks.example.com/crashloop" }],
    ...fields,
  });
}

/** Sends every payload in order, keeping the thread state as the dispatcher does. */
async function deliver(
  issue: Issue,
  config: SlackConfig,
  thread?: ThreadState,
): Promise<ThreadState | undefined> {
  for (const payload of slack.render(issue, config)) {
    const result = await slack.send(payload, config, thread ? { thread } : {});
    assert.ok(result.ok, JSON.stringify(result));
    if (result.thread) thread = result.thread;
  }
  return thread;
}

function rootOf(api: SlackApi) {
  const roots = api.messages.filter((m) => m.threadTs === undefined);
  assert.equal(roots.length, 1);
  return roots[0]!;
}

Deno.test("slack.send() posts a root, then repeats and the resolution into its thread", async () => {
  await using api = startSlackApi();
  const config = configFor(api, { mentions: ["here", "U012AB3CD"] });
  const firing = issueWith({
    enrichments: [{ workflow: "logs", blocks: [file("previous.log", "x\n".repeat(500))] }],
  });

  const thread = await deliver(firing, config);
  const root = rootOf(api);
  assert.deepEqual(thread, { ts: root.ts, channel: "C0ALERTS" });
  assert.match(String(root.body.text), /<!here> <@U012AB3CD>$/);
  const uploaded = [...api.files.values()];
  assert.equal(uploaded.length, 1);
  assert.deepEqual(uploaded[0]!.shared, {
    channel: "C0ALERTS",
    threadTs: root.ts,
    title: "previous.log",
  });
  assert.equal(new TextDecoder().decode(uploaded[0]!.bytes), "x\n".repeat(500));
  const uploadCall = api.calls.find((c) => c.method.startsWith("upload/"));
  assert.equal(uploadCall?.authorization, null, "the token never goes to the upload URL");

  assert.deepEqual(await deliver(firing, config, thread), thread);
  const resolved = issueWith({ status: "resolved", endsAt: "2026-03-01T10:30:00Z" });
  assert.deepEqual(await deliver(resolved, config, thread), thread);

  const replies = api.messages.filter((m) => m.threadTs === root.ts);
  assert.equal(replies.length, 2);
  assert.match(JSON.stringify(replies[0]!.body.blocks), /Firing again/);
  assert.match(JSON.stringify(replies[1]!.body.blocks), /Resolved\* at 2026-03-01T10:30:00Z/);
  assert.equal(root.updates, 2);
  const body = root.body as { text: string; blocks: { text?: { text: string } }[] };
  assert.match(body.blocks[0]!.text!.text, /^✅ RESOLVED: Pod is crash looping$/);
  assert.deepEqual(root.body.attachments, [{
    color: RESOLVED_COLOR,
    blocks: [{ type: "context", elements: [{ type: "mrkdwn", text: "_No enrichments_" }] }],
  }]);
  assert.ok(!body.text.includes("<!here>"), "a resolution mentions nobody");
  assert.equal(api.files.size, 2, "the repeat's log went into the thread too");
});

Deno.test("slack.send() posts a new root when the old one is gone", async () => {
  await using api = startSlackApi();
  const config = configFor(api);
  const result = await slack.send(slack.render(issueWith(), config)[0]!, config, {
    thread: { ts: "1.000000", channel: "C0ALERTS" },
  });
  assert.ok(result.ok);
  assert.equal(result.thread?.ts, rootOf(api).ts);
  assert.deepEqual(api.calls.map((c) => c.outcome), ["message_not_found", "ok"]);
});

Deno.test("slack.render() keeps a huge issue within Slack's limits", async () => {
  await using api = startSlackApi();
  const config = configFor(api);
  const rows = Array.from({ length: 400 }, (_, i) => [`pod-${i}`, "Running", "x".repeat(30)]);
  const issue = issueWith({
    title: "T".repeat(400),
    description: "D".repeat(9000),
    labels: Object.fromEntries(
      Array.from({ length: 200 }, (_, i) => [`label${i}`, "v".repeat(40)]),
    ),
    links: Array.from({ length: 30 }, (_, i) => ({
      title: "L".repeat(100),
      url: `https://example.com/${i}`,
    })),
    enrichments: Array.from({ length: 12 }, (_, e) => ({
      workflow: `wf-${e}`,
      title: "W".repeat(300),
      blocks: [
        markdown(`**bold** <script> & [link](https://example.com/a?b=1&c=2) ${"m".repeat(5000)}`),
        table(["pod", "phase", "note"], rows),
        image("graph.png", new Uint8Array([0x89, 0x50, 0x4e, 0x47]), "memory"),
      ],
    })),
  });
  const payloads = slack.render(issue, config);
  const [message, ...uploads] = payloads as [Extract<SlackPayload, { kind: "message" }>];
  assert.equal(uploads.length, 10);
  for (const msg of [message.root, message.reply]) {
    const all = [...msg.blocks, ...msg.attachments[0].blocks];
    assert.ok(all.length <= SLACK_MAX_BLOCKS, `${all.length} blocks`);
    const chars = all.reduce((n, b) => n + blockTextLength(b), 0);
    assert.ok(chars <= SLACK_MAX_BLOCKS_TEXT && chars > SLACK_MAX_BLOCKS_TEXT - 3000, `${chars}`);
    assert.match(JSON.stringify(all), /more blocks not shown: Slack message limits/);
  }
  assert.match(JSON.stringify(message.root.blocks), /14 more files not uploaded/);
  assert.match(JSON.stringify(message.root.blocks[0]), /…/);
  assert.match(JSON.stringify(message.root), /&lt;script&gt; &amp;/);
  assert.match(JSON.stringify(message.root), /<https:\/\/example.com\/a\?b=1&amp;c=2\|link>/);

  const thread = await deliver(issue, config);
  await deliver(issueWith({ ...issue, status: "resolved" }), config, thread);
  assert.equal(api.calls.filter((c) => c.outcome !== "ok").length, 0, JSON.stringify(api.calls));
  assert.equal(api.files.size, 20);
});

Deno.test("slack.send() fails a payload the API rejects, naming Slack's error", async () => {
  await using api = startSlackApi();
  const config = configFor(api);
  const [good] = slack.render(issueWith(), config) as [Extract<SlackPayload, { kind: "message" }>];
  const bad = (change: (p: typeof good) => void) => {
    const copy = structuredClone(good);
    change(copy);
    return copy;
  };
  const cases: [SlackPayload, RegExp][] = [
    [
      bad((p) => p.root.blocks[0] = header("h".repeat(151))),
      /invalid_blocks \(blocks\/0\/text\/text is longer than 150\)/,
    ],
    [
      bad((p) => p.root.blocks.push(...Array(50).fill({ type: "divider" }))),
      /invalid_blocks.*more than 50/,
    ],
    [bad((p) => p.root.attachments[0].color = "red"), /invalid_attachments/],
    [bad((p) => p.root.blocks = Array(2).fill({ type: "divider", block_id: "x" })), /not unique/],
    [
      bad((p) =>
        p.root.blocks[1] = { type: "section", text: { type: "mrkdwn", text: "s".repeat(3001) } }
      ),
      /longer than 3000/,
    ],
    [
      bad((p) =>
        p.root.blocks[1] = { type: "section", text: { type: "mrkdwn", text: "", emoji: true } }
      ),
      /non-empty/,
    ],
  ];
  for (const [payload, reason] of cases) {
    const result = await slack.send(payload, config, {});
    assert.ok(!result.ok && !result.retryable, JSON.stringify(result));
    assert.match(result.reason, reason);
  }
  assert.equal(api.messages.length, 0);
});

function header(text: string) {
  return { type: "header" as const, text: { type: "plain_text" as const, text } };
}

Deno.test("slack.send() retries 429 and ratelimited after Retry-After, and 5xx", async () => {
  await using api = startSlackApi();
  const config = configFor(api);
  const [payload] = slack.render(issueWith(), config);
  api.failNext(
    { status: 429, retryAfter: "30", body: "" },
    { error: "ratelimited", retryAfter: "2" },
    { status: 503 },
    { error: "internal_error" },
  );
  const results = [];
  for (let i = 0; i < 5; i++) results.push(await slack.send(payload!, config, {}));
  assert.deepEqual(results.slice(0, 4).map((r) => !r.ok && [r.retryable, r.retryAfterMs]), [
    [true, 30_000],
    [true, 2000],
    [true, undefined],
    [true, undefined],
  ]);
  assert.ok(results[4]!.ok && results[4]!.thread?.ts);
});

Deno.test("slack.send() fails permanently on invalid_auth and channel_not_found", async () => {
  await using api = startSlackApi();
  const wrong = configFor(api, { token: "xoxb-wrong-secret" });
  const [payload] = slack.render(issueWith(), wrong);
  const unauthorized = await slack.send(payload!, wrong, {});
  assert.ok(!unauthorized.ok && !unauthorized.retryable);
  assert.match(
    unauthorized.reason,
    /^Cannot send to Slack "ops-slack": chat.postMessage failed: invalid_auth$/,
  );
  const nowhere = configFor(api, { channel: "#nowhere" });
  const missing = await slack.send(payload!, nowhere, {});
  assert.ok(!missing.ok && !missing.retryable);
  assert.match(missing.reason, /channel_not_found/);
  api.failNext({ status: 404, body: `token ${TOKEN} not found` });
  const notFound = await slack.send(payload!, configFor(api), {});
  assert.ok(!notFound.ok && !notFound.retryable);
  assert.match(notFound.reason, /HTTP 404: token \*\*\* not found/);
  assert.ok(api.calls.every((c) => c.authorization?.startsWith("Bearer xoxb-")));
});

Deno.test("slack.describe() masks the token and shows the exact body", () => {
  const config = SlackConfigSchema.parse({
    name: "ops-slack",
    type: "slack",
    token: "xoxb-very-secret",
    channel: "C0123ABC",
  });
  const issue = issueWith({
    severity: "MEDIUM",
    enrichments: [{ workflow: "w", blocks: [file("dump.bin", new Uint8Array([0, 1, 2]))] }],
  });
  const payloads = slack.render(issue, config);
  const described = payloads.map((p) => {
    const request = slack.describe(p, config);
    assert.ok("url" in request);
    return request;
  });
  assert.ok(!JSON.stringify(described).includes("xoxb-very-secret"));
  assert.equal(described[0]!.url, "https://slack.com/api/chat.postMessage");
  const body = JSON.parse(described[0]!.body);
  assert.equal(body.channel, "C0123ABC");
  assert.equal(body.attachments[0].color, SEVERITY_COLORS.MEDIUM);
  assert.equal(described[1]!.url, "https://slack.com/api/files.getUploadURLExternal");
  assert.equal(described[1]!.body, "filename=dump.bin&length=3");
});

Deno.test("SlackConfigSchema rejects a bad channel and mention, and has defaults", () => {
  const result = SlackConfigSchema.safeParse({
    name: "s",
    type: "slack",
    token: "t",
    channel: "alerts",
    mentions: ["@bob"],
  });
  assert.deepEqual(result.error?.issues.map((i) => [i.path.join("."), i.message]), [
    ["channel", "Slack channel must start with # or be a channel id"],
    ["mentions.0", "Slack mention must be here, channel, a user id (U…) or a user group id (S…)"],
  ]);
  const ok = SlackConfigSchema.parse({ name: "s", type: "slack", token: "t", channel: "#a" });
  assert.deepEqual([ok.apiUrl, ok.threads, ok.mentions, ok.timeoutMs], [
    "https://slack.com/api",
    true,
    [],
    10_000,
  ]);
});
