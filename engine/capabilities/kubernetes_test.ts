import { type KubernetesCapability, PermissionsSchema } from "@cano/sdk";
import assert from "node:assert/strict";
import { k8sFixture } from "../../tests/fixtures/k8s/load.ts";
import { type KubeApiServer, startKubeApiServer } from "../../tests/_kube_api_server.ts";
import { createKubeClientForUrl, type KubeClient } from "../kubernetes/client.ts";
import { createLogger } from "../log.ts";
import { createMetrics, type Metrics } from "../metrics.ts";
import { capabilitiesFor, CapabilityError, createCapabilityHost } from "./host.ts";
import { createKubernetesProviders } from "./kubernetes.ts";
import { type CapabilityPolicyInput, CapabilityPolicySchema } from "./policy.ts";

const POD = "api-7c9d8b6f5-x2kqp";
const NODE = "ip-10-0-3-17.eu-west-1.compute.internal";
const READS = [
  "pods:get",
  "replicasets:get",
  "deployments:get",
  "nodes:get",
  "jobs:get",
  "cronjobs:get",
];

interface Setup extends AsyncDisposable {
  server: KubeApiServer;
  api: KubeClient;
  metrics: Metrics;
  lines: Record<string, unknown>[];
  k8s(permissions: string[], workflowId?: string): KubernetesCapability;
}

/** A test API server holding the OOMKilled pod, its ReplicaSet, Deployment and Node. */
async function setup(policy: CapabilityPolicyInput = {}): Promise<Setup> {
  const server = await startKubeApiServer();
  const pod = k8sFixture("pod_oom_killed");
  pod.metadata!.managedFields = [{ manager: "kubelet", operation: "Update" }];
  pod.metadata!.annotations = {
    "kubectl.kubernetes.io/last-applied-configuration": '{"spec":"..."}',
    team: "payments",
  };
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
    spec: { replicas: 3 },
  });
  server.apply({ apiVersion: "v1", kind: "Node", metadata: { name: NODE, labels: { zone: "a" } } });
  const api = createKubeClientForUrl(server.url);
  const metrics = createMetrics();
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ level: "debug", write: (line) => lines.push(JSON.parse(line)) });
  const host = createCapabilityHost({
    policy,
    metrics,
    logger,
    providers: createKubernetesProviders({ api, random: () => 0 }),
  });
  return {
    server,
    api,
    metrics,
    lines,
    k8s: (kubernetes, workflowId = "pod-context") =>
      capabilitiesFor(host, {
        workflowId,
        permissions: PermissionsSchema.parse({ kubernetes }),
        signal: new AbortController().signal,
        budget: { remaining: 50 },
      }).k8s,
    async [Symbol.asyncDispose]() {
      api.close();
      await server.close();
    },
  };
}

async function refusal(promise: Promise<unknown>): Promise<CapabilityError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CapabilityError) return error;
    throw error;
  }
  throw new Error("Expected the call to be refused");
}

async function count(metrics: Metrics, capability: string, outcome: string): Promise<number> {
  const { values } = await metrics.registry.getSingleMetric("cano_sandbox_capability_calls_total")!
    .get();
  return values.filter((v) => v.labels.capability === capability && v.labels.outcome === outcome)
    .reduce((sum, v) => sum + v.value, 0);
}

Deno.test("k8s.get reads a declared and allowed object, trimmed and with secret env values masked", async () => {
  await using t = await setup();
  const pod = await t.k8s(["pods:get"]).get("Pod", "shop", POD);
  assert.equal(pod.metadata?.name, POD);
  assert.equal(pod.metadata?.managedFields, undefined);
  assert.deepEqual(pod.metadata?.annotations, { team: "payments" });
  const container = (pod.spec as { containers: { env: { name: string; value: string }[] }[] })
    .containers[0]!;
  assert.deepEqual(container.env, [{ name: "DATABASE_PASSWORD", value: "***" }]);
  const node = await t.k8s(["nodes:get"]).get("Node", "", NODE);
  assert.equal(node.metadata?.labels?.zone, "a");
  assert.equal(await count(t.metrics, "k8s.get", "ok"), 2);
  const logged = t.lines.find((l) => l.msg === "Capability call" && l.capability === "k8s.get");
  assert.equal(logged?.workflow, "pod-context");
  assert.equal(logged?.name, POD);
});

