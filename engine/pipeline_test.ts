import { defineWorkflow, markdown, type Workflow } from "@cano/sdk";
import assert from "node:assert/strict";
import { alertIssue } from "../tests/_issue.ts";
import { silentLogger } from "./log.ts";
import { createMetrics } from "./metrics.ts";
import { createPipeline, type PipelineState } from "./pipeline.ts";
import { RoutingSchema } from "./routing.ts";
import { createInProcessEntry } from "./workflows/in_process.ts";

const routing = RoutingSchema.parse({ default: { destinations: ["console"] } });

function stateOf(workflows: Workflow[], timeoutMs = 1000): () => PipelineState {
  const entries = workflows.map((w) => createInProcessEntry(w, { log: silentLogger }));
  return () => ({ workflows: entries, settings: new Map(), defaultTimeoutMs: timeoutMs, routing });
}

const note = (id: string, delayMs: number) =>
  defineWorkflow({
    id,
    description: "Adds a note after a delay",
    triggers: [{ on: "prometheus_alert" }],
    async run(ctx) {
      await new Promise((r) => setTimeout(r, delayMs));
      ctx.enrich(id, [markdown(`from ${id}`)]);
    },
  });

Deno.test("createPipeline() merges enrichments in registry order, not finish order", async () => {
  const metrics = createMetrics();
  const pipeline = createPipeline({
    state: stateOf([note("slow-first", 30), note("fast-second", 0)]),
    metrics,
    log: silentLogger,
  });
  const result = await pipeline.process(alertIssue());
  assert.deepEqual(result.issue.enrichments.map((e) => e.workflow), ["slow-first", "fast-second"]);
  assert.deepEqual(result.route?.destinations, ["console"]);
  assert.match(
    await metrics.registry.metrics(),
    /cano_workflow_runs_total\{workflow="slow-first",outcome="success"\} 1/,
  );
});

Deno.test("createPipeline() turns a failing workflow into an error note and still routes", async () => {
  const failing = defineWorkflow({
    id: "failing",
    description: "Throws",
    triggers: [{ on: "prometheus_alert" }],
    run() {
      throw new Error("boom");
    },
  });
  const metrics = createMetrics();
  const pipeline = createPipeline({
    state: stateOf([failing, note("ok", 0)]),
    metrics,
    log: silentLogger,
  });
  const result = await pipeline.process(alertIssue());
  const error = result.issue.enrichments.find((e) => e.title === "Workflow error");
  assert.equal(error?.workflow, "failing");
  assert.match(JSON.stringify(error?.blocks), /Error: boom/);
  assert.ok(result.issue.enrichments.some((e) => e.workflow === "ok"));
  assert.deepEqual(result.route?.destinations, ["console"]);
  assert.equal(result.runs.find((r) => r.workflow === "failing")?.outcome, "error");
});

Deno.test("createPipeline() enforces the deadline on a hanging workflow", async () => {
  const hanging = defineWorkflow({
    id: "hanging",
    description: "Never resolves",
    triggers: [{ on: "prometheus_alert" }],
    run: () => new Promise<void>(() => {}),
  });
  const pipeline = createPipeline({
    state: stateOf([hanging], 50),
    metrics: createMetrics(),
    log: silentLogger,
  });
  const started = performance.now();
  const result = await pipeline.process(alertIssue());
  assert.ok(performance.now() - started < 1000);
  assert.equal(result.runs[0]?.outcome, "timeout");
  assert.ok(result.route);
});

Deno.test("createPipeline() skips workflows whose triggers do not match", async () => {
  const other = defineWorkflow({
    id: "nodes-only",
    description: "Node alerts",
    triggers: [{ on: "prometheus_alert", alertName: "KubeNode*" }],
    run(ctx) {
      ctx.enrich("x", [markdown("x")]);
    },
  });
  const pipeline = createPipeline({
    state: stateOf([other]),
    metrics: createMetrics(),
    log: silentLogger,
  });
  const result = await pipeline.process(alertIssue());
  assert.deepEqual(result.runs, []);
  assert.deepEqual(result.issue.enrichments, []);
});

Deno.test("createPipeline() reports a silenced issue and routes nothing", async () => {
  const silencer = defineWorkflow({
    id: "mute",
    description: "Silences",
    triggers: [{ on: "any_issue" }],
    run(ctx) {
      ctx.silence("maintenance");
    },
  });
  const pipeline = createPipeline({
    state: stateOf([silencer]),
    metrics: createMetrics(),
    log: silentLogger,
  });
  const result = await pipeline.process(alertIssue());
  assert.deepEqual(result.silenced, { workflow: "mute", reason: "maintenance" });
  assert.equal(result.route, undefined);
});

Deno.test("createInProcessEntry() rejects invalid blocks and bad params with the workflow id", async () => {
  const bad = defineWorkflow({
    id: "bad-blocks",
    description: "Enriches with a malformed table",
    triggers: [{ on: "prometheus_alert" }],
    run(ctx) {
      ctx.enrich("t", [{ type: "table", headers: ["a"], rows: [["1", "2"]] }]);
    },
  });
  const entry = createInProcessEntry(bad, { log: silentLogger });
  const result = await entry.run({ issue: alertIssue(), params: {}, timeoutMs: 1000 });
  assert.equal(result.outcome, "error");
  assert.match(result.error ?? "", /Cannot enrich from workflow "bad-blocks"/);
});
