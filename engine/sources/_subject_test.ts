import assert from "node:assert/strict";
import { SUBJECT_LABELS, subjectFromLabels } from "./_subject.ts";

Deno.test("subjectFromLabels() picks the most specific label in the documented order", () => {
  const cases: [Record<string, string>, string, string][] = [
    [{ pod: "api-0", deployment: "api", namespace: "shop" }, "Pod", "api-0"],
    [{ deployment: "api", replicaset: "api-7c9d8b6f5", namespace: "shop" }, "Deployment", "api"],
    [{ statefulset: "db", daemonset: "agent" }, "StatefulSet", "db"],
    [{ daemonset: "agent", replicaset: "x" }, "DaemonSet", "agent"],
    [{ replicaset: "api-7c9d8b6f5", job_name: "j" }, "ReplicaSet", "api-7c9d8b6f5"],
    [{ job_name: "backup-1", cronjob: "backup" }, "Job", "backup-1"],
    [{ cronjob: "backup", persistentvolumeclaim: "data" }, "CronJob", "backup"],
    [{ persistentvolumeclaim: "data-db-0", service: "db" }, "PersistentVolumeClaim", "data-db-0"],
    [{ horizontalpodautoscaler: "api", service: "api" }, "HorizontalPodAutoscaler", "api"],
    [{ node: "n1", service: "node-exporter", namespace: "monitoring" }, "Node", "n1"],
    [{ service: "api", namespace: "shop" }, "Service", "api"],
    [{ namespace: "shop" }, "Namespace", "shop"],
  ];
  for (const [labels, kind, name] of cases) {
    const subject = subjectFromLabels({ alertname: "A", ...labels });
    assert.equal(subject?.kind, kind, JSON.stringify(labels));
    assert.equal(subject?.name, name, JSON.stringify(labels));
  }
  assert.equal(SUBJECT_LABELS.length, cases.length);
});

Deno.test("subjectFromLabels() ignores the scrape job label", () => {
  assert.deepEqual(
    subjectFromLabels({ alertname: "KubeJobFailed", job: "kube-state-metrics", namespace: "ops" }),
    { kind: "Namespace", name: "ops", namespace: "ops" },
  );
  assert.equal(subjectFromLabels({ alertname: "TargetDown", job: "node-exporter" }), undefined);
  assert.equal(
    subjectFromLabels({ alertname: "TargetDown", job: "node-exporter", instance: "10.0.0.1:9100" }),
    undefined,
  );
});

Deno.test("subjectFromLabels() copies namespace, node and container", () => {
  assert.deepEqual(
    subjectFromLabels({
      alertname: "KubePodCrashLooping",
      pod: "api-0",
      namespace: "shop",
      node: "n1",
      container: "api",
      instance: "10.0.0.1:8080",
    }),
    { kind: "Pod", name: "api-0", namespace: "shop", node: "n1", container: "api" },
  );
  assert.deepEqual(subjectFromLabels({ node: "n1" }), { kind: "Node", name: "n1", node: "n1" });
});

Deno.test("subjectFromLabels() skips empty labels and returns undefined without any", () => {
  assert.deepEqual(subjectFromLabels({ pod: "", deployment: "api", container: " " }), {
    kind: "Deployment",
    name: "api",
  });
  assert.equal(subjectFromLabels({ alertname: "Watchdog", severity: "none" }), undefined);
  assert.equal(subjectFromLabels({}), undefined);
});
