/**
 * Starts a real Alertmanager (the Debian `prometheus-alertmanager` binary) on loopback for
 * end-to-end tests: a temp config whose webhook receiver points at Cano, clustering off, a
 * temp storage dir, random free ports. Alerts are pushed through its API v2, which avoids
 * Prometheus's resend delay, and resolved by pushing them again with `endsAt` in the past.
 *
 * The binary is `$CANO_ALERTMANAGER_BIN` when set (missing if that path is not a file), else
 * `prometheus-alertmanager` or `alertmanager` on `PATH`. Tests skip when it is missing, except when `CI` is set: there
 * the end-to-end test must run, so {@linkcode startAlertmanager} fails instead.
 *
 * @example Decide whether an end-to-end test runs here
 * ```ts
 * import { alertmanagerSkipReason, findAlertmanager } from "./_alertmanager.ts";
 * import assert from "node:assert/strict";
 *
 * const skip = alertmanagerSkipReason();
 * // It only skips when the binary is missing, and never in CI.
 * if (skip !== undefined) assert.equal(findAlertmanager(), undefined);
 * if (Deno.env.get("CI")) assert.equal(skip, undefined);
 * ```
 *
 * @module
 */

/** Binary names tried on `PATH`, in order. */
export const ALERTMANAGER_BINARIES: readonly string[] = ["prometheus-alertmanager", "alertmanager"];

/** An alert as Alertmanager's API v2 accepts it (`POST /api/v2/alerts`). */
export interface PostableAlert {
  /** Identifying labels; `alertname` is required by convention. */
  labels: Record<string, string>;
  /** Annotations. */
  annotations?: Record<string, string>;
  /** RFC 3339; Alertmanager uses now when absent. */
  startsAt?: string;
  /** RFC 3339; in the past resolves the alert. */
  endsAt?: string;
  /** Link back to the source. */
  generatorURL?: string;
}

/** An alert as Alertmanager's API v2 returns it (`GET /api/v2/alerts`), the fields tests use. */
export interface GettableAlert {
  /** Alertmanager's fingerprint of the label set. */
  fingerprint: string;
  /** Labels. */
  labels: Record<string, string>;
  /** RFC 3339. */
  startsAt: string;
  /** RFC 3339. */
  endsAt: string;
  /** `active`, `suppressed` or `unprocessed`. */
  status: { state: string };
}

/** Options of {@linkcode startAlertmanager}. */
export interface AlertmanagerOptions {
  /** Where the webhook receiver posts, e.g. Cano's `http://127.0.0.1:8080/api/alerts`. */
  webhookUrl: string;
  /** Sent as `Authorization: Bearer <token>` (`http_config.authorization`). @default none */
  bearerToken?: string;
  /** Route `group_by`; empty puts every alert in one group. @default [] */
  groupBy?: string[];
  /** Route `group_wait`. @default "1s" */
  groupWait?: string;
  /** Route `group_interval`. @default "1s" */
  groupInterval?: string;
  /** Route `repeat_interval`. @default "1h" */
  repeatInterval?: string;
  /** Binary to run. @default findAlertmanager() */
  binary?: string;
  /** How long to wait for `/-/ready`. @default 20000 */
  readyTimeoutMs?: number;
}

/** A running Alertmanager. */
export interface RunningAlertmanager extends AsyncDisposable {
  /** Base URL, also its `--web.external-url`, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  /** The config file text it runs with. */
  readonly config: string;
  /** Pushes alerts through `POST /api/v2/alerts`. @throws {Error} On a non-2xx answer. */
  push(alerts: readonly PostableAlert[]): Promise<void>;
  /** Lists alerts through `GET /api/v2/alerts`. */
  alerts(): Promise<GettableAlert[]>;
  /** Its log output so far (stderr), for failure messages. */
  logs(): string;
  /** Stops it (SIGTERM, then SIGKILL after 5 s), awaits its exit, removes the temp dir. */
  stop(): Promise<void>;
}

/**
 * Finds the Alertmanager binary.
 *
 * @returns Its path, or `undefined` when it is not installed.
 */
export function findAlertmanager(): string | undefined {
  const explicit = Deno.env.get("CANO_ALERTMANAGER_BIN");
  if (explicit) return isFile(explicit) ? explicit : undefined;
  const dirs = (Deno.env.get("PATH") ?? "").split(":").filter((d) => d !== "");
  for (const name of ALERTMANAGER_BINARIES) {
    const found = [...dirs, "/usr/bin", "/usr/local/bin"].map((dir) => `${dir}/${name}`)
      .find(isFile);
    if (found) return found;
  }
  return undefined;
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch (_error) {
    // Missing or unreadable: not a usable binary.
    return false;
  }
}

