import { sampleAlertIssue } from "@cano/sdk/testing";
import assert from "node:assert/strict";
import { k8sFixture } from "../../tests/fixtures/k8s/load.ts";
import { startKubeApiServer } from "../../tests/_kube_api_server.ts";
import { KubeApiError, type KubeObject } from "./api.ts";
import {
  createJobFromTemplate,
  deletePod,
  RERUN_OF_ANNOTATION,
  rerunJob,
  RESTARTED_AT_ANNOTATION,
  rolloutRestart,
  scale,
} from "./actions.ts";
import { createKubeClientForUrl } from "./client.ts";

const DEPLOYMENT = "/apis/apps/v1/namespaces/shop/deployments/api";
const POD = "/api/v1/namespaces/shop/pods/api-7c9d8b6f5-x2kqp";
const JOBS = "/apis/batch/v1/namespaces/batch/jobs";

interface Workload extends KubeObject {
  spec: {
    replicas?: number;
    selector?: unknown;
    template: {
      metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
    };
  };
}

Deno.test("deletePod() deletes the pod and reports a missing one as 404", async () => {
  await using server = await startKubeApiServer();
  using api = createKubeClientForUrl(server.url);
  server.apply(k8sFixture("pod_oom_killed"));
  await deletePod(api, { namespace: "shop", name: "api-7c9d8b6f5-x2kqp" });
  assert.equal(server.get(POD), undefined);
  await assert.rejects(
    deletePod(api, { namespace: "shop", name: "api-7c9d8b6f5-x2kqp" }),
    (error: unknown) => error instanceof KubeApiError && error.status === 404,
  );
});

Deno.test("rolloutRestart() sets the restartedAt annotation on the pod template, as kubectl does", async () => {
  await using server = await startKubeApiServer();
  using api = createKubeClientForUrl(server.url);
  const before = server.apply(k8sFixture("deployment_api"));
  const patched = await rolloutRestart(api, {
    kind: "Deployment",
    namespace: "shop",
    name: "api",
    now: () => Date.UTC(2026, 2, 1, 10, 0, 0, 123),
  });
  const stored = server.get<Workload>(DEPLOYMENT)!;
  assert.equal(
    stored.spec.template.metadata?.annotations?.[RESTARTED_AT_ANNOTATION],
    "2026-03-01T10:00:00Z",
  );
  assert.equal(stored.metadata?.generation, (before.metadata.generation ?? 1) + 1);
  assert.deepEqual(stored.spec.template.metadata?.labels, { "app.kubernetes.io/name": "api" });
  assert.equal(patched.metadata?.resourceVersion, stored.metadata?.resourceVersion);
  const request = server.requests.at(-1)!;
  assert.equal(request.method, "PATCH");
  assert.equal(request.headers["content-type"], "application/merge-patch+json");
  await assert.rejects(
    rolloutRestart(api, { kind: "ReplicaSet" as "Deployment", namespace: "shop", name: "api" }),
    {
      name: "TypeError",
      message:
        "Cannot restart a ReplicaSet: only Deployment, StatefulSet, DaemonSet can be restarted",
    },
  );
});

Deno.test("scale() sets replicas, and a 403 on the scale subresource is not retried elsewhere", async () => {
  await using server = await startKubeApiServer();
  using api = createKubeClientForUrl(server.url);
  server.apply(k8sFixture("deployment_api"));
  await scale(api, { kind: "Deployment", namespace: "shop", name: "api", replicas: 5 });
  assert.equal(server.get<Workload>(DEPLOYMENT)!.spec.replicas, 5);
  assert.equal(server.requests.filter((r) => r.path === `${DEPLOYMENT}/scale`).length, 1);
  server.forbid("patch", "deployments/scale");
  await assert.rejects(
    scale(api, { kind: "Deployment", namespace: "shop", name: "api", replicas: 0 }),
    (error: unknown) => error instanceof KubeApiError && error.status === 403,
  );
  assert.equal(server.get<Workload>(DEPLOYMENT)!.spec.replicas, 5);
  await assert.rejects(
    scale(api, { kind: "Deployment", namespace: "shop", name: "gone", replicas: 1 }),
    (error: unknown) => error instanceof KubeApiError && error.status === 403,
  );
  server.allowAll();
  await assert.rejects(
    scale(api, { kind: "Deployment", namespace: "shop", name: "gone", replicas: 1 }),
    (error: unknown) => error instanceof KubeApiError && error.status === 404,
  );
  await assert.rejects(
    scale(api, { kind: "Deployment", namespace: "shop", name: "api", replicas: -1 }),
    RangeError,
  );
});

