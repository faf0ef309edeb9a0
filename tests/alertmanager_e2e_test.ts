/**
 * End to end with a real Alertmanager: alerts pushed to Alertmanager's API reach Cano's
 * webhook, get enriched, and arrive at a local webhook sink, firing then resolved, once each.
 *
 * @module
 */
import { type Issue, IssueSchema } from "@cano/sdk";
import assert from "node:assert/strict";
import { type RunningServer, serveCommand } from "../engine/commands/serve.ts";
import { silentLogger } from "../engine/log.ts";
import { alertmanagerSkipReason, startAlertmanager } from "./_alertmanager.ts";
import { type Sink, type SinkRequest, startSink } from "./_sink.ts";

const TOKEN = "e2e-bearer-token-0123456789";
const skip = alertmanagerSkipReason();
const skipped = skip === undefined ? "" : ` (skipped: ${skip})`;

/** Starts Cano on an ephemeral loopback port with bearer auth and one webhook destination. */
async function startCano(sink: Sink): Promise<RunningServer & { dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "cano-e2e-" });
  const config = `${dir}/cano.yaml`;
  await Deno.writeTextFile(
    config,
    `server:
  host: 127.0.0.1
  port: 0
  auth: { type: bearer, token: ${TOKEN} }
workflows:
  builtin:
    default-alert-enricher: { enabled: true }
destinations:
  - name: sink
    type: webhook
    url: ${sink.url}/cano
routing:
  default:
    destinations: [sink]
`,
  );
  const started = await serveCommand({ config, log: silentLogger });
  assert.notEqual(typeof started, "number", "Cano did not start: the config was rejected");
  return { ...(started as RunningServer), dir };
}

async function stopCano(cano: RunningServer & { dir: string }): Promise<void> {
  await cano.shutdown();
  await cano.finished;
  await Deno.remove(cano.dir, { recursive: true });
}

/** The Issues the sink received, parsed with the SDK's schema. */
function issuesOf(requests: readonly SinkRequest[]): Issue[] {
  return requests.map((r) => {
    const body = r.json as { version?: unknown; issue?: unknown };
    assert.equal(body.version, "1");
    return IssueSchema.parse(body.issue);
  });
}

function find(requests: readonly SinkRequest[], alertname: string, status: string) {
  return issuesOf(requests).find((i) => i.labels["alertname"] === alertname && i.status === status);
}

async function metric(cano: RunningServer, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${cano.port}/metrics`)).text();
  return [...text.matchAll(pattern)].reduce((sum, m) => sum + Number(m[1]), 0);
}

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Cannot wait for ${what}: ${timeoutMs} ms passed`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const DUPLICATES = /cano_alerts_processed_total\{[^}]*outcome="duplicate"[^}]*\} (\d+)/g;
const UNAUTHORIZED = /cano_alerts_errors_total\{[^}]*error_type="unauthorized"[^}]*\} (\d+)/g;

