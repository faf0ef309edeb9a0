/**
 * Subprocess of `k8s_goaway_test.ts` (opt-in measurement): `@kubernetes/client-node` lists
 * and watches pods on an HTTPS API server that then shuts down gracefully (HTTP/2 GOAWAY).
 * Under Deno this process can abort (nghttp2 assertion, exit 134) or segfault (139); it
 * prints `exiting normally` when it survives.
 *
 * Environment: `API_URL`, `CA_FILE`, `MODE` (`list` or `watch`).
 *
 * @module
 */
import * as k8s from "@kubernetes/client-node";

if (import.meta.main) await main();

async function main(): Promise<void> {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{
      name: "test",
      server: Deno.env.get("API_URL")!,
      caData: btoa(await Deno.readTextFile(Deno.env.get("CA_FILE")!)),
      skipTLSVerify: false,
    }],
    users: [{ name: "test", token: "t" }],
    contexts: [{ name: "test", cluster: "test", user: "test" }],
    currentContext: "test",
  });
  const write = (line: string) => Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));
  if (Deno.env.get("MODE") === "list") {
    const pods = await kc.makeApiClient(k8s.CoreV1Api).listNamespacedPod({ namespace: "payments" });
    write(`listed ${pods.items.length}`);
  } else {
    await new Promise<void>((resolve) => {
      new k8s.Watch(kc).watch(
        "/api/v1/namespaces/payments/pods",
        {},
        (type: string) => write(`event ${type}`),
        () => resolve(),
      );
    });
    write("watch done");
  }
  write("ready");
  await new Promise((resolve) => setTimeout(resolve, 2500));
  write("exiting normally");
  Deno.exit(0);
}
