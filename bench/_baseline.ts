/**
 * The baseline the throughput benchmark compares Cano with: the least a receiver can do.
 * A plain `Deno.serve` handler that parses the Alertmanager JSON and POSTs each alert to the
 * sink as `{"version":"1","issue":<alert>}`, answering once all are forwarded. No validation,
 * enrichment, routing, retries or metrics.
 *
 * @module
 */

/** A running baseline server. */
export interface Baseline extends AsyncDisposable {
  /** The webhook URL to post payloads to. */
  readonly url: string;
  /** Stops the server. */
  close(): Promise<void>;
}

/**
 * Starts the parse-and-forward baseline on an ephemeral loopback port.
 *
 * @param sinkUrl Where each alert is forwarded.
 * @returns The running server.
 */
export async function startBaseline(sinkUrl: string): Promise<Baseline> {
  const listening = Promise.withResolvers<number>();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: ({ port }) => listening.resolve(port),
  }, async function forward(request) {
    let alerts: unknown[];
    try {
      const body = await request.json() as { alerts?: unknown };
      alerts = Array.isArray(body.alerts) ? body.alerts : [];
    } catch (_error) {
      return new Response("malformed JSON", { status: 400 });
    }
    await Promise.all(alerts.map(async (alert) => {
      const response = await fetch(sinkUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ version: "1", issue: alert }),
      });
      await response.body?.cancel();
    }));
    return new Response("ok");
  });
  const port = await listening.promise;
  const close = () => server.shutdown();
  return { url: `http://127.0.0.1:${port}/api/alerts`, close, [Symbol.asyncDispose]: close };
}
