/**
 * A list-then-watch cache of one resource that never gives up.
 *
 * LIST (paged) → `onAdd(obj, { initial: true })` for what already exists → WATCH from the
 * list's resourceVersion with bookmarks → on a clean end, watch again from the last version
 * seen; on `410 Gone` (HTTP or an in-stream `ERROR`), LIST again and diff against the cache
 * (update for changed versions, delete for vanished objects, add for new ones), so a relist
 * causes no duplicates; on any other error, back off (1 s → 30 s, jittered) and retry,
 * forever. A watchdog restarts a watch that received nothing (no event, no bookmark) for
 * `watchdogMs`: watches are known to go silent on half-open connections. An update whose
 * resourceVersion equals the cached one is not emitted. A throwing handler is logged and
 * the loop goes on.
 *
 * The file stays whole (just over 400 lines): list, watch, watchdog and retry loop share
 * one cache and one resourceVersion.
 *
 * @example Keep a cache of pods
 * ```ts
 * import { createInformer } from "./informer.ts";
 * import { createKubeClientForUrl } from "./client.ts";
 * import assert from "node:assert/strict";
 *
 * const pod = { metadata: { name: "api-0", namespace: "shop", resourceVersion: "7" } };
 * await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) =>
 *   new URL(request.url).searchParams.has("watch")
 *     ? new Response(JSON.stringify({ type: "BOOKMARK", object: { metadata: { resourceVersion: "8" } } }))
 *     : Response.json({ metadata: { resourceVersion: "7" }, items: [pod] }));
 * using api = createKubeClientForUrl(`http://127.0.0.1:${server.addr.port}`);
 * const added: string[] = [];
 * const pods = createInformer(api, {
 *   path: "/api/v1/pods",
 *   handlers: { onAdd: (p, { initial }) => void added.push(`${p.metadata?.name} ${initial}`) },
 * });
 * pods.start();
 * await pods.synced;
 * assert.deepEqual(added, ["api-0 true"]);
 * assert.equal(pods.get("shop", "api-0")?.metadata?.resourceVersion, "7");
 * await pods.stop();
 * ```
 *
 * @module
 */
import { type Logger, silentLogger } from "../log.ts";
import { type KubeApi, KubeApiError, type KubeList, type KubeObject } from "./api.ts";

/** Handlers of an informer; each may be async (awaited, in order). */
export interface InformerHandlers<T extends KubeObject> {
  /** A new object; `initial` for those found by the first list. */
  onAdd?(object: T, info: { initial: boolean }): void | Promise<void>;
  /** A changed object (a new resourceVersion). */
  onUpdate?(previous: T, next: T): void | Promise<void>;
  /** A deleted object (its last state). */
  onDelete?(object: T): void | Promise<void>;
}

/** Options of {@linkcode createInformer}. */
export interface InformerOptions<T extends KubeObject> {
  /** Collection path, e.g. `/api/v1/pods` or `/apis/batch/v1/namespaces/shop/jobs`. */
  path: string;
  /** Label selector. @default none */
  labelSelector?: string;
  /** Field selector. @default none */
  fieldSelector?: string;
  /** Event handlers. */
  handlers: InformerHandlers<T>;
  /** Logger. @default silentLogger */
  log?: Logger;
  /** Restart a watch that received nothing for this long, in ms. @default 300000 */
  watchdogMs?: number;
  /** First retry delay after an error, in ms. @default 1000 */
  minBackoffMs?: number;
  /** Longest retry delay, in ms. @default 30000 */
  maxBackoffMs?: number;
  /** Items per list page. @default 500 */
  pageSize?: number;
  /**
   * `timeoutSeconds` asked of the server per watch: shorter than the watchdog, so a healthy
   * but quiet watch ends cleanly before the watchdog would call it silent.
   * @default 80% of `watchdogMs`, at most 300 s
   */
  watchTimeoutSeconds?: number;
  /** Sleep that resolves early when `signal` aborts. @default a timer */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Clock. @default Date.now */
  now?: () => number;
  /** Random in [0, 1), for jitter. @default Math.random */
  random?: () => number;
}

/** What an informer reports for health checks. */
export interface InformerStatus {
  /** The collection path. */
  path: string;
  /** True while a watch stream is open and has delivered an event or bookmark. */
  connected: boolean;
  /** True once the first list is done. */
  synced: boolean;
  /** When the last event or bookmark arrived (ms since the epoch). */
  lastEventAt: number | undefined;
  /** Watches restarted after an error or by the watchdog. */
  restarts: number;
  /** Lists after the first one (410 Gone). */
  relists: number;
  /** The resourceVersion the next watch starts from. */
  resourceVersion: string | undefined;
  /** The last error, if the last attempt failed. */
  lastError?: string;
}

