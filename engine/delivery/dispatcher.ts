/**
 * Delivers each (issue, destination) pair on its own, with retries, in memory.
 *
 * - Independent: a failing or slow destination never holds back another.
 * - Ordered: deliveries of one fingerprint to one destination go one at a time, in dispatch
 *   order, so a resolution never overtakes its firing. Other fingerprints go in parallel, up
 *   to `concurrency` per destination. A delivery waiting to retry keeps its slot, which also
 *   slows the load on a destination that is failing.
 * - Retried: retryable failures (429, 5xx, network, timeout) wait per the retry policy,
 *   `Retry-After` included. A permanent failure or the last attempt is logged at error level,
 *   counted, and kept in a bounded dead-letter list.
 * - Reloadable: `update()` swaps the configs; every attempt that starts afterwards uses the
 *   new config of its destination name, while attempts in flight finish with the old one.
 * - Secret-free logs: configs are never logged; reasons come from destinations, which
 *   redact their secrets.
 *
 * - Durable when asked: the queue sits behind {@linkcode DeliveryQueue}. The default keeps
 *   deliveries in memory, so those still queued at `close()` are lost (a warning counts
 *   them). The SQLite outbox (`openOutbox()` in `./outbox.ts`) writes each delivery before
 *   `dispatch` returns, removes it once the destination accepted it, keeps retry progress
 *   and dead letters on disk, and hands pending deliveries back at start-up; dead letters
 *   it keeps can be replayed.
 *
 * The file stays whole past 400 lines on purpose: the per-fingerprint lanes, the retry loop
 * and the in-memory queue share one closure's state and one contract.
 *
 * @example Deliver an Issue to stdout and wait for it
 * ```ts
 * import { createDispatcher } from "./dispatcher.ts";
 * import { DestinationConfigSchema } from "../destinations/mod.ts";
 * import { createMetrics } from "../metrics.ts";
 * import { silentLogger } from "../log.ts";
 * import { IssueSchema } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * const dispatcher = createDispatcher({
 *   destinations: [DestinationConfigSchema.parse({ name: "audit", type: "file", path: `${dir}/x.ndjson` })],
 *   metrics: createMetrics(),
 *   log: silentLogger,
 * });
 * dispatcher.dispatch(IssueSchema.parse({
 *   id: "1", fingerprint: "f1", aggregationKey: "Oom", type: "alert", source: "prometheus",
 *   title: "Pod OOMKilled", severity: "HIGH", status: "firing",
 *   startsAt: "2026-03-01T10:00:00Z", createdAt: "2026-03-01T10:00:01Z",
 * }), ["audit"]);
 * await dispatcher.drain();
 * assert.equal(dispatcher.pending(), 0);
 * assert.match(await Deno.readTextFile(`${dir}/x.ndjson`), /"fingerprint":"f1"/);
 * dispatcher.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */
import type { Issue } from "@cano/sdk";
import type { SendOptions, SendResult, ThreadState } from "../destinations/destination.ts";
import {
  type AnyDestination,
  type DestinationConfig,
  getDestination as findDestination,
} from "../destinations/mod.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import { createRetryPolicy, type RetryPolicyOptions } from "./retry.ts";
import { createWaitingLists } from "./_waiting.ts";
import { createMemoryThreadStore, type ThreadStore } from "./threads.ts";
import { createRateLimiter } from "./rate_limit.ts";

/** Options of {@linkcode createDispatcher}. */
export interface DispatcherOptions {
  /** Destination configs, as the config schema parsed them. */
  destinations: readonly DestinationConfig[];
  /** Where `cano_destination_*` metrics go. */
  metrics: Metrics;
  /** Where delivery failures are logged. */
  log: Logger;
  /** Retry policy options. @default createRetryPolicy() defaults */
  retry?: RetryPolicyOptions;
  /** Deliveries in flight per destination. @default 4 */
  concurrency?: number;
  /** Dead letters kept by the in-memory queue; the oldest go first. @default 1000 */
  deadLetterLimit?: number;
  /** Where deliveries wait, e.g. the durable outbox of `./outbox.ts`. @default in memory */
  queue?: DeliveryQueue;
  /** Where per-fingerprint thread states live, e.g. `openThreadStore()`. @default in memory */
  threads?: ThreadStore;
  /** Deliveries waiting per destination; beyond it new ones are dead-lettered. @default 10000 */
  queueLimit?: number;
  /** Clock in ms. @default Date.now */
  now?: () => number;
  /** Waits before a retry; rejects when `signal` aborts. @default a timer */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** HTTP client handed to destinations. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Finds the destination of a config type. @default the registry in destinations/mod.ts */
  getDestination?: (type: string) => AnyDestination;
}

