/**
 * Baselines and probes of the sandbox benchmark that deal with bare processes: the cost of
 * spawning `deno run --no-config` on an empty script, an idle bare `deno` child, and the
 * memory of a process read from `/proc` (Linux only).
 *
 * @example Spawn an idle bare child and read its memory
 * ```ts ignore
 * import { readMemory, startIdleChild } from "./_sandbox_proc.ts";
 *
 * await using child = await startIdleChild();
 * const { rssMb, pssMb } = await readMemory(child.pid);
 * ```
 *
 * @module
 */

/** Flags of every bare child: what a sandbox child has, minus its permissions and limits. */
export const BARE_FLAGS: readonly string[] = [
  "run",
  "--no-config",
  "--no-lock",
  "--no-prompt",
  "--no-remote",
  "--no-npm",
];

const ENV = { NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" };

async function script(text: string): Promise<string> {
  const file = await Deno.makeTempFile({ prefix: "cano-bench-", suffix: ".js" });
  await Deno.writeTextFile(file, text);
  return file;
}

/**
 * Spawns `deno run --no-config` on an empty script `n` times and times each until it exits.
 *
 * @param n Spawns.
 * @returns Spawn → exit of each, ms.
 */
export async function timeBareSpawns(n: number): Promise<number[]> {
  const file = await script("");
  try {
    const samples: number[] = [];
    for (let i = 0; i < n; i++) {
      const started = performance.now();
      const status = await new Deno.Command(Deno.execPath(), {
        args: [...BARE_FLAGS, file],
        env: ENV,
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).output();
      samples.push(performance.now() - started);
      if (!status.success) throw new Error(`Cannot run a bare deno child: exit ${status.code}`);
    }
    return samples;
  } finally {
    await Deno.remove(file);
  }
}

/** A bare `deno` child idling on its stdin. */
export interface IdleChild extends AsyncDisposable {
  /** Its pid. */
  pid: number;
  /** Ends it (closes its stdin) and waits for the exit. */
  close(): Promise<void>;
}

/**
 * Starts a bare `deno` child that reports ready and then waits on its stdin, as a sandbox
 * child waits for work.
 *
 * @returns The child, once it is ready.
 */
export async function startIdleChild(): Promise<IdleChild> {
  const file = await script(
    `await Deno.stdout.write(new TextEncoder().encode("ready\\n"));
const buffer = new Uint8Array(64);
while ((await Deno.stdin.read(buffer)) !== null);
`,
  );
  const process = new Deno.Command(Deno.execPath(), {
    args: [...BARE_FLAGS, file],
    env: ENV,
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = process.stdout.getReader();
  const first = await reader.read();
  reader.releaseLock();
  if (first.done) throw new Error("Cannot start an idle bare deno child: it exited");
  let closing: Promise<void> | undefined;
  const close = () =>
    closing ??= (async () => {
      await process.stdin.close().catch(() => undefined);
      await process.stdout.cancel().catch(() => undefined);
      await process.status;
      await Deno.remove(file).catch(() => undefined);
    })();
  return { pid: process.pid, close, [Symbol.asyncDispose]: close };
}

/** Memory of one process. */
export interface ProcessMemory {
  /** Resident set (`VmRSS`), MiB. */
  rssMb: number;
  /** Proportional set (`Pss` of `smaps_rollup`): shared pages split among their users, MiB. */
  pssMb: number;
  /** Program name (`/proc/<pid>/comm`). */
  command: string;
}

/**
 * Reads a process's memory from `/proc`.
 *
 * @param pid The process.
 * @returns Its RSS, PSS and program name.
 * @throws {Error} When `/proc` has no such process or lacks the fields.
 */
export async function readMemory(pid: number): Promise<ProcessMemory> {
  const [status, rollup, command] = await Promise.all([
    Deno.readTextFile(`/proc/${pid}/status`),
    Deno.readTextFile(`/proc/${pid}/smaps_rollup`),
    Deno.readTextFile(`/proc/${pid}/comm`),
  ]);
  const kib = (text: string, field: string) => {
    const match = text.match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"));
    if (!match) throw new Error(`Cannot read the memory of process ${pid}: no ${field}`);
    return Number(match[1]) / 1024;
  };
  return { rssMb: kib(status, "VmRSS"), pssMb: kib(rollup, "Pss"), command: command.trim() };
}
