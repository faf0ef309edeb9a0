/**
 * The Helm chart, rendered by a real `helm` (v4, installed from npm by
 * `scripts/install_helm.ts` into `.tmp/bin/`): lint, every rendered object validated against
 * the Kubernetes API schemas (`kubernetes-models`, prometheus-operator models for the
 * monitoring objects), the rendered Cano config accepted by `cano validate`, custom workflows
 * mounted where the config points, bad values rejected by `values.schema.json`, and RBAC that
 * holds write verbs only for remediation or Karo.
 *
 * Note: the `kubernetes-models` validators check types, enums and required fields, not
 * unknown fields (the Kubernetes OpenAPI schemas do not forbid them).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { parse as parseYaml, parseAllDocuments } from "yaml";
import { Deployment } from "kubernetes-models/apps/v1";
import { CustomResourceDefinition } from "kubernetes-models/apiextensions.k8s.io/v1";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2";
import { ConfigMap, PersistentVolumeClaim, Service, ServiceAccount } from "kubernetes-models/v1";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import {
  ClusterRole,
  ClusterRoleBinding,
  Role,
  RoleBinding,
} from "kubernetes-models/rbac.authorization.k8s.io/v1";
import {
  PrometheusRule,
  ServiceMonitor,
} from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import { installHelm } from "../scripts/install_helm.ts";
import { generateChartFiles } from "../scripts/gen_chart_schema.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const CHART = join(ROOT, "charts/cano");
const EXAMPLES = ["slack-only", "multi-team-routing", "custom-workflows", "karo-migration"];
const WRITE_VERBS = ["create", "update", "patch", "delete", "deletecollection", "*"];
/** Values for every `${NAME}` the examples reference, so `cano validate` can resolve them. */
const EXAMPLE_ENV = {
  SLACK_TOKEN: "xoxb-test",
  CANO_WEBHOOK_TOKEN: "0123456789abcdef0123",
  INCIDENT_SIGNING_SECRET: "whsec_dGVzdA==",
};

// deno-lint-ignore no-explicit-any
type Model = new (data: any) => { validate(): void };
const MODELS: Record<string, Model> = {
  "apps/v1/Deployment": Deployment,
  "apiextensions.k8s.io/v1/CustomResourceDefinition": CustomResourceDefinition,
  "autoscaling/v2/HorizontalPodAutoscaler": HorizontalPodAutoscaler,
  "v1/ConfigMap": ConfigMap,
  "v1/PersistentVolumeClaim": PersistentVolumeClaim,
  "v1/Service": Service,
  "v1/ServiceAccount": ServiceAccount,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
  "rbac.authorization.k8s.io/v1/ClusterRole": ClusterRole,
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": ClusterRoleBinding,
  "rbac.authorization.k8s.io/v1/Role": Role,
  "rbac.authorization.k8s.io/v1/RoleBinding": RoleBinding,
  "monitoring.coreos.com/v1/PrometheusRule": PrometheusRule,
  "monitoring.coreos.com/v1/ServiceMonitor": ServiceMonitor,
};

interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  // deno-lint-ignore no-explicit-any
  [key: string]: any;
}

let helmPath: Promise<string> | undefined;
function helmBinary(): Promise<string> {
  helmPath ??= installHelm().then((paths) => paths.helm);
  return helmPath;
}

