/**
 * The SDK as one self-contained ESM file that a sandbox child can load.
 *
 * A child runs with `--no-npm --no-remote`, so it cannot load `npm:zod`. `deno bundle`
 * (Deno 2.4+) inlines zod and the `sdk/` sources into one minified file; the child's
 * generated import map points `@cano/sdk` at it and its `--allow-read` covers the folder.
 * The bundle is cached under the work dir by a hash of the `sdk/` sources, the pinned zod
 * version and the Deno version, so it is built once per release. `deno bundle` itself uses
 * esbuild from npm: an offline image must run the engine (or `deno bundle`) once at build
 * time so that esbuild sits in the Deno cache.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { hashParts } from "./_hash.ts";
import denoConfig from "../../deno.json" with { type: "json" };

/** The repository's `sdk/` folder, the source of the bundle and of type checks. */
export const SDK_DIR: string = fileURLToPath(new URL("../../sdk/", import.meta.url));
/** The repository's `deno.json`, which pins zod. */
export const DENO_CONFIG_FILE: string = fileURLToPath(new URL("../../deno.json", import.meta.url));
/** The runner's TypeScript source, compiled next to the SDK bundle. */
export const RUNNER_SOURCE: string = fileURLToPath(new URL("./child_runner.ts", import.meta.url));
/** The pinned zod specifier, e.g. `npm:zod@4.6.7`. */
export const ZOD_SPECIFIER: string = denoConfig.imports.zod;

/** Where the bundle lives. */
export interface SdkBundle {
  /** The folder a child may read. */
  dir: string;
  /** The bundled SDK. */
  file: string;
  /** The child runner compiled to JavaScript (`@cano/sdk` left external), so no child transpiles it. */
  runner: string;
  /** An import map mapping `@cano/sdk` to the bundle. */
  importMap: string;
  /** Hash of what the bundle was built from. */
  hash: string;
}

/** Options of {@linkcode ensureSdkBundle}. */
export interface EnsureSdkBundleOptions {
  /** The sandbox work dir; the bundle goes to `<workDir>/sdk-<hash>/`. */
  workDir: string;
  /** The deno binary. @default Deno.execPath() */
  denoPath?: string;
}

/**
 * Returns the cached SDK bundle, building it first when the SDK sources changed.
 *
 * @param options Work dir and deno binary.
 * @returns The bundle's paths.
 * @throws {Error} When `deno bundle` fails.
 */
export async function ensureSdkBundle(
  { workDir, denoPath = Deno.execPath() }: EnsureSdkBundleOptions,
): Promise<SdkBundle> {
  const hash = await hashSdkSources();
  const dir = join(workDir, `sdk-${hash.slice(0, 16)}`);
  const bundle = {
    dir,
    file: join(dir, "sdk.js"),
    runner: join(dir, "runner.js"),
    importMap: join(dir, "import_map.json"),
    hash,
  };
  if (await exists(bundle.importMap)) return bundle;
  await Deno.mkdir(workDir, { recursive: true });
  const tmp = await Deno.makeTempDir({ dir: workDir, prefix: ".sdk-build-" });
  try {
    const output = await new Deno.Command(denoPath, {
      args: [
        "bundle",
        "--quiet",
        "--no-lock",
        `--config=${DENO_CONFIG_FILE}`,
        "--platform=deno",
        "--minify",
        `--output=${join(tmp, "sdk.js")}`,
        join(SDK_DIR, "mod.ts"),
      ],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!output.success) {
      const detail = new TextDecoder().decode(output.stderr).trim().split("\n").slice(0, 5);
      throw new Error(`Cannot bundle the SDK for the sandbox: ${detail.join(" ")}`);
    }
    const runner = await new Deno.Command(denoPath, {
      args: [
        "bundle",
        "--quiet",
        "--no-lock",
        `--config=${DENO_CONFIG_FILE}`,
        "--platform=deno",
        "--external=@cano/sdk",
        `--output=${join(tmp, "runner.js")}`,
        RUNNER_SOURCE,
      ],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!runner.success) {
      const detail = new TextDecoder().decode(runner.stderr).trim().split("\n").slice(0, 5);
      throw new Error(`Cannot compile the sandbox runner: ${detail.join(" ")}`);
    }
    const map = { imports: { "@cano/sdk": pathToFileURL(bundle.file).href } };
    await Deno.writeTextFile(join(tmp, "import_map.json"), JSON.stringify(map, null, 2));
    await Deno.chmod(tmp, 0o755);
    try {
      await Deno.rename(tmp, dir);
    } catch (error) {
      if (!(await exists(bundle.importMap))) throw error;
    }
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => undefined);
  }
  return bundle;
}

async function hashSdkSources(): Promise<string> {
  const parts: [string, Uint8Array | string][] = [
    ["zod", ZOD_SPECIFIER],
    ["deno", Deno.version.deno],
  ];
  parts.push(["runner", await Deno.readFile(RUNNER_SOURCE)]);
  for await (const entry of Deno.readDir(SDK_DIR)) {
    if (entry.isFile && entry.name.endsWith(".ts") && !entry.name.endsWith("_test.ts")) {
      parts.push([entry.name, await Deno.readFile(join(SDK_DIR, entry.name))]);
    }
  }
  return await hashParts(parts);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
