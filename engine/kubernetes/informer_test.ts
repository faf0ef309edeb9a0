import assert from "node:assert/strict";
import { startKubeApiServer } from "../../tests/_kube_api_server.ts";
import { createLogger } from "../log.ts";
import type { KubeApi, KubeObject, WatchEvent } from "./api.ts";
import { createKubeClientForUrl } from "./client.ts";
import { createInformer, type InformerOptions } from "./informer.ts";

const pod = (name: string, labels: Record<string, string> = {}, namespace = "shop") => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace, labels: { app: "api", ...labels } },
  spec: { containers: [{ name: "main" }] },
});

async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Cannot wait for ${what}: timed out`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Records handler calls as strings such as `add api-0 initial`. */
function recorder() {
  const calls: string[] = [];
  const handlers: InformerOptions<KubeObject>["handlers"] = {
    onAdd: (o, { initial }) => {
      calls.push(`add ${o.metadata?.name}${initial ? " initial" : ""}`);
    },
    onUpdate: (p, n) => {
      calls.push(
        `update ${n.metadata?.name} ${p.metadata?.resourceVersion}->${n.metadata?.resourceVersion}`,
      );
    },
    onDelete: (o) => {
      calls.push(`delete ${o.metadata?.name}`);
    },
  };
  return { calls, handlers };
}

function logLines() {
  const lines: { level: string; msg: string; [key: string]: unknown }[] = [];
  const log = createLogger({ level: "debug", write: (line) => lines.push(JSON.parse(line)) });
  return { lines, log };
}

const fast = { minBackoffMs: 10, maxBackoffMs: 40 };

Deno.test("createInformer() lists in pages, flags the initial adds and caches the objects", async () => {
  await using server = await startKubeApiServer();
  using api = createKubeClientForUrl(server.url);
  for (let i = 0; i < 5; i++) server.apply(pod(`api-${i}`));
  server.apply(pod("other", {}, "elsewhere"));
  const { calls, handlers } = recorder();
  const informer = createInformer(api, {
    path: "/api/v1/namespaces/shop/pods",
    pageSize: 2,
    handlers,
  });
  informer.start();
  await informer.synced;
  assert.deepEqual(calls, [0, 1, 2, 3, 4].map((i) => `add api-${i} initial`));
  const lists = server.requests.filter((r) => r.verb === "list");
  assert.deepEqual(lists.map((r) => r.query.limit), ["2", "2", "2"]);
  assert.equal(lists.filter((r) => r.query.continue).length, 2);
  assert.equal(informer.list().length, 5);
  assert.equal(informer.get("shop", "api-3")?.metadata?.name, "api-3");
  assert.equal(informer.get("elsewhere", "other"), undefined);
  assert.equal(informer.status().synced, true);
  await informer.stop();
});

Deno.test("createInformer() emits adds, updates with the previous object and deletes from the watch", async () => {
  await using server = await startKubeApiServer();
  using api = createKubeClientForUrl(server.url);
  const first = server.apply(pod("api-0"));
  const { calls, handlers } = recorder();
  const informer = createInformer(api, { path: "/api/v1/pods", handlers });
  informer.start();
  await informer.synced;
  await server.waitForWatches(1);
  const watch = server.requests.find((r) => r.verb === "watch")!;
  assert.equal(watch.query.resourceVersion, first.metadata.resourceVersion);
  assert.equal(watch.query.allowWatchBookmarks, "true");
  assert.equal(watch.query.timeoutSeconds, "240");
  const changed = server.apply(pod("api-0", { version: "2" }));
  server.apply(pod("api-1"));
  server.remove("/api/v1/namespaces/shop/pods/api-0");
  await until(() => calls.length === 4, "four calls");
  assert.deepEqual(calls, [
    "add api-0 initial",
    `update api-0 ${first.metadata.resourceVersion}->${changed.metadata.resourceVersion}`,
    "add api-1",
    "delete api-0",
  ]);
  assert.deepEqual(informer.list().map((o) => o.metadata?.name), ["api-1"]);
  assert.equal(informer.status().connected, true);
  await informer.stop();
  assert.equal(informer.status().connected, false);
});

Deno.test("createInformer() resumes from the last resourceVersion when the server ends a watch", async () => {
  await using server = await startKubeApiServer();
  using api = createKubeClientForUrl(server.url);
  const { calls, handlers } = recorder();
  const informer = createInformer(api, { path: "/api/v1/pods", handlers, ...fast });
  informer.start();
  await informer.synced;
  await server.waitForWatches(1);
  const last = server.apply(pod("api-0"));
  await until(() => calls.length === 1, "the add");
  server.endWatches();
  server.apply({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", namespace: "shop" } });
  const later = server.apply(pod("api-1"));
  await until(() => calls.length === 2, "the second add");
  const watches = server.requests.filter((r) => r.verb === "watch");
  assert.equal(watches.length, 2);
  assert.equal(watches[1]!.query.resourceVersion, last.metadata.resourceVersion);
  assert.deepEqual(calls, ["add api-0", "add api-1"]);
  assert.equal(
    informer.get("shop", "api-1")?.metadata?.resourceVersion,
    later.metadata.resourceVersion,
  );
  assert.equal(server.requests.filter((r) => r.verb === "list").length, 1);
  await informer.stop();
});

Deno.test("createInformer() relists after an in-stream 410 and emits each change once", async () => {
  await using server = await startKubeApiServer();
  using api = createKubeClientForUrl(server.url);
  for (const name of ["keep", "change", "vanish"]) server.apply(pod(name));
  const { calls, handlers } = recorder();
  const { lines, log } = logLines();
  const informer = createInformer(api, { path: "/api/v1/pods", handlers, log, ...fast });
  informer.start();
  await informer.synced;
  await server.waitForWatches(1);
  server.silenceWatches();
  const before = informer.get("shop", "change")!.metadata!.resourceVersion;
  const changed = server.apply(pod("change", { v: "2" }));
  server.remove("/api/v1/namespaces/shop/pods/vanish");
  server.apply(pod("new"));
  server.compact();
  assert.equal(server.expireWatches(), 1);
  await until(() => informer.status().relists === 1, "the relist");
  await server.waitForWatches(1);
  assert.deepEqual(calls.slice(3), [
    `update change ${before}->${changed.metadata.resourceVersion}`,
    "add new",
    "delete vanish",
  ]);
  assert.deepEqual(informer.list().map((o) => o.metadata?.name).sort(), ["change", "keep", "new"]);
  assert.ok(lines.some((l) => l.msg === "Kubernetes watch expired; listing again"));
  server.apply(pod("after"));
  await until(() => calls.length === 7, "the add after the relist");
  assert.equal(calls[6], "add after");
  await informer.stop();
});

Deno.test("createInformer() relists when reopening a watch answers 410 Gone", async () => {
  await using server = await startKubeApiServer();
  using api = createKubeClientForUrl(server.url);
  server.apply(pod("api-0"));
  const { calls, handlers } = recorder();
  const informer = createInformer(api, { path: "/api/v1/pods", handlers, ...fast });
  informer.start();
  await informer.synced;
  await server.waitForWatches(1);
  server.silenceWatches();
  server.apply(pod("api-1"));
  server.compact();
  server.endWatches();
  await until(() => calls.length === 2, "the relisted add");
  assert.deepEqual(calls, ["add api-0 initial", "add api-1"]);
  const watches = server.requests.filter((r) => r.verb === "watch");
  assert.equal(watches.length >= 2, true);
  assert.equal(server.requests.filter((r) => r.verb === "list").length, 2);
  assert.equal(informer.status().relists, 1);
  await informer.stop();
});

Deno.test("createInformer() moves its resourceVersion forward on bookmarks", async () => {
  await using server = await startKubeApiServer();
  using api = createKubeClientForUrl(server.url);
  const { calls, handlers } = recorder();
  const informer = createInformer(api, { path: "/api/v1/pods", handlers, ...fast });
  informer.start();
  await informer.synced;
  await server.waitForWatches(1);
  for (let i = 0; i < 3; i++) {
    server.apply({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: `c${i}`, namespace: "x" },
    });
  }
  server.sendBookmarks();
  await until(() => informer.status().resourceVersion === "3", "the bookmark");
  assert.ok(informer.status().lastEventAt !== undefined);
  server.endWatches();
  await until(
    () => server.requests.filter((r) => r.verb === "watch").length === 2,
    "the next watch",
  );
  assert.equal(server.requests.filter((r) => r.verb === "watch")[1]!.query.resourceVersion, "3");
  assert.deepEqual(calls, []);
  await informer.stop();
});

Deno.test("createInformer() reconnects with backoff when watches are cut", async () => {
  await using server = await startKubeApiServer();
  using api = createKubeClientForUrl(server.url);
  const { calls, handlers } = recorder();
  const delays: number[] = [];
  const informer = createInformer(api, {
    path: "/api/v1/pods",
    handlers,
    ...fast,
    random: () => 0.5,
    sleep: (ms, signal) => {
      delays.push(ms);
      return new Promise((resolve) => {
        const timer = setTimeout(resolve, Math.min(ms, 20));
        signal?.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
    watchdogMs: 60_000,
  });
  informer.start();
  await informer.synced;
  await server.waitForWatches(1);
  server.failNext({ status: 500, watch: true, times: 2 });
  server.dropWatches();
  await until(() => informer.status().restarts === 3, "three restarts");
  await server.waitForWatches(1);
  server.apply(pod("api-0"));
  await until(() => calls.length === 1, "the add after reconnecting");
  const backoffs = delays.filter((ms) => ms < 1000);
  assert.deepEqual(backoffs, [7.5, 15, 30]);
  assert.equal(server.requests.filter((r) => r.verb === "list").length, 1);
  await informer.stop();
});

Deno.test("createInformer() restarts a silent watch after watchdogMs", async () => {
  await using server = await startKubeApiServer();
  using api = createKubeClientForUrl(server.url);
  const { calls, handlers } = recorder();
  const { lines, log } = logLines();
  const informer = createInformer(api, {
    path: "/api/v1/pods",
    handlers,
    log,
    watchdogMs: 150,
    ...fast,
  });
  informer.start();
  await informer.synced;
  await server.waitForWatches(1);
  server.silenceWatches();
  server.apply(pod("api-0"));
  await until(() => calls.length === 1, "the add after the watchdog restart");
  assert.deepEqual(calls, ["add api-0"]);
  assert.ok(informer.status().restarts >= 1);
  assert.ok(
    lines.some((l) => l.level === "warn" && /nothing received for 150 ms/.test(String(l.error))),
  );
  await informer.stop();
});

Deno.test("createInformer() logs a throwing handler and keeps going", async () => {
  await using server = await startKubeApiServer();
  using api = createKubeClientForUrl(server.url);
  server.apply(pod("bad"));
  server.apply(pod("good"));
  const seen: string[] = [];
  const { lines, log } = logLines();
  const informer = createInformer(api, {
    path: "/api/v1/pods",
    log,
    handlers: {
      onAdd: (o) => {
        if (o.metadata?.name?.startsWith("bad")) throw new Error("handler broke");
        seen.push(o.metadata!.name!);
      },
      onUpdate: () => Promise.reject(new Error("async handler broke")),
    },
  });
  informer.start();
  await informer.synced;
  await server.waitForWatches(1);
  server.apply(pod("bad-2"));
  server.apply(pod("good", { v: "2" }));
  server.apply(pod("good-2"));
  await until(() => seen.length === 2, "the second good add");
  assert.deepEqual(seen, ["good", "good-2"]);
  const errors = lines.filter((l) => l.msg === "Kubernetes informer handler failed");
  assert.deepEqual(errors.map((l) => `${l.handler} ${l.object} ${l.error}`), [
    "onAdd shop/bad handler broke",
    "onAdd shop/bad-2 handler broke",
    "onUpdate shop/good async handler broke",
  ]);
  await informer.stop();
});

Deno.test("createInformer() retries a failing list until it succeeds", async () => {
  await using server = await startKubeApiServer();
  using api = createKubeClientForUrl(server.url);
  server.apply(pod("api-0"));
  server.failNext({ status: 500, watch: false, times: 2 });
  server.forbid("list", "configmaps");
  const { calls, handlers } = recorder();
  const informer = createInformer(api, { path: "/api/v1/pods", handlers, ...fast });
  informer.start();
  await informer.synced;
  assert.deepEqual(calls, ["add api-0 initial"]);
  assert.equal(server.requests.filter((r) => r.verb === "list").length, 3);

  const denied = createInformer(api, { path: "/api/v1/configmaps", handlers, ...fast });
  denied.start();
  await until(
    () => server.requests.filter((r) => r.path === "/api/v1/configmaps").length >= 3,
    "retries",
  );
  assert.match(denied.status().lastError ?? "", /is forbidden/);
  assert.equal(denied.status().synced, false);
  await denied.stop();
  await assert.rejects(denied.synced, /Cannot sync informer of \/api\/v1\/configmaps: stopped/);
  await informer.stop();
});

Deno.test("createInformer() passes selectors to list and watch", async () => {
  await using server = await startKubeApiServer();
  using api = createKubeClientForUrl(server.url);
  server.apply(pod("api-0", { tier: "web" }));
  server.apply(pod("api-1", { tier: "db" }));
  const { calls, handlers } = recorder();
  const informer = createInformer(api, {
    path: "/api/v1/pods",
    labelSelector: "tier=web",
    fieldSelector: "metadata.namespace=shop",
    handlers,
  });
  informer.start();
  await informer.synced;
  await server.waitForWatches(1);
  server.apply(pod("api-1", { tier: "web" }));
  server.apply(pod("api-0", { tier: "db" }));
  await until(() => calls.length === 3, "the selector moves");
  assert.deepEqual(calls, ["add api-0 initial", "add api-1", "delete api-0"]);
  for (const request of server.requests.filter((r) => r.path === "/api/v1/pods")) {
    assert.equal(request.query.labelSelector, "tier=web");
    assert.equal(request.query.fieldSelector, "metadata.namespace=shop");
  }
  await informer.stop();
});

Deno.test("createInformer() skips an event whose resourceVersion it already holds", async () => {
  await using server = await startKubeApiServer();
  using inner = createKubeClientForUrl(server.url);
  // A server that repeats every watch event, as a replaying proxy would.
  const api: KubeApi = {
    ...inner,
    async *watch<T extends KubeObject>(path: string, options?: Parameters<KubeApi["watch"]>[1]) {
      for await (const event of inner.watch<T>(path, options)) {
        yield event;
        yield structuredClone(event) as WatchEvent<T>;
      }
    },
  };
  server.apply(pod("api-0"));
  const { calls, handlers } = recorder();
  const informer = createInformer(api, { path: "/api/v1/pods", handlers });
  informer.start();
  await informer.synced;
  await server.waitForWatches(1);
  const updated = server.apply(pod("api-0", { v: "2" }));
  server.apply(pod("api-1"));
  server.remove("/api/v1/namespaces/shop/pods/api-1");
  server.apply(pod("api-2"));
  await until(() => calls.includes("add api-2"), "the last add");
  assert.deepEqual(calls, [
    "add api-0 initial",
    `update api-0 ${
      Number(updated.metadata.resourceVersion) - 1
    }->${updated.metadata.resourceVersion}`,
    "add api-1",
    "delete api-1",
    "add api-2",
  ]);
  await informer.stop();
});

Deno.test("createInformer() does not spin when watches end at once, even with a bookmark in them", async () => {
  await using server = await startKubeApiServer();
  using inner = createKubeClientForUrl(server.url);
  let watches = 0;
  const api: KubeApi = {
    ...inner,
    async *watch<T extends KubeObject>(): AsyncGenerator<WatchEvent<T>> {
      watches++;
      yield { type: "BOOKMARK", object: { metadata: { resourceVersion: "1" } } as T };
    },
  };
  const informer = createInformer(api, {
    path: "/api/v1/pods",
    handlers: {},
    minBackoffMs: 50,
    maxBackoffMs: 50,
  });
  informer.start();
  await informer.synced;
  await new Promise((resolve) => setTimeout(resolve, 300));
  await informer.stop();
  assert.ok(watches >= 3 && watches <= 12, `${watches} watches in 300 ms`);
});

Deno.test("createInformer() can start again after stop", async () => {
  await using server = await startKubeApiServer();
  using api = createKubeClientForUrl(server.url);
  const { calls, handlers } = recorder();
  const informer = createInformer(api, { path: "/api/v1/pods", handlers });
  informer.start();
  informer.start();
  await informer.synced;
  await server.waitForWatches(1);
  await informer.stop();
  await until(() => server.openWatches === 0, "the server to see the watch closed");
  server.apply(pod("api-0"));
  informer.start();
  await server.waitForWatches(1);
  await until(() => calls.length === 1, "the add after restart");
  assert.deepEqual(calls, ["add api-0"]);
  await informer.stop();
});

Deno.test("createInformer() rejects bad options when it is created", () => {
  const api = createKubeClientForUrl("http://127.0.0.1:1");
  try {
    assert.throws(
      () => createInformer(api, { path: "/api/v1/pods", handlers: {}, watchdogMs: 0 }),
      RangeError,
    );
    assert.throws(
      () =>
        createInformer(api, {
          path: "/api/v1/pods",
          handlers: {},
          minBackoffMs: 100,
          maxBackoffMs: 10,
        }),
      RangeError,
    );
  } finally {
    api.close();
  }
});
