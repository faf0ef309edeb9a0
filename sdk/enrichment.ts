/**
 * `checkEnrichment`: validates what a workflow passes to `ctx.enrich`, exactly as the engine
 * does, so `sdk/testing.ts` and the engine's in-process runner reject the same blocks.
 *
 * @example
 * ```ts
 * import { checkEnrichment, markdown } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(checkEnrichment("notes", "Note", [markdown("hi")]), {
 *   title: "Note",
 *   blocks: [{ type: "markdown", text: "hi" }],
 * });
 * assert.throws(() => checkEnrichment("notes", undefined, [{ type: "nope" } as never]), TypeError);
 * ```
 *
 * @module
 */
import { type Block, BlockSchema } from "./blocks.ts";

/** Built once: constructing a zod schema costs more than parsing with it. */
const BLOCKS_SCHEMA = BlockSchema.array();

/**
 * Validates the arguments of one `ctx.enrich` call.
 *
 * @param workflowId The calling workflow, for the message.
 * @param title The enrichment title.
 * @param blocks The blocks.
 * @returns The title (when given) and the parsed blocks.
 * @throws {TypeError} Naming the workflow and the first invalid block.
 */
export function checkEnrichment(
  workflowId: string,
  title: string | undefined,
  blocks: Block[],
): { title?: string; blocks: Block[] } {
  const parsed = BLOCKS_SCHEMA.safeParse(blocks);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new TypeError(
      `Cannot enrich from workflow "${workflowId}": invalid block at ${
        first?.path.join(".")
      }: ${first?.message}`,
    );
  }
  return title === undefined
    ? { blocks: parsed.data }
    : { title: String(title), blocks: parsed.data };
}
