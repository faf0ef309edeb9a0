/**
 * `cano validate --config F`: checks a config file and prints every problem.
 *
 * @module
 */
import { toIssueList } from "../config/format_issues.ts";
import { loadCanoConfig } from "./load_config.ts";

/** Options of {@linkcode validateCommand}. */
export interface ValidateOptions {
  /** The config file; the embedded default when absent. */
  config?: string;
  /** Output format. @default "text" */
  format?: "text" | "json";
  /** Where output goes. @default stdout */
  write?: (text: string) => void;
}

/**
 * Validates a config file.
 *
 * @param options File, format and writer.
 * @returns The exit code: 0 when valid, 1 otherwise.
 */
export async function validateCommand(
  { config, format = "text", write = (t) => Deno.stdout.writeSync(new TextEncoder().encode(t)) }:
    ValidateOptions,
): Promise<number> {
  const result = await loadCanoConfig(config);
  const file = config ?? "<embedded default config>";
  if (result.ok) {
    write(
      format === "json"
        ? JSON.stringify({ valid: true, file }) + "\n"
        : `Config ${file} is valid\n`,
    );
    return 0;
  }
  write(
    format === "json"
      ? JSON.stringify({ valid: false, file, issues: toIssueList(result.error.issues) }) + "\n"
      : result.error.message + "\n",
  );
  return 1;
}
