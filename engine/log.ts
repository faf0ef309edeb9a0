/**
 * Structured logging: `LOG_LEVEL` (debug, info, warn, error) and `LOG_FORMAT` (json, text).
 *
 * Fields whose key looks like a credential (token, password, secret, authorization, ...) are
 * masked, so a secret passed by mistake is never written.
 *
 * @module
 */

/** Log levels, least to most severe. */
export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
/** A log level. */
export type LogLevel = typeof LOG_LEVELS[number];
/** Fields attached to a line. */
export type Fields = Record<string, unknown>;

/** A structured logger. */
export interface Logger {
  /** Logs at debug level. */
  debug(message: string, fields?: Fields): void;
  /** Logs at info level. */
  info(message: string, fields?: Fields): void;
  /** Logs at warn level. */
  warn(message: string, fields?: Fields): void;
  /** Logs at error level. */
  error(message: string, fields?: Fields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: Fields): Logger;
}

/** Options of {@linkcode createLogger}. */
export interface LoggerOptions {
  /** Lowest level written. @default "info" */
  level?: LogLevel;
  /** Output format. @default "json" */
  format?: "json" | "text";
  /** Where lines go. @default a writer to stderr */
  write?: (line: string) => void;
  /** Clock. @default Date.now */
  now?: () => number;
}

const SECRET_KEY = /pass(word)?|secret|token|authorization|api[-_]?key|credential|cookie/i;
const encoder = new TextEncoder();

function writeStderr(line: string): void {
  Deno.stderr.writeSync(encoder.encode(line + "\n"));
}

/**
 * Creates a logger.
 *
 * @param options Level, format, writer and clock.
 * @returns The logger.
 * @throws {RangeError} When the level or format is unknown.
 * @example
 * ```ts
 * import { createLogger } from "./log.ts";
 * import assert from "node:assert/strict";
 *
 * const lines: string[] = [];
 * const log = createLogger({ write: (l) => lines.push(l), now: () => 0 });
 * log.info("Sent", { destination: "slack", token: "xoxb-1" });
 * assert.equal(JSON.parse(lines[0]!).token, "***");
 * ```
 */
export function createLogger(
  { level = "info", format = "json", write = writeStderr, now = Date.now }: LoggerOptions = {},
): Logger {
  if (!LOG_LEVELS.includes(level)) {
    throw new RangeError(`Cannot create logger: level "${level}" is not one of ${LOG_LEVELS}`);
  }
  if (format !== "json" && format !== "text") {
    throw new RangeError(`Cannot create logger: format "${format}" is not "json" or "text"`);
  }
  const min = LOG_LEVELS.indexOf(level);
  const make = (base: Fields): Logger => {
    const emit = (lvl: LogLevel, message: string, fields: Fields = {}) => {
      if (LOG_LEVELS.indexOf(lvl) < min) return;
      const all = maskSecrets({ ...base, ...fields });
      const time = new Date(now()).toISOString();
      write(
        format === "json"
          ? safeJson({ time, level: lvl, msg: message, ...all })
          : text(time, lvl, message, all),
      );
    };
    return {
      debug: (m, f) => emit("debug", m, f),
      info: (m, f) => emit("info", m, f),
      warn: (m, f) => emit("warn", m, f),
      error: (m, f) => emit("error", m, f),
      child: (fields) => make({ ...base, ...fields }),
    };
  };
  return make({});
}

/**
 * Creates a logger from `LOG_LEVEL` and `LOG_FORMAT`.
 *
 * @returns The logger.
 * @throws {RangeError} When a variable holds an unknown value.
 */
export function createLoggerFromEnv(): Logger {
  const level = (Deno.env.get("LOG_LEVEL") ?? "info").toLowerCase() as LogLevel;
  const format = (Deno.env.get("LOG_FORMAT") ?? "json").toLowerCase() as "json" | "text";
  return createLogger({ level, format });
}

/** A logger that writes nothing, for tests and benchmarks. */
export const silentLogger: Logger = createLogger({ level: "error", write: () => {} });

function maskSecrets(fields: Fields): Fields {
  const out: Fields = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] = SECRET_KEY.test(key) && value !== undefined && value !== null
      ? "***"
      : toLoggable(value);
  }
  return out;
}

function toLoggable(value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  return value;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch (error) {
    return JSON.stringify({
      level: "error",
      msg: "Cannot serialize log line",
      reason: String(error),
    });
  }
}

function text(time: string, level: LogLevel, message: string, fields: Fields): string {
  const rest = Object.entries(fields).map(([k, v]) =>
    `${k}=${typeof v === "string" ? JSON.stringify(v) : safeJson(v)}`
  );
  return [time, level.toUpperCase().padEnd(5), message, ...rest].join(" ");
}
