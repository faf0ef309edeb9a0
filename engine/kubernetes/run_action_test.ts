import { sampleAlertIssue } from "@cano/sdk/testing";
import assert from "node:assert/strict";
import { k8sFixture } from "../../tests/fixtures/k8s/load.ts";
import { startKubeApiServer } from "../../tests/_kube_api_server.ts";
import type { KubeObject } from "./api.ts";
import { createKubeClientForUrl } from "./client.ts";
import { runKubernetesAction } from "./run_action.ts";

const DEPLOYMENT = "/apis/apps/v1/namespaces/shop/deployments/api";
const POD = "/api/v1/namespaces/shop/pods/api-7c9d8b6f5-x2kqp";

Deno.test("runKubernetesAction() fills names from the issue's subject and validates the action", async () => {
  await using server = await startKubeApiServer();
  using api = createKubeClientForUrl(server.url);
  server.apply(k8sFixture("pod_oom_killed"));
  server.apply(k8sFixture("deployment_api"));
  const issue = sampleAlertIssue();
  assert.deepEqual(await runKubernetesAction(api, { action: { action: "delete_pod" }, issue }), {
    action: "delete_pod",
    kind: "Pod",
    namespace: "shop",
    name: "api-7c9d8b6f5-x2kqp",
  });
  assert.equal(server.get(POD), undefined);
  await runKubernetesAction(api, {
    action: { action: "scale", kind: "Deployment", name: "{{ labels.container }}", replicas: 2 },
    issue,
  });
  assert.equal(
    server.get<KubeObject & { spec: { replicas: number } }>(DEPLOYMENT)!.spec.replicas,
    2,
  );
  await assert.rejects(
    runKubernetesAction(api, { action: { action: "rerun_job", name: "{{ labels.job }}" }, issue }),
    {
      name: "TypeError",
      message:
        'Cannot run Kubernetes action "rerun_job": name "{{ labels.job }}" renders empty for this issue',
    },
  );
  await assert.rejects(
    runKubernetesAction(api, {
      action: { action: "scale", kind: "Deployment", name: "api" } as never,
      issue,
    }),
    { name: "TypeError", message: /Cannot run Kubernetes action: replicas: / },
  );
});
