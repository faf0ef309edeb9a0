/**
 * The set of sandboxed workflows: user files from the workflow directory plus built-ins
 * configured to run in the sandbox, each in its own warm child, with hot reload and status.
 *
 * A reload scans the directory, hashes every workflow version (its file plus the helpers)
 * and loads only the versions that changed: copy, type-check, start the new child, check its
 * metadata, then swap the entry atomically and drain the old child (runs in flight finish
 * within their deadlines). A bad new version keeps the previous one serving and sets
 * `lastError`; a failed version is not retried until its content changes. Ids stay with the
 * file that already holds them; among new files the first in name order wins.
 *
 * Startup never blocks the engine: `start()` may be left unawaited; `entries()` is empty
 * until the first load finishes and `onChange` reports every change of the set. A missing or
 * empty directory is not an error (see `directoryStatus()`).
 *
 * The file stays whole (past 400 lines): the reload, swap, drain and status share the slot
 * table and must stay consistent with each other; most of its length is the documented
 * public types.
 *
 * @example Serve the workflows of a directory
 * ```ts ignore
 * import { createSandboxManager } from "./manager.ts";
 *
 * const manager = createSandboxManager({ directory: "/workflows", log, metrics, capabilityHost });
 * manager.onChange((entries) => engine.setSandboxedWorkflows(entries));
 * manager.start(); // not awaited: the HTTP server starts meanwhile
 * ```
 *
 * @module
 */
