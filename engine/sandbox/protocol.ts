/**
 * The NDJSON protocol between the engine and a sandbox child, host side.
 *
 * Host → child (stdin, trusted): `init` (first line: the nonce, the entry file, the limits),
 * `invoke`, `capResult`. Child → host (stdout, untrusted): `ready`, `loadError`, `enrich`,
 * `log`, `silence`, `cap`, `done`, `error`. Every child frame starts with
 * `{"n":"<nonce>",`; the nonce lives in the runner's closure and is never visible to
 * workflow code, so a line a workflow forges (it can write to fd 1) fails the check.
 *
 * A child line is checked in this order, cheapest first, and any failure is a protocol
 * violation (the supervisor kills the child): byte cap (in the line reader, before decoding),
 * nonce prefix, JSON with a reviver rejecting `__proto__`/`constructor`/`prototype` keys,
 * depth and string length, then the frame schema. Parsed values are plain data and are never
 * merged into host objects.
 *
 * @example Decode a frame and reject a forged one
 * ```ts
 * import { decodeChildFrame } from "./protocol.ts";
 * import assert from "node:assert/strict";
 *
 * const limits = { maxDepth: 8, maxStringBytes: 1024 };
 * const ok = decodeChildFrame('{"n":"abc","op":"done","id":1}', "abc", limits);
 * assert.equal(ok.ok && ok.frame.op, "done");
 * const forged = decodeChildFrame('{"n":"guess","op":"done","id":1}', "abc", limits);
 * assert.equal(forged.ok, false);
 * const polluted = decodeChildFrame('{"n":"abc","op":"done","id":1,"__proto__":{}}', "abc", limits);
 * assert.equal(polluted.ok, false);
 * ```
 *
 * @module
 */
import { z } from "zod";

/** Keys that never appear in data accepted from a child. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set([
  "__proto__",
  "constructor",
  "prototype",
]);

/** Log levels a child may use. */
export const CHILD_LOG_LEVELS = ["debug", "info", "warn", "error"] as const;

const Id = z.number().int().nonnegative();

/** Workflow metadata a child reports once it has loaded the file. */
export const ManifestSchema = z.strictObject({
  id: z.string(),
  description: z.string(),
  triggers: z.array(z.unknown()),
  permissions: z.unknown(),
});

/** Every frame a child may send. */
export const ChildFrameSchema = z.discriminatedUnion("op", [
  z.strictObject({ n: z.string(), op: z.literal("ready"), workflow: ManifestSchema }),
  z.strictObject({
    n: z.string(),
    op: z.literal("loadError"),
    error: z.string(),
    line: z.number().int().optional(),
  }),
  z.strictObject({
    n: z.string(),
    op: z.literal("enrich"),
    id: Id,
    title: z.string().optional(),
    blocks: z.array(z.unknown()),
  }),
  z.strictObject({
    n: z.string(),
    op: z.literal("log"),
    id: Id,
    level: z.enum(CHILD_LOG_LEVELS),
    message: z.string(),
    fields: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]))
      .optional(),
  }),
  z.strictObject({ n: z.string(), op: z.literal("silence"), id: Id, reason: z.string() }),
  z.strictObject({
    n: z.string(),
    op: z.literal("cap"),
    id: Id,
    call: Id,
    name: z.string().max(100),
    args: z.unknown(),
  }),
  z.strictObject({ n: z.string(), op: z.literal("done"), id: Id }),
  z.strictObject({ n: z.string(), op: z.literal("error"), id: Id, error: z.string() }),
]);
/** A frame from a child, after validation. */
export type ChildFrame = z.output<typeof ChildFrameSchema>;
/** A child's workflow metadata, before the SDK schemas check it. */
export type Manifest = z.output<typeof ManifestSchema>;

/** Limits applied by {@linkcode decodeChildFrame} and the runner. */
export interface FrameLimits {
  /** Deepest nesting of objects and arrays, counted from the frame. */
  maxDepth: number;
  /** Longest string, in UTF-16 code units. */
  maxStringBytes: number;
}

