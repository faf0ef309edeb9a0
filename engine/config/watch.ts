/**
 * Watches a config file and calls back when its content changes.
 *
 * Three triggers, all debounced into one content check:
 * - `Deno.watchFs` on the file's directory, not on the file. A Kubernetes ConfigMap mount
 *   makes `config.yaml` a symlink into `..data`, and an update swaps `..data` atomically;
 *   editors replace files by rename. Both leave a watch on the old file blind.
 * - A poll that compares a SHA-256 of the content, because watch events are not reliable
 *   on every filesystem (network and overlay mounts).
 * - `SIGHUP`, which reloads even when the content is the same (a `${file:...}` secret may
 *   have changed); skipped on platforms without it.
 *
 * `onChange` runs only when the content differs from the last content seen, one call at a
 * time. It is never called for an unreadable file (a swap in progress), except on `SIGHUP`.
 * Its errors are logged, never thrown.
 *
 * @module
 */
import { basename, dirname } from "node:path";
import { createLogger, type Logger } from "../log.ts";

/** Options of {@linkcode createConfigWatcher}. */
export interface ConfigWatcherOptions {
  /** Path of the config file; it may be a symlink. */
  path: string;
  /** Called after the content changed or on `SIGHUP`; errors are logged. */
  onChange: () => void | Promise<void>;
  /** Quiet time after the last event before the content is checked. @default 200 */
  debounceMs?: number;
  /** How often the content is checked without events; 0 turns polling off. @default 2000 */
  pollIntervalMs?: number;
  /** Closes the watcher when aborted. @default undefined */
  signal?: AbortSignal;
  /** Where changes and failures are logged. @default createLogger() */
  log?: Logger;
  /** Whether to use `Deno.watchFs`; polling and `SIGHUP` work either way. @default true */
  watch?: boolean;
}

/** A running watcher. */
export interface ConfigWatcher {
  /** Resolves once the initial content is read; changes are measured against it. */
  readonly ready: Promise<void>;
  /** Stops watching, polling and listening for `SIGHUP`. Safe to call twice. */
  close(): void;
}

/**
 * Starts watching a config file.
 *
 * @param options The file, the callback, timings, an abort signal and a logger.
 * @returns The watcher; call `close()` to stop it.
 * @throws {RangeError} When `debounceMs` or `pollIntervalMs` is negative or not finite.
 * @example Reloading after an edit
 * ```ts
 * import { createConfigWatcher } from "./watch.ts";
 * import { silentLogger } from "../log.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * const path = `${dir}/config.yaml`;
 * await Deno.writeTextFile(path, "logLevel: info\n");
 * const changed = Promise.withResolvers<void>();
 * let calls = 0;
 * const watcher = createConfigWatcher({
 *   path,
 *   onChange: () => {
 *     calls++;
 *     changed.resolve();
 *   },
 *   debounceMs: 10,
 *   pollIntervalMs: 50,
 *   log: silentLogger,
 * });
 * await watcher.ready;
 * await Deno.writeTextFile(path, "logLevel: debug\n");
 * await changed.promise;
 * watcher.close();
 * await Deno.remove(dir, { recursive: true });
 * assert.equal(calls, 1);
 * ```
 */
export function createConfigWatcher({
  path,
  onChange,
  debounceMs = 200,
  pollIntervalMs = 2000,
  signal,
  log = createLogger(),
  watch = true,
}: ConfigWatcherOptions): ConfigWatcher {
  for (const [name, value] of [["debounceMs", debounceMs], ["pollIntervalMs", pollIntervalMs]]) {
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw new RangeError(
        `Cannot watch config ${path}: ${name} is ${value}, expected a finite number >= 0`,
      );
    }
  }
  const fields = { path };
  let closed = false;
  let lastHash: string | undefined;
  let debounce: ReturnType<typeof setTimeout> | undefined;
  let poll: ReturnType<typeof setInterval> | undefined;
  let forced = false;
  let queued = false;
  let chain: Promise<void> = Promise.resolve();
  let watcher: Deno.FsWatcher | undefined;
  let listening = false;

  const readHash = async (): Promise<string | undefined> => {
    try {
      const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
      return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
    } catch (error) {
      log.debug("Cannot read config file: keeping the last content seen", { ...fields, error });
      return undefined;
    }
  };

  const check = async (): Promise<void> => {
    const force = forced;
    forced = false;
    const hash = await readHash();
    if (closed) return;
    const changed = hash !== undefined && hash !== lastHash;
    if (hash !== undefined) lastHash = hash;
    if (!changed && !force) return;
    log.info(changed ? "Config file changed" : "Reloading config on SIGHUP", fields);
    try {
      await onChange();
    } catch (error) {
      log.error("Cannot reload config: the change handler failed", { ...fields, error });
    }
  };

  const ready = readHash().then((hash) => {
    lastHash = hash;
  });

  const enqueue = (): void => {
    if (closed || queued) return;
    queued = true;
    chain = chain.then(() => ready).then(() => {
      queued = false;
      return closed ? undefined : check();
    });
  };

  const schedule = (force: boolean): void => {
    if (closed) return;
    forced ||= force;
    clearTimeout(debounce);
    debounce = setTimeout(() => {
      debounce = undefined;
      enqueue();
    }, debounceMs);
  };

  const onHangup = (): void => schedule(true);

  const close = (): void => {
    if (closed) return;
    closed = true;
    clearTimeout(debounce);
    clearInterval(poll);
    signal?.removeEventListener("abort", close);
    if (listening) Deno.removeSignalListener("SIGHUP", onHangup);
    try {
      watcher?.close();
    } catch (error) {
      log.debug("Cannot close config watcher: already closed", { ...fields, error });
    }
  };

  if (watch) {
    try {
      watcher = Deno.watchFs(dirname(path), { recursive: false });
      consume(watcher, basename(path), () => schedule(false)).catch((error) => {
        if (!closed) log.warn("Cannot watch config directory: polling only", { ...fields, error });
      });
    } catch (error) {
      log.warn("Cannot watch config directory: polling only", { ...fields, error });
    }
  }
  // A poll that sees new content waits the debounce before acting, like a watch event: it may
  // have read a file half-written (truncated, then filled) by a plain in-place write.
  const pollCheck = async (): Promise<void> => {
    if (closed || debounce !== undefined || queued) return;
    const hash = await readHash();
    if (hash !== undefined && hash !== lastHash && debounce === undefined) schedule(false);
  };
  if (pollIntervalMs > 0) poll = setInterval(() => void pollCheck(), pollIntervalMs);
  try {
    Deno.addSignalListener("SIGHUP", onHangup);
    listening = true;
  } catch (error) {
    log.debug("Cannot listen for SIGHUP: not supported on this platform", { ...fields, error });
  }
  if (signal?.aborted) close();
  else signal?.addEventListener("abort", close, { once: true });
  return { ready, close };
}

/**
 * Calls `onEvent` for every event that may change the config's content: writes to the file
 * itself, renames onto it, and ConfigMap swaps (`..data`, `..<timestamp>`). Reads and other
 * files in the directory (a state file next to the config writes constantly) are skipped.
 */
async function consume(
  watcher: Deno.FsWatcher,
  name: string,
  onEvent: () => void,
): Promise<void> {
  for await (const event of watcher) {
    if (event.kind === "access") continue;
    if (event.paths.some((p) => basename(p) === name || basename(p).startsWith(".."))) onEvent();
  }
}
