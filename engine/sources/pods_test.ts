import assert from "node:assert/strict";
import { IssueSchema, type TriggerInput, TriggerSchema } from "@cano/sdk";
import { matchesTrigger } from "../triggers.ts";
import { k8sFixture } from "../../tests/fixtures/k8s/load.ts";
import type { KubeObject } from "../kubernetes/api.ts";
import type { ContainerStatus, PodShape } from "./_pod.ts";
import { createIssueGate } from "./_issue_gate.ts";
import { parseEvictionMessage } from "./_pod_phase.ts";
import { detectPodIssues } from "./pods.ts";

type Pod = KubeObject & Required<Pick<PodShape, "status" | "spec">>;

const at = (iso: string) => () => Date.parse(iso);
const pod = (name: Parameters<typeof k8sFixture>[0]) => k8sFixture<Pod>(name);
const container = (p: Pod): ContainerStatus => p.status.containerStatuses![0]!;

function beforeOom(): Pod {
  const before = pod("pod_oom_killed");
  const status = container(before);
  status.restartCount = 2;
  status.state = { running: { startedAt: "2026-03-01T09:58:40Z" } };
  status.lastState = {
    terminated: {
      reason: "OOMKilled",
      exitCode: 137,
      startedAt: "2026-03-01T09:40:02Z",
      finishedAt: "2026-03-01T09:58:37Z",
      containerID: "containerd://older",
    },
  };
  return before;
}

Deno.test("detectPodIssues() reports an OOM kill seen only in lastState", () => {
  const issues = detectPodIssues(beforeOom(), pod("pod_oom_killed"), {
    cluster: "prod-eu",
    now: at("2026-03-01T10:12:10Z"),
  });
  assert.equal(issues.length, 1);
  const issue = IssueSchema.parse(issues[0]);
  assert.equal(issue.aggregationKey, "pod_oom_killed");
  assert.equal(issue.source, "kubernetes");
  assert.equal(issue.type, "event");
  assert.equal(issue.severity, "HIGH");
  assert.equal(issue.cluster, "prod-eu");
  assert.equal(
    issue.title,
    "Container api in shop/api-7c9d8b6f5-x2kqp was OOMKilled (limit 512Mi, exit code 137, 3 restarts)",
  );
  assert.deepEqual(issue.subject, {
    kind: "Pod",
    name: "api-7c9d8b6f5-x2kqp",
    namespace: "shop",
    node: "ip-10-0-3-17.eu-west-1.compute.internal",
    container: "api",
  });
  assert.equal(issue.labels["workload"], "api");
  assert.equal(issue.labels["workload_kind"], "Deployment");
  assert.equal(issue.labels["owner_name"], "api-7c9d8b6f5");
  assert.equal(issue.annotations["memory_limit"], "512Mi");
  assert.equal(issue.annotations["memory_request"], "256Mi");
  assert.equal(issue.annotations["exit_code"], "137");
  assert.equal(issue.annotations["restart_count"], "3");
  assert.equal(issue.startsAt, "2026-03-01T10:12:04.000Z");
  assert.equal(issue.createdAt, "2026-03-01T10:12:10.000Z");
  assert.ok(!JSON.stringify(issue).includes("do-not-leak"), "the pod spec env must not leak");
});

Deno.test("detectPodIssues() reports nothing when the restart count and lastState are unchanged", () => {
  const next = pod("pod_oom_killed");
  const previous = pod("pod_oom_killed");
  previous.metadata!.resourceVersion = "48213300";
  container(next).ready = false;
  assert.deepEqual(detectPodIssues(previous, next), []);
});

Deno.test("detectPodIssues() is transition-based: the same update twice yields one issue", () => {
  const before = beforeOom();
  const after = pod("pod_oom_killed");
  assert.equal(detectPodIssues(before, after).length, 1);
  assert.deepEqual(detectPodIssues(after, structuredClone(after)), []);
});

