import assert from "node:assert/strict";
import { type KubeApiServer, startKubeApiServer } from "../../tests/_kube_api_server.ts";
import { silentLogger } from "../log.ts";
import { type KubeApi, KubeApiError } from "./api.ts";
import { createKubeClientForUrl } from "./client.ts";
import { createLeaderElector, type LeaderElector, type LeaderElectorOptions } from "./leader.ts";

const LEASE_PATH = "/apis/coordination.k8s.io/v1/namespaces/cano/leases/cano-leader";
const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
/** Short timings so failover tests take about a second; the Lease holds 1 s. */
const FAST = { leaseDurationMs: 1000, renewDeadlineMs: 600, retryPeriodMs: 100 } as const;

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Candidate {
  elector: LeaderElector;
  identity: string;
  started: number;
  stopped: number;
}

function candidate(
  api: KubeApi,
  identity: string,
  options: Partial<LeaderElectorOptions> = {},
): Candidate {
  const state = { identity, started: 0, stopped: 0 } as Candidate;
  state.elector = createLeaderElector(api, {
    namespace: "cano",
    name: "cano-leader",
    identity,
    ...FAST,
    log: silentLogger,
    onStartedLeading: () => state.started++,
    onStoppedLeading: () => state.stopped++,
    ...options,
  });
  return state;
}

function lease(server: KubeApiServer): LeaseSpec {
  return (server.get<{ spec?: LeaseSpec }>(LEASE_PATH)?.spec) ?? {};
}

async function waitFor(check: () => boolean, timeoutMs = 5_000): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error("Cannot wait: the condition never held");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return Date.now();
}

