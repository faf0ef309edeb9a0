/**
 * The destination contract: pure rendering kept apart from I/O.
 *
 * `render` is pure and `cano dry-run` prints exactly what it returns; `send` does the I/O
 * and reports whether a failure can be retried. The delivery layer owns retries.
 *
 * @module
 */
import type { Issue } from "@cano/sdk";
import type { z } from "zod";

/** Fields every destination config has. */
export interface DestinationConfigBase {
  /** Unique name routes refer to. */
  name: string;
  /** Destination type, e.g. "webhook". */
  type: string;
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
