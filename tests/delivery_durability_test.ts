/**
 * Nothing accepted is lost: `cano serve` with `delivery.state`, killed with SIGKILL at the
 * worst moments, and started again on the same state file.
 *
 * @module
 */
import assert from "node:assert/strict";
import { startCano } from "./_cano_process.ts";
import { type Sink, startSink } from "./_sink.ts";

function workflow(delayMs: number, note: string): string {
  return `import { defineWorkflow, markdown } from "@cano/sdk";
export default defineWorkflow({
  id: "slow-context",
  description: "Takes its time, then adds a note",
  triggers: [{ on: "prometheus_alert" }],
  async run(ctx) {
    await new Promise((resolve) => setTimeout(resolve, ${delayMs}));
    ctx.enrich("Context", [markdown(${JSON.stringify(note)})]);
  },
});
`;
}

const startsAt = new Date().toISOString();

function alerts(prefix: string, count: number): string {
  return JSON.stringify({
    status: "firing",
    alerts: Array.from({ length: count }, (_, i) => ({
      status: "firing",
      labels: { alertname: "KubePodCrashLooping", namespace: "shop", pod: `${prefix}-${i}` },
      annotations: { summary: `pod ${prefix}-${i} is crash looping` },
      startsAt,
      fingerprint: `${prefix}-${i}`,
    })),
  });
}

interface Delivered {
  fingerprint: string;
  enrichments: { title?: string; blocks: { text?: string }[] }[];
}

function delivered(sink: Sink): Delivered[] {
  return sink.requests.map((r) => (r.json as { issue: Delivered }).issue);
}

Deno.test("cano serve: alerts answered 200 while workflows ran are delivered after SIGKILL and restart", async () => {
  await using sink = await startSink();
  const dir = await Deno.makeTempDir({ prefix: "cano-intake-" });
  try {
    await Deno.mkdir(`${dir}/workflows`);
    await Deno.writeTextFile(`${dir}/workflows/slow.ts`, workflow(60_000, "first run"));
    const config = `server: { host: 127.0.0.1, port: 0 }
delivery: { state: ${dir}/state.db }
workflows:
  directory: ${dir}/workflows
  sandbox: { maxTimeoutMs: 120000 }
  user: { slow-context: { timeout: 90s } }
destinations: [{ name: sink, type: webhook, url: "${sink.url}/hook" }]
routing: { default: { destinations: [sink] } }
`;
    await Deno.writeTextFile(`${dir}/cano.yaml`, config);

    const first = await startCano(`${dir}/cano.yaml`);
    for (const prefix of ["a", "b"]) {
      const response = await fetch(`http://127.0.0.1:${first.port}/api/alerts`, {
        method: "POST",
        body: alerts(prefix, 10),
      });
      assert.equal(response.status, 200);
      assert.equal((await response.json()).accepted, 10);
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(sink.requests.length, 0, "the slow workflow holds every alert");
    assert.equal((await first.stop("SIGKILL")).signal, "SIGKILL");

    // The next version of the workflow is quick; the resumed alerts go through it.
    await Deno.writeTextFile(`${dir}/workflows/slow.ts`, workflow(0, "after restart"));
    await using second = await startCano(`${dir}/cano.yaml`);
    await sink.waitFor((requests) => requests.length >= 20, { timeoutMs: 30_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const issues = delivered(sink);
    assert.deepEqual(
      issues.map((i) => i.fingerprint).sort(),
      [..."ab"].flatMap((p) => Array.from({ length: 10 }, (_, i) => `${p}-${i}`)).sort(),
      "each accepted alert delivered exactly once",
    );
    for (const issue of issues) {
      const note = issue.enrichments.find((e) => e.title === "Context");
      assert.equal(note?.blocks[0]?.text, "after restart", JSON.stringify(issue.enrichments));
    }
    assert.ok(
      second.lines.some((l) => l.includes("Resuming issues accepted before a restart")),
      second.lines.join("\n"),
    );

    // Alertmanager re-sending the same group now is a duplicate: nothing new is delivered.
    const again = await fetch(`http://127.0.0.1:${second.port}/api/alerts`, {
      method: "POST",
      body: alerts("a", 10),
    });
    assert.equal((await again.json()).duplicates, 10);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cano serve: SIGKILL under load, restart: every accepted alert is delivered, resolutions after firings", async () => {
  await using sink = await startSink({ delayMs: 30 });
  const dir = await Deno.makeTempDir({ prefix: "cano-load-" });
  try {
    await Deno.writeTextFile(
      `${dir}/cano.yaml`,
      `server: { host: 127.0.0.1, port: 0 }
delivery: { state: ${dir}/state.db, concurrency: 4 }
destinations: [{ name: sink, type: webhook, url: "${sink.url}/hook" }]
routing: { default: { destinations: [sink] } }
`,
    );
    const first = await startCano(`${dir}/cano.yaml`);
    const batch = (n: number, status: "firing" | "resolved") =>
      JSON.stringify({
        status,
        alerts: Array.from({ length: 20 }, (_, i) => ({
          status,
          labels: { alertname: "KubeJobFailed", namespace: "batch", job_name: `job-${n}-${i}` },
          annotations: {},
          startsAt,
          ...(status === "resolved" ? { endsAt: new Date().toISOString() } : {}),
          fingerprint: `load-${n}-${i}`,
        })),
      });
    const accepted = new Set<string>();
    for (const status of ["firing", "resolved"] as const) {
      const answers = await Promise.all(Array.from({ length: 5 }, async (_, n) => {
        const response = await fetch(`http://127.0.0.1:${first.port}/api/alerts`, {
          method: "POST",
          body: batch(n, status),
        });
        return { n, status: response.status, body: await response.json() };
      }));
      for (const answer of answers) {
        assert.equal(answer.status, 200);
        assert.equal(answer.body.accepted, 20);
        for (let i = 0; i < 20; i++) accepted.add(`load-${answer.n}-${i}/${status}`);
      }
    }
    // Some deliveries done, most still queued: kill it.
    await sink.waitFor((requests) => requests.length >= 20);
    assert.equal((await first.stop("SIGKILL")).signal, "SIGKILL");
    const beforeRestart = sink.requests.length;
    assert.ok(beforeRestart < 200, `only ${beforeRestart} of 200 delivered before the kill`);

    await using _second = await startCano(`${dir}/cano.yaml`);
    const delivered = () =>
      new Set(sink.requests.map((r) => {
        const issue = (r.json as { issue: { fingerprint: string; status: string } }).issue;
        return `${issue.fingerprint}/${issue.status}`;
      }));
    await sink.waitFor(() => delivered().size >= accepted.size, { timeoutMs: 60_000 });
    assert.deepEqual([...delivered()].sort(), [...accepted].sort());
    // Order per fingerprint: the last thing each fingerprint received is its resolution.
    const last = new Map<string, string>();
    for (const r of sink.requests) {
      const issue = (r.json as { issue: { fingerprint: string; status: string } }).issue;
      if (issue.status === "firing") {
        assert.notEqual(last.get(issue.fingerprint), "resolved", `${issue.fingerprint} reopened`);
      }
      last.set(issue.fingerprint, issue.status);
    }
    const duplicates = sink.requests.length - accepted.size;
    // At-least-once: only deliveries in flight at the kill (4 lanes) and those completed in
    // the outbox's last delete batch (COMPLETE_BATCH_MS, at most one per lane) may repeat.
    assert.ok(duplicates <= 3 * 4, `${duplicates} duplicates`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
