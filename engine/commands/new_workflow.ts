/**
 * `cano new workflow NAME [--dir DIR]`: scaffolds a workflow file and its test, ready for
 * `deno test` and for mounting in the workflows directory.
 *
 * When the directory has no `deno.json`, one is written that maps `@cano/sdk` (and
 * `@cano/sdk/testing`) to this Cano's SDK, so the editor, `deno check` and `deno test`
 * resolve the SDK exactly as the engine does. The engine ignores that file when it loads
 * workflows (sandbox children run with `--no-config`).
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { WORKFLOW_ID_PATTERN } from "@cano/sdk";

/** Options of {@linkcode newWorkflowCommand}. */
export interface NewWorkflowOptions {
  /** Directory to write into. @default "." */
  dir?: string;
  /** Where messages go. @default stdout */
  write?: (text: string) => void;
}

const SDK_DIR = fileURLToPath(new URL("../../sdk/", import.meta.url));
const ZOD = "npm:zod@4.6.7";

/**
 * Writes `<name>.ts` and `<name>_test.ts` (kebab-case id, snake_case file names).
 *
 * @param name The workflow id, kebab-case, e.g. `disk-usage`.
 * @param options Target directory and writer.
 * @returns The exit code: 0 when written, 1 for a bad name or existing files.
 */
export async function newWorkflowCommand(
  name: string,
  { dir = ".", write = (t) => Deno.stdout.writeSync(new TextEncoder().encode(t)) }:
    NewWorkflowOptions = {},
): Promise<number> {
  if (!WORKFLOW_ID_PATTERN.test(name)) {
    write(`Cannot create workflow "${name}": expected a kebab-case id like "disk-usage"\n`);
    return 1;
  }
  const base = name.replaceAll("-", "_");
  const files = [
    [join(dir, `${base}.ts`), workflowSource(name)],
    [join(dir, `${base}_test.ts`), testSource(name, base)],
  ] as const;
  for (const [path] of files) {
    if (await exists(path)) {
      write(`Cannot create workflow "${name}": ${path} already exists\n`);
      return 1;
    }
  }
  await Deno.mkdir(dir, { recursive: true });
  for (const [path, source] of files) await Deno.writeTextFile(path, source);
  const config = join(dir, "deno.json");
  if (!(await exists(config))) {
    const sdk = pathToFileURL(SDK_DIR).href;
    await Deno.writeTextFile(
      config,
      JSON.stringify(
        {
          imports: {
            "@cano/sdk": `${sdk}mod.ts`,
            "@cano/sdk/testing": `${sdk}testing.ts`,
            "zod": ZOD,
          },
        },
        null,
        2,
      ) + "\n",
    );
  }
  write(
    `Created ${files.map(([p]) => p).join(" and ")}\n` +
      `Test it:  deno test ${files[1][0]}\n` +
      `Try it:   deno task cano dry-run --alert examples/alerts/crashloop_group.json --workflows ${dir}\n`,
  );
  return 0;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

function workflowSource(id: string): string {
  return `/**
 * ${id}: describe what this workflow adds and when.
 *
 * @module
 */
import { defineWorkflow, markdown, table, z } from "@cano/sdk";

export default defineWorkflow({
  id: "${id}",
  description: "Adds the alert's namespace and pod as a table",
  triggers: [{ on: "prometheus_alert", status: "firing" }],
  // Ask only for what you need; the operator's config must allow it too.
  permissions: { kubernetes: [], prometheus: false, http: [] },
  params: z.object({
    note: z.string().default("Check the pod's recent restarts").describe("Shown under the table"),
  }),
  run(ctx) {
    const { labels } = ctx.issue;
    ctx.enrich("${id}", [
      table(["field", "value"], [
        ["namespace", labels["namespace"] ?? "-"],
        ["pod", labels["pod"] ?? "-"],
      ]),
      markdown(ctx.params.note),
    ]);
  },
});
`;
}

function testSource(id: string, base: string): string {
  return `import assert from "node:assert/strict";
import { runWorkflow, sampleAlertIssue } from "@cano/sdk/testing";
import workflow from "./${base}.ts";

Deno.test("${id} adds the namespace and pod", async () => {
  const result = await runWorkflow(workflow, {
    issue: sampleAlertIssue({ labels: { alertname: "KubePodCrashLooping", namespace: "shop", pod: "api-0" } }),
  });
  const [table] = result.enrichments[0]?.blocks ?? [];
  assert.deepEqual(table?.type === "table" && table.rows, [["namespace", "shop"], ["pod", "api-0"]]);
});
`;
}
