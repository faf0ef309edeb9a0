/**
 * What durability costs: Cano's throughput with the durable SQLite outbox (`delivery.state`:
 * intake journal, outbox rows, dedupe store), with `delivery.sync: normal` (the default: WAL,
 * survives kill -9) and `full` (every commit synced to disk, survives power loss), against the
 * same Cano keeping everything in memory. Workflows are off in both, so
 * the difference is delivery bookkeeping alone. Same closed-loop load as `throughput`.
 *
 * @module
 */
import type { Benchmark, BenchmarkReport } from "./benchmark.ts";
import { fixed, percentile } from "./_stats.ts";
import { type LoadResult, startLoadDriver } from "./_load.ts";
import { ALERTS_PER_PAYLOAD, DEFAULT_CLIENTS, startCano, WARMUP_MS } from "./throughput.ts";

const TARGETS = [
  { name: "cano-outbox-sync-normal", state: "normal" },
  { name: "cano-outbox-sync-full", state: "full" },
  { name: "cano-in-memory", state: undefined },
] as const;

/** The delivery benchmark. */
const delivery: Benchmark = {
  name: "delivery",
  description: "Throughput with the durable outbox on vs off (workflows off in both)",
  async run({ durationMs, clients = DEFAULT_CLIENTS, progress }): Promise<BenchmarkReport> {
    await using load = await startLoadDriver();
    const results: [string, LoadResult][] = [];
    for (const { name, state } of TARGETS) {
      progress(`${name}: ${clients} clients, ${WARMUP_MS} ms warm-up + ${durationMs} ms`);
      const target = await startCano(`${load.sinkUrl}/${name}`, { workflows: false, state });
      try {
        results.push([
          name,
          await load.run({
            url: target.url,
            clients,
            alertsPerPayload: ALERTS_PER_PAYLOAD,
            warmupMs: WARMUP_MS,
            durationMs,
            payloadTimeoutMs: 10_000,
          }),
        ]);
      } finally {
        await target.stop();
      }
    }
    const rate = (r: LoadResult) => r.alerts / (r.elapsedMs / 1000);
    const memory = rate(results[2]![1]);
    return {
      headers: ["target", "alerts/s", "p50 ms", "p99 ms", "alerts", "lost"],
      rows: results.map(([name, r]) => [
        name,
        fixed(rate(r), 0),
        fixed(percentile(r.latenciesMs, 50), 2),
        fixed(percentile(r.latenciesMs, 99), 2),
        String(r.alerts),
        String(r.lost),
      ]),
      notes: [
        `throughput ratio outbox (sync normal, the default)/in-memory: ${
          fixed(rate(results[0]![1]) / memory, 2)
        }`,
        `throughput ratio outbox (sync full)/in-memory: ${fixed(rate(results[1]![1]) / memory, 2)}`,
      ],
    };
  },
};

export default delivery;
