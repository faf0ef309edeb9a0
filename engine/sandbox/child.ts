/**
 * One sandbox child process: how it is started, how frames go in and out, how it ends.
 *
 * The command is `[prlimit --data=… [--nproc=…]] deno run --no-prompt --no-config --no-lock
 * --no-remote --no-npm --cached-only --allow-read=<snapshot>,<sdk> --v8-flags=… --import-map=…
 * child_runner.ts`, with a cleared environment (only `NO_COLOR`, a private `DENO_DIR` and
 * {@linkcode CHILD_MALLOC_ENV}), an empty working directory, and optionally a dedicated uid/gid.
 *
 * The child's stdout is read with a byte cap per line and every line is authenticated and
 * validated ({@linkcode decodeChildFrame}); the first bad line kills the child. Stdin writes
 * never throw (a dead child's broken pipe is swallowed and logged), stderr is kept as a small
 * ring buffer for crash reports, and the exit is classified: `oom` (exit 133 / SIGTRAP, or
 * an allocation failure), the reason the supervisor gave when it killed the child, or `crash`.
 *
 * @module
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Logger } from "../log.ts";
import type { SandboxConfig } from "./config.ts";
import { DATA_BASELINE_MB } from "./config.ts";
import { readLines } from "./line_reader.ts";
import {
  type ChildFrame,
  decodeChildFrame,
  encodeHostFrame,
  type FrameLimits,
  type HostFrame,
  type RunnerLimits,
} from "./protocol.ts";
import type { SdkBundle } from "./sdk_bundle.ts";

const STDERR_TAIL_BYTES = 16_384;
const OOM_PATTERN =
  /out of memory|memory allocation of \d+ bytes failed|Failed to reserve virtual memory|Array buffer allocation failed/i;

/**
 * glibc malloc settings of every child. Setting the trim threshold (to its default, 128 KiB)
 * turns off glibc's dynamic thresholds: otherwise freeing one large block while the child
 * starts (module sources, the code cache, the transpiler's buffers) raises the trim threshold
 * to twice that block, and the freed heap stays resident for the child's whole life. Measured
 * with 5 idle children (`deno task bench --only sandbox`): about 5 MB less RSS and PSS each.
 *
 * @example
 * ```ts
 * import { CHILD_MALLOC_ENV } from "./child.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(CHILD_MALLOC_ENV.MALLOC_TRIM_THRESHOLD_, "131072");
 * ```
 */
export const CHILD_MALLOC_ENV: Readonly<Record<string, string>> = {
  MALLOC_TRIM_THRESHOLD_: "131072",
};

/** Why a child ended. */
export type ExitReason =
  | "timeout"
  | "violation"
  | "recycle"
  | "stopped"
  | "load-timeout"
  | "quarantine"
  | "oom"
  | "crash";

/** How a child ended. */
export interface ChildExit {
  /** Classified reason. */
  reason: ExitReason;
  /** Exit code (128 + signal when killed by a signal). */
  code: number;
  /** The signal, when killed by one. */
  signal: string | null;
  /** One line for logs and error notes; never contains host data. */
  detail: string;
}

/** What a child is started from. */
export interface ChildSpec {
  /** The workflow's copied snapshot, the only workflow files it may read. */
  snapshotDir: string;
  /** The entry file inside the snapshot. */
  entry: string;
  /** The SDK bundle. */
  sdk: SdkBundle;
  /** A private Deno cache dir (transpile cache, `caches`). */
  denoDir: string;
  /** An empty working directory. */
  cwd: string;
  /** Path of the `prlimit` binary, when available. */
  prlimit?: string | undefined;
}

/** Callbacks of a child. */
export interface ChildHandlers {
  /** An authenticated, validated frame. */
  onFrame(frame: ChildFrame): void;
}

/**
 * Builds the command line of a child. Exposed for tests and `cano workflows` diagnostics.
 *
 * @param spec The snapshot, SDK and directories.
 * @param config Sandbox limits.
 * @returns The program, its arguments and the process options.
 */
