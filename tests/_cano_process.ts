/**
 * Runs `cano serve` as a real child process for tests that kill it: waits for its port,
 * keeps its JSON log lines, and stops it with any signal.
 *
 * @module
 */

/** A running `cano serve` process. */
export interface CanoProcess extends AsyncDisposable {
  /** The port it listens on. */
  port: number;
  /** Its structured log lines so far. */
  lines: string[];
  /** Sends a signal and waits for the exit. */
  stop(signal: Deno.Signal): Promise<Deno.CommandStatus>;
}

/**
 * Starts `deno run -A main.ts serve --config <file>` and waits until it listens.
 *
 * @param configFile The config file.
 * @param env Extra environment variables.
 * @returns The process.
 */
export async function startCano(
  configFile: string,
  env: Record<string, string> = {},
): Promise<CanoProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "main.ts", "serve", "--config", configFile],
    cwd: new URL("..", import.meta.url),
    env: { LOG_LEVEL: "info", LOG_FORMAT: "json", ...env },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const listening = Promise.withResolvers<number>();
  const reading = child.stderr.pipeThrough(new TextDecoderStream()).pipeTo(
    new WritableStream({
      write(chunk) {
        for (const line of chunk.split("\n").filter((l) => l.trim() !== "")) {
          lines.push(line);
          if (line.includes("Cano is listening")) listening.resolve(JSON.parse(line).port);
        }
      },
      close: () => listening.reject(new Error(`cano exited early:\n${lines.join("\n")}`)),
    }),
  ).catch(() => undefined);
  let status: Promise<Deno.CommandStatus> | undefined;
  const stop = (signal: Deno.Signal) => {
    if (status === undefined) {
      try {
        child.kill(signal);
      } catch (_error) {
        // Already exited.
      }
      status = child.status.then(async (s) => {
        await reading;
        return s;
      });
    }
    return status;
  };
  try {
    const port = await listening.promise;
    return { port, lines, stop, [Symbol.asyncDispose]: async () => void await stop("SIGKILL") };
  } catch (error) {
    await stop("SIGKILL");
    throw error;
  }
}