Deno.test("k8s.get refuses what the workflow does not declare, before any request", async () => {
  await using t = await setup();
  const before = t.server.requests.length;
  const error = await refusal(t.k8s(["pods/log:get"]).get("Pod", "shop", POD));
  assert.equal(error.reason, "not_permitted");
  assert.equal(
    error.message,
    `Cannot get Pod "shop/${POD}": the workflow does not declare "pods:get" in permissions.kubernetes (declared: pods/log:get)`,
  );
  assert.equal(t.server.requests.length, before);
  assert.equal(await count(t.metrics, "k8s.get", "not_permitted"), 1);
});

Deno.test("k8s calls declared but not allowed by the operator's policy are refused", async () => {
  await using t = await setup({ kubernetes: { allow: ["pods:get"], namespaces: ["shop-*"] } });
  const configmaps = await refusal(t.k8s(["configmaps:get"]).get("ConfigMap", "shop", "api"));
  assert.equal(
    configmaps.message,
    'Cannot get ConfigMap "shop/api": "configmaps:get" is not allowed by the operator (capabilities.kubernetes.allow)',
  );
  const namespace = await refusal(t.k8s(["pods:get"]).get("Pod", "shop", POD));
  assert.match(
    namespace.message,
    /namespace "shop" is not allowed by the operator \(capabilities\.kubernetes\.namespaces: shop-\*\)/,
  );
  await using open = await setup();
  // The default policy allows common reads and no writes.
  const write = await refusal(
    open.k8s(["jobs:create"]).createJob("shop", { metadata: { name: "x" } }),
  );
  assert.match(write.message, /"jobs:create" is not allowed by the operator/);
  const all = await refusal(open.k8s(["pods:list"]).list("Pod"));
  assert.match(
    all.message,
    /a namespace is required \(capabilities\.kubernetes\.allowAllNamespaces is off\)/,
  );
  assert.equal(open.server.requests.length, 0);
});

Deno.test("k8s calls never read Secrets, whatever the workflow declares", async () => {
  await using t = await setup();
  t.server.apply(k8sFixture("helm_release_failed"));
  const error = await refusal(t.k8s(["secrets:get", "secrets:list"]).get("Secret", "shop", "x"));
  assert.equal(error.reason, "not_permitted");
  assert.equal(
    error.message,
    'Cannot get Secret "shop/x": Secrets are never readable by workflows',
  );
  const listed = await refusal(t.k8s(["secrets:list"]).list("secrets", { namespace: "shop" }));
  assert.match(listed.message, /Secrets are never readable/);
  assert.equal(t.server.requests.length, 0);
  assert.equal(
    CapabilityPolicySchema.safeParse({ kubernetes: { allow: ["secrets:get"] } }).error?.issues[0]
      ?.message,
    "Secrets are never readable by workflows",
  );
});

