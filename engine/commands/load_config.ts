/**
 * Loads the Cano config from a file, or the embedded default when no file is given.
 *
 * @module
 */
import { DEFAULT_CONFIG_FILE, DEFAULT_CONFIG_YAML } from "../config/default_config.ts";
import { type ConfigResult, loadConfigFile, parseConfigText } from "../config/load.ts";
import { type CanoConfig, CanoConfigSchema } from "../config/schema.ts";

/**
 * Loads and validates the config.
 *
 * @param path A YAML file, or `undefined` for the embedded default.
 * @returns The config and its secret values, or every problem found.
 */
export function loadCanoConfig(path: string | undefined): Promise<ConfigResult<CanoConfig>> {
  if (path === undefined) {
    return Promise.resolve(
      parseConfigText(DEFAULT_CONFIG_YAML, { file: DEFAULT_CONFIG_FILE, schema: CanoConfigSchema }),
    );
  }
  return loadConfigFile(path, { schema: CanoConfigSchema });
}
