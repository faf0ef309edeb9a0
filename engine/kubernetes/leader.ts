/**
 * Leader election with a `coordination.k8s.io/v1` Lease, as client-go's
 * `tools/leaderelection` does it (client-node has no helper).
 *
 * One round (`tryAcquireOrRenew`):
 * 1. GET the Lease; `404` → CREATE it holding it ourselves (`409` = another replica won);
 * 2. when the stored record differs from the last one seen, remember it and the **local**
 *    time it was seen: expiry is measured on our own clock from that moment, never by
 *    comparing the holder's `renewTime` with our clock (clocks differ between nodes);
 * 3. held by someone else whose record has not changed for its `leaseDurationSeconds` →
 *    take over; held by someone else and fresh → wait;
 * 4. PUT the new record with the `resourceVersion` read in 1 (`409` = someone else wrote
 *    first, we lost the round). Taking over bumps `leaseTransitions` and sets a new
 *    `acquireTime`; renewing keeps both and sets `renewTime`.
 *
 * A candidate tries every `retryPeriodMs` (jittered by up to 1.2×, as client-go). The leader
 * renews every `retryPeriodMs`; when no renewal has succeeded for `renewDeadlineMs` it stops
 * leading (the signal given to `onStartedLeading` aborts, then `onStoppedLeading` runs) and
 * becomes a candidate again. Since `renewDeadlineMs < leaseDurationMs`, a leader that cannot
 * renew steps down before any other replica may take over. There is no fencing: two leaders
 * can overlap briefly if a process stalls, so whatever the leader sends must be idempotent.
 *
 * `acquireTime` and `renewTime` are MicroTime strings with exactly 6 fractional digits
 * (`2026-03-01T10:00:00.123000Z`); `Date.toISOString()`'s 3 digits are rejected by the API
 * server (kubernetes-client/javascript#828). `stop()` releases the Lease (empty holder,
 * `leaseDurationSeconds: 1`) so a successor does not wait out the lease.
 *
 * The file stays whole past 400 lines: acquiring, renewing and releasing share the last
 * record seen and the local time it changed, and splitting them would expose that state.
 *
 * @example Elect a leader (needs a cluster)
 * ```ts ignore
 * import { createLeaderElector } from "./leader.ts";
 *
 * const elector = createLeaderElector(api, {
 *   namespace: "cano",
 *   name: "cano-leader",
 *   identity: Deno.hostname(),
 *   log,
 *   onStartedLeading: (signal) => startWatches(signal),
 *   onStoppedLeading: () => log.warn("No longer the leader"),
 * });
 * elector.start();
 * // on shutdown:
 * await elector.stop();
 * ```
 *
 * @module
 */
import type { Logger } from "../log.ts";
import { type KubeApi, KubeApiError, type KubeObject } from "./api.ts";

/** Options of {@linkcode createLeaderElector}. */
export interface LeaderElectorOptions {
  /** Namespace of the Lease. */
  namespace: string;
  /** Name of the Lease. */
  name: string;
  /** This replica's identity, unique among the candidates (e.g. the pod name). */
  identity: string;
  /** How long a Lease stays valid without renewal, rounded up to whole seconds in the Lease. @default 15000 */
  leaseDurationMs?: number;
  /** How long the leader keeps trying to renew before it stops leading. @default 10000 */
  renewDeadlineMs?: number;
  /** Time between attempts to acquire or renew. @default 2000 */
  retryPeriodMs?: number;
  /** Candidates wait `retryPeriodMs * (1 + random * jitterFactor)` between attempts. @default 1.2 */
  jitterFactor?: number;
  /** Wall clock in ms since the epoch (MicroTime values and local expiry). @default Date.now */
  now?: () => number;
  /** Waits `ms` or until `signal` aborts, whichever is first; never rejects. @default a timer */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Random numbers in [0, 1) for the jitter. @default Math.random */
  random?: () => number;
  /** Where transitions and failures are logged. */
  log: Logger;
  /** Called when this replica becomes the leader; `signal` aborts when it stops leading. */
  onStartedLeading(signal: AbortSignal): void;
  /** Called when this replica stops leading (lost renewals or `stop()`). */
  onStoppedLeading(): void;
}

