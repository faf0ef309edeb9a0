import assert from "node:assert/strict";
import * as k8s from "@kubernetes/client-node";
import { type KubeApiServer, startKubeApiServer } from "./_kube_api_server.ts";

const pod = (name: string, namespace = "shop", extra: Record<string, unknown> = {}) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace, labels: { app: name.split("-")[0]! } },
  spec: { containers: [{ name: "main", image: "busybox" }] },
  ...extra,
});

async function json(server: KubeApiServer, path: string, init: RequestInit = {}) {
  const response = await fetch(`${server.url}${path}`, init);
  return { status: response.status, body: await response.json() };
}

async function readWatch(
  server: KubeApiServer,
  path: string,
  count: number,
): Promise<{ type: string; object: { metadata: { name?: string; resourceVersion: string } } }[]> {
  const response = await fetch(`${server.url}${path}`);
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events = [];
  let buffer = "";
  while (events.length < count) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += value;
    const lines = buffer.split("\n");
    buffer = lines.pop()!;
    for (const line of lines) if (line) events.push(JSON.parse(line));
  }
  await reader.cancel();
  return events;
}

Deno.test("startKubeApiServer() lists in pages at one resourceVersion, without kind on built-in items", async () => {
  await using server = await startKubeApiServer();
  for (const name of ["api-0", "api-1", "api-2"]) server.apply(pod(name));
  server.apply(pod("web-0", "other"));
  const first = await json(server, "/api/v1/namespaces/shop/pods?limit=2");
  assert.equal(first.body.kind, "PodList");
  assert.equal(first.body.apiVersion, "v1");
  assert.deepEqual(first.body.items.map((p: { metadata: { name: string } }) => p.metadata.name), [
    "api-0",
    "api-1",
  ]);
  assert.equal(first.body.items[0].kind, undefined);
  assert.equal(first.body.metadata.remainingItemCount, 1);
  server.apply(pod("api-3"));
  const second = await json(
    server,
    `/api/v1/namespaces/shop/pods?limit=2&continue=${first.body.metadata.continue}`,
  );
  assert.equal(second.body.metadata.resourceVersion, first.body.metadata.resourceVersion);
  assert.equal(second.body.metadata.continue, undefined);
  assert.equal((await json(server, "/api/v1/pods")).body.items.length, 5);
  server.compact();
  const expired = await json(
    server,
    `/api/v1/namespaces/shop/pods?limit=2&continue=${first.body.metadata.continue}`,
  );
  assert.equal(expired.status, 410);
  assert.equal(expired.body.reason, "Expired");
});

Deno.test("startKubeApiServer() filters by label and supported field selectors", async () => {
  await using server = await startKubeApiServer();
  server.apply(pod("api-0", "shop", { spec: { nodeName: "n1", containers: [] } }));
  server.apply(pod("web-0", "shop", { spec: { nodeName: "n2", containers: [] } }));
  server.apply({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "sh.helm.release.v1.api.v1", namespace: "shop", labels: { owner: "helm" } },
    type: "helm.sh/release.v1",
  });
  server.apply({ apiVersion: "v1", kind: "Secret", metadata: { name: "x", namespace: "shop" } });
  const names = async (path: string) =>
    (await json(server, path)).body.items.map((o: { metadata: { name: string } }) =>
      o.metadata.name
    );
  assert.deepEqual(await names("/api/v1/pods?labelSelector=app%3Dapi"), ["api-0"]);
  assert.deepEqual(await names("/api/v1/pods?labelSelector=app!%3Dapi"), ["web-0"]);
  assert.deepEqual(await names("/api/v1/pods?labelSelector=app%20in%20(web,x)"), ["web-0"]);
  assert.deepEqual(await names("/api/v1/pods?fieldSelector=spec.nodeName%3Dn2"), ["web-0"]);
  assert.deepEqual(
    await names(
      "/api/v1/secrets?fieldSelector=type%3Dhelm.sh/release.v1&labelSelector=owner%3Dhelm",
    ),
    ["sh.helm.release.v1.api.v1"],
  );
  const bad = await json(server, "/api/v1/secrets?fieldSelector=spec.nodeName%3Dn1");
  assert.equal(bad.status, 400);
  assert.equal(bad.body.message, "field label not supported: spec.nodeName");
});

