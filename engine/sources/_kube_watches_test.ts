import assert from "node:assert/strict";
import { k8sFixture } from "../../tests/fixtures/k8s/load.ts";
import { buildWatchSpecs } from "./_kube_watches.ts";
import { KubernetesSourcesSchema } from "./kubernetes_config.ts";

Deno.test("buildWatchSpecs() watches pods, jobs, deployments, nodes, Warning events and Helm secrets by default", () => {
  const specs = buildWatchSpecs(KubernetesSourcesSchema.parse({}));
  assert.deepEqual(
    specs.map((s) => [s.name, s.path, s.labelSelector, s.fieldSelector]),
    [
      ["pods", "/api/v1/pods", undefined, undefined],
      ["jobs", "/apis/batch/v1/jobs", undefined, undefined],
      ["deployments", "/apis/apps/v1/deployments", undefined, undefined],
      ["nodes", "/api/v1/nodes", undefined, undefined],
      ["events", "/api/v1/events", undefined, "type=Warning"],
      ["helm", "/api/v1/secrets", "owner=helm", "type=helm.sh/release.v1"],
    ],
  );
});

Deno.test("buildWatchSpecs() shares the Deployment watch between rollouts and change tracking", () => {
  const specs = buildWatchSpecs(KubernetesSourcesSchema.parse({
    changes: { enabled: true, kinds: ["Deployment", "ConfigMap"] },
    events: { types: ["Warning", "Normal"], api: "events.k8s.io" },
  }));
  const deployments = specs.find((s) => s.name === "deployments");
  assert.deepEqual(deployments?.detectors.map((d) => d.source), ["deployments", "changes"]);
  assert.ok(specs.some((s) => s.path === "/api/v1/configmaps"));
  const events = specs.find((s) => s.name === "events");
  assert.equal(events?.path, "/apis/events.k8s.io/v1/events");
  assert.equal(events?.fieldSelector, undefined);
});

Deno.test("buildWatchSpecs() switches sources and single detectors off", () => {
  assert.deepEqual(buildWatchSpecs(KubernetesSourcesSchema.parse({ enabled: false })), []);
  const specs = buildWatchSpecs(KubernetesSourcesSchema.parse({
    pods: {
      oomKilled: { enabled: false },
      crashLoop: { enabled: false },
      pending: { enabled: false },
    },
    jobs: { enabled: false },
    deployments: { enabled: false },
    nodes: { enabled: false },
    events: { enabled: false },
    helm: { failed: { enabled: false }, pending: { enabled: false } },
  }));
  assert.deepEqual(specs.map((s) => s.name), ["pods"]);
  assert.equal(specs[0]?.detectors[0]?.timed, false);
  const oom = specs[0]!.detectors[0]!;
  const before = k8sFixture("pod_oom_killed");
  const after = structuredClone(before);
  (after["status"] as { containerStatuses: { restartCount: number }[] }).containerStatuses[0]!
    .restartCount = 4;
  assert.deepEqual(oom.detect(before, after, {}), [], "OOM detection is off");
});

Deno.test("buildWatchSpecs() applies the source's namespace filter, else the top-level one", () => {
  const specs = buildWatchSpecs(KubernetesSourcesSchema.parse({
    excludeNamespaces: ["kube-*"],
    jobs: { namespaces: ["batch"] },
  }));
  const pods = specs.find((s) => s.name === "pods")!.detectors[0]!;
  const jobs = specs.find((s) => s.name === "jobs")!.detectors[0]!;
  assert.equal(pods.accepts({ metadata: { namespace: "kube-system" } }), false);
  assert.equal(pods.accepts({ metadata: { namespace: "shop" } }), true);
  assert.equal(jobs.accepts({ metadata: { namespace: "batch" } }), true);
  assert.equal(jobs.accepts({ metadata: { namespace: "shop" } }), false);
  assert.equal(jobs.accepts({ metadata: { namespace: "kube-system" } }), false);
});
