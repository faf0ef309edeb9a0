/**
 * Scanning a workflow directory and copying each workflow version to its own snapshot.
 *
 * Layout of a workflow directory (a ConfigMap mount or a plain folder):
 * - every `*.ts` file directly in it is a workflow, except `_*.ts` (helpers), `*_test.ts`
 *   (the author's tests, never copied) and `*.d.ts`;
 * - helpers (`_*.ts`, `.js`, `.json`, and files in sub-folders) may be imported by workflows;
 * - names starting with `.` are skipped: `..data` and `..<timestamp>` are the ConfigMap's
 *   internals, reached through the top-level symlinks.
 *
 * Symlinks are resolved and must stay inside the directory (a ConfigMap key pointing at
 * `/etc` is refused). File count and sizes are capped. A workflow version is the entry file
 * plus every helper; its hash names a snapshot folder written once (write to a temp folder,
 * then rename), which is the only workflow code its child may read.
 *
 * @module
 */
import { basename, extname, join, relative, sep } from "node:path";
import { hashParts } from "./_hash.ts";

/** A file read from the workflow directory. */
export interface ScannedFile {
  /** Path relative to the directory, `/`-separated. */
  rel: string;
  /** Content. */
  content: Uint8Array;
}

/** A problem with one file (or the directory, when `file` is the directory). */
export interface FileProblem {
  /** Path of the file as the author knows it. */
  file: string;
  /** `Cannot ...: ...`. */
  message: string;
}

/** What {@linkcode scanWorkflowDirectory} found. */
export interface DirectoryScan {
  /** The directory as given. */
  dir: string;
  /** `false` when the directory does not exist. */
  exists: boolean;
  /** Workflow files. */
  entries: ScannedFile[];
  /** Files workflows may import. */
  helpers: ScannedFile[];
  /** Files refused (symlink outside, too large...). */
  problems: FileProblem[];
}

/** Caps of {@linkcode scanWorkflowDirectory}. */
export interface ScanLimits {
  /** Most files. */
  maxFiles: number;
  /** Largest file. */
  maxFileBytes: number;
  /** All files together. */
  maxTotalBytes: number;
}

/** A workflow version ready to load. */
export interface WorkflowVersion {
  /** The entry file's path relative to the directory. */
  file: string;
  /** Hash of the entry file and the helpers. */
  hash: string;
  /** Folder holding the copy. */
  snapshotDir: string;
  /** The entry file inside the copy. */
  entry: string;
}

const COPIED_EXTENSIONS = new Set([".ts", ".mts", ".js", ".mjs", ".json"]);
const MAX_DEPTH = 8;

/**
 * Tells whether a path (relative to the directory) is a workflow entry.
 *
 * @param rel The relative path.
 * @returns `true` for `name.ts` directly in the directory, not `_`-prefixed, not a test.
 */
export function isWorkflowFile(rel: string): boolean {
  return !rel.includes("/") && rel.endsWith(".ts") && !rel.startsWith("_") &&
    !rel.endsWith("_test.ts") && !rel.endsWith(".d.ts");
}

/**
 * Reads a workflow directory.
 *
 * @param dir The directory.
 * @param limits File count and size caps.
 * @returns Workflow files, helpers and refused files; `exists: false` for a missing folder.
 */
