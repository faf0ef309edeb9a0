import assert from "node:assert/strict";
import { startKubeApiServer } from "../../tests/_kube_api_server.ts";
import { makeTestCerts } from "../../tests/_kube_certs.ts";
import { KubeApiError, type KubeList, type KubeObject, type WatchEvent } from "./api.ts";
import { createKubeClient, createKubeClientForUrl, readLines } from "./client.ts";

const pod = (name: string) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: "shop" },
  spec: { containers: [{ name: "main" }] },
});

function isApiError(status: number, reason?: string) {
  return (error: unknown) =>
    error instanceof KubeApiError && error.status === status &&
    (reason === undefined || error.reason === reason);
}

Deno.test("createKubeClient() lists, reads, creates and patches objects", async () => {
  await using server = await startKubeApiServer({ token: "t0k" });
  using api = createKubeClientForUrl(server.url, { token: "t0k" });
  server.apply(pod("api-0"));
  const list = await api.request<KubeList>("GET", "/api/v1/namespaces/shop/pods", {
    query: { labelSelector: undefined, limit: 10 },
  });
  assert.equal(list.items.length, 1);
  assert.deepEqual(server.requests.at(-1)?.query, { limit: "10" });
  assert.equal(server.requests.at(-1)?.headers.accept, "application/json");

  const created = await api.request<KubeObject>("POST", "/apis/batch/v1/namespaces/shop/jobs", {
    body: { metadata: { name: "fix" }, spec: { template: {} } },
  });
  assert.equal(created.metadata?.namespace, "shop");
  const patched = await api.request<KubeObject>(
    "PATCH",
    "/apis/batch/v1/namespaces/shop/jobs/fix",
    {
      body: { metadata: { labels: { a: "b" } } },
      contentType: "application/merge-patch+json",
    },
  );
  assert.deepEqual(patched.metadata?.labels, { a: "b" });
  assert.equal(server.requests.at(-1)?.headers["content-type"], "application/merge-patch+json");
  assert.equal(server.requests.at(-1)?.headers.authorization, "Bearer t0k");
});

Deno.test("createKubeClient() turns Status answers into KubeApiError with status, reason and message", async () => {
  await using server = await startKubeApiServer();
  using api = createKubeClientForUrl(server.url);
  await assert.rejects(
    api.request("GET", "/api/v1/namespaces/shop/pods/nope"),
    (error: unknown) =>
      isApiError(404, "NotFound")(error) && (error as Error).message === 'pods "nope" not found',
  );
  server.apply(pod("api-0"));
  await assert.rejects(
    api.request("POST", "/api/v1/namespaces/shop/pods", { body: pod("api-0") }),
    isApiError(409, "AlreadyExists"),
  );
  server.forbid("delete", "pods");
  await assert.rejects(
    api.request("DELETE", "/api/v1/namespaces/shop/pods/api-0"),
    isApiError(403, "Forbidden"),
  );
  server.failNext({ status: 503, method: "GET" });
  await assert.rejects(api.request("GET", "/api/v1/pods"), isApiError(503, "InternalError"));
});

Deno.test("createKubeClient() reports a non-Status answer and a dead server with status 0", async () => {
  await using plain = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("upstream broke", { status: 502, statusText: "Bad Gateway" }),
  );
  using api = createKubeClientForUrl(`http://127.0.0.1:${plain.addr.port}`);
  await assert.rejects(
    api.request("GET", "/api/v1/pods"),
    (error: unknown) =>
      isApiError(502)(error) &&
      (error as Error).message === "Cannot GET /api/v1/pods: HTTP 502 Bad Gateway (upstream broke)",
  );
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  using dead = createKubeClientForUrl(`http://127.0.0.1:${port}`);
  await assert.rejects(
    dead.request("GET", "/api/v1/pods"),
    (error: unknown) =>
      isApiError(0)(error) && /^Cannot GET \/api\/v1\/pods: /.test((error as Error).message),
  );
});

Deno.test("createKubeClient() gives up on a request after timeoutMs", async () => {
  const release = Promise.withResolvers<void>();
  await using slow = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async () => {
      await release.promise;
      return Response.json({});
    },
  );
  using api = createKubeClientForUrl(`http://127.0.0.1:${slow.addr.port}`, { timeoutMs: 100 });
  const started = Date.now();
  await assert.rejects(api.request("GET", "/api/v1/pods"), isApiError(0));
  assert.ok(Date.now() - started < 1500);
  release.resolve();
});

Deno.test("createKubeClient() reads pod logs as text", async () => {
  await using server = await startKubeApiServer();
  using api = createKubeClientForUrl(server.url);
  server.apply(pod("api-0"));
  server.setPodLog("shop", "api-0", "main", { current: "a\nb\n", previous: "boom\n" });
  assert.equal(
    await api.requestText("/api/v1/namespaces/shop/pods/api-0/log", {
      query: { previous: true, container: "main" },
    }),
    "boom\n",
  );
  await assert.rejects(
    api.requestText("/api/v1/namespaces/shop/pods/ghost/log"),
    isApiError(404, "NotFound"),
  );
});

