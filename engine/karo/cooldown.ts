/**
 * The cooldown that keeps Alertmanager's repeats from creating a Job each time.
 *
 * Alertmanager re-sends a still-firing alert at every `group_interval` change and every
 * `repeat_interval`, always with the same fingerprint and `startsAt`; Karo created new Jobs
 * for each. Here a (reaction, fingerprint) pair that ran is held for the cooldown window,
 * unless the alert's `startsAt` differs: that is a new firing after a resolution, and it runs.
 *
 * `claim` is synchronous, so two deliveries of the same alert arriving together (HA
 * Alertmanagers) cannot both pass.
 *
 * @example
 * ```ts
 * import { createCooldown } from "./cooldown.ts";
 * import assert from "node:assert/strict";
 *
 * let now = 0;
 * const cooldown = createCooldown({ windowMs: 60_000, now: () => now });
 * assert.equal(cooldown.claim("r1/fp", "2026-03-01T10:00:00Z"), true);
 * assert.equal(cooldown.claim("r1/fp", "2026-03-01T10:00:00Z"), false);
 * assert.equal(cooldown.claim("r1/fp", "2026-03-01T11:00:00Z"), true); // new firing
 * now = 61_000;
 * assert.equal(cooldown.claim("r1/fp", "2026-03-01T11:00:00Z"), true); // window over
 * ```
 *
 * @module
 */

/** Options of {@linkcode createCooldown}. */
export interface CooldownOptions {
  /** How long a claim holds, in ms; 0 disables the cooldown. */
  windowMs: number;
  /** Clock in ms. @default Date.now */
  now?: () => number;
  /** Entries kept at most; the oldest go first. @default 50_000 */
  maxEntries?: number;
}

/** The cooldown state. */
export interface Cooldown {
  /**
   * Claims a run for `key` (reaction uid and alert fingerprint) and the alert's start.
   *
   * @returns `true` when the run may go ahead (and is now recorded), `false` in the cooldown.
   */
  claim(key: string, startsAt: string): boolean;
  /** Records a run that happened at `at` (ms), e.g. one found on the cluster. */
  note(key: string, startsAt: string, at: number): void;
  /** Drops the claim of a run that created nothing, so the next repeat tries again. */
  release(key: string): void;
  /** Number of entries held. */
  readonly size: number;
}

/**
 * Creates a cooldown.
 *
 * @param options Window, clock and size cap.
 * @returns The cooldown.
 * @throws {RangeError} When the window or the cap is negative or not finite.
 */
export function createCooldown(
  { windowMs, now = Date.now, maxEntries = 50_000 }: CooldownOptions,
): Cooldown {
  if (!Number.isFinite(windowMs) || windowMs < 0) {
    throw new RangeError(`Cannot create cooldown: window ${windowMs} is not a duration`);
  }
  if (!Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new RangeError(`Cannot create cooldown: maxEntries ${maxEntries} is not positive`);
  }
  const entries = new Map<string, { startsAt: string; at: number }>();
  const set = (key: string, startsAt: string, at: number) => {
    entries.delete(key);
    entries.set(key, { startsAt, at });
    if (entries.size > maxEntries) sweep(now());
  };
  const sweep = (t: number) => {
    for (const [key, entry] of entries) {
      if (t - entry.at >= windowMs || entries.size > maxEntries) entries.delete(key);
    }
  };
  return {
    claim(key, startsAt) {
      if (windowMs === 0) return true;
      const t = now();
      const entry = entries.get(key);
      if (entry && entry.startsAt === startsAt && t - entry.at < windowMs) return false;
      set(key, startsAt, t);
      return true;
    },
    note(key, startsAt, at) {
      if (windowMs > 0) set(key, startsAt, at);
    },
    release(key) {
      entries.delete(key);
    },
    get size() {
      return entries.size;
    },
  };
}
