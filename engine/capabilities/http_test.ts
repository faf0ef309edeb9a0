import { type PermissionsInput, PermissionsSchema } from "@cano/sdk";
import { createTestContext } from "@cano/sdk/testing";
import assert from "node:assert/strict";
import { type CapabilityCallContext, CapabilityError, createCapabilityHost } from "./host.ts";
import type { CapabilityHostOptions } from "./host.ts";
import type { CapabilityPolicyInput } from "./policy.ts";

const LOCAL: CapabilityPolicyInput = {
  http: { allowHosts: ["127.0.0.1", "localhost"], allowPrivateNetworks: ["127.0.0.0/8"] },
};

function context(permissions: PermissionsInput, signal = new AbortController().signal) {
  return {
    workflowId: "owner-lookup",
    permissions: PermissionsSchema.parse(permissions),
    signal,
    budget: { remaining: 10 },
  } satisfies CapabilityCallContext;
}

function serve(handler: (request: Request) => Response | Promise<Response>) {
  const hits: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    hits.push(`${request.method} ${new URL(request.url).pathname}`);
    return handler(request);
  });
  return { server, hits, origin: `http://127.0.0.1:${server.addr.port}` };
}

async function rejection(promise: Promise<unknown>): Promise<CapabilityError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CapabilityError) return error;
    throw error;
  }
  throw new Error("Expected the call to be rejected");
}

function fetchVia(options: CapabilityHostOptions, url: string, permissions: PermissionsInput) {
  const host = createCapabilityHost(options);
  return host.call("http.fetch", { url }, context(permissions));
}

Deno.test("http.fetch returns status, lower-case headers and body from an allowed host", async () => {
  const received: string[] = [];
  const { server, origin } = serve(async (request) => {
    received.push(request.method, request.headers.get("x-team") ?? "", await request.text());
    return Response.json({ team: "payments" }, { status: 201, headers: { "X-Owner": "pay" } });
  });
  await using _ = server;
  const host = createCapabilityHost({ policy: LOCAL });
  const response = await host.call(
    "http.fetch",
    { url: `${origin}/owners`, init: { method: "POST", headers: { "X-Team": "a" }, body: "q" } },
    context({ http: ["127.0.0.1"] }),
  );
  assert.deepEqual(received, ["POST", "a", "q"]);
  assert.equal((response as { status: number }).status, 201);
  assert.equal((response as { headers: Record<string, string> }).headers["x-owner"], "pay");
  assert.deepEqual(JSON.parse((response as { body: string }).body), { team: "payments" });
});

Deno.test("http.fetch refuses a host missing from the workflow's permissions", async () => {
  const { server, origin, hits } = serve(() => new Response("no"));
  await using _ = server;
  const error = await rejection(
    fetchVia({ policy: LOCAL }, `${origin}/x?token=1`, { http: ["api.example.com"] }),
  );
  assert.equal(error.reason, "not_permitted");
  assert.equal(
    error.message,
    `Cannot fetch "${origin}/x?…": host "${
      new URL(origin).host
    }" is not in the workflow's permissions.http (declared: api.example.com)`,
  );
  assert.deepEqual(hits, []);
});

Deno.test("http.fetch refuses a host the operator did not allow", async () => {
  const { server, origin, hits } = serve(() => new Response("no"));
  await using _ = server;
  const policy = { http: { allowHosts: ["*.example.com"], allowPrivateNetworks: ["127.0.0.0/8"] } };
  const error = await rejection(fetchVia({ policy }, `${origin}/`, { http: ["127.0.0.1"] }));
  assert.equal(error.reason, "not_permitted");
  assert.match(
    error.message,
    /is not allowed by the operator \(capabilities\.http\.allowHosts: \*\.example\.com\)$/,
  );
  assert.deepEqual(hits, []);
});

Deno.test("http.fetch refuses private addresses unless a CIDR allows them", async () => {
  const { server, origin, hits } = serve(() => new Response("ok"));
  await using _ = server;
  const policy = { http: { allowHosts: ["127.0.0.1", "10.0.0.1"] } };
  const loopback = await rejection(fetchVia({ policy }, `${origin}/`, { http: ["127.0.0.1"] }));
  assert.equal(
    loopback.message,
    `Cannot fetch "${origin}/": address 127.0.0.1 is in the loopback network (allowed: none)`,
  );
  const privateNet = await rejection(
    fetchVia({ policy }, "http://10.0.0.1/", { http: ["10.0.0.1"] }),
  );
  assert.equal(
    privateNet.message,
    'Cannot fetch "http://10.0.0.1/": address 10.0.0.1 is in a private network (allowed: none)',
  );
  assert.deepEqual(hits, []);
});

