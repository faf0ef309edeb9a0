import assert from "node:assert/strict";
import type { KubeObject } from "../kubernetes/api.ts";
import { alertReactionForm, parseAlertReaction } from "./reaction.ts";

/** Karo's examples/alertreactions.yaml, first document. */
function highCpu(overrides: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: "karo.io/v1alpha1",
    kind: "AlertReaction",
    metadata: {
      name: "high-cpu-alert-reaction",
      namespace: "default",
      uid: "uid-1",
      generation: 3,
    },
    spec: {
      alertName: "HighCPUUsage",
      actions: [{
        name: "notify-slack",
        image: "curlimages/curl:latest",
        command: ["curl"],
        args: ["-X", "POST", "--data", '{"text":"High CPU on $INSTANCE"}'],
        env: [
          { name: "INSTANCE", valueFrom: { alertRef: { fieldPath: "labels.instance" } } },
          {
            name: "SLACK_WEBHOOK_URL",
            valueFrom: { secretKeyRef: { name: "slack-webhook", key: "url" } },
          },
        ],
      }],
      ...overrides,
    },
  };
}

function errorOf(object: KubeObject): string {
  const result = parseAlertReaction(object);
  assert.equal(result.ok, false);
  return result.ok ? "" : result.error;
}

Deno.test("parseAlertReaction() normalises Karo's v1alpha1 example", () => {
  const result = parseAlertReaction(highCpu());
  assert.ok(result.ok);
  const { reaction } = result;
  assert.equal(reaction.form, "v1alpha1");
  assert.equal(reaction.uid, "uid-1");
  assert.equal(reaction.generation, 3);
  assert.equal(reaction.alertName, "HighCPUUsage");
  assert.deepEqual(reaction.matchers, []);
  assert.deepEqual(reaction.actions[0]?.env, [
    { name: "INSTANCE", kind: "alertRef", fieldPath: "labels.instance" },
    { name: "SLACK_WEBHOOK_URL", kind: "secretKeyRef", ref: { name: "slack-webhook", key: "url" } },
  ]);
  assert.deepEqual(reaction.actions[0]?.command, ["curl"]);
});

Deno.test("parseAlertReaction() keeps value: literal in v1alpha1 and reads it from the alert in v1", () => {
  const env = [{ name: "POD", value: "labels.pod" }, { name: "MODE", value: "production" }];
  const actions = [{ name: "a", image: "busybox", env }];
  const alpha = parseAlertReaction(highCpu({ actions }));
  const v1 = parseAlertReaction({ ...highCpu({ actions }), apiVersion: "karo.io/v1" });
  assert.ok(alpha.ok && v1.ok);
  assert.deepEqual(alpha.reaction.actions[0]?.env, [
    { name: "POD", kind: "value", value: "labels.pod" },
    { name: "MODE", kind: "value", value: "production" },
  ]);
  assert.deepEqual(v1.reaction.actions[0]?.env, [
    { name: "POD", kind: "alertRef", fieldPath: "labels.pod" },
    { name: "MODE", kind: "value", value: "production" },
  ]);
});

Deno.test("parseAlertReaction() follows Karo's env precedence: value, then valueFrom, else empty", () => {
  const env = [
    { name: "A", value: "x", valueFrom: { alertRef: { fieldPath: "status" } } },
    { name: "B", value: "", valueFrom: { alertRef: { fieldPath: "status" } } },
    { name: "C" },
  ];
  const result = parseAlertReaction(highCpu({ actions: [{ name: "a", image: "i", env }] }));
  assert.ok(result.ok);
  assert.deepEqual(result.reaction.actions[0]?.env, [
    { name: "A", kind: "value", value: "x" },
    { name: "B", kind: "alertRef", fieldPath: "status" },
    { name: "C", kind: "value", value: "" },
  ]);
});

Deno.test("alertReactionForm() reads the version of the latest spec write from managedFields", () => {
  const entry = (apiVersion: string, time: string, extra: Record<string, unknown> = {}) => ({
    manager: "kubectl-client-side-apply",
    operation: "Update",
    apiVersion,
    time,
    fieldsType: "FieldsV1",
    fieldsV1: { "f:spec": { "f:alertName": {} } },
    ...extra,
  });
  const object = (managedFields: unknown[]) => ({
    ...highCpu(),
    metadata: { name: "x", namespace: "d", uid: "u", managedFields },
  });
  assert.equal(alertReactionForm(object([entry("karo.io/v1", "2026-03-01T10:00:00Z")])), "v1");
  assert.equal(
    alertReactionForm(object([
      entry("karo.io/v1", "2026-03-01T10:00:00Z"),
      entry("karo.io/v1alpha1", "2026-03-01T11:00:00Z"),
    ])),
    "v1alpha1",
  );
  assert.equal(
    alertReactionForm(object([
      entry("karo.io/v1", "2026-03-01T10:00:00Z"),
      entry("karo.io/v1alpha1", "2026-03-01T11:00:00Z", { subresource: "status" }),
      { ...entry("karo.io/v1alpha1", "2026-03-01T12:00:00Z"), fieldsV1: { "f:metadata": {} } },
    ])),
    "v1",
  );
  assert.equal(alertReactionForm(object([])), "v1alpha1");
  assert.equal(alertReactionForm({ apiVersion: "karo.io/v2" }), undefined);
  assert.equal(alertReactionForm({ apiVersion: "alertreaction.io/v1alpha1" }), undefined);
});

