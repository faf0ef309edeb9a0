import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";

const CRD_FILE = new URL("./crds/alertreactions.karo.io.yaml", import.meta.url);

type Schema = {
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  required?: string[];
  enum?: string[];
};

async function loadCrd() {
  const docs = parseAllDocuments(await Deno.readTextFile(CRD_FILE)).map((d) => d.toJS());
  assert.equal(docs.length, 1);
  return docs[0];
}

Deno.test("alertreactions.karo.io CRD serves v1alpha1 (stored) and v1 with a status subresource", async () => {
  const crd = await loadCrd();
  assert.equal(crd.apiVersion, "apiextensions.k8s.io/v1");
  assert.equal(crd.metadata.name, "alertreactions.karo.io");
  assert.equal(crd.spec.group, "karo.io");
  assert.equal(crd.spec.scope, "Namespaced");
  assert.deepEqual(crd.spec.names, {
    kind: "AlertReaction",
    listKind: "AlertReactionList",
    plural: "alertreactions",
    singular: "alertreaction",
  });
  const versions = crd.spec.versions as {
    name: string;
    served: boolean;
    storage: boolean;
    subresources: unknown;
    schema: unknown;
  }[];
  assert.deepEqual(versions.map((v) => [v.name, v.served, v.storage]), [
    ["v1alpha1", true, true],
    ["v1", true, false],
  ]);
  for (const v of versions) assert.deepEqual(v.subresources, { status: {} });
  assert.deepEqual(versions[0]!.schema, versions[1]!.schema, "one schema, no conversion needed");
});

Deno.test("alertreactions.karo.io CRD keeps Karo's field names and required fields", async () => {
  const crd = await loadCrd();
  const root = crd.spec.versions[0].schema.openAPIV3Schema as Schema;
  const spec = root.properties!["spec"]!;
  assert.deepEqual(Object.keys(spec.properties!).sort(), [
    "actions",
    "alertName",
    "matchers",
    "volumes",
  ]);
  assert.deepEqual(spec.required, ["actions", "alertName"]);
  const action = spec.properties!["actions"]!.items!;
  assert.deepEqual(Object.keys(action.properties!).sort(), [
    "args",
    "command",
    "env",
    "image",
    "name",
    "resources",
    "serviceAccount",
    "volumeMounts",
  ]);
  const valueFrom = action.properties!["env"]!.items!.properties!["valueFrom"]!;
  assert.deepEqual(Object.keys(valueFrom.properties!).sort(), [
    "alertRef",
    "configMapKeyRef",
    "secretKeyRef",
  ]);
  const matcher = spec.properties!["matchers"]!.items!;
  assert.deepEqual(matcher.properties!["operator"]!.enum, ["=", "!=", "=~", "!~"]);
  const volume = spec.properties!["volumes"]!.items!;
  assert.deepEqual(Object.keys(volume.properties!).sort(), [
    "configMap",
    "emptyDir",
    "hostPath",
    "name",
    "persistentVolumeClaim",
    "secret",
  ]);
  const status = root.properties!["status"]!;
  assert.deepEqual(Object.keys(status.properties!).sort(), [
    "conditions",
    "lastJobsCreated",
    "lastTriggered",
    "triggerCount",
  ]);
  assert.deepEqual(
    Object.keys(status.properties!["lastJobsCreated"]!.items!.properties!).sort(),
    ["actionName", "createdAt", "name", "namespace"],
  );
});
