import { markdown, table } from "@cano/sdk";
import { runWorkflow, sampleAlertIssue } from "@cano/sdk/testing";
import assert from "node:assert/strict";
import workflow from "./owner_lookup.ts";

const issue = sampleAlertIssue({
  labels: { alertname: "HighErrorRate", service: "checkout", namespace: "shop" },
});

Deno.test("owner-lookup adds the team and mentions the on-call engineer", async () => {
  const result = await runWorkflow(workflow, {
    issue,
    http: {
      "GET https://teams.example.com/api/v1/services/checkout": {
        body: {
          team: "payments",
          slackChannel: "#payments-oncall",
          oncall: { name: "Ada Lovelace", handle: "ada" },
        },
      },
    },
  });
  assert.deepEqual(result.calls, ["GET https://teams.example.com/api/v1/services/checkout"]);
  assert.deepEqual(result.enrichments, [{
    title: "Owner",
    blocks: [
      table(["Role", "Owner"], [["Team", "payments"], ["Channel", "#payments-oncall"], [
        "On call",
        "Ada Lovelace (@ada)",
      ]]),
      markdown("cc @ada #payments-oncall"),
    ],
  }]);
});

Deno.test("owner-lookup notes a service the directory does not know", async () => {
  const result = await runWorkflow(workflow, {
    issue,
    http: {
      "GET https://teams.example.com/api/v1/services/checkout": { status: 404, body: "not found" },
    },
  });
  assert.deepEqual(result.enrichments[0]?.blocks, [
    markdown("No owner is registered for service `checkout`."),
  ]);
});

Deno.test("owner-lookup fails clearly on a directory error or an unexpected answer", async () => {
  const key = "GET https://teams.example.com/api/v1/services/checkout";
  await assert.rejects(
    runWorkflow(workflow, { issue, http: { [key]: { status: 503, body: "down" } } }),
    { message: 'Cannot look up the owner of "checkout": the directory answered HTTP 503' },
  );
  await assert.rejects(
    runWorkflow(workflow, { issue, http: { [key]: { body: "<html>" } } }),
    /the directory's answer has an unexpected shape/,
  );
});

Deno.test("owner-lookup cannot reach a directory host it did not declare", async () => {
  await assert.rejects(
    runWorkflow(workflow, {
      issue,
      params: { directoryUrl: "https://people.internal.example.org/api" },
    }),
    /host "people\.internal\.example\.org" is not in the workflow's permissions\.http \(declared: teams\.example\.com\)/,
  );
});
