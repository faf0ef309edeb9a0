/**
 * Appends each Issue as one JSON line (NDJSON) to a file.
 *
 * ## Config
 * - `name`: unique name routes refer to.
 * - `type`: `"file"`.
 * - `path`: the file; it and its parent directories are created when missing.
 *
 * ## Limits
 * None. The whole Issue is written, `raw` included.
 *
 * ## Threading
 * None. Appends to one path are serialized within the process, in call order, so lines
 * never interleave however many deliveries run at once.
 *
 * ## Example payload
 * ```json
 * {"id":"1","fingerprint":"f1","aggregationKey":"Oom","type":"alert","source":"prometheus", ...}
 * ```
 *
 * @example Append an Issue
 * ```ts
 * import file, { FileConfigSchema } from "./file.ts";
 * import { IssueSchema } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * const config = FileConfigSchema.parse({ name: "audit", type: "file", path: `${dir}/a/issues.ndjson` });
 * const issue = IssueSchema.parse({
 *   id: "1", fingerprint: "f1", aggregationKey: "Oom", type: "alert", source: "prometheus",
 *   title: "Pod OOMKilled", severity: "HIGH", status: "firing",
 *   startsAt: "2026-03-01T10:00:00Z", createdAt: "2026-03-01T10:00:01Z",
 * });
 * for (const payload of file.render(issue, config)) await file.send(payload, config, {});
 * const lines = (await Deno.readTextFile(config.path)).trimEnd().split("\n");
 * assert.equal(JSON.parse(lines[0]!).fingerprint, "f1");
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import { z } from "zod";
import type { Issue } from "@cano/sdk";
import { defineDestination, DestinationNameSchema, type SendResult } from "./destination.ts";

/** Config of a file destination. */
export const FileConfigSchema = z.strictObject({
  name: DestinationNameSchema,
  type: z.literal("file"),
  path: z.string().min(1, { error: "File destination needs a path, e.g. /var/log/cano.ndjson" })
    .describe("File the JSON lines are appended to; created with its directories"),
});
/** Config of a file destination. */
export type FileConfig = z.infer<typeof FileConfigSchema>;

/** Tail of the append chain per absolute path, so appends to one file never overlap. */
const appends = new Map<string, Promise<void>>();

/** The file destination: one JSON line per Issue; the payload is the line without "\n". */
const file = defineDestination({
  type: "file",
  config: FileConfigSchema,
  render(issue: Issue): string[] {
    return [JSON.stringify(issue)];
  },
  describe(payload: string): { output: string } {
    return { output: payload };
  },
  send(payload: string, config: FileConfig): Promise<SendResult> {
    const path = resolve(config.path);
    const append = (appends.get(path) ?? Promise.resolve()).then(async () => {
      await Deno.mkdir(dirname(path), { recursive: true });
      await Deno.writeTextFile(path, payload + "\n", { append: true, create: true });
    });
    const tail = append.catch(() => undefined);
    appends.set(path, tail);
    void tail.then(() => {
      if (appends.get(path) === tail) appends.delete(path);
    });
    return append.then(
      (): SendResult => ({ ok: true }),
      (error: unknown): SendResult => ({
        ok: false,
        retryable: !(error instanceof Deno.errors.PermissionDenied ||
          error instanceof Deno.errors.IsADirectory ||
          error instanceof Deno.errors.NotADirectory),
        reason: `Cannot append to ${path}: ${error instanceof Error ? error.message : error}`,
      }),
    );
  },
});

export default file;
