import assert from "node:assert/strict";
import pagerduty, {
  PAGERDUTY_DETAILS_REMOVED,
  PAGERDUTY_MAX_BYTES,
  PAGERDUTY_THROTTLE_WAIT_MS,
  type PagerDutyConfig,
  PagerDutyConfigSchema,
  type PagerDutyEvent,
} from "./pagerduty.ts";
import type { Issue } from "@cano/sdk";
import { type PagerDutyApi, startPagerDutyApi } from "../../tests/_pagerduty_api.ts";
import { alertIssue, fullIssue, hugeIssue } from "../../tests/_issue.ts";

const KEY = "R0123456789abcdef0123456789abcde";

function configFor(api: PagerDutyApi, extra: Record<string, unknown> = {}): PagerDutyConfig {
  return PagerDutyConfigSchema.parse({
    name: "oncall",
    type: "pagerduty",
    routingKey: KEY,
    url: api.url,
    ...extra,
  });
}

async function deliver(issue: Issue, config: PagerDutyConfig): Promise<void> {
  for (const payload of pagerduty.render(issue, config)) {
    const result = await pagerduty.send(payload, config, {});
    assert.ok(result.ok, JSON.stringify(result));
  }
}

function trigger(event: PagerDutyEvent | undefined) {
  assert.ok(event?.event_action === "trigger");
  return event;
}