import { basename, join } from "node:path";
import type { CapabilityHost } from "../capabilities/host.ts";
import { type Logger, silentLogger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { RunRequest, RunResult, WorkflowEntry } from "../workflows/entry.ts";
import type { SandboxConfigInput } from "./config.ts";
import {
  createSandboxContext,
  type LoadedVersion,
  type LoadFailure,
  loadVersions,
  type SandboxContext,
  type VersionCandidate,
} from "./loader.ts";
import { dedupeIds } from "./manifest.ts";
import { type FileProblem, hashVersion, scanWorkflowDirectory } from "./snapshot.ts";
import { type DirectoryWatcher, watchDirectory } from "./watch_dir.ts";

/** A file run in the sandbox besides the directory (a built-in configured for the sandbox). */
export interface ExtraWorkflowFile {
  /** Absolute path of the file; it may import only `@cano/sdk`. */
  path: string;
  /** Always `builtin`. */
  origin: "builtin";
}

/** Options of {@linkcode createSandboxManager}. */
export interface SandboxManagerOptions {
  /** The user workflow directory; none means built-ins only. */
  directory?: string | undefined;
  /** Sandbox limits. @default {} */
  config?: SandboxConfigInput;
  /** Serves capability calls (create it with `countMetrics: false`). @default refuses all */
  capabilityHost?: CapabilityHost;
  /** Metrics. */
  metrics?: Metrics | undefined;
  /** Logger. @default silentLogger */
  log?: Logger;
  /** Built-ins to run in the sandbox. @default [] */
  extraFiles?: readonly ExtraWorkflowFile[];
  /** Watch the directory and reload on change. @default true */
  watch?: boolean;
}

/** Status of one workflow file, for `/health/detailed` and `cano workflows list`. */
export interface WorkflowStatus {
  /** Id of the loaded version, when one is loaded. */
  id?: string;
  /** The file. */
  file: string;
  /** Origin. */
  origin: "user" | "builtin";
  /** A version is serving. */
  loaded: boolean;
  /** Content hash of the serving version. */
  versionHash?: string;
  /** Why the latest version did not load (the previous one may still serve). */
  lastError?: string;
  /** Runs finished, all versions of this file. */
  runs: number;
  /** Failed runs, all versions of this file. */
  failures: number;
  /** Child restarts, all versions. */
  restarts: number;
  /** Refusing runs after too many consecutive failures. */
  quarantined: boolean;
  /** End of the quarantine, ISO 8601. */
  quarantinedUntil?: string;
}

/** Status of the workflow directory. */
export interface DirectoryStatus {
  /** The directory, when configured. */
  path?: string;
  /** `false` when it does not exist. */
  exists: boolean;
  /** A load is running. */
  loading: boolean;
  /** When the last load finished, ISO 8601. */
  lastLoadAt?: string;
  /** Refused files and directory-level errors of the last load. */
  problems: FileProblem[];
}

/** The sandboxed workflows. */
export interface SandboxManager {
  /** Prepares the SDK bundle, loads everything once and starts watching. Never rejects. */
  start(): Promise<void>;
  /** The serving workflows, ordered by file. */
  entries(): WorkflowEntry[];
  /** One status per known file. */
  status(): WorkflowStatus[];
  /** The directory's status. */
  directoryStatus(): DirectoryStatus;
  /** Loads what changed now. Never rejects. */
  reload(): Promise<void>;
  /** Stops watching and stops every child. */
  close(): Promise<void>;
  /** Calls `listener` with the new entries whenever the set changes; returns an unsubscribe. */
  onChange(listener: (entries: WorkflowEntry[]) => void): () => void;
}

interface Slot {
  file: string;
  origin: "user" | "builtin";
  current?: LoadedVersion;
  entry?: WorkflowEntry;
  lastError?: string;
  failedHash?: string;
  retired: { runs: number; failures: number; restarts: number };
}

/**
 * Creates the manager. Nothing runs until `start()`.
 *
 * @param options Directory, limits, capability host, metrics, logger, built-ins.
 * @returns The manager.
 */
export function createSandboxManager(options: SandboxManagerOptions = {}): SandboxManager {
  const { directory, extraFiles = [], watch = true } = options;
  const log = (options.log ?? silentLogger).child({ component: "sandbox" });
  const slots = new Map<string, Slot>();
  const listeners = new Set<(entries: WorkflowEntry[]) => void>();
  const draining = new Set<Promise<void>>();
  let context: Promise<SandboxContext> | undefined;
  let entries: WorkflowEntry[] = [];
  let watcher: DirectoryWatcher | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;
  const dirStatus: DirectoryStatus = {
    ...(directory === undefined ? {} : { path: directory }),
    exists: directory !== undefined,
    loading: false,
    problems: [],
  };

  const getContext = () =>
    context ??= createSandboxContext({
      ...(options.config ? { config: options.config } : {}),
      ...(options.capabilityHost ? { capabilityHost: options.capabilityHost } : {}),
      metrics: options.metrics,
      log,
    });

  const retire = (slot: Slot, version: LoadedVersion | undefined) => {
    if (!version) return;
    const done = version.supervisor.drain().then(async () => {
      const stats = version.supervisor.stats;
      slot.retired.runs += stats.runs;
      slot.retired.failures += stats.failures;
      slot.retired.restarts += stats.restarts;
      // Free the disk (snapshot, transpile cache, anything written to `caches`) unless the
      // same content serves again meanwhile.
      const inUse = [...slots.values()].some((s) =>
        s.current?.version.snapshotDir === version.version.snapshotDir
      );
      if (!inUse) {
        await Deno.remove(version.denoDir, { recursive: true }).catch(() => undefined);
        await Deno.remove(version.version.snapshotDir, { recursive: true }).catch(() => undefined);
      }
    }).catch((error) => log.error("Cannot stop a workflow version", { error: String(error) }));
    draining.add(done);
    done.finally(() => draining.delete(done));
  };

  const collect = async (ctx: SandboxContext): Promise<VersionCandidate[] | undefined> => {
    const candidates: VersionCandidate[] = [];
    dirStatus.problems = [];
    if (directory !== undefined) {
      try {
        const scan = await scanWorkflowDirectory(directory, ctx.config);
        dirStatus.exists = scan.exists;
        dirStatus.problems = scan.problems;
        for (const entry of scan.entries) {
          candidates.push({
            file: join(directory, entry.rel),
            origin: "user",
            entry,
            helpers: scan.helpers,
            check: true,
          });
        }
      } catch (error) {
        dirStatus.problems = [{ file: directory, message: (error as Error).message }];
        return undefined;
      }
    }
    for (const extra of extraFiles) {
      try {
        const content = await Deno.readFile(extra.path);
        candidates.push({
          file: extra.path,
          origin: extra.origin,
          entry: { rel: basename(extra.path), content },
          helpers: [],
          check: false,
        });
      } catch (error) {
        dirStatus.problems.push({
          file: extra.path,
          message: `Cannot read ${extra.path}: ${(error as Error).message}`,
        });
      }
    }
    return candidates;
  };

  const load = async () => {
    const ctx = await getContext();
    const candidates = await collect(ctx);
    if (!candidates || closed) return;
    const seen = new Set(candidates.map((c) => c.file));
    const changed: VersionCandidate[] = [];
    for (const candidate of candidates) {
      const slot = slots.get(candidate.file) ??
        {
          file: candidate.file,
          origin: candidate.origin,
          retired: { runs: 0, failures: 0, restarts: 0 },
        };
      slots.set(candidate.file, slot);
      const hash = await hashVersion(candidate.entry, candidate.helpers);
      if (slot.current?.version.hash === hash) {
        // Back to the serving version: an error about a newer version no longer applies.
        delete slot.lastError;
        delete slot.failedHash;
        continue;
      }
      if (slot.failedHash === hash) continue;
      changed.push(candidate);
    }
    let dirty = false;
    for (const [file, slot] of slots) {
      if (seen.has(file)) continue;
      retire(slot, slot.current);
      slots.delete(file);
      dirty ||= slot.current !== undefined;
    }
    if (changed.length > 0) {
      const results = await loadVersions(changed, ctx);
      if (closed) {
        await Promise.all(results.map((r) => "supervisor" in r ? r.supervisor.close() : undefined));
        return;
      }
      const changedFiles = new Set(changed.map((c) => c.file));
      const taken = new Map<string, string>();
      for (const slot of slots.values()) {
        if (slot.current && !changedFiles.has(slot.file)) taken.set(slot.current.id, slot.file);
      }
      const { loaded, failures } = dedupeIds<LoadedVersion, LoadFailure>(results, taken);
      for (const version of loaded) {
        const slot = slots.get(version.file)!;
        const old = slot.current;
        slot.current = version;
        slot.entry = toEntry(version);
        delete slot.lastError;
        delete slot.failedHash;
        retire(slot, old);
        dirty = true;
        log.info("Workflow loaded", {
          workflow: version.id,
          file: version.file,
          version: version.version.hash.slice(0, 12),
          replaced: old ? old.version.hash.slice(0, 12) : null,
        });
      }
      for (const failure of failures) fail(failure, taken);
    }
    dirStatus.lastLoadAt = new Date().toISOString();
    if (dirty) publish();
  };

  const fail = (
    failure: LoadFailure & { duplicate?: LoadedVersion },
    taken: Map<string, string>,
  ) => {
    const slot = slots.get(failure.file)!;
    slot.lastError = failure.message;
    if (failure.hash !== undefined) slot.failedHash = failure.hash;
    if (failure.duplicate) {
      failure.duplicate.supervisor.close().catch((error) =>
        log.error("Cannot stop a duplicate workflow", { error: String(error) })
      );
    }
    // The previous version keeps serving unless its id now belongs to another file.
    if (slot.current) {
      const owner = taken.get(slot.current.id);
      if (owner !== undefined && owner !== slot.file) {
        retire(slot, slot.current);
        delete slot.current;
        delete slot.entry;
      } else taken.set(slot.current.id, slot.file);
    }
    log.warn("Cannot load workflow", {
      file: failure.file,
      error: failure.message,
      serving: slot.current ? slot.current.version.hash.slice(0, 12) : null,
    });
  };

  const publish = () => {
    entries = [...slots.values()]
      .filter((s) => s.entry)
      .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0))
      .map((s) => s.entry!);
    for (const listener of listeners) {
      try {
        listener(entries);
      } catch (error) {
        log.error("A workflow change listener failed", { error: String(error) });
      }
    }
  };

  const reload = (): Promise<void> => {
    if (closed) return Promise.resolve();
    if (running) {
      again = true;
      return running;
    }
    dirStatus.loading = true;
    running = (async () => {
      do {
        again = false;
        try {
          await load();
        } catch (error) {
          const message = `Cannot load sandboxed workflows: ${(error as Error).message}`;
          dirStatus.problems = [{ file: directory ?? "(sandbox)", message }];
          log.error("Cannot load sandboxed workflows", { error: message });
        }
      } while (again && !closed);
    })().finally(() => {
      running = undefined;
      dirStatus.loading = false;
    });
    return running;
  };

  return {
    async start() {
      await reload();
      if (watch && directory !== undefined && !closed && !watcher) {
        const ctx = await context?.catch(() => undefined);
        watcher = watchDirectory(directory, {
          onChange: () => void reload(),
          pollIntervalMs: ctx?.config.pollIntervalMs ?? 5_000,
          log,
        });
      }
    },
    entries: () => entries,
    status() {
      return [...slots.values()]
        .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0))
        .map((slot) => statusOf(slot));
    },
    directoryStatus: () => structuredClone(dirStatus),
    reload,
    async close() {
      closed = true;
      watcher?.close();
      await running?.catch(() => undefined);
      const versions = [...slots.values()].flatMap((s) => (s.current ? [s.current] : []));
      await Promise.all(versions.map((v) => v.supervisor.close()));
      await Promise.all([...draining]);
      if (entries.length > 0) {
        entries = [];
        for (const listener of listeners) listener(entries);
      }
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

function toEntry(version: LoadedVersion): WorkflowEntry {
  const { supervisor } = version;
  return Object.freeze({
    id: version.id,
    description: version.description,
    triggers: version.triggers,
    permissions: version.permissions,
    origin: version.origin,
    isolation: "sandbox",
    version: version.version.hash.slice(0, 16),
    run: async function runSandboxed(request: RunRequest): Promise<RunResult> {
      try {
        return await supervisor.run(request);
      } catch (error) {
        return {
          outcome: "crash",
          enrichments: [],
          durationMs: 0,
          error: `Cannot run workflow "${version.id}": ${(error as Error).message}`,
        };
      }
    },
  });
}

function statusOf(slot: Slot): WorkflowStatus {
  const stats = slot.current?.supervisor.stats;
  const status: WorkflowStatus = {
    file: slot.file,
    origin: slot.origin,
    loaded: slot.current !== undefined,
    runs: slot.retired.runs + (stats?.runs ?? 0),
    failures: slot.retired.failures + (stats?.failures ?? 0),
    restarts: slot.retired.restarts + (stats?.restarts ?? 0),
    quarantined: stats?.quarantinedUntil !== undefined && stats.quarantinedUntil > Date.now(),
  };
  if (slot.current) {
    status.id = slot.current.id;
    status.versionHash = slot.current.version.hash;
  }
  if (slot.lastError !== undefined) status.lastError = slot.lastError;
  if (status.quarantined) {
    status.quarantinedUntil = new Date(stats!.quarantinedUntil!).toISOString();
  }
  return status;
}
