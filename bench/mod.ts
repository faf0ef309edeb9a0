/**
 * `deno task bench`: runs every benchmark listed below and prints one table each.
 *
 * Options: `--duration <ms>` measured time per target (default 8000), `--clients <n>`
 * concurrent clients for load benchmarks, `--only <name>` to run one benchmark. Add a
 * benchmark by writing `bench/<name>.ts` that default-exports a `Benchmark` (see
 * `benchmark.ts`) and listing it in `BENCHMARKS`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type Benchmark, formatTable } from "./benchmark.ts";
import delivery from "./delivery.ts";
import sandbox from "./sandbox.ts";
import throughput from "./throughput.ts";

/** Every benchmark, in the order they run. */
export const BENCHMARKS: readonly Benchmark[] = [throughput, delivery, sandbox];

/** Measured time per target unless `--duration` says otherwise. */
export const DEFAULT_DURATION_MS = 8_000;

const encoder = new TextEncoder();

function print(line = ""): void {
  Deno.stdout.writeSync(encoder.encode(`${line}\n`));
}

function positiveInt(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) {
    throw new RangeError(
      `Cannot run benchmarks: --${name} must be a positive integer, got "${value}"`,
    );
  }
  return n;
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      duration: { type: "string" },
      clients: { type: "string" },
      only: { type: "string" },
    },
  });
  const durationMs = positiveInt("duration", values.duration) ?? DEFAULT_DURATION_MS;
  const clients = positiveInt("clients", values.clients);
  const selected = BENCHMARKS.filter((b) => values.only === undefined || b.name === values.only);
  if (selected.length === 0) {
    print(
      `Cannot run benchmarks: no benchmark named "${values.only}" (have: ${
        BENCHMARKS.map((b) => b.name).join(", ")
      })`,
    );
    return 2;
  }
  print(
    `cano bench — deno ${Deno.version.deno}, ${Deno.build.os}/${Deno.build.arch}, ` +
      `${navigator.hardwareConcurrency} CPUs, ${new Date().toISOString()}`,
  );
  for (const benchmark of selected) {
    print();
    print(`## ${benchmark.name}: ${benchmark.description}`);
    const started = performance.now();
    const report = await benchmark.run({
      durationMs,
      ...(clients === undefined ? {} : { clients }),
      progress: (line) => print(`  … ${line}`),
    });
    print();
    print(formatTable(report.headers, report.rows));
    for (const note of report.notes) print(note);
    print(`(${((performance.now() - started) / 1000).toFixed(1)} s)`);
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
