import { links } from "@cano/sdk";
import { runWorkflow, sampleAlertIssue } from "@cano/sdk/testing";
import assert from "node:assert/strict";
import workflow from "./runbook_links.ts";

Deno.test("runbook-links uses the runbook_url annotation when the alert has one", async () => {
  const issue = sampleAlertIssue({
    annotations: { runbook_url: "https://wiki.example.com/crashloop" },
  });
  const result = await runWorkflow(workflow, { issue });
  assert.deepEqual(result.enrichments, [{
    title: "Links",
    blocks: [links([{ title: "Runbook", url: "https://wiki.example.com/crashloop" }])],
  }]);
});

Deno.test("runbook-links builds runbook and dashboard links from labels", async () => {
  const issue = sampleAlertIssue({
    labels: { alertname: "KubePodNotReady", namespace: "shop", pod: "cart-0" },
    annotations: {},
  });
  const result = await runWorkflow(workflow, {
    issue,
    params: {
      runbookBaseUrl: "https://runbooks.example.com/k8s/",
      grafanaUrl: "https://grafana.example.com",
    },
  });
  assert.deepEqual(result.enrichments[0]?.blocks, [links([
    { title: "Runbook", url: "https://runbooks.example.com/k8s/KubePodNotReady" },
    {
      title: "Dashboard",
      url: "https://grafana.example.com/d/k8s-resources-pod?var-namespace=shop&var-pod=cart-0",
    },
  ])]);
});

Deno.test("runbook-links skips an annotation that is not a URL and says so", async () => {
  const issue = sampleAlertIssue({ annotations: { runbook_url: "see the wiki" } });
  const result = await runWorkflow(workflow, { issue });
  assert.deepEqual(result.enrichments, []);
  assert.deepEqual(result.logs, [{
    level: "warn",
    message: "Skipping a link that is not a URL",
    fields: { title: "Runbook" },
  }]);
});

Deno.test("runbook-links rejects a params value that is not a URL", async () => {
  await assert.rejects(
    runWorkflow(workflow, { params: { grafanaUrl: "grafana" } }),
    /invalid params \(grafanaUrl:/,
  );
});
