import assert from "node:assert/strict";
import { apiPrefix, kindPath, KUBE_RESOURCES, objectPathOf, resourceOf } from "./paths.ts";

Deno.test("kindPath() builds core, grouped, cluster-scoped and custom resource paths", () => {
  assert.equal(kindPath("Pod"), "/api/v1/pods");
  assert.equal(kindPath("Event", { namespace: "shop" }), "/api/v1/namespaces/shop/events");
  assert.equal(
    kindPath("Secret", { namespace: "shop", name: "s" }),
    "/api/v1/namespaces/shop/secrets/s",
  );
  assert.equal(kindPath("ConfigMap", { namespace: "a" }), "/api/v1/namespaces/a/configmaps");
  assert.equal(kindPath("Node", { namespace: "ignored", name: "n1" }), "/api/v1/nodes/n1");
  assert.equal(
    kindPath("ReplicaSet", { namespace: "a" }),
    "/apis/apps/v1/namespaces/a/replicasets",
  );
  assert.equal(
    kindPath("StatefulSet", { namespace: "a", name: "db" }),
    "/apis/apps/v1/namespaces/a/statefulsets/db",
  );
  assert.equal(kindPath("DaemonSet"), "/apis/apps/v1/daemonsets");
  assert.equal(
    kindPath("Job", { namespace: "a", name: "j", subresource: "status" }),
    "/apis/batch/v1/namespaces/a/jobs/j/status",
  );
  assert.equal(
    kindPath("Lease", { namespace: "cano", name: "cano-leader" }),
    "/apis/coordination.k8s.io/v1/namespaces/cano/leases/cano-leader",
  );
  assert.equal(
    kindPath("AlertReaction", { namespace: "x" }),
    "/apis/karo.io/v1alpha1/namespaces/x/alertreactions",
  );
  assert.equal(
    kindPath("AlertReaction", { apiVersion: "karo.io/v1" }),
    "/apis/karo.io/v1/alertreactions",
  );
  assert.equal(
    kindPath("Pod", { namespace: "a b", name: "x/y" }),
    "/api/v1/namespaces/a%20b/pods/x%2Fy",
  );
});

Deno.test("kindPath() refuses unknown kinds, versions and nameless subresources", () => {
  assert.throws(
    () => kindPath("Widget"),
    /^TypeError: Cannot build path of kind "Widget": not in the table \(known: Pod, /,
  );
  assert.throws(() => kindPath("Pod", { apiVersion: "v2" }), /kind "Pod" in "v2"/);
  assert.throws(
    () => kindPath("Pod", { subresource: "log" }),
    /Cannot build path of pods\/log: no object name/,
  );
});

Deno.test("objectPathOf() and resourceOf() read an object's own apiVersion and kind", () => {
  assert.equal(
    objectPathOf({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "api", namespace: "shop" },
    }, "scale"),
    "/apis/apps/v1/namespaces/shop/deployments/api/scale",
  );
  assert.throws(
    () => objectPathOf({ kind: "Pod", metadata: {} }),
    /Cannot build path of a Pod: no name/,
  );
  assert.equal(resourceOf({ kind: "AlertReaction", apiVersion: "karo.io/v1" })?.version, "v1");
  assert.equal(resourceOf({ kind: "Deployment", apiVersion: "extensions/v1beta1" }), undefined);
  assert.equal(apiPrefix("v1"), "/api/v1");
  assert.equal(apiPrefix("batch/v1"), "/apis/batch/v1");
  assert.ok(Object.isFrozen(KUBE_RESOURCES) && Object.isFrozen(KUBE_RESOURCES[0]));
});
