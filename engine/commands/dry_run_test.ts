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

Deno.test("dryRun() masks literal secrets of every destination type, route overrides included", async () => {
  const secrets = [
    "xoxb-literal-slack-0001",
    "R0123456789abcdef0123456789abcde",
    "123456:literal-telegram-0002",
    "literal-teams-sig-0003",
    "literal-genie-key-0004",
    "literal-jira-token-0005",
    "literal-discord-token-0006",
    "literal-mattermost-0007",
    "literal-chat-token-0008",
    "literal-smtp-pass-0009",
    "literal-kafka-pass-0010",
    "P0123456789abcdef0123456789abcde",
  ];
  const [slack, pd, tg, teams, og, jira, discord, mm, chat, smtp, kafka, payments] = secrets;
  const loaded = parseConfigText(
    `destinations:
  - { name: slack, type: slack, token: "${slack}", channel: "#alerts" }
  - { name: pd, type: pagerduty, routingKey: "${pd}" }
  - { name: tg, type: telegram, token: "${tg}", chatId: -100123 }
  - name: teams
    type: teams
    url: "https://x.environment.api.powerplatform.com/workflows/1/triggers/manual/paths/invoke?api-version=1&sig=${teams}"
  - { name: og, type: opsgenie, apiKey: "${og}" }
  - { name: jira, type: jira, url: "https://example.atlassian.net", email: "bot@example.com", apiToken: "${jira}", project: OPS }
  - { name: discord, type: discord, url: "https://discord.com/api/webhooks/123456789012345678/${discord}" }
  - { name: mm, type: mattermost, url: "https://chat.example.com/hooks/${mm}" }
  - name: chat
    type: google_chat
    url: "https://chat.googleapis.com/v1/spaces/AAAA/messages?key=k-${chat}&token=${chat}"
  - { name: mail, type: email, host: smtp.example.com, from: cano@example.com, to: [ops@example.com], username: cano, password: "${smtp}" }
  - name: kafka
    type: kafka
    brokers: ["kafka:9092"]
    topic: issues
    sasl: { mechanism: PLAIN, username: cano, password: "${kafka}" }
routing:
  routes:
    - name: payments
      destinations: [slack, tg, teams, og, jira, discord, mm, chat, mail, kafka,
        { name: pd, override: { routingKey: "${payments}" } }]
  default: { destinations: [pd] }
`,
    { file: "t.yaml", schema: CanoConfigSchema, env: {} },
  );
  assert.ok(loaded.ok, loaded.ok ? "" : JSON.stringify(loaded.error));
  const result = await dryRun(payload, { config: loaded.config, secrets: loaded.secrets });
  assert.ok(result.ok);
  const deliveries = result.report.issues[0]!.deliveries;
  assert.equal(deliveries.length, 11);
  assert.ok(deliveries.some((d) => d.destination === "pd@payments"));
  const text = JSON.stringify(result.report) + formatDryRunText(result.report);
  for (const secret of secrets) assert.ok(!text.includes(secret), `${secret} leaked`);
});

Deno.test("dryRun() notes the grouping and repeat rules of matched routes it does not apply", async () => {
  const loaded = parseConfigText(
    `destinations: [{ name: console, type: stdout }]
routing:
  routes:
    - name: bursts
      destinations: [console]
      repeatInterval: 1h
      group: { by: [alertname], window: 30s, min: 4 }
  default: { destinations: [console] }
`,
    { file: "t.yaml", schema: CanoConfigSchema, env: {} },
  );
  assert.ok(loaded.ok);
  const result = await dryRun(payload, { config: loaded.config, secrets: [] });
  assert.ok(result.ok);
  assert.deepEqual(result.report.issues[0]!.rules, [
    'route "bursts" holds issues for 30000 ms and sends one summary when 4 or more with the same alertname arrive',
    'route "bursts" sends an unchanged issue (same status) again only after 3600000 ms',
  ]);
  assert.match(formatDryRunText(result.report), /note: route "bursts" holds issues for 30000 ms/);
});
