import assert from "node:assert/strict";
import { startKubeApiServer } from "../../tests/_kube_api_server.ts";
import { KubeApiError } from "../kubernetes/api.ts";
import { createKubeClientForUrl } from "../kubernetes/client.ts";
import { createStatusWriter, kubeTime, type ReactionRef, statusPath } from "./status.ts";

const REF: ReactionRef = { apiVersion: "karo.io/v1alpha1", namespace: "ops", name: "restart-api" };
const PATH = "/apis/karo.io/v1alpha1/namespaces/ops/alertreactions/restart-api";

async function cluster() {
  const server = await startKubeApiServer();
  server.apply({
    apiVersion: "karo.io/v1alpha1",
    kind: "AlertReaction",
    metadata: { name: "restart-api", namespace: "ops" },
    spec: { alertName: "X", actions: [{ name: "a", image: "i" }] },
    status: { triggerCount: 41, conditions: [] },
  });
  const api = createKubeClientForUrl(server.url);
  return {
    server,
    api,
    status: () => server.get(PATH)!["status"] as Record<string, unknown>,
    puts: () => server.requests.filter((r) => r.method === "PUT").length,
    async [Symbol.asyncDispose]() {
      api.close();
      await server.close();
    },
  };
}

Deno.test("statusPath() and kubeTime() give the subresource path and a whole-second UTC time", () => {
  assert.equal(statusPath(REF), `${PATH}/status`);
  assert.equal(kubeTime(Date.parse("2026-03-01T10:12:04.987Z")), "2026-03-01T10:12:04Z");
});

Deno.test("createStatusWriter() records triggers with Karo's field names", async () => {
  await using c = await cluster();
  const writer = createStatusWriter(c.api);
  const jobs = [{
    name: "j1",
    namespace: "ops",
    actionName: "a",
    createdAt: "2026-03-01T10:00:00Z",
  }];
  assert.equal(await writer.recordTrigger(REF, { at: "2026-03-01T10:00:00Z", jobs }), 42);
  assert.deepEqual(c.status(), {
    triggerCount: 42,
    conditions: [],
    lastTriggered: "2026-03-01T10:00:00Z",
    lastJobsCreated: jobs,
  });
  assert.equal(await writer.recordTrigger(REF, { at: "2026-03-01T10:05:00Z", jobs: [] }), 43);
  assert.deepEqual(c.status()["lastJobsCreated"], [], "replaced at each trigger");
});

Deno.test("createStatusWriter() queues its own writes to one reaction", async () => {
  await using c = await cluster();
  const writer = createStatusWriter(c.api, { maxAttempts: 1 });
  const at = "2026-03-01T10:00:00Z";
  const counts = await Promise.all(
    Array.from({ length: 20 }, () => writer.recordTrigger(REF, { at, jobs: [] })),
  );
  assert.deepEqual(counts, Array.from({ length: 20 }, (_, i) => 42 + i));
  assert.equal(c.status()["triggerCount"], 61);
});

Deno.test("createStatusWriter() retries a conflict with another writer and gives up in the end", async () => {
  await using c = await cluster();
  const writer = createStatusWriter(c.api, { maxAttempts: 3 });
  const at = "2026-03-01T10:00:00Z";
  c.server.failNext({
    status: 409,
    reason: "Conflict",
    method: "PUT",
    path: /\/status$/,
    times: 2,
  });
  assert.equal(await writer.recordTrigger(REF, { at, jobs: [] }), 42);
  c.server.failNext({
    status: 409,
    reason: "Conflict",
    method: "PUT",
    path: /\/status$/,
    times: 3,
  });
  await assert.rejects(
    writer.recordTrigger(REF, { at, jobs: [] }),
    (error: unknown) => error instanceof KubeApiError && error.status === 409,
  );
  c.server.failNext({ status: 403, reason: "Forbidden", method: "PUT", path: /\/status$/ });
  await assert.rejects(
    writer.recordTrigger(REF, { at, jobs: [] }),
    (error: unknown) => error instanceof KubeApiError && error.status === 403,
  );
  assert.equal(await writer.recordTrigger(REF, { at, jobs: [] }), 43, "the queue goes on");
});

Deno.test("createStatusWriter() sets one condition per type and writes only on change", async () => {
  await using c = await cluster();
  const writer = createStatusWriter(c.api);
  const ready = {
    type: "Ready",
    status: "True" as const,
    reason: "AlertReactionReady",
    message: "AlertReaction is ready to process alerts",
    lastTransitionTime: "2026-03-01T10:00:00Z",
    observedGeneration: 1,
  };
  assert.equal(await writer.setCondition(REF, ready), true);
  assert.equal(
    await writer.setCondition(REF, { ...ready, lastTransitionTime: "2026-03-01T11:00:00Z" }),
    false,
  );
  assert.equal(c.puts(), 1);
  await writer.setCondition(REF, {
    ...ready,
    observedGeneration: 2,
    lastTransitionTime: "2026-03-01T12:00:00Z",
  });
  assert.deepEqual(
    c.status()["conditions"],
    [{ ...ready, observedGeneration: 2 }],
    "same status keeps its transition time",
  );
  const invalid = {
    ...ready,
    status: "False" as const,
    reason: "InvalidSpec",
    message: "spec.actions: Expected at least one action",
    lastTransitionTime: "2026-03-01T13:00:00Z",
  };
  await writer.setCondition(REF, invalid);
  assert.deepEqual(c.status()["conditions"], [invalid]);
  assert.equal(c.status()["triggerCount"], 41, "other status fields are kept");
});
