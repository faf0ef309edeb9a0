/**
 * Cano under load with sandboxed workflows, for the end-to-end part of the sandbox
 * benchmark: `serveCommand` in this process, one `webhook` destination pointing at the load
 * driver's sink, silent logger, the silencer off, and the workflows a {@linkcode E2eSetup}
 * names. {@linkcode runEndToEnd} puts the throughput benchmark's load (`_load.ts`) on each
 * of {@linkcode E2E_TARGETS} in turn.
 *
 * @module
 */
import { percentile } from "./_stats.ts";
import { startLoadDriver } from "./_load.ts";
import { serveCommand } from "../engine/commands/serve.ts";
import { silentLogger } from "../engine/log.ts";

/** Which workflows run. */
export interface E2eSetup {
  /** A user workflow directory (sandboxed). */
  directory?: string;
  /** How `default-alert-enricher` runs; absent turns it off. */
  enricher?: "in-process" | "sandbox";
  /** The sandbox work dir. */
  workDir: string;
  /** Ids that must be loaded before the load starts. */
  expect: readonly string[];
}

/** A server under test. */
export interface E2eTarget {
  /** Where to post Alertmanager payloads. */
  url: string;
  /** Stops it and removes its config. */
  stop(): Promise<void>;
}

/**
 * Starts Cano with the given workflows and waits until the sandboxed ones have loaded.
 *
 * @param sinkUrl Base URL of the webhook destination.
 * @param setup The workflows.
 * @returns The target.
 * @throws {Error} When the config is rejected or an expected workflow did not load.
 */
export async function startE2eTarget(sinkUrl: string, setup: E2eSetup): Promise<E2eTarget> {
  const dir = await Deno.makeTempDir({ prefix: "cano-bench-" });
  const enricher = setup.enricher === undefined
    ? "{ enabled: false }"
    : `{ enabled: true, isolation: ${setup.enricher} }`;
  await Deno.writeTextFile(
    `${dir}/cano.yaml`,
    `server:
  host: 127.0.0.1
  port: 0
workflows:
  builtin:
    silencer: { enabled: false }
    default-alert-enricher: ${enricher}
${
      setup.directory === undefined
        ? ""
        : `  directory: ${JSON.stringify(setup.directory)}\n`
    }  sandbox:
    workDir: ${JSON.stringify(setup.workDir)}
    typeCheck: false
    pollIntervalMs: 0
destinations:
  - name: sink
    type: webhook
    url: ${sinkUrl}/cano
routing:
  default:
    destinations: [sink]
`,
  );
  const running = await serveCommand({ config: `${dir}/cano.yaml`, log: silentLogger });
  if (typeof running === "number") {
    throw new Error(`Cannot start Cano for the benchmark: config rejected (exit ${running})`);
  }
  const stop = async () => {
    await running.shutdown();
    await running.finished;
    await Deno.remove(dir, { recursive: true });
  };
  await running.workflowsReady;
  const ids = running.engine.workflows.map((w) => `${w.id}:${w.isolation}`);
  const missing = setup.expect.filter((id) => !ids.includes(id));
  if (missing.length > 0) {
    await stop();
    throw new Error(
      `Cannot start Cano for the benchmark: ${missing.join(", ")} not loaded (have ${
        ids.join(", ") || "none"
      })`,
    );
  }
  return { url: `http://127.0.0.1:${running.port}/api/alerts`, stop };
}

/** The end-to-end targets, in the order they run. */
export const E2E_TARGETS = ["none", "userDir", "enricherInProcess", "enricherSandbox"] as const;
/** One end-to-end target. */
export type E2eTargetName = typeof E2E_TARGETS[number];

/** Options of {@linkcode runEndToEnd}. */
export interface RunEndToEndOptions {
  /** The sandbox work dir. */
  workDir: string;
  /** A directory holding the user workflow `bench-labels`. */
  directory: string;
  /** Measured time per target. */
  window: number;
  /** Concurrent clients. */
  clients: number;
  /** Writes one progress line. */
  progress(line: string): void;
  /** Unmeasured time first. @default 1000 */
  warmupMs?: number;
}

/** What one target delivered. */
export interface E2eRate {
  /** Delivered alerts per second. */
  rate: number;
  /** Post → arrival at the sink, p50, ms. */
  p50: number;
}

/**
 * Loads each target in turn: no workflows (`none`), the user directory (`userDir`), and
 * `default-alert-enricher` in-process and sandboxed.
 *
 * @param options Work dir, directory, window, clients, progress.
 * @returns Throughput and p50 latency per target.
 * @throws {Error} When a target does not start or loses alerts.
 */
export async function runEndToEnd(
  { workDir, directory, window, clients, progress, warmupMs = 1_000 }: RunEndToEndOptions,
): Promise<Record<E2eTargetName, E2eRate>> {
  const setups: Record<E2eTargetName, E2eSetup> = {
    none: { workDir, expect: [] },
    userDir: { workDir, directory, expect: ["bench-labels:sandbox"] },
    enricherInProcess: {
      workDir,
      enricher: "in-process",
      expect: ["default-alert-enricher:in-process"],
    },
    enricherSandbox: { workDir, enricher: "sandbox", expect: ["default-alert-enricher:sandbox"] },
  };
  await using load = await startLoadDriver();
  const rates: Partial<Record<E2eTargetName, E2eRate>> = {};
  for (const name of E2E_TARGETS) {
    progress(`end to end: ${name}, ${clients} clients, ${warmupMs} ms warm-up + ${window} ms`);
    const target = await startE2eTarget(`${load.sinkUrl}/${name}`, setups[name]);
    try {
      const result = await load.run({
        url: target.url,
        clients,
        alertsPerPayload: 10,
        warmupMs,
        durationMs: window,
        payloadTimeoutMs: 10_000,
      });
      if (result.lost > 0) throw new Error(`Cannot benchmark ${name}: ${result.lost} alerts lost`);
      rates[name] = {
        rate: result.alerts / (result.elapsedMs / 1000),
        p50: percentile(result.latenciesMs, 50),
      };
    } finally {
      await target.stop();
    }
  }
  return rates as Record<E2eTargetName, E2eRate>;
}