Deno.test("rerunJob() creates a new Job from a failed one without the controller's selector and labels", async () => {
  await using server = await startKubeApiServer();
  using api = createKubeClientForUrl(server.url);
  const failed = k8sFixture<Workload>("job_backoff_limit");
  const uid = failed.metadata!.uid!;
  // What the Job controller adds to every Job it manages.
  failed.spec.selector = { matchLabels: { "batch.kubernetes.io/controller-uid": uid } };
  failed.spec.template.metadata = {
    labels: {
      app: "report",
      "batch.kubernetes.io/controller-uid": uid,
      "batch.kubernetes.io/job-name": "nightly-report-29043060",
      "controller-uid": uid,
      "job-name": "nightly-report-29043060",
    },
  };
  server.apply(failed);
  const created = await rerunJob(api, {
    namespace: "batch",
    name: "nightly-report-29043060",
    random: () => 0,
  });
  assert.equal(created.metadata?.name, "nightly-report-29043060-rerun-aaaaa");
  const stored = server.get<Workload>(`${JOBS}/nightly-report-29043060-rerun-aaaaa`)!;
  assert.equal(stored.spec.selector, undefined);
  assert.deepEqual(stored.spec.template.metadata?.labels, { app: "report" });
  assert.deepEqual(stored.metadata?.labels, {});
  assert.equal(stored.metadata?.annotations?.[RERUN_OF_ANNOTATION], "nightly-report-29043060");
  assert.equal(stored.metadata?.ownerReferences, undefined);
  assert.equal(stored.status, undefined);
  assert.ok(server.get(`${JOBS}/nightly-report-29043060`), "the failed Job stays for its logs");

  const running = { ...k8sFixture("job_backoff_limit"), status: { active: 1 } };
  running.metadata!.name = "still-running";
  server.apply(running);
  await assert.rejects(rerunJob(api, { namespace: "batch", name: "still-running" }), {
    message:
      'Cannot rerun job "batch/still-running": it is still running (no Complete or Failed condition)',
  });
});

Deno.test("createJobFromTemplate() renders labels into the Job and creates it", async () => {
  await using server = await startKubeApiServer();
  using api = createKubeClientForUrl(server.url);
  const issue = sampleAlertIssue();
  const job = await createJobFromTemplate(api, {
    namespace: "shop",
    data: issue,
    random: () => 0.99,
    template: {
      metadata: {
        generateName: "heap-dump-{{ labels.container }}-",
        labels: { alert: "{{ labels.alertname }}" },
      },
      spec: {
        backoffLimit: 0,
        template: {
          spec: {
            restartPolicy: "Never",
            containers: [{
              name: "dump",
              image: "registry.example.com/tools/heap-dump:1.0",
              args: ["--pod", "{{ labels.pod }}", "--namespace", "{{ labels.namespace }}"],
            }],
          },
        },
      },
    },
  });
  assert.equal(job.metadata?.name, "heap-dump-api-99999");
  const stored = server.get<
    KubeObject & { spec: { template: { spec: { containers: { args: string[] }[] } } } }
  >(
    "/apis/batch/v1/namespaces/shop/jobs/heap-dump-api-99999",
  )!;
  assert.deepEqual(stored.spec.template.spec.containers[0]!.args, [
    "--pod",
    "api-7c9d8b6f5-x2kqp",
    "--namespace",
    "shop",
  ]);
  assert.deepEqual(stored.metadata?.labels, {
    alert: "KubePodCrashLooping",
    "app.kubernetes.io/managed-by": "cano",
  });
  await assert.rejects(
    createJobFromTemplate(api, {
      namespace: "shop",
      data: issue,
      template: { metadata: { name: "dump-{{ labels.alertname }}" } },
    }),
    { name: "TypeError", message: /name "dump-KubePodCrashLooping" is not a DNS-1123 label/ },
  );
});
