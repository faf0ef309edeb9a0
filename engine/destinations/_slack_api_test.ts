import assert from "node:assert/strict";
import { callSlack, type SlackClient, uploadFile } from "./_slack_api.ts";
import { type SlackApi, startSlackApi } from "../../tests/_slack_api.ts";

const TOKEN = "xoxb-test-token";

function clientFor(api: SlackApi, extra: Partial<SlackClient> = {}): SlackClient {
  return { name: "ops-slack", token: TOKEN, apiUrl: api.url, timeoutMs: 5000, ...extra };
}

const POST = {
  method: "chat.postMessage",
  args: { channel: "#alerts", text: "Pod is crash looping" },
};

Deno.test("callSlack() makes a 200 with ok:false invalid_auth a permanent failure", async () => {
  await using api = startSlackApi();
  const answer = await callSlack(clientFor(api, { token: "xoxb-wrong-secret" }), POST, {});
  assert.ok(!answer.ok);
  assert.equal(answer.error, "invalid_auth");
  assert.deepEqual(answer.failure, {
    ok: false,
    retryable: false,
    reason: 'Cannot send to Slack "ops-slack": chat.postMessage failed: invalid_auth',
  });
  assert.deepEqual(api.calls.map((c) => [c.method, c.outcome, c.authorization]), [
    ["chat.postMessage", "invalid_auth", "Bearer xoxb-wrong-secret"],
  ]);
});

Deno.test("callSlack() quotes Slack's response_metadata messages in the reason", async () => {
  await using api = startSlackApi();
  const blocks = [{ type: "header", text: { type: "plain_text", text: "h".repeat(151) } }];
  const answer = await callSlack(clientFor(api), {
    method: "chat.postMessage",
    args: { ...POST.args, blocks },
  }, {});
  assert.ok(!answer.ok && !answer.failure.retryable);
  assert.equal(answer.error, "invalid_blocks");
  assert.match(answer.failure.reason, /failed: invalid_blocks \(blocks\/0\/text\/text is longer/);
  assert.equal(api.messages.length, 0);
});

Deno.test("callSlack() retries ratelimited and 429 after Retry-After, 5xx and transient errors", async () => {
  await using api = startSlackApi();
  api.failNext(
    { error: "ratelimited", retryAfter: "2" },
    { status: 429, retryAfter: "30", body: "" },
    { status: 503 },
    { error: "internal_error" },
  );
  const answers = [];
  for (let i = 0; i < 5; i++) answers.push(await callSlack(clientFor(api), POST, {}));
  assert.deepEqual(
    answers.slice(0, 4).map((a) => !a.ok && [a.failure.retryable, a.failure.retryAfterMs]),
    [
      [true, 2000],
      [true, 30_000],
      [true, undefined],
      [true, undefined],
    ],
  );
  const prefix = 'Cannot send to Slack "ops-slack": chat.postMessage ';
  assert.deepEqual(answers.slice(0, 4).map((a) => !a.ok && a.failure.reason), [
    `${prefix}failed: ratelimited`,
    `${prefix}was rate limited (HTTP 429)`,
    `${prefix}failed with HTTP 503`,
    `${prefix}failed: internal_error`,
  ]);
  assert.ok(answers[4]!.ok && typeof answers[4]!.body.ts === "string");
  assert.equal(api.messages.length, 1);
});

Deno.test("callSlack() never puts the token in a reason", async () => {
  await using api = startSlackApi();
  api.failNext(
    { status: 404, body: `token ${TOKEN} not found` },
    { status: 502, body: `upstream rejected ${TOKEN}` },
  );
  const notFound = await callSlack(clientFor(api), POST, {});
  assert.ok(!notFound.ok && !notFound.failure.retryable);
  assert.equal(
    notFound.failure.reason,
    'Cannot send to Slack "ops-slack": chat.postMessage failed with HTTP 404: token *** not found',
  );
  const badGateway = await callSlack(clientFor(api), POST, {});
  assert.ok(!badGateway.ok && badGateway.failure.retryable);
  assert.ok(!badGateway.failure.reason.includes(TOKEN), badGateway.failure.reason);
});

Deno.test("callSlack() makes a call without an answer in time retryable", async () => {
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request) =>
      new Promise<Response>((resolve) =>
        request.signal.addEventListener("abort", () => resolve(new Response(null)))
      ),
  );
  const client = {
    name: "ops-slack",
    token: TOKEN,
    apiUrl: `http://127.0.0.1:${server.addr.port}`,
    timeoutMs: 50,
  };
  const answer = await callSlack(client, POST, {});
  assert.ok(!answer.ok && answer.failure.retryable);
  assert.equal(
    answer.failure.reason,
    'Cannot send to Slack "ops-slack": chat.postMessage: no complete response within 50 ms',
  );
});

Deno.test("uploadFile() sends the bytes without the token and shares them in the thread", async () => {
  await using api = startSlackApi();
  const root = await callSlack(clientFor(api), POST, {});
  assert.ok(root.ok && typeof root.body.ts === "string");
  const bytes = new TextEncoder().encode("line\n".repeat(300));
  const result = await uploadFile(clientFor(api), {
    filename: "previous.log",
    title: "Previous logs",
    bytes,
    channel: "C0ALERTS",
    threadTs: root.body.ts,
  }, {});
  assert.deepEqual(result, { ok: true });
  const [stored] = [...api.files.values()];
  assert.deepEqual(stored?.bytes, bytes);
  assert.deepEqual(stored?.shared, {
    channel: "C0ALERTS",
    threadTs: root.body.ts,
    title: "Previous logs",
  });
  assert.deepEqual(api.calls.map((c) => [c.method.replace(/\/F\d+$/, ""), c.authorization]), [
    ["chat.postMessage", `Bearer ${TOKEN}`],
    ["files.getUploadURLExternal", `Bearer ${TOKEN}`],
    ["upload", null],
    ["files.completeUploadExternal", `Bearer ${TOKEN}`],
  ]);
});

Deno.test("uploadFile() stops at the first step that fails", async () => {
  await using api = startSlackApi();
  api.failNext({ error: "ratelimited", retryAfter: "5" });
  const file = {
    filename: "a.log",
    title: "a.log",
    bytes: new Uint8Array([1]),
    channel: "#alerts",
  };
  const result = await uploadFile(clientFor(api), file, {});
  assert.ok(!result.ok && result.retryable && result.retryAfterMs === 5000);
  assert.match(result.reason, /files.getUploadURLExternal failed: ratelimited$/);
  assert.equal(api.files.size, 0);
  assert.equal(api.calls.length, 1);
});