/** A delivery that failed for good. */
export interface DeadLetter {
  /** Id to replay it by; only a durable queue keeps the issue and sets it. */
  id?: number;
  /** Destination name. */
  destination: string;
  /** Issue fingerprint. */
  fingerprint: string;
  /** Why it failed, from the destination. */
  reason: string;
  /** When it was given up, RFC 3339. */
  at: string;
}

/** Delivers issues to destinations. */
export interface Dispatcher {
  /** Queues one delivery per named destination and returns at once. */
  dispatch(issue: Issue, destinationNames: readonly string[]): void;
  /** Resolves when nothing is queued or in flight; rejects after `timeoutMs` if given. */
  drain(timeoutMs?: number): Promise<void>;
  /** Deliveries queued or in flight. */
  pending(): number;
  /**
   * Stops: aborts attempts, drops the queue and calls every destination's `close` hook.
   * Resolves once the hooks settled. Further dispatches throw.
   */
  close(): Promise<void>;
  /** Replaces the destination configs (config reload); changed or removed ones are closed. */
  update(destinations: readonly DestinationConfig[]): void;
  /** Deliveries given up, oldest first. */
  deadLetters(): DeadLetter[];
  /** Queues the dead letter `id` again; `false` when no replayable letter has that id. */
  replay(id: number): boolean;
  /** Queues every replayable dead letter again, returning how many. */
  replayAll(): number;
  /** Per configured destination: waiting deliveries, last success and last failure. */
  status(): DestinationStatus[];
}

/** How one destination is doing, for `/health/detailed`. */
export interface DestinationStatus {
  /** Destination name. */
  destination: string;
  /** Destination type. */
  type: string;
  /** Deliveries waiting (retries included). */
  waiting: number;
  /** Dead letters kept for it. */
  deadLetters: number;
  /** When a payload was last accepted, RFC 3339. */
  lastSuccessAt?: string;
  /** The last failed attempt, redacted by the destination. */
  lastFailure?: { at: string; reason: string; retryable: boolean };
}

/** A delivery about to be queued. */
export interface NewDelivery {
  /** The issue. */
  readonly issue: Issue;
  /** Destination name. */
  readonly destination: string;
  /** The config at dispatch time, used when a reload has removed the name since. */
  readonly config?: DestinationConfig;
}

/** A queued (issue, destination) delivery and its progress. */
export interface QueuedDelivery extends NewDelivery {
  /** Queue id; ascending ids are dispatch order. */
  readonly id: number;
  /** Attempts made so far, earlier runs included. */
  attempts: number;
  /** Earliest time of the next attempt, ms since the epoch. */
  nextAttemptMs: number;
  /** Payloads of the rendered issue already accepted. */
  sent: number;
}

/**
 * Where deliveries wait for a worker. Synchronous, so a delivery is recorded before
 * `dispatch` returns. A taken delivery stays recorded until `complete` or `bury`.
 */
export interface DeliveryQueue {
  /** Whether deliveries outlive the process. */
  readonly durable: boolean;
  /** Records a delivery and returns it queued. */
  add(delivery: NewDelivery): QueuedDelivery;
  /** Takes the oldest delivery to `destination` whose fingerprint is not in `busy`. */
  take(destination: string, busy: ReadonlySet<string>): QueuedDelivery | undefined;
  /** Records the progress of a taken delivery that waits to retry. */
  retry(delivery: QueuedDelivery): void;
  /** Forgets a taken delivery once the destination accepted it. */
  complete(delivery: QueuedDelivery): void;
  /** Records a dead letter for a taken delivery, or for one that was never queued. */
  bury(delivery: NewDelivery | QueuedDelivery, letter: DeadLetter): void;
  /** Dead letters, oldest first. */
  deadLetters(): DeadLetter[];
  /** Queues the dead letter `id` (every one when omitted) again; returns the revived. */
  replay(id?: number): QueuedDelivery[];
  /** Names of the destinations with waiting deliveries. */
  destinations(): string[];
  /** Deliveries waiting, for one destination or all. */
  size(destination?: string): number;
  /** Forgets every waiting delivery in this process (a durable queue keeps its records). */
  clear(): number;
}

/**
 * Creates a dispatcher.
 *
 * @param options Destinations, metrics, logger, retry policy, concurrency and injectable I/O.
 * @returns The dispatcher.
 * @throws {RangeError} When a number is out of range, a destination name repeats or a type
 *   is unknown.
 */
