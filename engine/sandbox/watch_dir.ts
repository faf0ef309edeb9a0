/**
 * Watches a workflow directory for changes, ConfigMap mounts included.
 *
 * A ConfigMap volume updates by writing a new `..<timestamp>` folder and atomically
 * swapping the `..data` symlink; the visible files are symlinks through `..data`. Events
 * from `Deno.watchFs` on such swaps are unreliable (and absent on some volume types), so a
 * periodic poll compares a cheap fingerprint (names, sizes, modification times and symlink
 * targets, `..data` included) as a fallback. Either one calls `onChange`, debounced; the
 * caller reloads and compares content hashes itself.
 *
 * @example React to a new file
 * ```ts
 * import { watchDirectory } from "./watch_dir.ts";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * const changed = Promise.withResolvers<void>();
 * const watcher = watchDirectory(dir, { onChange: () => changed.resolve(), pollIntervalMs: 50 });
 * await new Promise((r) => setTimeout(r, 100));
 * await Deno.writeTextFile(`${dir}/a.ts`, "export {};");
 * await changed.promise;
 * watcher.close();
 * await Deno.remove(dir, { recursive: true });
 * assert.ok(true);
 * ```
 *
 * @module
 */
import { join } from "node:path";
import { type Logger, silentLogger } from "../log.ts";

/** Options of {@linkcode watchDirectory}. */
export interface WatchDirectoryOptions {
  /** Called after changes settle. */
  onChange(): void;
  /** Fingerprint poll interval; 0 turns polling off. @default 5000 */
  pollIntervalMs?: number;
  /** Quiet time before `onChange` fires. @default 200 */
  debounceMs?: number;
  /** Logger. @default silentLogger */
  log?: Logger;
}

/** A running watcher. */
export interface DirectoryWatcher {
  /** Stops watching. */
  close(): void;
}

/**
 * Starts watching a directory (which may not exist yet).
 *
 * @param dir The directory.
 * @param options Callback, poll interval, debounce and logger.
 * @returns The watcher.
 */
export function watchDirectory(
  dir: string,
  { onChange, pollIntervalMs = 5_000, debounceMs = 200, log = silentLogger }: WatchDirectoryOptions,
): DirectoryWatcher {
  let closed = false;
  let watcher: Deno.FsWatcher | undefined;
  let debounce: ReturnType<typeof setTimeout> | undefined;
  let last: string | undefined;
  let polling = false;

  const fire = () => {
    if (closed) return;
    clearTimeout(debounce);
    debounce = setTimeout(() => {
      if (!closed) onChange();
    }, debounceMs);
  };

  const watch = () => {
    if (watcher || closed) return;
    try {
      watcher = Deno.watchFs(dir, { recursive: true });
    } catch (error) {
      log.debug("Cannot watch the workflow directory yet", { dir, error: String(error) });
      return;
    }
    const current = watcher;
    (async () => {
      try {
        for await (const _event of current) fire();
      } catch (error) {
        log.debug("Workflow directory watcher stopped", { dir, error: String(error) });
      }
      if (watcher === current) watcher = undefined;
    })();
  };

  const poll = async () => {
    if (polling || closed) return;
    polling = true;
    try {
      const print = await fingerprint(dir);
      if (last !== undefined && print !== last) fire();
      last = print;
      watch();
    } catch (error) {
      log.debug("Cannot poll the workflow directory", { dir, error: String(error) });
    } finally {
      polling = false;
    }
  };

  watch();
  poll();
  const interval = pollIntervalMs > 0 ? setInterval(poll, pollIntervalMs) : undefined;
  return {
    close() {
      closed = true;
      clearTimeout(debounce);
      clearInterval(interval);
      try {
        watcher?.close();
      } catch (error) {
        log.debug("Cannot close the directory watcher", { error: String(error) });
      }
      watcher = undefined;
    },
  };
}

/**
 * A cheap fingerprint of a directory tree: names, sizes, modification times and symlink
 * targets. Folders whose name starts with `.` are not entered (ConfigMap `..<timestamp>`
 * folders never change; the `..data` link target does).
 *
 * @param dir The directory.
 * @returns A string that changes when the tree changes; `"missing"` without the directory.
 */
export async function fingerprint(dir: string): Promise<string> {
  const parts: string[] = [];
  const visit = async (path: string, depth: number) => {
    const names: string[] = [];
    for await (const entry of Deno.readDir(path)) names.push(entry.name);
    names.sort();
    for (const name of names) {
      const full = join(path, name);
      const info = await Deno.lstat(full).catch(() => undefined);
      if (!info) continue;
      if (info.isSymlink) {
        parts.push(`${full}->${await Deno.readLink(full).catch(() => "?")}`);
      } else if (info.isDirectory) {
        if (!name.startsWith(".") && depth < 8) await visit(full, depth + 1);
      } else {
        parts.push(`${full}:${info.size}:${info.mtime?.getTime() ?? 0}`);
      }
    }
  };
  try {
    await visit(dir, 0);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "missing";
    throw error;
  }
  return parts.join("\n");
}
