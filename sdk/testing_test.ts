import assert from "node:assert/strict";
import { markdown, table } from "./blocks.ts";
import { IssueSchema } from "./issue.ts";
import { createTestContext, runWorkflow, sampleAlertIssue } from "./testing.ts";
import { defineWorkflow } from "./workflow.ts";
import { z } from "zod";

const vector = {
  resultType: "vector",
  result: [{ metric: { pod: "api-0" }, value: [1, "3"] as [number, string] }],
};

Deno.test("sampleAlertIssue() builds a valid issue whose aggregation key follows the alert name", () => {
  const issue = sampleAlertIssue({
    labels: { alertname: "HighErrorRate", namespace: "dev-a" },
    severity: "HIGH",
  });
  assert.deepEqual(IssueSchema.parse(issue), issue);
  assert.equal(issue.aggregationKey, "HighErrorRate");
  assert.deepEqual(issue.labels, { alertname: "HighErrorRate", namespace: "dev-a" });
  assert.equal(issue.severity, "HIGH");
  assert.throws(() => sampleAlertIssue({ severity: "URGENT" as "HIGH" }));
});

Deno.test("runWorkflow() parses params with the workflow's schema and returns what it produced", async () => {
  const workflow = defineWorkflow({
    id: "note",
    description: "Adds a note",
    triggers: [{ on: "prometheus_alert" }],
    params: z.object({
      note: z.string().default("Check the dashboard"),
      times: z.number().int().default(1),
    }),
    run(ctx) {
      ctx.log.info("adding note", { times: ctx.params.times });
      ctx.enrich("Note", [markdown(ctx.params.note.repeat(ctx.params.times))]);
    },
  });
  const result = await runWorkflow(workflow, { params: { times: 2 } });
  assert.deepEqual(result.enrichments, [{
    title: "Note",
    blocks: [markdown("Check the dashboardCheck the dashboard")],
  }]);
  assert.deepEqual(result.logs, [{ level: "info", message: "adding note", fields: { times: 2 } }]);
  assert.equal(result.silenced, undefined);
  await assert.rejects(runWorkflow(workflow, { params: { times: "x" } }), {
    name: "TypeError",
    message:
      'Cannot run workflow "note": invalid params (times: Invalid input: expected number, received string)',
  });
});

Deno.test("ctx.http.fetch answers from recordings keyed by method and URL", async () => {
  const { ctx, calls } = createTestContext({
    permissions: { http: ["*.example.com"] },
    http: {
      "GET https://teams.example.com/owners?service=api": { body: { team: "payments" } },
      "post https://hooks.example.com/x": { status: 202, headers: { "X-Id": "7" }, body: "queued" },
    },
  });
  const owners = await ctx.http.fetch("https://teams.example.com/owners?service=api");
  assert.deepEqual(owners, {
    status: 200,
    headers: { "content-type": "application/json" },
    body: '{"team":"payments"}',
  });
  const hook = await ctx.http.fetch("https://hooks.example.com/x", { method: "POST", body: "{}" });
  assert.deepEqual(hook, { status: 202, headers: { "x-id": "7" }, body: "queued" });
  assert.deepEqual(calls, [
    "GET https://teams.example.com/owners?service=api",
    "POST https://hooks.example.com/x",
  ]);
});

Deno.test("ctx.http.fetch names the missing key of an unrecorded call", async () => {
  const { ctx } = createTestContext({
    permissions: { http: ["teams.example.com"] },
    http: { "GET https://teams.example.com/owners/api": { body: "x" } },
  });
  await assert.rejects(
    ctx.http.fetch("https://teams.example.com/owners/web"),
    {
      message:
        'Cannot fetch "https://teams.example.com/owners/web": no recorded answer for "GET https://teams.example.com/owners/web" (recorded: "GET https://teams.example.com/owners/api")',
    },
  );
});

Deno.test("ctx.http.fetch enforces the declared permissions like the engine", async () => {
  const { ctx } = createTestContext({ http: { "GET https://teams.example.com/": { body: "x" } } });
  await assert.rejects(ctx.http.fetch("https://teams.example.com/"), {
    message:
      'Cannot fetch "https://teams.example.com/": host "teams.example.com" is not in the workflow\'s permissions.http (declared: none)',
  });
  const declared = createTestContext({ permissions: { http: ["teams.example.com:8443"] } });
  await assert.rejects(
    declared.ctx.http.fetch("https://teams.example.com/"),
    /is not in the workflow's permissions\.http/,
  );
  await assert.rejects(
    declared.ctx.http.fetch("file:///etc/passwd"),
    /scheme "file" is not allowed/,
  );
  await assert.rejects(
    declared.ctx.http.fetch("https://teams.example.com:8443/", { headers: { Host: "x" } }),
    /init\.headers\.Host: This header is set by the host/,
  );
});

