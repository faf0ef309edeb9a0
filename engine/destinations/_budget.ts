/**
 * Byte budgets for destinations whose limit is the size of the posted JSON (Teams 28 KB,
 * Google Chat 32,000 bytes): measure UTF-8 bytes of the serialized value, cut text to a
 * byte size, and keep items in order while they fit.
 *
 * @module
 */

const ENCODER = new TextEncoder();

/**
 * UTF-8 bytes of a string.
 *
 * @param text The text.
 * @returns Its size in bytes.
 * @example
 * ```ts
 * import { utf8Bytes } from "./_budget.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(utf8Bytes("é🔥"), 6);
 * ```
 */
export function utf8Bytes(text: string): number {
  return ENCODER.encode(text).length;
}

/**
 * UTF-8 bytes of a value's JSON, exactly as `JSON.stringify` writes it.
 *
 * @param value Any JSON value.
 * @returns Its serialized size in bytes.
 * @example
 * ```ts
 * import { jsonBytes } from "./_budget.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(jsonBytes({ text: "é" }), 13);
 * ```
 */
export function jsonBytes(value: unknown): number {
  return utf8Bytes(JSON.stringify(value) ?? "");
}

/**
 * Cuts a text from the end (or keeps its end) so that `measure(result)` fits `max`,
 * marking the cut. Binary search over code points, so multi-byte characters stay whole.
 *
 * @param text The text.
 * @param max The budget, in the unit `measure` returns.
 * @param options `measure` (default UTF-8 bytes), `marker` added where text was removed
 *   (default `"…"`), `keep` which end to keep (default `"start"`).
 * @returns The text itself when it fits, else the longest cut that fits (maybe just the
 *   marker, or `""` when not even that fits).
 * @example Keep the last lines of a log
 * ```ts
 * import { cutToFit } from "./_budget.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(cutToFit("abcdef", 4), "a…");
 * assert.equal(cutToFit("line 1\nline 2", 10, { keep: "end", marker: "…\n" }), "…\nline 2");
 * ```
 */
export function cutToFit(
  text: string,
  max: number,
  { measure = utf8Bytes, marker = "…", keep = "start" }: {
    measure?: (text: string) => number;
    marker?: string;
    keep?: "start" | "end";
  } = {},
): string {
  if (measure(text) <= max) return text;
  const chars = [...text];
  const build = (n: number) =>
    keep === "start"
      ? chars.slice(0, n).join("") + marker
      : marker + chars.slice(chars.length - n).join("");
  if (measure(build(0)) > max) return "";
  let low = 0;
  let high = chars.length - 1;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (measure(build(mid)) <= max) low = mid;
    else high = mid - 1;
  }
  return build(low);
}

/** Options of {@linkcode fitInOrder}. */
export interface FitOptions<T> {
  /** Bytes an item adds when kept. */
  cost(item: T): number;
  /** A smaller version of an item that costs at most `max`, if one makes sense. */
  shrink?(item: T, max: number): T | undefined;
  /** Bytes kept free for the note saying what was left out. @default 0 */
  reserve?: number;
}

/**
 * Keeps items in order while their cost fits the budget. An item that does not fit is
 * shrunk when possible, else left out; later, smaller items may still fit.
 *
 * @param items The items, in order.
 * @param budget Bytes available for all of them.
 * @param options How to measure and shrink an item.
 * @returns The kept items and how many were left out or shrunk.
 * @example
 * ```ts
 * import { fitInOrder } from "./_budget.ts";
 * import assert from "node:assert/strict";
 *
 * const fitted = fitInOrder(["aaaa", "bbbbbbbbbb", "cc"], 8, { cost: (s) => s.length });
 * assert.deepEqual(fitted, { kept: ["aaaa", "cc"], omitted: 1, shrunk: 0 });
 * ```
 */
export function fitInOrder<T>(
  items: readonly T[],
  budget: number,
  { cost, shrink, reserve = 0 }: FitOptions<T>,
): { kept: T[]; omitted: number; shrunk: number } {
  const kept: T[] = [];
  let used = 0;
  let omitted = 0;
  let shrunk = 0;
  items.forEach((item, i) => {
    const size = cost(item);
    const last = i === items.length - 1 && omitted === 0;
    const room = budget - used - (last ? 0 : reserve);
    if (size <= room) {
      kept.push(item);
      used += size;
      return;
    }
    const smaller = shrink?.(item, budget - used - reserve);
    if (smaller !== undefined && cost(smaller) <= budget - used - reserve) {
      kept.push(smaller);
      used += cost(smaller);
      shrunk++;
      return;
    }
    omitted++;
  });
  return { kept, omitted, shrunk };
}
