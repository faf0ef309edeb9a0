/**
 * Adds the pod's CPU, memory and restarts, per container, from Prometheus: what the pod
 * was doing when the alert fired.
 *
 * ## Triggers
 * Firing Prometheus alerts that carry a `pod` label.
 *
 * ## Params
 * - `rateWindow`: window of the CPU rate, a Prometheus duration (default `5m`).
 * - `lookbackMinutes`: how far before the alert the memory peak is searched (default 60).
 *
 * ## Output
 * A "Pod resources" table: container, CPU (cores), memory now and peak (MiB), restarts in
 * the lookback. When Prometheus has no series for the pod, a note says so.
 *
 * ## Permissions
 * `prometheus: true`; the operator must also set `capabilities.prometheus.url`.
 *
 * @module
 */
import { defineWorkflow, markdown, type PrometheusResult, table, z } from "@cano/sdk";

const MIB = 1024 * 1024;

export default defineWorkflow({
  id: "prometheus-context",
  description: "Adds per-container CPU, memory and restarts of the alert's pod from Prometheus",
  triggers: [{ on: "prometheus_alert", labels: { pod: "*" } }],
  permissions: { prometheus: true },
  params: z.object({
    rateWindow: z.string().regex(/^\d+[smh]$/, 'Expected a duration like "5m"').default("5m")
      .describe("Window of the CPU rate"),
    lookbackMinutes: z.number().int().min(5).max(24 * 60).default(60)
      .describe("Minutes before the alert searched for the memory peak"),
  }),
  async run(ctx) {
    const namespace = ctx.issue.labels.namespace ?? ctx.issue.subject?.namespace;
    const pod = ctx.issue.labels.pod;
    if (!namespace || !pod) {
      ctx.log.info("No namespace or pod label; nothing to query");
      return;
    }
    const selector = `namespace="${escapeLabel(namespace)}",pod="${
      escapeLabel(pod)
    }",container!=""`;
    const lookback = `${ctx.params.lookbackMinutes}m`;
    const alertTime = Date.parse(ctx.issue.startsAt);
    const start = new Date(alertTime - ctx.params.lookbackMinutes * 60_000).toISOString();

    const [cpu, memory, restarts, memoryRange] = await Promise.all([
      ctx.prometheus.query(
        `sum by (container) (rate(container_cpu_usage_seconds_total{${selector}}[${ctx.params.rateWindow}]))`,
        { time: ctx.issue.startsAt },
      ),
      ctx.prometheus.query(
        `sum by (container) (container_memory_working_set_bytes{${selector}})`,
        { time: ctx.issue.startsAt },
      ),
      ctx.prometheus.query(
        `sum by (container) (increase(kube_pod_container_status_restarts_total{${selector}}[${lookback}]))`,
        { time: ctx.issue.startsAt },
      ),
      ctx.prometheus.queryRange(
        `sum by (container) (container_memory_working_set_bytes{${selector}})`,
        { start, end: ctx.issue.startsAt, step: "60s" },
      ),
    ]);

    const cpuBy = latest(cpu);
    const memoryBy = latest(memory);
    const restartsBy = latest(restarts);
    const peakBy = peak(memoryRange);
    const containers = [...new Set([...cpuBy.keys(), ...memoryBy.keys(), ...peakBy.keys()])].sort();
    if (containers.length === 0) {
      ctx.enrich("Pod resources", [
        markdown(`Prometheus has no container metrics for \`${namespace}/${pod}\`.`),
      ]);
      return;
    }
    const rows = containers.map((container) => [
      container,
      format(cpuBy.get(container), 3),
      format(divide(memoryBy.get(container), MIB), 0),
      format(divide(peakBy.get(container), MIB), 0),
      format(restartsBy.get(container), 0),
    ]);
    ctx.enrich("Pod resources", [
      table(
        [
          "container",
          "CPU (cores)",
          "memory (MiB)",
          `memory peak ${lookback} (MiB)`,
          `restarts ${lookback}`,
        ],
        rows,
        { title: `${namespace}/${pod}` },
      ),
    ]);
  },
});

/** Escapes a label value for a PromQL string literal. */
function escapeLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"');
}

function latest(result: PrometheusResult): Map<string, number> {
  const out = new Map<string, number>();
  for (const series of result.result) {
    if (series.value) out.set(series.metric.container ?? "", Number(series.value[1]));
  }
  return out;
}

function peak(result: PrometheusResult): Map<string, number> {
  const out = new Map<string, number>();
  for (const series of result.result) {
    const values = (series.values ?? []).map(([, value]) => Number(value));
    if (values.length > 0) out.set(series.metric.container ?? "", Math.max(...values));
  }
  return out;
}

function divide(value: number | undefined, by: number): number | undefined {
  return value === undefined ? undefined : value / by;
}

function format(value: number | undefined, digits: number): string {
  return value === undefined || Number.isNaN(value) ? "-" : value.toFixed(digits);
}
