import assert from "node:assert/strict";
import jira, {
  JIRA_MAX_FIELD,
  type JiraConfig,
  JiraConfigSchema,
  type JiraPayload,
} from "./jira.ts";
import type { Issue } from "@cano/sdk";
import type { ThreadState } from "./destination.ts";
import { checkAdf, type JiraApi, startJiraApi } from "../../tests/_jira_api.ts";
import { alertIssue, fullIssue, hugeIssue } from "../../tests/_issue.ts";

const TOKEN = "ATATT3xFfGF0-test-token";

function configFor(api: JiraApi, extra: Record<string, unknown> = {}): JiraConfig {
  return JiraConfigSchema.parse({
    name: "ops-jira",
    type: "jira",
    url: api.url,
    email: "bot@example.com",
    apiToken: TOKEN,
    project: "OPS",
    labels: ["k8s-alert"],
    priorities: { HIGH: "Highest", MEDIUM: "High" },
    ...extra,
  });
}

/** Sends every payload, keeping the thread state as the dispatcher does. */
async function deliver(
  issue: Issue,
  config: JiraConfig,
  thread?: ThreadState,
): Promise<ThreadState | undefined> {
  for (const payload of jira.render(issue, config)) {
    const result = await jira.send(payload, config, thread ? { thread } : {});
    assert.ok(result.ok, JSON.stringify(result));
    if (result.thread) thread = result.thread;
  }
  return thread;
}

function firing(payload: JiraPayload | undefined) {
  assert.ok(payload?.kind === "firing");
  return payload;
}

function nodeTypes(node: unknown, into = new Set<string>()): Set<string> {
  const n = node as { type?: string; content?: unknown[]; marks?: { type: string }[] };
  if (n.type) into.add(n.type);
  n.marks?.forEach((m) => into.add(`mark:${m.type}`));
  n.content?.forEach((c) => nodeTypes(c, into));
  return into;
}

Deno.test("jira.send() creates an issue with an ADF description of every block type", async () => {
  await using api = startJiraApi();
  const config = configFor(api);
  const thread = await deliver(fullIssue(), config);
  assert.deepEqual(thread, { key: "OPS-1" });
  const fields = api.issues[0]!.fields;
  assert.equal(fields.summary, "[HIGH] Pod is crash looping");
  assert.deepEqual(fields.labels, ["k8s-alert", "cano-3f2a9c1b7d4e8a60"]);
  assert.deepEqual(fields.priority, { name: "Highest" });
  assert.deepEqual(checkAdf(fields.description, "description"), []);
  const types = nodeTypes(fields.description);
  for (
    const type of [
      "heading",
      "paragraph",
      "hardBreak",
      "bulletList",
      "orderedList",
      "codeBlock",
      "table",
      "tableHeader",
      "tableCell",
      "rule",
      "mark:link",
      "mark:strong",
      "mark:code",
    ]
  ) assert.ok(types.has(type), `no ${type} in ${[...types]}`);
  const json = JSON.stringify(fields.description);
  assert.match(json, /"language":"json"/);
  assert.match(json, /"text":"line 1\\nline 2"/);
  assert.match(json, /"href":"https:\/\/grafana.example\/d\/1"/);
  assert.deepEqual(api.calls.map((c) => `${c.method} ${c.path} ${c.status}`), [
    "POST /rest/api/3/search/jql 200",
    "POST /rest/api/3/issue 201",
  ]);
});

Deno.test("jira.render() cuts a huge issue to Jira's field limits", async () => {
  await using api = startJiraApi();
  const config = configFor(api);
  const payload = firing(jira.render(hugeIssue(), config)[0]);
  assert.equal([...payload.fields.summary].length, 255);
  for (const doc of [payload.fields.description, payload.comment]) {
    const size = JSON.stringify(doc).length;
    assert.ok(size <= JIRA_MAX_FIELD && size > JIRA_MAX_FIELD - 4000, `${size}`);
    assert.match(JSON.stringify(doc.content.at(-1)), /blocks not shown: Jira field limit/);
  }
  const thread = await deliver(hugeIssue(), config);
  await deliver(hugeIssue(), config, thread);
  assert.deepEqual(api.calls.map((c) => c.status), [200, 201, 201]);
  assert.equal(api.issues[0]!.comments.length, 1);
});

