import assert from "node:assert/strict";
import { type Issue, IssueSchema } from "@cano/sdk";
import { defineDestination, type SendOptions } from "../destinations/destination.ts";
import {
  type AnyDestination,
  type DestinationConfig,
  DestinationConfigSchema,
  getDestination,
} from "../destinations/mod.ts";
import { StdoutConfigSchema } from "../destinations/stdout.ts";
import { createLogger } from "../log.ts";
import { createMetrics, type Metrics } from "../metrics.ts";
import { createDispatcher, type DispatcherOptions } from "./dispatcher.ts";
import { openStateDatabase } from "./outbox.ts";
import { openThreadStore } from "./threads.ts";

const NOW = Date.parse("2026-03-01T10:00:00Z");

function issue(fingerprint: string, status: "firing" | "resolved" = "firing"): Issue {
  return IssueSchema.parse({
    id: `${fingerprint}-${status}`,
    fingerprint,
    aggregationKey: "KubePodCrashLooping",
    type: "alert",
    source: "prometheus",
    title: `Pod ${fingerprint} is crash looping`,
    severity: "HIGH",
    status,
    startsAt: "2026-03-01T09:59:00Z",
    createdAt: "2026-03-01T10:00:00Z",
  });
}

function webhook(name: string, url: string, extra: Record<string, unknown> = {}) {
  return DestinationConfigSchema.parse({ name, type: "webhook", url, ...extra });
}

interface Hit {
  id: string;
  fingerprint: string;
  status: string;
  headers: Headers;
}

