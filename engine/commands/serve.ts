/**
 * `cano serve`: runs the engine: the HTTP server, config reload on change and SIGHUP, and
 * graceful shutdown on SIGTERM/SIGINT that finishes in-flight work.
 *
 * @module
 */
import { createConfigWatcher } from "../config/watch.ts";
import type { CanoConfig } from "../config/schema.ts";
import { Engine, VERSION } from "../engine.ts";
import { createLoggerFromEnv, type Logger } from "../log.ts";
import { createApp } from "../server.ts";
import { loadCanoConfig } from "./load_config.ts";
import { startKubernetes } from "./kubernetes.ts";
import { needsSandbox, sandboxHealth, startSandbox } from "./sandbox.ts";

/** Options of {@linkcode serveCommand}. */
export interface ServeOptions {
  /** Config file; the embedded default when absent. */
  config?: string;
  /** Overrides `server.port`. */
  port?: number;
  /** Overrides `workflows.directory`. */
  workflows?: string;
  /** Logger. @default from LOG_LEVEL and LOG_FORMAT */
  log?: Logger;
  /** Stops the server when aborted (tests); signals do the same. */
  signal?: AbortSignal;
}

/** A running server. */
export interface RunningServer {
  /** The engine. */
  engine: Engine;
  /** The bound port. */
  port: number;
  /** Resolves when the sandboxed workflows have loaded (at once without a sandbox). */
  workflowsReady: Promise<void>;
  /** Resolves when the server has shut down. */
  finished: Promise<void>;
  /** Starts a graceful shutdown. */
  shutdown(): Promise<void>;
}

/**
 * Starts Cano.
 *
 * @param options Config file, port override, logger and abort signal.
 * @returns The running server, or the exit code when the config is invalid.
 */
export async function serveCommand(options: ServeOptions = {}): Promise<RunningServer | number> {
  const log = options.log ?? createLoggerFromEnv();
  const loaded = await loadCanoConfig(options.config);
  if (!loaded.ok) {
    log.error("Cannot start: invalid config", {
      file: loaded.error.file,
      problems: loaded.error.message,
    });
    return 1;
  }
  const withOverrides = (config: CanoConfig): CanoConfig => ({
    ...config,
    server: { ...config.server, ...(options.port === undefined ? {} : { port: options.port }) },
    workflows: {
      ...config.workflows,
      ...(options.workflows === undefined ? {} : { directory: options.workflows }),
    },
  });
  const config = withOverrides(loaded.config);
  let engine: Engine;
  try {
    engine = new Engine({
      config,
      log,
      ...(options.config ? { configFile: options.config } : {}),
    });
  } catch (error) {
    log.error("Cannot start Cano", { reason: error instanceof Error ? error.message : error });
    return 1;
  }
  const sandbox = needsSandbox(config) ? startSandbox(engine, config, { log }) : undefined;
  const kubernetes = await startKubernetes(engine, config, { log });
  // Issues wait for user workflows to load; then those accepted before a crash resume.
  if (sandbox) engine.waitForWorkflows(sandbox.ready);
  engine.resumeIntake();
  const app = createApp(engine, {
    healthExtra: () => ({
      kubernetes: kubernetes.health(),
      ...(sandbox ? sandboxHealth(sandbox.manager) : {}),
    }),
  });
  const listening = Promise.withResolvers<number>();
  const server = Deno.serve({
    hostname: config.server.host,
    port: config.server.port,
    onListen: ({ port }) => listening.resolve(port),
  }, app.fetch);
  const port = await listening.promise;
  log.info("Cano is listening", {
    version: VERSION,
    host: config.server.host,
    port,
    config: options.config ?? "<embedded default config>",
    workflows: engine.workflows.map((w) => w.id).join(","),
    destinations: config.destinations.map((d) => d.name).join(","),
  });

  const watcher = options.config === undefined ? undefined : createConfigWatcher({
    path: options.config,
    log,
    onChange: async () => {
      const next = await loadCanoConfig(options.config);
      if (!next.ok) {
        engine.recordReload(false, next.error.message);
        log.error("Config reload refused; the previous config stays in effect", {
          problems: next.error.message,
        });
        return;
      }
      const reloaded = withOverrides(next.config);
      if (
        reloaded.server.port !== config.server.port || reloaded.server.host !== config.server.host
      ) {
        log.warn("server.host and server.port changes take effect after a restart");
      }
      engine.reload(reloaded);
      log.info("Config reloaded", { file: options.config });
    },
  });

  let stopping: Promise<void> | undefined;
  const shutdown = () =>
    stopping ??= (async () => {
      log.info("Shutting down: finishing in-flight work", {
        timeoutMs: engine.config.server.shutdownTimeout,
      });
      watcher?.close();
      const drained = engine.shutdown(engine.config.server.shutdownTimeout);
      await server.shutdown();
      const done = await drained;
      await kubernetes.stop();
      await sandbox?.manager.close();
      if (!done) {
        log.warn("Shutdown timed out with work still in flight", {
          pending: engine.dispatcher.pending(),
        });
      }
      log.info("Cano stopped");
    })();
  const signals: Deno.Signal[] = ["SIGTERM", "SIGINT"];
  const onSignal = () => void shutdown();
  signals.forEach((s) => Deno.addSignalListener(s, onSignal));
  options.signal?.addEventListener("abort", onSignal, { once: true });
  const finished = server.finished.then(async () => {
    await stopping;
    signals.forEach((s) => Deno.removeSignalListener(s, onSignal));
  });
  return { engine, port, finished, shutdown, workflowsReady: sandbox?.ready ?? Promise.resolve() };
}
