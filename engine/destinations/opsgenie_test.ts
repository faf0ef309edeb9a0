import assert from "node:assert/strict";
import opsgenie, {
  OPSGENIE_MAX_DESCRIPTION,
  OPSGENIE_MAX_DETAILS,
  type OpsgenieConfig,
  OpsgenieConfigSchema,
  type OpsgeniePayload,
} from "./opsgenie.ts";
import type { Issue } from "@cano/sdk";
import { type OpsgenieApi, startOpsgenieApi } from "../../tests/_opsgenie_api.ts";
import { alertIssue, fullIssue, hugeIssue } from "../../tests/_issue.ts";

const KEY = "eb243592-faa2-4ba2-a551-1afdf565c889";

function configFor(api: OpsgenieApi, extra: Record<string, unknown> = {}): OpsgenieConfig {
  return OpsgenieConfigSchema.parse({
    name: "ops-genie",
    type: "opsgenie",
    apiKey: KEY,
    apiUrl: api.url,
    ...extra,
  });
}

async function deliver(issue: Issue, config: OpsgenieConfig): Promise<void> {
  for (const payload of opsgenie.render(issue, config)) {
    const result = await opsgenie.send(payload, config, {});
    assert.ok(result.ok, JSON.stringify(result));
  }
}

function created(payload: OpsgeniePayload | undefined) {
  assert.ok(payload?.kind === "create");
  return payload.alert;
}

