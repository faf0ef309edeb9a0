/**
 * `deno task lint:deps`: fails on a forbidden import edge or an import cycle.
 *
 * Rules (STYLE.md R3): `sdk/` imports nothing from `engine/` or `builtin-workflows/`;
 * `builtin-workflows/` imports only the SDK; destinations never import each other (only
 * `destination.ts` and `_`-prefixed helpers); no cycles between project modules.
 *
 * @module
 */

const root = new URL("../", import.meta.url);
const entries = ["main.ts", "sdk/mod.ts", "sdk/testing.ts", "builtin-workflows/mod.ts"];

interface Module {
  specifier: string;
  dependencies?: { code?: { specifier: string }; type?: { specifier: string } }[];
}

const graph = new Map<string, string[]>();
for (const entry of entries) {
  const path = new URL(entry, root);
  try {
    await Deno.stat(path);
  } catch {
    continue; // an entry that does not exist yet has no edges to check
  }
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", path.pathname],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!output.success) Deno.exit(1);
  const info = JSON.parse(new TextDecoder().decode(output.stdout)) as { modules: Module[] };
  for (const module of info.modules) {
    if (!module.specifier.startsWith(root.href)) continue;
    const deps = (module.dependencies ?? []).flatMap((d) => [d.code?.specifier, d.type?.specifier])
      .filter((s): s is string => s !== undefined && s.startsWith(root.href));
    graph.set(rel(module.specifier), [...new Set(deps.map(rel))]);
  }
}

function rel(specifier: string): string {
  return specifier.slice(root.href.length);
}

const problems: string[] = [];
for (const [from, deps] of graph) {
  for (const to of deps) {
    if (from.startsWith("sdk/") && !to.startsWith("sdk/")) {
      problems.push(`${from} imports ${to}: sdk/ must not import outside sdk/`);
    }
    if (
      from.startsWith("builtin-workflows/") && !from.endsWith("mod.ts") && !to.startsWith("sdk/")
    ) {
      problems.push(`${from} imports ${to}: built-in workflows import only @cano/sdk`);
    }
    const destination = /^engine\/destinations\/([a-z][\w]*)\.ts$/;
    if (
      destination.test(from) && destination.test(to) && !from.endsWith("mod.ts") &&
      !to.endsWith("destination.ts")
    ) {
      problems.push(`${from} imports ${to}: destinations never import each other`);
    }
  }
}

const state = new Map<string, "visiting" | "done">();
function visit(node: string, stack: string[]): void {
  if (state.get(node) === "done") return;
  if (state.get(node) === "visiting") {
    problems.push(`Import cycle: ${[...stack.slice(stack.indexOf(node)), node].join(" → ")}`);
    return;
  }
  state.set(node, "visiting");
  for (const dep of graph.get(node) ?? []) visit(dep, [...stack, node]);
  state.set(node, "done");
}
for (const node of graph.keys()) visit(node, []);

const encoder = new TextEncoder();
if (problems.length > 0) {
  Deno.stderr.writeSync(
    encoder.encode(`lint:deps found ${problems.length} problems\n${problems.join("\n")}\n`),
  );
  Deno.exit(1);
}
Deno.stdout.writeSync(
  encoder.encode(`lint:deps: ${graph.size} modules, no forbidden edges or cycles\n`),
);
