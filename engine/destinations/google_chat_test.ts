import assert from "node:assert/strict";
import {
  diff,
  divider,
  file,
  header,
  image,
  type Issue,
  IssueSchema,
  json,
  links,
  list,
  markdown,
  table,
} from "@cano/sdk";
import googleChat, {
  type ChatMessage,
  type GoogleChatConfig,
  GoogleChatConfigSchema,
} from "./google_chat.ts";
import { CHAT_MAX_BYTES, CHAT_MAX_WIDGETS } from "./_chat_card.ts";
import { jsonBytes } from "./_budget.ts";
import type { ThreadState } from "./destination.ts";
import { type GoogleChatApi, startGoogleChatApi } from "../../tests/_google_chat_api.ts";

const KEY = "AIzaSy-test-key";
const TOKEN = "test-token-0123456789";

function configFor(api: GoogleChatApi, extra: Record<string, unknown> = {}): GoogleChatConfig {
  return GoogleChatConfigSchema.parse({
    name: "ops-chat",
    type: "google_chat",
    url: api.url,
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
    title: "Pod <api> is crash looping",
    description: "Restarted 5 times & <counting>",
    severity: "HIGH",
    status: "firing",
    subject: { kind: "Pod", name: "api-1", namespace: "shop", container: "api" },
    labels: { alertname: "KubePodCrashLooping", namespace: "shop" },
    startsAt: "2026-03-01T10:12:04Z",
    createdAt: "2026-03-01T10:12:05Z",
    links: [{ title: "Runbook", url: "https://runbooks.example.com/crashloop?a=1&b=2" }],
    ...fields,
  });
}

const EVERY_BLOCK = [
  markdown(
    "# Memory\n**Memory** is above the `limit` & rising, see [docs](https://d.example/a?b=1&c=2)",
  ),
  header("Resources <main>"),
  divider(),
  list(["first & only", "<second>"], { ordered: true }),
  table(["container", "limit"], [["api", "512Mi"], ["sidecar", "<64Mi>"]], { title: "Limits" }),
  json({ nested: { value: ["<x>", 2, 3] } }),
  file("previous.log", "line 1\n  indented <b>not bold</b>\nline 3"),
  file("dump.bin", new Uint8Array([0, 1, 2, 255])),
  image("graph.png", new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0]), "memory graph"),
  diff({ replicas: 2 }, { replicas: 3 }),
  links([{ title: "Grafana", url: "https://grafana.example.com/d/1" }]),
];

/** Fields whose escaping grows them: markdown and HTML characters, 200 labels. */
const HOSTILE_HEAD = {
  title: "*<&>_".repeat(200),
  description: '*_<&>"'.repeat(2000),
  labels: Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`l${i}`, "*<&".repeat(20)])),
};

/** Sends one rendered payload, as the dispatcher does, returning the new thread state. */
async function deliver(issue: Issue, config: GoogleChatConfig, thread?: ThreadState) {
  const [payload] = googleChat.render(issue, config);
  const result = await googleChat.send(payload!, config, thread ? { thread } : {});
  assert.ok(result.ok, JSON.stringify(result));
  return result.thread;
}

Deno.test("googleChat.send() posts a card with every block type that Chat accepts", async () => {
  await using api = startGoogleChatApi({ key: KEY, token: TOKEN });
  const config = configFor(api);
  await deliver(issueWith({ enrichments: [{ workflow: "all", blocks: EVERY_BLOCK }] }), config);
  assert.deepEqual(api.calls.map((c) => c.status), [200]);
  assert.deepEqual(api.markupProblems, [], "every text is valid Chat card HTML");
  const { body } = api.messages[0]!;
  assert.equal(body.text, "🔥 FIRING: Pod <api> is crash looping");
  const card = body.cardsV2![0]!.card;
  assert.deepEqual(card.header, {
    title: "Pod <api> is crash looping",
    subtitle: "HIGH · firing · prod · prometheus",
  });
  const [summary, enrichment] = card.sections!;
  assert.deepEqual(summary!.widgets[0], {
    decoratedText: { topLabel: "Subject", text: "Pod shop/api-1 (api)", wrapText: true },
  });
  assert.ok(
    summary!.widgets.some((w) =>
      JSON.stringify(w).includes("Restarted 5 times &amp; &lt;counting&gt;")
    ),
  );
  assert.equal(enrichment!.header, "all");
  const html = JSON.stringify(enrichment!.widgets);
  assert.match(html, /<b>Memory<\/b> is above the limit &amp; rising/);
  assert.match(html, /<a href=\\"https:\/\/d.example\/a\?b=1&amp;c=2\\">docs<\/a>/);
  assert.match(html, /&nbsp;&nbsp;indented &lt;b&gt;not bold&lt;\/b&gt;/);
  assert.match(html, /<font color=\\"#d93025\\">- {3}&quot;replicas&quot;: 2<\/font>/);
  assert.match(html, /graph\.png \(1 KiB\): memory graph/);
  assert.ok(enrichment!.widgets.some((w) => "divider" in w));
  assert.ok(enrichment!.widgets.some((w) => "buttonList" in w));
});

