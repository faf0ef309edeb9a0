import assert from "node:assert/strict";
import { alertIssue } from "../tests/_issue.ts";
import { silentLogger } from "../engine/log.ts";
import { createInProcessEntry } from "../engine/workflows/in_process.ts";
import defaultAlertEnricher from "./default_alert_enricher.ts";
import silencer from "./silencer.ts";
import templateEnricher from "./template_enricher.ts";
import type { Workflow } from "@cano/sdk";

function run(workflow: Workflow, params: unknown, issue = alertIssue()) {
  return createInProcessEntry(workflow, { log: silentLogger }).run({
    issue,
    params,
    timeoutMs: 1000,
  });
}

Deno.test("default-alert-enricher adds description, sorted labels without excluded ones, annotations and links", async () => {
  const result = await run(defaultAlertEnricher, {});
  assert.equal(result.outcome, "success");
  const blocks = result.enrichments[0]?.blocks ?? [];
  assert.deepEqual(blocks[0], { type: "markdown", text: "Pod shop/api is in waiting state" });
  const labels = blocks.find((b) => b.type === "table" && b.title === "Labels");
  assert.deepEqual(labels?.type === "table" && labels.rows, [
    ["alertname", "KubePodCrashLooping"],
    ["namespace", "shop"],
    ["pod", "api-7c9d8b6f5-x2kqp"],
    ["severity", "warning"],
  ]);
  assert.ok(
    !blocks.some((b) => b.type === "table" && b.title === "Annotations"),
    "summary and runbook are shown elsewhere",
  );
  assert.deepEqual(blocks.at(-1), {
    type: "links",
    links: [{ title: "Runbook", url: "https://runbooks.example/crash" }],
  });
});

Deno.test("default-alert-enricher keeps resolved alerts brief unless told otherwise", async () => {
  const resolved = alertIssue({ status: "resolved" });
  const brief = await run(defaultAlertEnricher, {}, resolved);
  assert.equal(brief.enrichments[0]?.blocks.length, 1);
  const full = await run(defaultAlertEnricher, { resolvedBrief: false }, resolved);
  assert.ok((full.enrichments[0]?.blocks.length ?? 0) > 1);
});

Deno.test("template-enricher renders alert fields and respects the alert name filter", async () => {
  const params = { template: 'Owner of {{ labels.namespace }}: {{ labels.team ?? "unowned" }}' };
  const result = await run(templateEnricher, params);
  assert.deepEqual(result.enrichments, [{
    title: "Notes",
    blocks: [{ type: "markdown", text: "Owner of shop: unowned" }],
  }]);
  const filtered = await run(templateEnricher, { ...params, alertName: ["KubeNode*"] });
  assert.deepEqual(filtered.enrichments, []);
});

Deno.test("template-enricher fails clearly without a template", async () => {
  const result = await run(templateEnricher, {});
  assert.equal(result.outcome, "error");
  assert.match(result.error ?? "", /invalid params \(template:/);
});

Deno.test("silencer drops matching issues and lets others through", async () => {
  const params = {
    matchers: [{ name: "dev noise", namespace: "dev-*" }, { alertname: "Watchdog" }],
  };
  const dev = await run(
    silencer,
    params,
    alertIssue({ labels: { namespace: "dev-3" }, subject: undefined }),
  );
  assert.equal(dev.silenced, 'matched silencer "dev noise"');
  const watchdog = await run(silencer, params, alertIssue({ labels: { alertname: "Watchdog" } }));
  assert.equal(watchdog.silenced, 'matched silencer "matchers[1]"');
  const prod = await run(silencer, params);
  assert.equal(prod.silenced, undefined);
});
