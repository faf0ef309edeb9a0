import { PermissionsSchema } from "@cano/sdk";
import assert from "node:assert/strict";
import { z } from "zod";
import { createLogger } from "../log.ts";
import { createMetrics } from "../metrics.ts";
import {
  capabilitiesFor,
  type CapabilityCallContext,
  CapabilityError,
  type CapabilityProvider,
  createCapabilityHost,
} from "./host.ts";
import { type CapabilityPolicy, CapabilityPolicySchema } from "./policy.ts";

function context(remaining = 5, http: string[] = ["127.0.0.1"]): CapabilityCallContext {
  return {
    workflowId: "noisy",
    permissions: PermissionsSchema.parse({ http, prometheus: true }),
    signal: new AbortController().signal,
    budget: { remaining },
  };
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

const echo: CapabilityProvider<{ text: string }, string> = {
  name: "test.echo",
  args: z.strictObject({ text: z.string() }),
  permitted: (permissions) => permissions.prometheus || "Cannot echo: not declared",
  handle: (args) => Promise.resolve(args.text.toUpperCase()),
};

Deno.test("createCapabilityHost() serves an extra provider as one more table entry", async () => {
  const host = createCapabilityHost({ providers: [echo] });
  assert.equal(await host.call("test.echo", { text: "hi" }, context()), "HI");
  const ctx = { ...context(), permissions: PermissionsSchema.parse({}) };
  const denied = await rejection(host.call("test.echo", { text: "hi" }, ctx));
  assert.equal(denied.reason, "not_permitted");
  assert.equal(denied.message, "Cannot echo: not declared");
  assert.equal(denied.capability, "test.echo");
  assert.equal(denied.workflowId, "noisy");
});

Deno.test("createCapabilityHost() rejects duplicate names and invalid policies when created", () => {
  assert.throws(
    () => createCapabilityHost({ providers: [echo, echo] }),
    {
      name: "TypeError",
      message: 'Cannot create capability host: capability "test.echo" is registered twice',
    },
  );
  assert.throws(
    () => createCapabilityHost({ policy: { http: { allowPrivateNetworks: ["10.0.0.0/33"] } } }),
    /Cannot create capability host: invalid policy: http\.allowPrivateNetworks\.0/,
  );
});

Deno.test("CapabilityHost.call() spends the budget on every call and refuses at zero", async () => {
  const host = createCapabilityHost({ providers: [echo] });
  const ctx = context(2);
  await host.call("test.echo", { text: "a" }, ctx);
  await rejection(host.call("test.echo", { text: 1 }, ctx));
  assert.equal(ctx.budget.remaining, 0);
  const exhausted = await rejection(host.call("test.echo", { text: "b" }, ctx));
  assert.equal(exhausted.reason, "budget_exhausted");
  assert.equal(
    exhausted.message,
    'Cannot call "test.echo": this run has used all its capability calls',
  );
  assert.equal(ctx.budget.remaining, 0);
});

Deno.test("CapabilityHost.call() reports unknown names and bad arguments as invalid_args", async () => {
  const host = createCapabilityHost({ providers: [echo] });
  const unknown = await rejection(host.call("k8s.delete", {}, context()));
  assert.equal(unknown.reason, "invalid_args");
  assert.equal(
    unknown.message,
    'Cannot call "k8s.delete": no such capability (available: http.fetch, prometheus.query, prometheus.queryRange, test.echo)',
  );
  const bad = await rejection(host.call("http.fetch", { url: "not a url", extra: 1 }, context()));
  assert.equal(bad.reason, "invalid_args");
  assert.match(
    bad.message,
    /^Cannot call "http\.fetch": invalid arguments: .*url: Expected an absolute URL/,
  );
});

Deno.test("CapabilityHost.call() counts every outcome, unless countMetrics is false", async () => {
  const metrics = createMetrics();
  const host = createCapabilityHost({ providers: [echo], metrics });
  const ctx = context(3);
  await host.call("test.echo", { text: "a" }, ctx);
  await rejection(host.call("http.fetch", { url: "https://example.com/" }, ctx));
  await rejection(host.call("nope", {}, ctx));
  await rejection(host.call("test.echo", { text: "a" }, ctx));
  const text = await metrics.registry.metrics();
  assert.match(
    text,
    /cano_sandbox_capability_calls_total\{workflow="noisy",capability="test\.echo",outcome="ok"\} 1/,
  );
  assert.match(text, /capability="http\.fetch",outcome="not_permitted"\} 1/);
  assert.match(text, /capability="unknown",outcome="invalid_args"\} 1/);
  assert.match(text, /capability="test\.echo",outcome="budget_exhausted"\} 1/);

  const quiet = createMetrics();
  const uncounted = createCapabilityHost({
    providers: [echo],
    metrics: quiet,
    countMetrics: false,
  });
  await uncounted.call("test.echo", { text: "a" }, context());
  assert.doesNotMatch(await quiet.registry.metrics(), /cano_sandbox_capability_calls_total\{/);
});