Deno.test("googleChat.render() cuts a huge issue to fit 32,000 bytes and Chat accepts it", async () => {
  await using api = startGoogleChatApi({ key: KEY, token: TOKEN });
  const config = configFor(api);
  const rows = Array.from({ length: 100 }, (_, i) => [`pod-${i}`, "Running", "ünïcode & <x>"]);
  const logs = Array.from({ length: 5000 }, (_, i) => `${i} ${"log é <line> ".repeat(4)}`)
    .join("\n");
  assert.ok(logs.length > 200_000);
  const blocks = [
    table(["pod", "phase", "note"], rows),
    file("big.log", logs),
    ...Array.from({ length: 58 }, (_, i) => markdown(`Block ${i} ${"🔥 **text** ".repeat(80)}`)),
  ];
  const [payload] = googleChat.render(
    issueWith({ ...HOSTILE_HEAD, enrichments: [{ workflow: "huge", blocks }] }),
    config,
  );
  const bytes = jsonBytes(payload);
  assert.ok(bytes <= CHAT_MAX_BYTES && bytes > CHAT_MAX_BYTES - 2000, `${bytes} bytes`);
  const widgets = payload!.cardsV2[0].card.sections.flatMap((s) => s.widgets);
  assert.ok(widgets.length <= CHAT_MAX_WIDGETS);
  const text = JSON.stringify(payload);
  assert.match(text, /\d+ more widgets not shown: the message would exceed Google Chat's limits/);
  assert.match(text, /… 50 more rows/);
  assert.match(text, /4999 log é &lt;line&gt;/, "the end of the log is kept");
  await deliver(
    issueWith({ ...HOSTILE_HEAD, enrichments: [{ workflow: "huge", blocks }] }),
    config,
  );
  assert.equal(api.messages.length, 1);
  assert.deepEqual(api.markupProblems, []);
});

Deno.test("googleChat.send() keeps an Issue in one thread by fingerprint", async () => {
  await using api = startGoogleChatApi({ key: KEY, token: TOKEN });
  const config = configFor(api);
  const first = await deliver(issueWith(), config);
  assert.deepEqual(first, {
    threadName: "spaces/AAAA1234/threads/t1",
    messageName: "spaces/AAAA1234/messages/m1.m1",
  });
  await deliver(issueWith(), config, first);
  await deliver(issueWith({ status: "resolved", endsAt: "2026-03-01T10:30:00Z" }), config, first);
  await deliver(issueWith({ fingerprint: "other" }), config);
  assert.deepEqual(api.messages.map((m) => m.thread), [
    "spaces/AAAA1234/threads/t1",
    "spaces/AAAA1234/threads/t1",
    "spaces/AAAA1234/threads/t1",
    "spaces/AAAA1234/threads/t4",
  ]);
  assert.equal(api.messages[2]!.body.text, "✅ RESOLVED: Pod <api> is crash looping");
  assert.ok(api.calls.every((c) => c.query.endsWith("REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD")));

  await deliver(issueWith(), configFor(api, { threads: false }));
  assert.equal(api.messages.at(-1)!.thread, "spaces/AAAA1234/threads/t5");
  assert.equal(api.messages.at(-1)!.body.thread, undefined);
});

Deno.test("googleChat.send() retries 429 (quota and Retry-After), then succeeds", async () => {
  await using api = startGoogleChatApi({ key: KEY, token: TOKEN, maxPerMinute: 2 });
  const config = configFor(api);
  const [payload] = googleChat.render(issueWith(), config);
  assert.ok((await googleChat.send(payload!, config, {})).ok);
  assert.ok((await googleChat.send(payload!, config, {})).ok);
  const quota = await googleChat.send(payload!, config, {});
  assert.ok(!quota.ok && quota.retryable && quota.retryAfterMs === undefined);
  assert.match(quota.reason, /HTTP 429.*RESOURCE_EXHAUSTED/);

  await using fresh = startGoogleChatApi({ key: KEY, token: TOKEN });
  fresh.failNext({ status: 429, retryAfter: "30", body: '{"error":{"code":429}}' });
  const freshConfig = configFor(fresh);
  const limited = await googleChat.send(payload!, freshConfig, { now: () => 0 });
  assert.ok(!limited.ok && limited.retryable && limited.retryAfterMs === 30_000);
  assert.ok((await googleChat.send(payload!, freshConfig, {})).ok);
  assert.equal(fresh.messages.length, 1);
});

Deno.test("googleChat.send() fails permanently on bad credentials and unknown fields", async () => {
  await using api = startGoogleChatApi({ key: KEY, token: TOKEN });
  const badToken = configFor(api, { url: api.url.replace(TOKEN, "wrong-token-value") });
  const [payload] = googleChat.render(issueWith(), badToken);
  const denied = await googleChat.send(payload!, badToken, {});
  assert.ok(!denied.ok && !denied.retryable);
  assert.match(denied.reason, /^Cannot send to Google Chat "ops-chat": HTTP 401.*UNAUTHENTICATED/);

  const config = configFor(api);
  const typo = structuredClone(payload!) as ChatMessage & Record<string, unknown>;
  (typo.cardsV2[0].card.sections[0]!.widgets[0] as Record<string, unknown>).decoratedTxt = {};
  const rejected = await googleChat.send(typo, config, {});
  assert.ok(!rejected.ok && !rejected.retryable);
  assert.match(
    rejected.reason,
    /HTTP 400.*Unknown name \\"decoratedTxt\\" at 'message\.cards_v2\[0\]\.card\.sections\[0\]\.widgets\[0\]'/,
  );

  const huge = structuredClone(payload!);
  huge.text = "x".repeat(CHAT_MAX_BYTES);
  const tooBig = await googleChat.send(huge, config, {});
  assert.ok(!tooBig.ok && !tooBig.retryable);
  assert.match(tooBig.reason, /HTTP 400.*maximum is 32000 bytes/);
  assert.equal(api.messages.length, 0);
  for (const reason of [denied.reason, rejected.reason, tooBig.reason]) {
    for (const secret of [KEY, TOKEN, "wrong-token-value"]) {
      assert.ok(!reason.includes(secret), reason);
    }
  }
});

Deno.test("googleChat.describe() masks the key and token", () => {
  const config = GoogleChatConfigSchema.parse({
    name: "ops-chat",
    type: "google_chat",
    url: "https://chat.googleapis.com/v1/spaces/AAAA1234/messages?key=AIzaSyD-real&token=Zt0k3n%3D",
  });
  const described = googleChat.describe(googleChat.render(issueWith(), config)[0]!, config);
  assert.ok("url" in described);
  assert.equal(
    described.url,
    "https://chat.googleapis.com/v1/spaces/AAAA1234/messages?key=***&token=***" +
      "&messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD",
  );
  const printed = JSON.stringify(described);
  for (const secret of ["AIzaSyD-real", "Zt0k3n"]) assert.ok(!printed.includes(secret));
});

Deno.test("GoogleChatConfigSchema wants a webhook URL with key and token, 1/s by default", () => {
  const noToken = GoogleChatConfigSchema.safeParse({
    name: "c",
    type: "google_chat",
    url: "https://chat.googleapis.com/v1/spaces/AAAA/messages?key=k",
  });
  assert.match(noToken.error?.issues[0]?.message ?? "", /key=<KEY>&token=<TOKEN>/);
  const config = GoogleChatConfigSchema.parse({
    name: "c",
    type: "google_chat",
    url: "https://chat.googleapis.com/v1/spaces/AAAA/messages?key=k&token=t",
  });
  assert.deepEqual(config.rateLimit, { perSecond: 1, burst: 1 });
  assert.equal(config.threads, true);
});
