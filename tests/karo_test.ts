/**
 * Karo compatibility against the Kubernetes API test server: AlertReactions created with the
 * real `@kubernetes/client-node`, alerts parsed by the real Alertmanager source, Jobs and
 * status read back over the wire.
 */
import assert from "node:assert/strict";
import { BatchV1Api, CustomObjectsApi, KubeConfig, type V1Job } from "@kubernetes/client-node";
import type { Issue } from "@cano/sdk";
import { type KaroConfigInput, KaroConfigSchema } from "../engine/karo/config.ts";
import { type KaroController, startKaroController } from "../engine/karo/controller.ts";
import { createKubeClientForUrl } from "../engine/kubernetes/client.ts";
import type { KubeObject } from "../engine/kubernetes/api.ts";
import { createLogger } from "../engine/log.ts";
import { createMetrics, type Metrics } from "../engine/metrics.ts";
import { parseAlertmanagerPayload } from "../engine/sources/alertmanager.ts";
import { type KubeApiServer, startKubeApiServer } from "./_kube_api_server.ts";

const NS = "ops";
const START = Date.parse("2026-03-01T10:15:00Z");
const SECRET_VALUE = "https://hooks.slack.com/services/T000/B000/SECRETSECRET";

interface Harness extends AsyncDisposable {
  server: KubeApiServer;
  controller: KaroController;
  metrics: Metrics;
  logs: Record<string, unknown>[];
  custom: CustomObjectsApi;
  batch: BatchV1Api;
  clock: { now: number };
  /** Starts another controller (another replica) on the same server. */
  replica(): KaroController;
}

async function harness(config: KaroConfigInput = {}): Promise<Harness> {
  const clock = { now: START };
  const server = await startKubeApiServer({ now: () => clock.now });
  const api = createKubeClientForUrl(server.url);
  const logs: Record<string, unknown>[] = [];
  const log = createLogger({ level: "debug", write: (line) => logs.push(JSON.parse(line)) });
  const metrics = createMetrics();
  const parsed = KaroConfigSchema.parse({ enabled: true, ...config });
  let n = 0;
  const start = () =>
    startKaroController(api, parsed, {
      log,
      metrics,
      now: () => clock.now,
      jobSuffix: () => `s${String(n++).padStart(7, "0")}`,
    });
  const controllers = [start()];
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "test", server: server.url, skipTLSVerify: true }],
    users: [{ name: "test" }],
    contexts: [{ name: "test", cluster: "test", user: "test" }],
    currentContext: "test",
  });
  await controllers[0]!.synced;
  return {
    server,
    controller: controllers[0]!,
    metrics,
    logs,
    clock,
    custom: kc.makeApiClient(CustomObjectsApi),
    batch: kc.makeApiClient(BatchV1Api),
    replica() {
      const controller = start();
      controllers.push(controller);
      return controller;
    },
    async [Symbol.asyncDispose]() {
      await Promise.all(controllers.map((c) => c.stop()));
      api.close();
      await server.close();
    },
  };
}

/** An AlertReaction in the shape of Karo's examples, with matchers of each operator. */
function highLatencyReaction(overrides: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: "karo.io/v1alpha1",
    kind: "AlertReaction",
    metadata: { name: "api-latency", namespace: NS },
    spec: {
      alertName: "HighLatency",
      matchers: [
        { name: "severity", operator: "=", value: "critical" },
        { name: "service", operator: "=~", value: "api-.*" },
        { name: "env", operator: "!=", value: "staging" },
        { name: "team", operator: "!~", value: "db|storage" },
      ],
      volumes: [{ name: "scripts", configMap: { name: "diag-scripts" } }],
      actions: [
        {
          name: "collect-diagnostics",
          image: "busybox:1.36",
          command: ["sh", "-c"],
          args: ["/scripts/collect.sh $(INSTANCE)"],
          env: [
            { name: "INSTANCE", valueFrom: { alertRef: { fieldPath: "labels.instance" } } },
            { name: "ALERT_JSON", valueFrom: { alertRef: { fieldPath: "." } } },
            { name: "LITERAL", value: "labels.pod" },
            { name: "MODE", valueFrom: { configMapKeyRef: { name: "diag-config", key: "mode" } } },
            {
              name: "SLACK_WEBHOOK_URL",
              valueFrom: { secretKeyRef: { name: "slack-webhook", key: "url" } },
            },
          ],
          resources: { limits: { cpu: "200m", memory: "64Mi" } },
          volumeMounts: [{ name: "scripts", mountPath: "/scripts", readOnly: true }],
          serviceAccount: "diagnostics",
        },
        { name: "notify", image: "curlimages/curl:8.5.0" },
      ],
      ...overrides,
    },
  };
}