Deno.test("createKubeClient() watch() yields events until the server ends the stream", async () => {
  await using server = await startKubeApiServer();
  using api = createKubeClientForUrl(server.url);
  const events: WatchEvent[] = [];
  const done = (async () => {
    for await (
      const event of api.watch("/api/v1/namespaces/shop/pods", {
        query: { resourceVersion: "1", allowWatchBookmarks: true },
      })
    ) events.push(event);
  })();
  server.apply(pod("api-0"));
  await server.waitForWatches(1);
  server.apply(pod("api-1"));
  server.sendBookmarks();
  server.endWatches();
  await done;
  assert.deepEqual(events.map((e) => e.type), ["ADDED", "BOOKMARK"]);
  assert.equal(events[0]?.object.metadata?.name, "api-1");
  assert.equal(server.requests.at(-1)?.query.watch, "true");
});

Deno.test("createKubeClient() watch() throws 410 for an expired version and ends on abort", async () => {
  await using server = await startKubeApiServer();
  using api = createKubeClientForUrl(server.url);
  server.apply(pod("api-0"));
  server.apply(pod("api-1"));
  server.compact();
  await assert.rejects(
    (async () => {
      for await (const _ of api.watch("/api/v1/pods", { query: { resourceVersion: "1" } })) {
        // nothing
      }
    })(),
    isApiError(410, "Expired"),
  );
  const controller = new AbortController();
  const seen: string[] = [];
  const done = (async () => {
    for await (const event of api.watch("/api/v1/pods", { signal: controller.signal })) {
      seen.push(event.object.metadata?.name ?? "");
    }
  })();
  await server.waitForWatches(1);
  // The initial ADDED events are read before the abort, however loaded the machine is.
  for (let i = 0; seen.length < 2 && i < 500; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  controller.abort();
  await done;
  assert.deepEqual(seen, ["api-0", "api-1"]);
});

Deno.test("createKubeClient() watch() fails with status 0 when the connection drops", async () => {
  await using server = await startKubeApiServer();
  using api = createKubeClientForUrl(server.url);
  const done = (async () => {
    for await (const _ of api.watch("/api/v1/pods", { query: { resourceVersion: "0" } })) {
      // nothing
    }
  })();
  await server.waitForWatches(1);
  server.dropWatches();
  await assert.rejects(done, isApiError(0));
});

Deno.test("readLines() splits chunks into lines and refuses an overlong line", async () => {
  const stream = (...parts: string[]) =>
    ReadableStream.from(parts.map((p) => new TextEncoder().encode(p)));
  const lines: string[] = [];
  for await (const line of readLines(stream('{"a":', '1}\n\n{"b":2}\n{"c"', ":3}"), 64)) {
    lines.push(line);
  }
  assert.deepEqual(lines, ['{"a":1}', '{"b":2}', '{"c":3}']);
  await assert.rejects(
    (async () => {
      for await (const _ of readLines(stream("x".repeat(40), "y".repeat(40), "\n"), 64)) {
        // nothing
      }
    })(),
    RangeError,
  );
});

Deno.test("createKubeClient() verifies the API server with the connection's CA and sends its headers", async () => {
  const certs = await makeTestCerts();
  try {
    await using server = await startKubeApiServer({
      tls: { cert: certs.serverCert, key: certs.serverKey },
    });
    server.apply(pod("api-0"));
    let calls = 0;
    using api = createKubeClient({
      server: server.url,
      headers: () => Promise.resolve({ authorization: `Bearer rotated-${++calls}` }),
      tls: { caCerts: [certs.ca], cert: certs.clientCert, key: certs.clientKey },
    });
    assert.equal((await api.request<KubeList>("GET", "/api/v1/pods")).items.length, 1);
    await api.request("GET", "/api/v1/pods");
    assert.equal(server.requests.at(-1)?.headers.authorization, "Bearer rotated-2");
    using untrusting = createKubeClient({
      server: server.url,
      headers: () => Promise.resolve({}),
      tls: {},
    });
    await assert.rejects(untrusting.request("GET", "/api/v1/pods"), isApiError(0));
  } finally {
    await certs.remove();
  }
});

Deno.test("createKubeClient() rejects bad options when it is created", () => {
  const connection = { server: "http://x", headers: () => Promise.resolve({}), tls: {} };
  assert.throws(() => createKubeClient(connection, { timeoutMs: 0 }), RangeError);
  assert.throws(() => createKubeClient(connection, { maxLineBytes: -1 }), RangeError);
});