Deno.test("detectPodIssues() keeps the fingerprint stable across runs and apart across clusters", () => {
  const [a] = detectPodIssues(beforeOom(), pod("pod_oom_killed"), { cluster: "prod-eu" });
  const [b] = detectPodIssues(beforeOom(), pod("pod_oom_killed"), { cluster: "prod-eu" });
  const [c] = detectPodIssues(beforeOom(), pod("pod_oom_killed"), { cluster: "prod-us" });
  assert.notEqual(a?.id, b?.id);
  assert.equal(a?.fingerprint, b?.fingerprint);
  assert.match(a?.fingerprint ?? "", /^[0-9a-f]{16}$/);
  assert.notEqual(a?.fingerprint, c?.fingerprint);
});

Deno.test("detectPodIssues() reports an OOM in state.terminated once, not again when it moves to lastState", () => {
  const running = pod("pod_oom_killed_never");
  container(running).state = { running: { startedAt: "2026-03-01T10:00:04Z" } };
  running.status.phase = "Running";
  const failed = pod("pod_oom_killed_never");
  const [issue] = detectPodIssues(running, failed);
  assert.equal(
    issue?.title,
    "Container reindex in search/reindex-29043120-8xk2p was OOMKilled (limit 2Gi, exit code 137, 0 restarts)",
  );
  assert.equal(issue?.labels["owner_kind"], "Job");
  const moved = pod("pod_oom_killed_never");
  container(moved).lastState = container(moved).state!;
  container(moved).state = { waiting: { reason: "ContainerCreating" } };
  assert.deepEqual(detectPodIssues(failed, moved), []);
});

Deno.test("detectPodIssues() reports an OOM on a new pod only when it happened after `since`", () => {
  const oom = pod("pod_oom_killed");
  assert.deepEqual(
    detectPodIssues(undefined, oom, { since: Date.parse("2026-03-01T10:30:00Z") }),
    [],
  );
  const issues = detectPodIssues(undefined, oom, { since: Date.parse("2026-03-01T10:00:00Z") });
  assert.deepEqual(issues.map((i) => i.aggregationKey), ["pod_oom_killed"]);
});

Deno.test("detectPodIssues() reports a crash loop, holds it through restarts and resolves it after a stable run", () => {
  const healthy = pod("pod_crash_loop");
  container(healthy).restartCount = 0;
  container(healthy).state = { running: { startedAt: "2026-03-01T09:30:02Z" } };
  container(healthy).lastState = {};
  const looping = pod("pod_crash_loop");
  const [firing] = detectPodIssues(healthy, looping, { now: at("2026-03-01T09:41:20Z") });
  assert.equal(
    firing?.title,
    "Container checkout in shop/checkout-5d8f7b9c4-q7wzt is in CrashLoopBackOff (5 restarts, last exit: Error, exit code 2)",
  );
  assert.equal(firing?.aggregationKey, "pod_crash_loop");
  assert.equal(
    firing?.annotations["last_exit_message"],
    "panic: dial tcp 10.0.9.14:5432: connect: connection refused",
  );
  assert.match(firing?.description ?? "", /^back-off 2m40s restarting failed container=checkout/);

  const restarted = pod("pod_crash_loop");
  container(restarted).restartCount = 6;
  container(restarted).state = { running: { startedAt: "2026-03-01T09:44:00Z" } };
  const options = { now: at("2026-03-01T09:44:05Z") };
  assert.deepEqual(
    detectPodIssues(looping, restarted, options),
    [],
    "running briefly is no recovery",
  );
  const again = pod("pod_crash_loop");
  container(again).restartCount = 6;
  const [reentry] = detectPodIssues(restarted, again, options);
  assert.equal(reentry?.fingerprint, firing?.fingerprint, "a re-entry is the same condition");
  const gate = createIssueGate();
  assert.ok(gate.admit(firing!, "pod"));
  assert.equal(gate.admit(reentry!, "pod"), undefined, "the gate holds the open episode");

  const [resolved] = detectPodIssues(restarted, restarted, {
    previousAt: Date.parse("2026-03-01T09:45:30Z"),
    now: at("2026-03-01T09:46:30Z"),
  });
  assert.equal(resolved?.status, "resolved");
  assert.equal(resolved?.fingerprint, firing?.fingerprint);
  assert.equal(resolved?.endsAt, "2026-03-01T09:46:30.000Z");
  assert.ok(gate.admit(resolved!, "pod"));
});

