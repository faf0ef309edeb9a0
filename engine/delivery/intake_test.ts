import assert from "node:assert/strict";
import { IssueSchema } from "@cano/sdk";
import { GROUP_COMMIT_MS, openIntake } from "./intake.ts";
import { openStateDatabase } from "./outbox.ts";

const issue = (fingerprint: string) =>
  IssueSchema.parse({
    id: fingerprint,
    fingerprint,
    aggregationKey: "Oom",
    type: "alert",
    source: "prometheus",
    title: "Pod OOMKilled",
    severity: "HIGH",
    status: "firing",
    startsAt: "2026-03-01T10:00:00Z",
    createdAt: "2026-03-01T10:00:01Z",
  });

Deno.test("openIntake() batchSoon units share one commit, a failing unit undoes itself alone", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const db = openStateDatabase(`${dir}/state.db`);
    const intake = openIntake(db);
    const [a, b, c] = intake.batch(() => ["a", "b", "c"].map((f) => intake.record(issue(f))));
    intake.batchSoon(() => intake.done(a!));
    assert.throws(
      () =>
        intake.batchSoon(() => {
          intake.done(b!);
          throw new Error("outbox write failed");
        }),
      /outbox write failed/,
    );
    assert.equal(db.isTransaction, true, "committed later, not at once");
    await new Promise((resolve) => setTimeout(resolve, GROUP_COMMIT_MS + 20));
    assert.equal(db.isTransaction, false);
    intake.batchSoon(() => intake.done(c!));
    db.close();
    intake.flush();
    // Closed before the group commit: crossing off c is lost, like a crash.
    const again = openStateDatabase(`${dir}/state.db`);
    const left = openIntake(again).pending().entries.map((e) => e.issue.fingerprint);
    assert.deepEqual(left, ["b", "c"]);
    again.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openIntake() batch and flush commit the open batchSoon work", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const db = openStateDatabase(`${dir}/state.db`);
    const intake = openIntake(db);
    const [a, b] = intake.batch(() => ["a", "b"].map((f) => intake.record(issue(f))));
    intake.batchSoon(() => intake.done(a!));
    intake.batch(() => intake.record(issue("c")));
    assert.equal(db.isTransaction, false, "batch commits the open group with its own writes");
    intake.batchSoon(() => intake.done(b!));
    intake.flush();
    assert.equal(db.isTransaction, false);
    db.close();
    const again = openStateDatabase(`${dir}/state.db`);
    assert.deepEqual(openIntake(again).pending().entries.map((e) => e.issue.fingerprint), ["c"]);
    again.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
