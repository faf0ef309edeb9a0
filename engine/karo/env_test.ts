import assert from "node:assert/strict";
import { alertDataFromAlert } from "./alert_data.ts";
import { readmeValueField, resolveEnv } from "./env.ts";

const data = alertDataFromAlert({
  status: "firing",
  labels: { alertname: "PodCrashLooping", pod: "api-0", namespace: "shop" },
  annotations: { summary: "Crash looping" },
  startsAt: "2026-03-01T10:12:04.512Z",
  fingerprint: "ghi789",
});

Deno.test("resolveEnv() resolves literals and alert fields and passes key references on", () => {
  const result = resolveEnv([
    { name: "MODE", kind: "value", value: "labels.pod" },
    { name: "POD", kind: "alertRef", fieldPath: "labels.pod" },
    { name: "STATUS", kind: "alertRef", fieldPath: "status" },
    { name: "CONFIG", kind: "configMapKeyRef", ref: { name: "cfg", key: "mode", optional: true } },
    { name: "TOKEN", kind: "secretKeyRef", ref: { name: "slack", key: "token" } },
  ], data);
  assert.deepEqual(result, {
    ok: true,
    env: [
      { name: "MODE", value: "labels.pod" },
      { name: "POD", value: "api-0" },
      { name: "STATUS", value: "firing" },
      {
        name: "CONFIG",
        valueFrom: { configMapKeyRef: { name: "cfg", key: "mode", optional: true } },
      },
      { name: "TOKEN", valueFrom: { secretKeyRef: { name: "slack", key: "token" } } },
    ],
  });
});

Deno.test("resolveEnv() passes the whole alert as JSON for fieldPath '.'", () => {
  const result = resolveEnv([{ name: "ALERT_JSON", kind: "alertRef", fieldPath: "." }], data);
  assert.ok(result.ok);
  const alert = JSON.parse(result.env[0]!.value!);
  assert.equal(alert["labels.pod"], "api-0");
  assert.equal(alert.fingerprint, "ghi789");
});

Deno.test("resolveEnv() fails on a field the alert lacks, naming both", () => {
  const result = resolveEnv([
    { name: "POD", kind: "alertRef", fieldPath: "labels.pod" },
    { name: "NODE", kind: "alertRef", fieldPath: "labels.node" },
  ], data);
  assert.deepEqual(result, {
    ok: false,
    error: 'Cannot resolve env NODE: the alert has no field "labels.node"',
  });
});

Deno.test("readmeValueField() reads the README's field patterns and leaves literals", () => {
  assert.equal(readmeValueField("labels.instance"), "labels.instance");
  assert.equal(readmeValueField("annotations.summary"), "annotations.summary");
  assert.equal(readmeValueField("status"), "status");
  assert.equal(readmeValueField("fingerprint"), "fingerprint");
  assert.equal(readmeValueField("labels."), undefined);
  assert.equal(readmeValueField("production"), undefined);
  assert.equal(readmeValueField("labelsXinstance"), undefined);
  assert.equal(readmeValueField("https://hooks.slack.com/x"), undefined);
});