Deno.test("opsgenie.send() creates an alert from an issue with every block type", async () => {
  await using api = startOpsgenieApi();
  const config = configFor(api, { teams: ["sre"], tags: ["k8s"] });
  await deliver(fullIssue(), config);
  assert.equal(api.alerts.length, 1);
  const body = api.alerts[0]!.body;
  assert.equal(body.message, "Pod is crash looping");
  assert.equal(body.alias, "3f2a9c1b7d4e8a60");
  assert.equal(body.priority, "P1");
  assert.equal(body.entity, "Pod shop/api-7c9d8b6f5-x2kqp");
  assert.equal(body.source, "cano/prod");
  assert.deepEqual(body.responders, [{ type: "team", name: "sre" }]);
  assert.deepEqual(body.tags, ["k8s", "HIGH", "prod", "shop", "KubePodCrashLooping"]);
  const details = body.details as Record<string, string>;
  assert.equal(details.alertname, "KubePodCrashLooping");
  assert.equal(details["annotation.summary"], "Pod is crash looping.");
  const description = String(body.description);
  for (const part of [/## Everything \(all-blocks\)/, /### Resources/, /sidecar/, /line 2/]) {
    assert.match(description, part);
  }
});

Deno.test("opsgenie.render() cuts a huge issue to Opsgenie's limits", async () => {
  await using api = startOpsgenieApi();
  const config = configFor(api);
  const alert = created(opsgenie.render(hugeIssue(), config)[0]);
  assert.equal([...alert.message].length, 130);
  assert.equal([...alert.description].length, OPSGENIE_MAX_DESCRIPTION);
  const detailChars = Object.entries(alert.details).reduce(
    (n, [k, v]) => n + k.length + v.length,
    0,
  );
  assert.ok(detailChars <= OPSGENIE_MAX_DETAILS && detailChars > OPSGENIE_MAX_DETAILS - 100);
  assert.ok(Number(alert.details["cano.omitted"]) > 100);
  await deliver(hugeIssue(), config);
  assert.deepEqual(api.calls.map((c) => c.status), [202]);
});

Deno.test("opsgenie.send() retries a 429 after Retry-After, then succeeds", async () => {
  await using api = startOpsgenieApi();
  const config = configFor(api);
  const [payload] = opsgenie.render(alertIssue(), config);
  api.failNext({
    status: 429,
    retryAfter: "12",
    body: '{"message":"You are making too many requests!"}',
  });
  const limited = await opsgenie.send(payload!, config, {});
  assert.ok(!limited.ok && limited.retryable && limited.retryAfterMs === 12_000);
  assert.ok((await opsgenie.send(payload!, config, {})).ok);
  assert.equal(api.alerts.length, 1);
});

Deno.test("opsgenie.send() fails permanently on 400, 401 and 422", async () => {
  await using api = startOpsgenieApi();
  const config = configFor(api);
  const good = created(opsgenie.render(alertIssue(), config)[0]);
  const cases: [OpsgeniePayload, RegExp][] = [
    [{ kind: "create", alert: { ...good, message: "m".repeat(131) } }, /HTTP 422.*message/],
    [{ kind: "create", alert: { ...good, tags: Array(21).fill("t") } }, /At most 20 tags/],
    [{ kind: "create", alert: { ...good, priority: "P6" as never } }, /Priority should be/],
    [{ kind: "create", alert: { ...good, details: { n: 1 as never } } }, /Values must be strings/],
    [{ kind: "close", alias: "a", body: { source: "s".repeat(101), note: "" } }, /source/],
  ];
  for (const [payload, reason] of cases) {
    const result = await opsgenie.send(payload, config, {});
    assert.ok(!result.ok && !result.retryable, JSON.stringify(result));
    assert.match(result.reason, reason);
  }
  api.failNext({ status: 400, body: `{"message":"Could not parse request body ${KEY}"}` });
  const bad = await opsgenie.send({ kind: "create", alert: good }, config, {});
  assert.ok(!bad.ok && !bad.retryable);
  assert.match(
    bad.reason,
    /^Cannot send to Opsgenie "ops-genie": HTTP 400 Bad Request: .*body \*\*\*"/,
  );
  const wrong = configFor(api, { apiKey: "wrong-key-0000" });
  const unauthorized = await opsgenie.send({ kind: "create", alert: good }, wrong, {});
  assert.ok(!unauthorized.ok && !unauthorized.retryable);
  assert.match(unauthorized.reason, /HTTP 401.*Could not authenticate/);
  assert.ok(!unauthorized.reason.includes("wrong-key-0000"));
  assert.equal(api.alerts.length, 0);
});

Deno.test("opsgenie.send() counts repeats on one alert and closes it by alias", async () => {
  await using api = startOpsgenieApi();
  const config = configFor(api);
  const fingerprint = "group/with spaces?&=";
  await deliver(alertIssue({ fingerprint }), config);
  await deliver(alertIssue({ fingerprint }), config);
  await deliver(
    alertIssue({ fingerprint, status: "resolved", endsAt: "2026-03-01T10:30:00Z" }),
    config,
  );
  assert.deepEqual(api.alerts.map((a) => [a.alias, a.status, a.count, a.closed]), [
    [fingerprint, "closed", 2, { source: "cano", note: "Resolved at 2026-03-01T10:30:00Z" }],
  ]);
  await deliver(alertIssue({ fingerprint, status: "resolved" }), config);
  assert.equal(api.failedRequests, 1);
  await deliver(alertIssue({ fingerprint }), config);
  assert.deepEqual(api.alerts.map((a) => a.status), ["closed", "open"]);
});

Deno.test("opsgenie.describe() masks the key and shows the close URL", () => {
  const config = OpsgenieConfigSchema.parse({ name: "ops-genie", type: "opsgenie", apiKey: KEY });
  const issue = fullIssue({ status: "resolved" });
  const request = opsgenie.describe(opsgenie.render(issue, config)[0]!, config);
  assert.ok("url" in request);
  assert.equal(
    request.url,
    "https://api.opsgenie.com/v2/alerts/3f2a9c1b7d4e8a60/close?identifierType=alias",
  );
  assert.equal(request.headers.authorization, "GenieKey ***");
  const create = opsgenie.describe(opsgenie.render(fullIssue(), config)[0]!, config);
  assert.ok(!JSON.stringify([request, create]).includes(KEY));
});

Deno.test("OpsgenieConfigSchema checks tags and maps priorities by default", () => {
  const bad = OpsgenieConfigSchema.safeParse({
    name: "o",
    type: "opsgenie",
    apiKey: KEY,
    tags: ["has space"],
    priorities: { HIGH: "P0" },
  });
  assert.deepEqual(bad.error?.issues.map((i) => i.path.join(".")), ["priorities.HIGH", "tags.0"]);
  const ok = OpsgenieConfigSchema.parse({ name: "o", type: "opsgenie", apiKey: KEY });
  assert.deepEqual(Object.values(ok.priorities), ["P1", "P2", "P3", "P4", "P5"]);
  assert.deepEqual(ok.rateLimit, { perSecond: 1, burst: 10 });
});