/**
 * Why Alertmanager tests should be skipped here, if they should.
 *
 * @returns A reason when the binary is missing and `CI` is not set, else `undefined`.
 */
export function alertmanagerSkipReason(): string | undefined {
  if (findAlertmanager() !== undefined || Deno.env.get("CI")) return undefined;
  return "prometheus-alertmanager is not installed (apt-get install prometheus-alertmanager); " +
    "set CI=1 to make this a failure";
}

/**
 * Starts Alertmanager and waits until `/-/ready` answers 200.
 *
 * @param options Webhook URL, auth, route timings and binary.
 * @returns The running Alertmanager; stop it (or `await using` it) at the end.
 * @throws {Error} When the binary is missing, exits early or is not ready in time.
 */
export async function startAlertmanager(
  {
    webhookUrl,
    bearerToken,
    groupBy = [],
    groupWait = "1s",
    groupInterval = "1s",
    repeatInterval = "1h",
    binary = findAlertmanager(),
    readyTimeoutMs = 20_000,
  }: AlertmanagerOptions,
): Promise<RunningAlertmanager> {
  if (binary === undefined) {
    throw new Error(
      `Cannot start Alertmanager: none of ${ALERTMANAGER_BINARIES.join(", ")} is on PATH ` +
        "(install it with apt-get install prometheus-alertmanager, or set CANO_ALERTMANAGER_BIN)",
    );
  }
  const dir = await Deno.makeTempDir({ prefix: "cano-alertmanager-" });
  const port = freePort();
  const url = `http://127.0.0.1:${port}`;
  const webhook: Record<string, unknown> = { url: webhookUrl, "send_resolved": true };
  if (bearerToken !== undefined) {
    webhook["http_config"] = { authorization: { type: "Bearer", credentials: bearerToken } };
  }
  // JSON is YAML, so no YAML writer is needed for this small file.
  const config = JSON.stringify(
    {
      route: {
        receiver: "cano",
        group_by: groupBy,
        group_wait: groupWait,
        group_interval: groupInterval,
        repeat_interval: repeatInterval,
      },
      receivers: [{ name: "cano", webhook_configs: [webhook] }],
    },
    null,
    2,
  );
  await Deno.writeTextFile(`${dir}/alertmanager.yml`, config);
  const child = new Deno.Command(binary, {
    args: [
      `--config.file=${dir}/alertmanager.yml`,
      `--storage.path=${dir}/data`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--web.external-url=${url}`,
      "--cluster.listen-address=",
      "--log.level=debug",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let output = "";
  const reading = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({
      write(chunk) {
        output = (output + chunk).slice(-64_000);
      },
    }),
  ).catch((_error: unknown) => {
    // The pipe closes when the process dies; what was read is kept.
  });
  let exited = false;
  const status = child.status.finally(() => exited = true);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    stopping ??= (async () => {
      if (!exited) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => !exited && child.kill("SIGKILL"), 5_000);
        await status;
        clearTimeout(timer);
      }
      await reading;
      await Deno.remove(dir, { recursive: true });
    })();

  const deadline = Date.now() + readyTimeoutMs;
  while (true) {
    if (exited) {
      await stop();
      throw new Error(
        `Cannot start Alertmanager: ${binary} exited with code ${(await status).code}:\n${output}`,
      );
    }
    if (await isReady(url)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `Cannot start Alertmanager: ${url}/-/ready did not answer 200 within ${readyTimeoutMs} ms:\n${output}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  return {
    url,
    config,
    async push(alerts) {
      const response = await fetch(`${url}/api/v2/alerts`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(alerts),
      });
      const text = await response.text();
      if (!response.ok) {
        throw new Error(`Cannot push alerts to Alertmanager: HTTP ${response.status}: ${text}`);
      }
    },
    async alerts() {
      const response = await fetch(`${url}/api/v2/alerts`);
      if (!response.ok) {
        throw new Error(
          `Cannot list Alertmanager alerts: HTTP ${response.status}: ${await response.text()}`,
        );
      }
      return await response.json() as GettableAlert[];
    },
    logs: () => output,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** A port that was free a moment ago on 127.0.0.1 (Alertmanager cannot take port 0). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

async function isReady(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/-/ready`);
    await response.body?.cancel();
    return response.status === 200;
  } catch (_error) {
    // Not listening yet.
    return false;
  }
}
