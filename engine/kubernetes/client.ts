/**
 * The Kubernetes transport: {@linkcode KubeApi} over Deno's own `fetch` with a
 * `Deno.createHttpClient` holding the cluster's CA and client certificate.
 *
 * Why not `@kubernetes/client-node` for requests: under Deno its HTTP/2 stack can abort
 * the whole process (nghttp2 assertion, exit 134, or a segfault) when an API server that
 * restarts sends GOAWAY; Deno's `fetch` survives it (`tests/k8s_goaway_test.ts`). The
 * client speaks HTTP/1.1 by default (`http2: false`): a watch then owns its connection, so
 * one stalled HTTP/2 connection cannot silence every watch at once, and there is no GOAWAY.
 *
 * Watches are newline-delimited JSON read with a capped line reader.
 *
 * @example Read a pod from a local API server
 * ```ts
 * import { createKubeClientForUrl } from "./client.ts";
 * import assert from "node:assert/strict";
 *
 * await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () =>
 *   Response.json({ kind: "Pod", metadata: { name: "api-0", namespace: "shop" } }));
 * using api = createKubeClientForUrl(`http://127.0.0.1:${server.addr.port}`);
 * const pod = await api.request<{ metadata: { name: string } }>(
 *   "GET",
 *   "/api/v1/namespaces/shop/pods/api-0",
 * );
 * assert.equal(pod.metadata.name, "api-0");
 * ```
 *
 * @module
 */
import { type Logger, silentLogger } from "../log.ts";
import {
  type KubeApi,
  KubeApiError,
  type KubeObject,
  type Query,
  type RequestOptions,
  type WatchEvent,
} from "./api.ts";
import type { KubeConnection } from "./kubeconfig.ts";

/** A `fetch` that accepts Deno's `client` option. */
export type KubeFetch = (
  input: string | URL,
  init: RequestInit & { client?: Deno.HttpClient },
) => Promise<Response>;

/** Options of {@linkcode createKubeClient}. */
export interface KubeClientOptions {
  /** The fetch to use. @default globalThis.fetch */
  fetch?: KubeFetch;
  /** Logger. @default silentLogger */
  log?: Logger;
  /** Deadline of a request, and of a watch until its answer starts. @default 30000 */
  timeoutMs?: number;
  /** Allow HTTP/2 (HTTP/1.1 otherwise). @default false */
  http2?: boolean;
  /** Longest watch line accepted (one JSON event), in bytes. @default 16777216 */
  maxLineBytes?: number;
}

/** A {@linkcode KubeApi} holding an HTTP client; `close()` releases its connections. */
export interface KubeClient extends KubeApi, Disposable {
  /** Closes the HTTP client (open watches end). */
  close(): void;
}

/** Default request deadline in ms. */
export const DEFAULT_TIMEOUT_MS = 30_000;
/** Default cap of one watch line in bytes. */
export const DEFAULT_MAX_LINE_BYTES = 16 * 1024 * 1024;

interface StatusBody {
  kind?: string;
  reason?: string;
  message?: string;
  code?: number;
}

function buildUrl(server: string, path: string, query: Query | undefined): string {
  const url = new URL(server.replace(/\/+$/, "") + path);
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined) url.searchParams.set(key, String(value));
  }
  return url.toString();
}

async function errorOf(method: string, path: string, response: Response): Promise<KubeApiError> {
  const text = await response.text().catch(() => "");
  let body: StatusBody | undefined;
  try {
    body = JSON.parse(text) as StatusBody;
  } catch {
    body = undefined;
  }
  if (body?.kind === "Status" && typeof body.message === "string") {
    return new KubeApiError(response.status, body.reason, body.message);
  }
  const snippet = text.trim().slice(0, 200);
  return new KubeApiError(
    response.status,
    undefined,
    `Cannot ${method} ${path}: HTTP ${response.status} ${response.statusText}${
      snippet ? ` (${snippet})` : ""
    }`,
  );
}