Deno.test("ctx.http.fetch passes requests to a handler", async () => {
  const { ctx } = createTestContext({
    permissions: { http: ["api.example.com"] },
    http: (request) => ({
      body: `${request.method} ${request.url} ${request.headers["x-q"]} ${request.body}`,
    }),
  });
  const response = await ctx.http.fetch("https://api.example.com/a", {
    method: "PUT",
    headers: { "x-q": "1" },
    body: "b",
  });
  assert.equal(response.body, "PUT https://api.example.com/a 1 b");
});

Deno.test("ctx.prometheus answers by expression and needs permissions.prometheus", async () => {
  const { ctx, calls } = createTestContext({
    permissions: { prometheus: true },
    prometheus: { 'kube_pod_container_status_restarts_total{pod="api-0"}': vector },
  });
  const result = await ctx.prometheus.query(
    'kube_pod_container_status_restarts_total{pod="api-0"}',
  );
  assert.deepEqual(result, vector);
  await assert.rejects(ctx.prometheus.query("up"), {
    message:
      'Cannot run Prometheus query "up": no recorded answer for "up" (recorded: "kube_pod_container_status_restarts_total{pod="api-0"}")',
  });
  assert.deepEqual(calls, [
    'query kube_pod_container_status_restarts_total{pod="api-0"}',
    "query up",
  ]);
  const undeclared = createTestContext({ prometheus: { up: vector } });
  await assert.rejects(undeclared.ctx.prometheus.query("up"), {
    message: "Cannot query Prometheus: the workflow does not declare permissions.prometheus",
  });
});

Deno.test("ctx.prometheus.queryRange gives handlers the range", async () => {
  const seen: unknown[] = [];
  const { ctx } = createTestContext({
    permissions: { prometheus: true },
    prometheus: (query) => {
      seen.push(query);
      return { resultType: "matrix", result: [] };
    },
  });
  await ctx.prometheus.queryRange("up", {
    start: "2026-03-01T09:00:00Z",
    end: "2026-03-01T10:00:00Z",
    step: "1m",
  });
  assert.deepEqual(seen, [{
    kind: "queryRange",
    expr: "up",
    start: "2026-03-01T09:00:00Z",
    end: "2026-03-01T10:00:00Z",
    step: "1m",
  }]);
});

Deno.test("createTestContext() validates blocks, freezes the issue and records silence", () => {
  const test = createTestContext();
  assert.throws(() => test.ctx.enrich("Bad", [{ type: "table", headers: [], rows: [] }]), {
    name: "TypeError",
    message: /^Cannot enrich from workflow "test-workflow": invalid block at 0\.headers/,
  });
  assert.throws(() => {
    (test.ctx.issue.labels as Record<string, string>).namespace = "prod";
  }, TypeError);
  test.ctx.enrich(undefined, [table(["a"], [["1"]])]);
  assert.equal(test.silenced, undefined);
  test.ctx.silence("noisy in dev");
  assert.equal(test.silenced, "noisy in dev");
  assert.deepEqual(test.enrichments, [{ blocks: [table(["a"], [["1"]])] }]);
});

Deno.test("createTestContext() refuses calls past the per-run budget", async () => {
  const { ctx } = createTestContext({
    permissions: { prometheus: true },
    prometheus: { up: vector },
    maxCapabilityCalls: 1,
  });
  await ctx.prometheus.query("up");
  await assert.rejects(ctx.prometheus.query("up"), {
    message: 'Cannot call "prometheus.query": this run has used all its capability calls',
  });
});

Deno.test("createTestContext() rejects malformed recording keys", () => {
  assert.throws(() => createTestContext({ http: { "https://api.example.com/": {} } }), {
    name: "TypeError",
    message:
      /^Cannot record HTTP answer "https:\/\/api\.example\.com\/": expected "METHOD absolute-url"/,
  });
});
