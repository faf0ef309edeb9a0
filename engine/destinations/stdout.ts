/**
 * Writes each Issue to standard output, as readable text or as one JSON line.
 *
 * ## Config
 * - `name`: unique name routes refer to.
 * - `type`: `"stdout"`.
 * - `format`: `"text"` (default) for people, `"json"` for one JSON line per Issue
 *   (log collectors, `jq`).
 * - `color`: ANSI colours in text output (default `false`, so output is stable).
 *
 * ## Limits
 * None. File blocks are summarised (name, size, first lines), not printed whole.
 *
 * ## Threading
 * None: every Issue is written on its own. Writes are serialized, so two Issues never
 * interleave.
 *
 * ## Example payload
 * ```text
 * [FIRING] HIGH Pod OOMKilled
 * Source:      prometheus, alert
 * Started:     2026-03-01T10:00:00Z
 * Fingerprint: f1
 *
 * ## Resources (oom-context)
 * container  limit
 * ---------  -----
 * api        512Mi
 * ```
 *
 * @example Render an Issue without writing it
 * ```ts
 * import stdout, { StdoutConfigSchema } from "./stdout.ts";
 * import { IssueSchema } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * const config = StdoutConfigSchema.parse({ name: "console", type: "stdout" });
 * const issue = IssueSchema.parse({
 *   id: "1", fingerprint: "f1", aggregationKey: "Oom", type: "alert", source: "prometheus",
 *   title: "Pod OOMKilled", severity: "HIGH", status: "firing",
 *   startsAt: "2026-03-01T10:00:00Z", createdAt: "2026-03-01T10:00:01Z",
 * });
 * const [payload] = stdout.render(issue, config);
 * assert.deepEqual(stdout.describe(payload!, config), { output: payload });
 * ```
 *
 * @module
 */
import { z } from "zod";
import type { Issue } from "@cano/sdk";
import {
  defineDestination,
  type Destination,
  DestinationNameSchema,
  type SendResult,
} from "./destination.ts";
import { renderIssueText } from "./_text.ts";

/** Config of a stdout destination. */
export const StdoutConfigSchema = z.strictObject({
  name: DestinationNameSchema,
  type: z.literal("stdout"),
  format: z.enum(["text", "json"]).default("text")
    .describe("text for people, json for one JSON line per Issue"),
  color: z.boolean().default(false).describe("ANSI colours in text output"),
});
/** Config of a stdout destination, defaults applied. */
export type StdoutConfig = z.infer<typeof StdoutConfigSchema>;

/** Where output goes; `Deno.stdout` fits. */
export interface StdoutWriter {
  /** Writes some bytes, returning how many were written. */
  write(bytes: Uint8Array): Promise<number>;
}

/** Options of {@linkcode createStdoutDestination}. */
export interface StdoutDestinationOptions {
  /** Where output goes. @default Deno.stdout */
  writer?: StdoutWriter;
}

/**
 * Creates a stdout destination writing to `writer`. The default export writes to
 * `Deno.stdout`; tests pass their own writer.
 *
 * @param options The writer.
 * @returns The destination; its payload is the text written, without the final newline.
 * @example Capture output
 * ```ts
 * import { createStdoutDestination, StdoutConfigSchema } from "./stdout.ts";
 * import assert from "node:assert/strict";
 *
 * const chunks: Uint8Array[] = [];
 * const destination = createStdoutDestination({
 *   writer: {
 *     write(bytes) {
 *       chunks.push(bytes);
 *       return Promise.resolve(bytes.length);
 *     },
 *   },
 * });
 * const config = StdoutConfigSchema.parse({ name: "console", type: "stdout" });
 * assert.deepEqual(await destination.send("hello", config, {}), { ok: true });
 * assert.equal(new TextDecoder().decode(chunks[0]), "hello\n");
 * ```
 */
export function createStdoutDestination(
  { writer = Deno.stdout }: StdoutDestinationOptions = {},
): Destination<StdoutConfig, string> {
  const encoder = new TextEncoder();
  let tail: Promise<unknown> = Promise.resolve();
  return defineDestination({
    type: "stdout",
    config: StdoutConfigSchema,
    render(issue: Issue, config: StdoutConfig): string[] {
      return [
        config.format === "json"
          ? JSON.stringify(issue)
          : renderIssueText(issue, { color: config.color }),
      ];
    },
    describe(payload: string): { output: string } {
      return { output: payload };
    },
    send(payload: string): Promise<SendResult> {
      const write = tail.then(() => writeAll(writer, encoder.encode(payload + "\n")));
      tail = write.catch(() => undefined);
      return write.then(
        (): SendResult => ({ ok: true }),
        (error: unknown): SendResult => ({
          ok: false,
          retryable: !(error instanceof Deno.errors.BrokenPipe ||
            error instanceof Deno.errors.BadResource),
          reason: `Cannot write to stdout: ${error instanceof Error ? error.message : error}`,
        }),
      );
    },
  });
}

async function writeAll(writer: StdoutWriter, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    const written = await writer.write(bytes.subarray(offset));
    if (written <= 0) throw new Error(`writer accepted ${written} bytes`);
    offset += written;
  }
}

/** The stdout destination, writing to `Deno.stdout`. */
export default createStdoutDestination();
