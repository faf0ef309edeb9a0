/**
 * `cano workflows list [--workflows DIR] [--config F]`: loads every workflow file the way
 * the engine does (copy, type-check, manifest load in the sandbox) and lists what loaded
 * and what did not, with the reason. Exit code 1 when any file failed.
 *
 * @module
 */
import { BUILTIN_WORKFLOWS } from "../../builtin-workflows/mod.ts";
import { loadWorkflowDirectory } from "../sandbox/loader.ts";
import { enabledBuiltins } from "../workflows/registry.ts";
import { loadCanoConfig } from "./load_config.ts";

/** Options of {@linkcode workflowsListCommand}. */
export interface WorkflowsListOptions {
  /** Config file; the embedded default when absent. */
  config?: string;
  /** Workflow directory (overrides `workflows.directory`). */
  workflows?: string;
  /** Output format. @default "text" */
  format?: "text" | "json";
  /** Where output goes. @default stdout */
  write?: (text: string) => void;
}

/**
 * Lists built-in and user workflows.
 *
 * @param options Config, directory, format and writer.
 * @returns The exit code.
 */
export async function workflowsListCommand(
  {
    config,
    workflows,
    format = "text",
    write = (t) => Deno.stdout.writeSync(new TextEncoder().encode(t)),
  }: WorkflowsListOptions,
): Promise<number> {
  const loaded = await loadCanoConfig(config);
  if (!loaded.ok) {
    write(loaded.error.message + "\n");
    return 1;
  }
  const enabled = new Map(enabledBuiltins(loaded.config).map((b) => [b.id, b.isolation]));
  const builtins = BUILTIN_WORKFLOWS.map((w) => ({
    id: w.id,
    description: w.description,
    enabled: enabled.has(w.id),
    isolation: enabled.get(w.id) ?? "in-process",
    triggers: w.triggers.map((t) => t.on),
  }));
  const dir = workflows ?? loaded.config.workflows.directory;
  const user = dir === undefined
    ? undefined
    : await loadWorkflowDirectory(dir, { config: loaded.config.workflows.sandbox });
  if (format === "json") {
    write(
      JSON.stringify({ builtin: builtins, directory: dir ?? null, user: user ?? null }, null, 2) +
        "\n",
    );
    return user && user.errors.length > 0 ? 1 : 0;
  }
  const out = ["Built-in workflows:"];
  for (const b of builtins) {
    out.push(
      `  ${b.enabled ? "on " : "off"} ${b.id.padEnd(24)} ${
        b.isolation.padEnd(10)
      } ${b.description}`,
    );
  }
  if (dir === undefined || user === undefined) {
    out.push("No user workflow directory (set workflows.directory or pass --workflows DIR)");
  } else if (!user.exists) {
    out.push(`User workflows: ${dir} does not exist`);
  } else {
    out.push(`User workflows in ${dir}:`);
    for (const w of user.workflows) {
      const grants = [
        ...w.permissions.kubernetes,
        ...(w.permissions.prometheus ? ["prometheus"] : []),
        ...w.permissions.http.map((h) => `http:${h}`),
      ];
      out.push(`  ok  ${w.id.padEnd(24)} ${w.version.slice(0, 12)} ${w.file}`);
      out.push(
        `      triggers: ${w.triggers.map((t) => t.on).join(", ")}; permissions: ${
          grants.join(", ") || "none"
        }`,
      );
    }
    for (const e of user.errors) out.push(`  ERR ${e.file}: ${e.message}`);
    if (user.workflows.length === 0 && user.errors.length === 0) out.push("  (no workflow files)");
  }
  write(out.join("\n") + "\n");
  return user && user.errors.length > 0 ? 1 : 0;
}