Deno.test("jira.send() keeps one issue while search does not see it yet", async () => {
  await using api = startJiraApi({ searchDelayMs: 60_000 });
  const config = configFor(api);
  const thread = await deliver(alertIssue(), config);
  assert.deepEqual(await deliver(alertIssue(), config, thread), { key: "OPS-1" });
  const resolved = alertIssue({ status: "resolved", endsAt: "2026-03-01T10:30:00Z" });
  assert.deepEqual(await deliver(resolved, config, thread), { key: "OPS-1" });
  assert.equal(api.issues.length, 1);
  assert.equal(api.issues[0]!.status, "Done");
  assert.equal(api.issues[0]!.comments.length, 1);
  assert.deepEqual(api.calls.map((c) => `${c.method} ${c.path}`), [
    "POST /rest/api/3/search/jql",
    "POST /rest/api/3/issue",
    "POST /rest/api/3/issue/OPS-1/comment",
    "GET /rest/api/3/issue/OPS-1/transitions",
    "POST /rest/api/3/issue/OPS-1/transitions",
  ]);
});

Deno.test("jira.send() finds an open issue by label when no thread state is kept", async () => {
  await using api = startJiraApi();
  const config = configFor(api);
  await deliver(alertIssue(), config);
  assert.deepEqual(await deliver(alertIssue(), config), { key: "OPS-1" });
  await deliver(alertIssue({ status: "resolved" }), config);
  assert.deepEqual(api.issues.map((i) => [i.key, i.status, i.comments.length]), [
    ["OPS-1", "Done", 1],
  ]);
  assert.equal(await deliver(alertIssue({ status: "resolved" }), config), undefined);
  await deliver(alertIssue(), config);
  assert.deepEqual(api.issues.map((i) => i.key), ["OPS-1", "OPS-2"], "Done issues are not reused");
});

Deno.test("jira.send() comments when the resolve transition is not available", async () => {
  await using api = startJiraApi({
    transitions: [{ id: "5", name: "Close", to: "Closed", category: "done" }],
  });
  const config = configFor(api);
  const thread = await deliver(alertIssue(), config);
  const resolved = alertIssue({ status: "resolved", endsAt: "2026-03-01T10:30:00Z" });
  assert.deepEqual(await deliver(resolved, config, thread), thread);
  const comments = api.issues[0]!.comments;
  assert.equal(comments.length, 1);
  assert.deepEqual(checkAdf(comments[0], "comment"), []);
  assert.match(JSON.stringify(comments[0]), /Resolved at 2026-03-01T10:30:00Z/);
  assert.match(
    JSON.stringify(comments[0]),
    /transition \\"Done\\" is not available \(available: \\"Close\\"\)/,
  );
  assert.equal(api.issues[0]!.status, "To Do");
});

Deno.test("jira.send() retries a 429 after Retry-After, then succeeds", async () => {
  await using api = startJiraApi();
  const config = configFor(api);
  const [payload] = jira.render(alertIssue(), config);
  api.failNext({ status: 429, retryAfter: "30", body: "Rate limit exceeded" });
  const limited = await jira.send(payload!, config, {});
  assert.ok(!limited.ok && limited.retryable && limited.retryAfterMs === 30_000);
  const sent = await jira.send(payload!, config, {});
  assert.deepEqual(sent, { ok: true, thread: { key: "OPS-1" } });
});