/** Samples both electors for `ms` and returns the largest number of leaders seen at once. */
async function mostLeadersAtOnce(candidates: Candidate[], ms: number): Promise<number> {
  let most = 0;
  const until = Date.now() + ms;
  while (Date.now() < until) {
    most = Math.max(most, candidates.filter((c) => c.elector.isLeader()).length);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return most;
}

Deno.test("createLeaderElector() elects exactly one of two replicas and stores MicroTime times", async () => {
  await using server = await startKubeApiServer();
  using apiA = createKubeClientForUrl(server.url);
  using apiB = createKubeClientForUrl(server.url);
  const a = candidate(apiA, "replica-a");
  const b = candidate(apiB, "replica-b");
  a.elector.start();
  b.elector.start();
  try {
    await waitFor(() => a.elector.isLeader() || b.elector.isLeader());
    assert.equal(await mostLeadersAtOnce([a, b], 700), 1);
    const [leader, follower] = a.elector.isLeader() ? [a, b] : [b, a];
    assert.equal(leader.started, 1);
    assert.equal(follower.started, 0);
    const spec = lease(server);
    assert.equal(spec.holderIdentity, leader.identity);
    assert.equal(spec.leaseDurationSeconds, 1);
    assert.equal(spec.leaseTransitions, 0);
    assert.match(spec.acquireTime ?? "", MICRO_TIME);
    assert.match(spec.renewTime ?? "", MICRO_TIME);
    assert.ok(spec.renewTime! > spec.acquireTime!, "the leader renewed after acquiring");
    assert.deepEqual(follower.elector.status(), {
      identity: follower.identity,
      leader: false,
      holder: leader.identity,
      transitions: 0,
    });

    // A clean stop releases the lease: the follower takes over without waiting it out.
    const stoppedAt = Date.now();
    await leader.elector.stop();
    assert.equal(leader.stopped, 1);
    assert.equal(leader.elector.isLeader(), false);
    const tookOver = await waitFor(() => follower.elector.isLeader());
    assert.ok(tookOver - stoppedAt < FAST.leaseDurationMs, `took ${tookOver - stoppedAt} ms`);
    const after = lease(server);
    assert.equal(after.holderIdentity, follower.identity);
    assert.equal(after.leaseTransitions, 1);
    assert.equal(after.leaseDurationSeconds, 1);
  } finally {
    await a.elector.stop();
    await b.elector.stop();
  }
  assert.equal(lease(server).holderIdentity, "", "the last leader released the lease on stop");
});

Deno.test("createLeaderElector() takes over a crashed leader's lease only after it expires", async () => {
  await using server = await startKubeApiServer();
  using apiA = createKubeClientForUrl(server.url);
  using apiB = createKubeClientForUrl(server.url);
  const a = candidate(apiA, "replica-a");
  a.elector.start();
  await waitFor(() => a.elector.isLeader());
  const b = candidate(apiB, "replica-b");
  b.elector.start();
  try {
    assert.equal(await mostLeadersAtOnce([a, b], 400), 1);
    // The leader dies without releasing: its renewals stop, the record stays.
    await a.elector.stop({ release: false });
    const stoppedAt = Date.now();
    const lastRenew = Date.parse(lease(server).renewTime!);
    assert.equal(lease(server).holderIdentity, "replica-a");
    const tookOver = await waitFor(() => b.elector.isLeader(), 5_000);
    // Not before the record has been unchanged for the lease duration...
    assert.ok(tookOver - lastRenew >= FAST.leaseDurationMs, `after ${tookOver - lastRenew} ms`);
    // ...and within lease duration + a jittered retry period.
    const bound = FAST.leaseDurationMs + FAST.retryPeriodMs * 2.2 + 200;
    assert.ok(tookOver - stoppedAt <= bound, `took ${tookOver - stoppedAt} ms, bound ${bound}`);
    const spec = lease(server);
    assert.equal(spec.holderIdentity, "replica-b");
    assert.equal(spec.leaseTransitions, 1);
    assert.equal(b.started, 1);
  } finally {
    await a.elector.stop();
    await b.elector.stop();
  }
});

Deno.test("createLeaderElector() stops leading within renewDeadline when renewals are forbidden", async () => {
  await using server = await startKubeApiServer();
  using apiA = createKubeClientForUrl(server.url);
  using apiB = createKubeClientForUrl(server.url);
  const a = candidate(apiA, "replica-a");
  a.elector.start();
  await waitFor(() => a.elector.isLeader());
  const b = candidate(apiB, "replica-b");
  b.elector.start();
  try {
    await new Promise((resolve) => setTimeout(resolve, 200));
    server.forbid("update", "leases");
    const forbiddenAt = Date.now();
    const leader = a.elector.isLeader() ? a : b;
    const steppedDown = await waitFor(() => leader.stopped === 1);
    assert.ok(
      steppedDown - forbiddenAt <= FAST.renewDeadlineMs + FAST.retryPeriodMs + 100,
      `stepped down after ${steppedDown - forbiddenAt} ms`,
    );
    assert.equal(leader.elector.isLeader(), false);
    assert.match(
      leader.elector.status().lastError ?? "",
      /Cannot update lease "cano\/cano-leader": 403 Forbidden/,
    );
    // Nobody may lead while nobody can write the Lease.
    assert.equal(await mostLeadersAtOnce([a, b], 1_300), 0);
    server.allowAll();
    await waitFor(() => a.elector.isLeader() || b.elector.isLeader(), 5_000);
    assert.equal(await mostLeadersAtOnce([a, b], 300), 1);
  } finally {
    await a.elector.stop();
    await b.elector.stop();
  }
});

Deno.test("createLeaderElector() hands the signal to the leader and aborts it on stepping down", async () => {
  await using server = await startKubeApiServer();
  using api = createKubeClientForUrl(server.url);
  let signal: AbortSignal | undefined;
  const a = candidate(api, "replica-a", { onStartedLeading: (s) => signal = s });
  a.elector.start();
  await waitFor(() => signal !== undefined);
  assert.equal(signal!.aborted, false);
  server.forbid("update", "leases");
  await waitFor(() => signal!.aborted);
  await a.elector.stop();
});

Deno.test("createLeaderElector() loses a takeover race with a stale resourceVersion to 409, never two leaders", async () => {
  await using server = await startKubeApiServer();
  // A crashed holder's lease; both replicas see it expire and race to take it over.
  server.apply({
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: { name: "cano-leader", namespace: "cano" },
    spec: {
      holderIdentity: "replica-dead",
      leaseDurationSeconds: 1,
      acquireTime: "2026-03-01T10:00:00.000000Z",
      renewTime: "2026-03-01T10:00:00.000000Z",
      leaseTransitions: 4,
    },
  });
  using apiA = createKubeClientForUrl(server.url);
  using apiB = createKubeClientForUrl(server.url);
  // Hold each replica's first PUT until both have read the same resourceVersion.
  let arrived = 0;
  const sent: { rv: string | undefined; status: number }[] = [];
  let release!: () => void;
  const barrier = new Promise<void>((resolve) => release = resolve);
  const racing = (api: KubeApi): KubeApi => ({
    server: api.server,
    requestText: (path, options) => api.requestText(path, options),
    watch: (path, options) => api.watch(path, options),
    async request<T>(...args: Parameters<KubeApi["request"]>): Promise<T> {
      if (args[0] === "PUT" && arrived < 2) {
        if (++arrived === 2) release();
        await Promise.race([barrier, new Promise((resolve) => setTimeout(resolve, 3_000))]);
      }
      if (args[0] !== "PUT") return await api.request<T>(...args);
      const rv = (args[2]?.body as { metadata?: { resourceVersion?: string } }).metadata
        ?.resourceVersion;
      try {
        const answer = await api.request<T>(...args);
        sent.push({ rv, status: 200 });
        return answer;
      } catch (error) {
        sent.push({ rv, status: error instanceof KubeApiError ? error.status : -1 });
        throw error;
      }
    },
  });
  const a = candidate(racing(apiA), "replica-a");
  const b = candidate(racing(apiB), "replica-b");
  a.elector.start();
  b.elector.start();
  try {
    await waitFor(() => a.elector.isLeader() || b.elector.isLeader(), 5_000);
    assert.equal(await mostLeadersAtOnce([a, b], 500), 1);
    assert.equal(arrived, 2, "both replicas tried to take over");
    const [first, second] = sent;
    assert.ok(first && second);
    assert.equal(first.rv, second.rv, "both sent the same resourceVersion");
    assert.deepEqual([first.status, second.status], [200, 409]);
    const leader = a.elector.isLeader() ? a : b;
    const loser = leader === a ? b : a;
    const spec = lease(server);
    assert.equal(spec.holderIdentity, leader.identity);
    assert.equal(spec.leaseTransitions, 5);
    assert.equal(loser.started, 0);
    assert.equal(loser.elector.status().lastError, undefined, "a lost race is not an error");
  } finally {
    await a.elector.stop();
    await b.elector.stop();
  }
});

Deno.test("createLeaderElector() checks its timings and names when created", () => {
  const api = createKubeClientForUrl("http://127.0.0.1:1");
  const base = {
    namespace: "cano",
    name: "cano-leader",
    identity: "a",
    log: silentLogger,
    onStartedLeading() {},
    onStoppedLeading() {},
  };
  assert.throws(
    () => createLeaderElector(api, { ...base, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 }),
    {
      name: "RangeError",
      message: /leaseDurationMs \(10000\) must be greater than renewDeadlineMs/,
    },
  );
  assert.throws(
    () => createLeaderElector(api, { ...base, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 }),
    /renewDeadlineMs \(2000\) must be greater than jitterFactor × retryPeriodMs \(2400\)/,
  );
  assert.throws(() => createLeaderElector(api, { ...base, identity: "" }), TypeError);
  api.close();
});
