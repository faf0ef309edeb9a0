import assert from "node:assert/strict";
import { markdown } from "./blocks.ts";
import type { KubernetesObject } from "./kubernetes.ts";
import { createTestContext, runWorkflow } from "./testing.ts";
import { defineWorkflow } from "./workflow.ts";

const POD: KubernetesObject = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    name: "api-7c9d8b6f5-x2kqp",
    namespace: "shop",
    labels: { app: "api", tier: "web" },
    ownerReferences: [{
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      name: "api-7c9d8b6f5",
      uid: "rs-1",
      controller: true,
    }],
  },
  spec: { nodeName: "node-1" },
  status: { phase: "Running" },
};
const CLUSTER = {
  objects: [
    POD,
    {
      kind: "Pod",
      metadata: { name: "db-0", namespace: "shop", labels: { app: "db" } },
      status: { phase: "Pending" },
    },
    {
      kind: "ReplicaSet",
      metadata: {
        name: "api-7c9d8b6f5",
        namespace: "shop",
        ownerReferences: [{
          apiVersion: "apps/v1",
          kind: "Deployment",
          name: "api",
          uid: "d-1",
          controller: true,
        }],
      },
    },
    { kind: "Deployment", metadata: { name: "api", namespace: "shop" }, spec: { replicas: 2 } },
    { kind: "Node", metadata: { name: "node-1" } },
    {
      kind: "Event",
      metadata: { name: "e2", namespace: "shop" },
      involvedObject: { kind: "Pod", name: "api-7c9d8b6f5-x2kqp", namespace: "shop" },
      reason: "BackOff",
      lastTimestamp: "2026-03-01T10:05:00Z",
    },
    {
      kind: "Event",
      metadata: { name: "e1", namespace: "shop" },
      involvedObject: { kind: "Pod", name: "api-7c9d8b6f5-x2kqp", namespace: "shop" },
      reason: "Started",
      lastTimestamp: "2026-03-01T10:00:00Z",
    },
  ],
  logs: {
    "shop/api-7c9d8b6f5-x2kqp/api": "a\nb\nc\n",
    "shop/api-7c9d8b6f5-x2kqp/api (previous)": "boom\nOOM\n",
  },
};

Deno.test("createTestContext() serves ctx.k8s reads from fixture objects and logs", async () => {
  const { ctx, calls } = createTestContext({
    permissions: {
      kubernetes: [
        "pods:get",
        "pods:list",
        "pods/log:get",
        "events:list",
        "replicasets:get",
        "nodes:get",
      ],
    },
    k8s: CLUSTER,
  });
  const pod = await ctx.k8s.get("Pod", "shop", "api-7c9d8b6f5-x2kqp");
  assert.equal(pod.metadata?.labels?.app, "api");
  const listed = await ctx.k8s.list("pods", {
    namespace: "shop",
    labelSelector: "app!=db,tier",
    fieldSelector: "status.phase=Running",
  });
  assert.deepEqual(listed.items.map((p) => p.metadata?.name), ["api-7c9d8b6f5-x2kqp"]);
  assert.equal(
    await ctx.k8s.logs({
      namespace: "shop",
      pod: "api-7c9d8b6f5-x2kqp",
      container: "api",
      previous: true,
    }),
    "boom\nOOM\n",
  );
  assert.equal(
    await ctx.k8s.logs({
      namespace: "shop",
      pod: "api-7c9d8b6f5-x2kqp",
      container: "api",
      tailLines: 2,
    }),
    "b\nc\n",
  );
  const events = await ctx.k8s.events({
    kind: "Pod",
    namespace: "shop",
    name: "api-7c9d8b6f5-x2kqp",
  });
  assert.deepEqual(events.map((e) => e.reason), ["Started", "BackOff"]);
  // deployments:get is not declared: the chain stops at the ReplicaSet.
  const chain = await ctx.k8s.ownerChain("Pod", "shop", "api-7c9d8b6f5-x2kqp");
  assert.deepEqual(chain.map((o) => o.kind), ["Pod", "ReplicaSet"]);
  assert.equal((await ctx.k8s.podNode("shop", "api-7c9d8b6f5-x2kqp")).metadata?.name, "node-1");
  assert.deepEqual(calls, [
    "get Pod shop/api-7c9d8b6f5-x2kqp",
    "list pods shop",
    "logs shop/api-7c9d8b6f5-x2kqp/api (previous)",
    "logs shop/api-7c9d8b6f5-x2kqp/api",
    "events Pod shop/api-7c9d8b6f5-x2kqp",
    "ownerChain Pod shop/api-7c9d8b6f5-x2kqp",
    "podNode shop/api-7c9d8b6f5-x2kqp",
  ]);
  await assert.rejects(
    ctx.k8s.get("Pod", "shop", "gone"),
    /Cannot get Pod "shop\/gone": not found/,
  );
});