Deno.test("CapabilityHost.call() logs with the workflow id and never header values or bodies", async () => {
  const lines: string[] = [];
  const logger = createLogger({ level: "debug", write: (line) => lines.push(line) });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response("response-body-secret"),
  );
  await using _ = server;
  const policy = { http: { allowHosts: ["127.0.0.1"], allowPrivateNetworks: ["127.0.0.0/8"] } };
  const host = createCapabilityHost({ policy, logger });
  const url = `http://127.0.0.1:${server.addr.port}/api?key=query-secret`;
  const init = {
    method: "POST",
    headers: { "X-Api-Key": "header-secret" },
    body: "request-body-secret",
  };
  await host.call("http.fetch", { url, init }, context());
  await rejection(
    host.call("http.fetch", { url: "https://evil.example.com/?q=query-secret", init }, context()),
  );
  const all = lines.join("\n");
  for (
    const secret of ["header-secret", "request-body-secret", "response-body-secret", "query-secret"]
  ) {
    assert.ok(!all.includes(secret), `log leaked ${secret}`);
  }
  const [ok, refused] = lines.map((line) => JSON.parse(line));
  assert.equal(ok.level, "debug");
  assert.equal(ok.workflow, "noisy");
  assert.equal(ok.capability, "http.fetch");
  assert.equal(ok.host, `127.0.0.1:${server.addr.port}`);
  assert.equal(refused.level, "warn");
  assert.equal(refused.outcome, "not_permitted");
});

Deno.test("CapabilityHost.call() turns an unexpected provider error into a safe failure", async () => {
  const lines: string[] = [];
  const logger = createLogger({ write: (line) => lines.push(line) });
  const broken: CapabilityProvider<unknown, never> = {
    name: "test.broken",
    args: z.unknown(),
    permitted: () => true,
    handle: () => Promise.reject(new Error("internal path /var/run/secret")),
  };
  const host = createCapabilityHost({ providers: [broken], logger });
  const error = await rejection(host.call("test.broken", {}, context()));
  assert.equal(error.reason, "failed");
  assert.equal(error.message, 'Cannot call "test.broken": the capability failed unexpectedly');
  assert.ok(lines.some((line) => JSON.parse(line).msg === "Capability provider threw"));
});

Deno.test("CapabilityHost.call() reads a policy getter on every call", async () => {
  let policy: CapabilityPolicy = CapabilityPolicySchema.parse({});
  const host = createCapabilityHost({ policy: () => policy });
  const ctx = context(5, ["api.example.com"]);
  const before = await rejection(host.call("http.fetch", { url: "ftp://api.example.com/" }, ctx));
  assert.match(before.message, /scheme "ftp"/);
  const closed = await rejection(host.call("http.fetch", { url: "https://api.example.com/" }, ctx));
  assert.match(closed.message, /allowHosts: none\)$/);
  policy = CapabilityPolicySchema.parse({ http: { allowHosts: ["api.example.com"] } });
  const resolved = await rejection(
    createCapabilityHost({
      policy: () => policy,
      resolveDns: () => Promise.resolve(["192.168.0.10"]),
    }).call("http.fetch", { url: "https://api.example.com/" }, ctx),
  );
  assert.match(resolved.message, /resolves to 192\.168\.0\.10, which is in a private network/);
});

Deno.test("capabilitiesFor() gives in-process workflows the same checked ctx.http and ctx.prometheus", async () => {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/api/v1/query") {
      return Response.json({ status: "success", data: { resultType: "vector", result: [] } });
    }
    return new Response("hello");
  });
  await using _ = server;
  const origin = `http://127.0.0.1:${server.addr.port}`;
  const host = createCapabilityHost({
    policy: {
      http: { allowHosts: ["127.0.0.1"], allowPrivateNetworks: ["127.0.0.0/8"] },
      prometheus: { url: origin },
    },
  });
  const ctx = context(3);
  const { http, prometheus } = capabilitiesFor(host, ctx);
  assert.equal((await http.fetch(`${origin}/`)).body, "hello");
  assert.deepEqual(await prometheus.query("up"), { resultType: "vector", result: [] });
  await assert.rejects(
    http.fetch("https://example.com/"),
    /not in the workflow's permissions\.http/,
  );
  assert.equal(ctx.budget.remaining, 0);
});
