import assert from "node:assert/strict";
import { parseConfigText } from "../config/load.ts";
import { CanoConfigSchema } from "../config/schema.ts";
import { dryRun, formatDryRunText } from "./dry_run.ts";
import { dryRunCommand } from "./dry_run_command.ts";

const payload = JSON.parse(
  await Deno.readTextFile(new URL("../../examples/alerts/crashloop_group.json", import.meta.url)),
);

Deno.test("dryRun() shows the exact webhook request per destination with secrets masked", async () => {
  const loaded = parseConfigText(
    `destinations:
  - name: hook
    type: webhook
    url: "https://hooks.example.com/in/\${TOKEN}"
    headers: { x-api-key: "\${TOKEN}", x-team: shop }
routing: { default: { destinations: [hook] } }
`,
    { file: "t.yaml", schema: CanoConfigSchema, env: { TOKEN: "tok-123456" } },
  );
  assert.ok(loaded.ok);
  const result = await dryRun(payload, { config: loaded.config, secrets: loaded.secrets });
  assert.ok(result.ok);
  const { issues } = result.report;
  assert.equal(issues.length, 2);
  const request = issues[0]!.deliveries[0]!.requests[0]!;
  assert.ok("url" in request);
  assert.equal(request.method, "POST");
  assert.equal(request.url, "https://hooks.example.com/in/***");
  assert.equal(request.headers["x-api-key"], "***");
  assert.equal(request.headers["x-team"], "shop");
  const body = JSON.parse(request.body);
  assert.equal(body.issue.fingerprint, "3f2a9c1b7d4e8a60");
  assert.deepEqual(body.issue.enrichments.map((e: { workflow: string }) => e.workflow), [
    "default-alert-enricher",
  ]);
  assert.doesNotMatch(JSON.stringify(result.report), /tok-123456/);
  assert.deepEqual(issues[0]!.runs.map((r) => [r.workflow, r.outcome]), [
    ["silencer", "success"],
    ["default-alert-enricher", "success"],
  ]);
});

Deno.test("dryRunCommand() prints text on the embedded default and fails clearly on a bad file", async () => {
  const dir = await Deno.makeTempDir();
  const alert = `${dir}/alert.json`;
  await Deno.writeTextFile(alert, JSON.stringify(payload));
  let out = "";
  assert.equal(await dryRunCommand({ alert, write: (t) => out += t }), 0);
  assert.match(out, /═══ Issue 1 of 2: Pod is crash looping\. \(firing\)/);
  assert.match(out, /── Destination "console" \(stdout\)/);
  assert.match(out, /alertname {2}KubePodCrashLooping/);
  await Deno.writeTextFile(alert, JSON.stringify({ alerts: [] }));
  out = "";
  assert.equal(await dryRunCommand({ alert, write: (t) => out += t }), 1);
  assert.match(out, /^Cannot dry-run .*alert\.json: Invalid Alertmanager payload/);
  out = "";
  assert.equal(await dryRunCommand({ alert: `${dir}/missing.json`, write: (t) => out += t }), 1);
  assert.match(out, /^Cannot read alert payload from/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("formatDryRunText() says when an issue is silenced", async () => {
  const loaded = parseConfigText(
    `destinations: [{ name: c, type: stdout }]
workflows: { builtin: { silencer: { params: { matchers: [{ namespace: shop }] } } } }
routing: { default: { destinations: [c] } }
`,
    { file: "t.yaml", schema: CanoConfigSchema },
  );
  assert.ok(loaded.ok);
  const result = await dryRun(payload, { config: loaded.config, secrets: [] });
  assert.ok(result.ok);
  assert.match(
    formatDryRunText(result.report),
    /── Silenced by silencer: matched silencer "matchers\[0\]"; nothing would be sent/,
  );
  assert.deepEqual(result.report.issues[0]!.deliveries, []);
});
