/**
 * A local webhook sink for integration tests: a real HTTP server on 127.0.0.1 that records
 * every request it receives, so tests assert on what Cano actually sent over the wire.
 *
 * @example Record a POST and wait for it
 * ```ts
 * import { startSink } from "./_sink.ts";
 * import assert from "node:assert/strict";
 *
 * await using sink = await startSink();
 * await fetch(`${sink.url}/hook`, { method: "POST", body: '{"version":"1"}' });
 * const [request] = await sink.waitFor((r) => r.length >= 1);
 * assert.equal(request?.path, "/hook");
 * assert.deepEqual(request?.json, { version: "1" });
 * ```
 *
 * @module
 */

/** One request the sink received. */
export interface SinkRequest {
  /** HTTP method. */
  method: string;
  /** URL path, e.g. `/hook`. */
  path: string;
  /** Request headers, names in lower case. */
  headers: Record<string, string>;
  /** Body text. */
  body: string;
  /** Body parsed as JSON, or `undefined` when it is not JSON. */
  json: unknown;
  /** When the request arrived (ms since the epoch). */
  receivedAt: number;
}

/** Options of {@linkcode startSink}. */
export interface SinkOptions {
  /** Status the sink answers with. @default 200 */
  status?: number;
  /** Waited before answering (after the request is recorded). @default 0 */
  delayMs?: number;
  /** Clock. @default Date.now */
  now?: () => number;
}

/** A running sink. */
export interface Sink extends AsyncDisposable {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  /** Every request so far, in arrival order. */
  readonly requests: readonly SinkRequest[];
  /** Requests whose response has not been sent yet. */
  readonly pending: number;
  /**
   * Resolves with the requests once `predicate` holds for them.
   *
   * @throws {Error} When it does not hold within `timeoutMs` (default 15000).
   */
  waitFor(
    predicate: (requests: readonly SinkRequest[]) => boolean,
    options?: { timeoutMs?: number },
  ): Promise<readonly SinkRequest[]>;
  /** Changes the status later requests get (a destination that recovers or breaks). */
  setStatus(status: number): void;
  /** Stops the server. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Starts a sink on an ephemeral port of 127.0.0.1.
 *
 * @param options Status, delay and clock.
 * @returns The running sink; close it (or `await using` it) at the end.
 */
export async function startSink(
  { status: initialStatus = 200, delayMs = 0, now = Date.now }: SinkOptions = {},
): Promise<Sink> {
  let status = initialStatus;
  const requests: SinkRequest[] = [];
  let waiters: (() => void)[] = [];
  let pending = 0;
  const notify = () => {
    const ready = waiters;
    waiters = [];
    ready.forEach((wake) => wake());
  };
  const listening = Promise.withResolvers<number>();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: ({ port }) => listening.resolve(port),
  }, async function record(request) {
    pending++;
    try {
      const body = await request.text();
      requests.push({
        method: request.method,
        path: new URL(request.url).pathname,
        headers: Object.fromEntries(request.headers),
        body,
        json: parseJson(body),
        receivedAt: now(),
      });
      notify();
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      return new Response(status >= 200 && status < 300 ? "ok" : "sink error", { status });
    } finally {
      pending--;
    }
  });
  const port = await listening.promise;
  let closing: Promise<void> | undefined;
  const close = () => closing ??= server.shutdown();
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get pending() {
      return pending;
    },
    setStatus(next) {
      status = next;
    },
    async waitFor(predicate, { timeoutMs = 15_000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(requests)) {
        const left = deadline - Date.now();
        if (left <= 0) {
          throw new Error(
            `Cannot wait for sink requests: condition not met within ${timeoutMs} ms (${requests.length} received: ${
              requests.map((r) => `${r.method} ${r.path} ${r.body.slice(0, 120)}`).join(" | ")
            })`,
          );
        }
        const woken = Promise.withResolvers<void>();
        waiters.push(woken.resolve);
        const timer = setTimeout(woken.resolve, Math.min(left, 250));
        await woken.promise;
        clearTimeout(timer);
      }
      return requests;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (_error) {
    // Not JSON: tests read `body` instead.
    return undefined;
  }
}
