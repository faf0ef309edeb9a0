/**
 * `cano serve` restarted on the same state file (`delivery.state`) against the Kubernetes
 * API test server: the Kubernetes sources' gate remembers what it delivered, so a pod still
 * crash-looping is not reported again after the restart, and its resolution is delivered
 * whether the pod is deleted while Cano was down (found by the first list) or while it runs.
 *
 * @module
 */
import assert from "node:assert/strict";
import { serveCommand } from "../engine/commands/serve.ts";
import type { KubeObject } from "../engine/kubernetes/api.ts";
import { silentLogger } from "../engine/log.ts";
import { k8sFixture } from "./fixtures/k8s/load.ts";
import { startKubeApiServer } from "./_kube_api_server.ts";
import { type SinkRequest, startSink } from "./_sink.ts";
import { withEnv } from "./_env.ts";

interface Delivered {
  fingerprint: string;
  aggregationKey: string;
  status: string;
  title: string;
  subject?: { name: string };
}

const issuesOf = (requests: readonly SinkRequest[]): Delivered[] =>
  requests.map((r) => (r.json as { issue: Delivered }).issue)
    .filter((i) => i.aggregationKey === "pod_crash_loop");

/** Starts `cano serve` and waits until every Kubernetes watch has done its first list. */
async function serveSynced(config: string) {
  const running = await serveCommand({ config, log: silentLogger });
  assert.ok(typeof running !== "number");
  const base = `http://127.0.0.1:${running.port}`;
  for (let i = 0;; i++) {
    const health = await (await fetch(`${base}/health/detailed`)).json();
    const watches: { synced: boolean }[] = health.components.kubernetes?.detail?.sources?.watches ??
      [];
    if (watches.length > 0 && watches.every((w) => w.synced)) break;
    assert.ok(i < 150, `watches not synced: ${JSON.stringify(health.components.kubernetes)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { running, base };
}

Deno.test("serveCommand() with delivery.state does not repeat an ongoing crash loop after a restart and delivers its resolution", async () => {
  await using api = await startKubeApiServer({ token: "test-token-1234" });
  await using sink = await startSink();
  const dir = await Deno.makeTempDir({ prefix: "cano-k8s-gate-" });
  try {
    await Deno.writeTextFile(
      `${dir}/kubeconfig`,
      `apiVersion: v1
kind: Config
clusters: [{ name: test, cluster: { server: "${api.url}", insecure-skip-tls-verify: true } }]
users: [{ name: test, user: { token: test-token-1234 } }]
contexts: [{ name: test, context: { cluster: test, user: test } }]
current-context: test
`,
    );
    await Deno.mkdir(`${dir}/workflows`);
    await Deno.writeTextFile(
      `${dir}/cano.yaml`,
      `server: { host: 127.0.0.1, port: 0 }
workflows: { directory: ${dir}/workflows }
delivery: { state: ${dir}/state.db }
destinations: [{ name: sink, type: webhook, url: "${sink.url}/cano" }]
routing: { default: { destinations: [sink] } }
`,
    );
    // Two pods crash-loop before Cano starts: one is deleted while Cano is down, the other
    // while the second Cano runs.
    const kept = k8sFixture<KubeObject>("pod_crash_loop");
    const gone = structuredClone(kept);
    gone.metadata = { ...gone.metadata, name: "checkout-5d8f7b9c4-zz9kp", uid: "gone-uid-1" };
    api.apply(kept);
    api.apply(gone);

    await withEnv(
      { KUBECONFIG: `${dir}/kubeconfig`, KUBERNETES_SERVICE_HOST: undefined },
      async () => {
        // First run: both ongoing crash loops are reported, once each.
        const first = await serveSynced(`${dir}/cano.yaml`);
        try {
          await sink.waitFor((r) => issuesOf(r).length >= 2, { timeoutMs: 15_000 });
          await new Promise((r) => setTimeout(r, 500));
        } finally {
          await first.running.shutdown();
          await first.running.finished;
        }
        const firings = issuesOf(sink.requests);
        assert.deepEqual(firings.map((i) => i.status), ["firing", "firing"]);
        const fingerprintOf = (pod: string) =>
          firings.find((i) => i.subject?.name === pod)!.fingerprint;
        const keptFingerprint = fingerprintOf("checkout-5d8f7b9c4-q7wzt");
        const goneFingerprint = fingerprintOf("checkout-5d8f7b9c4-zz9kp");
        assert.notEqual(keptFingerprint, goneFingerprint);

        // Deleted while Cano is down.
        assert.ok(api.remove(gone));

        // Second run on the same state file.
        const second = await serveSynced(`${dir}/cano.yaml`);
        try {
          // The deletion seen by the first list resolves the gone pod's crash loop.
          await sink.waitFor((r) => issuesOf(r).length >= 3, { timeoutMs: 15_000 });
          await new Promise((r) => setTimeout(r, 500));
          const afterStart = issuesOf(sink.requests).slice(2);
          assert.deepEqual(
            afterStart.map((i) => [i.fingerprint, i.status]),
            [[goneFingerprint, "resolved"]],
            "the ongoing crash loop of the kept pod is not reported again",
          );
          assert.match(afterStart[0]!.title, /^Pod checkout-5d8f7b9c4-zz9kp was deleted: /);

          // Deleted while the second Cano runs.
          assert.ok(api.remove(kept));
          await sink.waitFor((r) => issuesOf(r).length >= 4, { timeoutMs: 15_000 });
          await new Promise((r) => setTimeout(r, 300));
          assert.deepEqual(
            issuesOf(sink.requests).slice(3).map((i) => [i.fingerprint, i.status]),
            [[keptFingerprint, "resolved"]],
          );
          const health = await (await fetch(`${second.base}/health/detailed`)).json();
          assert.equal(health.components.kubernetes.detail.sources.openIssues, 0);
        } finally {
          await second.running.shutdown();
          await second.running.finished;
        }
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