Deno.test("parseAlertReaction() converts every volume source Karo supports", () => {
  const volumes = [
    { name: "cfg", configMap: { name: "cleanup-config" } },
    { name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "1Gi" } },
    { name: "logs", persistentVolumeClaim: { claimName: "log-pvc" } },
    { name: "host", hostPath: { path: "/var/log", type: "Directory" } },
    { name: "creds", secret: { secretName: "cleanup-credentials", defaultMode: 0o600 } },
  ];
  const actions = [{
    name: "cleanup",
    image: "alpine",
    volumeMounts: [{ name: "cfg", mountPath: "/config", readOnly: true }, {
      name: "tmp",
      mountPath: "/tmp/work",
    }],
    resources: { limits: { cpu: "500m", memory: "128Mi" }, requests: { cpu: "0.1" } },
    serviceAccount: "cleanup-sa",
  }];
  const result = parseAlertReaction(highCpu({ volumes, actions }));
  assert.ok(result.ok);
  assert.deepEqual(result.reaction.volumes, volumes);
  const [action] = result.reaction.actions;
  assert.equal(action?.serviceAccountName, "cleanup-sa");
  assert.deepEqual(action?.volumeMounts, [
    { name: "cfg", mountPath: "/config", readOnly: true },
    { name: "tmp", mountPath: "/tmp/work" },
  ]);
  assert.deepEqual(action?.resources, {
    limits: { cpu: "500m", memory: "128Mi" },
    requests: { cpu: "0.1" },
  });
});

Deno.test("parseAlertReaction() reports every problem with its path", () => {
  assert.match(errorOf(highCpu({ actions: [] })), /spec\.actions: Expected at least one action/);
  assert.match(
    errorOf(highCpu({ volumes: [{ name: "v" }] })),
    /spec\.volumes\[0\]: Expected exactly one of configMap, .*found none/,
  );
  assert.match(
    errorOf(highCpu({ volumes: [{ name: "v", emptyDir: {}, hostPath: { path: "/" } }] })),
    /found emptyDir, hostPath/,
  );
  assert.match(
    errorOf(
      highCpu({
        actions: [{ name: "a", image: "i", volumeMounts: [{ name: "x", mountPath: "/x" }] }],
      }),
    ),
    /spec\.actions\[0\]\.volumeMounts\[0\]\.name: No volume "x"/,
  );
  assert.match(
    errorOf(
      highCpu({ actions: [{ name: "a", image: "i", resources: { limits: { cpu: "lots" } } }] }),
    ),
    /spec\.actions\[0\]\.resources\.limits\.cpu: Expected a Kubernetes quantity/,
  );
  assert.match(
    errorOf(highCpu({ matchers: [{ name: "service", operator: "=~", value: "api-(" }] })),
    /spec\.matchers\[0\]\.value: Cannot compile regex/,
  );
  assert.match(
    errorOf(highCpu({ matchers: [{ name: "service", operator: "Equal", value: "x" }] })),
    /spec\.matchers\[0\]\.operator/,
  );
  const twoSources = { alertRef: { fieldPath: "status" }, secretKeyRef: { name: "s", key: "k" } };
  assert.match(
    errorOf(
      highCpu({
        actions: [{ name: "a", image: "i", env: [{ name: "E", valueFrom: twoSources }] }],
      }),
    ),
    /spec\.actions\[0\]\.env\[0\]\.valueFrom: Expected exactly one of/,
  );
  assert.match(
    errorOf({ ...highCpu(), apiVersion: "karo.io/v2" }),
    /apiVersion: expected karo\.io\/v1alpha1 or karo\.io\/v1/,
  );
  assert.match(
    errorOf({ ...highCpu(), metadata: { name: "x" } }),
    /metadata: expected name, namespace and uid/,
  );
});

Deno.test("parseAlertReaction() compiles matchers with Prometheus semantics", () => {
  const result = parseAlertReaction(highCpu({
    matchers: [{ name: "service", operator: "=~", value: "api" }],
  }));
  assert.ok(result.ok);
  const matcher = result.reaction.matchers[0]!;
  assert.equal(matcher.matches({ labels: { service: "api" } }), true);
  assert.equal(matcher.matches({ labels: { service: "api-2" } }), false);
});