export function createDispatcher(
  {
    destinations,
    metrics,
    log,
    retry = {},
    concurrency = 4,
    deadLetterLimit = 1000,
    queue: given,
    threads = createMemoryThreadStore(),
    queueLimit = 10_000,
    now = Date.now,
    sleep = sleepFor,
    fetch,
    getDestination = findDestination,
  }: DispatcherOptions,
): Dispatcher {
  for (
    const [name, value, min] of [
      ["concurrency", concurrency, 1],
      ["deadLetterLimit", deadLetterLimit, 0],
      ["queueLimit", queueLimit, 1],
    ] as const
  ) {
    if (!Number.isInteger(value) || value < min) {
      throw new RangeError(
        `Cannot create dispatcher: ${name} must be an integer >= ${min}, got ${value}`,
      );
    }
  }
  const policy = createRetryPolicy(retry);
  const queue = given ?? createMemoryQueue(deadLetterLimit);
  const controller = new AbortController();
  const lanes = new Map<string, Set<string>>();
  const limiter = createRateLimiter({ now });
  const outcomes = new Map<string, Pick<DestinationStatus, "lastSuccessAt" | "lastFailure">>();
  const record = (name: string, result: SendResult) => {
    const entry = outcomes.get(name) ?? {};
    const at = new Date(now()).toISOString();
    if (result.ok) entry.lastSuccessAt = at;
    else entry.lastFailure = { at, reason: result.reason, retryable: result.retryable };
    outcomes.set(name, entry);
  };
  let configs = indexConfigs(destinations, getDestination);
  let inFlight = 0;
  let closed = false;
  let waiters: (() => void)[] = [];

  const busyLanes = (destination: string): Set<string> => {
    let lane = lanes.get(destination);
    if (!lane) lanes.set(destination, lane = new Set());
    return lane;
  };

  const settle = () => {
    if (queue.size() + inFlight > 0) return;
    const ready = waiters;
    waiters = [];
    for (const resolve of ready) resolve();
  };

  /** Calls the `close` hooks (Kafka producers...) of configs no longer in use. */
  const release = async (retired: readonly DestinationConfig[]): Promise<void> => {
    await Promise.all(retired.map(async (config) => {
      try {
        await getDestination(config.type).close?.(config);
      } catch (error) {
        log.warn("Cannot close destination", { destination: config.name, error: message(error) });
      }
    }));
  };

  /** Logs, counts and dead-letters a delivery given up for good. */
  const giveUp = (
    delivery: NewDelivery | QueuedDelivery,
    destinationType: string,
    errorType: string,
    reason: string,
    attempts: number,
  ) => {
    const { destination, issue: { fingerprint } } = delivery;
    metrics.destinationErrors.inc({
      destination,
      "destination_type": destinationType,
      "error_type": errorType,
    });
    log.error("Cannot deliver issue", { destination, fingerprint, errorType, reason, attempts });
    const at = new Date(now()).toISOString();
    try {
      queue.bury(delivery, { destination, fingerprint, reason, at });
    } catch (error) {
      log.error("Cannot record dead letter", { destination, fingerprint, error });
    }
  };

  /** One attempt: renders with `config` and sends the payloads from index `from` on. */
  const attempt = async (
    delivery: QueuedDelivery,
    config: DestinationConfig,
    from: number,
  ): Promise<{ result: SendResult; sent: number; threw: boolean }> => {
    const labels = { destination: delivery.destination, "destination_type": config.type };
    const { destination: name, issue: { fingerprint } } = delivery;
    let payloads: unknown[];
    let destination: AnyDestination;
    try {
      destination = getDestination(config.type);
      payloads = destination.render(delivery.issue, config);
    } catch (error) {
      const reason = `Cannot render issue for "${delivery.destination}": ${message(error)}`;
      return { result: { ok: false, retryable: false, reason }, sent: from, threw: true };
    }
    let sent = Math.min(from, payloads.length);
    for (; sent < payloads.length; sent++) {
      const rateLimit = "rateLimit" in config ? config.rateLimit : undefined;
      if (rateLimit) {
        const waitMs = limiter.reserve(name, rateLimit);
        if (waitMs > 0) {
          metrics.destinationThrottled.inc(labels);
          try {
            await sleep(waitMs, controller.signal);
          } catch (_error) {
            const reason = `Cannot send to "${name}": stopped while waiting for its rate limit`;
            return { result: { ok: false, retryable: true, reason }, sent, threw: false };
          }
        }
      }
      let thread: ThreadState | undefined;
      try {
        thread = threads.get(name, fingerprint);
      } catch (error) {
        log.warn("Cannot read thread state; posting a new message", { ...labels, error });
      }
      const options: SendOptions = { signal: controller.signal, now };
      if (fetch) options.fetch = fetch;
      if (thread) options.thread = thread;
      const start = now();
      let result: SendResult;
      try {
        result = await destination.send(payloads[sent], config, options);
      } catch (error) {
        const reason = `Cannot send to "${delivery.destination}": ${message(error)}`;
        return { result: { ok: false, retryable: false, reason }, sent, threw: true };
      } finally {
        metrics.destinationDuration.observe(labels, Math.max(0, now() - start) / 1000);
      }
      if (!result.ok) return { result, sent, threw: false };
      metrics.destinationSent.inc(labels);
      if (result.thread) {
        try {
          threads.set(name, fingerprint, result.thread);
        } catch (error) {
          log.warn("Cannot record thread state", { ...labels, fingerprint, error });
        }
      }
    }
    return { result: { ok: true }, sent, threw: false };
  };

  /** Delivers with retries; says whether it was sent, dead-lettered or stopped by close. */
  const deliver = async (delivery: QueuedDelivery): Promise<"sent" | "dead" | "stopped"> => {
    const fields = { destination: delivery.destination, fingerprint: delivery.issue.fingerprint };
    let sent = delivery.sent;
    const waitMs = delivery.nextAttemptMs - now();
    if (waitMs > 0) {
      try {
        await sleep(waitMs, controller.signal);
      } catch (error) {
        if (!closed) log.warn("Retry wait failed; retrying now", { ...fields, error });
      }
      if (closed) return "stopped";
    }
    for (let attempts = delivery.attempts + 1;; attempts++) {
      const config = configs.get(delivery.destination) ?? delivery.config;
      if (config === undefined) {
        const reason = `Cannot deliver to "${delivery.destination}": no destination has that name`;
        giveUp(delivery, "unknown", "unknown_destination", reason, attempts - 1);
        return "dead";
      }
      const outcome = await attempt(delivery, config, sent);
      sent = outcome.sent;
      const { result } = outcome;
      record(delivery.destination, result);
      if (result.ok) {
        log.debug("Delivered issue", { ...fields, attempts });
        return "sent";
      }
      if (closed) {
        log.warn("Stopped delivery at close", { ...fields, attempts, reason: result.reason });
        return "stopped";
      }
      if (!policy.shouldRetry(attempts, result)) {
        const errorType = outcome.threw
          ? "exception"
          : result.retryable
          ? "exhausted"
          : "permanent";
        giveUp(delivery, config.type, errorType, result.reason, attempts);
        return "dead";
      }
      metrics.destinationErrors.inc({
        destination: delivery.destination,
        "destination_type": config.type,
        "error_type": "retryable",
      });
      const delayMs = policy.nextDelayMs(attempts, result.retryAfterMs);
      log.warn("Retrying delivery", { ...fields, attempts, delayMs, reason: result.reason });
      Object.assign(delivery, { attempts, nextAttemptMs: now() + delayMs, sent });
      try {
        queue.retry(delivery);
      } catch (error) {
        log.warn("Cannot record retry progress", { ...fields, error });
      }
      try {
        await sleep(delayMs, controller.signal);
      } catch (error) {
        if (!closed) log.warn("Retry wait failed; retrying now", { ...fields, error });
      }
      if (closed) {
        log.warn("Stopped delivery at close", { ...fields, attempts, reason: result.reason });
        return "stopped";
      }
    }
  };

  const pump = (destination: string) => {
    const busy = busyLanes(destination);
    const config = configs.get(destination);
    const limit = (config && "concurrency" in config ? config.concurrency : undefined) ??
      concurrency;
    while (!closed && busy.size < limit) {
      const delivery = queue.take(destination, busy);
      if (!delivery) return;
      const lane = delivery.issue.fingerprint;
      busy.add(lane);
      inFlight++;
      deliver(delivery).then((outcome) => {
        if (outcome === "sent") queue.complete(delivery);
      }).catch((error: unknown) => {
        log.error("Cannot deliver issue: unexpected failure", {
          destination,
          fingerprint: lane,
          error,
        });
      }).finally(() => {
        busy.delete(lane);
        inFlight--;
        pump(destination);
        settle();
      });
    }
  };

  const pumpAll = () => {
    for (const destination of queue.destinations()) pump(destination);
  };

  const dispatcher: Dispatcher = {
    dispatch(issue: Issue, destinationNames: readonly string[]): void {
      if (closed) throw new Error("Cannot dispatch issue: the dispatcher is closed");
      for (const name of new Set(destinationNames)) {
        const config = configs.get(name);
        if (config === undefined) {
          const reason = `Cannot deliver to "${name}": no destination has that name`;
          giveUp({ issue, destination: name }, "unknown", "unknown_destination", reason, 0);
          continue;
        }
        if (queue.size(name) >= queueLimit) {
          const reason = `Cannot queue delivery to "${name}": ${queueLimit} deliveries waiting`;
          giveUp({ issue, destination: name, config }, config.type, "queue_full", reason, 0);
          continue;
        }
        queue.add({ issue, destination: name, config });
        pump(name);
      }
    },
    drain(timeoutMs?: number): Promise<void> {
      if (queue.size() + inFlight === 0) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = timeoutMs === undefined ? undefined : setTimeout(() => {
          waiters = waiters.filter((w) => w !== done);
          const left = queue.size() + inFlight;
          reject(new Error(`Cannot drain deliveries: ${left} still pending after ${timeoutMs} ms`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        waiters.push(done);
      });
    },
    pending(): number {
      return queue.size() + inFlight;
    },
    close(): Promise<void> {
      if (closed) return Promise.resolve();
      closed = true;
      controller.abort();
      const dropped = queue.clear();
      if (dropped > 0 && queue.durable) {
        log.info("Left queued deliveries in the outbox at close", { count: dropped });
      } else if (dropped > 0) log.warn("Dropped queued deliveries at close", { count: dropped });
      settle();
      return release([...configs.values()]);
    },
    update(next: readonly DestinationConfig[]): void {
      const previous = configs;
      configs = indexConfigs(next, getDestination);
      const retired = [...previous.values()].filter((old) => {
        const current = configs.get(old.name);
        return current === undefined || JSON.stringify(current) !== JSON.stringify(old);
      });
      void release(retired);
      if (!closed) pumpAll();
    },
    deadLetters(): DeadLetter[] {
      return queue.deadLetters();
    },
    replay(id: number): boolean {
      if (closed) throw new Error("Cannot replay dead letter: the dispatcher is closed");
      const revived = queue.replay(id);
      for (const delivery of revived) pump(delivery.destination);
      return revived.length > 0;
    },
    status(): DestinationStatus[] {
      const dead = new Map<string, number>();
      for (const letter of queue.deadLetters()) {
        dead.set(letter.destination, (dead.get(letter.destination) ?? 0) + 1);
      }
      return [...configs.values()].map((config) => ({
        destination: config.name,
        type: config.type,
        waiting: queue.size(config.name),
        deadLetters: dead.get(config.name) ?? 0,
        ...outcomes.get(config.name),
      }));
    },
    replayAll(): number {
      if (closed) throw new Error("Cannot replay dead letters: the dispatcher is closed");
      const revived = queue.replay();
      for (const name of new Set(revived.map((d) => d.destination))) pump(name);
      return revived.length;
    },
  };
  pumpAll();
  return dispatcher;
}

function indexConfigs(
  destinations: readonly DestinationConfig[],
  getDestination: (type: string) => AnyDestination,
): Map<string, DestinationConfig> {
  const configs = new Map<string, DestinationConfig>();
  for (const config of destinations) {
    if (configs.has(config.name)) {
      throw new RangeError(
        `Cannot configure destinations: name "${config.name}" is used more than once`,
      );
    }
    getDestination(config.type);
    configs.set(config.name, config);
  }
  return configs;
}

function createMemoryQueue(deadLetterLimit: number): DeliveryQueue {
  const waiting = createWaitingLists<QueuedDelivery>();
  const dead: DeadLetter[] = [];
  let lastId = 0;
  return {
    durable: false,
    add(delivery) {
      const queued = { ...delivery, id: ++lastId, attempts: 0, nextAttemptMs: 0, sent: 0 };
      waiting.add(queued);
      return queued;
    },
    take: (destination, busy) => waiting.take(destination, busy),
    retry() {
      // Nothing to record: progress lives in the delivery object.
    },
    complete() {
      // Nothing to forget: a taken delivery left memory when it was taken.
    },
    bury(_delivery, letter) {
      dead.push(letter);
      if (dead.length > deadLetterLimit) dead.splice(0, dead.length - deadLetterLimit);
    },
    deadLetters: () => dead.map((letter) => ({ ...letter })),
    replay: () => [],
    destinations: () => waiting.destinations(),
    size: (destination) => waiting.size(destination),
    clear: () => waiting.clear(),
  };
}

function sleepFor(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
