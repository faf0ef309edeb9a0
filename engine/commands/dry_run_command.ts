/**
 * The `dry-run` command's I/O: reads the files, runs {@linkcode dryRun}, prints the report.
 *
 * @module
 */
import { dryRun, formatDryRunText } from "./dry_run.ts";
import { loadCanoConfig } from "./load_config.ts";

/** Options of {@linkcode dryRunCommand}. */
export interface DryRunCommandOptions {
  /** Alertmanager payload file. */
  alert: string;
  /** Config file; the embedded default when absent. */
  config?: string;
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
  const result = await dryRun(payload, { config: loaded.config, secrets: loaded.secrets });
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
