/**
 * The behaviour every destination shares, run for each entry of `DESTINATIONS` (like hono's
 * `common.case.test.ts` for routers). A new destination only needs a sample config in
 * `SAMPLES`; its own `<type>_test.ts` covers what is specific to it.
 */
import assert from "node:assert/strict";
import {
  diff,
  divider,
  file,
  header,
  image,
  type Issue,
  IssueSchema,
  json,
  links,
  list,
  markdown,
  table,
} from "@cano/sdk";
import type { OutboundRequest } from "./destination.ts";
import { type AnyDestination, DESTINATIONS } from "./mod.ts";

/** Where a sample config may point: a local HTTP endpoint and a scratch directory. */
interface Env {
  baseUrl: string;
  dir: string;
}

/** A valid config input per type. HTTP destinations must send to `env.baseUrl`. */
const SAMPLES: Record<string, (env: Env) => Record<string, unknown>> = {
  discord: ({ baseUrl }) => ({
    name: "sample-discord",
    type: "discord",
    url: `${baseUrl}/api/webhooks/1234567890123456789/sample-token`,
  }),
  email: () => ({
    name: "sample-email",
    type: "email",
    host: "127.0.0.1",
    from: "cano@example.com",
    to: ["oncall@example.com"],
    username: "cano",
    password: "sample-password",
  }),
  file: ({ dir }) => ({ name: "sample-file", type: "file", path: `${dir}/issues.ndjson` }),
  "google_chat": ({ baseUrl }) => ({
    name: "sample-google-chat",
    type: "google_chat",
    url: `${baseUrl}/v1/spaces/AAAA/messages?key=sample-token-key&token=sample-token`,
  }),
  jira: ({ baseUrl }) => ({
    name: "sample-jira",
    type: "jira",
    url: baseUrl,
    email: "bot@example.com",
    apiToken: "sample-token-jira",
    project: "OPS",
  }),
  kafka: () => ({
    name: "sample-kafka",
    type: "kafka",
    brokers: ["127.0.0.1:9092"],
    topic: "cano-issues",
    sasl: { mechanism: "SCRAM-SHA-256", username: "cano", password: "sample-password" },
  }),
  mattermost: ({ baseUrl }) => ({
    name: "sample-mattermost",
    type: "mattermost",
    url: `${baseUrl}/hooks/sample-token`,
  }),
  opsgenie: ({ baseUrl }) => ({
    name: "sample-opsgenie",
    type: "opsgenie",
    apiKey: "sample-token-opsgenie",
    apiUrl: baseUrl,
    teams: ["sre"],
  }),
  pagerduty: ({ baseUrl }) => ({
    name: "sample-pagerduty",
    type: "pagerduty",
    routingKey: "sampletoken0123456789abcdef01234",
    url: `${baseUrl}/v2/enqueue`,
  }),
  slack: ({ baseUrl }) => ({
    name: "sample-slack",
    type: "slack",
    token: "xoxb-sample-token",
    channel: "#alerts",
    apiUrl: baseUrl,
  }),
  stdout: () => ({ name: "sample-stdout", type: "stdout" }),
  teams: ({ baseUrl }) => ({
    name: "sample-teams",
    type: "teams",
    url: `${baseUrl}/workflows/1/triggers/manual/paths/invoke?api-version=1&sig=sample-token-sig`,
  }),
  telegram: ({ baseUrl }) => ({
    name: "sample-telegram",
    type: "telegram",
    token: "123456:sample-token",
    chatId: -1001234567890,
    apiUrl: baseUrl,
  }),
  webex: ({ baseUrl }) => ({
    name: "sample-webex",
    type: "webex",
    token: "sample-token-webex",
    roomId: "Y2lzY29zcGFyazovL3VzL1JPT00vc2FtcGxl",
    apiUrl: `${baseUrl}/v1/messages`,
  }),
  webhook: ({ baseUrl }) => ({
    name: "sample-webhook",
    type: "webhook",
    url: `${baseUrl}/hook`,
    headers: { authorization: "Bearer sample-token" },
    signingSecret: "whsec_c2FtcGxlLXNlY3JldC1rZXktYnl0ZXMtMjQ=",
  }),
};

const ENV: Env = { baseUrl: "http://127.0.0.1:9", dir: "/tmp/cano-common-case" };

const FULL_ISSUE: Issue = deepFreeze(IssueSchema.parse({
  id: "7d0c",
  fingerprint: "3f2a9c1b7d4e8a60",
  aggregationKey: "KubePodCrashLooping",
  cluster: "prod",
  type: "alert",
  source: "prometheus",
  title: "Pod is crash looping",
  description: "Restarted 5 times in 10 minutes",
  severity: "HIGH",
  status: "firing",
  subject: { kind: "Pod", name: "api-1", namespace: "shop", container: "api" },
  labels: { alertname: "KubePodCrashLooping", namespace: "shop" },
  annotations: { summary: "crash looping" },
  startsAt: "2026-03-01T10:12:04.512Z",
  createdAt: "2026-03-01T10:12:05Z",
  links: [{ title: "Runbook", url: "https://runbooks.example.com/crashloop" }],
  enrichments: [{
    title: "Everything",
    workflow: "all-blocks",
    blocks: [
      markdown("*Memory* is above the limit"),
      header("Resources"),
      divider(),
      list(["a", "b"]),
      table(["container", "limit"], [["api", "512Mi"]], { title: "Limits" }),
      json({ nested: { value: [1, 2, 3] } }),
      file("previous.log", "line 1\nline 2"),
      file("dump.bin", new Uint8Array([0, 1, 2, 255])),
      image("graph.png", new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0]), "memory graph"),
      diff({ replicas: 2 }, { replicas: 3 }),
      links([{ title: "Grafana", url: "https://grafana.example.com/d/1" }]),
    ],
  }],
  raw: { alert: { status: "firing" } },
}));

