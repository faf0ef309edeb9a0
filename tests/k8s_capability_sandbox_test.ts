/**
 * `ctx.k8s` from a sandboxed workflow: a real child process, the real capability host with
 * the Kubernetes providers, the real client and the Kubernetes API test server.
 *
 * @module
 */
import { PermissionsSchema } from "@cano/sdk";
import assert from "node:assert/strict";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createCapabilityHost } from "../engine/capabilities/host.ts";
import { createKubernetesProviders } from "../engine/capabilities/kubernetes.ts";
import { createKubeClientForUrl } from "../engine/kubernetes/client.ts";
import { silentLogger } from "../engine/log.ts";
import { createMetrics, type Metrics } from "../engine/metrics.ts";
import { findPrlimit } from "../engine/sandbox/child.ts";
import { parseSandboxConfig } from "../engine/sandbox/config.ts";
import { ensureSdkBundle } from "../engine/sandbox/sdk_bundle.ts";
import { writeSnapshot } from "../engine/sandbox/snapshot.ts";
import { Supervisor } from "../engine/sandbox/supervisor.ts";
import { k8sFixture } from "./fixtures/k8s/load.ts";
import { startKubeApiServer } from "./_kube_api_server.ts";

const WORK_DIR = join(tmpdir(), "cano-sandbox-test");

const WORKFLOW = `import { defineWorkflow, json } from "@cano/sdk";
export default defineWorkflow({
  id: "pod-reader",
  description: "Reads the alert's pod through ctx.k8s",
  triggers: [{ on: "manual" }],
  permissions: { kubernetes: ["pods:get", "pods/log:get", "replicasets:get", "deployments:get"] },
  async run(ctx) {
    const pod = await ctx.k8s.get("Pod", "shop", "api-7c9d8b6f5-x2kqp");
    const chain = await ctx.k8s.ownerChain("Pod", "shop", "api-7c9d8b6f5-x2kqp");
    const logs = await ctx.k8s.logs({ namespace: "shop", pod: "api-7c9d8b6f5-x2kqp", previous: true, tailLines: 1 });
    const deleted = await ctx.k8s.deletePod("shop", "api-7c9d8b6f5-x2kqp").then(() => "deleted", (e) => e.message);
    const secret = await ctx.k8s.get("Secret", "shop", "db").then(() => "read", (e) => e.message);
    ctx.enrich("Pod", [json({
      name: pod.metadata?.name ?? null,
      managedFields: pod.metadata?.managedFields ?? null,
      chain: chain.map((o) => o.kind ?? ""),
      logs,
      deleted,
      secret,
    })]);
  },
});
`;

async function count(metrics: Metrics, capability: string, outcome: string): Promise<number> {
  const { values } = await metrics.registry.getSingleMetric("cano_sandbox_capability_calls_total")!
    .get();
  return values.filter((v) => v.labels.capability === capability && v.labels.outcome === outcome)
    .reduce((sum, v) => sum + v.value, 0);
}

Deno.test(
  "ctx.k8s in a sandboxed workflow reads through the host, is refused what it did not declare, and is counted",
  { sanitizeOps: false, sanitizeResources: false },
  async () => {
    await using server = await startKubeApiServer();
    const pod = k8sFixture("pod_oom_killed");
    pod.metadata!.managedFields = [{ manager: "kubelet" }];
    server.apply(pod);
    const deployment = server.apply(k8sFixture("deployment_api"));
    server.apply({
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
          uid: deployment.metadata.uid,
          controller: true,
        }],
      },
    });
    server.setPodLog("shop", "api-7c9d8b6f5-x2kqp", "api", {
      previous: "starting\njava.lang.OutOfMemoryError: Java heap space\n",
    });
    using api = createKubeClientForUrl(server.url);
    const metrics = createMetrics();
    const host = createCapabilityHost({
      countMetrics: false,
      providers: createKubernetesProviders({ api }),
    });

    const sdk = await ensureSdkBundle({ workDir: WORK_DIR });
    const entry = { rel: "pod_reader.ts", content: new TextEncoder().encode(WORKFLOW) };
    const version = await writeSnapshot(WORK_DIR, entry, []);
    const denoDir = join(WORK_DIR, "deno-dirs", version.hash.slice(0, 16));
    await Deno.mkdir(denoDir, { recursive: true });
    const config = parseSandboxConfig({ restartBackoffMs: 0 });
    if (config.uid !== undefined) await Deno.chown(denoDir, config.uid, config.gid ?? null);
    const supervisor = new Supervisor({
      spec: {
        snapshotDir: version.snapshotDir,
        entry: version.entry,
        sdk,
        denoDir,
        cwd: "/",
        prlimit: await findPrlimit(),
      },
      config,
      capabilityHost: host,
      metrics,
      log: silentLogger,
      name: "pod-reader",
    });
    await supervisor.start((manifest) => PermissionsSchema.parse(manifest.permissions));
    try {
      const result = await supervisor.run({
        issue: {
          id: "1",
          fingerprint: "fp",
          aggregationKey: "k",
          type: "manual",
          source: "manual",
          title: "t",
          severity: "LOW",
          status: "firing",
          labels: {},
          annotations: {},
          startsAt: "2026-03-01T10:00:00Z",
          createdAt: "2026-03-01T10:00:00Z",
          links: [],
          enrichments: [],
        },
        params: {},
        timeoutMs: 10_000,
      });
      assert.equal(result.outcome, "success", result.error ?? "");
      const block = result.enrichments[0]!.blocks[0]!;
      assert.ok(block.type === "json");
      assert.deepEqual(block.value, {
        name: "api-7c9d8b6f5-x2kqp",
        managedFields: null,
        chain: ["Pod", "ReplicaSet", "Deployment"],
        logs: "java.lang.OutOfMemoryError: Java heap space\n",
        deleted:
          'Cannot delete Pod "shop/api-7c9d8b6f5-x2kqp": the workflow does not declare "pods:delete" in permissions.kubernetes (declared: pods:get, pods/log:get, replicasets:get, deployments:get)',
        secret: 'Cannot get Secret "shop/db": Secrets are never readable by workflows',
      });
      assert.ok(server.get("/api/v1/namespaces/shop/pods/api-7c9d8b6f5-x2kqp"));
      assert.equal(await count(metrics, "k8s.get", "ok"), 1);
      assert.equal(await count(metrics, "k8s.ownerChain", "ok"), 1);
      assert.equal(await count(metrics, "k8s.logs", "ok"), 1);
      assert.equal(await count(metrics, "k8s.deletePod", "not_permitted"), 1);
      assert.equal(await count(metrics, "k8s.get", "not_permitted"), 1);
      assert.equal(
        server.requests.filter((r) => r.method === "DELETE" || r.path.includes("secrets")).length,
        0,
      );
    } finally {
      await supervisor.close();
    }
  },
);