Deno.test("startKubeApiServer() answers with the API server's Status bodies", async () => {
  await using server = await startKubeApiServer();
  const missing = await json(server, "/apis/apps/v1/namespaces/shop/deployments/api");
  assert.equal(missing.status, 404);
  assert.deepEqual(missing.body, {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: 'deployments.apps "api" not found',
    reason: "NotFound",
    details: { name: "api", group: "apps", kind: "deployments" },
    code: 404,
  });
  server.forbid("delete", "pods");
  server.apply(pod("api-0"));
  const denied = await json(server, "/api/v1/namespaces/shop/pods/api-0", { method: "DELETE" });
  assert.equal(denied.status, 403);
  assert.equal(denied.body.reason, "Forbidden");
  assert.equal(
    denied.body.message,
    'pods "api-0" is forbidden: User "system:serviceaccount:cano:cano" cannot delete resource "pods" in API group "" in the namespace "shop"',
  );
  assert.equal((await json(server, "/api/v1/namespaces/shop/pods/api-0")).status, 200);
});

Deno.test("startKubeApiServer() creates, updates with preconditions, patches and deletes", async () => {
  await using server = await startKubeApiServer();
  const base = "/apis/coordination.k8s.io/v1/namespaces/cano/leases";
  const lease = {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name: "cano" },
    spec: { holderIdentity: "a" },
  };
  const post = (body: unknown) =>
    json(server, base, {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "content-type": "application/json" },
    });
  const created = await post(lease);
  assert.equal(created.status, 201);
  assert.equal(created.body.metadata.namespace, "cano");
  assert.equal(created.body.metadata.generation, 1);
  assert.match(created.body.metadata.uid, /^[0-9a-f-]{36}$/);
  const again = await post(lease);
  assert.equal(again.status, 409);
  assert.equal(again.body.reason, "AlreadyExists");
  assert.equal(again.body.message, 'leases.coordination.k8s.io "cano" already exists');

  const put = (body: unknown) =>
    json(server, `${base}/cano`, {
      method: "PUT",
      body: JSON.stringify(body),
      headers: { "content-type": "application/json" },
    });
  const renewed = await put({ ...created.body, spec: { holderIdentity: "b" } });
  assert.equal(renewed.status, 200);
  assert.equal(renewed.body.metadata.generation, 2);
  const stale = await put({ ...created.body, spec: { holderIdentity: "c" } });
  assert.equal(stale.status, 409);
  assert.equal(stale.body.reason, "Conflict");
  assert.match(
    stale.body.message,
    /^Operation cannot be fulfilled on leases\.coordination\.k8s\.io "cano": the object has been modified/,
  );
  const same = await put(renewed.body);
  assert.equal(same.body.metadata.resourceVersion, renewed.body.metadata.resourceVersion);

  const patched = await json(server, `${base}/cano`, {
    method: "PATCH",
    body: JSON.stringify({ spec: { leaseDurationSeconds: 15, holderIdentity: null } }),
    headers: { "content-type": "application/merge-patch+json" },
  });
  assert.deepEqual(patched.body.spec, { leaseDurationSeconds: 15 });
  const jsonPatched = await json(server, `${base}/cano`, {
    method: "PATCH",
    body: JSON.stringify([{ op: "add", path: "/spec/holderIdentity", value: "d" }]),
    headers: { "content-type": "application/json-patch+json" },
  });
  assert.deepEqual(jsonPatched.body.spec, { leaseDurationSeconds: 15, holderIdentity: "d" });

  const generated = await json(server, "/apis/batch/v1/namespaces/shop/jobs", {
    method: "POST",
    body: JSON.stringify({ metadata: { generateName: "fix-" }, spec: {}, status: { failed: 9 } }),
  });
  assert.match(generated.body.metadata.name, /^fix-[a-z0-9]{5}$/);
  assert.equal(generated.body.status, undefined);

  const deleted = await json(server, `${base}/cano`, { method: "DELETE" });
  assert.equal(deleted.status, 200);
  assert.equal((await json(server, `${base}/cano`)).status, 404);
});