/** A local webhook endpoint answering `respond(hit, n)`; n counts requests from 0. */
function listen(respond: (hit: Hit, n: number) => Response | Promise<Response> = ok) {
  const hits: Hit[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      const { issue } = await request.json() as { issue: Issue };
      const hit = {
        id: issue.id,
        fingerprint: issue.fingerprint,
        status: issue.status,
        headers: request.headers,
      };
      hits.push(hit);
      return respond(hit, hits.length - 1);
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}/hook`,
    hits,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

function ok(): Response {
  return new Response("ok");
}

/** A dispatcher with captured logs, fresh metrics and a sleep that records and returns. */
function harness(options: Partial<DispatcherOptions> & { destinations: DestinationConfig[] }) {
  const lines: string[] = [];
  const delays: number[] = [];
  const metrics = createMetrics();
  const dispatcher = createDispatcher({
    metrics,
    log: createLogger({ level: "debug", write: (line) => lines.push(line), now: () => NOW }),
    now: () => NOW,
    retry: { random: () => 0.5 },
    sleep: (ms) => {
      delays.push(ms);
      return Promise.resolve();
    },
    ...options,
  });
  const logs = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { dispatcher, metrics, delays, lines, logs, [Symbol.dispose]: () => dispatcher.close() };
}

async function count(
  metric:
    | Metrics["destinationSent"]
    | Metrics["destinationErrors"]
    | Metrics["destinationThrottled"],
  labels: Record<string, string>,
): Promise<number> {
  const { values } = await metric.get();
  const match = values.find((v) =>
    Object.entries(labels).every(([k, want]) => (v.labels as Record<string, unknown>)[k] === want)
  );
  return match?.value ?? 0;
}

Deno.test("createDispatcher() delivers once after a 503 and a retry", async () => {
  await using server = listen((_, n) => n === 0 ? new Response("busy", { status: 503 }) : ok());
  using h = harness({ destinations: [webhook("hook", server.url)] });
  h.dispatcher.dispatch(issue("a"), ["hook"]);
  await h.dispatcher.drain();

  assert.equal(server.hits.length, 2);
  assert.equal(
    server.hits[0]!.headers.get("webhook-id"),
    server.hits[1]!.headers.get("webhook-id"),
  );
  assert.deepEqual(h.delays, [500]);
  assert.equal(await count(h.metrics.destinationSent, { destination: "hook" }), 1);
  assert.equal(await count(h.metrics.destinationErrors, { error_type: "retryable" }), 1);
  const durations = await h.metrics.destinationDuration.get();
  const attempts = durations.values.find((v) =>
    v.metricName === "cano_destination_duration_seconds_count"
  );
  assert.equal(attempts?.value, 2);
  assert.deepEqual(h.dispatcher.deadLetters(), []);
});

Deno.test("createDispatcher() waits as long as Retry-After asks", async () => {
  await using server = listen((_, n) =>
    n === 0 ? new Response("", { status: 429, headers: { "retry-after": "1" } }) : ok()
  );
  using h = harness({ destinations: [webhook("hook", server.url)] });
  h.dispatcher.dispatch(issue("a"), ["hook"]);
  await h.dispatcher.drain();
  assert.deepEqual(h.delays, [1000]);
  assert.equal(server.hits.length, 2);
});

Deno.test("createDispatcher() waits for real with the default sleep", async () => {
  await using server = listen((_, n) =>
    n === 0 ? new Response("", { status: 429, headers: { "retry-after": "1" } }) : ok()
  );
  const metrics = createMetrics();
  const dispatcher = createDispatcher({
    destinations: [webhook("hook", server.url)],
    metrics,
    log: createLogger({ write: () => {} }),
  });
  const started = performance.now();
  dispatcher.dispatch(issue("a"), ["hook"]);
  await dispatcher.drain();
  assert.ok(performance.now() - started >= 990, `${performance.now() - started} ms`);
  assert.equal(server.hits.length, 2);
  dispatcher.close();
});

Deno.test("createDispatcher() dead-letters a 400 without retrying", async () => {
  await using server = listen(() => new Response('{"error":"bad"}', { status: 400 }));
  using h = harness({ destinations: [webhook("hook", server.url)] });
  h.dispatcher.dispatch(issue("a"), ["hook"]);
  await h.dispatcher.drain();

  assert.equal(server.hits.length, 1);
  assert.deepEqual(h.delays, []);
  const reason = 'Cannot send to webhook "hook": HTTP 400 Bad Request: {"error":"bad"}';
  assert.deepEqual(h.dispatcher.deadLetters(), [
    { destination: "hook", fingerprint: "a", reason, at: "2026-03-01T10:00:00.000Z" },
  ]);
  const errors = h.logs().filter((l) => l.level === "error");
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.msg, "Cannot deliver issue");
  assert.equal(errors[0]!.destination, "hook");
  assert.equal(errors[0]!.fingerprint, "a");
  assert.equal(errors[0]!.reason, reason);
  assert.equal(await count(h.metrics.destinationErrors, { error_type: "permanent" }), 1);
  assert.equal(await count(h.metrics.destinationSent, { destination: "hook" }), 0);
});

Deno.test("createDispatcher() gives up after maxAttempts retryable failures", async () => {
  await using server = listen(() => new Response("down", { status: 503 }));
  using h = harness({
    destinations: [webhook("hook", server.url)],
    retry: { maxAttempts: 3, random: () => 0.5 },
  });
  h.dispatcher.dispatch(issue("a"), ["hook"]);
  await h.dispatcher.drain();
  assert.equal(server.hits.length, 3);
  assert.deepEqual(h.delays, [500, 1000]);
  assert.equal(await count(h.metrics.destinationErrors, { error_type: "retryable" }), 2);
  assert.equal(await count(h.metrics.destinationErrors, { error_type: "exhausted" }), 1);
  assert.match(h.dispatcher.deadLetters()[0]!.reason, /HTTP 503/);
});

Deno.test("createDispatcher() retries a refused connection until the endpoint is up", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  const hits: string[] = [];
  let server: Deno.HttpServer | undefined;
  using h = harness({
    destinations: [webhook("hook", `http://127.0.0.1:${port}/hook`)],
    sleep: (ms) => {
      h.delays.push(ms);
      // The endpoint comes up while the dispatcher waits to retry.
      server ??= Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, async (request) => {
        hits.push((await request.json()).issue.id);
        return ok();
      });
      return Promise.resolve();
    },
  });
  h.dispatcher.dispatch(issue("a"), ["hook"]);
  await h.dispatcher.drain();
  await server?.shutdown();
  assert.equal(h.delays.length, 1);
  assert.deepEqual(hits, ["a-firing"]);
  assert.match(h.logs().find((l) => l.msg === "Retrying delivery")!.reason as string, /refused/);
  assert.equal(await count(h.metrics.destinationSent, { destination: "hook" }), 1);
});