function transportError(method: string, path: string, error: unknown): KubeApiError {
  if (error instanceof KubeApiError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new KubeApiError(0, undefined, `Cannot ${method} ${path}: ${reason}`, { cause: error });
}

/**
 * Splits a byte stream into lines, refusing a line longer than `maxBytes`.
 *
 * @param body The byte stream.
 * @param maxBytes Longest line accepted.
 * @returns The lines, without their newline, empty lines skipped.
 * @throws {RangeError} When a line exceeds `maxBytes`.
 */
export async function* readLines(
  body: ReadableStream<Uint8Array>,
  maxBytes: number,
): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let chunks: Uint8Array[] = [];
  let size = 0;
  const take = (last: Uint8Array): string => {
    chunks.push(last);
    const all = new Uint8Array(size + last.length);
    let offset = 0;
    for (const chunk of chunks) {
      all.set(chunk, offset);
      offset += chunk.length;
    }
    chunks = [];
    size = 0;
    return decoder.decode(all);
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      let start = 0;
      for (let i = value.indexOf(10); i !== -1; i = value.indexOf(10, start)) {
        if (size + i - start > maxBytes) break;
        const line = take(value.subarray(start, i));
        start = i + 1;
        if (line.trim()) yield line;
      }
      const rest = value.subarray(start);
      if (size + rest.length > maxBytes) {
        throw new RangeError(`Cannot read watch line: longer than ${maxBytes} bytes`);
      }
      if (rest.length > 0) {
        chunks.push(rest.slice());
        size += rest.length;
      }
    }
    if (size > 0) {
      const line = take(new Uint8Array());
      if (line.trim()) yield line;
    }
  } finally {
    reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

/**
 * Creates the API client of a connection (see `loadKubeConfig`).
 *
 * @param connection Server, credentials and TLS material.
 * @param options Fetch, logger, deadline, HTTP/2 and line cap.
 * @returns The client.
 * @throws {RangeError} When `timeoutMs` or `maxLineBytes` is not positive.
 */
export function createKubeClient(
  connection: KubeConnection,
  {
    fetch = globalThis.fetch as KubeFetch,
    log = silentLogger,
    timeoutMs = DEFAULT_TIMEOUT_MS,
    http2 = false,
    maxLineBytes = DEFAULT_MAX_LINE_BYTES,
  }: KubeClientOptions = {},
): KubeClient {
  if (!(timeoutMs > 0)) {
    throw new RangeError(`Cannot create Kubernetes client: timeoutMs ${timeoutMs} is not positive`);
  }
  if (!(maxLineBytes > 0)) {
    throw new RangeError(
      `Cannot create Kubernetes client: maxLineBytes ${maxLineBytes} is not positive`,
    );
  }
  const { tls } = connection;
  if (tls.insecureSkipVerify) {
    log.warn(
      "Kubernetes insecure-skip-tls-verify is not supported by Deno's fetch; start Deno with --unsafely-ignore-certificate-errors=<host> to skip verification",
      { server: connection.server },
    );
  }
  const client = Deno.createHttpClient({
    ...(tls.caCerts?.length ? { caCerts: tls.caCerts } : {}),
    ...(tls.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}),
    ...(connection.proxyUrl ? { proxy: { url: connection.proxyUrl } } : {}),
    http1: true,
    http2,
  });

  const send = async (
    method: string,
    path: string,
    { query, body, contentType = "application/json", signal, accept = "application/json" }:
      & RequestOptions
      & { accept?: string },
    deadline: AbortSignal | undefined,
  ): Promise<Response> => {
    const headers: Record<string, string> = {
      ...(await connection.headers()),
      accept,
    };
    if (body !== undefined) headers["content-type"] = contentType;
    const signals = [signal, deadline].filter((s): s is AbortSignal => s !== undefined);
    const init: RequestInit & { client: Deno.HttpClient } = {
      method,
      headers,
      client,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      ...(signals.length > 0 ? { signal: AbortSignal.any(signals) } : {}),
    };
    return await fetch(buildUrl(connection.server, path, query), init);
  };

  const api: KubeClient = {
    server: connection.server,
    async request<T = unknown>(
      method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE",
      path: string,
      options: RequestOptions = {},
    ): Promise<T> {
      try {
        const response = await send(method, path, options, AbortSignal.timeout(timeoutMs));
        if (!response.ok) throw await errorOf(method, path, response);
        const text = await response.text();
        return (text ? JSON.parse(text) : undefined) as T;
      } catch (error) {
        throw transportError(method, path, error);
      }
    },
    async requestText(path, { query, signal } = {}) {
      try {
        const response = await send(
          "GET",
          path,
          { ...(query ? { query } : {}), ...(signal ? { signal } : {}), accept: "*/*" },
          AbortSignal.timeout(timeoutMs),
        );
        if (!response.ok) throw await errorOf("GET", path, response);
        return await response.text();
      } catch (error) {
        throw transportError("GET", path, error);
      }
    },
    watch<T extends KubeObject = KubeObject>(
      path: string,
      { query, signal }: { query?: Query; signal?: AbortSignal } = {},
    ): AsyncIterable<WatchEvent<T>> {
      return watchStream<T>(path, { ...query, watch: true }, signal);
    },
    close() {
      client.close();
    },
    [Symbol.dispose]() {
      client.close();
    },
  };

  async function* watchStream<T extends KubeObject>(
    path: string,
    query: Query,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<WatchEvent<T>> {
    const opening = new AbortController();
    const timer = setTimeout(
      () => opening.abort(new DOMException("watch did not answer in time", "TimeoutError")),
      timeoutMs,
    );
    let response: Response;
    try {
      response = await send("GET", path, { query, ...(signal ? { signal } : {}) }, opening.signal);
      if (!response.ok) throw await errorOf("GET", path, response);
    } catch (error) {
      if (signal?.aborted) return;
      throw transportError("GET", path, error);
    } finally {
      clearTimeout(timer);
    }
    if (!response.body) return;
    try {
      for await (const line of readLines(response.body, maxLineBytes)) {
        let event: WatchEvent<T>;
        try {
          event = JSON.parse(line) as WatchEvent<T>;
        } catch (error) {
          throw new KubeApiError(
            0,
            undefined,
            `Cannot parse watch event of ${path}: ${line.slice(0, 120)}`,
            { cause: error },
          );
        }
        yield event;
      }
    } catch (error) {
      if (signal?.aborted) return;
      throw transportError("WATCH", path, error);
    }
  }

  return api;
}

/** Options of {@linkcode createKubeClientForUrl}. */
export interface KubeClientForUrlOptions extends KubeClientOptions {
  /** Bearer token to send. @default none */
  token?: string;
  /** PEM CA certificates for an `https` URL. @default the system roots */
  caCerts?: string[];
}

/**
 * Creates a client for a bare URL (tests, `kubectl proxy`).
 *
 * @param url e.g. `http://127.0.0.1:8001`.
 * @param options Token, CA and the options of {@linkcode createKubeClient}.
 * @returns The client.
 */
export function createKubeClientForUrl(
  url: string,
  { token, caCerts, ...options }: KubeClientForUrlOptions = {},
): KubeClient {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  return createKubeClient({
    server: url,
    headers: () => Promise.resolve({ ...headers }),
    tls: caCerts ? { caCerts } : {},
  }, options);
}
