/**
 * A warmed Deno cache that every new workflow version starts from.
 *
 * Each version gets a private `DENO_DIR` (so workflows cannot share or fill each other's
 * caches), but an empty one makes every child compile the SDK bundle and the runner again
 * and rebuild V8's code cache: about 70 ms of every cold start (measured in `deno task
 * bench --only sandbox`: a version started a second time, its cache warm, was that much
 * faster). So one trivial workflow is started once per SDK bundle with a template cache,
 * and its cache databases are copied into each new version's private cache.
 *
 * @module
 */
import { join } from "node:path";
import { silentLogger } from "../log.ts";
import type { SandboxConfig } from "./config.ts";
import type { SdkBundle } from "./sdk_bundle.ts";
import { Supervisor } from "./supervisor.ts";
import type { CapabilityHost } from "../capabilities/host.ts";

const REFUSING_HOST: CapabilityHost = {
  call: (name) =>
    Promise.reject(new Error(`Cannot call ${name}: the cache warmer has no capabilities`)),
};

const WARM_WORKFLOW = `import { defineWorkflow } from "@cano/sdk";
export default defineWorkflow({
  id: "cache-warmer",
  description: "Warms the Deno cache copied into new sandbox versions",
  triggers: [{ on: "manual" }],
  run() {},
});
`;

/** Options of {@linkcode ensureDenoDirTemplate}. */
export interface DenoDirTemplateOptions {
  /** The sandbox work dir. */
  workDir: string;
  /** The SDK bundle the template is warmed with. */
  sdk: SdkBundle;
  /** Sandbox limits (the warm-up child runs under them). */
  config: SandboxConfig;
  /** `prlimit`, when installed. */
  prlimit: string | undefined;
}

/**
 * Builds the template cache once per SDK bundle.
 *
 * @param options Work dir, SDK bundle, limits and prlimit.
 * @returns The template directory, or `undefined` when warming failed (versions then start
 *   from an empty cache, as before; nothing else changes).
 */
export async function ensureDenoDirTemplate(
  { workDir, sdk, config, prlimit }: DenoDirTemplateOptions,
): Promise<string | undefined> {
  const template = join(workDir, `deno-dir-template-${sdk.hash.slice(0, 16)}`);
  if (await exists(join(template, ".ready"))) return template;
  const scratch = await Deno.makeTempDir({ dir: workDir, prefix: ".warm-" });
  const snapshotDir = join(scratch, "snapshot");
  const denoDir = join(scratch, "deno-dir");
  await Deno.mkdir(snapshotDir);
  await Deno.mkdir(denoDir);
  await Deno.writeTextFile(join(snapshotDir, "warm.ts"), WARM_WORKFLOW);
  const supervisor = new Supervisor({
    spec: { snapshotDir, entry: join(snapshotDir, "warm.ts"), sdk, denoDir, cwd: scratch, prlimit },
    config,
    capabilityHost: REFUSING_HOST,
    log: silentLogger,
    name: "cache-warmer",
  });
  try {
    await supervisor.start(() => ({ kubernetes: [], prometheus: false, http: [] }));
    await supervisor.close();
    await Deno.writeTextFile(join(denoDir, ".ready"), "");
    try {
      await Deno.rename(denoDir, template);
    } catch (error) {
      if (!(await exists(join(template, ".ready")))) throw error;
    }
    return template;
  } catch {
    await supervisor.close();
    return undefined; // an empty cache still works; it is only slower
  } finally {
    await Deno.remove(scratch, { recursive: true }).catch(() => undefined);
  }
}

/**
 * Copies the template's cache databases (not its per-workflow `gen/` output) into a new
 * version's private cache.
 *
 * @param template The template dir from {@linkcode ensureDenoDirTemplate}.
 * @param denoDir The version's empty `DENO_DIR`.
 * @param owner The sandbox uid/gid, when children run as another user.
 */
export async function seedDenoDir(
  template: string,
  denoDir: string,
  owner?: { uid: number; gid: number | null },
): Promise<void> {
  for await (const entry of Deno.readDir(template)) {
    if (entry.isFile && entry.name.includes("_cache_")) {
      const target = join(denoDir, entry.name);
      await Deno.copyFile(join(template, entry.name), target);
      if (owner) await Deno.chown(target, owner.uid, owner.gid);
    }
  }
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
