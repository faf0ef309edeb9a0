/**
 * Durations in config: a number of milliseconds or a string such as `"30s"`, `"5m"`,
 * `"4h"`, `"7d"` (parsed by the `ms` package).
 *
 * @module
 */
import ms from "ms";
import { z } from "zod";

/**
 * A duration, parsed to milliseconds.
 *
 * @example
 * ```ts
 * import { DurationSchema } from "./duration.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(DurationSchema.parse("5m"), 300_000);
 * assert.equal(DurationSchema.parse(250), 250);
 * assert.throws(() => DurationSchema.parse("soon"));
 * ```
 */
export const DurationSchema: z.ZodType<number, number | string> = z.union([
  z.number().int().nonnegative(),
  z.string().transform((text, ctx) => {
    const value = ms(text as ms.StringValue) as number | undefined;
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      ctx.addIssue({
        code: "custom",
        message: `Expected a duration like "30s", "5m" or "4h", received "${text}"`,
      });
      return z.NEVER;
    }
    return value;
  }),
]);
