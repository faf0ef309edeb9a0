/**
 * `cano dead-letters list|replay`: the deliveries given up for good, and sending them again.
 *
 * Two ways in:
 * - `--url` (default `http://127.0.0.1:8080`): asks a running Cano through its admin API
 *   (`kubectl port-forward deploy/cano 8080` first; `--token` or `CANO_ADMIN_TOKEN` when
 *   `server.adminToken` is set).
 * - `--state <file>`: opens the state file of a stopped Cano. Replayed letters go back to
 *   the outbox and are delivered by the next start. A running Cano holds the file locked,
 *   and the command says so.
 *
 * @module
 */
import { openOutbox } from "../delivery/outbox.ts";
import type { DeadLetter } from "../delivery/dispatcher.ts";

/** Options shared by both subcommands. */
export interface DeadLettersOptions {
  /** Base URL of a running Cano. @default "http://127.0.0.1:8080" */
  url?: string;
  /** Admin bearer token. @default $CANO_ADMIN_TOKEN */
  token?: string;
  /** State file of a stopped Cano; used instead of `url` when given. */
  state?: string;
  /** Output format. @default "text" */
  format?: "text" | "json";
  /** Where output goes. @default stdout */
  write?: (text: string) => void;
  /** HTTP client. @default globalThis.fetch */
  fetch?: typeof fetch;
}

const stdoutWrite = (text: string) => Deno.stdout.writeSync(new TextEncoder().encode(text));

/**
 * Lists dead letters, oldest first.
 *
 * @param options Where to look and how to print.
 * @returns The exit code: 0, or 1 when Cano or the file cannot be read.
 */
export async function deadLettersListCommand(options: DeadLettersOptions): Promise<number> {
  const { format = "text", write = stdoutWrite } = options;
  const result = options.state !== undefined
    ? withOutbox(options.state, (outbox) => outbox.deadLetters())
    : await callAdmin<{ deadLetters: DeadLetter[] }>(options, "GET", "/api/dead-letters")
      .then((r) => r.ok ? { ok: true as const, value: r.value.deadLetters } : r);
  if (!result.ok) {
    Deno.stderr.writeSync(new TextEncoder().encode(`${result.error}\n`));
    return 1;
  }
  if (format === "json") {
    write(JSON.stringify({ deadLetters: result.value }) + "\n");
    return 0;
  }
  if (result.value.length === 0) {
    write("No dead letters\n");
    return 0;
  }
  for (const letter of result.value) {
    write(
      `${
        letter.id ?? "-"
      }\t${letter.at}\t${letter.destination}\t${letter.fingerprint}\t${letter.reason}\n`,
    );
  }
  write(
    `${result.value.length} dead letter(s); replay with: cano dead-letters replay <id>|--all\n`,
  );
  return 0;
}

/**
 * Queues one dead letter (or all) again.
 *
 * @param id The letter's id, or `undefined` with `all`.
 * @param options Where to act, and `all`.
 * @returns The exit code: 0, 1 on failure, 2 on bad arguments.
 */
export async function deadLettersReplayCommand(
  id: string | undefined,
  options: DeadLettersOptions & { all?: boolean },
): Promise<number> {
  const { write = stdoutWrite } = options;
  const fail = (message: string, code = 1) => {
    Deno.stderr.writeSync(new TextEncoder().encode(`${message}\n`));
    return code;
  };
  const number = id === undefined ? undefined : Number(id);
  if ((number === undefined) === !options.all) {
    return fail("Give a dead letter id or --all (not both)", 2);
  }
  if (number !== undefined && (!Number.isInteger(number) || number < 1)) {
    return fail(`Dead letter id must be a positive integer, got "${id}"`, 2);
  }
  const result = options.state !== undefined
    ? withOutbox(options.state, (outbox) => outbox.replay(number).length)
    : await callAdmin<{ replayed: number }>(
      options,
      "POST",
      "/api/dead-letters/replay",
      number === undefined ? { all: true } : { id: number },
    ).then((r) => r.ok ? { ok: true as const, value: r.value.replayed } : r);
  if (!result.ok) return fail(result.error);
  if (result.value === 0 && number !== undefined) {
    return fail(`No replayable dead letter has id ${number}`);
  }
  write(
    `Replayed ${result.value} dead letter(s)${
      options.state !== undefined ? "; the next start of Cano delivers them" : ""
    }\n`,
  );
  return 0;
}

type Result<T> = { ok: true; value: T } | { ok: false; error: string };

function withOutbox<T>(
  path: string,
  use: (outbox: ReturnType<typeof openOutbox>) => T,
): Result<T> {
  let outbox;
  try {
    Deno.statSync(path);
    outbox = openOutbox({ path });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const hint = /locked|busy/i.test(reason) ? " (a running Cano holds it: use --url instead)" : "";
    return { ok: false, error: `Cannot open state file "${path}": ${reason}${hint}` };
  }
  try {
    return { ok: true, value: use(outbox) };
  } finally {
    outbox.close();
  }
}

async function callAdmin<T>(
  { url = "http://127.0.0.1:8080", token = Deno.env.get("CANO_ADMIN_TOKEN"), fetch: fetchFn }:
    DeadLettersOptions,
  method: "GET" | "POST",
  path: string,
  body?: unknown,
): Promise<Result<T>> {
  const target = `${url.replace(/\/+$/, "")}${path}`;
  try {
    const response = await (fetchFn ?? fetch)(target, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(10_000),
    });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (_error) {
      parsed = undefined;
    }
    if (!response.ok) {
      const detail = (parsed as { error?: string } | undefined)?.error ?? text.slice(0, 200);
      return { ok: false, error: `Cano at ${url} answered ${response.status}: ${detail}` };
    }
    return { ok: true, value: parsed as T };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return {
      ok: false,
      error:
        `Cannot reach Cano at ${url}: ${reason} (port-forward it, or use --state when stopped)`,
    };
  }
}