Deno.test("pagerduty.send() delivers an issue with every block type", async () => {
  await using api = startPagerDutyApi();
  const config = configFor(api);
  await deliver(fullIssue(), config);
  assert.equal(api.alerts.length, 1);
  const sent = api.alerts[0]!.events[0] as Record<string, Record<string, unknown>>;
  assert.equal(sent.routing_key, KEY);
  assert.equal(sent.dedup_key, "3f2a9c1b7d4e8a60");
  assert.deepEqual(sent.payload, {
    ...sent.payload,
    summary: "Pod is crash looping (Pod shop/api-7c9d8b6f5-x2kqp)",
    source: "prod/shop/api-7c9d8b6f5-x2kqp",
    severity: "critical",
    component: "api",
    group: "shop",
    class: "KubePodCrashLooping",
  });
  assert.deepEqual(sent.images, [{
    src: "https://grafana.example/render/d/1.png",
    href: "https://grafana.example/render/d/1.png",
    alt: "Memory graph",
  }]);
  assert.deepEqual((sent.links as unknown as { href: string }[]).map((l) => l.href), [
    "https://runbooks.example/crash",
    "http://grafana.example/render/d/2.png",
    "https://grafana.example/d/1",
  ]);
  const details = (api.alerts[0]!.events[0]!.payload as Record<string, unknown>)
    .custom_details as Record<string, unknown>;
  assert.equal((details.labels as Record<string, string>).alertname, "KubePodCrashLooping");
  const text = String(details["Everything (all-blocks)"]);
  for (
    const part of [
      /### Resources/,
      /container\s+limit/,
      /"value": \[/,
      /line 2/,
      /\+ {3}"replicas": 3/,
    ]
  ) {
    assert.match(text, part);
  }
});

Deno.test("pagerduty.render() maps severities, configurable per Issue severity", () => {
  const config = PagerDutyConfigSchema.parse({
    name: "oncall",
    type: "pagerduty",
    routingKey: KEY,
    severities: { LOW: "info" },
  });
  const severity = (s: Issue["severity"]) =>
    trigger(pagerduty.render(alertIssue({ severity: s }), config)[0]).payload.severity;
  assert.deepEqual(["HIGH", "MEDIUM", "LOW", "INFO", "DEBUG"].map((s) => severity(s as never)), [
    "critical",
    "error",
    "info",
    "info",
    "info",
  ]);
});

Deno.test("pagerduty.render() drops custom_details of a huge issue as Alertmanager does", async () => {
  await using api = startPagerDutyApi();
  const config = configFor(api);
  const event = trigger(pagerduty.render(hugeIssue(), config)[0]);
  assert.deepEqual(event.payload.custom_details, { error: PAGERDUTY_DETAILS_REMOVED });
  assert.equal([...event.payload.summary].length, 1024);
  assert.ok(event.payload.summary.endsWith("…"));
  assert.equal(event.links?.length, 40);
  await deliver(hugeIssue(), config);
  assert.ok(api.calls[0]!.bytes <= PAGERDUTY_MAX_BYTES);

  const big = hugeIssue({
    links: [],
    enrichments: [],
    labels: {},
    description: "x".repeat(300_000),
  });
  const kept = trigger(pagerduty.render(big, config)[0]);
  assert.equal(String(kept.payload.custom_details.description).length, 300_000);
});

Deno.test("pagerduty.send() retries a 429, then succeeds", async () => {
  await using api = startPagerDutyApi();
  const config = configFor(api);
  const [payload] = pagerduty.render(alertIssue(), config);
  api.failNext({ status: 429, body: "Request Limit Exceeded" }, { status: 429, retryAfter: "5" });
  const first = await pagerduty.send(payload!, config, {});
  assert.deepEqual(first.ok ? [] : [first.retryable, first.retryAfterMs], [
    true,
    PAGERDUTY_THROTTLE_WAIT_MS,
  ]);
  const second = await pagerduty.send(payload!, config, {});
  assert.ok(!second.ok && second.retryAfterMs === 5000);
  assert.ok((await pagerduty.send(payload!, config, {})).ok);
  assert.equal(api.alerts.length, 1);
});

Deno.test("pagerduty.send() answers 429 once the per-key rate limit is spent", async () => {
  await using api = startPagerDutyApi({ perMinute: 2 });
  const config = configFor(api);
  const [payload] = pagerduty.render(alertIssue(), config);
  const results = [];
  for (let i = 0; i < 3; i++) results.push(await pagerduty.send(payload!, config, {}));
  assert.deepEqual(results.map((r) => r.ok), [true, true, false]);
  assert.match(!results[2]!.ok ? results[2]!.reason : "", /HTTP 429.*Request Limit Exceeded/);
  assert.equal(api.alerts[0]!.events.length, 2, "repeats land on the same alert");
});

Deno.test("pagerduty.send() fails permanently on a 400 and keeps the key out of it", async () => {
  await using api = startPagerDutyApi();
  const config = configFor(api);
  const good = trigger(pagerduty.render(alertIssue(), config)[0]);
  const cases: [PagerDutyEvent, RegExp][] = [
    [{ ...good, payload: { ...good.payload, summary: "s".repeat(1025) } }, /longer than 1024/],
    [{ ...good, payload: { ...good.payload, severity: "high" as never } }, /severity/],
    [{ ...good, images: [{ src: "http://x.example/a.png", href: "", alt: "" }] }, /HTTPS/],
    [{ ...good, dedup_key: "k".repeat(256) }, /longer than 255/],
    [{ ...good, payload: { ...good.payload, timestamp: "yesterday" } }, /ISO 8601/],
  ];
  for (const [event, reason] of cases) {
    const result = await pagerduty.send(event, config, {});
    assert.ok(!result.ok && !result.retryable, JSON.stringify(result));
    assert.match(result.reason, /^Cannot send to PagerDuty "oncall": HTTP 400/);
    assert.match(result.reason, reason);
  }
  const other = configFor(api, { routingKey: "Z".repeat(32) });
  const unknown = await pagerduty.send(good, other, {});
  assert.ok(!unknown.ok && !unknown.retryable);
  assert.match(unknown.reason, /Invalid routing key/);
  api.failNext({ status: 400, body: `{"errors":["routing_key ${KEY} is disabled"]}` });
  const echoed = await pagerduty.send(good, config, {});
  assert.ok(!echoed.ok && !echoed.reason.includes(KEY), JSON.stringify(echoed));
  assert.match(echoed.reason, /routing_key \*\*\* is disabled/);
  assert.equal(api.alerts.length, 0);
});

Deno.test("pagerduty.send() resolves the alert it triggered; a new trigger opens another", async () => {
  await using api = startPagerDutyApi();
  const config = configFor(api);
  await deliver(alertIssue(), config);
  await deliver(alertIssue(), config);
  await deliver(alertIssue({ status: "resolved", endsAt: "2026-03-01T10:30:00Z" }), config);
  assert.deepEqual(api.alerts.map((a) => [a.dedupKey, a.status, a.events.length]), [
    ["3f2a9c1b7d4e8a60", "resolved", 2],
  ]);
  await deliver(alertIssue({ status: "resolved" }), config);
  assert.equal(api.dropped, 1);
  await deliver(alertIssue(), config);
  assert.deepEqual(api.alerts.map((a) => a.status), ["resolved", "triggered"]);
});

Deno.test("pagerduty.describe() masks the routing key and picks the region URL", () => {
  const config = PagerDutyConfigSchema.parse({
    name: "oncall",
    type: "pagerduty",
    routingKey: KEY,
    region: "eu",
  });
  const request = pagerduty.describe(pagerduty.render(fullIssue(), config)[0]!, config);
  assert.ok("url" in request);
  assert.equal(request.url, "https://events.eu.pagerduty.com/v2/enqueue");
  assert.ok(!JSON.stringify(request).includes(KEY));
  assert.equal(JSON.parse(request.body).routing_key, "***");
});

Deno.test("PagerDutyConfigSchema rejects a malformed routing key and has defaults", () => {
  const bad = PagerDutyConfigSchema.safeParse({ name: "p", type: "pagerduty", routingKey: "abc" });
  assert.deepEqual(bad.error?.issues.map((i) => i.message), [
    "PagerDuty routing key must be the 32-character integration key",
  ]);
  const ok = PagerDutyConfigSchema.parse({ name: "p", type: "pagerduty", routingKey: KEY });
  assert.deepEqual([ok.region, ok.rateLimit, ok.severities.MEDIUM], [
    "us",
    { perSecond: 2, burst: 4 },
    "error",
  ]);
});
