import assert from "node:assert/strict";
import { IssueSchema } from "@cano/sdk";
import { k8sFixture } from "../../tests/fixtures/k8s/load.ts";
import type { KubeObject } from "../kubernetes/api.ts";
import { changedPart, detectResourceChange } from "./changes.ts";

interface Container {
  name: string;
  image: string;
  env?: { name: string; value?: string }[];
}
type Deploy = KubeObject & {
  spec: { replicas: number; template: { spec: { containers: Container[] } } };
  status: Record<string, unknown>;
};
type ConfigMap = KubeObject & { data: Record<string, string> };

function bumped(deploy: Deploy): Deploy {
  const next = structuredClone(deploy);
  next.metadata!.generation = 42;
  next.metadata!.resourceVersion = "48221003";
  next.metadata!.annotations!["deployment.kubernetes.io/revision"] = "42";
  return next;
}

Deno.test("detectResourceChange() diffs only the changed container image", () => {
  const before = k8sFixture<Deploy>("deployment_api");
  const after = bumped(before);
  after.spec.template.spec.containers[0]!.image = "registry.example.com/shop/api:2.15.0";
  const issues = detectResourceChange(before, after, { cluster: "prod-eu" });
  assert.equal(issues.length, 1);
  const issue = IssueSchema.parse(issues[0]);
  assert.equal(issue.type, "change");
  assert.equal(issue.aggregationKey, "resource_changed");
  assert.equal(issue.severity, "INFO");
  assert.equal(
    issue.title,
    "Deployment shop/api changed: template.spec.containers[api].image",
  );
  assert.deepEqual(issue.enrichments[0]?.blocks, [{
    type: "diff",
    before: {
      template: {
        spec: { containers: [{ name: "api", image: "registry.example.com/shop/api:2.14.1" }] },
      },
    },
    after: {
      template: {
        spec: { containers: [{ name: "api", image: "registry.example.com/shop/api:2.15.0" }] },
      },
    },
  }]);
  assert.equal(issue.startsAt, "2026-02-20T09:00:00.000Z", "the newest managedFields time");
});

Deno.test("detectResourceChange() ignores status, resourceVersion and revision annotation updates", () => {
  const before = k8sFixture<Deploy>("deployment_api");
  const after = structuredClone(before);
  after.metadata!.resourceVersion = "48200999";
  after.metadata!.annotations!["deployment.kubernetes.io/revision"] = "42";
  after.status["readyReplicas"] = 2;
  (after.metadata!["managedFields"] as { time: string }[])[1]!.time = "2026-03-01T10:00:00Z";
  assert.deepEqual(detectResourceChange(before, after), []);
  assert.deepEqual(
    detectResourceChange(before, bumped(before)),
    [],
    "a generation bump alone is no diff",
  );
  assert.deepEqual(detectResourceChange(undefined, before), [], "a new object is no change");
});

Deno.test("detectResourceChange() masks credential-like env values", () => {
  const before = k8sFixture<Deploy>("deployment_api");
  const after = bumped(before);
  after.spec.template.spec.containers[0]!.env![1]!.value = "rotated";
  after.spec.replicas = 5;
  const [issue] = detectResourceChange(before, after);
  const text = JSON.stringify(issue);
  assert.ok(!text.includes("do-not-leak") && !text.includes("rotated"));
  assert.deepEqual(issue?.annotations["changed_paths"], "replicas");
});

Deno.test("detectResourceChange() diffs ConfigMap data by key and hides binaryData", () => {
  const before = k8sFixture<ConfigMap>("configmap_api");
  const after = structuredClone(before);
  after.data["FEATURE_FLAGS"] = "checkout-v2=true,search-v3=true";
  after.metadata!.resourceVersion = "48230000";
  const [issue] = detectResourceChange(before, after);
  assert.equal(issue?.subject?.kind, "ConfigMap");
  assert.deepEqual(issue?.enrichments[0]?.blocks[0], {
    type: "diff",
    before: { data: { FEATURE_FLAGS: "checkout-v2=false,search-v3=true" } },
    after: { data: { FEATURE_FLAGS: "checkout-v2=true,search-v3=true" } },
  });
  const binary = structuredClone(before);
  (binary as KubeObject)["binaryData"] = { "logo.png": "AAAA" };
  const [changed] = detectResourceChange(before, binary);
  assert.ok(!JSON.stringify(changed).includes("AAAA"));
  assert.match(JSON.stringify(changed?.enrichments), /<4 base64 chars>/);
});

Deno.test("changedPart() shows added and removed named items whole", () => {
  const part = changedPart(
    { containers: [{ name: "a", image: "a:1" }] },
    { containers: [{ name: "a", image: "a:1" }, { name: "b", image: "b:1" }] },
  );
  assert.deepEqual(part, {
    before: { containers: [] },
    after: { containers: [{ name: "b", image: "b:1" }] },
    paths: ["containers[b]"],
  });
});
