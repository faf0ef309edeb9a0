import assert from "node:assert/strict";
import type { Issue } from "@cano/sdk";
import { startKubeApiServer } from "../../tests/_kube_api_server.ts";
import { k8sFixture } from "../../tests/fixtures/k8s/load.ts";
import { helmRelease, releaseSecret } from "../../tests/fixtures/k8s/make_helm_release.ts";
import { createKubeClientForUrl } from "../kubernetes/client.ts";
import type { KubeObject } from "../kubernetes/api.ts";
import { silentLogger } from "../log.ts";
import { createMetrics } from "../metrics.ts";
import { type KubernetesSourcesInput, KubernetesSourcesSchema } from "./kubernetes_config.ts";
import { type KubernetesSources, startKubernetesSources } from "./kubernetes_runner.ts";

const START = Date.parse("2026-03-01T11:00:00Z");

async function waitFor(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Waits until the watch has seen the server's changes up to `version`. */
function caughtUp(sources: KubernetesSources, watch: string, version: string | number) {
  return waitFor(`${watch} at ${version}`, () => {
    const status = sources.status().watches.find((w) => w.name === watch);
    const seen = (status?.informer as { resourceVersion?: string } | undefined)?.resourceVersion;
    return seen !== undefined && Number(seen) >= Number(version);
  });
}

async function setup(
  objects: KubeObject[],
  input: KubernetesSourcesInput = {},
  clock = { now: START },
) {
  const server = await startKubeApiServer();
  for (const object of objects) server.apply(object);
  const api = createKubeClientForUrl(server.url);
  const issues: Issue[] = [];
  const metrics = createMetrics();
  const sources = startKubernetesSources(api, KubernetesSourcesSchema.parse(input), {
    deliver: (issue) => issues.push(issue),
    log: silentLogger,
    metrics,
    cluster: "prod-eu",
    now: () => clock.now,
  });
  await sources.synced;
  return {
    server,
    sources,
    issues,
    metrics,
    keys: () => issues.map((i) => `${i.aggregationKey}:${i.status}`).sort(),
    async [Symbol.asyncDispose]() {
      await sources.stop();
      api[Symbol.dispose]();
      await server.close();
    },
  };
}

const STARTUP_OBJECTS = () => [
  k8sFixture("pod_crash_loop"),
  k8sFixture("pod_oom_killed"),
  k8sFixture("pod_unschedulable"),
  k8sFixture("job_backoff_limit"),
  k8sFixture("event_backoff_crash_loop"),
  k8sFixture("node_not_ready"),
  k8sFixture("helm_release_failed"),
];

Deno.test("startKubernetesSources() reports ongoing conditions once at start-up, never past facts", async () => {
  await using env = await setup(STARTUP_OBJECTS());
  const { sources, server, issues } = env;
  await waitFor("three issues", () => issues.length >= 3);
  assert.deepEqual(env.keys(), [
    "node_not_ready:firing",
    "pod_crash_loop:firing",
    "pod_pending:firing",
  ]);
  for (const issue of issues) assert.equal(issue.cluster, "prod-eu");

  const status = sources.status();
  assert.equal(status.enabled, true);
  assert.equal(status.openIssues, 3);
  assert.deepEqual(status.watches.map((w) => [w.name, w.synced]), [
    ["pods", true],
    ["jobs", true],
    ["deployments", true],
    ["nodes", true],
    ["events", true],
    ["helm", true],
  ]);
  assert.deepEqual(status.watches.map((w) => [w.name, w.objects, w.issues]), [
    ["pods", 3, 2],
    ["jobs", 1, 0],
    ["deployments", 0, 0],
    ["nodes", 1, 1],
    ["events", 1, 0],
    ["helm", 1, 0],
  ]);

  await server.waitForWatches(6);
  server.compact();
  assert.equal(server.expireWatches(), 6);
  await waitFor(
    "relists",
    () => sources.status().watches.every((w) => (w.informer as { relists: number }).relists >= 1),
  );
  server.dropWatches();
  await server.waitForWatches(6);
  assert.equal(issues.length, 3, "a relist or reconnect reports nothing again");
});

Deno.test("startKubernetesSources() reports live transitions once, across a relist", async () => {
  const job = k8sFixture<KubeObject & { status: { conditions: unknown[] } }>(
    "job_deadline_exceeded",
  );
  const failedJob = structuredClone(job);
  job.status.conditions = [];
  const pending = releaseSecret(
    helmRelease({
      revision: 8,
      status: "pending-upgrade",
      description: "Preparing upgrade",
      lastDeployed: "2026-03-01T11:01:00Z",
    }),
    { createdAt: START / 1000 + 60 },
  ) as KubeObject;
  await using env = await setup([k8sFixture("pod_oom_killed"), job, pending]);
  const { server, sources, issues } = env;
  assert.equal(issues.length, 0);

  const oom = k8sFixture<KubeObject & { status: { containerStatuses: Record<string, unknown>[] } }>(
    "pod_oom_killed",
  );
  Object.assign(oom.status.containerStatuses[0]!, {
    restartCount: 4,
    state: { running: { startedAt: "2026-03-01T11:05:03Z" } },
    lastState: {
      terminated: {
        reason: "OOMKilled",
        exitCode: 137,
        startedAt: "2026-03-01T10:12:07Z",
        finishedAt: "2026-03-01T11:05:00Z",
        containerID: "containerd://5f0e",
      },
    },
  });
  server.apply(oom);
  const event = k8sFixture<KubeObject & Record<string, unknown>>("event_backoff_crash_loop");
  Object.assign(event, { lastTimestamp: "2026-03-01T11:06:00Z", count: 13 });
  server.apply(event);
  (failedJob.status.conditions[0] as { lastTransitionTime: string }).lastTransitionTime =
    "2026-03-01T11:07:00Z";
  server.apply(failedJob);
  const failed = releaseSecret(
    helmRelease({
      revision: 8,
      status: "failed",
      description: 'Upgrade "shop" failed: timed out waiting for the condition',
      lastDeployed: "2026-03-01T11:01:00Z",
    }),
    { createdAt: START / 1000 + 60, modifiedAt: START / 1000 + 480 },
  ) as KubeObject;
  server.apply(failed);

  await waitFor("four issues", () => issues.length >= 4);
  assert.deepEqual(env.keys(), [
    "helm_release_failed:firing",
    "job_failed:firing",
    "kubernetes_event:firing",
    "pod_oom_killed:firing",
  ]);
  const helm = issues.find((i) => i.source === "helm");
  assert.equal(helm?.labels["revision"], "8");
  assert.ok(!JSON.stringify(helm).includes("s3cr3t-from-values"));
  const oomIssue = issues.find((i) => i.aggregationKey === "pod_oom_killed");
  assert.equal(oomIssue?.startsAt, "2026-03-01T11:05:00.000Z");
  assert.equal(oomIssue?.annotations["restart_count"], "4");

  const relabelled = structuredClone(event);
  (relabelled.metadata as { labels?: Record<string, string> }).labels = { seen: "yes" };
  const version = server.apply(relabelled).metadata?.resourceVersion;
  await caughtUp(sources, "events", version!);
  server.compact();
  server.expireWatches();
  await waitFor(
    "relists",
    () => sources.status().watches.every((w) => (w.informer as { relists: number }).relists >= 1),
  );
  assert.equal(issues.length, 4, "same count, relists: nothing new");
});

Deno.test("startKubernetesSources() resolves conditions on recovery and on deletion", async () => {
  await using env = await setup([k8sFixture("pod_crash_loop"), k8sFixture("node_not_ready")]);
  const { server, issues, sources } = env;
  await waitFor("two issues", () => issues.length >= 2);
  const node = k8sFixture<KubeObject & { status: { conditions: Record<string, string>[] } }>(
    "node_not_ready",
  );
  for (const condition of node.status.conditions) {
    condition["status"] = condition["type"] === "Ready" ? "True" : "False";
    condition["lastTransitionTime"] = "2026-03-01T11:02:00Z";
  }
  server.apply(node);
  server.remove(k8sFixture("pod_crash_loop"));
  await waitFor("two resolutions", () => issues.length >= 4);
  const [nodeFiring, nodeResolved] = issues.filter((i) => i.aggregationKey === "node_not_ready");
  assert.equal(nodeResolved?.status, "resolved");
  assert.equal(nodeResolved?.fingerprint, nodeFiring?.fingerprint);
  assert.equal(nodeResolved?.startsAt, nodeFiring?.startsAt);
  const podResolved = issues.find((i) =>
    i.aggregationKey === "pod_crash_loop" && i.status === "resolved"
  );
  assert.match(podResolved?.title ?? "", /^Pod checkout-5d8f7b9c4-q7wzt was deleted: /);
  assert.equal(sources.status().openIssues, 0);
});

Deno.test("startKubernetesSources() re-checks time-based conditions on every resync", async () => {
  const clock = { now: Date.parse("2026-03-01T10:02:00Z") };
  await using env = await setup([k8sFixture("pod_unschedulable")], { resync: 20 }, clock);
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.equal(env.issues.length, 0);
  clock.now = Date.parse("2026-03-01T10:06:00Z");
  await waitFor("pending issue", () => env.issues.length >= 1);
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.deepEqual(env.keys(), ["pod_pending:firing"]);
  assert.match(env.issues[0]!.title, /has been unschedulable for 6m/);
});

Deno.test("startKubernetesSources() with startup quiet only records what exists", async () => {
  await using env = await setup(STARTUP_OBJECTS(), { startup: "quiet", resync: 20 });
  const { server, issues, sources } = env;
  const node = k8sFixture<KubeObject & { status: { conditions: Record<string, string>[] } }>(
    "node_not_ready",
  );
  const ready = node.status.conditions.find((c) => c["type"] === "Ready")!;
  ready["status"] = "True";
  await caughtUp(sources, "nodes", server.apply(node).metadata!.resourceVersion!);
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.equal(issues.length, 0, "no start-up report, no resolution of an unreported condition");
  ready["status"] = "False";
  server.apply(node);
  await waitFor("NotReady", () => issues.length >= 1);
  assert.deepEqual(env.keys(), ["node_not_ready:firing"]);
});

Deno.test("startKubernetesSources() tracks Deployment changes with a diff when enabled", async () => {
  await using env = await setup([k8sFixture("deployment_api")], {
    changes: { enabled: true, kinds: ["Deployment"] },
  });
  const deploy = k8sFixture<
    KubeObject & { spec: { template: { spec: { containers: { image: string }[] } } } }
  >("deployment_api");
  deploy.spec.template.spec.containers[0]!.image = "registry.example.com/shop/api:2.15.0";
  env.server.apply(deploy);
  await waitFor("change", () => env.issues.length >= 1);
  const [change] = env.issues;
  assert.equal(change?.type, "change");
  assert.equal(change?.labels["generation"], "42");
  assert.deepEqual(change?.enrichments[0]?.blocks[0], {
    type: "diff",
    before: {
      template: {
        spec: { containers: [{ name: "api", image: "registry.example.com/shop/api:2.14.1" }] },
      },
    },
    after: {
      template: {
        spec: { containers: [{ name: "api", image: "registry.example.com/shop/api:2.15.0" }] },
      },
    },
  });
});

Deno.test("startKubernetesSources() starts nothing when disabled and stop() closes every watch", async () => {
  await using disabled = await setup([], { enabled: false });
  assert.deepEqual(disabled.sources.status().watches, []);
  assert.equal(disabled.sources.status().enabled, false);

  await using env = await setup([]);
  await env.server.waitForWatches(6);
  await env.sources.stop();
  await waitFor("watches closed", () => env.server.openWatches === 0);
});

Deno.test("startKubernetesSources() counts a failing detector and keeps going", async () => {
  await using env = await setup([]);
  env.server.apply({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "odd", namespace: "shop" },
    status: { phase: "Running", containerStatuses: 5 },
  });
  env.server.apply(k8sFixture("pod_crash_loop"));
  await waitFor("crash loop", () => env.issues.length >= 1);
  assert.match(
    await env.metrics.registry.metrics(),
    /cano_alerts_errors_total\{source="kubernetes",error_type="detector"\} 1/,
  );
});
