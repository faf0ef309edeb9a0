/**
 * The `dry-run` command's I/O: reads the files, runs {@linkcode dryRun}, prints the report.
 *
 * @module
 */
import { dryRun, formatDryRunText } from "./dry_run.ts";
import { Engine } from "../engine.ts";
import { silentLogger } from "../log.ts";
import { loadCanoConfig } from "./load_config.ts";
import { needsSandbox, startSandbox } from "./sandbox.ts";

/** Options of {@linkcode dryRunCommand}. */
export interface DryRunCommandOptions {
  /** Alertmanager payload file. */
  alert: string;
  /** Config file; the embedded default when absent. */
  config?: string;
  /** User workflow directory (overrides `workflows.directory`); runs in the real sandbox. */
  workflows?: string;
  /** Output format. @default "text" */
  format?: "text" | "json";
  /** Where output goes. @default stdout */
  write?: (text: string) => void;
}

/**
 * Runs the dry-run command.
 *
 * @param options Files, format and writer.
 * @returns The exit code: 0 on success, 1 for bad input.
 */
export async function dryRunCommand(
  {
    alert,
    config,
    workflows,
    format = "text",
    write = (t) => Deno.stdout.writeSync(new TextEncoder().encode(t)),
  }: DryRunCommandOptions,
): Promise<number> {
  const loaded = await loadCanoConfig(config);
  if (!loaded.ok) {
    write(loaded.error.message + "\n");
    return 1;
  }
  let payload: unknown;
  try {
    payload = JSON.parse(await Deno.readTextFile(alert));
  } catch (error) {
    write(`Cannot read alert payload from ${alert}: ${(error as Error).message}\n`);
    return 1;
  }
  const effective = workflows === undefined
    ? loaded.config
    : { ...loaded.config, workflows: { ...loaded.config.workflows, directory: workflows } };
  let sandboxed: Awaited<ReturnType<typeof loadSandboxed>> | undefined;
  if (needsSandbox(effective)) {
    sandboxed = await loadSandboxed(effective);
    for (const problem of sandboxed.problems) write(`Workflow not loaded: ${problem}\n`);
  }
  const result = await dryRun(payload, {
    config: effective,
    secrets: loaded.secrets,
    sandboxed: sandboxed?.entries ?? [],
  }).finally(() => sandboxed?.close());
  if (!result.ok) {
    write(`Cannot dry-run ${alert}: ${result.error}\n`);
    return 1;
  }
  write(
    format === "json"
      ? JSON.stringify(result.report, null, 2) + "\n"
      : formatDryRunText(result.report),
  );
  return 0;
}

async function loadSandboxed(config: Parameters<typeof startSandbox>[1]) {
  const engine = new Engine({ config, log: silentLogger });
  const { manager, ready } = startSandbox(engine, config, { watch: false, log: silentLogger });
  await ready;
  const directory = manager.directoryStatus();
  const problems = [
    ...directory.problems.map((p) => `${p.file}: ${p.message}`),
    ...manager.status().filter((s) => s.lastError !== undefined).map((s) => s.lastError!),
  ];
  if (directory.path !== undefined && !directory.exists) {
    problems.push(`${directory.path}: the directory does not exist`);
  }
  return { entries: manager.entries(), problems, close: () => manager.close() };
}