Deno.test("k8s writes denied by the API server surface its 403 and are not audited as done", async () => {
  await using t = await setup({ kubernetes: { allow: ["pods:delete", "pods:get"] } });
  t.server.forbid("delete", "pods");
  const error = await refusal(t.k8s(["pods:delete"], "janitor").deletePod("shop", POD));
  assert.equal(error.reason, "not_permitted");
  assert.equal(error.workflowId, "janitor");
  assert.equal(
    error.message,
    `Cannot delete Pod "shop/${POD}": the API server refused (403 Forbidden): pods "${POD}" is forbidden: User "system:serviceaccount:cano:cano" cannot delete resource "pods" in API group "" in the namespace "shop"`,
  );
  assert.ok(t.server.get(`/api/v1/namespaces/shop/pods/${POD}`), "the pod is still there");
  assert.equal(t.lines.filter((l) => l.msg === "Kubernetes write").length, 0);
  assert.equal(await count(t.metrics, "k8s.deletePod", "not_permitted"), 1);

  t.server.allowAll();
  await t.k8s(["pods:delete"], "janitor").deletePod("shop", POD);
  assert.equal(t.server.get(`/api/v1/namespaces/shop/pods/${POD}`), undefined);
  const audit = t.lines.filter((l) => l.msg === "Kubernetes write");
  assert.deepEqual(
    audit.map(({ level, workflow, verb, kind, namespace, name }) => ({
      level,
      workflow,
      verb,
      kind,
      namespace,
      name,
    })),
    [{
      level: "info",
      workflow: "janitor",
      verb: "delete",
      kind: "Pod",
      namespace: "shop",
      name: POD,
    }],
  );
  assert.equal(await count(t.metrics, "k8s.deletePod", "ok"), 1);
  const gone = await refusal(t.k8s(["pods:get"]).get("Pod", "shop", POD));
  assert.equal(gone.message, `Cannot get Pod "shop/${POD}": not found`);
  assert.equal(gone.reason, "failed");
});

Deno.test("k8s.logs honours tailLines, previous and the operator's caps", async () => {
  await using t = await setup({ kubernetes: { maxLogTailLines: 3, maxLogBytes: 16 } });
  t.server.setPodLog("shop", POD, "api", {
    current: "starting\nready\nGET /a\nGET /b\n",
    previous: "starting\njava.lang.OutOfMemoryError: Java heap space\n",
  });
  const k8s = t.k8s(["pods/log:get"]);
  assert.equal(await k8s.logs({ namespace: "shop", pod: POD, tailLines: 2 }), "GET /a\nGET /b\n");
  const previous = await k8s.logs({
    namespace: "shop",
    pod: POD,
    container: "api",
    previous: true,
  });
  assert.equal(previous, "Java heap space\n", "the newest 16 bytes");
  const query = t.server.requests.at(-1)!.query;
  assert.equal(query.previous, "true");
  assert.equal(query.container, "api");
  assert.equal(query.tailLines, "3", "no tail given: the cap is the default");
  assert.equal(query.limitBytes, "128", "the transfer is bounded at 8 × maxLogBytes");
  await k8s.logs({ namespace: "shop", pod: POD, tailLines: 1000 });
  assert.equal(t.server.requests.at(-1)!.query.tailLines, "3", "a larger tail is capped");
  const missing = await refusal(k8s.logs({ namespace: "shop", pod: POD, container: "sidecar" }));
  assert.match(
    missing.message,
    /container "sidecar": the API server answered 400 BadRequest: container sidecar is not valid/,
  );
});

Deno.test("k8s.logs keeps whole lines, the newest, within maxLogBytes", async () => {
  await using t = await setup({ kubernetes: { maxLogBytes: 40 } });
  t.server.setPodLog("shop", POD, "api", {
    previous: "starting\nloading 1200 products\njava.lang.OutOfMemoryError\n",
  });
  const text = await t.k8s(["pods/log:get"]).logs({ namespace: "shop", pod: POD, previous: true });
  assert.equal(text, "java.lang.OutOfMemoryError\n");
});