/** Limits the runner applies before it sends, so an author gets a clear error in `run`. */
export interface RunnerLimits extends FrameLimits {
  /** Serialized size of all blocks of one invocation. */
  maxEnrichmentBytes: number;
  /** Blocks per invocation. */
  maxBlocks: number;
  /** Log lines per invocation. */
  maxLogLines: number;
  /** Capability calls per invocation. */
  maxCapabilityCalls: number;
}

/** Frames the engine sends to a child. */
export type HostFrame =
  | { op: "init"; nonce: string; entry: string; limits: RunnerLimits }
  | { op: "invoke"; id: number; issue: unknown; params: unknown; timeoutMs: number }
  | { op: "capResult"; id: number; call: number; ok: true; value: unknown }
  | { op: "capResult"; id: number; call: number; ok: false; error: string };

/** The outcome of {@linkcode decodeChildFrame}. */
export type DecodeResult = { ok: true; frame: ChildFrame } | { ok: false; reason: string };

/**
 * Checks one line from a child: nonce prefix, safe JSON, depth, string length, schema.
 *
 * @param line The line without its newline; the caller has capped its byte length.
 * @param nonce The child's nonce.
 * @param limits Depth and string caps.
 * @returns The frame, or why it was refused (safe to log: it never quotes the line).
 */
export function decodeChildFrame(line: string, nonce: string, limits: FrameLimits): DecodeResult {
  if (!line.startsWith(`{"n":"${nonce}",`)) {
    return { ok: false, reason: "a line without the session nonce (forged or stray output)" };
  }
  let value: unknown;
  try {
    value = parseUntrustedJson(line, limits);
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
  const result = ChildFrameSchema.safeParse(value);
  if (!result.success) {
    const first = result.error.issues[0];
    const where = first?.path.map(String).join(".") || "(root)";
    return { ok: false, reason: `a malformed frame (${where}: ${first?.message ?? "invalid"})` };
  }
  return { ok: true, frame: result.data };
}

/**
 * Parses JSON from an untrusted source: rejects `__proto__`, `constructor` and `prototype`
 * keys, nesting deeper than `maxDepth` and strings longer than `maxStringBytes`.
 *
 * @param text The JSON text.
 * @param limits Depth and string caps.
 * @returns The parsed value (plain objects and arrays).
 * @throws {SyntaxError} When the text is not JSON or breaks a rule.
 */
export function parseUntrustedJson(text: string, limits: FrameLimits): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text, (key, v) => {
      if (FORBIDDEN_KEYS.has(key)) throw new SyntaxError(`a forbidden key "${key}"`);
      if (typeof v === "string" && v.length > limits.maxStringBytes) {
        throw new SyntaxError(`a string longer than ${limits.maxStringBytes} characters`);
      }
      return v;
    });
  } catch (error) {
    const message = error instanceof SyntaxError && error.message.startsWith("a ")
      ? error.message
      : "a line that is not JSON";
    throw new SyntaxError(message);
  }
  if (depthOf(value, limits.maxDepth + 1) > limits.maxDepth) {
    throw new SyntaxError(`nesting deeper than ${limits.maxDepth}`);
  }
  return value;
}

/**
 * Serializes a host frame as one NDJSON line.
 *
 * @param frame The frame.
 * @returns The line, newline included.
 */
export function encodeHostFrame(frame: HostFrame): string {
  return JSON.stringify(frame) + "\n";
}

function depthOf(value: unknown, stopAt: number, depth = 0): number {
  if (typeof value !== "object" || value === null) return depth;
  if (depth + 1 >= stopAt) return depth + 1;
  let max = depth + 1;
  for (const child of Object.values(value)) {
    max = Math.max(max, depthOf(child, stopAt, depth + 1));
    if (max >= stopAt) break;
  }
  return max;
}
