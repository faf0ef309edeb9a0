/**
 * Two engines against one cluster with leader election on: exactly one runs the Kubernetes
 * watches; when it stops, the other takes over within the lease duration. Both keep
 * accepting webhooks.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type RunningServer, serveCommand } from "../engine/commands/serve.ts";
import { silentLogger } from "../engine/log.ts";
import { startKubeApiServer } from "./_kube_api_server.ts";

async function health(server: RunningServer) {
  const body = await (await fetch(`http://127.0.0.1:${server.port}/health/detailed`)).json();
  return body.components.kubernetes.detail as {
    leaderElection: { leader: boolean; identity: string };
    sources: { running?: false; watches?: unknown[] };
  };
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > timeoutMs) {
      throw new Error(`Condition not met in ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return performance.now() - started;
}

Deno.test("two engines with leader election: one watches, the other takes over when it stops", async () => {
  await using api = await startKubeApiServer();
  const dir = await Deno.makeTempDir({ prefix: "cano-leader-" });
  await Deno.writeTextFile(
    `${dir}/kubeconfig`,
    `apiVersion: v1
kind: Config
clusters: [{ name: t, cluster: { server: "${api.url}", insecure-skip-tls-verify: true } }]
users: [{ name: t, user: { token: x } }]
contexts: [{ name: t, context: { cluster: t, user: t } }]
current-context: t
`,
  );
  await Deno.writeTextFile(
    `${dir}/cano.yaml`,
    `server: { host: 127.0.0.1, port: 0 }
kubernetes:
  leaderElection: { enabled: true, namespace: cano, leaseDuration: 1500, renewDeadline: 1000, retryPeriod: 300 }
destinations: [{ name: out, type: file, path: ${dir}/out.jsonl }]
routing: { default: { destinations: [out] } }
`,
  );
  const saved = Deno.env.get("KUBECONFIG");
  Deno.env.set("KUBECONFIG", `${dir}/kubeconfig`);
  const servers: RunningServer[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const running = await serveCommand({ config: `${dir}/cano.yaml`, log: silentLogger });
      assert.ok(typeof running !== "number");
      servers.push(running);
    }
    await waitFor(
      async () => (await Promise.all(servers.map(health))).some((h) => h.leaderElection.leader),
      5000,
    );
    const states = await Promise.all(servers.map(health));
    assert.equal(states.filter((s) => s.leaderElection.leader).length, 1, JSON.stringify(states));
    const leaderIndex = states.findIndex((s) => s.leaderElection.leader);
    assert.ok(Array.isArray(states[leaderIndex]!.sources.watches), "the leader runs the watches");
    assert.equal(states[1 - leaderIndex]!.sources.running, false, "the follower does not");

    const leader = servers[leaderIndex]!;
    const follower = servers[1 - leaderIndex]!;
    // Both replicas take webhooks.
    const post = await fetch(`http://127.0.0.1:${follower.port}/api/alerts`, {
      method: "POST",
      body: JSON.stringify({
        alerts: [{
          status: "firing",
          labels: { alertname: "X" },
          startsAt: new Date().toISOString(),
        }],
      }),
    });
    assert.equal(post.status, 200);

    await leader.shutdown();
    await leader.finished;
    servers.splice(leaderIndex, 1);
    const tookMs = await waitFor(async () => (await health(follower)).leaderElection.leader, 5000);
    assert.ok(tookMs < 1500 + 2 * 300 + 500, `took over in ${tookMs} ms`);
    assert.ok(Array.isArray((await health(follower)).sources.watches));
  } finally {
    for (const server of servers) {
      await server.shutdown();
      await server.finished;
    }
    saved === undefined ? Deno.env.delete("KUBECONFIG") : Deno.env.set("KUBECONFIG", saved);
    await Deno.remove(dir, { recursive: true });
  }
});
