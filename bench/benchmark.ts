/**
 * The shape every benchmark in `bench/` shares, and the table printer `bench/mod.ts` uses.
 *
 * A benchmark is one file exporting a {@linkcode Benchmark}; `bench/mod.ts` lists them.
 *
 * @example A trivial benchmark and its report
 * ```ts
 * import { type Benchmark, formatTable } from "./benchmark.ts";
 * import assert from "node:assert/strict";
 *
 * const noop: Benchmark = {
 *   name: "noop",
 *   description: "Measures nothing",
 *   run: () => Promise.resolve({ headers: ["x"], rows: [["1"]], notes: [] }),
 * };
 * const report = await noop.run({ durationMs: 1, progress: () => {} });
 * assert.equal(formatTable(report.headers, report.rows), "x\n-\n1");
 * ```
 *
 * @module
 */

/** Options every benchmark receives. */
export interface BenchmarkOptions {
  /** Measured time per target, excluding warm-up. */
  durationMs: number;
  /** Concurrent clients, for benchmarks that drive load. @default the benchmark's own */
  clients?: number;
  /** Writes one progress line. */
  progress: (line: string) => void;
}

/** What a benchmark reports: one table and free-form notes (ratios, verdicts). */
export interface BenchmarkReport {
  /** Column names. */
  headers: string[];
  /** One row per measured target. */
  rows: string[][];
  /** Lines printed under the table. */
  notes: string[];
}

/** One benchmark. */
export interface Benchmark {
  /** Short id, e.g. `throughput`. */
  name: string;
  /** One sentence: what is measured. */
  description: string;
  /** Runs the benchmark. */
  run(options: BenchmarkOptions): Promise<BenchmarkReport>;
}

/**
 * Formats rows as a plain-text table: columns padded, numbers right-aligned.
 *
 * @param headers Column names.
 * @param rows Cells, as text.
 * @returns The table, lines joined by `\n`, without trailing spaces.
 */
export function formatTable(headers: readonly string[], rows: readonly string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const numeric = /^[\d.,%×x-]+$/;
  const line = (cells: readonly string[]) =>
    cells.map((cell, i) =>
      numeric.test(cell) && i > 0 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)
    ).join("  ").trimEnd();
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join(
    "\n",
  );
}
