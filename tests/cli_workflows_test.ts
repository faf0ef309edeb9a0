/**
 * The workflow-author commands end to end: `new workflow` scaffolds files whose own test
 * passes under `deno test`; `workflows list` and `dry-run --workflows` load a directory
 * through the real sandbox.
 *
 * @module
 */
import assert from "node:assert/strict";
import { dryRunCommand } from "../engine/commands/dry_run_command.ts";
import { newWorkflowCommand } from "../engine/commands/new_workflow.ts";
import { workflowsListCommand } from "../engine/commands/workflows_list.ts";

const ALERT = new URL("../examples/alerts/crashloop_group.json", import.meta.url).pathname;

Deno.test("newWorkflowCommand() scaffolds a workflow whose test passes and which the sandbox loads", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cano-new-" });
  try {
    let out = "";
    assert.equal(await newWorkflowCommand("disk-usage", { dir, write: (t) => out += t }), 0);
    assert.match(out, /Created .*disk_usage\.ts and .*disk_usage_test\.ts/);
    assert.equal(await newWorkflowCommand("disk-usage", { dir, write: (t) => out = t }), 1);
    assert.match(out, /already exists/);
    assert.equal(await newWorkflowCommand("Disk_Usage", { dir, write: (t) => out = t }), 1);
    assert.match(out, /expected a kebab-case id/);

    const test = await new Deno.Command(Deno.execPath(), {
      args: ["test", "-A", "--config", `${dir}/deno.json`, `${dir}/disk_usage_test.ts`],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(test.stdout) + new TextDecoder().decode(test.stderr);
    assert.ok(test.success, text);
    assert.match(text, /1 passed/);

    await Deno.remove(`${dir}/disk_usage_test.ts`);
    out = "";
    assert.equal(await workflowsListCommand({ workflows: dir, write: (t) => out += t }), 0);
    assert.match(out, /ok {2}disk-usage/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("workflowsListCommand() names a file that fails its type check and exits 1", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cano-list-" });
  try {
    await Deno.writeTextFile(
      `${dir}/typo.ts`,
      `import { defineWorkflow } from "@cano/sdk";
export default defineWorkflow({
  id: "typo",
  description: "Has a type error",
  triggers: [{ on: "prometheus_alert" }],
  run(ctx) {
    const n: number = ctx.issue.title;
    ctx.log.info(String(n));
  },
});
`,
    );
    let out = "";
    assert.equal(await workflowsListCommand({ workflows: dir, write: (t) => out += t }), 1);
    assert.match(out, /ERR .*typo\.ts.*typo\.ts:7/s);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dryRunCommand() --workflows runs the directory in the sandbox and prints its blocks", async () => {
  let out = "";
  const code = await dryRunCommand({
    alert: ALERT,
    workflows: new URL("../examples/workflows/", import.meta.url).pathname,
    format: "json",
    write: (t) => out += t,
  });
  assert.equal(code, 0, out);
  const report = JSON.parse(out);
  const first = report.issues[0];
  const runs = Object.fromEntries(
    first.runs.map((r: { workflow: string; outcome: string }) => [r.workflow, r.outcome]),
  );
  assert.equal(runs["runbook-links"], "success");
  assert.equal(runs["noise-filter"], "success");
  assert.equal(runs["owner-lookup"], "error", "its host is not allowed by the default policy");
  const runbook = first.issue.enrichments.find((e: { workflow: string }) =>
    e.workflow === "runbook-links"
  );
  assert.match(JSON.stringify(runbook), /runbooks\.prometheus-operator\.dev/);
  assert.equal(first.deliveries[0].destination, "console");
});