Deno.test("createDispatcher() retries after a timeout", async () => {
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  await using server = listen((_, n) => n === 0 ? released.then(ok) : ok());
  using h = harness({
    destinations: [webhook("hook", server.url, { timeoutMs: 100 })],
    sleep: (ms) => {
      h.delays.push(ms);
      release();
      return Promise.resolve();
    },
  });
  h.dispatcher.dispatch(issue("a"), ["hook"]);
  await h.dispatcher.drain();
  assert.equal(server.hits.length, 2);
  assert.match(
    h.logs().find((l) => l.msg === "Retrying delivery")!.reason as string,
    /no complete response within 100 ms/,
  );
  assert.equal(await count(h.metrics.destinationSent, { destination: "hook" }), 1);
});

Deno.test("createDispatcher() keeps a failing destination from affecting another", async () => {
  await using bad = listen(() => new Response("nope", { status: 400 }));
  await using good = listen();
  using h = harness({ destinations: [webhook("bad", bad.url), webhook("good", good.url)] });
  h.dispatcher.dispatch(issue("a"), ["bad", "good", "missing", "good"]);
  await h.dispatcher.drain();

  assert.deepEqual(good.hits.map((hit) => hit.id), ["a-firing"]);
  assert.equal(bad.hits.length, 1);
  assert.deepEqual(h.dispatcher.deadLetters().map((d) => d.destination), ["missing", "bad"]);
  assert.equal(await count(h.metrics.destinationSent, { destination: "good" }), 1);
  assert.equal(
    await count(h.metrics.destinationErrors, { error_type: "unknown_destination" }),
    1,
  );
});

Deno.test("createDispatcher() keeps order per fingerprint, not across fingerprints", async () => {
  await using server = listen((_, n) => n === 0 ? new Response("", { status: 503 }) : ok());
  using h = harness({
    destinations: [webhook("hook", server.url)],
    sleep: () => new Promise((resolve) => setTimeout(resolve, 50)),
  });
  h.dispatcher.dispatch(issue("a", "firing"), ["hook"]);
  h.dispatcher.dispatch(issue("a", "resolved"), ["hook"]);
  h.dispatcher.dispatch(issue("b", "firing"), ["hook"]);
  await h.dispatcher.drain();

  assert.deepEqual(server.hits.filter((hit) => hit.fingerprint === "a").map((hit) => hit.status), [
    "firing",
    "firing",
    "resolved",
  ]);
  // "b" did not wait for "a"'s retry.
  assert.deepEqual(server.hits.map((hit) => hit.id).slice(0, 2).sort(), ["a-firing", "b-firing"]);
});

Deno.test("createDispatcher() runs at most `concurrency` deliveries per destination", async () => {
  let active = 0;
  let peak = 0;
  await using server = listen(async () => {
    peak = Math.max(peak, ++active);
    await new Promise((resolve) => setTimeout(resolve, 30));
    active--;
    return ok();
  });
  using h = harness({ destinations: [webhook("hook", server.url)], concurrency: 2 });
  for (const fp of ["a", "b", "c", "d", "e", "f"]) h.dispatcher.dispatch(issue(fp), ["hook"]);
  assert.equal(h.dispatcher.pending(), 6);
  await h.dispatcher.drain();
  assert.equal(peak, 2);
  assert.equal(server.hits.length, 6);
});

