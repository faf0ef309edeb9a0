import assert from "node:assert/strict";
import { KUBERNETES_KINDS } from "@cano/sdk";
import { objectPath } from "./object_path.ts";
import { apiPrefix, kindPath, KUBE_RESOURCES, objectPathOf, resourceOf } from "./paths.ts";

/** The explicit table `KUBE_RESOURCES` was before it was derived from `KUBERNETES_KINDS`. */
const FORMER_TABLE = [
  ["Pod", "", "v1", "pods", true],
  ["Event", "", "v1", "events", true],
  ["Secret", "", "v1", "secrets", true],
  ["ConfigMap", "", "v1", "configmaps", true],
  ["Service", "", "v1", "services", true],
  ["Node", "", "v1", "nodes", false],
  ["Namespace", "", "v1", "namespaces", false],
  ["Deployment", "apps", "v1", "deployments", true],
  ["ReplicaSet", "apps", "v1", "replicasets", true],
  ["StatefulSet", "apps", "v1", "statefulsets", true],
  ["DaemonSet", "apps", "v1", "daemonsets", true],
  ["Job", "batch", "v1", "jobs", true],
  ["CronJob", "batch", "v1", "cronjobs", true],
  ["Lease", "coordination.k8s.io", "v1", "leases", true],
  ["AlertReaction", "karo.io", "v1alpha1", "alertreactions", true],
  ["AlertReaction", "karo.io", "v1", "alertreactions", true],
] as const;

/** Where in a REST tree each comparison looks. */
const PLACES = [
  {},
  { namespace: "shop" },
  { name: "a b" },
  { namespace: "shop", name: "api-0" },
  { namespace: "shop", name: "api-0", subresource: "status" },
] as const;

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
    /^TypeError: Cannot build path of kind "Widget": not in the table \(known: ConfigMap, .*AlertReaction\)$/,
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

Deno.test("kindPath() builds for every kind of the former table the path that table built", () => {
  for (const [kind, group, version, plural, namespaced] of FORMER_TABLE) {
    const apiVersion = group === "" ? version : `${group}/${version}`;
    const isDefault = FORMER_TABLE.find((row) => row[0] === kind)?.[2] === version;
    for (const place of PLACES) {
      const { namespace, name, subresource } = place as {
        namespace?: string;
        name?: string;
        subresource?: string;
      };
      const expected = (group === "" ? `/api/${version}` : `/apis/${group}/${version}`) +
        (namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : "") +
        `/${plural}` + (name === undefined ? "" : `/${encodeURIComponent(name)}`) +
        (subresource === undefined ? "" : `/${subresource}`);
      assert.equal(kindPath(kind, { ...place, apiVersion }), expected, `${apiVersion} ${kind}`);
      if (isDefault) assert.equal(kindPath(kind, place), expected, `${kind} by default`);
    }
  }
  assert.equal(kindPath("Pod", { namespace: "shop" }), "/api/v1/namespaces/shop/pods");
  assert.equal(kindPath("Node", { namespace: "shop" }), "/api/v1/nodes");
  assert.equal(
    kindPath("Deployment", { namespace: "shop", name: "api" }),
    "/apis/apps/v1/namespaces/shop/deployments/api",
  );
  assert.equal(kindPath("Job", { namespace: "shop" }), "/apis/batch/v1/namespaces/shop/jobs");
  assert.equal(
    kindPath("Lease", { namespace: "cano" }),
    "/apis/coordination.k8s.io/v1/namespaces/cano/leases",
  );
  assert.equal(
    kindPath("AlertReaction", { namespace: "x", name: "r", subresource: "status" }),
    "/apis/karo.io/v1alpha1/namespaces/x/alertreactions/r/status",
  );
});

Deno.test("KUBE_RESOURCES holds every kind of KUBERNETES_KINDS, paths built alike", () => {
  for (const kind of KUBERNETES_KINDS) {
    assert.deepEqual(resourceOf({ kind: kind.kind }), kind);
    assert.equal(KUBE_RESOURCES.filter((row) => row.kind === kind.kind).length, 1, kind.kind);
    for (const place of PLACES) {
      assert.equal(kindPath(kind.kind, place), objectPath(kind, place), kind.kind);
    }
  }
  const extra = KUBE_RESOURCES.filter((row) => !KUBERNETES_KINDS.includes(row));
  assert.deepEqual(extra.map((row) => `${row.group}/${row.version} ${row.kind}`), [
    "karo.io/v1alpha1 AlertReaction",
    "karo.io/v1 AlertReaction",
  ]);
  assert.equal(resourceOf({ kind: "AlertReaction" })?.version, "v1alpha1");
  assert.ok(KUBE_RESOURCES.every((row) => Object.isFrozen(row)));
});
