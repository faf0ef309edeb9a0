/**
 * The destination contract: pure rendering kept apart from I/O.
 *
 * `render` is pure and `cano dry-run` prints exactly what it returns; `send` does the I/O
 * and reports whether a failure can be retried. The delivery layer owns retries.
 *
 * @module
 */
import type { Issue } from "@cano/sdk";
import { z } from "zod";

/** A destination name: what routes refer to. */
export const DestinationNameSchema = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, {
  error: "Destination name must be lowercase letters, digits, '-' or '_', e.g. \"ops-slack\"",
}).describe("Unique name routes refer to");

/** How many sends a destination may start: `perSecond` on average, `burst` at once. */
export const RateLimitSchema = z.strictObject({
  perSecond: z.number().positive().max(10_000).describe("Sends per second on average"),
  burst: z.number().int().min(1).max(10_000).default(1).describe("Sends allowed at once"),
}).describe("Token bucket in front of the service, kept before sending");
/** A rate limit, defaults applied. */
export type RateLimit = z.infer<typeof RateLimitSchema>;

/**
 * Fields every HTTP destination config shares; spread into its `z.strictObject`.
 *
 * @param defaults The service's default timeout and documented rate limit.
 * @returns The shape of `name`, `timeoutMs` and `rateLimit`.
 * @example
 * ```ts
 * import { destinationBaseShape } from "./destination.ts";
 * import { z } from "zod";
 * import assert from "node:assert/strict";
 *
 * const Schema = z.strictObject({
 *   ...destinationBaseShape({ rateLimit: { perSecond: 1, burst: 3 } }),
 *   type: z.literal("example"),
 * });
 * const config = Schema.parse({ name: "ops", type: "example" });
 * assert.deepEqual(config.rateLimit, { perSecond: 1, burst: 3 });
 * assert.equal(config.timeoutMs, 10_000);
 * ```
 */
export function destinationBaseShape(
  defaults: { timeoutMs?: number; rateLimit?: RateLimit } = {},
): {
  name: typeof DestinationNameSchema;
  timeoutMs: z.ZodDefault<z.ZodNumber>;
  rateLimit: z.ZodOptional<typeof RateLimitSchema> | z.ZodDefault<typeof RateLimitSchema>;
  concurrency: z.ZodOptional<z.ZodNumber>;
} {
  return {
    name: DestinationNameSchema,
    concurrency: z.number().int().min(1).max(256).optional().describe(
      "Requests in flight to this destination; overrides delivery.concurrency",
    ),
    timeoutMs: z.number().int().min(1).max(300_000).default(defaults.timeoutMs ?? 10_000)
      .describe("Time allowed for each request, in ms"),
    rateLimit: defaults.rateLimit === undefined
      ? RateLimitSchema.optional()
      : RateLimitSchema.default(defaults.rateLimit),
  };
}

/** Fields every destination config has. */
export interface DestinationConfigBase {
  /** Unique name routes refer to. */
  name: string;
  /** Destination type, e.g. "webhook". */
  type: string;
  /** Sends allowed per second and at once; unset means unlimited. */
  rateLimit?: RateLimit | undefined;
  /** Requests in flight; unset means `delivery.concurrency`. */
  concurrency?: number | undefined;
}

/** An HTTP request exactly as it would be sent; what dry-run prints. */
export interface OutboundRequest {
  /** HTTP method. */
  method: "POST" | "PUT";
  /** Full URL. */
  url: string;
  /** Headers, secrets included (dry-run masks them). */
  headers: Record<string, string>;
  /** Body text. */
  body: string;
}

/** Per-fingerprint state kept between sends (Slack thread ts, Jira key...). */
export type ThreadState = Record<string, string>;

/** What `send` gets besides the payload. */
export interface SendOptions {
  /** Aborts the attempt (deadline or shutdown). */
  signal?: AbortSignal;
  /** HTTP client; injectable for tests. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Clock in ms. @default Date.now */
  now?: () => number;
  /** State stored for this issue's fingerprint by an earlier send. */
  thread?: ThreadState;
}

/** The result of one attempt. `send` never throws for provider errors. */
export type SendResult =
  | { ok: true; thread?: ThreadState }
  | { ok: false; retryable: boolean; retryAfterMs?: number; reason: string };

/** A destination type. */
export interface Destination<C extends DestinationConfigBase, P> {
  /** Config discriminator, e.g. "webhook". */
  readonly type: C["type"];
  /** zod schema of this destination's config block. */
  readonly config: z.ZodType<C>;
  /** Pure: Issue to the payload(s) to send, within the service's documented limits. */
  render(issue: Issue, config: C): P[];
  /** Pure: the payload as the exact request (or output) it becomes, for dry-run. */
  describe(payload: P, config: C): OutboundRequest | { output: string };
  /** I/O: sends one payload. Returns failures; throws only for programmer errors. */
  send(payload: P, config: C, options: SendOptions): Promise<SendResult>;
  /**
   * Optional: releases what `send` keeps open for this config between sends (a Kafka
   * producer's connections). The dispatcher calls it when a reload changes or removes the
   * config, and at shutdown. Never throws; a later `send` with the config opens anew.
   */
  close?(config: C): Promise<void>;
}

/**
 * Identity helper for inference, like vite's `defineConfig`; freezes the value.
 *
 * @param destination The destination.
 * @returns The same destination, frozen.
 */
export function defineDestination<C extends DestinationConfigBase, P>(
  destination: Destination<C, P>,
): Destination<C, P> {
  return Object.freeze(destination);
}
