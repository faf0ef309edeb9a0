/**
 * A misbehaving HTTP/1.1 endpoint on raw TCP, for chaos tests of delivery: each request is
 * read whole, recorded, then answered the way a script says — a status (with optional
 * `Retry-After`), a connection reset, or silence until the client gives up.
 *
 * Raw TCP because a real outage looks like that: `Deno.serve` cannot drop a connection
 * half-way or leave a request hanging without an answer.
 *
 * @module
 */

/** What to do with one request. */
export type ChaosAction =
  | { status: number; retryAfter?: string }
  | { reset: true }
  | { hang: true };

/** A request the server read. */
export interface ChaosRequest {
  /** Request line path. */
  path: string;
  /** Body parsed as JSON. */
  json: unknown;
  /** What the server did with it. */
  action: ChaosAction;
  /** Arrival time, ms. */
  at: number;
}

/** A running chaos server. */
export interface ChaosServer extends AsyncDisposable {
  /** Base URL. */
  url: string;
  /** Every request read, in order. */
  requests: ChaosRequest[];
  /** Resolves when `predicate` holds for the requests; rejects after `timeoutMs`. */
  waitFor(predicate: (r: ChaosRequest[]) => boolean, timeoutMs?: number): Promise<void>;
}

/**
 * Starts the server on 127.0.0.1.
 *
 * @param script Decides the action for the n-th request (0-based) and its body.
 * @returns The server.
 */
export function startChaosServer(
  script: (n: number, json: unknown) => ChaosAction,
): ChaosServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const requests: ChaosRequest[] = [];
  const open = new Set<Deno.Conn>();
  let count = 0;
  const serveConn = async (conn: Deno.Conn) => {
    open.add(conn);
    const decoder = new TextDecoder();
    let buffer: Uint8Array<ArrayBuffer> = new Uint8Array(0);
    const chunk = new Uint8Array(64 * 1024);
    try {
      while (true) {
        // Read one request: headers, then Content-Length bytes of body.
        let headerEnd = -1;
        while ((headerEnd = indexOf(buffer, "\r\n\r\n")) < 0) {
          const n = await conn.read(chunk);
          if (n === null) return;
          buffer = concat(buffer, chunk.subarray(0, n));
        }
        const head = decoder.decode(buffer.subarray(0, headerEnd));
        const length = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        while (buffer.length < headerEnd + 4 + length) {
          const n = await conn.read(chunk);
          if (n === null) return;
          buffer = concat(buffer, chunk.subarray(0, n));
        }
        const body = decoder.decode(buffer.subarray(headerEnd + 4, headerEnd + 4 + length));
        buffer = buffer.slice(headerEnd + 4 + length);
        let json: unknown;
        try {
          json = JSON.parse(body);
        } catch (_error) {
          json = undefined;
        }
        const action = script(count++, json);
        requests.push({ path: head.split(" ")[1] ?? "", json, action, at: Date.now() });
        if ("reset" in action) {
          conn.close();
          return;
        }
        if ("hang" in action) {
          await new Promise<void>((resolve) => {
            // Ends when the client gives up and closes its side.
            conn.read(chunk).then(() => resolve(), () => resolve());
          });
          return;
        }
        const text = action.status < 300 ? "ok" : `chaos ${action.status}`;
        const extra = action.retryAfter ? `Retry-After: ${action.retryAfter}\r\n` : "";
        await conn.write(
          new TextEncoder().encode(
            `HTTP/1.1 ${action.status} X\r\ncontent-length: ${text.length}\r\n${extra}\r\n${text}`,
          ),
        );
      }
    } catch (_error) {
      // The client went away; nothing to answer.
    } finally {
      open.delete(conn);
      try {
        conn.close();
      } catch (_error) {
        // Already closed.
      }
    }
  };
  const accepting = (async () => {
    try {
      for await (const conn of listener) void serveConn(conn);
    } catch (_error) {
      // Listener closed.
    }
  })();
  const port = (listener.addr as Deno.NetAddr).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    async waitFor(predicate, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(requests)) {
        if (Date.now() > deadline) {
          throw new Error(`Chaos server: condition not met after ${requests.length} requests`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async [Symbol.asyncDispose]() {
      listener.close();
      for (const conn of open) {
        try {
          conn.close();
        } catch (_error) {
          // Already closed.
        }
      }
      await accepting;
    },
  };
}

function indexOf(bytes: Uint8Array, text: string): number {
  const needle = new TextEncoder().encode(text);
  outer: for (let i = 0; i + needle.length <= bytes.length; i++) {
    for (let j = 0; j < needle.length; j++) if (bytes[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
