import { runWorkflow, sampleAlertIssue } from "@cano/sdk/testing";
import assert from "node:assert/strict";
import workflow from "./noise_filter.ts";

Deno.test("noise-filter silences a noisy alert in a dev namespace", async () => {
  const issue = sampleAlertIssue({
    labels: { alertname: "CPUThrottlingHigh", namespace: "dev-alice" },
    severity: "LOW",
  });
  const result = await runWorkflow(workflow, { issue });
  assert.equal(
    result.silenced,
    'CPUThrottlingHigh in dev-alice is known noise (namespaces "dev-*", alerts "CPUThrottlingHigh")',
  );
  assert.deepEqual(result.enrichments, []);
});

Deno.test("noise-filter delivers the same alert in production and urgent alerts anywhere", async () => {
  const prod = sampleAlertIssue({ labels: { alertname: "CPUThrottlingHigh", namespace: "shop" } });
  assert.equal((await runWorkflow(workflow, { issue: prod })).silenced, undefined);
  const urgent = sampleAlertIssue({
    labels: { alertname: "KubePodNotReady", namespace: "dev-bob" },
    severity: "HIGH",
  });
  assert.equal((await runWorkflow(workflow, { issue: urgent })).silenced, undefined);
  const other = sampleAlertIssue({
    labels: { alertname: "KubePodCrashLooping", namespace: "dev-bob" },
  });
  assert.equal((await runWorkflow(workflow, { issue: other })).silenced, undefined);
});

Deno.test("noise-filter follows configured globs and uses the subject's namespace without a label", async () => {
  const issue = sampleAlertIssue({
    labels: { alertname: "KubeJobFailed" },
    subject: { kind: "Job", name: "nightly", namespace: "qa-7" },
  });
  const params = { namespaces: ["qa-*"], alertNames: ["KubeJob*"] };
  const result = await runWorkflow(workflow, { issue, params });
  assert.match(result.silenced ?? "", /^KubeJobFailed in qa-7 is known noise/);
});
