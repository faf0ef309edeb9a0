import assert from "node:assert/strict";
import { IssueSchema, type TriggerInput, TriggerSchema } from "@cano/sdk";
import { matchesTrigger } from "../triggers.ts";
import { k8sFixture } from "../../tests/fixtures/k8s/load.ts";
import type { KubeObject } from "../kubernetes/api.ts";
import { classifyEvent, detectEventIssues, normalizeEvent } from "./events.ts";

type Event = KubeObject & { count?: number; type?: string; lastTimestamp?: string };

Deno.test("normalizeEvent() reads a core/v1 Event", () => {
  const event = normalizeEvent(k8sFixture("event_backoff_crash_loop"));
  assert.equal(event.uid, "c2d3e4f5-a6b7-4c8d-9e0f-1a2b3c4d5e6f");
  assert.equal(event.count, 12);
  assert.equal(event.lastSeen, Date.parse("2026-03-01T09:41:14Z"));
  assert.equal(event.container, "checkout");
  assert.equal(event.component, "kubelet");
  assert.equal(event.host, "ip-10-0-2-9.eu-west-1.compute.internal");
  assert.equal(event.object.kind, "Pod");
});

Deno.test("normalizeEvent() reads an events.k8s.io/v1 Event (series, note, regarding)", () => {
  const event = normalizeEvent(k8sFixture("event_failed_scheduling"));
  assert.equal(event.count, 4);
  assert.equal(event.lastSeen, Date.parse("2026-03-01T10:14:51.118264Z"));
  assert.match(event.message, /^0\/3 nodes are available/);
  assert.equal(event.object.name, "search-0");
  assert.equal(event.component, "default-scheduler");
});

Deno.test("detectEventIssues() turns a Warning BackOff into a crash-loop kubernetes_event issue", () => {
  const issues = detectEventIssues(undefined, k8sFixture("event_backoff_crash_loop"));
  assert.equal(issues.length, 1);
  const issue = IssueSchema.parse(issues[0]);
  assert.equal(issue.aggregationKey, "kubernetes_event");
  assert.equal(issue.source, "kubernetes");
  assert.equal(issue.severity, "LOW");
  assert.equal(issue.labels["reason"], "BackOff");
  assert.equal(issue.labels["type"], "Warning");
  assert.equal(issue.labels["category"], "crash_loop");
  assert.equal(
    issue.title,
    "BackOff on Pod shop/checkout-5d8f7b9c4-q7wzt: Back-off restarting failed container checkout in pod checkout-5d8f7b9c4-q7wzt_shop(1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f)",
  );
  assert.deepEqual(issue.subject, {
    kind: "Pod",
    name: "checkout-5d8f7b9c4-q7wzt",
    namespace: "shop",
    node: "ip-10-0-2-9.eu-west-1.compute.internal",
    container: "checkout",
  });
  assert.equal(issue.startsAt, "2026-03-01T09:41:14.000Z");
});

Deno.test("detectEventIssues() classifies a Normal BackOff as image pull and drops it by default", () => {
  const image = k8sFixture("event_backoff_image_pull");
  assert.equal(classifyEvent(normalizeEvent(image)), "image_pull");
  assert.deepEqual(detectEventIssues(undefined, image), []);
  const [issue] = detectEventIssues(undefined, image, { types: ["Warning", "Normal"] });
  assert.equal(issue?.labels["category"], "image_pull");
  assert.equal(issue?.severity, "INFO");
});

Deno.test("classifyEvent() falls back to the type when a BackOff message is unknown", () => {
  const base = { uid: "u", count: 1, object: { kind: "Pod", name: "p" }, reason: "BackOff" };
  assert.equal(classifyEvent({ ...base, type: "Normal", message: "something new" }), "image_pull");
  assert.equal(classifyEvent({ ...base, type: "Warning", message: "something new" }), "crash_loop");
});

Deno.test("detectEventIssues() deduplicates by uid and count", () => {
  const first = k8sFixture<Event>("event_backoff_crash_loop");
  const relisted = structuredClone(first);
  relisted.metadata!.resourceVersion = "48215999";
  assert.deepEqual(detectEventIssues(first, relisted), []);
  const repeated = structuredClone(first);
  repeated.count = 13;
  repeated.lastTimestamp = "2026-03-01T09:46:20Z";
  const [issue] = detectEventIssues(first, repeated);
  assert.equal(issue?.annotations["count"], "13");
  assert.equal(issue?.startsAt, "2026-03-01T09:46:20.000Z");
  const [again] = detectEventIssues(undefined, first);
  assert.equal(issue?.fingerprint, again?.fingerprint, "repeats share the fingerprint");
});

Deno.test("detectEventIssues() skips Events last seen before the watch started", () => {
  const event = k8sFixture("event_failed_scheduling");
  assert.deepEqual(
    detectEventIssues(undefined, event, { since: Date.parse("2026-03-01T10:20:00Z") }),
    [],
  );
  assert.equal(
    detectEventIssues(undefined, event, { since: Date.parse("2026-03-01T10:14:00Z") }).length,
    1,
  );
});

Deno.test("detectEventIssues() filters by reason, kind and namespace globs", () => {
  const oom = k8sFixture("event_system_oom");
  const crash = k8sFixture("event_backoff_crash_loop");
  assert.equal(detectEventIssues(undefined, oom, { kinds: ["Node"] }).length, 1);
  assert.deepEqual(detectEventIssues(undefined, crash, { kinds: ["Node"] }), []);
  assert.deepEqual(detectEventIssues(undefined, crash, { reasons: ["Failed*"] }), []);
  assert.deepEqual(detectEventIssues(undefined, crash, { excludeReasons: ["Back*"] }), []);
  assert.deepEqual(detectEventIssues(undefined, crash, { namespaces: ["kube-*"] }), []);
  assert.deepEqual(detectEventIssues(undefined, crash, { excludeNamespaces: ["sh?p"] }), []);
  assert.equal(detectEventIssues(undefined, crash, { namespaces: ["shop", "kube-*"] }).length, 1);
  assert.deepEqual(
    detectEventIssues(undefined, oom, { namespaces: ["shop"] }),
    [],
    "a Node event has no namespace and fails a namespace filter",
  );
});

Deno.test("detectEventIssues() strips the aggregation prefix and names the node of a Node event", () => {
  const [issue] = detectEventIssues(undefined, k8sFixture("event_system_oom"));
  assert.equal(
    issue?.title,
    "SystemOOM on Node ip-10-0-1-44.eu-west-1.compute.internal: System OOM encountered, victim process: worker, pid: 482113",
  );
  assert.equal(issue?.labels["category"], "oom");
  assert.equal(issue?.subject?.node, "ip-10-0-1-44.eu-west-1.compute.internal");
  assert.equal(issue?.subject?.namespace, undefined);
});

Deno.test("detectEventIssues() output fires kubernetes_event triggers on reason, kind and type", () => {
  const [issue] = detectEventIssues(undefined, k8sFixture("event_failed_scheduling"));
  const trigger = (input: TriggerInput) => TriggerSchema.parse(input);
  assert.ok(matchesTrigger(
    trigger({
      on: "kubernetes_event",
      reason: "FailedSch*",
      kind: "Pod",
      eventType: "Warning",
      namespace: "search",
    }),
    issue!,
  ));
  assert.ok(!matchesTrigger(trigger({ on: "kubernetes_event", eventType: "Normal" }), issue!));
});
