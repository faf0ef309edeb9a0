/**
 * Workflows written in the config file: a crash-looping pod's Deployment is restarted
 * through ctx.k8s against the Kubernetes API test server, only when the operator's policy
 * allows the write.
 *
 * @module
 */
import assert from "node:assert/strict";
import { parseConfigText } from "../engine/config/load.ts";
import { CanoConfigSchema } from "../engine/config/schema.ts";
import { Engine } from "../engine/engine.ts";
import { createKubeClientForUrl } from "../engine/kubernetes/client.ts";
import { silentLogger } from "../engine/log.ts";
import { alertIssue } from "./_issue.ts";
import { startKubeApiServer } from "./_kube_api_server.ts";

function engineWith(allow: string) {
  const loaded = parseConfigText(
    `workflows:
  builtin: { default-alert-enricher: { enabled: false } }
  yaml:
    - id: restart-on-crash-loop
      triggers: [{ on: pod_crash_loop, namespace: shop }]
      note: "Restarting {{ labels.workload }} because {{ subject.name }} crash loops"
      actions:
        - { action: rollout_restart, kind: Deployment, name: "{{ labels.workload }}" }
capabilities:
  kubernetes: { allow: [${allow}] }
destinations: [{ name: out, type: file, path: /dev/null }]
routing: { default: { destinations: [out] } }
`,
    { file: "test.yaml", schema: CanoConfigSchema },
  );
  if (!loaded.ok) throw loaded.error;
  return new Engine({ config: loaded.config, log: silentLogger });
}

const crashLoop = alertIssue({
  type: "event",
  source: "kubernetes",
  aggregationKey: "pod_crash_loop",
  subject: { kind: "Pod", name: "api-7c9d8b6f5-x2kqp", namespace: "shop", container: "api" },
  labels: { namespace: "shop", workload: "api", workload_kind: "Deployment" },
});

Deno.test("workflows.yaml restarts the Deployment of a crash-looping pod when policy allows it", async () => {
  await using api = await startKubeApiServer();
  api.apply({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "api", namespace: "shop" },
    spec: { template: { metadata: {}, spec: {} } },
  });
  using client = createKubeClientForUrl(api.url);
  const engine = engineWith("deployments:patch, pods:get");
  engine.setKubernetes(client);
  const result = await engine.preview(crashLoop);
  const byTitle = Object.fromEntries(result.issue.enrichments.map((e) => [e.title, e.blocks]));
  assert.deepEqual(byTitle["Note"], [{
    type: "markdown",
    text: "Restarting api because api-7c9d8b6f5-x2kqp crash loops",
  }]);
  assert.deepEqual(byTitle["Actions"], [{
    type: "list",
    items: ["Restarted Deployment shop/api"],
  }]);
  const deployment = api.get<
    { spec: { template: { metadata: { annotations?: Record<string, string> } } } }
  >(
    "/apis/apps/v1/namespaces/shop/deployments/api",
  );
  assert.match(
    deployment?.spec.template.metadata.annotations?.["kubectl.kubernetes.io/restartedAt"] ?? "",
    /^\d{4}-\d\d-\d\dT/,
  );
  await engine.shutdown(1000);
});

Deno.test("workflows.yaml reports a write the operator did not allow and changes nothing", async () => {
  await using api = await startKubeApiServer();
  api.apply({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "api", namespace: "shop" },
    spec: { template: { metadata: {}, spec: {} } },
  });
  using client = createKubeClientForUrl(api.url);
  const engine = engineWith("pods:get");
  engine.setKubernetes(client);
  const result = await engine.preview(crashLoop);
  const actions = result.issue.enrichments.find((e) => e.title === "Actions");
  assert.match(JSON.stringify(actions), /Failed: rollout_restart: .*deployments:patch/);
  assert.equal(api.requests.filter((r) => r.method === "PATCH").length, 0);
  await engine.shutdown(1000);
});

Deno.test("CanoConfigSchema rejects a YAML workflow that reuses a built-in id", () => {
  const loaded = parseConfigText(
    `workflows: { yaml: [{ id: silencer, triggers: [{ on: manual }] }] }
destinations: [{ name: out, type: stdout }]
routing: { default: { destinations: [out] } }
`,
    { file: "test.yaml", schema: CanoConfigSchema },
  );
  assert.ok(!loaded.ok);
  assert.match(
    loaded.error.message,
    /Workflow id "silencer" is already used by a built-in\n {2}→ at workflows\.yaml\[0\]\.id/,
  );
});