Deno.test("k8s.ownerChain follows controllers Pod → ReplicaSet → Deployment and stops at undeclared kinds", async () => {
  await using t = await setup();
  const chain = await t.k8s(READS).ownerChain("Pod", "shop", POD);
  assert.deepEqual(chain.map((o) => `${o.kind}/${o.metadata?.name}`), [
    `Pod/${POD}`,
    "ReplicaSet/api-7c9d8b6f5",
    "Deployment/api",
  ]);
  assert.equal(chain[2]!.metadata?.managedFields, undefined);
  const short = await t.k8s(["pods:get", "replicasets:get"]).ownerChain("Pod", "shop", POD);
  assert.deepEqual(short.map((o) => o.kind), ["Pod", "ReplicaSet"]);

  t.server.apply(k8sFixture("job_backoff_limit"));
  t.server.apply({
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: {
      name: "nightly-report",
      namespace: "batch",
      uid: "6d7e8f9a-0b1c-4d2e-9f3a-4b5c6d7e8f9a",
    },
    spec: { schedule: "0 2 * * *" },
  });
  const job = await t.k8s(READS).ownerChain("Job", "batch", "nightly-report-29043060");
  assert.deepEqual(job.map((o) => o.kind), ["Job", "CronJob"]);
  // A namesake created after the owner was deleted is not the owner.
  t.server.remove("/apis/batch/v1/namespaces/batch/cronjobs/nightly-report");
  t.server.apply({
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name: "nightly-report", namespace: "batch" },
  });
  const orphan = await t.k8s(READS).ownerChain("Job", "batch", "nightly-report-29043060");
  assert.deepEqual(orphan.map((o) => o.kind), ["Job"]);
});

Deno.test("k8s.podNode returns the pod's Node and needs nodes:get too", async () => {
  await using t = await setup();
  const node = await t.k8s(["pods:get", "nodes:get"]).podNode("shop", POD);
  assert.equal(node.metadata?.name, NODE);
  const refused = await refusal(t.k8s(["pods:get"]).podNode("shop", POD));
  assert.match(refused.message, /does not declare "nodes:get"/);
  t.server.apply({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "pending", namespace: "shop" },
    spec: {},
  });
  const pending = await refusal(t.k8s(["pods:get", "nodes:get"]).podNode("shop", "pending"));
  assert.equal(
    pending.message,
    'Cannot get the node of pod "shop/pending": the pod is not scheduled on a node',
  );
});

Deno.test("k8s.events and k8s.list select by field and label within the caps", async () => {
  await using t = await setup({ kubernetes: { maxListItems: 2 } });
  const pod = k8sFixture("pod_crash_loop");
  t.server.apply(pod);
  const event = k8sFixture("event_backoff_crash_loop");
  t.server.apply(event);
  const older = structuredClone(event);
  older.metadata!.name = "checkout-5d8f7b9c4-q7wzt.0000000000000001";
  Object.assign(older, { reason: "Pulled", lastTimestamp: "2026-03-01T09:30:05Z", type: "Normal" });
  t.server.apply(older);
  t.server.apply(k8sFixture("event_backoff_image_pull"));
  const events = await t.k8s(["events:list"]).events({
    kind: "Pod",
    namespace: "shop",
    name: "checkout-5d8f7b9c4-q7wzt",
  });
  assert.deepEqual(events.map((e) => e.reason), ["Pulled", "BackOff"]);
  const selector = t.server.requests.at(-1)!.query.fieldSelector;
  assert.equal(
    selector,
    "involvedObject.kind=Pod,involvedObject.name=checkout-5d8f7b9c4-q7wzt,involvedObject.namespace=shop",
  );
  t.server.apply(k8sFixture("event_system_oom"));
  const nodeEvents = await t.k8s(["events:list"]).events({
    kind: "Node",
    name: "ip-10-0-1-44.eu-west-1.compute.internal",
  });
  assert.deepEqual(nodeEvents.map((e) => e.reason), ["SystemOOM"]);

  for (const name of ["api-1", "api-2", "web-0"]) {
    t.server.apply({
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name,
        namespace: "shop",
        labels: { "app.kubernetes.io/name": name.split("-")[0]! },
      },
    });
  }
  const pods = await t.k8s(["pods:list"]).list("pods", {
    namespace: "shop",
    labelSelector: "app.kubernetes.io/name=api",
    limit: 10,
  });
  assert.deepEqual(pods.items.map((p) => p.metadata?.name), ["api-1", "api-2"]);
  assert.ok(pods.metadata.continue !== undefined, "more items exist than the cap returned");
  assert.equal(t.server.requests.at(-1)!.query.limit, "2");
});

