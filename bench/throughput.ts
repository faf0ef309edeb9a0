/**
 * Throughput and latency of Cano's in-process pipeline against a parse-and-forward baseline.
 *
 * Cano runs in this process through `serveCommand` (default built-ins on, one `webhook`
 * destination pointing at the sink, silent logger), then again with the built-ins off to
 * show what the workflow runs cost. The baseline (`_baseline.ts`) is a bare
 * `Deno.serve` handler. Both get the same closed-loop load from the worker in `_load.ts`:
 * payloads of 10 alerts with unique fingerprints, so Cano's dedupe passes every one. Reported
 * per target: delivered alerts/s, p50/p99 post → arrival at the sink, and Cano's share of
 * the baseline's throughput (target ≥ 0.7).
 *
 * @module
 */
import type { Benchmark, BenchmarkReport } from "./benchmark.ts";
import { fixed, percentile } from "./_stats.ts";
import { type LoadResult, startLoadDriver } from "./_load.ts";
import { startBaseline } from "./_baseline.ts";
import { serveCommand } from "../engine/commands/serve.ts";
import { silentLogger } from "../engine/log.ts";

/** Alerts per Alertmanager payload. */
export const ALERTS_PER_PAYLOAD = 10;
/** Concurrent clients unless `--clients` says otherwise. */
export const DEFAULT_CLIENTS = 8;
/** Unmeasured time before each measurement. */
export const WARMUP_MS = 2_000;
/** Cano's throughput as a share of the baseline's that the benchmark aims for. */
export const TARGET_RATIO = 0.7;

/** A server under test: where to post, and how to stop it. */
export interface Target {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts Cano in this process, delivering to `sinkUrl`.
 *
 * @param sinkUrl Where the webhook destination posts.
 * @param options `workflows: false` disables the built-ins; `state` turns on the durable
 *   outbox in a temporary file with that `delivery.sync`.
 * @returns The target.
 */
export async function startCano(
  sinkUrl: string,
  { workflows, state }: { workflows: boolean; state?: "normal" | "full" | undefined },
): Promise<Target> {
  const dir = await Deno.makeTempDir({ prefix: "cano-bench-" });
  const builtins = workflows ? "" : `workflows:
  builtin:
    default-alert-enricher: { enabled: false }
    silencer: { enabled: false }
`;
  const delivery = state ? `delivery:\n  state: ${dir}/state.db\n  sync: ${state}\n` : "";
  await Deno.writeTextFile(
    `${dir}/cano.yaml`,
    `server:
  host: 127.0.0.1
  port: 0
${builtins}${delivery}destinations:
  - name: sink
    type: webhook
    url: ${sinkUrl}/cano
routing:
  default:
    destinations: [sink]
`,
  );
  const running = await serveCommand({ config: `${dir}/cano.yaml`, log: silentLogger });
  if (typeof running === "number") {
    throw new Error(`Cannot start Cano for the benchmark: config rejected (exit ${running})`);
  }
  return {
    url: `http://127.0.0.1:${running.port}/api/alerts`,
    async stop() {
      await running.shutdown();
      await running.finished;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** The targets, in the order they run; the first is compared with the last. */
const TARGETS: readonly { name: string; start(sinkUrl: string): Promise<Target> }[] = [
  { name: "cano", start: (sink) => startCano(sink, { workflows: true }) },
  { name: "cano-no-workflows", start: (sink) => startCano(sink, { workflows: false }) },
  {
    name: "deno-serve-baseline",
    start: (sink) => startBaseline(sink).then((b) => ({ url: b.url, stop: b.close })),
  },
];

function row(name: string, result: LoadResult): string[] {
  const perSecond = result.alerts / (result.elapsedMs / 1000);
  return [
    name,
    fixed(perSecond, 0),
    fixed(percentile(result.latenciesMs, 50), 2),
    fixed(percentile(result.latenciesMs, 99), 2),
    String(result.payloads),
    String(result.alerts),
    String(result.lost),
  ];
}

/** The throughput benchmark. */
const throughput: Benchmark = {
  name: "throughput",
  description:
    `Alertmanager payloads of ${ALERTS_PER_PAYLOAD} alerts → sink: Cano vs a parse-and-forward Deno.serve`,
  async run({ durationMs, clients = DEFAULT_CLIENTS, progress }): Promise<BenchmarkReport> {
    await using load = await startLoadDriver();
    const options = {
      clients,
      alertsPerPayload: ALERTS_PER_PAYLOAD,
      warmupMs: WARMUP_MS,
      durationMs,
      payloadTimeoutMs: 10_000,
    };

    const results: [name: string, result: LoadResult][] = [];
    for (const { name, start } of TARGETS) {
      progress(`${name}: ${clients} clients, ${WARMUP_MS} ms warm-up + ${durationMs} ms`);
      const target = await start(`${load.sinkUrl}/${name}`);
      try {
        results.push([name, await load.run({ ...options, url: target.url })]);
      } finally {
        await target.stop();
      }
    }

    const rate = (r: LoadResult) => r.alerts / (r.elapsedMs / 1000);
    const ratio = rate(results[0]![1]) / rate(results[results.length - 1]![1]);
    const errors = results.flatMap(([name, r]) =>
      Object.entries(r.statuses).map(([status, n]) => `${name} answered HTTP ${status} ${n} times`)
    );
    return {
      headers: ["target", "alerts/s", "p50 ms", "p99 ms", "payloads", "alerts", "lost"],
      rows: results.map(([name, result]) => row(name, result)),
      notes: [
        `throughput ratio cano/deno-serve-baseline: ${
          fixed(ratio, 2)
        } (target >= ${TARGET_RATIO}: ${ratio >= TARGET_RATIO ? "met" : "NOT met"})`,
        ...errors,
      ],
    };
  },
};

export default throughput;