Deno.test("jira.send() fails permanently on a 400, naming Jira's error", async () => {
  await using api = startJiraApi();
  const good = firing(jira.render(alertIssue(), configFor(api))[0]);
  const badDoc = structuredClone(good);
  badDoc.fields.description.content.push({
    type: "paragraph",
    content: [{ type: "text", text: "" }],
  });
  const badNode = structuredClone(good);
  badNode.fields.description.content.push({ type: "mediaSingle" });
  const nope = configFor(api, { project: "NOPE" });
  const epic = configFor(api, { issueType: "Epic" });
  const cases: [JiraConfig, JiraPayload, RegExp][] = [
    [nope, firing(jira.render(alertIssue(), nope)[0]), /HTTP 400.*valid project is required/],
    [epic, firing(jira.render(alertIssue(), epic)[0]), /issue type selected is invalid/],
    [configFor(api), { ...good, fields: { ...good.fields, labels: ["a b"] } }, /contains spaces/],
    [
      configFor(api),
      { ...good, fields: { ...good.fields, summary: "s".repeat(256) } },
      /less than 255/,
    ],
    [configFor(api), badDoc, /text must be non-empty/],
    [configFor(api), badNode, /unknown node type \\"mediaSingle\\"/],
  ];
  for (const [config, payload, reason] of cases) {
    const result = await jira.send(payload, config, {});
    assert.ok(!result.ok && !result.retryable, `${reason}: ${JSON.stringify(result)}`);
    assert.match(result.reason, reason);
  }
  assert.equal(api.issues.length, 0);
});

Deno.test("jira legacy search answers 410 Gone, as on Jira Cloud", async () => {
  await using api = startJiraApi();
  const response = await fetch(`${api.url}/rest/api/3/search?jql=project%3DOPS`, {
    headers: { authorization: `Basic ${btoa(`bot@example.com:${TOKEN}`)}` },
  });
  assert.equal(response.status, 410);
  assert.match(await response.text(), /migrate to the \/rest\/api\/3\/search\/jql API/);
});

Deno.test("jira keeps the API token out of reasons and describe()", async () => {
  await using api = startJiraApi();
  const wrong = configFor(api, { apiToken: "wrong-token-secret" });
  const [payload] = jira.render(alertIssue(), wrong);
  const unauthorized = await jira.send(payload!, wrong, {});
  assert.ok(!unauthorized.ok && !unauthorized.retryable);
  assert.match(unauthorized.reason, /HTTP 401/);
  const basic = btoa(`bot@example.com:${TOKEN}`);
  api.failNext({ status: 400, body: `bad token ${TOKEN} in Basic ${basic}` });
  const echoed = await jira.send(payload!, configFor(api), {});
  assert.ok(!echoed.ok);
  assert.ok(!echoed.reason.includes(TOKEN) && !echoed.reason.includes(basic), echoed.reason);
  const config = configFor(api);
  const described = [fullIssue(), fullIssue({ status: "resolved" })]
    .map((issue) => jira.describe(jira.render(issue, config)[0]!, config));
  assert.ok(!JSON.stringify(described).includes(TOKEN));
  assert.ok(!JSON.stringify(described).includes(basic));
  assert.deepEqual(described.map((d) => "url" in d && d.url.slice(api.url.length)), [
    "/rest/api/3/issue",
    "/rest/api/3/issue/{key}/transitions",
  ]);
});

Deno.test("JiraConfigSchema checks the project key and labels, and has defaults", () => {
  const base = {
    name: "j",
    type: "jira",
    url: "https://example.atlassian.net",
    email: "bot@example.com",
    apiToken: TOKEN,
  };
  const bad = JiraConfigSchema.safeParse({ ...base, project: "ops", labels: ["a b"] });
  assert.deepEqual(bad.error?.issues.map((i) => i.message), [
    "Jira project must be a project key such as OPS",
    "Jira label cannot contain spaces",
  ]);
  const ok = JiraConfigSchema.parse({ ...base, project: "OPS" });
  assert.deepEqual([ok.issueType, ok.resolveTransition, ok.priorities, ok.labels], [
    "Bug",
    "Done",
    {},
    [],
  ]);
});
