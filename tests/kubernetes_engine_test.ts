/**
 * `cano serve` against a cluster: KUBECONFIG points at the Kubernetes API test server (the
 * real wire protocol), a pod gets OOMKilled, a Karo AlertReaction reacts to a webhook alert.
 * Without a cluster, Kubernetes is reported off and the engine still serves.
 *
 * @module
 */
import assert from "node:assert/strict";
import { serveCommand } from "../engine/commands/serve.ts";
import type { KubeObject } from "../engine/kubernetes/api.ts";
import { silentLogger } from "../engine/log.ts";
import { k8sFixture } from "./fixtures/k8s/load.ts";
import { startKubeApiServer } from "./_kube_api_server.ts";
import { startSink } from "./_sink.ts";
import { withEnv } from "./_env.ts";

interface Pod extends KubeObject {
  status: { containerStatuses: { restartCount: number; lastState: Record<string, unknown> }[] };
}

Deno.test("serveCommand() watches the cluster from KUBECONFIG, reports an OOM kill and runs Karo reactions", async () => {
  await using api = await startKubeApiServer({ token: "test-token-1234" });
  await using sink = await startSink();
  const dir = await Deno.makeTempDir({ prefix: "cano-k8s-" });
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
    `${dir}/workflows/owner.ts`,
    `// ${crypto.randomUUID()}: a fresh version each run, so the type check is never cached
import { defineWorkflow, markdown } from "@cano/sdk";
export default defineWorkflow({
  id: "owner",
  description: "Names the controller of an OOMKilled pod",
  triggers: [{ on: "pod_oom_killed" }],
  permissions: { kubernetes: ["pods:get", "replicasets:get", "deployments:get"] },
  async run(ctx) {
    const s = ctx.issue.subject!;
    const chain = await ctx.k8s.ownerChain("Pod", s.namespace!, s.name);
    ctx.enrich("Owner", [markdown(chain.map((o) => o.kind + "/" + o.metadata?.name).join(" <- "))]);
  },
});
`,
  );
  api.apply({
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name: "api-7c9d8b6f5",
      namespace: "shop",
      uid: "0f6a3c1e-8d2b-4a5f-b7e9-3c1d2e4f5a6b",
      ownerReferences: [{
        apiVersion: "apps/v1",
        kind: "Deployment",
        name: "api",
        uid: "d-1",
        controller: true,
      }],
    },
  });
  api.apply({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "api", namespace: "shop", uid: "d-1" },
  });
  await Deno.writeTextFile(
    `${dir}/cano.yaml`,
    `server: { host: 127.0.0.1, port: 0 }
workflows: { directory: ${dir}/workflows }
kubernetes:
  karo: { enabled: true }
destinations: [{ name: sink, type: webhook, url: "${sink.url}/cano" }]
routing: { default: { destinations: [sink] } }
`,
  );
  // The pod is healthy when Cano starts; it is OOMKilled afterwards.
  const oomPod = k8sFixture<Pod>("pod_oom_killed");
  const healthy = structuredClone(oomPod);
  healthy.status.containerStatuses[0]!.restartCount = 0;
  healthy.status.containerStatuses[0]!.lastState = {};
  api.apply(healthy);
  api.apply({
    apiVersion: "karo.io/v1alpha1",
    kind: "AlertReaction",
    metadata: { name: "restart-cache", namespace: "shop" },
    spec: {
      alertName: "CacheDown",
      matchers: [{ name: "severity", operator: "=", value: "critical" }],
      actions: [{
        name: "flush",
        image: "busybox:1.36",
        command: ["sh", "-c", "echo $POD"],
        env: [{ name: "POD", valueFrom: { alertRef: { fieldPath: "labels.pod" } } }],
      }],
    },
  });

  await withEnv(
    { KUBECONFIG: `${dir}/kubeconfig`, KUBERNETES_SERVICE_HOST: undefined },
    async () => {
      const running = await serveCommand({ config: `${dir}/cano.yaml`, log: silentLogger });
      assert.ok(typeof running !== "number");
      try {
        const base = `http://127.0.0.1:${running.port}`;
        await running.workflowsReady;
        await api.waitForWatches(2, 10_000);
        // Let the sources finish their first list before the pod changes.
        await new Promise((r) => setTimeout(r, 300));
        api.update(oomPod);
        await sink.waitFor(
          (requests) =>
            requests.some((r) =>
              (r.json as { issue: { aggregationKey: string } }).issue.aggregationKey ===
                "pod_oom_killed"
            ),
          { timeoutMs: 15_000 },
        );
        const oom = sink.requests.map((r) =>
          (r.json as {
            issue: {
              aggregationKey: string;
              subject?: { kind: string; name: string; container?: string };
              source: string;
            };
          }).issue
        )
          .find((i) => i.aggregationKey === "pod_oom_killed")!;
        assert.equal(oom.source, "kubernetes");
        assert.equal(oom.subject?.kind, "Pod");
        assert.equal(oom.subject?.name, "api-7c9d8b6f5-x2kqp");
        const owner =
          (oom as unknown as { enrichments: { workflow: string; blocks: { text?: string }[] }[] })
            .enrichments.find((e) => e.workflow === "owner");
        assert.ok(owner, JSON.stringify(oom));
        assert.match(
          owner.blocks[0]?.text ?? "",
          /Pod\/api-7c9d8b6f5-x2kqp.*ReplicaSet\/api-7c9d8b6f5.*Deployment\/api/,
        );

        const alert = await fetch(`${base}/api/alerts`, {
          method: "POST",
          body: JSON.stringify({
            status: "firing",
            alerts: [{
              status: "firing",
              labels: {
                alertname: "CacheDown",
                severity: "critical",
                namespace: "shop",
                pod: "cache-0",
              },
              annotations: {},
              startsAt: new Date().toISOString(),
              fingerprint: "00000000000000cc",
            }],
          }),
        });
        assert.equal(alert.status, 200);
        let jobs: KubeObject[] = [];
        for (let i = 0; i < 100 && jobs.length === 0; i++) {
          await new Promise((r) => setTimeout(r, 100));
          const list = await (await fetch(`${api.url}/apis/batch/v1/namespaces/shop/jobs`, {
            headers: { authorization: "Bearer test-token-1234" },
          })).json();
          jobs = list.items;
        }
        assert.equal(jobs.length, 1);
        assert.equal(jobs[0]!.metadata?.labels?.["karo/alert-name"], "CacheDown");
        assert.match(JSON.stringify(jobs[0]), /"name":"POD","value":"cache-0"/);

        const health = await (await fetch(`${base}/health/detailed`)).json();
        assert.equal(health.components.kubernetes.status, "ok");
        assert.equal(health.components.kubernetes.detail.server, api.url);
      } finally {
        await running.shutdown();
        await running.finished;
        await Deno.remove(dir, { recursive: true });
      }
    },
  );
});

Deno.test("serveCommand() without a cluster reports Kubernetes off and still serves", async () => {
  await withEnv({ KUBECONFIG: undefined, KUBERNETES_SERVICE_HOST: undefined }, async () => {
    const running = await serveCommand({ port: 0, log: silentLogger });
    assert.ok(typeof running !== "number");
    try {
      const health = await (await fetch(`http://127.0.0.1:${running.port}/health/detailed`)).json();
      assert.equal(health.components.kubernetes.status, "disabled");
      assert.match(
        health.components.kubernetes.detail.reason,
        /no in-cluster service account and no KUBECONFIG/,
      );
      assert.equal(health.status, "ok");
    } finally {
      await running.shutdown();
      await running.finished;
    }
  });
});