async function helm(args: string[]): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  const output = await new Deno.Command(await helmBinary(), {
    args,
    env: {
      HELM_CACHE_HOME: join(ROOT, ".tmp/helm/cache"),
      HELM_CONFIG_HOME: join(ROOT, ".tmp/helm/config"),
      HELM_DATA_HOME: join(ROOT, ".tmp/helm/data"),
    },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return {
    ok: output.success,
    stdout: text.decode(output.stdout),
    stderr: text.decode(output.stderr),
  };
}

function valueArgs(values: { files?: string[]; set?: string[] }): string[] {
  return [
    ...(values.files ?? []).flatMap((file) => ["-f", file]),
    ...(values.set ?? []).flatMap((s) => ["--set", s]),
  ];
}

async function render(values: { files?: string[]; set?: string[] } = {}): Promise<KubeObject[]> {
  const result = await helm([
    "template",
    "cano",
    CHART,
    "--namespace",
    "monitoring",
    "--include-crds",
    ...valueArgs(values),
  ]);
  assert.ok(result.ok, `helm template failed: ${result.stderr}`);
  return parseAllDocuments(result.stdout).map((doc) => doc.toJSON() as KubeObject)
    .filter((object) => object !== null);
}

function exampleFile(name: string): string {
  return join(ROOT, "examples/helm", `${name}.yaml`);
}

function find(objects: KubeObject[], kind: string, suffix = ""): KubeObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name.endsWith(suffix));
  assert.ok(found, `no ${kind} named *${suffix} in ${objects.map((o) => o.kind).join(", ")}`);
  return found;
}

function canoConfig(objects: KubeObject[]): Record<string, unknown> {
  return parseYaml(find(objects, "ConfigMap", "-config").data["config.yaml"]);
}

function clusterVerbs(objects: KubeObject[]): Map<string, string[]> {
  const role = objects.find((o) => o.kind === "ClusterRole");
  const verbs = new Map<string, string[]>();
  for (const rule of role?.rules ?? []) {
    for (const resource of rule.resources) {
      verbs.set(`${rule.apiGroups[0]}/${resource}`, rule.verbs);
    }
  }
  return verbs;
}

function writes(objects: KubeObject[]): string[] {
  return [...clusterVerbs(objects)].flatMap(([resource, verbs]) =>
    verbs.filter((v) => WRITE_VERBS.includes(v)).map((v) => `${resource}:${v}`)
  ).sort();
}

async function canoValidate(config: Record<string, unknown>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "cano-helm-" });
  try {
    const file = join(dir, "config.yaml");
    await Deno.writeTextFile(file, JSON.stringify(config));
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", join(ROOT, "main.ts"), "validate", "--config", file, "--format", "json"],
      env: EXAMPLE_ENV,
      stdout: "piped",
      stderr: "piped",
    }).output();
    return new TextDecoder().decode(output.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("chart generated files equal what scripts/gen_chart_schema.ts writes", async () => {
  for (const [path, text] of Object.entries(await generateChartFiles())) {
    assert.equal(
      await Deno.readTextFile(join(ROOT, path)),
      text,
      `${path} is stale: run deno task gen:chart`,
    );
  }
});

Deno.test("helm lint passes for the defaults and every example", async () => {
  for (const files of [[], ...EXAMPLES.map((e) => [exampleFile(e)])]) {
    const result = await helm(["lint", CHART, "--strict", ...valueArgs({ files })]);
    assert.ok(result.ok, `helm lint ${files.join(" ")}: ${result.stdout}${result.stderr}`);
  }
});

Deno.test("helm template objects match the Kubernetes schemas and cano validate accepts the config", async () => {
  for (const name of ["defaults", ...EXAMPLES]) {
    const objects = await render(name === "defaults" ? {} : { files: [exampleFile(name)] });
    for (const object of objects) {
      const model = MODELS[`${object.apiVersion}/${object.kind}`];
      assert.ok(model, `${name}: no schema for ${object.apiVersion} ${object.kind}`);
      assert.doesNotThrow(
        () => new model(object).validate(),
        `${name}: ${object.kind} ${object.metadata.name} is invalid`,
      );
    }
    const verdict = JSON.parse(await canoValidate(canoConfig(objects)));
    assert.equal(verdict.valid, true, `${name}: ${JSON.stringify(verdict.issues)}`);
  }
});

Deno.test("helm template rejects a Cano config that cano validate rejects", async () => {
  const objects = await render({ set: ["routing.default.destinations[0]=missing"] });
  const verdict = JSON.parse(await canoValidate(canoConfig(objects)));
  assert.equal(verdict.valid, false);
  assert.match(JSON.stringify(verdict.issues), /Unknown destination \\"missing\\"/);
});

Deno.test("helm template runs the Deployment non-root, read-only, probed on /health", async () => {
  const objects = await render();
  const pod = find(objects, "Deployment").spec.template.spec;
  const [container] = pod.containers;
  assert.equal(pod.securityContext.runAsNonRoot, true);
  assert.equal(pod.securityContext.seccompProfile.type, "RuntimeDefault");
  assert.equal(container.securityContext.readOnlyRootFilesystem, true);
  assert.equal(container.securityContext.allowPrivilegeEscalation, false);
  assert.deepEqual(container.securityContext.capabilities.drop, ["ALL"]);
  for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"]) {
    assert.equal(container[probe].httpGet.path, "/health", probe);
  }
  const volumes = Object.fromEntries(pod.volumes.map((v: KubeObject) => [v.name, v]));
  const mounts = Object.fromEntries(
    container.volumeMounts.map((m: { name: string; mountPath: string }) => [m.mountPath, m.name]),
  );
  assert.equal(mounts["/tmp"], "tmp");
  assert.equal(volumes.tmp.emptyDir.sizeLimit, "512Mi");
  assert.equal(mounts["/var/lib/cano"], "state");
  assert.equal(
    canoConfig(objects).delivery && (canoConfig(objects).delivery as KubeObject).state,
    "/var/lib/cano/cano.db",
  );
  assert.deepEqual(container.args, ["--config", "/etc/cano/config.yaml"]);
});