Deno.test("createDispatcher() drain() waits for in-flight deliveries, or times out", async () => {
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  await using server = listen(() => released.then(ok));
  using h = harness({ destinations: [webhook("hook", server.url)] });
  await h.dispatcher.drain();
  h.dispatcher.dispatch(issue("a"), ["hook"]);
  assert.equal(h.dispatcher.pending(), 1);
  await assert.rejects(h.dispatcher.drain(50), {
    message: "Cannot drain deliveries: 1 still pending after 50 ms",
  });
  const drained = h.dispatcher.drain(5000);
  release();
  await drained;
  assert.equal(h.dispatcher.pending(), 0);
  assert.equal(await count(h.metrics.destinationSent, { destination: "hook" }), 1);
});

Deno.test("createDispatcher() close() stops deliveries and refuses new ones", async () => {
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  await using server = listen(() => released.then(ok));
  using h = harness({ destinations: [webhook("hook", server.url)], concurrency: 1 });
  for (const fp of ["a", "b", "c"]) h.dispatcher.dispatch(issue(fp), ["hook"]);
  while (server.hits.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  h.dispatcher.close();
  await h.dispatcher.drain(2000);
  release();
  assert.equal(h.dispatcher.pending(), 0);
  assert.deepEqual(h.dispatcher.deadLetters(), []);
  assert.deepEqual(h.logs().filter((l) => l.level === "warn").map((l) => [l.msg, l.count]), [
    ["Dropped queued deliveries at close", 2],
    ["Stopped delivery at close", undefined],
  ]);
  assert.throws(() => h.dispatcher.dispatch(issue("d"), ["hook"]), {
    message: "Cannot dispatch issue: the dispatcher is closed",
  });
});

Deno.test("createDispatcher() update() sends new deliveries with the new config", async () => {
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  await using before = listen(() => released.then(ok));
  await using after = listen();
  using h = harness({ destinations: [webhook("hook", before.url)] });
  h.dispatcher.dispatch(issue("a"), ["hook"]);
  while (before.hits.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  h.dispatcher.update([webhook("hook", after.url)]);
  h.dispatcher.dispatch(issue("b"), ["hook"]);
  while (after.hits.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  release();
  await h.dispatcher.drain();
  assert.deepEqual(before.hits.map((hit) => hit.id), ["a-firing"]);
  assert.deepEqual(after.hits.map((hit) => hit.id), ["b-firing"]);
  assert.equal(await count(h.metrics.destinationSent, { destination: "hook" }), 2);
});

Deno.test("createDispatcher() never logs headers, signing secrets or URL secrets", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  const secrets = ["Bearer s3cr3t-header", "whsec_c2VjcmV0LWtleS1ieXRlcw==", "url-t0ken-42"];
  using h = harness({
    destinations: [
      webhook("hook", `http://127.0.0.1:${port}/hook?token=${secrets[2]}`, {
        headers: { authorization: secrets[0] },
        signingSecret: secrets[1],
      }),
    ],
    retry: { maxAttempts: 2 },
  });
  h.dispatcher.dispatch(issue("a"), ["hook"]);
  await h.dispatcher.drain();
  assert.equal(h.dispatcher.deadLetters().length, 1);
  assert.ok(h.lines.some((l) => l.includes('"fingerprint":"a"') && l.includes("refused")));
  const written = h.lines.join("\n") + JSON.stringify(h.dispatcher.deadLetters());
  for (const secret of secrets) assert.ok(!written.includes(secret), `leaked ${secret}`);
});

Deno.test("createDispatcher() keeps the newest dead letters up to the limit", () => {
  using h = harness({ destinations: [], deadLetterLimit: 2 });
  for (const fp of ["a", "b", "c"]) h.dispatcher.dispatch(issue(fp), ["nowhere"]);
  assert.deepEqual(h.dispatcher.deadLetters().map((d) => d.fingerprint), ["b", "c"]);
  assert.equal(h.dispatcher.pending(), 0);
});

/** A stdout-typed destination whose sends are scripted, for what webhooks cannot show. */
function scripted(
  render: (issue: Issue) => string[],
  send: (payload: string, options: SendOptions) => Awaited<ReturnType<AnyDestination["send"]>>,
): (type: string) => AnyDestination {
  const destination = defineDestination({
    type: "stdout",
    config: StdoutConfigSchema,
    render,
    describe: (payload: string) => ({ output: payload }),
    send: (payload: string, _config, options) => Promise.resolve(send(payload, options)),
  });
  return (type) => type === "stdout" ? destination as AnyDestination : getDestination(type);
}

const CONSOLE = StdoutConfigSchema.parse({ name: "console", type: "stdout" });

Deno.test("createDispatcher() resumes a multi-payload delivery at the failed payload", async () => {
  const sent: string[] = [];
  let failures = 1;
  using h = harness({
    destinations: [CONSOLE],
    getDestination: scripted((i) => [`${i.id}#1`, `${i.id}#2`], (payload) => {
      if (payload.endsWith("#2") && failures-- > 0) {
        return { ok: false, retryable: true, reason: "busy" };
      }
      sent.push(payload);
      return { ok: true };
    }),
  });
  h.dispatcher.dispatch(issue("a"), ["console"]);
  await h.dispatcher.drain();
  assert.deepEqual(sent, ["a-firing#1", "a-firing#2"]);
  assert.equal(await count(h.metrics.destinationSent, { destination: "console" }), 2);
});

Deno.test("createDispatcher() hands thread state to later sends of the same fingerprint", async () => {
  const seen: (string | undefined)[] = [];
  let n = 0;
  using h = harness({
    destinations: [CONSOLE],
    getDestination: scripted((i) => [i.id], (_payload, options) => {
      seen.push(options.thread?.ts);
      return { ok: true, thread: { ts: `ts-${++n}` } };
    }),
  });
  h.dispatcher.dispatch(issue("a", "firing"), ["console"]);
  h.dispatcher.dispatch(issue("b", "firing"), ["console"]);
  h.dispatcher.dispatch(issue("a", "resolved"), ["console"]);
  await h.dispatcher.drain();
  assert.deepEqual(seen, [undefined, undefined, "ts-1"]);
});

Deno.test("createDispatcher() dead-letters a destination that throws", async () => {
  using h = harness({
    destinations: [CONSOLE],
    getDestination: scripted(() => {
      throw new Error("render bug");
    }, () => ({ ok: true })),
  });
  h.dispatcher.dispatch(issue("a"), ["console"]);
  await h.dispatcher.drain();
  assert.deepEqual(h.dispatcher.deadLetters().map((d) => d.reason), [
    'Cannot render issue for "console": render bug',
  ]);
  assert.equal(await count(h.metrics.destinationErrors, { error_type: "exception" }), 1);
});

Deno.test("createDispatcher() rejects bad options and duplicate names", () => {
  const base = { metrics: createMetrics(), log: createLogger({ write: () => {} }) };
  assert.throws(() => createDispatcher({ ...base, destinations: [], concurrency: 0 }), {
    name: "RangeError",
    message: "Cannot create dispatcher: concurrency must be an integer >= 1, got 0",
  });
  assert.throws(() => createDispatcher({ ...base, destinations: [CONSOLE, CONSOLE] }), {
    name: "RangeError",
    message: 'Cannot configure destinations: name "console" is used more than once',
  });
  assert.throws(() => createDispatcher({ ...base, destinations: [], retry: { jitter: 2 } }), {
    name: "RangeError",
  });
});

Deno.test("createDispatcher() hands its fetch to destinations", async () => {
  const urls: string[] = [];
  using h = harness({
    destinations: [webhook("hook", "https://hooks.example.com/cano")],
    fetch: (input) => {
      urls.push(String(input));
      return Promise.resolve(new Response("ok"));
    },
  });
  h.dispatcher.dispatch(issue("a"), ["hook"]);
  await h.dispatcher.drain();
  assert.deepEqual(urls, ["https://hooks.example.com/cano"]);
  assert.equal(await count(h.metrics.destinationSent, { destination: "hook" }), 1);
});

Deno.test("createDispatcher() holds sends to a destination's rate limit, in order", async () => {
  const sentAt: number[] = [];
  using h = harness({
    destinations: [webhook("hook", "https://hooks.example.com/cano", {
      rateLimit: { perSecond: 20, burst: 1 },
    })],
    now: Date.now,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    fetch: () => {
      sentAt.push(performance.now());
      return Promise.resolve(new Response("ok"));
    },
  });
  for (const name of ["a", "b", "c", "d"]) h.dispatcher.dispatch(issue(name), ["hook"]);
  await h.dispatcher.drain();
  assert.equal(sentAt.length, 4);
  // Twenty per second with no burst: sends about 50 ms apart, whatever the concurrency.
  for (let i = 1; i < sentAt.length; i++) {
    assert.ok(sentAt[i]! - sentAt[i - 1]! >= 40, `sent at ${sentAt.join(", ")}`);
  }
  assert.equal(await count(h.metrics.destinationThrottled, { destination: "hook" }), 3);
});

Deno.test("createDispatcher() keeps thread state in the given store", async () => {
  const db = openStateDatabase(":memory:");
  const threads = openThreadStore(db);
  const seen: (string | undefined)[] = [];
  const destinationFor = scripted((i) => [i.id], (_payload, options) => {
    seen.push(options.thread?.ts);
    return { ok: true, thread: { ts: `ts-${seen.length}` } };
  });
  {
    using h = harness({ destinations: [CONSOLE], getDestination: destinationFor, threads });
    h.dispatcher.dispatch(issue("a", "firing"), ["console"]);
    await h.dispatcher.drain();
  }
  // A new dispatcher (as after a restart) finds the thread of "a".
  using h = harness({ destinations: [CONSOLE], getDestination: destinationFor, threads });
  h.dispatcher.dispatch(issue("a", "resolved"), ["console"]);
  await h.dispatcher.drain();
  assert.deepEqual(seen, [undefined, "ts-1"]);
  assert.deepEqual(threads.get("console", "a"), { ts: "ts-2" });
  db.close();
});

Deno.test("createDispatcher() closes configs a reload changes or removes, and all at close", async () => {
  const closed: string[] = [];
  const destination = defineDestination({
    type: "stdout",
    config: StdoutConfigSchema,
    render: (i: Issue) => [i.id],
    describe: (payload: string) => ({ output: payload }),
    send: () => Promise.resolve({ ok: true as const }),
    close: (config) => {
      closed.push(`${config.name}:${config.format}`);
      return config.name === "broken"
        ? Promise.reject(new Error("already gone"))
        : Promise.resolve();
    },
  });
  const stdout = (name: string, format = "text") =>
    StdoutConfigSchema.parse({ name, type: "stdout", format });
  const h = harness({
    destinations: [stdout("kept"), stdout("changed"), stdout("removed"), stdout("broken")],
    getDestination: (type) =>
      type === "stdout" ? destination as AnyDestination : getDestination(type),
  });
  h.dispatcher.update([stdout("kept"), stdout("changed", "json"), stdout("broken")]);
  await Promise.resolve();
  assert.deepEqual(closed.sort(), ["changed:text", "removed:text"]);
  closed.length = 0;
  await h.dispatcher.close();
  assert.deepEqual(closed.sort(), ["broken:text", "changed:json", "kept:text"]);
  assert.ok(
    h.logs().some((l) => l.msg === "Cannot close destination" && l.destination === "broken"),
  );
});

Deno.test("createDispatcher() keeps a destination's own concurrency over the default", async () => {
  let inFlight = 0;
  let most = 0;
  using h = harness({
    destinations: [webhook("hook", "https://hooks.example.com/cano", { concurrency: 2 })],
    concurrency: 16,
    fetch: async () => {
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      return new Response("ok");
    },
  });
  for (let i = 0; i < 10; i++) h.dispatcher.dispatch(issue(`f${i}`), ["hook"]);
  await h.dispatcher.drain();
  assert.equal(most, 2);
});