function alert(labels: Record<string, string>, extra: Record<string, unknown> = {}): Issue {
  const parsed = parseAlertmanagerPayload({
    version: "4",
    status: "firing",
    receiver: "cano",
    externalURL: "http://alertmanager:9093",
    alerts: [{
      status: "firing",
      labels: {
        alertname: "HighLatency",
        severity: "critical",
        service: "api-2",
        env: "prod",
        instance: "10.0.3.7:8080",
        pod: "api-2-7c9d8b6f5-x2kqp",
        namespace: "shop",
        ...labels,
      },
      annotations: { summary: "p99 latency above 2s" },
      startsAt: "2026-03-01T10:12:04.512Z",
      endsAt: "0001-01-01T00:00:00Z",
      generatorURL: "http://prometheus:9090/graph?g0.expr=latency",
      ...extra,
    }],
  });
  assert.ok(parsed.ok);
  return parsed.issues[0]!;
}

async function createReaction(h: Harness, body: KubeObject, version = "v1alpha1") {
  const created = await h.custom.createNamespacedCustomObject({
    group: "karo.io",
    version,
    namespace: NS,
    plural: "alertreactions",
    body,
  }) as KubeObject;
  await until(() => h.controller.status().reactions + h.controller.status().invalid.length > 0);
  return created;
}

async function jobs(h: Harness, labelSelector?: string): Promise<V1Job[]> {
  const list = await h.batch.listNamespacedJob({
    namespace: NS,
    ...(labelSelector ? { labelSelector } : {}),
  });
  return list.items;
}

function reactionObject(h: Harness, name = "api-latency", version = "v1alpha1") {
  return h.server.get<KubeObject & { status?: Record<string, unknown> }>(
    `/apis/karo.io/${version}/namespaces/${NS}/alertreactions/${name}`,
  );
}

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("Cannot wait: condition still false");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function metric(metrics: Metrics, pattern: RegExp): Promise<number> {
  const text = await metrics.registry.metrics();
  return text.split("\n").filter((line) => pattern.test(line))
    .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
}

Deno.test("startKaroController() creates one Job per action of a matching v1alpha1 AlertReaction", async () => {
  await using h = await harness();
  h.server.apply({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "slack-webhook", namespace: NS },
    data: { url: btoa(SECRET_VALUE) },
  });
  const reaction = await createReaction(h, highLatencyReaction());
  await h.controller.onIssue(alert({}));

  const created = await jobs(h, "karo/alert-name=HighLatency");
  assert.equal(created.length, 2);
  const byAction = new Map(created.map((j) => [j.metadata?.labels?.["karo/action-name"], j]));
  const collect = byAction.get("collect-diagnostics")!;
  assert.match(collect.metadata!.name!, /^api-latency-collect-diagnostics-1772360100-s\d{7}$/);
  assert.deepEqual(collect.metadata?.labels, {
    "app.kubernetes.io/name": "karo-job",
    "app.kubernetes.io/component": "job",
    "karo/alert-name": "HighLatency",
    "karo/action-name": "collect-diagnostics",
    "karo/owner": "api-latency",
    "cano.dev/alert-fingerprint": alert({}).fingerprint,
  });
  assert.deepEqual(collect.metadata?.ownerReferences?.map((o) => ({ ...o })), [{
    apiVersion: "karo.io/v1alpha1",
    kind: "AlertReaction",
    name: "api-latency",
    uid: reaction.metadata!.uid!,
  }]);
  assert.equal(collect.spec?.ttlSecondsAfterFinished, 300);
  const pod = collect.spec!.template.spec!;
  assert.equal(pod.restartPolicy, "Never");
  assert.equal(pod.serviceAccountName, "diagnostics");
  assert.deepEqual(pod.volumes?.map((v) => v.configMap?.name), ["diag-scripts"]);
  const container = pod.containers[0]!;
  assert.equal(container.name, "action");
  assert.deepEqual(container.command, ["sh", "-c"]);
  assert.deepEqual(container.volumeMounts?.map((m) => m.mountPath), ["/scripts"]);
  const env = Object.fromEntries(container.env!.map((e) => [e.name, e]));
  assert.equal(env["INSTANCE"]?.value, "10.0.3.7:8080");
  assert.equal(env["LITERAL"]?.value, "labels.pod", "value: is literal in v1alpha1, as in Karo");
  assert.equal(JSON.parse(env["ALERT_JSON"]!.value!)["labels.service"], "api-2");
  assert.deepEqual({ ...env["MODE"]?.valueFrom?.configMapKeyRef }, {
    name: "diag-config",
    key: "mode",
  });
  assert.deepEqual({ ...env["SLACK_WEBHOOK_URL"]?.valueFrom?.secretKeyRef }, {
    name: "slack-webhook",
    key: "url",
  });
  assert.equal(env["SLACK_WEBHOOK_URL"]?.value, undefined);
  const wire = JSON.stringify(h.server.requests.filter((r) => r.verb === "create"));
  assert.ok(!wire.includes(SECRET_VALUE) && !wire.includes(btoa(SECRET_VALUE)));
  assert.ok(
    !h.server.requests.some((r) => /\/(secrets|configmaps)/.test(r.path)),
    "Cano reads no Secret or ConfigMap",
  );
  assert.equal(
    byAction.get("notify")?.spec?.template.spec?.containers[0]?.image,
    "curlimages/curl:8.5.0",
  );

  const status = reactionObject(h)!.status!;
  assert.equal(status["triggerCount"], 1);
  assert.equal(status["lastTriggered"], "2026-03-01T10:15:00Z");
  assert.deepEqual(
    (status["lastJobsCreated"] as { name: string; actionName: string }[])
      .map((j) => [j.actionName, j.name]).sort(),
    created.map((j) => [j.metadata!.labels!["karo/action-name"], j.metadata!.name]).sort(),
  );
  assert.deepEqual(
    (status["conditions"] as { type: string; status: string }[]).map((c) => [c.type, c.status]),
    [["Ready", "True"]],
  );
  assert.equal(await metric(h.metrics, /^alertreaction_jobs_created_total\{/), 2);
  assert.equal(
    await metric(h.metrics, /^alertreaction_alerts_received_total\{status="firing"\}/),
    1,
  );
  assert.equal(h.controller.status().jobsCreated, 2);
});

