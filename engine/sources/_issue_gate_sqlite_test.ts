import assert from "node:assert/strict";
import type { Issue } from "@cano/sdk";
import { openStateDatabase } from "../delivery/outbox.ts";
import { createIssueGate } from "./_issue_gate.ts";
import { openSqliteGateStore } from "./_issue_gate_sqlite.ts";

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
    labels: { namespace: "shop" },
    annotations: {},
    links: [],
    enrichments: [],
    startsAt: "2026-03-01T10:00:00.000Z",
    createdAt: "2026-03-01T10:00:00.000Z",
    ...overrides,
  };
}

async function withStateFile(fn: (path: string) => void | Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "cano-gate-" });
  try {
    await fn(`${dir}/state.db`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("openSqliteGateStore() keeps records, with their issue and scope, across a reopen", async () => {
  await withStateFile((path) => {
    let db = openStateDatabase(path);
    const before = createIssueGate({ store: openSqliteGateStore(db) });
    const firing = issue();
    assert.ok(before.admit(firing, "pod-1", "pods"));
    assert.ok(
      before.admit(issue({ fingerprint: "oom", aggregationKey: "pod_oom_killed" }), "pod-1"),
    );
    db.close();

    db = openStateDatabase(path);
    const store = openSqliteGateStore(db);
    assert.equal(store.size(), 2);
    assert.equal(store.open(), 1);
    assert.deepEqual(store.get("a1"), {
      status: "firing",
      startsAt: firing.startsAt,
      issue: firing,
      objectKey: "pod-1",
      scope: "pods",
    });
    const after = createIssueGate({ store });
    // The same episode seen again after the restart is not delivered again...
    assert.equal(after.admit(issue({ startsAt: "2026-03-01T11:00:00.000Z" }), "pod-1"), undefined);
    // ...and its resolution is, with the firing's startsAt.
    const resolved = after.admit(
      issue({ status: "resolved", startsAt: "2026-03-01T11:00:00.000Z" }),
      "pod-1",
      "pods",
    );
    assert.equal(resolved?.startsAt, firing.startsAt);
    assert.equal(store.open(), 0);
    assert.equal(after.admit(issue({ status: "resolved" }), "pod-1"), undefined);
    db.close();
  });
});

Deno.test("openSqliteGateStore() forgets the least recently written records past its bound", async () => {
  await withStateFile((path) => {
    let db = openStateDatabase(path);
    let store = openSqliteGateStore(db, { maxEntries: 3 });
    for (const fingerprint of ["f1", "f2", "f3"]) {
      store.set({ status: "firing", startsAt: "t", issue: issue({ fingerprint }), objectKey: "o" });
    }
    // Rewriting f1 makes it the most recent: f2 goes first.
    store.set({
      status: "resolved",
      startsAt: "t",
      issue: issue({ fingerprint: "f1" }),
      objectKey: "o",
    });
    store.set({
      status: "firing",
      startsAt: "t",
      issue: issue({ fingerprint: "f4" }),
      objectKey: "o",
    });
    assert.equal(store.size(), 3);
    assert.equal(store.get("f2"), undefined);
    assert.equal(store.get("f1")?.status, "resolved");
    db.close();

    // The bound holds across a reopen, and the write order is kept.
    db = openStateDatabase(path);
    store = openSqliteGateStore(db, { maxEntries: 3 });
    store.set({
      status: "firing",
      startsAt: "t",
      issue: issue({ fingerprint: "f5" }),
      objectKey: "o",
    });
    assert.equal(store.size(), 3);
    assert.equal(store.get("f3"), undefined);
    assert.deepEqual(
      ["f1", "f4", "f5"].map((f) => store.get(f)?.issue.fingerprint),
      ["f1", "f4", "f5"],
    );
    const rows = db.prepare("SELECT count(*) AS n FROM kube_gate").get();
    assert.equal(rows?.n, 3);
    db.close();
  });
});

Deno.test("createIssueGate() sweep resolves open issues of objects gone while unwatched, in its scope only", async () => {
  await withStateFile((path) => {
    let db = openStateDatabase(path);
    let gate = createIssueGate({ store: openSqliteGateStore(db) });
    gate.admit(issue({ fingerprint: "gone" }), "pod-gone", "pods");
    gate.admit(issue({ fingerprint: "here" }), "pod-here", "pods");
    gate.admit(
      issue({
        fingerprint: "node",
        aggregationKey: "node_not_ready",
        subject: { kind: "Node", name: "n1" },
      }),
      "node-1",
      "nodes",
    );
    gate.admit(issue({ fingerprint: "oom", aggregationKey: "pod_oom_killed" }), "pod-oom", "pods");
    db.close();

    db = openStateDatabase(path);
    const store = openSqliteGateStore(db);
    gate = createIssueGate({ store });
    const resolved = gate.sweep("pods", (key) => key === "pod-here", {
      now: Date.parse("2026-03-01T12:00:00.000Z"),
      newId: () => "r1",
    });
    assert.deepEqual(resolved.map((i) => [i.fingerprint, i.status, i.id, i.endsAt]), [
      ["gone", "resolved", "r1", "2026-03-01T12:00:00.000Z"],
    ]);
    assert.equal(
      resolved[0]?.title,
      "Pod api-0 was deleted: Container api in shop/api-0 is in CrashLoopBackOff",
    );
    assert.equal(store.get("gone"), undefined);
    assert.equal(store.get("here")?.status, "firing");
    assert.equal(store.get("node")?.status, "firing");
    assert.equal(store.open(), 2);
    db.close();
  });
});

Deno.test("openSqliteGateStore() throws once its database is closed", async () => {
  await withStateFile((path) => {
    const db = openStateDatabase(path);
    const store = openSqliteGateStore(db);
    db.close();
    assert.throws(() => store.get("a1"));
  });
});

Deno.test("openSqliteGateStore() rejects a bound that is not a positive integer", async () => {
  await withStateFile((path) => {
    const db = openStateDatabase(path);
    assert.throws(() => openSqliteGateStore(db, { maxEntries: 0 }), RangeError);
    db.close();
  });
});