export function buildChildCommand(
  spec: ChildSpec,
  config: SandboxConfig,
): { program: string; args: string[]; options: Deno.CommandOptions } {
  const deno = config.denoPath ?? Deno.execPath();
  const denoArgs = [
    "run",
    "--no-prompt",
    "--no-config",
    "--no-lock",
    "--no-remote",
    "--no-npm",
    "--cached-only",
    `--allow-read=${spec.snapshotDir},${spec.sdk.dir}`,
    // A 1 MB semi-space keeps the young generation from growing to 2 × 2 MB while the SDK
    // loads; it stays that size at idle (about 2 MB RSS per child, warm runs unchanged).
    `--v8-flags=--max-old-space-size=${config.heapMb},--max-semi-space-size=1,--disallow-code-generation-from-strings`,
    `--import-map=${spec.sdk.importMap}`,
    spec.sdk.runner,
  ];
  const limits: string[] = [];
  if (spec.prlimit) {
    limits.push(`--data=${(DATA_BASELINE_MB + config.externalMemoryMb) * 1_048_576}`);
    if (config.uid !== undefined) limits.push(`--nproc=${config.maxThreads}`);
  }
  const options: Deno.CommandOptions = {
    clearEnv: true,
    env: {
      NO_COLOR: "1",
      DENO_DIR: spec.denoDir,
      DENO_NO_UPDATE_CHECK: "1",
      ...CHILD_MALLOC_ENV,
    },
    cwd: spec.cwd,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    ...(config.uid === undefined ? {} : { uid: config.uid }),
    ...(config.gid === undefined ? {} : { gid: config.gid }),
  };
  return spec.prlimit
    ? { program: spec.prlimit, args: [...limits, "--", deno, ...denoArgs], options }
    : { program: deno, args: denoArgs, options };
}

/**
 * Finds `prlimit` (util-linux) on `PATH`.
 *
 * @returns Its path, or `undefined` when it is not installed.
 */
export async function findPrlimit(): Promise<string | undefined> {
  const dirs = (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":");
  for (const dir of [...dirs, "/usr/bin", "/bin"]) {
    const path = join(dir, "prlimit");
    try {
      if ((await Deno.stat(path)).isFile) return path;
    } catch {
      // not in this directory; keep looking
    }
  }
  return undefined;
}

/** A running child process speaking the sandbox protocol. */
export class SandboxChild {
  /** Resolves once the process has exited and its output was read. */
  readonly exited: Promise<ChildExit>;
  /** The nonce that authenticates this child's frames. */
  readonly #nonce: string = randomNonce();
  readonly #process: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #log: Logger;
  #killReason: ExitReason | undefined;
  #killDetail = "";
  #stderr = "";
  #alive = true;

