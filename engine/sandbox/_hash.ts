/**
 * SHA-256 helpers for content-addressed workflow versions and caches.
 *
 * @module
 */

const encoder = new TextEncoder();

/**
 * Hashes named parts (e.g. files) so that the same names and contents give the same hash.
 *
 * @param parts `[name, content]` pairs, in any order.
 * @returns The lower-case hex SHA-256.
 */
export async function hashParts(
  parts: readonly (readonly [string, Uint8Array | string])[],
): Promise<string> {
  const sorted = [...parts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const chunks: Uint8Array[] = [];
  for (const [name, content] of sorted) {
    const bytes = typeof content === "string" ? encoder.encode(content) : content;
    chunks.push(encoder.encode(`${name}\0${bytes.length}\0`), bytes);
  }
  const total = chunks.reduce((sum, c) => sum + c.length, 0);
  const all = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.length;
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", all));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
