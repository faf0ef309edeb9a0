/**
 * Type-checks workflow snapshots with `deno check` against the real `sdk/` sources.
 *
 * `deno check` is a trusted tool that reads whatever a file imports, so it runs with a
 * generated config whose import map sends every `file:` URL outside the snapshots and the
 * SDK to a folder that does not exist (`file:///cano-denied/...`): a workflow importing
 * `/etc/passwd` or `../secret.ts` gets "Cannot find module", and the file is never read, so
 * no diagnostic can quote it. `--no-remote` refuses URLs, and `--cached-only` plus a proxy
 * pointing at a closed local port keeps `npm:` imports from downloading anything
 * (`--cached-only` alone still fetched an npm package in Deno 2.9.6).
 *
 * All snapshots are checked in one run. Diagnostics are attributed by their location;
 * a syntax error stops `deno check` for every file, so the failing snapshot is set aside
 * and the rest are checked again.
 *
 * @module
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { SDK_DIR, ZOD_SPECIFIER } from "./sdk_bundle.ts";

/** A snapshot to check. */
export interface CheckTarget {
  /** The snapshot folder. */
  snapshotDir: string;
  /** The entry file inside it. */
  entry: string;
  /** Turns snapshot paths in a message into the paths the author knows. */
  display(text: string): string;
}

/** Options of {@linkcode typeCheckSnapshots}. */
export interface TypeCheckOptions {
  /** Folder for the generated config. */
  workDir: string;
  /** The deno binary. @default Deno.execPath() */
  denoPath?: string;
  /** Time allowed per `deno check` run. @default 120000 */
  timeoutMs?: number;
}

const DENIED = "file:///cano-denied/";
const DIAGNOSTIC_START = /^(TS\d+ \[ERROR\]: |error: )(.*)$/;
const LOCATION = /^\s+at (file:\/\/\S+?):(\d+):(\d+)\s*$/;

/** One error reported by `deno check`. */
export interface CheckDiagnostic {
  /** First line of the message. */
  message: string;
  /** File URL of the location. */
  url?: string;
  /** 1-based line. */
  line?: number;
  /** 1-based column. */
  column?: number;
  /** `true` for errors that stop the whole check (syntax, resolution). */
  fatal: boolean;
}

/**
 * Type-checks snapshots.
 *
 * @param targets The snapshots.
 * @param options Work dir, deno binary and timeout.
 * @returns Errors per snapshot folder (an empty list when it passed).
 */
export async function typeCheckSnapshots(
  targets: readonly CheckTarget[],
  { workDir, denoPath = Deno.execPath(), timeoutMs = 120_000 }: TypeCheckOptions,
): Promise<Map<string, string[]>> {
  const results = new Map<string, string[]>(targets.map((t) => [t.snapshotDir, []]));
  let remaining = [...targets];
  while (remaining.length > 0) {
    const diagnostics = await runCheck(remaining, { workDir, denoPath, timeoutMs });
    const blamed = new Set<CheckTarget>();
    let unattributedFatal: CheckDiagnostic | undefined;
    for (const diagnostic of diagnostics) {
      const target = diagnostic.url ? owner(remaining, diagnostic.url) : undefined;
      if (!target) {
        if (diagnostic.fatal) unattributedFatal ??= diagnostic;
        continue;
      }
      results.get(target.snapshotDir)!.push(format(target, diagnostic));
      if (diagnostic.fatal) blamed.add(target);
    }
    const fatal = diagnostics.some((d) => d.fatal);
    if (!fatal) break;
    if (blamed.size === 0) {
      // A failure nobody's location explains: check one by one to attribute it.
      if (remaining.length === 1) {
        results.get(remaining[0]!.snapshotDir)!.push(
          `Cannot type-check: ${unattributedFatal?.message ?? "deno check failed"}`,
        );
        break;
      }
      for (const target of remaining) {
        const single = await typeCheckSnapshots([target], { workDir, denoPath, timeoutMs });
        results.get(target.snapshotDir)!.push(...single.get(target.snapshotDir)!);
      }
      break;
    }
    remaining = remaining.filter((t) => !blamed.has(t));
  }
  return results;
}

