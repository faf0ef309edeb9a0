/**
 * Drops alerts Cano has already handled.
 *
 * Alertmanager re-sends the whole group in every notification (every firing alert, not
 * only the changed ones), every `repeat_interval` it re-sends an unchanged group, and each
 * replica of an HA pair may deliver the same notification. An alert is identified by its
 * fingerprint, `startsAt` and status: the same alert firing again after it resolved has a
 * new `startsAt`, and its resolution has a new status, so both are new.
 *
 * State lives behind {@linkcode DedupeStore}, a small synchronous interface: the default is
 * an in-memory `Map`; a durable store (SQLite through `node:sqlite`, which is synchronous
 * too) can replace it without changing callers. Being synchronous, `check` reads and
 * records in one step, so two concurrent identical payloads yield exactly one `"new"`.
 *
 * @example Filter a re-sent group
 * ```ts
 * import { createAlertDeduper } from "./dedupe.ts";
 * import assert from "node:assert/strict";
 *
 * const deduper = createAlertDeduper();
 * const alert = { fingerprint: "3f2a9c1b7d4e8a60", startsAt: "2026-03-01T10:12:04Z", status: "firing" } as const;
 * assert.equal(deduper.check(alert), "new");
 * assert.equal(deduper.check(alert), "duplicate");
 * assert.equal(deduper.check({ ...alert, status: "resolved" }), "new");
 * ```
 *
 * @module
 */
import type { Issue } from "@cano/sdk";

/** `new`: first time; `duplicate`: handled already; `repeat`: handled, but `repeatIntervalMs` ago. */
export type DedupeVerdict = "new" | "duplicate" | "repeat";

/** What is remembered per key. */
export interface DedupeRecord {
  /** When the key was last reported as `new` or `repeat` (ms since the epoch). */
  deliveredMs: number;
  /** When the key was last checked at all (ms since the epoch); drives the TTL. */
  seenMs: number;
}

/**
 * Where the deduper keeps its records. Implementations keep keys ordered by their last
 * `set`, oldest first, so eviction only ever looks at {@linkcode DedupeStore.oldest}.
 */
export interface DedupeStore {
  /** The record of `key`, if any. */
  get(key: string): DedupeRecord | undefined;
  /** Stores `record` under `key`, which becomes the newest key. */
  set(key: string, record: DedupeRecord): void;
  /** Forgets `key`. */
  delete(key: string): void;
  /** The least recently set key and its record, if any. */
  oldest(): [key: string, record: DedupeRecord] | undefined;
  /** How many keys are stored. */
  size(): number;
}

/** Options of {@linkcode createAlertDeduper}. */
export interface AlertDeduperOptions {
  /** Forget a key not seen for this long. @default DEFAULT_DEDUPE_TTL_MS (7 days) */
  ttlMs?: number;
  /** Keep at most this many keys; the least recently seen are evicted. @default DEFAULT_DEDUPE_MAX_ENTRIES (100_000) */
  maxEntries?: number;
  /** When > 0, a duplicate last delivered at least this long ago is a `"repeat"`. @default 0 (never) */
  repeatIntervalMs?: number;
  /** Clock. @default Date.now */
  now?: () => number;
  /** Where records live. @default createMemoryDedupeStore() */
  store?: DedupeStore;
}

/** Decides whether an alert was already handled. */
export interface AlertDeduper {
  /** Records the alert and says whether it is new, a duplicate or a repeat. */
  check(issue: Pick<Issue, "fingerprint" | "startsAt" | "status">): DedupeVerdict;
  /** How many keys are remembered. */
  size(): number;
}

/** Default of {@linkcode AlertDeduperOptions.ttlMs}: 7 days. */
export const DEFAULT_DEDUPE_TTL_MS = 7 * 24 * 60 * 60 * 1000;
/** Default of {@linkcode AlertDeduperOptions.maxEntries}. */
export const DEFAULT_DEDUPE_MAX_ENTRIES = 100_000;

