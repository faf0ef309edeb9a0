/**
 * Runs test code with environment variables set (or removed), restoring them afterwards.
 *
 * @module
 */

/**
 * Sets `vars` (`undefined` removes one), runs `fn`, then puts the old values back.
 *
 * @param vars Variables to set or remove.
 * @param fn The code to run.
 * @returns What `fn` returns.
 */
export async function withEnv<T>(
  vars: Record<string, string | undefined>,
  fn: () => Promise<T>,
): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, Deno.env.get(k)]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(values)) {
      v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
    }
  };
  apply(vars);
  try {
    return await fn();
  } finally {
    apply(saved);
  }
}