Deno.test("detectPodIssues() reports a pod already crash-looping when first seen", () => {
  const issues = detectPodIssues(undefined, pod("pod_crash_loop"), {
    since: Date.parse("2026-03-01T12:00:00Z"),
  });
  assert.deepEqual(issues.map((i) => i.aggregationKey), ["pod_crash_loop"]);
});

Deno.test("detectPodIssues() reports an image pull failure once across ErrImagePull and ImagePullBackOff", () => {
  const creating = pod("pod_image_pull_backoff");
  container(creating).state = { waiting: { reason: "ContainerCreating" } };
  const errPull = pod("pod_image_pull_backoff");
  container(errPull).state = {
    waiting: { reason: "ErrImagePull", message: "rpc error: code = NotFound desc = not found" },
  };
  const backOff = pod("pod_image_pull_backoff");
  const [firing] = detectPodIssues(creating, errPull);
  assert.equal(
    firing?.title,
    'Container web in shop/web-6b7c8d9e5-m4n5p cannot pull image "registry.example.com/shop/web:4.0.0-rc.1" (ErrImagePull)',
  );
  assert.equal(firing?.aggregationKey, "image_pull_backoff");
  assert.deepEqual(detectPodIssues(errPull, backOff), []);
  const running = pod("pod_image_pull_backoff");
  container(running).state = { running: { startedAt: "2026-03-01T10:31:00Z" } };
  const [resolved] = detectPodIssues(backOff, running);
  assert.equal(resolved?.status, "resolved");
  assert.equal(resolved?.fingerprint, firing?.fingerprint);
});

Deno.test("detectPodIssues() reports the other image waiting reasons", () => {
  const creating = pod("pod_image_pull_backoff");
  container(creating).state = { waiting: { reason: "ContainerCreating" } };
  const invalid = pod("pod_image_pull_backoff");
  container(invalid).state = { waiting: { reason: "InvalidImageName" } };
  const [issue] = detectPodIssues(creating, invalid);
  assert.equal(issue?.labels["reason"], "InvalidImageName");
});

Deno.test("detectPodIssues() reports an eviction with the starved resource", () => {
  const running = pod("pod_evicted");
  running.status = { phase: "Running" };
  const [issue] = detectPodIssues(running, pod("pod_evicted"));
  assert.equal(
    issue?.title,
    "Pod jobs/worker-84f5c6d7b8-zt9kq was evicted from node ip-10-0-1-44.eu-west-1.compute.internal (node low on memory)",
  );
  assert.equal(issue?.labels["starved_resource"], "memory");
  assert.equal(issue?.annotations["offending_containers"], "worker");
  assert.equal(issue?.annotations["offending_containers_usage"], "1432Mi");
  assert.equal(issue?.startsAt, "2026-03-01T10:31:17.000Z");
  assert.equal(issue?.subject?.node, "ip-10-0-1-44.eu-west-1.compute.internal");
  assert.deepEqual(detectPodIssues(pod("pod_evicted"), pod("pod_evicted")), []);
});