Deno.test("startKubeApiServer() keeps status and spec apart on the status subresource", async () => {
  await using server = await startKubeApiServer();
  const path = "/apis/karo.io/v1alpha1/namespaces/ops/alertreactions/restart";
  server.apply({
    apiVersion: "karo.io/v1alpha1",
    kind: "AlertReaction",
    metadata: { name: "restart", namespace: "ops" },
    spec: { alertName: "A" },
  });
  const headers = { "content-type": "application/merge-patch+json" };
  await json(server, `${path}/status`, {
    method: "PATCH",
    headers,
    body: JSON.stringify({ spec: { alertName: "ignored" }, status: { count: 1 } }),
  });
  const main = await json(server, path, {
    method: "PATCH",
    headers,
    body: JSON.stringify({ spec: { alertName: "B" }, status: { count: 99 } }),
  });
  assert.deepEqual(main.body.spec, { alertName: "B" });
  assert.deepEqual(main.body.status, { count: 1 });
  assert.equal(main.body.metadata.generation, 2);
  const list = await json(server, "/apis/karo.io/v1alpha1/alertreactions");
  assert.equal(list.body.kind, "AlertReactionList");
  assert.equal(list.body.items[0].kind, "AlertReaction");
});

Deno.test("startKubeApiServer() replays watches, sends bookmarks and answers 410 once compacted", async () => {
  await using server = await startKubeApiServer({ historySize: 3 });
  const first = server.apply(pod("api-0"));
  server.apply(pod("api-1"));
  server.apply({ ...pod("api-0"), metadata: { ...pod("api-0").metadata, labels: { app: "x" } } });
  server.remove("/api/v1/namespaces/shop/pods/api-1");
  const from = first.metadata.resourceVersion;
  const events = await readWatch(
    server,
    `/api/v1/namespaces/shop/pods?watch=true&resourceVersion=${from}&labelSelector=app%3Dapi`,
    3,
  );
  assert.deepEqual(events.map((e) => `${e.type} ${e.object.metadata.name}`), [
    "ADDED api-1",
    "DELETED api-0",
    "DELETED api-1",
  ]);
  server.compact();
  const expired = await json(server, `/api/v1/pods?watch=true&resourceVersion=${from}`);
  assert.equal(expired.status, 410);
  assert.equal(expired.body.reason, "Expired");

  const watching = readWatch(
    server,
    `/api/v1/pods?watch=true&resourceVersion=${server.resourceVersion}&allowWatchBookmarks=true`,
    1,
  );
  await server.waitForWatches(1);
  assert.equal(server.sendBookmarks(), 1);
  const [bookmark] = await watching;
  assert.equal(bookmark?.type, "BOOKMARK");
  assert.equal(bookmark?.object.metadata.resourceVersion, String(server.resourceVersion));
});

Deno.test("startKubeApiServer() serves pod logs with tailLines, previous, container and sinceSeconds", async () => {
  const now = Date.parse("2026-03-01T10:00:00Z");
  await using server = await startKubeApiServer({ now: () => now });
  server.apply(pod("api-0", "shop", {
    spec: { containers: [{ name: "main" }, { name: "proxy" }] },
  }));
  server.setPodLog("shop", "api-0", "main", {
    current: [
      { time: "2026-03-01T09:00:00Z", text: "old" },
      { time: "2026-03-01T09:59:30Z", text: "recent" },
    ],
    previous: "a\nb\nc\n",
  });
  const text = async (query: string) => {
    const response = await fetch(`${server.url}/api/v1/namespaces/shop/pods/api-0/log?${query}`);
    return { status: response.status, text: await response.text() };
  };
  assert.deepEqual(await text("container=main&previous=true&tailLines=2"), {
    status: 200,
    text: "b\nc\n",
  });
  assert.deepEqual(await text("container=main&sinceSeconds=60"), { status: 200, text: "recent\n" });
  assert.equal(
    (await text("container=main&timestamps=true&tailLines=1")).text,
    "2026-03-01T09:59:30Z recent\n",
  );
  const ambiguous = await text("");
  assert.equal(ambiguous.status, 400);
  assert.match(
    ambiguous.text,
    /a container name must be specified for pod api-0, choose one of: \[main proxy\]/,
  );
  assert.equal((await text("container=proxy&previous=true")).status, 400);
});

