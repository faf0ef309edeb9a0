/**
 * The in-memory side of a delivery queue: waiting deliveries per destination, in arrival
 * order, taken head-first while skipping fingerprints already in flight (so a resolution
 * never overtakes its firing). Both the memory queue and the SQLite outbox keep their
 * waiting deliveries here; the outbox adds the durable rows.
 *
 * @module
 */

/** What the lists need to know of a delivery. */
export interface Waiting {
  /** Destination name. */
  readonly destination: string;
  /** The issue; its fingerprint orders deliveries. */
  readonly issue: { readonly fingerprint: string };
}

/** Waiting deliveries per destination. */
export interface WaitingLists<T extends Waiting> {
  /** Appends a delivery to its destination's list. */
  add(delivery: T): void;
  /** Takes the oldest delivery to `destination` whose fingerprint is not in `busy`. */
  take(destination: string, busy: ReadonlySet<string>): T | undefined;
  /** Destinations with waiting deliveries. */
  destinations(): string[];
  /** Deliveries waiting, for one destination or all. */
  size(destination?: string): number;
  /** Forgets every waiting delivery; returns how many there were. */
  clear(): number;
}

/**
 * Creates empty waiting lists.
 *
 * @returns The lists.
 * @example
 * ```ts
 * import { createWaitingLists } from "./_waiting.ts";
 * import assert from "node:assert/strict";
 *
 * const lists = createWaitingLists<{ destination: string; issue: { fingerprint: string }; n: number }>();
 * lists.add({ destination: "d", issue: { fingerprint: "a" }, n: 1 });
 * lists.add({ destination: "d", issue: { fingerprint: "b" }, n: 2 });
 * assert.equal(lists.take("d", new Set(["a"]))?.n, 2);
 * assert.equal(lists.size(), 1);
 * ```
 */
export function createWaitingLists<T extends Waiting>(): WaitingLists<T> {
  const waiting = new Map<string, T[]>();
  let total = 0;
  return {
    add(delivery) {
      const list = waiting.get(delivery.destination) ?? [];
      list.push(delivery);
      waiting.set(delivery.destination, list);
      total++;
    },
    take(destination, busy) {
      const list = waiting.get(destination);
      const index = list?.findIndex((d) => !busy.has(d.issue.fingerprint)) ?? -1;
      if (!list || index < 0) return undefined;
      // shift() is O(1) for the common head case; splice(0, 1) copies the whole list.
      const delivery = index === 0 ? list.shift() : list.splice(index, 1)[0];
      if (list.length === 0) waiting.delete(destination);
      total--;
      return delivery;
    },
    destinations: () => [...waiting.keys()],
    size: (destination) =>
      destination === undefined ? total : waiting.get(destination)?.length ?? 0,
    clear() {
      const dropped = total;
      waiting.clear();
      total = 0;
      return dropped;
    },
  };
}