/**
 * Creates an in-memory {@linkcode DedupeStore} on a `Map` (insertion order is the age order).
 *
 * @returns The store.
 * @example
 * ```ts
 * import { createMemoryDedupeStore } from "./dedupe.ts";
 * import assert from "node:assert/strict";
 *
 * const store = createMemoryDedupeStore();
 * store.set("a", { deliveredMs: 1, seenMs: 1 });
 * store.set("b", { deliveredMs: 2, seenMs: 2 });
 * store.set("a", { deliveredMs: 1, seenMs: 3 });
 * assert.equal(store.oldest()?.[0], "b");
 * ```
 */
export function createMemoryDedupeStore(): DedupeStore {
  const records = new Map<string, DedupeRecord>();
  return {
    get: (key) => records.get(key),
    set(key, record) {
      records.delete(key);
      records.set(key, record);
    },
    delete: (key) => void records.delete(key),
    oldest() {
      const first = records.entries().next();
      return first.done ? undefined : first.value;
    },
    size: () => records.size,
  };
}

/**
 * Creates a deduper keyed on fingerprint, `startsAt` and status.
 *
 * @param options TTL, size bound, repeat interval, clock and store.
 * @returns The deduper.
 * @throws {RangeError} When `ttlMs` or `maxEntries` is not positive, or `repeatIntervalMs` is negative.
 * @example Re-deliver an unchanged alert once a day
 * ```ts
 * import { createAlertDeduper } from "./dedupe.ts";
 * import assert from "node:assert/strict";
 *
 * let time = 0;
 * const deduper = createAlertDeduper({ repeatIntervalMs: 86_400_000, now: () => time });
 * const alert = { fingerprint: "a81c03e5f9b27d44", startsAt: "2026-03-01T09:40:04Z", status: "firing" } as const;
 * assert.equal(deduper.check(alert), "new");
 * time = 86_400_000;
 * assert.equal(deduper.check(alert), "repeat");
 * ```
 */
export function createAlertDeduper(
  {
    ttlMs = DEFAULT_DEDUPE_TTL_MS,
    maxEntries = DEFAULT_DEDUPE_MAX_ENTRIES,
    repeatIntervalMs = 0,
    now = Date.now,
    store = createMemoryDedupeStore(),
  }: AlertDeduperOptions = {},
): AlertDeduper {
  if (!(ttlMs > 0)) {
    throw new RangeError(`Cannot create alert deduper: ttlMs must be positive, got ${ttlMs}`);
  }
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new RangeError(
      `Cannot create alert deduper: maxEntries must be a positive integer, got ${maxEntries}`,
    );
  }
  if (!(repeatIntervalMs >= 0)) {
    throw new RangeError(
      `Cannot create alert deduper: repeatIntervalMs must be 0 or more, got ${repeatIntervalMs}`,
    );
  }
  const evict = (time: number, room: number) => {
    for (let oldest = store.oldest(); oldest; oldest = store.oldest()) {
      const expired = time - oldest[1].seenMs >= ttlMs;
      if (!expired && store.size() + room <= maxEntries) break;
      store.delete(oldest[0]);
    }
  };
  return {
    check(issue) {
      const time = now();
      evict(time, 0);
      const key = dedupeKey(issue);
      const known = store.get(key);
      if (!known) {
        // evict(time, 0) left no expired key at the head: only a full store needs room.
        if (store.size() + 1 > maxEntries) evict(time, 1);
        store.set(key, { deliveredMs: time, seenMs: time });
        return "new";
      }
      if (repeatIntervalMs > 0 && time - known.deliveredMs >= repeatIntervalMs) {
        store.set(key, { deliveredMs: time, seenMs: time });
        return "repeat";
      }
      store.set(key, { deliveredMs: known.deliveredMs, seenMs: time });
      return "duplicate";
    },
    size: () => store.size(),
  };
}

function dedupeKey(
  { fingerprint, startsAt, status }: Pick<Issue, "fingerprint" | "startsAt" | "status">,
): string {
  return `${fingerprint}\u0000${startsAt}\u0000${status}`;
}
