/**
 * Limits and settings of the workflow sandbox, with safe defaults.
 *
 * Every limit is per workflow version (one child process) or per invocation, as named.
 * The defaults follow the measurements in `reference/sandbox-facts.md` §5.2.
 *
 * Memory: `heapMb` caps the V8 heap (`--max-old-space-size`); `externalMemoryMb` caps what
 * the heap flag does not see (ArrayBuffers, thread stacks) through `RLIMIT_DATA`, set with
 * `prlimit` to {@linkcode DATA_BASELINE_MB} + `externalMemoryMb`. Deno 2.9.6 reserves about
 * 550 MB of data segment to boot, whatever the heap size (measured: with `RLIMIT_DATA` at
 * 560/600/700/800 MB a child allocated 10/50/150/250 MB of ArrayBuffers; at 550 MB the
 * runner and SDK no longer load). Re-measure when Deno is upgraded.
 *
 * @example Defaults apply to what the operator leaves out
 * ```ts
 * import { SandboxConfigSchema } from "./config.ts";
 * import assert from "node:assert/strict";
 *
 * const config = SandboxConfigSchema.parse({ heapMb: 96 });
 * assert.equal(config.heapMb, 96);
 * assert.equal(config.quarantineAfter, 10);
 * assert.throws(() => SandboxConfigSchema.parse({ heapMb: 8 }));
 * ```
 *
 * @module
 */
import { z } from "zod";

/** Data segment Deno needs to boot the runner and the SDK, in MiB (measured on 2.9.6). */
export const DATA_BASELINE_MB = 576;

const int = (min: number, max: number) => z.number().int().min(min).max(max);

/** Sandbox settings. Unknown keys are rejected so typos surface. */
export const SandboxConfigSchema = z.strictObject({
  maxTimeoutMs: int(100, 600_000).default(60_000)
    .describe("Upper bound of one invocation's deadline; requests asking for more get this"),
  loadTimeoutMs: int(100, 120_000).default(5_000)
    .describe("Time a child has to start and evaluate the workflow's top-level code"),
  heapMb: int(32, 8_192).default(128).describe("V8 heap of one child (--max-old-space-size)"),
  externalMemoryMb: int(16, 16_384).default(256)
    .describe("Memory beyond the heap (ArrayBuffers) one child may use, via RLIMIT_DATA"),
  maxThreads: int(8, 4_096).default(64)
    .describe("RLIMIT_NPROC of a child; only enforced when children run as a dedicated uid"),
  uid: int(1, 2 ** 31).optional().describe("Run children as this uid (needs CAP_SETUID)"),
  gid: int(1, 2 ** 31).optional().describe("Run children as this gid (needs CAP_SETGID)"),
  maxFrameBytes: int(1_024, 64 * 1_048_576).default(1_048_576)
    .describe("Largest line a child may write; longer is a protocol violation"),
  maxEnrichmentBytes: int(1_024, 64 * 1_048_576).default(512 * 1_024)
    .describe("Serialized size of all blocks of one invocation"),
  maxBlocks: int(1, 10_000).default(50).describe("Blocks per invocation"),
  maxDepth: int(2, 64).default(12).describe("Nesting depth of a block"),
  maxStringBytes: int(64, 16 * 1_048_576).default(64 * 1_024).describe("Longest string in a block"),
  maxLogLines: int(0, 100_000).default(1_000)
    .describe("ctx.log lines kept per invocation; more are dropped and counted"),
  maxFrames: int(10, 1_000_000).default(5_000)
    .describe("Messages a child may send per invocation; more is a protocol violation"),
  maxCapabilityCalls: int(0, 10_000).default(50).describe("Capability calls per invocation"),
  concurrency: int(1, 64).default(8).describe("Invocations in flight per workflow"),
  queueSize: int(0, 100_000).default(100)
    .describe("Invocations waiting per workflow; more are rejected"),
  quarantineAfter: int(1, 1_000).default(10)
    .describe("Consecutive failed invocations before a workflow is quarantined"),
  quarantineMs: int(1_000, 86_400_000).default(300_000)
    .describe("How long a quarantine lasts before one trial invocation is let through"),
  restartBackoffMs: int(0, 60_000).default(250)
    .describe("Delay before the second consecutive restart; doubles on each further one"),
  maxRestartBackoffMs: int(0, 3_600_000).default(30_000).describe("Longest restart delay"),
  recycleAfter: int(1, 10_000_000).default(1_000)
    .describe("Invocations after which a child is replaced by a fresh one"),
  typeCheck: z.boolean().default(true).describe("Type-check workflow files with deno check"),
  checkTimeoutMs: int(1_000, 600_000).default(120_000).describe("Time allowed for deno check"),
  maxFiles: int(1, 10_000).default(200).describe("Files in the workflow directory"),
  maxFileBytes: int(1_024, 64 * 1_048_576).default(1_048_576).describe("Size of one file"),
  maxTotalBytes: int(1_024, 1_024 * 1_048_576).default(16 * 1_048_576)
    .describe("Size of all files of the workflow directory"),
  pollIntervalMs: int(0, 3_600_000).default(5_000)
    .describe("Content-hash poll of the directory, next to the file watcher (0 = off)"),
  workDir: z.string().min(1).optional()
    .describe("Where versions, caches and the SDK bundle are kept (default: a temp dir)"),
  denoPath: z.string().min(1).optional().describe("The deno binary (default: the engine's)"),
});

/** Sandbox settings as written (defaults may be omitted). */
export type SandboxConfigInput = z.input<typeof SandboxConfigSchema>;
/** Sandbox settings after parsing. */
export type SandboxConfig = z.output<typeof SandboxConfigSchema>;

/**
 * Parses sandbox settings, applying defaults.
 *
 * @param input Settings as written, or nothing for the defaults.
 * @returns The parsed settings.
 * @throws {TypeError} When a setting is invalid.
 */
export function parseSandboxConfig(input: SandboxConfigInput = {}): SandboxConfig {
  const result = SandboxConfigSchema.safeParse(input);
  if (!result.success) {
    throw new TypeError(`Cannot use sandbox config: ${z.prettifyError(result.error)}`);
  }
  return result.data;
}
