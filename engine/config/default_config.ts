/**
 * The embedded default config: what `cano serve` runs without `--config`.
 * Port 8080, the default built-ins on, every issue printed to stdout.
 *
 * @module
 */

/** YAML text of the default config (also shown by `cano config default`). */
export const DEFAULT_CONFIG_YAML = `# Cano embedded default config
server:
  port: 8080
workflows:
  builtin:
    silencer: { enabled: true }
    default-alert-enricher: { enabled: true }
destinations:
  - name: console
    type: stdout
routing:
  default:
    destinations: [console]
`;

/** Name used for the default config in error messages. */
export const DEFAULT_CONFIG_FILE = "<embedded default config>";