/** What {@linkcode LeaderElector.status} reports, e.g. for `/health/detailed`. */
export interface LeaderStatus {
  /** This replica's identity. */
  identity: string;
  /** Whether this replica leads now. */
  leader: boolean;
  /** The holder in the last record seen (`""` when released), if any was seen. */
  holder?: string;
  /** `leaseTransitions` in the last record seen. */
  transitions?: number;
  /** ISO time of this replica's last successful acquire or renew. */
  lastRenewedAt?: string;
  /** The last failure, cleared by the next success. */
  lastError?: string;
}

/** A running (or stopped) leader elector. */
export interface LeaderElector {
  /** Starts campaigning; calling it twice is a no-op. */
  start(): void;
  /**
   * Stops campaigning and, when leading, stops leading and releases the Lease.
   *
   * @param options `release: false` leaves the Lease to expire (as a crashed replica would).
   */
  stop(options?: { release?: boolean }): Promise<void>;
  /** Whether this replica leads now (false once renewals have failed for `renewDeadlineMs`). */
  isLeader(): boolean;
  /** Identity, leadership, last record seen and last error. */
  status(): LeaderStatus;
}

/** The `spec` of a `coordination.k8s.io/v1` Lease. */
interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
  [key: string]: unknown;
}

interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

const LEASE_API = "/apis/coordination.k8s.io/v1";

/**
 * Formats a time as a Kubernetes MicroTime: RFC 3339 in UTC with exactly 6 fractional digits.
 *
 * @param ms Milliseconds since the epoch (fractions give the microseconds).
 * @returns e.g. `2026-03-01T10:00:00.123000Z`.
 * @throws {RangeError} When `ms` is not a valid time.
 * @example
 * ```ts
 * import { formatMicroTime } from "./leader.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(formatMicroTime(Date.UTC(2026, 2, 1, 10, 0, 0, 123)), "2026-03-01T10:00:00.123000Z");
 * assert.equal(formatMicroTime(1.5), "1970-01-01T00:00:00.001500Z");
 * ```
 */
export function formatMicroTime(ms: number): string {
  const micros = Math.floor(ms * 1000);
  const whole = Math.floor(micros / 1_000_000);
  const iso = new Date(whole * 1000).toISOString(); // throws RangeError for invalid times
  const fraction = String(micros - whole * 1_000_000).padStart(6, "0");
  return `${iso.slice(0, 19)}.${fraction}Z`;
}

/**
 * Creates a leader elector over a Lease. Nothing happens until `start()`.
 *
 * @param api The Kubernetes API.
 * @param options Lease name and namespace, identity, timings, clock and callbacks.
 * @returns The elector.
 * @throws {TypeError} When the namespace, name or identity is empty.
 * @throws {RangeError} Unless leaseDurationMs > renewDeadlineMs > jitterFactor × retryPeriodMs > 0.
 */