async function runCheck(
  targets: readonly CheckTarget[],
  { workDir, denoPath, timeoutMs }: Required<TypeCheckOptions>,
): Promise<CheckDiagnostic[]> {
  await Deno.mkdir(workDir, { recursive: true });
  const dir = await Deno.makeTempDir({ dir: workDir, prefix: ".check-" });
  try {
    const imports: Record<string, string> = {
      "@cano/sdk": pathToFileURL(join(SDK_DIR, "mod.ts")).href,
      "zod": ZOD_SPECIFIER,
      "file:///": DENIED,
      [pathToFileURL(SDK_DIR).href.replace(/\/?$/, "/")]: pathToFileURL(SDK_DIR).href
        .replace(/\/?$/, "/"),
    };
    for (const target of targets) {
      const url = pathToFileURL(target.snapshotDir).href.replace(/\/?$/, "/");
      imports[url] = url;
    }
    const config = join(dir, "deno.json");
    await Deno.writeTextFile(config, JSON.stringify({ imports, nodeModulesDir: "none" }));
    const env: Record<string, string> = {
      NO_COLOR: "1",
      DENO_NO_UPDATE_CHECK: "1",
      HTTPS_PROXY: "http://127.0.0.1:1",
      HTTP_PROXY: "http://127.0.0.1:1",
      ALL_PROXY: "http://127.0.0.1:1",
      NO_PROXY: "",
    };
    for (const name of ["HOME", "DENO_DIR", "XDG_CACHE_HOME", "PATH", "TMPDIR"]) {
      const value = Deno.env.get(name);
      if (value !== undefined) env[name] = value;
    }
    const output = await new Deno.Command(denoPath, {
      args: [
        "check",
        "--quiet",
        "--no-lock",
        "--no-remote",
        "--cached-only",
        `--config=${config}`,
        ...targets.map((t) => t.entry),
      ],
      clearEnv: true,
      env,
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(timeoutMs),
    }).output().catch((error) => {
      throw new Error(`Cannot type-check workflows: ${(error as Error).message}`, {
        cause: error,
      });
    });
    if (output.success) return [];
    const text = new TextDecoder().decode(output.stderr) + "\n" +
      new TextDecoder().decode(output.stdout);
    const diagnostics = parseDiagnostics(text);
    if (output.signal) {
      diagnostics.push({
        message: `deno check did not finish within ${timeoutMs} ms`,
        fatal: true,
      });
    }
    return diagnostics;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => undefined);
  }
}

/**
 * Parses `deno check` output (with `NO_COLOR`) into diagnostics.
 *
 * @param text The output.
 * @returns Each error with its first message line and location.
 */
export function parseDiagnostics(text: string): CheckDiagnostic[] {
  const diagnostics: CheckDiagnostic[] = [];
  let current: CheckDiagnostic | undefined;
  for (const line of text.split("\n")) {
    const start = DIAGNOSTIC_START.exec(line);
    if (start) {
      const message = start[2]!.trim();
      if (start[1] === "error: " && message === "Type checking failed.") {
        current = undefined;
        continue;
      }
      current = { message, fatal: start[1] === "error: " };
      diagnostics.push(current);
      continue;
    }
    const location = LOCATION.exec(line);
    if (location && current && current.url === undefined) {
      current.url = location[1]!;
      current.line = Number(location[2]);
      current.column = Number(location[3]);
    }
  }
  return diagnostics;
}

function owner(targets: readonly CheckTarget[], url: string): CheckTarget | undefined {
  return targets.find((t) => url.startsWith(pathToFileURL(t.snapshotDir).href + "/"));
}

function format(target: CheckTarget, diagnostic: CheckDiagnostic): string {
  const message = diagnostic.message.replaceAll(
    /(['"])file:\/\/\/cano-denied(\/[^'"]*)\1/g,
    (_match, quote: string, path: string) =>
      `${quote}${path}${quote} (only files in the workflow directory and "@cano/sdk" can be imported)`,
  );
  const where = diagnostic.url
    ? `${
      decodeURIComponent(new URL(diagnostic.url).pathname)
    }:${diagnostic.line}:${diagnostic.column}`
    : "";
  return target.display(where ? `${where}: ${message}` : message);
}
