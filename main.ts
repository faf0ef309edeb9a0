/**
 * The `cano` command line: serve, dry-run, validate, version.
 *
 * @module
 */
import { Command, InvalidArgumentError } from "commander";
import {
  deadLettersListCommand,
  deadLettersReplayCommand,
} from "./engine/commands/dead_letters.ts";
import { dryRunCommand } from "./engine/commands/dry_run_command.ts";
import { newWorkflowCommand } from "./engine/commands/new_workflow.ts";
import { workflowsListCommand } from "./engine/commands/workflows_list.ts";
import { serveCommand } from "./engine/commands/serve.ts";
import { validateCommand } from "./engine/commands/validate.ts";
import { VERSION } from "./engine/engine.ts";

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError(`Expected a port between 0 and 65535, received "${value}"`);
  }
  return port;
}

function parseFormat(value: string): "text" | "json" {
  if (value !== "text" && value !== "json") {
    throw new InvalidArgumentError(`Expected "text" or "json", received "${value}"`);
  }
  return value;
}

const program = new Command("cano")
  .description("Kubernetes alert and event enrichment engine")
  .version(VERSION, "-v, --version");

program.command("serve").description("Run Cano (embedded default config without --config)")
  .option("-c, --config <file>", "YAML config file")
  .option("-p, --port <port>", "HTTP port (overrides server.port)", parsePort)
  .option("-w, --workflows <dir>", "Directory of user workflow files")
  .action(async (options) => {
    const running = await serveCommand(options);
    if (typeof running === "number") Deno.exit(running);
    await running.finished;
  });

program.command("dry-run").description("Run an alert through the pipeline without sending")
  .requiredOption("-a, --alert <file>", "Alertmanager webhook payload (JSON)")
  .option("-c, --config <file>", "YAML config file")
  .option("-w, --workflows <dir>", "Directory of user workflow files")
  .option("-f, --format <format>", "text or json", parseFormat, "text")
  .action(async (options) => Deno.exit(await dryRunCommand(options)));

program.command("validate").description("Check a config file; exit 1 with every problem")
  .requiredOption("-c, --config <file>", "YAML config file")
  .option("-f, --format <format>", "text or json", parseFormat, "text")
  .action(async (options) => Deno.exit(await validateCommand(options)));

program.command("workflows").description("Inspect workflows")
  .command("list").description("Load and list built-in and user workflows; exit 1 if a file fails")
  .option("-c, --config <file>", "YAML config file")
  .option("-w, --workflows <dir>", "Directory of user workflow files")
  .option("-f, --format <format>", "text or json", parseFormat, "text")
  .action(async (options) => Deno.exit(await workflowsListCommand(options)));

program.command("new").description("Scaffold new files")
  .command("workflow <name>").description("Create <name>.ts and <name>_test.ts from a template")
  .option("-d, --dir <dir>", "Directory to write into", ".")
  .action(async (name, options) => Deno.exit(await newWorkflowCommand(name, options)));

const deadLetters = program.command("dead-letters")
  .description("Deliveries given up for good: list them and send them again");
deadLetters.command("list").description("List dead letters, oldest first")
  .option("-u, --url <url>", "A running Cano's base URL", "http://127.0.0.1:8080")
  .option("-t, --token <token>", "server.adminToken (default $CANO_ADMIN_TOKEN)")
  .option("-s, --state <file>", "State file of a stopped Cano (instead of --url)")
  .option("-f, --format <format>", "text or json", parseFormat, "text")
  .action(async (options) => Deno.exit(await deadLettersListCommand(options)));
deadLetters.command("replay [id]").description("Queue one dead letter (or --all) again")
  .option("-a, --all", "Replay every dead letter")
  .option("-u, --url <url>", "A running Cano's base URL", "http://127.0.0.1:8080")
  .option("-t, --token <token>", "server.adminToken (default $CANO_ADMIN_TOKEN)")
  .option("-s, --state <file>", "State file of a stopped Cano (instead of --url)")
  .action(async (id, options) => Deno.exit(await deadLettersReplayCommand(id, options)));

program.command("version").description("Print the version")
  .action(() => {
    Deno.stdout.writeSync(new TextEncoder().encode(`cano ${VERSION}\n`));
  });

if (import.meta.main) await program.parseAsync(["deno", "cano", ...Deno.args]);
