/**
 * Loading workflow files into sandboxes: copy, type-check, start, validate.
 *
 * For each workflow file: write its version snapshot (entry + helpers, by content hash),
 * type-check it with `deno check` against the real SDK, start its child (which imports the
 * file with the child's own read permission and reports the workflow's metadata), and check
 * that metadata with the SDK schemas on the host side (the child is not trusted to have
 * called `defineWorkflow`). Every failure names the file (and line when known); the other
 * files load regardless. Ids must be unique: the first file in name order keeps an id.
 *
 * The metadata checks and the id rule live in `manifest.ts`.
 * {@linkcode loadWorkflowDirectory} is the one-shot form used by `cano workflows list` and
 * `dry-run --workflows DIR`; the manager uses {@linkcode loadVersions} for hot reload.
 *
 * @example List the workflows of a directory
 * ```ts ignore
 * import { loadWorkflowDirectory } from "./loader.ts";
 *
 * const { workflows, errors } = await loadWorkflowDirectory("/workflows");
 * for (const w of workflows) console.log(w.id, w.file, w.version);
 * for (const e of errors) console.error(e.message);
 * ```
 *
 * @module
 */
import type { Permissions, Trigger } from "@cano/sdk";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import type { CapabilityHost } from "../capabilities/host.ts";
import { type Logger, silentLogger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import { findPrlimit } from "./child.ts";
import { checkManifest, dedupeIds } from "./manifest.ts";
import { parseSandboxConfig, type SandboxConfig, type SandboxConfigInput } from "./config.ts";
import { ensureDenoDirTemplate, seedDenoDir } from "./deno_dir_template.ts";
import { ensureSdkBundle, type SdkBundle } from "./sdk_bundle.ts";
import {
  type FileProblem,
  type ScannedFile,
  scanWorkflowDirectory,
  type WorkflowVersion,
  writeSnapshot,
} from "./snapshot.ts";
import { SandboxLoadError, Supervisor } from "./supervisor.ts";
import { typeCheckSnapshots } from "./type_check.ts";

/** Everything loading needs, shared by all versions. */
export interface SandboxContext {
  /** Parsed limits. */
  config: SandboxConfig;
  /** Where snapshots, caches and the SDK bundle live. */
  workDir: string;
  /** The SDK bundle children load. */
  sdk: SdkBundle;
  /** `prlimit`, when installed. */
  prlimit: string | undefined;
  /** A warmed Deno cache copied into each new version's private cache, when it could be built. */
  denoDirTemplate?: string | undefined;
  /** Serves capability calls. */
  capabilityHost: CapabilityHost;
  /** Metrics. */
  metrics?: Metrics | undefined;
  /** Logger. */
  log: Logger;
}

/** Options of {@linkcode createSandboxContext}. */
export interface SandboxContextOptions {
  /** Limits; defaults apply to what is left out. @default {} */
  config?: SandboxConfigInput;
  /** Serves capability calls. @default a host that refuses every call */
  capabilityHost?: CapabilityHost;
  /** Metrics. */
  metrics?: Metrics | undefined;
  /** Logger. @default silentLogger */
  log?: Logger;
}

/** A candidate version of one workflow file. */
export interface VersionCandidate {
  /** The file as the author knows it (absolute path). */
  file: string;
  /** `user` for the directory, `builtin` for built-ins run in the sandbox. */
  origin: "user" | "builtin";
  /** The entry file. */
  entry: ScannedFile;
  /** Helpers copied next to it. */
  helpers: readonly ScannedFile[];
  /** Type-check it (user files). */
  check: boolean;
}

/** A workflow version running in its sandbox. */
export interface LoadedVersion {
  /** The file as the author knows it. */
  file: string;
  /** Origin. */
  origin: "user" | "builtin";
  /** The snapshot. */
  version: WorkflowVersion;
  /** Checked id. */
  id: string;
  /** Checked description. */
  description: string;
  /** Checked triggers. */
  triggers: readonly Trigger[];
  /** Checked permissions. */
  permissions: Permissions;
  /** The warm child's supervisor. */
  supervisor: Supervisor;
  /** The child's private Deno cache dir. */
  denoDir: string;
}

/** A version that could not be loaded. */
export interface LoadFailure {
  /** The file as the author knows it. */
  file: string;
  /** Hash of the version that failed, when it got that far. */
  hash?: string;
  /** `Cannot ...: ...`, naming the file (and line when known). */
  message: string;
}

/** A refusing capability host, used when none is configured. */
export const REFUSING_CAPABILITY_HOST: CapabilityHost = {
  call(name) {
    return Promise.reject(new Error(`Cannot call "${name}": no capability host is configured`));
  },
};

/**
 * Prepares the shared pieces: parsed config, work dir, SDK bundle, `prlimit`.
 *
 * @param options Config, capability host, metrics, logger.
 * @returns The context.
 * @throws {TypeError} When the config is invalid.
 * @throws {Error} When the SDK cannot be bundled.
 */
export async function createSandboxContext(
  { config: input = {}, capabilityHost = REFUSING_CAPABILITY_HOST, metrics, log = silentLogger }:
    SandboxContextOptions = {},
): Promise<SandboxContext> {
  const config = parseSandboxConfig(input);
  const workDir = config.workDir ?? join(tmpdir(), "cano-sandbox");
  await Deno.mkdir(join(workDir, "empty"), { recursive: true, mode: 0o755 });
  await Deno.chmod(join(workDir, "empty"), 0o555);
  const sdk = await ensureSdkBundle(
    config.denoPath ? { workDir, denoPath: config.denoPath } : { workDir },
  );
  const prlimit = await findPrlimit();
  if (!prlimit) {
    log.warn("prlimit is not installed: sandbox memory beyond the V8 heap is not capped");
  }
  const denoDirTemplate = await ensureDenoDirTemplate({ workDir, sdk, config, prlimit });
  return { config, workDir, sdk, prlimit, denoDirTemplate, capabilityHost, metrics, log };
}

/**
 * Loads candidate versions: snapshot, type-check, start, validate. Never throws for a bad
 * file; each candidate ends loaded or failed.
 *
 * @param candidates The versions to load.
 * @param context The shared context.
 * @returns One result per candidate, in order.
 */
export async function loadVersions(
  candidates: readonly VersionCandidate[],
  context: SandboxContext,
): Promise<(LoadedVersion | LoadFailure)[]> {
  const { config, workDir } = context;
  const versions = await Promise.all(candidates.map(async (candidate) => {
    try {
      return await writeSnapshot(workDir, candidate.entry, candidate.helpers);
    } catch (error) {
      return { file: candidate.file, message: `Cannot copy ${candidate.file}: ${error}` };
    }
  }));
  const display = (candidate: VersionCandidate, version: WorkflowVersion) => {
    const root = dirname(candidate.file);
    const snapshotUrl = pathToFileURL(version.snapshotDir).href + "/";
    return (text: string) =>
      text.replaceAll(snapshotUrl, root + "/").replaceAll(version.snapshotDir, root);
  };
  const toCheck = candidates.flatMap((candidate, i) => {
    const version = versions[i]!;
    return "hash" in version && candidate.check && config.typeCheck
      ? [{
        snapshotDir: version.snapshotDir,
        entry: version.entry,
        display: display(candidate, version),
      }]
      : [];
  });
  let checked = new Map<string, string[]>();
  if (toCheck.length > 0) {
    try {
      checked = await typeCheckSnapshots(toCheck, {
        workDir,
        timeoutMs: config.checkTimeoutMs,
        ...(config.denoPath ? { denoPath: config.denoPath } : {}),
      });
    } catch (error) {
      const message = (error as Error).message;
      checked = new Map(toCheck.map((t) => [t.snapshotDir, [message]]));
    }
  }
  return await mapLimit(candidates, 4, async (candidate, i) => {
    const version = versions[i]!;
    if (!("hash" in version)) return version;
    const errors = checked.get(version.snapshotDir) ?? [];
    if (errors.length > 0) {
      return {
        file: candidate.file,
        hash: version.hash,
        message:
          `Cannot load workflow from ${candidate.file}: deno check found ${errors.length} error${
            errors.length === 1 ? "" : "s"
          }\n${errors.map((e) => `  ${e}`).join("\n")}`,
      };
    }
    return await startVersion(candidate, version, context, display(candidate, version));
  });
}

async function startVersion(
  candidate: VersionCandidate,
  version: WorkflowVersion,
  context: SandboxContext,
  rewrite: (text: string) => string,
): Promise<LoadedVersion | LoadFailure> {
  const { config, workDir } = context;
  const denoDir = join(workDir, "deno-dirs", version.snapshotDir.split("/").at(-1)!);
  await Deno.mkdir(denoDir, { recursive: true });
  if (context.denoDirTemplate) {
    const owner = config.uid === undefined
      ? undefined
      : { uid: config.uid, gid: config.gid ?? null };
    await seedDenoDir(context.denoDirTemplate, denoDir, owner).catch((error) =>
      context.log.warn("Cannot seed the Deno cache of a workflow version", { error: String(error) })
    );
  }
  if (config.uid !== undefined) await Deno.chown(denoDir, config.uid, config.gid ?? null);
  const supervisor = new Supervisor({
    spec: {
      snapshotDir: version.snapshotDir,
      entry: version.entry,
      sdk: context.sdk,
      denoDir,
      cwd: join(workDir, "empty"),
      prlimit: context.prlimit,
    },
    config,
    capabilityHost: context.capabilityHost,
    metrics: context.metrics,
    log: context.log.child({ file: candidate.file, version: version.hash.slice(0, 12) }),
    name: candidate.file.split("/").at(-1)!,
    rewrite,
  });
  let checked: ReturnType<typeof checkManifest> | undefined;
  try {
    const manifest = await supervisor.start((m) => {
      checked = checkManifest(m, candidate.file);
      return checked.permissions;
    });
    return {
      file: candidate.file,
      origin: candidate.origin,
      version,
      id: manifest.id,
      description: checked!.description,
      triggers: checked!.triggers,
      permissions: checked!.permissions,
      supervisor,
      denoDir,
    };
  } catch (error) {
    await supervisor.close();
    const message = error instanceof SandboxLoadError
      ? error.message.startsWith("Cannot load workflow from")
        ? error.message
        : `Cannot load workflow from ${candidate.file}: ${
          error.message.replace(/^Cannot load workflow: /, "")
        }`
      : `Cannot load workflow from ${candidate.file}: ${(error as Error).message}`;
    return { file: candidate.file, hash: version.hash, message };
  }
}

/** A workflow found by {@linkcode loadWorkflowDirectory}. */
export interface ListedWorkflow {
  /** Id. */
  id: string;
  /** The file. */
  file: string;
  /** Description. */
  description: string;
  /** Triggers. */
  triggers: readonly Trigger[];
  /** Permissions. */
  permissions: Permissions;
  /** Content hash of the version. */
  version: string;
}

/** Options of {@linkcode loadWorkflowDirectory}. */
export interface LoadDirectoryOptions extends SandboxContextOptions {
  /** Keep the children running and return their supervisors (dry-run). @default false */
  keepRunning?: boolean;
}

/** What {@linkcode loadWorkflowDirectory} returns. */
export interface DirectoryLoad {
  /** `false` when the directory does not exist. */
  exists: boolean;
  /** Workflows that loaded, by file name. */
  workflows: ListedWorkflow[];
  /** Files that did not load, with the reason. */
  errors: FileProblem[];
  /** The running versions when `keepRunning` was set (close their supervisors when done). */
  loaded: LoadedVersion[];
}

/**
 * Loads every workflow of a directory once: for `cano workflows list` and dry-runs.
 *
 * @param dir The directory.
 * @param options Config, capability host, metrics, logger, and whether to keep children.
 * @returns Loaded workflows and per-file errors.
 */
export async function loadWorkflowDirectory(
  dir: string,
  options: LoadDirectoryOptions = {},
): Promise<DirectoryLoad> {
  const context = await createSandboxContext(options);
  let scan;
  try {
    scan = await scanWorkflowDirectory(dir, context.config);
  } catch (error) {
    const message = (error as Error).message;
    return { exists: true, workflows: [], errors: [{ file: dir, message }], loaded: [] };
  }
  const candidates = scan.entries.map((entry): VersionCandidate => ({
    file: join(dir, entry.rel),
    origin: "user",
    entry,
    helpers: scan.helpers,
    check: true,
  }));
  const results = await loadVersions(candidates, context);
  const { loaded, failures } = dedupeIds<LoadedVersion, LoadFailure>(results);
  await Promise.all(
    failures.map((f) => "duplicate" in f ? f.duplicate.supervisor.close() : undefined),
  );
  if (!options.keepRunning) await Promise.all(loaded.map((l) => l.supervisor.close()));
  return {
    exists: scan.exists,
    workflows: loaded.map(listed),
    errors: [...scan.problems, ...failures.map(({ file, message }) => ({ file, message }))],
    loaded: options.keepRunning ? loaded : [],
  };
}

function listed(version: LoadedVersion): ListedWorkflow {
  return {
    id: version.id,
    file: version.file,
    description: version.description,
    triggers: version.triggers,
    permissions: version.permissions,
    version: version.version.hash,
  };
}

async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