  /**
   * Starts a child and sends it the `init` frame.
   *
   * @param spec What to run.
   * @param config Sandbox limits.
   * @param handlers Frame callback.
   * @param log Logger for pipe errors.
   * @throws {Error} When the process cannot be spawned.
   */
  constructor(spec: ChildSpec, config: SandboxConfig, handlers: ChildHandlers, log: Logger) {
    this.#log = log;
    const { program, args, options } = buildChildCommand(spec, config);
    this.#process = new Deno.Command(program, { args, ...options }).spawn();
    this.#writer = this.#process.stdin.getWriter();
    this.#writer.closed.catch(() => undefined);
    const frameLimits: FrameLimits = {
      maxDepth: config.maxDepth + 4,
      maxStringBytes: Math.max(config.maxStringBytes, 8_192),
    };
    const stdoutDone = this.#readStdout(config.maxFrameBytes, frameLimits, handlers);
    const stderrDone = this.#readStderr();
    this.exited = this.#process.status.then(async (status) => {
      this.#alive = false;
      await Promise.race([
        Promise.all([stdoutDone, stderrDone]),
        new Promise((resolve) => setTimeout(resolve, 1_000)),
      ]);
      return this.#classify(status);
    });
    const limits: RunnerLimits = {
      maxDepth: config.maxDepth,
      maxStringBytes: config.maxStringBytes,
      maxEnrichmentBytes: config.maxEnrichmentBytes,
      maxBlocks: config.maxBlocks,
      maxLogLines: config.maxLogLines,
      maxCapabilityCalls: config.maxCapabilityCalls,
    };
    this.send({ op: "init", nonce: this.#nonce, entry: pathToFileURL(spec.entry).href, limits });
  }

  /** The OS process id. */
  get pid(): number {
    return this.#process.pid;
  }

  /** `false` once the process has exited or was killed. */
  get alive(): boolean {
    return this.#alive && this.#killReason === undefined;
  }

  /** The last bytes the child wrote to stderr (for logs, not for error notes). */
  get stderrTail(): string {
    return this.#stderr;
  }

  /**
   * Sends a frame. Never throws: writing to a dead child is logged and ignored.
   *
   * @param frame The frame.
   */
  send(frame: HostFrame): void {
    if (!this.alive) return;
    let bytes: Uint8Array;
    try {
      bytes = new TextEncoder().encode(encodeHostFrame(frame));
    } catch (error) {
      this.#log.warn("Cannot encode a frame for the sandbox", { error: String(error) });
      return;
    }
    this.#writer.write(bytes).catch((error) => {
      this.#log.debug("Cannot write to the sandbox: the pipe is closed", {
        error: String(error),
      });
    });
  }

  /**
   * Kills the child with SIGKILL and records why. The first reason wins.
   *
   * @param reason Why, for the exit classification.
   * @param detail A safe one-line explanation.
   */
  kill(reason: ExitReason, detail = ""): void {
    if (this.#killReason !== undefined || !this.#alive) return;
    this.#killReason = reason;
    this.#killDetail = detail;
    try {
      this.#process.kill("SIGKILL");
    } catch (error) {
      this.#log.debug("Cannot kill the sandbox: it has exited", { error: String(error) });
    }
  }

  async #readStdout(
    maxLineBytes: number,
    limits: FrameLimits,
    handlers: ChildHandlers,
  ): Promise<void> {
    try {
      for await (const item of readLines(this.#process.stdout, { maxLineBytes })) {
        if ("overflow" in item) {
          this.kill("violation", `a line longer than ${maxLineBytes} bytes`);
          return;
        }
        const decoded = decodeChildFrame(item.line, this.#nonce, limits);
        if (!decoded.ok) {
          this.kill("violation", decoded.reason);
          return;
        }
        if (this.#killReason !== undefined) return;
        try {
          handlers.onFrame(decoded.frame);
        } catch (error) {
          this.#log.error("Cannot handle a sandbox frame", { error: String(error) });
        }
      }
    } catch (error) {
      this.#log.debug("Cannot read the sandbox output", { error: String(error) });
    }
  }

  async #readStderr(): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of this.#process.stderr) {
        this.#stderr = (this.#stderr + decoder.decode(chunk, { stream: true }))
          .slice(-STDERR_TAIL_BYTES);
      }
    } catch (error) {
      this.#log.debug("Cannot read the sandbox stderr", { error: String(error) });
    }
  }

  #classify(status: Deno.CommandStatus): ChildExit {
    const { code, signal } = status;
    if (this.#killReason !== undefined) {
      return { reason: this.#killReason, code, signal, detail: this.#killDetail };
    }
    if (code === 133 || signal === "SIGTRAP" || OOM_PATTERN.test(this.#stderr)) {
      return { reason: "oom", code, signal, detail: "it ran out of memory" };
    }
    const last = this.#stderr.trim().split("\n").filter((l) => l.trim()).at(-1)?.trim() ?? "";
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    return {
      reason: "crash",
      code,
      signal,
      detail: last ? `${how}: ${last.slice(0, 300)}` : how,
    };
  }
}

function randomNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
