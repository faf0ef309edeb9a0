import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { type Issue, IssueSchema, table } from "@cano/sdk";
import webhook, { type WebhookConfig, WebhookConfigSchema } from "./webhook.ts";

const ISSUE: Issue = IssueSchema.parse({
  id: "7d0c",
  fingerprint: "3f2a9c1b7d4e8a60",
  aggregationKey: "KubePodCrashLooping",
  type: "alert",
  source: "prometheus",
  title: "Pod is crash looping",
  severity: "MEDIUM",
  status: "firing",
  labels: { namespace: "shop", pod: "api-1" },
  startsAt: "2026-03-01T10:12:04.512Z",
  createdAt: "2026-03-01T10:12:05Z",
  enrichments: [{ workflow: "crash-loop-logs", blocks: [table(["a"], [["1"]])] }],
});

const SECRET_KEY = new Uint8Array(32).map((_, i) => i * 7 + 1);
const WHSEC = `whsec_${btoa(String.fromCharCode(...SECRET_KEY))}`;
const NOW = Date.parse("2026-03-01T10:12:06.900Z");

interface Received {
  method: string;
  headers: Record<string, string>;
  body: string;
}

/** A local endpoint answering with `respond(n)` for the n-th request (0-based). */
function listen(respond: (n: number, request: Request) => Response | Promise<Response>) {
  const received: Received[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      received.push({
        method: request.method,
        headers: Object.fromEntries(request.headers),
        body: await request.text(),
      });
      return respond(received.length - 1, request);
    },
  );
  return {
    url: `http://127.0.0.1:${server.addr.port}/hooks/cano?key=hush-hush-key`,
    received,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

function config(input: Partial<WebhookConfig> & { url: string }): WebhookConfig {
  return WebhookConfigSchema.parse({ name: "ops-hook", type: "webhook", ...input });
}

Deno.test("webhook.send() posts the versioned body and headers exactly", async () => {
  await using server = listen(() => new Response("ok"));
  const cfg = config({ url: server.url, headers: { Authorization: "Bearer t0ken-value" } });
  const [payload] = webhook.render(ISSUE, cfg);
  assert.deepEqual(await webhook.send(payload!, cfg, { now: () => NOW }), { ok: true });

  assert.equal(server.received.length, 1);
  const { method, headers, body } = server.received[0]!;
  assert.equal(method, "POST");
  assert.equal(body, JSON.stringify({ version: "1", issue: ISSUE }));
  assert.deepEqual(JSON.parse(body), { version: "1", issue: ISSUE });
  assert.equal(headers["content-type"], "application/json");
  assert.equal(headers["authorization"], "Bearer t0ken-value");
  assert.equal(headers["webhook-id"], "msg_7d0c");
  assert.equal(headers["webhook-signature"], undefined);
  assert.equal(headers["webhook-timestamp"], undefined);
});

Deno.test("webhook.send() signs per Standard Webhooks with a whsec_ secret", async () => {
  await using server = listen(() => new Response(null, { status: 204 }));
  const cfg = config({ url: server.url, signingSecret: WHSEC });
  const [payload] = webhook.render(ISSUE, cfg);
  assert.deepEqual(await webhook.send(payload!, cfg, { now: () => NOW }), { ok: true });

  const { headers, body } = server.received[0]!;
  const id = headers["webhook-id"]!;
  const timestamp = headers["webhook-timestamp"]!;
  assert.equal(timestamp, String(Math.floor(NOW / 1000)));
  // Recomputed independently, as a receiver would: key = base64-decoded bytes after whsec_.
  const expected = createHmac("sha256", Buffer.from(WHSEC.slice(6), "base64"))
    .update(`${id}.${timestamp}.${body}`)
    .digest("base64");
  assert.equal(headers["webhook-signature"], `v1,${expected}`);
});

Deno.test("webhook.send() signs with the UTF-8 bytes of a raw secret", async () => {
  await using server = listen(() => new Response("ok"));
  const cfg = config({ url: server.url, signingSecret: "correct horse battery" });
  const [payload] = webhook.render(ISSUE, cfg);
  await webhook.send(payload!, cfg, { now: () => NOW });

  const { headers, body } = server.received[0]!;
  const expected = createHmac("sha256", "correct horse battery")
    .update(`msg_7d0c.${Math.floor(NOW / 1000)}.${body}`)
    .digest("base64");
  assert.equal(headers["webhook-signature"], `v1,${expected}`);
});

Deno.test("webhook.describe() shows the request, with signature placeholders", () => {
  const cfg = config({
    url: "https://hooks.example.com/cano",
    headers: { "X-Team": "payments" },
    signingSecret: WHSEC,
  });
  const [payload] = webhook.render(ISSUE, cfg);
  const request = webhook.describe(payload!, cfg);
  assert.deepEqual(request, {
    method: "POST",
    url: "https://hooks.example.com/cano",
    headers: {
      "content-type": "application/json",
      "x-team": "payments",
      "webhook-id": "msg_7d0c",
      "webhook-timestamp": "<unix seconds, set when sent>",
      "webhook-signature": "v1,<HMAC-SHA256, computed when sent>",
    },
    body: JSON.stringify({ version: "1", issue: ISSUE }),
  });
  assert.ok(!JSON.stringify(request).includes(WHSEC));
});

Deno.test("webhook.send() makes 503 and 429 retryable and honours Retry-After", async () => {
  const date = new Date(NOW + 90_000).toUTCString();
  const answers = [
    new Response("busy", { status: 503 }),
    new Response("slow down", { status: 429, headers: { "retry-after": "1" } }),
    new Response("", { status: 502, headers: { "retry-after": date } }),
  ];
  await using server = listen((n) => answers[n]!);
  const cfg = config({ url: server.url });
  const [payload] = webhook.render(ISSUE, cfg);
  const send = () => webhook.send(payload!, cfg, { now: () => NOW });

  assert.deepEqual(await send(), {
    ok: false,
    retryable: true,
    reason: 'Cannot send to webhook "ops-hook": HTTP 503 Service Unavailable: busy',
  });
  const limited = await send();
  assert.equal(limited.ok, false);
  assert.equal(!limited.ok && limited.retryable, true);
  assert.equal(!limited.ok && limited.retryAfterMs, 1000);
  const dated = await send();
  // The HTTP date has whole seconds; NOW has 900 ms.
  assert.equal(!dated.ok && dated.retryAfterMs, 89_100);
});

Deno.test("webhook.send() makes other 4xx permanent with status and body excerpt", async () => {
  const long = `{"error":"missing field \\"issue.title\\""}${" pad".repeat(200)}`;
  await using server = listen(() => new Response(long, { status: 400 }));
  const cfg = config({ url: server.url });
  const [payload] = webhook.render(ISSUE, cfg);
  const result = await webhook.send(payload!, cfg, {});
  assert.equal(result.ok, false);
  assert.equal(!result.ok && result.retryable, false);
  const reason = result.ok ? "" : result.reason;
  assert.match(reason, /^Cannot send to webhook "ops-hook": HTTP 400 Bad Request: \{"error"/);
  assert.ok(reason.length < 300, `reason too long: ${reason.length}`);
});

Deno.test("webhook.send() does not follow redirects", async () => {
  await using target = listen(() => new Response("ok"));
  await using server = listen(() => Response.redirect(target.url, 307));
  const cfg = config({ url: server.url });
  const [payload] = webhook.render(ISSUE, cfg);
  const result = await webhook.send(payload!, cfg, {});
  assert.equal(!result.ok && result.retryable, false);
  assert.match(result.ok ? "" : result.reason, /HTTP 307.*redirects are not followed/);
  assert.equal(target.received.length, 0);
});

Deno.test("webhook.send() retries a refused connection without leaking the URL path", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  const cfg = config({
    url: `http://127.0.0.1:${port}/secret-path?token=hush-hush-key`,
    signingSecret: WHSEC,
  });
  const [payload] = webhook.render(ISSUE, cfg);
  const result = await webhook.send(payload!, cfg, {});
  assert.equal(!result.ok && result.retryable, true);
  const reason = result.ok ? "" : result.reason;
  assert.match(reason, /^Cannot send to webhook "ops-hook": fetch failed: .*Connection refused/);
  assert.ok(reason.includes(`http://127.0.0.1:${port}`), reason);
  assert.ok(!reason.includes("secret-path") && !reason.includes("hush-hush-key"), reason);
});

Deno.test("webhook.send() gives up after timeoutMs and makes it retryable", async () => {
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  await using server = listen(() => released.then(() => new Response("late")));
  const cfg = config({ url: server.url, timeoutMs: 100 });
  const [payload] = webhook.render(ISSUE, cfg);
  const started = performance.now();
  const result = await webhook.send(payload!, cfg, {});
  assert.ok(performance.now() - started < 2000);
  release();
  assert.deepEqual(result, {
    ok: false,
    retryable: true,
    reason: 'Cannot send to webhook "ops-hook": no complete response within 100 ms',
  });
});

Deno.test("webhook.send() stops when the caller aborts", async () => {
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  await using server = listen(() => released.then(() => new Response("late")));
  const cfg = config({ url: server.url });
  const [payload] = webhook.render(ISSUE, cfg);
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 50);
  const result = await webhook.send(payload!, cfg, { signal: controller.signal });
  release();
  assert.deepEqual(result, {
    ok: false,
    retryable: true,
    reason: 'Cannot send to webhook "ops-hook": aborted',
  });
});

Deno.test("WebhookConfigSchema rejects reserved headers, bad URLs and bad whsec_ secrets", () => {
  const base = { name: "ops-hook", type: "webhook", url: "https://hooks.example.com/x" };
  const problems = (input: unknown) =>
    WebhookConfigSchema.safeParse(input).error?.issues.map((i) => i.message) ?? [];
  assert.deepEqual(problems({ ...base, headers: { "Webhook-Signature": "v1,x" } }), [
    "Headers may not set content-length, host, webhook-id, webhook-signature, webhook-timestamp: Cano sets them",
  ]);
  assert.deepEqual(problems({ ...base, url: "ftp://hooks.example.com/x" }), [
    "Webhook url must be an http or https URL",
  ]);
  assert.deepEqual(problems({ ...base, signingSecret: "whsec_not base64!" }), [
    "Signing secret starting with whsec_ must continue with base64",
  ]);
  assert.deepEqual(problems({ ...base, headers: { "x-a": "b\r\nx-injected: 1" } }), [
    "Header value must not contain a line break",
  ]);
  assert.deepEqual(problems(base), []);
  assert.equal(WebhookConfigSchema.parse(base).timeoutMs, 10_000);
});