Deno.test("k8s writes restart, scale, create and rerun Jobs when declared and allowed", async () => {
  await using t = await setup({
    kubernetes: {
      allow: ["deployments:patch", "deployments/scale:patch", "jobs:create", "jobs:get"],
    },
  });
  const k8s = t.k8s(
    ["deployments:patch", "deployments/scale:patch", "jobs:create", "jobs:get"],
    "fixer",
  );
  const restarted = await k8s.rolloutRestart("Deployment", "shop", "api");
  const template =
    (restarted.spec as { template: { metadata: { annotations: Record<string, string> } } })
      .template;
  assert.match(template.metadata.annotations["kubectl.kubernetes.io/restartedAt"]!, /^\d{4}-.*Z$/);
  await k8s.scale("Deployment", "shop", "api", 1);
  const stored = t.server.get<{ spec: { replicas: number } }>(
    "/apis/apps/v1/namespaces/shop/deployments/api",
  )!;
  assert.equal(stored.spec.replicas, 1);
  const job = await k8s.createJob("shop", {
    metadata: { name: "heap-dump" },
    spec: {
      template: { spec: { restartPolicy: "Never", containers: [{ name: "d", image: "busybox" }] } },
    },
  });
  assert.equal(job.metadata?.namespace, "shop");
  t.server.apply(k8sFixture("job_backoff_limit"));
  const rerun = await k8s.rerunJob("batch", "nightly-report-29043060");
  assert.equal(rerun.metadata?.name, "nightly-report-29043060-rerun-aaaaa");
  const audit = t.lines.filter((l) => l.msg === "Kubernetes write").map((l) =>
    `${l.verb} ${l.kind} ${l.namespace}/${l.name}`
  );
  assert.deepEqual(audit, [
    "restart Deployment shop/api",
    "scale Deployment shop/api",
    "create Job shop/heap-dump",
    "create Job batch/nightly-report-29043060-rerun-aaaaa",
  ]);
  for (const name of ["k8s.rolloutRestart", "k8s.scale", "k8s.createJob", "k8s.rerunJob"]) {
    assert.equal(await count(t.metrics, name, "ok"), 1, name);
  }
  const badKind = await refusal(k8s.rolloutRestart("ReplicaSet" as "Deployment", "shop", "x"));
  assert.equal(badKind.reason, "invalid_args");
  assert.match(badKind.message, /kind: Expected one of Deployment, StatefulSet, DaemonSet/);
});

Deno.test("k8s calls fail clearly when Kubernetes is off, and answers are capped in size", async () => {
  const host = createCapabilityHost({ providers: createKubernetesProviders({ api: undefined }) });
  const { k8s } = capabilitiesFor(host, {
    workflowId: "w",
    permissions: PermissionsSchema.parse({ kubernetes: ["pods:get"] }),
    signal: new AbortController().signal,
    budget: { remaining: 5 },
  });
  const off = await refusal(k8s.get("Pod", "shop", "api-0"));
  assert.equal(off.reason, "failed");
  assert.equal(
    off.message,
    'Cannot get Pod "shop/api-0": Kubernetes is not configured (no in-cluster service account and no KUBECONFIG)',
  );
  await using t = await setup({ kubernetes: { maxResponseBytes: 500 } });
  const big = await refusal(t.k8s(["pods:get"]).get("Pod", "shop", POD));
  assert.match(
    big.message,
    /the answer is \d+ bytes, more than 500 \(capabilities\.kubernetes\.maxResponseBytes\)/,
  );
});
