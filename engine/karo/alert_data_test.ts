import assert from "node:assert/strict";
import { parseAlertmanagerPayload } from "../sources/alertmanager.ts";
import {
  alertDataFromAlert,
  alertDataFromIssue,
  alertDataJson,
  resolveAlertField,
  ZERO_TIME,
} from "./alert_data.ts";

/** Karo's scripts/test-webhook.sh, test 1. */
const KARO_PAYLOAD = {
  version: "4",
  groupKey: '{}:{alertname="HighCPUUsage"}',
  truncatedAlerts: 0,
  status: "firing",
  receiver: "karo",
  groupLabels: { alertname: "HighCPUUsage" },
  commonLabels: { alertname: "HighCPUUsage" },
  externalURL: "http://alertmanager.example.com:9093",
  alerts: [{
    status: "firing",
    labels: {
      alertname: "HighCPUUsage",
      instance: "server1.example.com:9100",
      job: "node",
      severity: "warning",
      deployment: "my-app",
    },
    annotations: {
      description: "CPU usage is above 80% for more than 5 minutes",
      summary: "High CPU usage detected on server1",
    },
    startsAt: "2024-01-15T10:00:00.000Z",
    endsAt: "0001-01-01T00:00:00Z",
    generatorURL: "http://prometheus.example.com:9090/graph?g0.expr=...",
    fingerprint: "abc123",
  }],
};

function karoIssue() {
  const parsed = parseAlertmanagerPayload(KARO_PAYLOAD);
  assert.ok(parsed.ok);
  return parsed.issues[0]!;
}

Deno.test("alertDataFromIssue() builds Karo's map from an Alertmanager issue", () => {
  const data = alertDataFromIssue(karoIssue());
  assert.equal(data["status"], "firing");
  assert.equal(data["startsAt"], "2024-01-15T10:00:00Z");
  assert.equal(data["endsAt"], ZERO_TIME);
  assert.equal(data["generatorURL"], "http://prometheus.example.com:9090/graph?g0.expr=...");
  assert.equal(data["fingerprint"], "abc123");
  assert.equal(data["labels.instance"], "server1.example.com:9100");
  assert.equal(data["annotations.summary"], "High CPU usage detected on server1");
  assert.deepEqual(Object.keys(data["labels"] as object).sort(), [
    "alertname",
    "deployment",
    "instance",
    "job",
    "severity",
  ]);
  assert.equal(data["receiver"], undefined, "group-level fields are not part of it");
});

Deno.test("alertDataFromIssue() falls back to the issue's fields without raw", () => {
  const { raw: _raw, ...issue } = karoIssue();
  const data = alertDataFromIssue({ ...issue, fingerprint: "ff00" });
  assert.equal(data["fingerprint"], "ff00");
  assert.equal(data["startsAt"], "2024-01-15T10:00:00Z");
  assert.equal(data["generatorURL"], "http://prometheus.example.com:9090/graph?g0.expr=...");
  assert.equal(data["labels.job"], "node");
});

Deno.test("alertDataFromAlert() formats times as Go's RFC3339", () => {
  const at = (startsAt: string) =>
    alertDataFromAlert({ status: "firing", labels: {}, startsAt })["startsAt"];
  assert.equal(at("2026-03-01T10:12:04.512345678Z"), "2026-03-01T10:12:04Z");
  assert.equal(at("2026-03-01T10:12:04+02:00"), "2026-03-01T10:12:04+02:00");
  assert.equal(at("2026-03-01T10:12:04.1+00:00"), "2026-03-01T10:12:04Z");
  assert.equal(at("yesterday"), ZERO_TIME);
});

Deno.test("resolveAlertField() follows Karo's lookup order", () => {
  const data = alertDataFromIssue(karoIssue());
  assert.equal(resolveAlertField(data, "status"), "firing");
  assert.equal(resolveAlertField(data, "labels.severity"), "warning");
  assert.equal(
    resolveAlertField(data, "annotations.description"),
    KARO_PAYLOAD.alerts[0]!.annotations.description,
  );
  assert.equal(
    resolveAlertField(data, "labels"),
    "map[alertname:HighCPUUsage deployment:my-app instance:server1.example.com:9100 job:node severity:warning]",
  );
  assert.equal(resolveAlertField(data, "labels.nope"), undefined);
  assert.equal(resolveAlertField(data, "status.x"), undefined);
  assert.equal(resolveAlertField(data, "nothing"), undefined);
});

Deno.test("resolveAlertField() reads label names that contain dots", () => {
  const data = alertDataFromAlert({ status: "firing", labels: { "k8s.pod": "api-0" } });
  assert.equal(resolveAlertField(data, "labels.k8s.pod"), "api-0");
  assert.equal(resolveAlertField(data, "labels.k8s"), undefined);
});

Deno.test("resolveAlertField() walks nested maps when no flattened key exists", () => {
  const data = { status: "firing", labels: { app: "x" } };
  assert.equal(resolveAlertField(data, "labels.app"), "x");
  assert.equal(resolveAlertField(data, "labels.app.more"), undefined);
});

Deno.test("resolveAlertField() returns the whole alert as Go's json.Marshal for '' and '.'", () => {
  const data = alertDataFromAlert({
    status: "firing",
    labels: { b: "2", a: "<&>" },
    startsAt: "2026-03-01T10:12:04Z",
  });
  const json = resolveAlertField(data, ".");
  assert.equal(json, resolveAlertField(data, ""));
  assert.equal(json, alertDataJson(data));
  assert.equal(
    json,
    '{"annotations":{},"endsAt":"0001-01-01T00:00:00Z","fingerprint":"","generatorURL":"",' +
      '"labels":{"a":"\\u003c\\u0026\\u003e","b":"2"},"labels.a":"\\u003c\\u0026\\u003e",' +
      '"labels.b":"2","startsAt":"2026-03-01T10:12:04Z","status":"firing"}',
  );
  assert.deepEqual(JSON.parse(json!).labels, { a: "<&>", b: "2" });
});
