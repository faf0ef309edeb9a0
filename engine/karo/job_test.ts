import assert from "node:assert/strict";
import { alertDataFromAlert } from "./alert_data.ts";
import { resolveEnv } from "./env.ts";
import { buildJob, jobName, sanitizeLabelValue } from "./job.ts";
import { parseAlertReaction } from "./reaction.ts";

const NOW = Date.UTC(2026, 2, 1, 10, 12, 4, 512);

function reaction(spec: Record<string, unknown> = {}) {
  const result = parseAlertReaction({
    apiVersion: "karo.io/v1alpha1",
    kind: "AlertReaction",
    metadata: { name: "high-cpu-alert", namespace: "ops", uid: "uid-7" },
    spec: {
      alertName: "HighCPUUsage",
      volumes: [{ name: "cfg", configMap: { name: "scripts" } }],
      actions: [{
        name: "notify-slack",
        image: "curlimages/curl:8.5.0",
        command: ["sh", "-c"],
        args: ['curl -d "$(INSTANCE)" "$SLACK_WEBHOOK_URL"'],
        env: [
          { name: "INSTANCE", valueFrom: { alertRef: { fieldPath: "labels.instance" } } },
          {
            name: "SLACK_WEBHOOK_URL",
            valueFrom: { secretKeyRef: { name: "slack-webhook", key: "url" } },
          },
        ],
        resources: { limits: { cpu: "500m" } },
        volumeMounts: [{ name: "cfg", mountPath: "/scripts", readOnly: true }],
        serviceAccount: "notifier",
      }],
      ...spec,
    },
  });
  assert.ok(result.ok);
  return result.reaction;
}

Deno.test("buildJob() names, labels and owns the Job as Karo does", () => {
  const r = reaction();
  const action = r.actions[0]!;
  const data = alertDataFromAlert({
    status: "firing",
    labels: { alertname: "HighCPUUsage", instance: "server1:9100" },
    fingerprint: "abc123",
    startsAt: "2026-03-01T10:00:00Z",
  });
  const env = resolveEnv(action.env, data);
  assert.ok(env.ok);
  const job = buildJob(r, action, {
    env: env.env,
    alert: { fingerprint: "abc123", startsAt: "2026-03-01T10:00:00Z" },
  }, { now: () => NOW, suffix: () => "k3x9q2ab" });
  assert.equal(job.metadata?.name, "high-cpu-alert-notify-slack-1772359924-k3x9q2ab");
  assert.equal(job.metadata?.namespace, "ops");
  assert.deepEqual(job.metadata?.labels, {
    "app.kubernetes.io/name": "karo-job",
    "app.kubernetes.io/component": "job",
    "karo/alert-name": "HighCPUUsage",
    "karo/action-name": "notify-slack",
    "karo/owner": "high-cpu-alert",
    "cano.dev/alert-fingerprint": "abc123",
  });
  assert.deepEqual(job.metadata?.annotations, {
    "cano.dev/alert-starts-at": "2026-03-01T10:00:00Z",
  });
  assert.deepEqual(job.metadata?.ownerReferences, [
    { apiVersion: "karo.io/v1alpha1", kind: "AlertReaction", name: "high-cpu-alert", uid: "uid-7" },
  ]);
  assert.deepEqual(job.spec, {
    ttlSecondsAfterFinished: 300,
    template: {
      spec: {
        restartPolicy: "Never",
        serviceAccountName: "notifier",
        volumes: [{ name: "cfg", configMap: { name: "scripts" } }],
        containers: [{
          name: "action",
          image: "curlimages/curl:8.5.0",
          command: ["sh", "-c"],
          args: ['curl -d "$(INSTANCE)" "$SLACK_WEBHOOK_URL"'],
          env: [
            { name: "INSTANCE", value: "server1:9100" },
            {
              name: "SLACK_WEBHOOK_URL",
              valueFrom: { secretKeyRef: { name: "slack-webhook", key: "url" } },
            },
          ],
          resources: { limits: { cpu: "500m" } },
          volumeMounts: [{ name: "cfg", mountPath: "/scripts", readOnly: true }],
        }],
      },
    },
  });
});

Deno.test("buildJob() leaves out what the action does not set and applies the configured limits", () => {
  const r = reaction({ volumes: [], actions: [{ name: "echo", image: "busybox" }] });
  const job = buildJob(r, r.actions[0]!, { env: [], alert: { fingerprint: "f", startsAt: "s" } }, {
    now: () => NOW,
    ttlSecondsAfterFinished: 3600,
    backoffLimit: 1,
    activeDeadlineSeconds: 600,
  });
  assert.deepEqual(job.spec, {
    ttlSecondsAfterFinished: 3600,
    backoffLimit: 1,
    activeDeadlineSeconds: 600,
    template: {
      spec: { restartPolicy: "Never", containers: [{ name: "action", image: "busybox" }] },
    },
  });
  assert.match(String(job.metadata?.name), /^high-cpu-alert-echo-1772359924-[a-z0-9]{8}$/);
});

Deno.test("jobName() follows Karo's naming cases", () => {
  const parts = { nowSeconds: 1705312800, suffix: "abcdefgh" };
  assert.match(
    jobName("high-cpu-alert", "notify-slack", parts),
    /^high-cpu-alert-notify-slack-\d+-[a-z0-9]{8}$/,
  );
  assert.equal(
    jobName("My_Reaction", "Send Mail", parts),
    "my-reaction-send-mail-1705312800-abcdefgh",
  );
  assert.equal(jobName("--x--", "y.", parts), "x---y.-1705312800-abcdefgh");
  const long = jobName("a".repeat(40), "b".repeat(40), parts);
  assert.equal(long.length, 63);
  assert.equal(long, `${"a".repeat(40)}-${"b".repeat(13)}-abcdefgh`);
  const cut = jobName("a".repeat(53), "b", parts);
  assert.equal(cut, `${"a".repeat(53)}-abcdefgh`, "no '-' or '.' left before the suffix");
  for (const name of [long, cut]) assert.match(name, /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
});

Deno.test("jobName() gives ten different names for ten Jobs of one second", () => {
  const r = reaction({ volumes: [], actions: [{ name: "echo", image: "busybox" }] });
  const names = new Set(
    Array.from(
      { length: 10 },
      () =>
        buildJob(r, r.actions[0]!, { env: [], alert: { fingerprint: "f", startsAt: "s" } }, {
          now: () => NOW,
        }).metadata?.name,
    ),
  );
  assert.equal(names.size, 10);
});

Deno.test("sanitizeLabelValue() keeps 63 valid characters as Karo does", () => {
  assert.equal(sanitizeLabelValue("DB:Connection/Failed"), "DB-Connection-Failed");
  assert.equal(sanitizeLabelValue("-_x_-"), "x");
  assert.equal(sanitizeLabelValue("x".repeat(70)).length, 63);
  assert.equal(sanitizeLabelValue(`${"x".repeat(62)}/y`), "x".repeat(62));
  assert.equal(sanitizeLabelValue("!!!"), "");
});