Deno.test({
  name:
    `serveCommand() delivers Alertmanager alerts as enriched Issues, firing then resolved, once each${skipped}`,
  ignore: skip !== undefined,
  async fn() {
    await using sink = await startSink();
    const cano = await startCano(sink);
    try {
      await using am = await startAlertmanager({
        webhookUrl: `http://127.0.0.1:${cano.port}/api/alerts`,
        bearerToken: TOKEN,
      });
      const startsAt = new Date(Date.now() - 60_000).toISOString();
      const crashLabels = {
        alertname: "KubePodCrashLooping",
        namespace: "shop",
        pod: "api-7c9d8b6f5-x2kqp",
        container: "api",
        severity: "warning",
      };
      await am.push([
        {
          labels: crashLabels,
          annotations: {
            summary: "Pod shop/api-7c9d8b6f5-x2kqp is crash looping",
            description: "Container api restarted 5 times in 10 minutes",
            runbook_url: "https://runbooks.example/KubePodCrashLooping",
          },
          startsAt,
          generatorURL: "http://prometheus.example/graph?g0.expr=up",
        },
        {
          labels: { alertname: "KubeNodeNotReady", node: "worker-3", severity: "critical" },
          annotations: { summary: "Node worker-3 is not ready" },
          startsAt,
        },
      ]);

      await sink.waitFor((r) =>
        find(r, "KubePodCrashLooping", "firing") !== undefined &&
        find(r, "KubeNodeNotReady", "firing") !== undefined
      );
      const fingerprints = new Map((await am.alerts()).map((a) => [
        a.labels["alertname"],
        a.fingerprint,
      ]));
      const crash = find(sink.requests, "KubePodCrashLooping", "firing")!;
      const node = find(sink.requests, "KubeNodeNotReady", "firing")!;

      assert.equal(crash.fingerprint, fingerprints.get("KubePodCrashLooping"));
      assert.equal(node.fingerprint, fingerprints.get("KubeNodeNotReady"));
      assert.equal(crash.severity, "MEDIUM");
      assert.equal(node.severity, "HIGH");
      assert.deepEqual(crash.subject, {
        kind: "Pod",
        name: "api-7c9d8b6f5-x2kqp",
        namespace: "shop",
        container: "api",
      });
      assert.equal(node.subject?.kind, "Node");
      assert.equal(crash.title, "Pod shop/api-7c9d8b6f5-x2kqp is crash looping");
      assert.equal(Date.parse(crash.startsAt), Date.parse(startsAt));
      assert.equal(crash.endsAt, undefined);

      const alert = crash.enrichments.find((e) =>
        e.workflow === "default-alert-enricher" && e.title === "Alert"
      );
      assert.ok(alert, `no "Alert" enrichment in ${JSON.stringify(crash.enrichments)}`);
      const labelsTable = alert.blocks.find((b) => b.type === "table" && b.title === "Labels");
      assert.ok(labelsTable?.type === "table");
      assert.deepEqual(labelsTable.rows.find(([name]) => name === "pod"), [
        "pod",
        "api-7c9d8b6f5-x2kqp",
      ]);
      const silence = crash.links.find((l) => l.title === "Silence");
      assert.ok(silence, `no Silence link in ${JSON.stringify(crash.links)}`);
      assert.ok(
        silence.url.startsWith(`${am.url}/#/silences/new?filter=`),
        `${silence.url} does not point at ${am.url}`,
      );
      assert.match(decodeURIComponent(silence.url), /alertname="KubePodCrashLooping"/);
      const linksBlock = alert.blocks.find((b) => b.type === "links");
      assert.ok(linksBlock?.type === "links");
      assert.ok(linksBlock.links.some((l) => l.url === silence.url));
      const request = sink.requests.find((r) => r.body.includes(crash.id))!;
      assert.equal(request.method, "POST");
      assert.equal(request.path, "/cano");
      assert.equal(request.headers["webhook-id"], `msg_${crash.id}`);

      const endsAt = new Date(Date.now() - 1_000).toISOString();
      await am.push([{ labels: crashLabels, startsAt, endsAt }]);
      await sink.waitFor((r) => find(r, "KubePodCrashLooping", "resolved") !== undefined);
      const resolved = find(sink.requests, "KubePodCrashLooping", "resolved")!;
      assert.equal(resolved.fingerprint, crash.fingerprint);
      assert.equal(Date.parse(resolved.endsAt ?? ""), Date.parse(endsAt));

      // The resolution's notification re-sends the whole group, the still-firing node alert
      // included; let a few more group intervals pass, then count per fingerprint and status.
      await waitUntil(async () => await metric(cano, DUPLICATES) >= 1, "a re-sent group");
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      const counts = new Map<string, number>();
      for (const issue of issuesOf(sink.requests)) {
        const key = `${issue.labels["alertname"]}/${issue.status}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      assert.deepEqual(Object.fromEntries(counts), {
        "KubePodCrashLooping/firing": 1,
        "KubeNodeNotReady/firing": 1,
        "KubePodCrashLooping/resolved": 1,
      });
      assert.equal(await metric(cano, UNAUTHORIZED), 0);
    } finally {
      await stopCano(cano);
    }
  },
});

Deno.test({
  name: `serveCommand() answers 401 to an Alertmanager with the wrong bearer token${skipped}`,
  ignore: skip !== undefined,
  async fn() {
    await using sink = await startSink();
    const cano = await startCano(sink);
    try {
      const webhookUrl = `http://127.0.0.1:${cano.port}/api/alerts`;
      await using am = await startAlertmanager({
        webhookUrl,
        bearerToken: "wrong-token-0123456789abcdef",
      });
      await am.push([{ labels: { alertname: "KubeJobFailed", job_name: "backup-1" } }]);
      await waitUntil(
        async () => await metric(cano, UNAUTHORIZED) >= 1,
        `an unauthorized request counted; Alertmanager said:\n${am.logs().slice(-2000)}`,
      );
      assert.match(am.logs(), /401/);

      const payload = JSON.stringify({
        alerts: [{
          status: "firing",
          labels: { alertname: "Direct" },
          startsAt: new Date().toISOString(),
        }],
      });
      const missing = await fetch(webhookUrl, { method: "POST", body: payload });
      assert.equal(missing.status, 401);
      assert.equal(missing.headers.get("www-authenticate"), "Bearer");
      await missing.body?.cancel();
      const right = await fetch(webhookUrl, {
        method: "POST",
        body: payload,
        headers: { authorization: `Bearer ${TOKEN}` },
      });
      assert.equal(right.status, 200);
      await right.body?.cancel();

      await sink.waitFor((r) => r.length >= 1);
      await cano.engine.idle();
      assert.deepEqual(issuesOf(sink.requests).map((i) => i.labels["alertname"]), ["Direct"]);
      assert.ok(await metric(cano, UNAUTHORIZED) >= 2);
    } finally {
      await stopCano(cano);
    }
  },
});