Deno.test("startKaroController() creates nothing when any matcher fails, for each operator", async () => {
  await using h = await harness();
  await createReaction(h, highLatencyReaction());
  const misses: [string, Record<string, string>][] = [
    ["=", { severity: "warning" }],
    ["=~", { service: "web-1" }],
    ["=~ anchored", { service: "xapi-2" }],
    ["!=", { env: "staging" }],
    ["!~", { team: "storage" }],
    ["alertName", { alertname: "HighErrorRate" }],
  ];
  for (const [, labels] of misses) await h.controller.onIssue(alert(labels));
  assert.deepEqual(await jobs(h), []);
  assert.equal(reactionObject(h)!.status?.["triggerCount"], undefined);
  assert.equal(await metric(h.metrics, /^alertreaction_alerts_received_total\{/), misses.length);
  await h.controller.onIssue(alert({ team: "payments" }));
  assert.equal((await jobs(h)).length, 2, "the same alert with every matcher true does run");
});

Deno.test('startKaroController() anchors regex matchers: =~"api" does not match api-2', async () => {
  await using h = await harness();
  await createReaction(
    h,
    highLatencyReaction({
      matchers: [{ name: "service", operator: "=~", value: "api" }],
      actions: [{ name: "echo", image: "busybox" }],
    }),
  );
  await h.controller.onIssue(alert({ service: "api-2" }));
  assert.deepEqual(await jobs(h), []);
  await h.controller.onIssue(alert({ service: "api" }));
  assert.equal((await jobs(h)).length, 1);
});

Deno.test("startKaroController() holds Alertmanager's repeats in the cooldown", async () => {
  await using h = await harness({ cooldown: "10m" });
  await createReaction(h, highLatencyReaction({ actions: [{ name: "echo", image: "busybox" }] }));
  await Promise.all([h.controller.onIssue(alert({})), h.controller.onIssue(alert({}))]);
  assert.equal((await jobs(h)).length, 1, "two deliveries at once (HA Alertmanagers)");
  h.clock.now += 5 * 60_000;
  await h.controller.onIssue(alert({}));
  assert.equal((await jobs(h)).length, 1, "a repeat within the cooldown");
  assert.equal(reactionObject(h)!.status?.["triggerCount"], 1);

  await h.controller.onIssue(alert({}, { startsAt: "2026-03-01T10:19:30Z" }));
  assert.equal((await jobs(h)).length, 2, "a new firing after resolution");

  h.clock.now += 10 * 60_000;
  await h.controller.onIssue(alert({}, { startsAt: "2026-03-01T10:19:30Z" }));
  assert.equal((await jobs(h)).length, 3, "a repeat after the cooldown");
  assert.equal(reactionObject(h)!.status?.["triggerCount"], 3);
});

Deno.test("startKaroController() honours the cooldown of Jobs another replica created", async () => {
  await using h = await harness({ cooldown: "10m" });
  await createReaction(h, highLatencyReaction({ actions: [{ name: "echo", image: "busybox" }] }));
  await h.controller.onIssue(alert({}));
  const other = h.replica();
  await other.synced;
  h.clock.now += 60_000;
  await other.onIssue(alert({}));
  assert.equal((await jobs(h)).length, 1);
  h.clock.now += 10 * 60_000;
  await other.onIssue(alert({}));
  assert.equal((await jobs(h)).length, 2);
});

Deno.test('startKaroController() reads value: "labels.pod" from the alert in the karo.io/v1 README form', async () => {
  await using h = await harness({ versions: ["v1alpha1", "v1"] });
  // Example 3 of Karo's README, as written there.
  await createReaction(h, {
    apiVersion: "karo.io/v1",
    kind: "AlertReaction",
    metadata: { name: "diagnostics-reaction", namespace: NS },
    spec: {
      alertName: "PodCrashLooping",
      actions: [{
        name: "collect-logs",
        image: "busybox:latest",
        command: ["sh", "-c"],
        args: ["kubectl logs $POD_NAME -n $NAMESPACE > /tmp/crash-logs-$(date +%s).log"],
        env: [
          { name: "POD_NAME", value: "labels.pod" },
          { name: "NAMESPACE", value: "labels.namespace" },
          { name: "STATUS", value: "status" },
          { name: "TEAM", value: "platform" },
        ],
      }],
    },
  }, "v1");
  await h.controller.onIssue(alert({
    alertname: "PodCrashLooping",
    pod: "my-app-deployment-abc123-xyz789",
    namespace: "default",
  }));
  const [job] = await jobs(h);
  const env = Object.fromEntries(
    job!.spec!.template.spec!.containers[0]!.env!.map((e) => [e.name, e.value]),
  );
  assert.deepEqual(env, {
    POD_NAME: "my-app-deployment-abc123-xyz789",
    NAMESPACE: "default",
    STATUS: "firing",
    TEAM: "platform",
  });
  assert.equal(job!.metadata?.ownerReferences?.[0]?.apiVersion, "karo.io/v1");
  const status = reactionObject(h, "diagnostics-reaction", "v1")!.status!;
  assert.equal(status["triggerCount"], 1);
});

Deno.test("startKaroController() tells the v1 form from managed fields when read as v1alpha1", async () => {
  await using h = await harness();
  await createReaction(h, {
    apiVersion: "karo.io/v1alpha1",
    kind: "AlertReaction",
    metadata: {
      name: "written-as-v1",
      namespace: NS,
      managedFields: [{
        manager: "kubectl-client-side-apply",
        operation: "Update",
        apiVersion: "karo.io/v1",
        time: "2026-03-01T09:00:00Z",
        fieldsType: "FieldsV1",
        fieldsV1: { "f:spec": { ".": {}, "f:alertName": {}, "f:actions": {} } },
      }],
    },
    spec: {
      alertName: "HighLatency",
      actions: [{ name: "echo", image: "busybox", env: [{ name: "POD", value: "labels.pod" }] }],
    },
  });
  await h.controller.onIssue(alert({}));
  const [job] = await jobs(h);
  assert.equal(job!.spec!.template.spec!.containers[0]!.env![0]!.value, "api-2-7c9d8b6f5-x2kqp");
});

Deno.test("startKaroController() logs and counts a forbidden Job creation and tries again on the next repeat", async () => {
  await using h = await harness();
  await createReaction(h, highLatencyReaction({ actions: [{ name: "echo", image: "busybox" }] }));
  h.server.forbid("create", "jobs");
  await h.controller.onIssue(alert({}));
  assert.deepEqual(await jobs(h), []);
  const error = h.logs.find((l) => l["msg"] === "Cannot create AlertReaction job");
  assert.equal(error?.["level"], "error");
  assert.equal(error?.["status"], 403);
  assert.match(String(error?.["reason"]), /forbidden/);
  assert.equal(
    await metric(
      h.metrics,
      /^cano_alerts_errors_total\{source="karo",error_type="job_forbidden"\}/,
    ),
    1,
  );
  assert.equal(h.controller.status().jobErrors, 1);
  const status = reactionObject(h)!.status!;
  assert.equal(status["triggerCount"], 1, "a matching alert counts, as in Karo");
  assert.deepEqual(status["lastJobsCreated"], []);

  h.server.allowAll();
  await h.controller.onIssue(alert({}));
  assert.equal((await jobs(h)).length, 1, "nothing was created, so no cooldown holds");
});

Deno.test("startKaroController() skips an action whose alert field is missing and runs the others", async () => {
  await using h = await harness();
  await createReaction(
    h,
    highLatencyReaction({
      matchers: [],
      actions: [
        {
          name: "needs-node",
          image: "busybox",
          env: [{ name: "NODE", valueFrom: { alertRef: { fieldPath: "labels.node" } } }],
        },
        { name: "echo", image: "busybox" },
      ],
    }),
  );
  await h.controller.onIssue(alert({}));
  const created = await jobs(h);
  assert.deepEqual(created.map((j) => j.metadata?.labels?.["karo/action-name"]), ["echo"]);
  assert.equal(
    await metric(h.metrics, /^cano_alerts_errors_total\{source="karo",error_type="env"\}/),
    1,
  );
});

Deno.test("startKaroController() loses no trigger count when alerts race on the status", async () => {
  await using h = await harness();
  await createReaction(h, highLatencyReaction({ actions: [{ name: "echo", image: "busybox" }] }));
  await Promise.all(
    ["api-1", "api-2", "api-3", "api-4"].map((service) => h.controller.onIssue(alert({ service }))),
  );
  assert.equal((await jobs(h)).length, 4);
  assert.equal(reactionObject(h)!.status?.["triggerCount"], 4);
});

Deno.test("startKaroController() ignores an invalid AlertReaction and reports it in its Ready condition", async () => {
  await using h = await harness();
  await createReaction(
    h,
    highLatencyReaction({ volumes: [{ name: "scripts" }], actions: [{ name: "a", image: "i" }] }),
  );
  await until(() => reactionObject(h)?.status?.["conditions"] !== undefined);
  const [condition] = reactionObject(h)!.status!["conditions"] as Record<string, string>[];
  assert.equal(condition?.["status"], "False");
  assert.equal(condition?.["reason"], "InvalidSpec");
  assert.match(condition?.["message"] ?? "", /spec\.volumes\[0\]: Expected exactly one of/);
  assert.deepEqual(h.controller.status().invalid.map((i) => i.name), ["api-latency"]);
  await h.controller.onIssue(alert({}));
  assert.deepEqual(await jobs(h), []);
});

Deno.test("startKaroController() follows AlertReaction deletes and ignores resolved alerts", async () => {
  await using h = await harness();
  await createReaction(h, highLatencyReaction({ actions: [{ name: "echo", image: "busybox" }] }));
  await h.controller.onIssue(alert({}, { status: "resolved", endsAt: "2026-03-01T10:20:00Z" }));
  assert.deepEqual(await jobs(h), []);
  assert.equal(
    await metric(h.metrics, /^alertreaction_alerts_received_total\{status="resolved"\}/),
    1,
  );
  await h.custom.deleteNamespacedCustomObject({
    group: "karo.io",
    version: "v1alpha1",
    namespace: NS,
    plural: "alertreactions",
    name: "api-latency",
  });
  await until(() => h.controller.status().reactions === 0);
  await h.controller.onIssue(alert({}));
  assert.deepEqual(await jobs(h), []);
});

Deno.test("startKaroController() does nothing when disabled", async () => {
  await using server = await startKubeApiServer();
  using api = createKubeClientForUrl(server.url);
  const controller = startKaroController(api, KaroConfigSchema.parse({}), {
    log: createLogger({ write: () => {} }),
    metrics: createMetrics(),
  });
  await controller.onIssue(alert({}));
  await controller.stop();
  assert.equal(controller.status().enabled, false);
  assert.deepEqual(server.requests, []);
});

Deno.test("startKaroController() lets an alert that arrives during the first list wait for it, once", async () => {
  await using server = await startKubeApiServer();
  using api = createKubeClientForUrl(server.url);
  server.apply(highLatencyReaction({ actions: [{ name: "echo", image: "busybox" }] }));
  const options = { log: createLogger({ write: () => {} }), metrics: createMetrics() };
  const config = KaroConfigSchema.parse({ enabled: true });
  const early = startKaroController(api, config, options);
  await early.onIssue(alert({}));
  await early.stop();
  const created = server.requests.filter((r) => r.verb === "create" && r.path.endsWith("/jobs"));
  assert.equal(created.length, 1);

  server.forbid("list", "alertreactions");
  const blind = startKaroController(api, config, { ...options, syncWaitMs: 200 });
  let started = performance.now();
  await blind.onIssue(alert({}));
  assert.ok(performance.now() - started >= 190, "the first alert waits for the list");
  started = performance.now();
  await blind.onIssue(alert({ service: "api-3" }));
  assert.ok(performance.now() - started < 150, "later alerts do not wait again");
  assert.equal(blind.status().synced, false);
  await blind.stop();
});
