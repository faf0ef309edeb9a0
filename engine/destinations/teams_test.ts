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
import teams, { type TeamsConfig, TeamsConfigSchema, type TeamsMessage } from "./teams.ts";
import { TEAMS_BYTE_BUDGET, TEAMS_MAX_BYTES } from "./_adaptive_card.ts";
import { jsonBytes } from "./_budget.ts";
import { startTeamsWorkflows, type TeamsWorkflows } from "../../tests/_teams_workflows.ts";

const SIG = "test-sig-0123456789";

function configFor(flow: TeamsWorkflows): TeamsConfig {
  return TeamsConfigSchema.parse({ name: "ops-teams", type: "teams", url: flow.url });
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
    description: "Restarted *5* times_in 10 minutes",
    severity: "HIGH",
    status: "firing",
    subject: { kind: "Pod", name: "api-1", namespace: "shop", container: "api" },
    labels: { alertname: "KubePodCrashLooping", namespace: "shop" },
    startsAt: "2026-03-01T10:12:04Z",
    createdAt: "2026-03-01T10:12:05Z",
    links: [{ title: "Runbook", url: "https://runbooks.example.com/crashloop" }],
    ...fields,
  });
}

const EVERY_BLOCK = [
  markdown("# Memory\n**Memory** is above the `limit`, see [docs](https://docs.example.com)"),
  header("Resources"),
  divider(),
  list(["first", "second"], { ordered: true }),
  table(["container", "limit"], [["api", "512Mi"], ["sidecar", "64Mi"]], { title: "Limits" }),
  table(["pod", "phase", "restarts"], [["api-1", "Running", "5"]]),
  json({ nested: { value: [1, 2, 3] } }),
  file("previous.log", "line 1\n  indented *not bold*\nline 3"),
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

type Card = TeamsMessage["attachments"][0]["content"];
function cardOf(body: Record<string, unknown>): Card {
  return (body as unknown as TeamsMessage).attachments[0].content;
}

Deno.test("teams.send() posts a card with every block type that the flow accepts", async () => {
  await using flow = startTeamsWorkflows({ sig: SIG });
  const config = configFor(flow);
  const issue = issueWith({
    enrichments: [{ workflow: "all", title: "Everything", blocks: EVERY_BLOCK }],
  });
  const payloads = teams.render(issue, config);
  assert.equal(payloads.length, 1);
  const result = await teams.send(payloads[0]!, config, {});
  assert.deepEqual(result, { ok: true });
  assert.deepEqual(flow.calls.map((c) => c.status), [202]);

  const card = cardOf(flow.posted[0]!);
  assert.equal(card.version, "1.4");
  assert.deepEqual(card.msteams, { width: "Full" });
  const [head, facts] = card.body;
  assert.equal(head!.color, "Attention");
  assert.equal(head!.text, "🔥 FIRING: Pod is crash looping");
  assert.deepEqual(
    (facts!.facts as { title: string }[]).map((f) => f.title),
    ["Subject", "Severity", "Status", "Cluster", "Source", "Started", "Labels", "Fingerprint"],
  );
  const types = card.body.map((e) => e.type);
  for (const type of ["FactSet", "Image", "ActionSet"]) assert.ok(types.includes(type), type);
  assert.ok(!types.includes("Table"), "Table is Adaptive Card 1.5");
  const mono = card.body.filter((e) => e.fontType === "Monospace").map((e) => String(e.text));
  assert.equal(mono.length, 4, "wide table, json, log and diff are monospace");
  assert.ok(mono.some((t) => t.includes("\u00a0\u00a0indented \\*not bold\\*")), mono.join("|"));
  assert.ok(mono.some((t) => t.includes('\\-   "replicas": 2\n\n\\+   "replicas": 3')));
  const image = card.body.find((e) => e.type === "Image");
  assert.match(String(image?.url), /^data:image\/png;base64,iVBORw/);
  assert.deepEqual(card.actions, [{
    type: "Action.OpenUrl",
    title: "Runbook",
    url: "https://runbooks.example.com/crashloop",
  }]);
  assert.match(JSON.stringify(card.body), /\*\*Memory\*\* is above the limit/);
});

Deno.test("teams.render() cuts a huge issue to fit 28 KB and the flow accepts it", async () => {
  await using flow = startTeamsWorkflows({ sig: SIG });
  const config = configFor(flow);
  const rows = Array.from({ length: 100 }, (_, i) => [`pod-${i}`, "Running", "ünïcode ".repeat(4)]);
  const logs = Array.from({ length: 5000 }, (_, i) => `${i} ${"log é line ".repeat(4)}`).join("\n");
  assert.ok(logs.length > 200_000);
  const blocks = [
    table(["pod", "phase", "note"], rows),
    file("big.log", logs),
    ...Array.from({ length: 58 }, (_, i) => markdown(`Block ${i} ${"🔥 text ".repeat(80)}`)),
  ];
  assert.equal(blocks.length, 60);
  const [payload] = teams.render(
    issueWith({ ...HOSTILE_HEAD, enrichments: [{ workflow: "huge", blocks }] }),
    config,
  );
  const bytes = jsonBytes(payload);
  assert.ok(bytes <= TEAMS_BYTE_BUDGET, `${bytes} bytes`);
  assert.ok(bytes > TEAMS_BYTE_BUDGET - 2000, `${bytes} bytes: the budget is used`);
  const body = JSON.stringify(payload);
  assert.match(body, /\d+ more elements not shown: the message would exceed Teams' 28 KB limit/);
  assert.match(body, /… 50 more rows/);
  assert.match(body, /big\.log \(text\/plain, \d+ KiB, 5000 lines\), last 60 lines/);
  assert.match(body, /4999 log é line/, "the end of the log is kept");
  assert.deepEqual(await teams.send(payload!, config, {}), { ok: true });
  assert.equal(flow.posted.length, 1);
});

Deno.test("teams.send() retries 429 after Retry-After, then succeeds", async () => {
  await using flow = startTeamsWorkflows({ sig: SIG, maxPerSecond: 4 });
  const config = configFor(flow);
  const [payload] = teams.render(issueWith(), config);
  const results = [];
  for (let i = 0; i < 5; i++) results.push(await teams.send(payload!, config, {}));
  assert.deepEqual(results.slice(0, 4), Array(4).fill({ ok: true }));
  const limited = results[4]!;
  assert.ok(!limited.ok && limited.retryable && limited.retryAfterMs === 1000);
  assert.match(limited.reason, /HTTP 429.*TooManyRequests/);

  flow.failNext({ status: 429, retryAfter: "7", body: '{"error":{"code":"TooManyRequests"}}' });
  const forced = await teams.send(payload!, config, { now: () => 0 });
  assert.ok(!forced.ok && forced.retryable && forced.retryAfterMs === 7000);
  await new Promise((resolve) => setTimeout(resolve, 1100));
  assert.deepEqual(await teams.send(payload!, config, {}), { ok: true });
  assert.equal(flow.posted.length, 5);
});

Deno.test("teams.send() fails permanently on a bad signature, card or size", async () => {
  await using flow = startTeamsWorkflows({ sig: SIG, maxPerSecond: 100 });
  const config = configFor(flow);
  const wrong = TeamsConfigSchema.parse({
    name: "ops-teams",
    type: "teams",
    url: flow.url.replace(SIG, "wrong-signature-value"),
  });
  const [payload] = teams.render(issueWith(), config);
  const denied = await teams.send(payload!, wrong, {});
  assert.ok(!denied.ok && !denied.retryable);
  assert.match(
    denied.reason,
    /^Cannot send to Teams "ops-teams": HTTP 401.*InvalidAuthorizationSignature/,
  );
  assert.ok(!denied.reason.includes("wrong-signature-value"));

  const table15 = structuredClone(payload!);
  table15.attachments[0].content.body.push({ type: "Table", columns: [], rows: [] });
  const invalid = await teams.send(table15, config, {});
  assert.ok(!invalid.ok && !invalid.retryable);
  assert.match(invalid.reason, /HTTP 400.*TriggerInputSchemaMismatch/);

  const huge = structuredClone(payload!);
  huge.attachments[0].content.body.push({ type: "TextBlock", text: "x".repeat(TEAMS_MAX_BYTES) });
  const tooBig = await teams.send(huge, config, {});
  assert.ok(!tooBig.ok && !tooBig.retryable);
  assert.match(tooBig.reason, /HTTP 413.*MessageSizeExceeded.*28672 bytes/);
  assert.equal(flow.posted.length, 0);
  for (const reason of [denied.reason, invalid.reason, tooBig.reason]) {
    assert.ok(!reason.includes(SIG), reason);
  }
});

Deno.test("teams.send() keeps no thread: a repeat and the resolution are new cards", async () => {
  await using flow = startTeamsWorkflows({ sig: SIG });
  const config = configFor(flow);
  const firing = await teams.send(teams.render(issueWith(), config)[0]!, config, {});
  const resolved = issueWith({ status: "resolved", endsAt: "2026-03-01T10:30:00Z" });
  const done = await teams.send(teams.render(resolved, config)[0]!, config, {
    thread: { unused: "x" },
  });
  assert.deepEqual([firing, done], [{ ok: true }, { ok: true }]);
  const heads = flow.posted.map((b) => cardOf(b).body[0]!);
  assert.deepEqual(heads.map((h) => [h.text, h.color]), [
    ["🔥 FIRING: Pod is crash looping", "Attention"],
    ["✅ RESOLVED: Pod is crash looping", "Good"],
  ]);
});

Deno.test("teams.describe() shows the origin and path but not the signature", () => {
  const url = "https://prod-1.westeurope.environment.api.powerplatform.com/powerautomate/" +
    "automations/direct/workflows/8c1d/triggers/manual/paths/invoke?api-version=1&sp=%2F" +
    "triggers%2Fmanual%2Frun&sv=1.0&sig=Zx9-very-secret-sig";
  const config = TeamsConfigSchema.parse({ name: "ops-teams", type: "teams", url });
  const described = teams.describe(teams.render(issueWith(), config)[0]!, config);
  assert.ok("url" in described);
  assert.equal(
    described.url,
    "https://prod-1.westeurope.environment.api.powerplatform.com/powerautomate/automations/" +
      "direct/workflows/8c1d/triggers/manual/paths/invoke?api-version=1&sp=***&sv=1.0&sig=***",
  );
  assert.ok(!JSON.stringify(described).includes("Zx9-very-secret-sig"));
  assert.deepEqual(described.headers, { "content-type": "application/json" });
});

Deno.test("TeamsConfigSchema rejects retired connector URLs and defaults to 4/s", () => {
  const retired = TeamsConfigSchema.safeParse({
    name: "old",
    type: "teams",
    url: "https://contoso.webhook.office.com/webhookb2/abc/IncomingWebhook/def/ghi",
  });
  assert.match(retired.error?.issues[0]?.message ?? "", /connector URLs are retired/);
  const config = TeamsConfigSchema.parse({ name: "t", type: "teams", url: "https://x.example/i" });
  assert.deepEqual(config.rateLimit, { perSecond: 4, burst: 4 });
});