const MINIMAL_ISSUE: Issue = deepFreeze(IssueSchema.parse({
  id: "1",
  fingerprint: "f1",
  aggregationKey: "a",
  type: "manual",
  source: "manual",
  title: "",
  severity: "DEBUG",
  status: "resolved",
  startsAt: "2026-03-01T10:00:00Z",
  createdAt: "2026-03-01T10:00:00Z",
}));

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

function sampleConfig(destination: AnyDestination, env: Env = ENV) {
  const sample = SAMPLES[destination.type];
  assert.ok(sample, `SAMPLES has no config for destination type "${destination.type}"`);
  return destination.config.parse(sample(env));
}

function isRequest(value: OutboundRequest | { output: string }): value is OutboundRequest {
  return "url" in value;
}

Deno.test("DESTINATIONS is sorted by type, unique, and every type has a sample", () => {
  const types = DESTINATIONS.map((d) => d.type);
  assert.deepEqual(types, [...new Set(types)].sort());
  assert.deepEqual(Object.keys(SAMPLES).sort(), types);
});

for (const destination of DESTINATIONS) {
  const name = destination.type;

  Deno.test(`${name}: render() is pure: same input, same output, input untouched`, () => {
    const config = sampleConfig(destination);
    for (const issue of [FULL_ISSUE, MINIMAL_ISSUE]) {
      const first = destination.render(issue, config);
      const second = destination.render(structuredClone(issue), config);
      assert.ok(first.length >= 1);
      assert.deepEqual(first, second);
    }
  });

  Deno.test(`${name}: render() output survives a JSON round trip`, () => {
    const config = sampleConfig(destination);
    const payloads = destination.render(FULL_ISSUE, config);
    assert.deepEqual(JSON.parse(JSON.stringify(payloads)), payloads);
  });

  Deno.test(`${name}: describe() returns a printable request or output`, () => {
    const config = sampleConfig(destination);
    for (const payload of destination.render(FULL_ISSUE, config)) {
      const described = destination.describe(payload, config);
      assert.deepEqual(JSON.parse(JSON.stringify(described)), described);
      if (isRequest(described)) {
        assert.ok(["POST", "PUT"].includes(described.method));
        assert.ok(URL.canParse(described.url), described.url);
        assert.ok(Object.values(described.headers).every((v) => typeof v === "string"));
        assert.equal(typeof described.body, "string");
      } else {
        assert.equal(typeof described.output, "string");
        assert.ok(described.output.length > 0);
      }
    }
  });

  Deno.test(`${name}: config rejects unknown keys and explains a bad name`, () => {
    const sample = SAMPLES[name]!(ENV);
    const typo = destination.config.safeParse({ ...sample, chanel: "#ops" });
    assert.deepEqual(typo.error?.issues.map((i) => [i.code, i.path]), [["unrecognized_keys", []]]);
    const badName = destination.config.safeParse({ ...sample, name: "Has Spaces" });
    assert.deepEqual(badName.error?.issues.map((i) => i.path), [["name"]]);
    assert.match(badName.error!.issues[0]!.message, /^Destination name must be lowercase/);
  });
}

/**
 * HTTP destinations: the statuses every provider shares, against a local endpoint.
 * Destinations whose describe() gives `{ output }` are skipped here: stdout and file do no
 * network I/O, email speaks SMTP and kafka the Kafka protocol, so an HTTP endpoint cannot
 * answer them; `email_test.ts` (aiosmtpd) and `kafka_test.ts` (librdkafka's mock cluster)
 * cover their failure classes against real servers.
 */
for (const destination of DESTINATIONS) {
  const probe = destination.describe(
    destination.render(MINIMAL_ISSUE, sampleConfig(destination))[0],
    sampleConfig(destination),
  );
  if (!isRequest(probe)) continue;

  Deno.test(`${destination.type}: send() maps 2xx, 429 + Retry-After, 5xx and 4xx`, async () => {
    // A send may make several calls (Jira searches before it creates): every call of one
    // send gets the same answer, and each send must make at least one call.
    const answers = [
      () => new Response("{}", { status: 200 }),
      () => new Response("slow down", { status: 429, headers: { "retry-after": "7" } }),
      () => new Response("oops", { status: 500 }),
      () => new Response("nope", { status: 404 }),
    ];
    let answer = answers[0]!;
    let seen = 0;
    await using server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      async (request) => {
        await request.body?.cancel();
        seen++;
        return answer();
      },
    );
    const config = sampleConfig(destination, {
      ...ENV,
      baseUrl: `http://127.0.0.1:${server.addr.port}`,
    });
    const [payload] = destination.render(FULL_ISSUE, config);
    const send = async (index: number) => {
      answer = answers[index]!;
      const before = seen;
      const result = await destination.send(payload, config, {});
      assert.ok(seen > before, "send() made no request");
      return result;
    };

    assert.equal((await send(0)).ok, true);
    const limited = await send(1);
    assert.ok(
      !limited.ok && limited.retryable && limited.retryAfterMs === 7000,
      JSON.stringify(limited),
    );
    const failed = await send(2);
    assert.ok(!failed.ok && failed.retryable);
    const rejected = await send(3);
    assert.ok(!rejected.ok && !rejected.retryable);
    assert.match(rejected.reason, /404/);
    assert.ok(!rejected.reason.includes("sample-token"));
  });
}