Deno.test("parseEvictionMessage() reads threshold, availability and every offending container", () => {
  const details = parseEvictionMessage(
    "The node was low on resource: ephemeral-storage. Threshold quantity: 10%, available: 1.5Gi. " +
      "Container a was using 3Gi, request is 0, has larger consumption of ephemeral-storage. " +
      "Container b was using 2Gi, request is 1Gi, has larger consumption of ephemeral-storage. ",
  );
  assert.equal(details.resource, "ephemeral-storage");
  assert.equal(details.threshold, "10%");
  assert.equal(details.available, "1.5Gi");
  assert.deepEqual(details.containers.map((c) => c.name), ["a", "b"]);
});

Deno.test("detectPodIssues() reports a pod unschedulable past the threshold once, and its scheduling", () => {
  const waiting = pod("pod_unschedulable");
  const options = { pendingAfterMs: 300_000 };
  assert.deepEqual(
    detectPodIssues(undefined, waiting, { ...options, now: at("2026-03-01T10:04:00Z") }),
    [],
  );
  const [firing] = detectPodIssues(waiting, waiting, {
    ...options,
    previousAt: Date.parse("2026-03-01T10:04:00Z"),
    now: at("2026-03-01T10:06:00Z"),
  });
  assert.equal(firing?.aggregationKey, "pod_pending");
  assert.match(
    firing?.title ?? "",
    /^Pod search\/search-0 has been unschedulable for 6m: 0\/3 nodes are available: /,
  );
  assert.equal(firing?.startsAt, "2026-03-01T10:00:00.000Z");
  assert.deepEqual(
    detectPodIssues(waiting, waiting, {
      ...options,
      previousAt: Date.parse("2026-03-01T10:06:00Z"),
      now: at("2026-03-01T10:08:00Z"),
    }),
    [],
  );
  const scheduled = pod("pod_unschedulable");
  scheduled.status.conditions = [{ type: "PodScheduled", status: "True" }];
  scheduled.spec.nodeName = "ip-10-0-4-2.eu-west-1.compute.internal";
  const [resolved] = detectPodIssues(waiting, scheduled, {
    ...options,
    previousAt: Date.parse("2026-03-01T10:08:00Z"),
    now: at("2026-03-01T10:09:00Z"),
  });
  assert.equal(resolved?.status, "resolved");
  assert.equal(resolved?.fingerprint, firing?.fingerprint);
});

Deno.test("detectPodIssues() honours the enabled conditions and severity overrides", () => {
  assert.deepEqual(
    detectPodIssues(beforeOom(), pod("pod_oom_killed"), { conditions: ["crashLoop"] }),
    [],
  );
  const [issue] = detectPodIssues(beforeOom(), pod("pod_oom_killed"), {
    severity: { oomKilled: "MEDIUM" },
  });
  assert.equal(issue?.severity, "MEDIUM");
});

Deno.test("detectPodIssues() output fires the pod_oom_killed and pod_crash_loop triggers", () => {
  const [oom] = detectPodIssues(beforeOom(), pod("pod_oom_killed"));
  const [loop] = detectPodIssues(undefined, pod("pod_crash_loop"));
  const trigger = (input: TriggerInput) => TriggerSchema.parse(input);
  assert.ok(
    matchesTrigger(trigger({ on: "pod_oom_killed", namespace: "shop", name: "api-*" }), oom!),
  );
  assert.ok(!matchesTrigger(trigger({ on: "pod_crash_loop" }), oom!));
  assert.ok(matchesTrigger(trigger({ on: "pod_crash_loop", namespace: "shop" }), loop!));
});

Deno.test("detectPodIssues() reports a crash loop that starts after an immediate first restart", () => {
  const restarted = pod("pod_crash_loop");
  container(restarted).restartCount = 1;
  container(restarted).state = { running: { startedAt: "2026-03-01T09:30:20Z" } };
  const looping = pod("pod_crash_loop");
  container(looping).restartCount = 1;
  const [issue] = detectPodIssues(restarted, looping, { now: at("2026-03-01T09:30:40Z") });
  assert.equal(issue?.aggregationKey, "pod_crash_loop");
});