export function createLeaderElector(
  api: KubeApi,
  {
    namespace,
    name,
    identity,
    leaseDurationMs = 15_000,
    renewDeadlineMs = 10_000,
    retryPeriodMs = 2_000,
    jitterFactor = 1.2,
    now = Date.now,
    sleep = sleepFor,
    random = Math.random,
    log: parentLog,
    onStartedLeading,
    onStoppedLeading,
  }: LeaderElectorOptions,
): LeaderElector {
  for (const [field, value] of Object.entries({ namespace, name, identity })) {
    if (typeof value !== "string" || value === "") {
      throw new TypeError(`Cannot create leader elector: ${field} must be a non-empty string`);
    }
  }
  if (!(retryPeriodMs > 0) || !(jitterFactor >= 0)) {
    throw new RangeError(
      `Cannot create leader elector: retryPeriodMs (${retryPeriodMs}) must be positive and jitterFactor (${jitterFactor}) not negative`,
    );
  }
  if (!(renewDeadlineMs > jitterFactor * retryPeriodMs)) {
    throw new RangeError(
      `Cannot create leader elector: renewDeadlineMs (${renewDeadlineMs}) must be greater than jitterFactor × retryPeriodMs (${
        jitterFactor * retryPeriodMs
      })`,
    );
  }
  if (!(leaseDurationMs > renewDeadlineMs)) {
    throw new RangeError(
      `Cannot create leader elector: leaseDurationMs (${leaseDurationMs}) must be greater than renewDeadlineMs (${renewDeadlineMs})`,
    );
  }
  const log = parentLog.child({ component: "leader-election", lease: `${namespace}/${name}` });
  const path = `${LEASE_API}/namespaces/${encodeURIComponent(namespace)}/leases/${
    encodeURIComponent(name)
  }`;
  const leaseSeconds = Math.ceil(leaseDurationMs / 1000);

  let observedRaw: string | undefined; // JSON of the last record seen
  let observed: LeaseSpec | undefined;
  let observedAt = 0; // local time the record last changed
  let lease: Lease | undefined; // last object read or written (for metadata and resourceVersion)
  let leading = false;
  let renewedAt: number | undefined;
  let lastError: string | undefined;
  let leadership: AbortController | undefined;
  let loop: Promise<void> | undefined;
  let stopping: AbortController | undefined;

  const observe = (spec: LeaseSpec, at: number) => {
    const raw = JSON.stringify(spec);
    if (raw !== observedRaw) {
      observedRaw = raw;
      observed = spec;
      observedAt = at;
    }
  };

  const fail = (action: string, error: unknown, signal?: AbortSignal) => {
    if (signal?.aborted && !(error instanceof KubeApiError && error.status > 0)) return;
    lastError = `Cannot ${action} lease "${namespace}/${name}": ${describe(error)}`;
    log.warn("Leader election attempt failed", { identity, error: lastError });
  };

  /** One round; true when we hold the Lease afterwards. */
  async function tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const at = now();
    const time = formatMicroTime(at);
    const record: LeaseSpec = {
      holderIdentity: identity,
      leaseDurationSeconds: leaseSeconds,
      acquireTime: time,
      renewTime: time,
      leaseTransitions: 0,
    };
    let current: Lease;
    try {
      current = await api.request<Lease>("GET", path, { signal });
    } catch (error) {
      if (!(error instanceof KubeApiError && error.status === 404)) {
        fail("read", error, signal);
        return false;
      }
      try {
        lease = await api.request<Lease>(
          "POST",
          `${LEASE_API}/namespaces/${encodeURIComponent(namespace)}/leases`,
          {
            body: {
              apiVersion: "coordination.k8s.io/v1",
              kind: "Lease",
              metadata: { name, namespace },
              spec: record,
            },
            signal,
          },
        );
        observe(lease.spec ?? record, at);
        lastError = undefined;
        return true;
      } catch (createError) {
        if (createError instanceof KubeApiError && createError.status === 409) {
          log.debug("Lost the race to create the lease", { identity });
        } else fail("create", createError, signal);
        return false;
      }
    }
    const old = current.spec ?? {};
    observe(old, at);
    lease = current;
    const holder = old.holderIdentity ?? "";
    const ours = holder === identity;
    const heldFor = (old.leaseDurationSeconds ?? leaseSeconds) * 1000;
    if (holder !== "" && !ours && observedAt + heldFor > at) {
      log.debug("Lease is held by another replica", { identity, holder });
      lastError = undefined;
      return false;
    }
    if (ours) {
      if (old.acquireTime !== undefined) record.acquireTime = old.acquireTime;
      record.leaseTransitions = old.leaseTransitions ?? 0;
    } else {
      record.leaseTransitions = (old.leaseTransitions ?? 0) + 1;
    }
    try {
      lease = await api.request<Lease>("PUT", path, {
        body: { ...current, spec: { ...old, ...record } },
        signal,
      });
      observe(lease.spec ?? record, at);
      if (!ours) log.info("Took over the lease", { identity, previous: holder || "(released)" });
      lastError = undefined;
      return true;
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 409) {
        log.debug("Lost the race to update the lease", { identity });
      } else fail("update", error, signal);
      return false;
    }
  }

  function startLeading(): void {
    leading = true;
    leadership = new AbortController();
    log.info("Started leading", { identity });
    try {
      onStartedLeading(leadership.signal);
    } catch (error) {
      log.error("onStartedLeading threw", { identity, error });
    }
  }

  function stopLeading(reason: string): void {
    if (!leading) return;
    leading = false;
    leadership?.abort(new Error(reason));
    log.warn("Stopped leading", { identity, reason });
    try {
      onStoppedLeading();
    } catch (error) {
      log.error("onStoppedLeading threw", { identity, error });
    }
  }

  async function campaign(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (!leading) {
        const ok = await tryAcquireOrRenew(signal);
        if (signal.aborted) return;
        if (ok) {
          renewedAt = now();
          startLeading();
        } else {
          await sleep(retryPeriodMs * (1 + random() * jitterFactor), signal);
          continue;
        }
      }
      await sleep(retryPeriodMs, signal);
      if (signal.aborted) return;
      // Renew: keep trying every retryPeriod until renewDeadline after the last success.
      while (!signal.aborted) {
        const left = renewDeadlineMs - (now() - (renewedAt ?? 0));
        if (left <= 0) {
          stopLeading(`no renewal for ${renewDeadlineMs} ms`);
          break;
        }
        const attempt = AbortSignal.any([signal, AbortSignal.timeout(left)]);
        if (await tryAcquireOrRenew(attempt)) {
          renewedAt = now();
          break;
        }
        if (signal.aborted) return;
        if (observed !== undefined && observed.holderIdentity !== identity) {
          // Someone else holds the Lease (we stalled past its duration): step down now.
          stopLeading(`the lease is held by "${observed.holderIdentity ?? ""}"`);
          break;
        }
        await sleep(Math.min(retryPeriodMs, Math.max(0, left)), signal);
      }
    }
  }

  async function release(): Promise<void> {
    if (!lease) return;
    const spec = lease.spec ?? {};
    if (spec.holderIdentity !== identity) return;
    const time = formatMicroTime(now());
    try {
      lease = await api.request<Lease>("PUT", path, {
        body: {
          ...lease,
          spec: {
            ...spec,
            holderIdentity: "",
            leaseDurationSeconds: 1,
            acquireTime: time,
            renewTime: time,
            leaseTransitions: spec.leaseTransitions ?? 0,
          },
        },
        signal: AbortSignal.timeout(Math.max(retryPeriodMs, 1000)),
      });
      observe(lease.spec ?? {}, now());
      log.info("Released the lease", { identity });
    } catch (error) {
      fail("release", error);
    }
  }

  function isLeader(): boolean {
    return leading && renewedAt !== undefined && now() - renewedAt < renewDeadlineMs;
  }

  return {
    start() {
      if (loop) return;
      stopping = new AbortController();
      const signal = stopping.signal;
      loop = campaign(signal).catch((error) => {
        log.error("Leader election loop failed", { identity, error });
      });
    },
    async stop({ release: releaseLease = true } = {}) {
      if (!loop || !stopping) return;
      stopping.abort(new Error("stopped"));
      await loop;
      const wasLeading = leading;
      stopLeading("stopped");
      if (wasLeading && releaseLease) await release();
      loop = undefined;
      stopping = undefined;
    },
    isLeader,
    status() {
      const status: LeaderStatus = { identity, leader: isLeader() };
      if (observed) {
        status.holder = observed.holderIdentity ?? "";
        status.transitions = observed.leaseTransitions ?? 0;
      }
      if (renewedAt !== undefined) status.lastRenewedAt = new Date(renewedAt).toISOString();
      if (lastError !== undefined) status.lastError = lastError;
      return status;
    },
  };
}

function describe(error: unknown): string {
  if (error instanceof KubeApiError) {
    return `${error.status}${error.reason ? ` ${error.reason}` : ""}: ${error.message}`;
  }
  return error instanceof Error ? error.message : String(error);
}

function sleepFor(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