export async function scanWorkflowDirectory(
  dir: string,
  limits: ScanLimits,
): Promise<DirectoryScan> {
  const scan: DirectoryScan = { dir, exists: true, entries: [], helpers: [], problems: [] };
  let root: string;
  try {
    root = await Deno.realPath(dir);
    if (!(await Deno.stat(root)).isDirectory) throw new Deno.errors.NotFound(dir);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { ...scan, exists: false };
    throw error;
  }
  let total = 0;
  let count = 0;
  const visit = async (rel: string, depth: number): Promise<void> => {
    const names: string[] = [];
    for await (const item of Deno.readDir(join(dir, rel))) names.push(item.name);
    names.sort();
    for (const name of names) {
      if (name.startsWith(".")) continue;
      const relPath = rel ? `${rel}/${name}` : name;
      const shown = join(dir, relPath);
      let real: string;
      try {
        real = await Deno.realPath(shown);
      } catch {
        scan.problems.push({ file: shown, message: `Cannot read ${shown}: it is a broken link` });
        continue;
      }
      if (real !== root && !real.startsWith(root + sep)) {
        scan.problems.push({
          file: shown,
          message: `Cannot read ${shown}: it links outside the workflow directory`,
        });
        continue;
      }
      const info = await Deno.stat(real);
      if (info.isDirectory) {
        if (depth < MAX_DEPTH) await visit(relPath, depth + 1);
        continue;
      }
      if (!info.isFile || !COPIED_EXTENSIONS.has(extname(name)) || name.endsWith("_test.ts")) {
        continue;
      }
      if (++count > limits.maxFiles) {
        throw new RangeError(
          `Cannot load workflows from ${dir}: it holds more than ${limits.maxFiles} files`,
        );
      }
      if (info.size > limits.maxFileBytes) {
        scan.problems.push({
          file: shown,
          message:
            `Cannot load ${shown}: it is ${info.size} bytes, the limit is ${limits.maxFileBytes}`,
        });
        continue;
      }
      total += info.size;
      if (total > limits.maxTotalBytes) {
        throw new RangeError(
          `Cannot load workflows from ${dir}: its files exceed ${limits.maxTotalBytes} bytes`,
        );
      }
      const file = { rel: relPath, content: await Deno.readFile(real) };
      (isWorkflowFile(relPath) ? scan.entries : scan.helpers).push(file);
    }
  };
  await visit("", 0);
  return scan;
}

/**
 * Hashes a workflow version: its entry file and every helper.
 *
 * @param entry The workflow file.
 * @param helpers The directory's helpers.
 * @returns Lower-case hex SHA-256.
 */
export function hashVersion(entry: ScannedFile, helpers: readonly ScannedFile[]): Promise<string> {
  return hashParts([
    [`entry:${entry.rel}`, entry.content],
    ...helpers.map((h) => [`helper:${h.rel}`, h.content] as const),
  ]);
}

/**
 * Writes a version's snapshot under `<workDir>/versions/`, once per hash.
 *
 * @param workDir The sandbox work dir.
 * @param entry The workflow file.
 * @param helpers The directory's helpers.
 * @returns The version.
 */
export async function writeSnapshot(
  workDir: string,
  entry: ScannedFile,
  helpers: readonly ScannedFile[],
): Promise<WorkflowVersion> {
  const hash = await hashVersion(entry, helpers);
  const stem = basename(entry.rel, ".ts").replace(/[^A-Za-z0-9_-]/g, "_");
  const versions = join(workDir, "versions");
  const snapshotDir = join(versions, `${stem}-${hash.slice(0, 16)}`);
  const version = { file: entry.rel, hash, snapshotDir, entry: join(snapshotDir, entry.rel) };
  try {
    await Deno.stat(version.entry);
    return version;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  await Deno.mkdir(versions, { recursive: true });
  const tmp = await Deno.makeTempDir({ dir: versions, prefix: ".tmp-" });
  try {
    for (const file of [entry, ...helpers]) {
      const target = join(tmp, file.rel);
      if (relative(tmp, target).startsWith("..")) continue;
      await Deno.mkdir(join(target, ".."), { recursive: true, mode: 0o755 });
      await Deno.writeFile(target, file.content, { mode: 0o644 });
    }
    await Deno.chmod(tmp, 0o755);
    try {
      await Deno.rename(tmp, snapshotDir);
    } catch (error) {
      // Another loader wrote the same version first; its copy is identical.
      await Deno.stat(version.entry).catch(() => Promise.reject(error));
    }
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => undefined);
  }
  return version;
}
