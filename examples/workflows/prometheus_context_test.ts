import { markdown, type PrometheusResult, table } from "@cano/sdk";
import { runWorkflow, sampleAlertIssue } from "@cano/sdk/testing";
import assert from "node:assert/strict";
import workflow from "./prometheus_context.ts";

const SELECTOR = 'namespace="shop",pod="api-7c9d8b6f5-x2kqp",container!=""';
const T = 1772359924.512;

function vector(values: Record<string, number>): PrometheusResult {
  return {
    resultType: "vector",
    result: Object.entries(values).map(([container, value]) => ({
      metric: { container },
      value: [T, String(value)],
    })),
  };
}

const recorded: Record<string, PrometheusResult> = {
  [`sum by (container) (rate(container_cpu_usage_seconds_total{${SELECTOR}}[5m]))`]: vector({
    api: 0.41234,
    "istio-proxy": 0.02,
  }),
  [`sum by (container) (container_memory_working_set_bytes{${SELECTOR}})`]: vector({
    api: 300 * 1024 * 1024,
    "istio-proxy": 40 * 1024 * 1024,
  }),
  [`sum by (container) (increase(kube_pod_container_status_restarts_total{${SELECTOR}}[60m]))`]:
    vector({ api: 4 }),
};

Deno.test("prometheus-context tabulates CPU, memory, peak and restarts per container", async () => {
  const ranges: unknown[] = [];
  const result = await runWorkflow(workflow, {
    issue: sampleAlertIssue(),
    prometheus: (query) => {
      if (query.kind === "query") {
        assert.equal(query.time, "2026-03-01T10:12:04.512Z");
        const answer = recorded[query.expr];
        if (!answer) throw new Error(`unexpected query ${query.expr}`);
        return answer;
      }
      ranges.push({ start: query.start, end: query.end, step: query.step });
      return {
        resultType: "matrix",
        result: [{
          metric: { container: "api" },
          values: [[T - 120, String(310 * 1024 * 1024)], [T - 60, String(512 * 1024 * 1024)]],
        }],
      };
    },
  });
  assert.deepEqual(ranges, [{
    start: "2026-03-01T09:12:04.512Z",
    end: "2026-03-01T10:12:04.512Z",
    step: "60s",
  }]);
  assert.deepEqual(result.enrichments, [{
    title: "Pod resources",
    blocks: [table(
      ["container", "CPU (cores)", "memory (MiB)", "memory peak 60m (MiB)", "restarts 60m"],
      [["api", "0.412", "300", "512", "4"], ["istio-proxy", "0.020", "40", "-", "-"]],
      { title: "shop/api-7c9d8b6f5-x2kqp" },
    )],
  }]);
});

Deno.test("prometheus-context says so when Prometheus has no series for the pod", async () => {
  const empty: PrometheusResult = { resultType: "vector", result: [] };
  const result = await runWorkflow(workflow, {
    prometheus: () => empty,
  });
  assert.deepEqual(result.enrichments[0]?.blocks, [
    markdown("Prometheus has no container metrics for `shop/api-7c9d8b6f5-x2kqp`."),
  ]);
});

Deno.test("prometheus-context escapes label values in its queries", async () => {
  const issue = sampleAlertIssue({ labels: { alertname: "X", namespace: 'a"b', pod: "p\\0" } });
  const exprs: string[] = [];
  await runWorkflow(workflow, {
    issue,
    prometheus: (query) => {
      exprs.push(query.expr);
      return { resultType: query.kind === "query" ? "vector" : "matrix", result: [] };
    },
  });
  assert.ok(
    exprs.every((expr) => expr.includes('namespace="a\\"b",pod="p\\\\0"')),
    exprs.join("\n"),
  );
});