Deno.test("http.fetch refuses a name when any of its addresses is private", async () => {
  const resolveDns = (_q: string, type: "A" | "AAAA") =>
    Promise.resolve(type === "A" ? ["93.184.215.14", "10.1.2.3"] : []);
  const policy = { http: { allowHosts: ["*.example.com"] } };
  const error = await rejection(
    fetchVia({ policy, resolveDns }, "https://internal.example.com/", { http: ["*.example.com"] }),
  );
  assert.equal(error.reason, "not_permitted");
  assert.match(
    error.message,
    /host "internal\.example\.com" resolves to 10\.1\.2\.3, which is in a private network \(allowed: none\)$/,
  );
});

Deno.test("http.fetch never reaches metadata endpoints, even with 0.0.0.0/0 allowed", async () => {
  const resolveDns = (_q: string, type: "A" | "AAAA") =>
    Promise.resolve(type === "AAAA" ? ["fd00:ec2::254"] : []);
  const options = {
    policy: { http: { allowHosts: ["*"], allowPrivateNetworks: ["0.0.0.0/0", "::/0"] } },
    resolveDns,
  };
  const permissions = { http: ["169.254.169.254", "metadata.google.internal", "imds.example.com"] };
  const literal = await rejection(
    fetchVia(options, "http://169.254.169.254/latest/meta-data/", permissions),
  );
  assert.match(
    literal.message,
    /address 169\.254\.169\.254 is a cloud metadata endpoint and is never allowed$/,
  );
  const name = await rejection(fetchVia(options, "http://metadata.google.internal/", permissions));
  assert.match(name.message, /host "metadata\.google\.internal" is a cloud metadata endpoint/);
  const resolved = await rejection(fetchVia(options, "http://imds.example.com/", permissions));
  assert.match(resolved.message, /resolves to fd00:ec2::254, which is a cloud metadata endpoint/);
  for (const error of [literal, name, resolved]) assert.equal(error.reason, "not_permitted");
});

Deno.test("http.fetch re-checks every redirect and refuses a forbidden target", async () => {
  const target = serve(() => new Response("secret"));
  await using _t = target.server;
  const port = target.server.addr.port;
  const start = serve((request) => {
    const path = new URL(request.url).pathname;
    if (path === "/to-metadata") return Response.redirect("http://169.254.169.254/", 302);
    return Response.redirect(`http://localhost:${port}/`, 302);
  });
  await using _s = start.server;
  const host = createCapabilityHost({ policy: LOCAL });
  const ctx = context({ http: ["127.0.0.1"] });
  const toHost = await rejection(host.call("http.fetch", { url: `${start.origin}/go` }, ctx));
  assert.equal(toHost.reason, "not_permitted");
  assert.equal(
    toHost.message,
    `Cannot fetch "${start.origin}/go" (redirected to "http://localhost:${port}/"): host "localhost:${port}" is not in the workflow's permissions.http (declared: 127.0.0.1)`,
  );
  const wide = context({ http: ["127.0.0.1", "169.254.169.254"] });
  const open = createCapabilityHost({
    policy: { http: { allowHosts: ["*"], allowPrivateNetworks: ["0.0.0.0/0"] } },
  });
  const toMetadata = await rejection(
    open.call("http.fetch", { url: `${start.origin}/to-metadata` }, wide),
  );
  assert.match(
    toMetadata.message,
    /\(redirected to "http:\/\/169\.254\.169\.254\/"\): address 169\.254\.169\.254 is a cloud metadata/,
  );
  assert.deepEqual(target.hits, []);
});

Deno.test("http.fetch follows allowed redirects, turning a POST into a GET on 303", async () => {
  const { server, origin, hits } = serve((request) => {
    const path = new URL(request.url).pathname;
    if (path === "/submit") {
      return new Response(null, { status: 303, headers: { location: "/done" } });
    }
    if (path === "/loop") {
      return new Response(null, { status: 302, headers: { location: "/loop" } });
    }
    return new Response(`${request.method} done`);
  });
  await using _ = server;
  const host = createCapabilityHost({ policy: LOCAL });
  const ctx = context({ http: ["127.0.0.1"] });
  const response = await host.call("http.fetch", {
    url: `${origin}/submit`,
    init: { method: "POST", body: "x" },
  }, ctx);
  assert.equal((response as { body: string }).body, "GET done");
  assert.deepEqual(hits, ["POST /submit", "GET /done"]);
  const loop = await rejection(host.call("http.fetch", { url: `${origin}/loop` }, ctx));
  assert.equal(loop.reason, "failed");
  assert.match(loop.message, /more than 5 redirects \(capabilities\.http\.maxRedirects\)$/);
});