Deno.test("helm template maps secretEnv to secretKeyRef env", async () => {
  const objects = await render({ files: [exampleFile("slack-only")] });
  const env = find(objects, "Deployment").spec.template.spec.containers[0].env;
  assert.deepEqual(env.find((e: { name: string }) => e.name === "SLACK_TOKEN"), {
    name: "SLACK_TOKEN",
    valueFrom: { secretKeyRef: { name: "cano-slack", key: "token" } },
  });
  const config = JSON.stringify(canoConfig(objects));
  assert.ok(config.includes("${SLACK_TOKEN}"), "the config keeps the reference, not a value");
});

Deno.test("helm template mounts custom workflows at /workflows and points the config there", async () => {
  const objects = await render({ files: [exampleFile("custom-workflows")] });
  const files = find(objects, "ConfigMap", "-workflows").data;
  assert.match(files["team_owner.ts"], /id: "team-owner"/);
  const pod = find(objects, "Deployment").spec.template.spec;
  const volume = pod.volumes.find((v: KubeObject) => v.name === "workflows");
  assert.equal(volume.configMap.name, find(objects, "ConfigMap", "-workflows").metadata.name);
  const mount = pod.containers[0].volumeMounts.find((m: KubeObject) => m.name === "workflows");
  assert.equal(mount.mountPath, "/workflows");
  assert.equal(mount.subPath, undefined, "subPath mounts never update");
  assert.equal((canoConfig(objects).workflows as KubeObject).directory, "/workflows");

  const existing = await render({ set: ["customWorkflows.existingConfigMap=my-workflows"] });
  const existingPod = find(existing, "Deployment").spec.template.spec;
  assert.equal(
    existingPod.volumes.find((v: KubeObject) => v.name === "workflows").configMap.name,
    "my-workflows",
  );
  assert.equal(existing.some((o) => o.metadata.name.endsWith("-workflows")), false);
  assert.equal((canoConfig(existing).workflows as KubeObject).directory, "/workflows");
});

Deno.test("helm template rejects bad values through values.schema.json", async () => {
  const cases: [string[], RegExp][] = [
    [["destinations[0].type=stdout"], /missing propert(y|ies) 'name'/],
    [["bogus=1"], /additional properties 'bogus' not allowed/],
    [["workflows.builtin.silencer.enabeld=true"], /additional properties 'enabeld' not allowed/],
    [["server.port=99999"], /\/server\/port/],
    [["persistence.type=hostPath"], /\/persistence\/type/],
  ];
  for (const [set, expected] of cases) {
    const result = await helm(["template", "cano", CHART, ...valueArgs({ set })]);
    assert.equal(result.ok, false, `${set.join(" ")} was accepted`);
    assert.match(result.stderr, expected, set.join(" "));
  }
});

