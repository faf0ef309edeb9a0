/**
 * Subprocess of `k8s_goaway_test.ts`: Cano's transport and informer watching pods on an
 * HTTPS API server that shuts down gracefully (HTTP/2 GOAWAY) and comes back, cycle after
 * cycle. Prints one JSON line per pod added and exits 0 once it has seen `pod-<CYCLES>`.
 *
 * Environment: `API_URL`, `CA_FILE`, `CYCLES`, `HTTP2` (`1` to allow HTTP/2).
 *
 * @module
 */
import { createKubeClient } from "../engine/kubernetes/client.ts";
import { createInformer } from "../engine/kubernetes/informer.ts";
import { createLogger } from "../engine/log.ts";

if (import.meta.main) await main();

async function main(): Promise<void> {
  const url = Deno.env.get("API_URL")!;
  const ca = await Deno.readTextFile(Deno.env.get("CA_FILE")!);
  const cycles = Number(Deno.env.get("CYCLES") ?? "3");
  const log = createLogger({ level: "warn", format: "text" });
  const api = createKubeClient(
    {
      server: url,
      headers: () => Promise.resolve({ authorization: "Bearer t" }),
      tls: { caCerts: [ca] },
    },
    { http2: Deno.env.get("HTTP2") === "1", timeoutMs: 5000, log },
  );
  const done = Promise.withResolvers<void>();
  const write = (line: unknown) =>
    Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(line) + "\n"));
  const informer = createInformer(api, {
    path: "/api/v1/namespaces/payments/pods",
    log,
    minBackoffMs: 50,
    maxBackoffMs: 200,
    watchdogMs: 10_000,
    handlers: {
      onAdd(pod, { initial }) {
        write({ added: pod.metadata?.name, initial });
        if (pod.metadata?.name === `pod-${cycles}`) done.resolve();
      },
    },
  });
  informer.start();
  await done.promise;
  // Let pooled connections meet the last GOAWAY, then leave normally.
  await new Promise((resolve) => setTimeout(resolve, 300));
  await informer.stop();
  api.close();
  write({ exit: "normal", status: informer.status() });
  Deno.exit(0);
}