Deno.test("createTestContext() refuses undeclared ctx.k8s calls and Secrets with the engine's wording", async () => {
  const { ctx, calls } = createTestContext({
    permissions: { kubernetes: ["pods:get"] },
    k8s: CLUSTER,
  });
  await assert.rejects(ctx.k8s.deletePod("shop", "api-7c9d8b6f5-x2kqp"), {
    message:
      'Cannot call "k8s.deletePod": the workflow does not declare "pods:delete" in permissions.kubernetes (declared: pods:get)',
  });
  await assert.rejects(
    ctx.k8s.get("Secret", "shop", "db-password"),
    /Secrets are never readable by workflows/,
  );
  assert.deepEqual(calls, []);
});

Deno.test("runWorkflow() lets a remediation workflow change the fixture cluster", async () => {
  const workflow = defineWorkflow({
    id: "restart-api",
    description: "Restarts the pod's deployment and deletes the pod",
    triggers: [{ on: "prometheus_alert" }],
    permissions: {
      kubernetes: [
        "pods:get",
        "pods:delete",
        "replicasets:get",
        "deployments:*",
        "deployments/scale:patch",
      ],
    },
    async run(ctx) {
      const chain = await ctx.k8s.ownerChain("Pod", "shop", "api-7c9d8b6f5-x2kqp");
      const deployment = chain.at(-1)!;
      const restarted = await ctx.k8s.rolloutRestart(
        "Deployment",
        "shop",
        deployment.metadata!.name!,
      );
      const scaled = await ctx.k8s.scale("Deployment", "shop", "api", 3);
      await ctx.k8s.deletePod("shop", "api-7c9d8b6f5-x2kqp");
      const annotations = (restarted.spec as { template: { metadata: { annotations: object } } })
        .template.metadata.annotations;
      const gone = await ctx.k8s.get("Pod", "shop", "api-7c9d8b6f5-x2kqp")
        .then(() => "still there", (error: Error) => error.message.split(":")[1]?.trim());
      ctx.enrich("Done", [
        markdown(
          `${Object.keys(annotations)[0]} ${(scaled.spec as { replicas: number }).replicas}`,
        ),
        markdown(`pod ${gone}`),
      ]);
    },
  });
  const { enrichments, calls } = await runWorkflow(workflow, { k8s: CLUSTER });
  assert.deepEqual(enrichments, [{
    title: "Done",
    blocks: [markdown("kubectl.kubernetes.io/restartedAt 3"), markdown("pod not found (fixtures")],
  }]);
  assert.deepEqual(calls, [
    "ownerChain Pod shop/api-7c9d8b6f5-x2kqp",
    "rolloutRestart Deployment shop/api",
    "scale Deployment shop/api 3",
    "deletePod shop/api-7c9d8b6f5-x2kqp",
    "get Pod shop/api-7c9d8b6f5-x2kqp",
  ]);
  // The fixtures given are not changed: each run starts from them.
  assert.equal(CLUSTER.objects.length, 7);
});

Deno.test("createTestContext() passes ctx.k8s calls to a handler with the engine's argument shape", async () => {
  const seen: unknown[] = [];
  const { ctx } = createTestContext({
    permissions: { kubernetes: ["jobs:create"] },
    k8s: (call) => {
      seen.push(call);
      return { kind: "Job", metadata: { name: "dump-1", namespace: "shop" } };
    },
  });
  const job = await ctx.k8s.createJob("shop", { metadata: { name: "dump-1" }, spec: {} });
  assert.equal(job.metadata?.name, "dump-1");
  assert.deepEqual(seen, [{
    method: "createJob",
    args: { namespace: "shop", job: { metadata: { name: "dump-1" }, spec: {} } },
  }]);
});