Deno.test("helm template grants write verbs only for remediation or Karo", async () => {
  for (const name of ["defaults", "slack-only", "multi-team-routing", "custom-workflows"]) {
    const objects = await render(name === "defaults" ? {} : { files: [exampleFile(name)] });
    assert.deepEqual(writes(objects), [], name);
    assert.ok(clusterVerbs(objects).get("/pods")?.includes("watch"), name);
  }
  const karo = await render({ files: [exampleFile("karo-migration")] });
  assert.deepEqual(writes(karo), ["batch/jobs:create", "karo.io/alertreactions/status:update"]);
  assert.deepEqual(clusterVerbs(karo).get("karo.io/alertreactions"), ["get", "list", "watch"]);

  const remediation = await render({
    set: ["capabilities.kubernetes.allow={pods:get,pods:delete,deployments:patch}"],
  });
  assert.deepEqual(writes(remediation), ["/pods:delete", "apps/deployments:patch"]);
});

Deno.test("helm template derives read rules from the enabled sources", async () => {
  const defaults = clusterVerbs(await render());
  assert.deepEqual(defaults.get("/secrets"), ["list", "watch"], "the Helm source reads Secrets");
  const multiTeam = clusterVerbs(await render({ files: [exampleFile("multi-team-routing")] }));
  assert.equal(multiTeam.has("/secrets"), false, "Helm source off: no Secret reads");
  const changes = clusterVerbs(await render({ set: ["kubernetes.sources.changes.enabled=true"] }));
  assert.deepEqual(changes.get("/configmaps"), ["list", "watch"]);
  assert.deepEqual(changes.get("apps/statefulsets"), ["get", "list", "watch"]);
  const off = await render({ set: ["kubernetes.enabled=false"] });
  assert.equal(off.some((o) => o.kind === "ClusterRole"), false);
  assert.equal(find(off, "Deployment").spec.template.spec.automountServiceAccountToken, false);
});

Deno.test("helm template turns on leader election and its lease Role for several replicas", async () => {
  const single = await render();
  assert.equal(single.some((o) => o.kind === "Role"), false);
  for (const set of [["autoscaling.enabled=true"], ["replicaCount=3"]]) {
    const objects = await render({ set });
    const kubernetes = canoConfig(objects).kubernetes as KubeObject;
    assert.equal(kubernetes.leaderElection.enabled, true, set.join(" "));
    const role = find(objects, "Role", "-leader");
    assert.equal(role.metadata.namespace, "monitoring");
    assert.deepEqual(role.rules[0].resources, ["leases"]);
  }
  const hpa = find(await render({ set: ["autoscaling.enabled=true"] }), "HorizontalPodAutoscaler");
  assert.equal(hpa.spec.scaleTargetRef.kind, "Deployment");
  const pvc = await helm([
    "template",
    "cano",
    CHART,
    ...valueArgs({ set: ["persistence.type=pvc", "replicaCount=2"] }),
  ]);
  assert.equal(pvc.ok, false);
  assert.match(pvc.stderr, /replicas cannot share/);
});

Deno.test("helm template renders monitoring objects on Cano's real metric names", async () => {
  const objects = await render({ files: [exampleFile("multi-team-routing")] });
  const rules = find(objects, "PrometheusRule").spec.groups[0].rules;
  const metrics = await Deno.readTextFile(join(ROOT, "engine/metrics.ts"));
  for (const rule of rules) {
    for (const metric of rule.expr.match(/cano_[a-z_]+/g) ?? []) {
      const base = metric.replace(/_bucket$/, "");
      assert.ok(metrics.includes(`"${base}"`), `${rule.alert} uses unknown metric ${metric}`);
    }
  }
  assert.ok(rules.length >= 5);
  assert.equal(find(objects, "ServiceMonitor").spec.endpoints[0].path, "/metrics");
  const crd = find(objects, "CustomResourceDefinition");
  assert.equal(crd.metadata.name, "alertreactions.karo.io");
});