Deno.test("http.fetch aborts a response larger than maxResponseBytes", async () => {
  let cancelled = false;
  let sent = 0;
  const chunk = new Uint8Array(16 * 1024);
  const { server, origin } = serve((request) => {
    if (new URL(request.url).pathname === "/declared") {
      return new Response(new Uint8Array(100_000));
    }
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        sent += chunk.byteLength;
        controller.enqueue(chunk);
      },
      cancel() {
        cancelled = true;
      },
    });
    return new Response(body);
  });
  await using _ = server;
  const policy = { http: { ...LOCAL.http, maxResponseBytes: 64 * 1024 } };
  const host = createCapabilityHost({ policy });
  const ctx = context({ http: ["127.0.0.1"] });
  const endless = await rejection(host.call("http.fetch", { url: `${origin}/endless` }, ctx));
  assert.equal(endless.reason, "failed");
  assert.match(
    endless.message,
    /the response body exceeds 65536 bytes \(capabilities\.http\.maxResponseBytes\)$/,
  );
  for (let i = 0; i < 50 && !cancelled; i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cancelled, "the server saw the transfer aborted");
  assert.ok(sent < 4 * 1024 * 1024, `sent ${sent} bytes`);
  const declared = await rejection(host.call("http.fetch", { url: `${origin}/declared` }, ctx));
  assert.match(declared.message, /exceeds 65536 bytes/);
});

Deno.test("http.fetch times out after timeoutMs and stops at the run's deadline", async () => {
  const { server, origin } = serve(async () => {
    await new Promise((resolve) => setTimeout(resolve, 500));
    return new Response("late");
  });
  await using _ = server;
  const host = createCapabilityHost({ policy: { http: { ...LOCAL.http, timeoutMs: 100 } } });
  const started = performance.now();
  const timedOut = await rejection(
    host.call("http.fetch", { url: origin }, context({ http: ["127.0.0.1"] })),
  );
  assert.ok(performance.now() - started < 450);
  assert.equal(timedOut.reason, "failed");
  assert.match(timedOut.message, /timed out after 100 ms \(capabilities\.http\.timeoutMs\)$/);
  const deadline = AbortSignal.timeout(50);
  const patient = createCapabilityHost({ policy: LOCAL });
  const cancelled = await rejection(
    patient.call("http.fetch", { url: origin }, context({ http: ["127.0.0.1"] }, deadline)),
  );
  assert.match(cancelled.message, /the run's deadline passed$/);
});

Deno.test("http.fetch rejects other schemes and headers the host owns", async () => {
  const host = createCapabilityHost({ policy: { http: { allowHosts: ["*"] } } });
  const ctx = context({ http: ["example.com"] });
  const file = await rejection(host.call("http.fetch", { url: "file:///etc/passwd" }, ctx));
  assert.equal(file.reason, "not_permitted");
  assert.match(file.message, /scheme "file" is not allowed \(allowed: http, https\)$/);
  const header = await rejection(
    host.call("http.fetch", {
      url: "https://example.com/",
      init: { headers: { Host: "10.0.0.1" } },
    }, ctx),
  );
  assert.equal(header.reason, "invalid_args");
  assert.match(header.message, /init\.headers\.Host: This header is set by the host/);
  const bodyOnGet = await rejection(
    host.call("http.fetch", { url: "https://example.com/", init: { body: "x" } }, ctx),
  );
  assert.equal(bodyOnGet.reason, "invalid_args");
});

Deno.test("http.fetch refuses undeclared hosts with the same message as sdk/testing.ts", async () => {
  const policy = { http: { allowHosts: ["*"] } };
  const permissions = { http: ["teams.example.com", "*.corp.example.com"] };
  const { ctx } = createTestContext({ permissions });
  for (
    const url of [
      "https://evil.example.com/a?b=c",
      "ftp://teams.example.com/",
      "https://corp.example.com/",
    ]
  ) {
    const engine = await rejection(fetchVia({ policy }, url, permissions));
    await assert.rejects(ctx.http.fetch(url), { message: engine.message });
  }
});
