import assert from "node:assert/strict";
import type { Issue } from "@cano/sdk";
import { createIssueGate } from "./_issue_gate.ts";

function issue(overrides: Partial<Issue> = {}): Issue {
  return {
    id: crypto.randomUUID(),
    fingerprint: "a1",
    aggregationKey: "pod_crash_loop",
    type: "event",
    source: "kubernetes",
    title: "Container api in shop/api-0 is in CrashLoopBackOff",
    severity: "MEDIUM",
    status: "firing",
    subject: { kind: "Pod", name: "api-0", namespace: "shop", container: "api" },
    labels: {},
    annotations: {},
    links: [],
    enrichments: [],
    startsAt: "2026-03-01T10:00:00.000Z",
    createdAt: "2026-03-01T10:00:00.000Z",
    ...overrides,
  };
}

Deno.test("createIssueGate() drops a replay and a second firing of an open stateful condition", () => {
  const gate = createIssueGate();
  assert.ok(gate.admit(issue(), "pod-1"));
  assert.equal(gate.admit(issue(), "pod-1"), undefined);
  assert.equal(gate.admit(issue({ startsAt: "2026-03-01T10:05:00.000Z" }), "pod-1"), undefined);
  assert.equal(gate.open(), 1);
});

Deno.test("createIssueGate() delivers every new occurrence of a one-shot fact, once", () => {
  const gate = createIssueGate();
  const oom = { aggregationKey: "pod_oom_killed", fingerprint: "o1" };
  assert.ok(gate.admit(issue({ ...oom, startsAt: "2026-03-01T10:00:00.000Z" }), "pod-1"));
  assert.equal(
    gate.admit(issue({ ...oom, startsAt: "2026-03-01T10:00:00.000Z" }), "pod-1"),
    undefined,
  );
  assert.ok(gate.admit(issue({ ...oom, startsAt: "2026-03-01T10:20:00.000Z" }), "pod-1"));
  assert.equal(gate.open(), 0);
});

Deno.test("createIssueGate() delivers a resolution only for an open issue, with its startsAt", () => {
  const gate = createIssueGate();
  assert.equal(gate.admit(issue({ status: "resolved" }), "pod-1"), undefined);
  gate.admit(issue(), "pod-1");
  const resolved = gate.admit(
    issue({ status: "resolved", startsAt: "2026-03-01T11:00:00.000Z" }),
    "pod-1",
  );
  assert.equal(resolved?.startsAt, "2026-03-01T10:00:00.000Z");
  assert.equal(gate.admit(issue({ status: "resolved" }), "pod-1"), undefined);
  assert.equal(gate.open(), 0);
  assert.ok(gate.admit(issue({ startsAt: "2026-03-01T12:00:00.000Z" }), "pod-1"), "a new episode");
});

Deno.test("IssueGate.release() resolves the open stateful issues of a deleted object only", () => {
  const gate = createIssueGate();
  gate.admit(issue(), "pod-1");
  gate.admit(issue({ fingerprint: "o1", aggregationKey: "pod_oom_killed" }), "pod-1");
  gate.admit(issue({ fingerprint: "b2" }), "pod-2");
  const released = gate.release("pod-1", {
    now: Date.parse("2026-03-01T10:30:00Z"),
    newId: () => "r",
  });
  assert.equal(released.length, 1);
  assert.equal(released[0]?.status, "resolved");
  assert.equal(released[0]?.fingerprint, "a1");
  assert.equal(released[0]?.endsAt, "2026-03-01T10:30:00.000Z");
  assert.match(released[0]?.title ?? "", /^Pod api-0 was deleted: /);
  assert.deepEqual(gate.release("pod-1", { now: 0, newId: () => "r" }), []);
  assert.equal(gate.open(), 1);
});

Deno.test("createIssueGate() forgets the least recently used fingerprints past maxEntries", () => {
  const gate = createIssueGate({ maxEntries: 2 });
  gate.admit(issue({ fingerprint: "1" }), "o");
  gate.admit(issue({ fingerprint: "2" }), "o");
  gate.admit(issue({ fingerprint: "3" }), "o");
  assert.equal(gate.open(), 2);
  assert.ok(gate.admit(issue({ fingerprint: "1" }), "o"), "1 was forgotten");
  assert.throws(() => createIssueGate({ maxEntries: 0 }), RangeError);
});
