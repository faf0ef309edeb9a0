/**
 * The sandbox inside the running engine: `cano serve` with a user workflow directory and a
 * built-in moved into the sandbox by config. Real HTTP, real child processes, a real sink.
 *
 * @module
 */
import assert from "node:assert/strict";
import { serveCommand } from "../engine/commands/serve.ts";
import { silentLogger } from "../engine/log.ts";
import { startSink } from "./_sink.ts";

const GOOD = `import { defineWorkflow, markdown } from "@cano/sdk";
export default defineWorkflow({
  id: "pod-note",
  description: "Adds a note naming the pod",
  triggers: [{ on: "prometheus_alert" }],
  run(ctx) {
    ctx.enrich("Pod note", [markdown("pod " + (ctx.issue.subject?.name ?? "?"))]);
  },
});
`;

const SPIN = `import { defineWorkflow } from "@cano/sdk";
export default defineWorkflow({
  id: "spinner",
  description: "Never returns",
  triggers: [{ on: "prometheus_alert" }],
  run() {
    while (true) { /* spin */ }
  },
});
`;

const STEALER = `import { defineWorkflow, markdown } from "@cano/sdk";
export default defineWorkflow({
  id: "stealer",
  description: "Tries to read the engine's environment",
  triggers: [{ on: "prometheus_alert" }],
  run(ctx) {
    ctx.enrich("Loot", [markdown(String(Deno.env.get("CANO_TEST_CANARY")))]);
  },
});
`;

Deno.test("serveCommand() runs user workflows sandboxed next to a sandboxed built-in; a spinning one only fails itself", async () => {
  Deno.env.set("CANO_TEST_CANARY", "canary-7f3a91");
  await using sink = await startSink();
  const dir = await Deno.makeTempDir({ prefix: "cano-sbx-" });
  const workflows = `${dir}/workflows`;
  await Deno.mkdir(workflows);
  await Deno.writeTextFile(`${workflows}/pod_note.ts`, GOOD);
  await Deno.writeTextFile(`${workflows}/spinner.ts`, SPIN);
  await Deno.writeTextFile(`${workflows}/stealer.ts`, STEALER);
  await Deno.writeTextFile(`${workflows}/broken.ts`, `export default 42;\n`);
  await Deno.writeTextFile(
    `${dir}/cano.yaml`,
    `server: { host: 127.0.0.1, port: 0 }
workflows:
  timeout: 1500
  directory: ${workflows}
  builtin:
    default-alert-enricher: { isolation: sandbox }
destinations: [{ name: sink, type: webhook, url: "${sink.url}/cano" }]
routing: { default: { destinations: [sink] } }
`,
  );
  const running = await serveCommand({ config: `${dir}/cano.yaml`, log: silentLogger });
  assert.ok(typeof running !== "number");
  try {
    await running.workflowsReady;
    const base = `http://127.0.0.1:${running.port}`;
    const health = await (await fetch(`${base}/health/detailed`)).json();
    const statuses = health.components.sandbox.detail.workflows as {
      id?: string;
      file: string;
      loaded: boolean;
      lastError?: string;
    }[];
    assert.deepEqual(
      statuses.filter((s) => s.loaded).map((s) => s.id).sort(),
      ["default-alert-enricher", "pod-note", "spinner", "stealer"],
    );
    const broken = statuses.find((s) => s.file.endsWith("broken.ts"));
    assert.equal(broken?.loaded, false);
    assert.match(broken?.lastError ?? "", /broken\.ts/);
    assert.equal(health.status, "degraded");

    const response = await fetch(`${base}/api/alerts`, {
      method: "POST",
      body: JSON.stringify({
        status: "firing",
        externalURL: "http://am.example:9093",
        alerts: [{
          status: "firing",
          labels: { alertname: "KubePodCrashLooping", namespace: "shop", pod: "api-0" },
          annotations: { description: "crash looping" },
          startsAt: new Date().toISOString(),
          fingerprint: "00000000000000aa",
        }],
      }),
    });
    assert.equal(response.status, 200);
    await sink.waitFor((requests) => requests.length >= 1, { timeoutMs: 15_000 });
    const issue = (sink.requests[0]!.json as {
      issue: { enrichments: { workflow: string; title?: string; blocks: unknown[] }[] };
    }).issue;
    const byWorkflow = (id: string) => issue.enrichments.filter((e) => e.workflow === id);
    assert.equal(byWorkflow("default-alert-enricher")[0]?.title, "Alert", "sandboxed built-in ran");
    assert.match(JSON.stringify(byWorkflow("pod-note")), /pod api-0/);
    assert.match(JSON.stringify(byWorkflow("spinner")), /Workflow error.*timeout/s);
    const loot = JSON.stringify(byWorkflow("stealer"));
    assert.doesNotMatch(JSON.stringify(sink.requests.map((r) => r.body)), /canary-7f3a91/);
    assert.match(loot, /Workflow error/);
    // The restart is counted when the killed child's exit is seen, just after the run ends.
    let metrics = "";
    for (
      let i = 0;
      i < 40 && !/cano_sandbox_restarts_total\{workflow="spinner"/.test(metrics);
      i++
    ) {
      if (i > 0) await new Promise((r) => setTimeout(r, 50));
      metrics = await (await fetch(`${base}/metrics`)).text();
    }
    assert.match(metrics, /cano_workflow_runs_total\{workflow="spinner",outcome="timeout"\} 1/);
    assert.match(metrics, /cano_workflow_runs_total\{workflow="pod-note",outcome="success"\} 1/);
    assert.match(metrics, /cano_sandbox_restarts_total\{workflow="spinner",reason="timeout"\} 1/);
  } finally {
    await running.shutdown();
    await running.finished;
    Deno.env.delete("CANO_TEST_CANARY");
    await Deno.remove(dir, { recursive: true });
  }
});