/** A running informer. */
export interface Informer<T extends KubeObject> {
  /** Starts listing and watching (again after `stop()`); no-op while running. */
  start(): void;
  /** Stops and waits for the loop to end. */
  stop(): Promise<void>;
  /** Resolves when the first list is done; rejects when stopped before. */
  readonly synced: Promise<void>;
  /** Cached objects. */
  list(): T[];
  /** A cached object; `namespace` is undefined for cluster-scoped kinds. */
  get(namespace: string | undefined, name: string): T | undefined;
  /** Health. */
  status(): InformerStatus;
}

class WatchdogError extends Error {
  constructor(ms: number) {
    super(`Cannot keep watch: nothing received for ${ms} ms`);
    this.name = "WatchdogError";
  }
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

function keyOf(object: KubeObject): string {
  return `${object.metadata?.namespace ?? ""}/${object.metadata?.name ?? ""}`;
}

function isGone(error: unknown): boolean {
  return error instanceof KubeApiError && error.status === 410;
}

/**
 * Creates an informer (not started).
 *
 * @param api The Kubernetes API.
 * @param options Path, selectors, handlers, logger, watchdog, backoff, paging and clock.
 * @returns The informer.
 * @throws {RangeError} When a duration or the page size is not positive.
 */
export function createInformer<T extends KubeObject = KubeObject>(
  api: KubeApi,
  {
    path,
    labelSelector,
    fieldSelector,
    handlers,
    log = silentLogger,
    watchdogMs = 300_000,
    minBackoffMs = 1000,
    maxBackoffMs = 30_000,
    pageSize = 500,
    watchTimeoutSeconds = Math.max(1, Math.min(300, Math.floor(watchdogMs * 0.8 / 1000))),
    sleep = defaultSleep,
    now = Date.now,
    random = Math.random,
  }: InformerOptions<T>,
): Informer<T> {
  for (const [name, value] of Object.entries({ watchdogMs, minBackoffMs, pageSize })) {
    if (!(value > 0)) {
      throw new RangeError(`Cannot create informer of ${path}: ${name} ${value} is not positive`);
    }
  }
  if (!(maxBackoffMs >= minBackoffMs)) {
    throw new RangeError(
      `Cannot create informer of ${path}: maxBackoffMs ${maxBackoffMs} is below minBackoffMs ${minBackoffMs}`,
    );
  }
  const cache = new Map<string, T>();
  const selectors = {
    ...(labelSelector ? { labelSelector } : {}),
    ...(fieldSelector ? { fieldSelector } : {}),
  };
  let resourceVersion: string | undefined;
  let hasSynced = false;
  let connected = false;
  let lastEventAt: number | undefined;
  let restarts = 0;
  let relists = 0;
  let lastError: string | undefined;
  let failures = 0;
  let running: Promise<void> | undefined;
  let stopper: AbortController | undefined;
  const syncedSignal = Promise.withResolvers<void>();
  syncedSignal.promise.catch(() => {});

  const call = async (name: string, run: () => void | Promise<void>, object: KubeObject) => {
    try {
      await run();
    } catch (error) {
      log.error("Kubernetes informer handler failed", {
        path,
        handler: name,
        object: keyOf(object),
        error: error instanceof Error ? error.message : String(error),
      });
    }
  };
  const added = (object: T, initial: boolean) =>
    handlers.onAdd ? call("onAdd", () => handlers.onAdd!(object, { initial }), object) : undefined;
  const updated = (previous: T, next: T) =>
    handlers.onUpdate
      ? call("onUpdate", () => handlers.onUpdate!(previous, next), next)
      : undefined;
  const deleted = (object: T) =>
    handlers.onDelete ? call("onDelete", () => handlers.onDelete!(object), object) : undefined;

  /** Lists every page, then diffs against the cache. */
  const relist = async (signal: AbortSignal) => {
    const fresh = new Map<string, T>();
    let token: string | undefined;
    let listVersion: string | undefined;
    do {
      const page: KubeList<T> = await api.request<KubeList<T>>("GET", path, {
        query: { ...selectors, limit: pageSize, ...(token ? { continue: token } : {}) },
        signal,
      });
      for (const item of page.items ?? []) fresh.set(keyOf(item), item);
      listVersion ??= page.metadata?.resourceVersion;
      token = page.metadata?.continue || undefined;
    } while (token && !signal.aborted);
    if (signal.aborted) return;
    const initial = !hasSynced;
    for (const [key, object] of fresh) {
      const previous = cache.get(key);
      cache.set(key, object);
      if (!previous) await added(object, initial);
      else if (previous.metadata?.resourceVersion !== object.metadata?.resourceVersion) {
        await updated(previous, object);
      }
    }
    for (const [key, object] of [...cache]) {
      if (!fresh.has(key)) {
        cache.delete(key);
        await deleted(object);
      }
    }
    resourceVersion = listVersion;
    if (!hasSynced) {
      hasSynced = true;
      syncedSignal.resolve();
    }
  };

  /** Watches until the server ends the stream (returns) or something fails (throws). */
  const watchOnce = async (signal: AbortSignal): Promise<number> => {
    // Returns how many events and bookmarks arrived.
    const watch = new AbortController();
    const stopWatch = () => watch.abort();
    signal.addEventListener("abort", stopWatch, { once: true });
    let lastSeen = now();
    let silent = false;
    const dog = (async () => {
      while (!watch.signal.aborted) {
        await sleep(Math.max(1, watchdogMs - (now() - lastSeen)), watch.signal);
        if (!watch.signal.aborted && now() - lastSeen >= watchdogMs) {
          silent = true;
          watch.abort();
        }
      }
    })();
    let events = 0;
    try {
      const stream = api.watch<T>(path, {
        query: {
          ...selectors,
          allowWatchBookmarks: true,
          timeoutSeconds: watchTimeoutSeconds,
          ...(resourceVersion ? { resourceVersion } : {}),
        },
        signal: watch.signal,
      });
      for await (const event of stream) {
        connected = true;
        lastSeen = now();
        lastEventAt = lastSeen;
        events++;
        const object = event.object;
        const version = object?.metadata?.resourceVersion;
        switch (event.type) {
          case "BOOKMARK":
            if (version) resourceVersion = version;
            break;
          case "ERROR": {
            const status = object as { code?: number; reason?: string; message?: string };
            throw new KubeApiError(
              status.code ?? 500,
              status.reason,
              status.message ?? `Cannot watch ${path}: error event`,
            );
          }
          case "ADDED":
          case "MODIFIED": {
            const key = keyOf(object);
            const previous = cache.get(key);
            if (version) resourceVersion = version;
            if (previous?.metadata?.resourceVersion === version && version !== undefined) break;
            cache.set(key, object);
            if (previous) await updated(previous, object);
            else await added(object, false);
            break;
          }
          case "DELETED": {
            const key = keyOf(object);
            if (version) resourceVersion = version;
            const previous = cache.get(key);
            if (!previous) break;
            cache.delete(key);
            await deleted(object);
            break;
          }
          default:
            log.debug("Kubernetes watch sent an unknown event type", {
              path,
              type: (event as { type?: unknown }).type,
            });
        }
      }
      if (silent) throw new WatchdogError(watchdogMs);
      return events;
    } finally {
      connected = false;
      signal.removeEventListener("abort", stopWatch);
      watch.abort();
      await dog;
    }
  };

  const backoff = () => {
    const base = Math.min(maxBackoffMs, minBackoffMs * 2 ** Math.min(failures, 30));
    failures++;
    return base / 2 + random() * base / 2;
  };

  const loop = async (signal: AbortSignal) => {
    let needList = true;
    while (!signal.aborted) {
      try {
        if (needList) {
          const again = hasSynced;
          await relist(signal);
          if (again) relists++;
          needList = false;
          failures = 0;
          lastError = undefined;
          if (signal.aborted) break;
        }
        const started = now();
        const events = await watchOnce(signal);
        if (signal.aborted) break;
        if (events > 0) lastError = undefined;
        if (now() - started < minBackoffMs) {
          // Watches that keep ending at once: do not spin against the server.
          await sleep(backoff(), signal);
        } else failures = 0;
      } catch (error) {
        if (signal.aborted) break;
        lastError = error instanceof Error ? error.message : String(error);
        if (isGone(error)) {
          log.info("Kubernetes watch expired; listing again", { path, resourceVersion });
          needList = true;
          resourceVersion = undefined;
          if (hasSynced) continue;
        }
        if (hasSynced) restarts++;
        const delay = backoff();
        const fields = { path, error: lastError, retryInMs: Math.round(delay), failures };
        if (error instanceof WatchdogError || failures <= 3 || failures % 20 === 0) {
          log.warn("Kubernetes watch failed; retrying", fields);
        } else log.debug("Kubernetes watch failed; retrying", fields);
        await sleep(delay, signal);
      }
    }
  };

  return {
    start() {
      if (running) return;
      stopper = new AbortController();
      const signal = stopper.signal;
      running = loop(signal).catch((error) => {
        log.error("Kubernetes informer stopped unexpectedly", { path, error: String(error) });
      });
    },
    async stop() {
      stopper?.abort();
      const wasRunning = running;
      await wasRunning;
      running = undefined;
      if (!hasSynced) {
        syncedSignal.reject(
          new Error(`Cannot sync informer of ${path}: stopped before the first list`),
        );
      }
    },
    synced: syncedSignal.promise,
    list: () => [...cache.values()],
    get: (namespace, name) => cache.get(`${namespace ?? ""}/${name}`),
    status: () => ({
      path,
      connected,
      synced: hasSynced,
      lastEventAt,
      restarts,
      relists,
      resourceVersion,
      ...(lastError !== undefined ? { lastError } : {}),
    }),
  };
}