Deno.test("startKubeApiServer() requires the bearer token when one is set", async () => {
  await using server = await startKubeApiServer({ token: "s3cret" });
  assert.equal((await json(server, "/api/v1/pods")).status, 401);
  const ok = await json(server, "/api/v1/pods", { headers: { authorization: "Bearer s3cret" } });
  assert.equal(ok.status, 200);
  assert.equal(server.requests.at(-1)?.verb, "list");
});

function kubeConfigFor(server: KubeApiServer): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "test", server: server.url, skipTLSVerify: true }],
    users: [{ name: "test", token: "t" }],
    contexts: [{ name: "test", cluster: "test", user: "test" }],
    currentContext: "test",
  });
  return kc;
}

Deno.test({
  name: "startKubeApiServer() satisfies the real @kubernetes/client-node API clients",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using server = await startKubeApiServer();
    const kc = kubeConfigFor(server);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    server.apply(pod("api-0"));
    server.setPodLog("shop", "api-0", "main", { current: "1\n2\n3\n" });

    const pods = await core.listNamespacedPod({ namespace: "shop", labelSelector: "app=api" });
    assert.equal(pods.items[0]?.metadata?.name, "api-0");
    assert.equal(pods.metadata?.resourceVersion, String(server.resourceVersion));
    const read = await core.readNamespacedPod({ name: "api-0", namespace: "shop" });
    assert.equal(read.spec?.containers[0]?.image, "busybox");
    assert.equal(
      await core.readNamespacedPodLog({ name: "api-0", namespace: "shop", tailLines: 1 }),
      "3\n",
    );
    await assert.rejects(
      core.readNamespacedPod({ name: "nope", namespace: "shop" }),
      (error: unknown) => error instanceof k8s.ApiException && error.code === 404,
    );

    const leases = kc.makeApiClient(k8s.CoordinationV1Api);
    const lease = await leases.createNamespacedLease({
      namespace: "cano",
      body: {
        metadata: { name: "leader" },
        spec: { holderIdentity: "a", leaseDurationSeconds: 15 },
      },
    });
    await leases.replaceNamespacedLease({
      name: "leader",
      namespace: "cano",
      body: { ...lease, spec: { holderIdentity: "b" } },
    });
    await assert.rejects(
      leases.replaceNamespacedLease({
        name: "leader",
        namespace: "cano",
        body: { ...lease, spec: { holderIdentity: "c" } },
      }),
      (error: unknown) => error instanceof k8s.ApiException && error.code === 409,
    );

    server.apply({
      apiVersion: "karo.io/v1alpha1",
      kind: "AlertReaction",
      metadata: { name: "restart", namespace: "ops" },
      spec: { alertName: "A", actions: [] },
    });
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const reactions = await custom.listNamespacedCustomObject({
      group: "karo.io",
      version: "v1alpha1",
      namespace: "ops",
      plural: "alertreactions",
    });
    assert.equal(reactions.items[0].spec.alertName, "A");
  },
});

Deno.test({
  name: "startKubeApiServer() streams watch events the real @kubernetes/client-node Watch reads",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using server = await startKubeApiServer();
    const kc = kubeConfigFor(server);
    const from = String(server.resourceVersion);
    const seen: string[] = [];
    const done = Promise.withResolvers<unknown>();
    const controller = await new k8s.Watch(kc).watch(
      "/api/v1/namespaces/shop/pods",
      { resourceVersion: from, allowWatchBookmarks: true },
      (type: string, object: k8s.V1Pod) => {
        seen.push(`${type} ${object.metadata?.name ?? object.metadata?.resourceVersion}`);
      },
      (error: unknown) => done.resolve(error),
    );
    await server.waitForWatches(1);
    server.apply(pod("api-0"));
    server.apply({ ...pod("api-0"), spec: { containers: [{ name: "main", image: "nginx" }] } });
    server.sendBookmarks();
    server.remove("/api/v1/namespaces/shop/pods/api-0");
    server.endWatches();
    assert.equal(await done.promise, null);
    controller.abort();
    assert.deepEqual(seen, ["ADDED api-0", "MODIFIED api-0", "BOOKMARK 2", "DELETED api-0"]);
  },
});
