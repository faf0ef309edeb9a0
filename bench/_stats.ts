/**
 * Percentiles and number formatting for benchmark reports.
 *
 * @module
 */

/**
 * The `p`-th percentile of `values` (nearest rank).
 *
 * @param values Samples, in any order.
 * @param p Percentile, 0 to 100.
 * @returns The sample at that rank, or `NaN` when there are none.
 * @example
 * ```ts
 * import { percentile } from "./_stats.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(percentile([5, 1, 4, 2, 3], 50), 3);
 * assert.equal(percentile([5, 1, 4, 2, 3], 99), 5);
 * ```
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/**
 * Formats a number with a fixed number of decimals.
 *
 * @param value The number.
 * @param decimals Digits after the point.
 * @returns The text, or `-` for `NaN`.
 */
export function fixed(value: number, decimals = 1): string {
  return Number.isNaN(value) ? "-" : value.toFixed(decimals);
}
