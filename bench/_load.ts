/**
 * Load generator and webhook sink for the throughput benchmark, on their own thread.
 *
 * Both run in a worker (`_load_worker.ts`) so the server under test has the main thread to
 * itself, as it would in production. Clients work in a closed loop: each posts one
 * Alertmanager payload, waits until the sink has received every alert of it, then posts the
 * next. Each alert carries its post time in the `bench_sent_at` annotation; the sink reads it
 * back from the body it receives (`issue.annotations`), so latency is post → arrival at the
 * destination, measured on one clock.
 *
 * @module
 */

/** Options of one load run. */
export interface LoadRunOptions {
  /** Where payloads are POSTed, e.g. `http://127.0.0.1:8080/api/alerts`. */
  url: string;
  /** Concurrent clients. */
  clients: number;
  /** Alerts per payload. */
  alertsPerPayload: number;
  /** Unmeasured time first (JIT, connection pools). */
  warmupMs: number;
  /** Measured time. */
  durationMs: number;
  /** A payload whose alerts have not all arrived by then counts as lost. */
  payloadTimeoutMs: number;
}

/** What one load run measured. */
export interface LoadResult {
  /** Alerts that arrived at the sink from payloads posted in the measured window. */
  alerts: number;
  /** Payloads posted in the measured window. */
  payloads: number;
  /** Alerts that did not arrive within the payload timeout, or got a non-2xx. */
  lost: number;
  /** From the start of the measured window to the last measured arrival. */
  elapsedMs: number;
  /** Post → arrival per alert, ms. */
  latenciesMs: number[];
  /** Non-2xx answers of the target, by status. */
  statuses: Record<string, number>;
}

/** Messages the worker receives. */
export type LoadRequest = { type: "run"; options: LoadRunOptions } | { type: "close" };
/** Messages the worker sends. */
export type LoadReply =
  | { type: "ready"; sinkUrl: string }
  | { type: "result"; result: LoadResult }
  | { type: "error"; message: string }
  | { type: "closed" };

/** The worker, with its sink listening. */
export interface LoadDriver extends AsyncDisposable {
  /** Base URL of the sink; point the destination or forwarder here. */
  readonly sinkUrl: string;
  /** Runs one closed-loop load against a target. */
  run(options: LoadRunOptions): Promise<LoadResult>;
  /** Stops the sink and the worker. */
  close(): Promise<void>;
}

/**
 * Starts the load worker and its sink.
 *
 * @returns The driver; close it at the end.
 */
export async function startLoadDriver(): Promise<LoadDriver> {
  const worker = new Worker(new URL("./_load_worker.ts", import.meta.url).href, {
    type: "module",
  });
  let waiting: PromiseWithResolvers<LoadReply> | undefined;
  worker.onmessage = (event: MessageEvent<LoadReply>) => waiting?.resolve(event.data);
  worker.onerror = (event) => {
    event.preventDefault();
    waiting?.reject(new Error(`Cannot run the load worker: ${event.message}`));
  };
  const next = () => {
    waiting = Promise.withResolvers<LoadReply>();
    return waiting.promise;
  };
  const ready = await next();
  if (ready.type !== "ready") throw new Error(`Cannot start the load worker: got ${ready.type}`);
  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      const closed = next();
      worker.postMessage({ type: "close" } satisfies LoadRequest);
      await closed;
      worker.terminate();
    })();
  return {
    sinkUrl: ready.sinkUrl,
    async run(options) {
      const reply = next();
      worker.postMessage({ type: "run", options } satisfies LoadRequest);
      const answer = await reply;
      if (answer.type === "error") throw new Error(`Cannot run load: ${answer.message}`);
      if (answer.type !== "result") throw new Error(`Cannot run load: got ${answer.type}`);
      return answer.result;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
