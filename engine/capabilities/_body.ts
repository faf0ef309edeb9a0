/**
 * Reads a response body with a byte cap, aborting the transfer as soon as it is exceeded,
 * so a huge or endless response never sits in memory.
 *
 * @module
 */

/**
 * Reads a response body up to `maxBytes`.
 *
 * @param response The response; its body is consumed or cancelled.
 * @param maxBytes Largest body accepted.
 * @returns The bytes, or `undefined` when the body is larger than `maxBytes`.
 */
export async function readCapped(
  response: Response,
  maxBytes: number,
): Promise<Uint8Array | undefined> {
  const declared = Number(response.headers.get("content-length") ?? NaN);
  if (declared > maxBytes) {
    await response.body?.cancel().catch(ignoreCancelFailure);
    return undefined;
  }
  if (!response.body) return new Uint8Array();
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(ignoreCancelFailure);
      return undefined;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/** Cancelling fails only when the stream already errored; the cap was hit either way. */
function ignoreCancelFailure(): undefined {
  return undefined;
}
