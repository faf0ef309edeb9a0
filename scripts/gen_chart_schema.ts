/**
 * `deno task gen:chart`: writes the chart files that come from Cano's code, so they cannot
 * drift from it (STYLE.md R11):
 *
 * - `charts/cano/values.schema.json`: the chart's own keys (image, RBAC, persistence...)
 *   next to Cano's config schema (`z.toJSONSchema` of `CanoConfigSchema`, input side), so
 *   `helm install` rejects a bad config value or an unknown key before Cano starts. A string
 *   with a pattern or format also accepts a `${ENV_VAR}` reference, which Cano resolves at
 *   load, before its own check.
 * - `charts/cano/templates/_generated.tpl`: the API group of each kind `ctx.k8s` serves and
 *   the defaults of the Kubernetes sources and capability policy, for the RBAC rules.
 * - `charts/cano/crds/alertreactions.karo.io.yaml`: a copy of `engine/karo/crds/`.
 * - The values table of `charts/cano/README.md`, from the `# --` comments of `values.yaml`.
 *
 * `tests/helm_chart_test.ts` asserts the committed files equal what this script writes.
 *
 * @module
 */
import { KUBERNETES_KINDS } from "@cano/sdk";
import { isMap, isScalar, isSeq, type Pair, parseDocument, type YAMLMap } from "yaml";
import { z } from "zod";
import { DEFAULT_KUBERNETES_ALLOW } from "../engine/capabilities/policy.ts";
import { CanoConfigSchema } from "../engine/config/schema.ts";
import { KubernetesSourcesSchema } from "../engine/sources/kubernetes_config.ts";

const ROOT = new URL("../", import.meta.url);
const CHART = "charts/cano/";
const TABLE_START = "<!-- values-table:start (deno task gen:chart) -->";
const TABLE_END = "<!-- values-table:end -->";

type JsonSchema = Record<string, unknown>;

const str: JsonSchema = { type: "string" };
const bool: JsonSchema = { type: "boolean" };
const obj: JsonSchema = { type: "object" };
const list: JsonSchema = { type: "array", items: { type: "object" } };
const strict = (properties: Record<string, JsonSchema>): JsonSchema => ({
  type: "object",
  additionalProperties: false,
  properties,
});
const int = (minimum: number, maximum?: number): JsonSchema => ({
  type: "integer",
  minimum,
  ...(maximum === undefined ? {} : { maximum }),
});
const quantity: JsonSchema = { type: ["string", "integer"] };

/** JSON schema of the chart's own keys (everything that is not Cano's config). */
const CHART_VALUES: Record<string, JsonSchema> = {
  global: { ...obj, description: "Helm's global values (unused)" },
  nameOverride: str,
  fullnameOverride: str,
  image: strict({
    repository: { type: "string", minLength: 1 },
    tag: str,
    pullPolicy: { enum: ["Always", "IfNotPresent", "Never"] },
  }),
  imagePullSecrets: list,
  replicaCount: int(0),
  autoscaling: strict({
    enabled: bool,
    minReplicas: int(1),
    maxReplicas: int(1),
    targetCPUUtilizationPercentage: int(1, 100),
  }),
  serviceAccount: strict({ create: bool, name: str, annotations: obj }),
  rbac: strict({ create: bool, extraRules: list }),
  podAnnotations: obj,
  podLabels: obj,
  podSecurityContext: obj,
  securityContext: obj,
  resources: obj,
  nodeSelector: obj,
  tolerations: list,
  affinity: obj,
  priorityClassName: str,
  log: strict({
    level: { enum: ["debug", "info", "warn", "error"] },
    format: { enum: ["json", "text"] },
  }),
  secretEnv: {
    type: "object",
    propertyNames: { pattern: "^[A-Za-z_][A-Za-z0-9_]*$" },
    additionalProperties: {
      type: "object",
      additionalProperties: false,
      required: ["secret", "key"],
      properties: {
        secret: { type: "string", minLength: 1 },
        key: { type: "string", minLength: 1 },
      },
    },
  },
  extraEnv: list,
  envFrom: list,
  tmp: strict({ sizeLimit: quantity }),
  persistence: strict({
    enabled: bool,
    type: { enum: ["emptyDir", "pvc"] },
    mountPath: { type: "string", pattern: "^/" },
    sizeLimit: quantity,
    size: quantity,
    storageClass: str,
    existingClaim: str,
  }),
  customWorkflows: strict({
    files: {
      type: "object",
      propertyNames: { pattern: "^[A-Za-z0-9_.-]+\\.(ts|js|mts|mjs|json)$" },
      additionalProperties: str,
    },
    existingConfigMap: str,
    mountPath: { type: "string", pattern: "^/" },
  }),
  service: strict({
    type: { enum: ["ClusterIP", "NodePort", "LoadBalancer"] },
    port: int(1, 65535),
    annotations: obj,
  }),
  networkPolicy: strict({
    enabled: bool,
    ingressFrom: list,
    egressPorts: { type: "array", items: int(1, 65535) },
    extraEgress: list,
  }),
  serviceMonitor: strict({ enabled: bool, interval: str, labels: obj }),
  prometheusRule: strict({
    enabled: bool,
    labels: obj,
    alertLabels: obj,
    disabled: { type: "array", items: str },
  }),
};

const REFERENCE: JsonSchema = {
  type: "string",
  pattern: "\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}|\\$\\{file:[^}]+\\}",
  description: "A ${ENV_VAR} or ${file:/path} reference, resolved by Cano at load",
};

/** Lets a constrained string also hold a `${...}` reference (not in property names). */
function allowReferences(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(allowReferences);
  if (typeof node !== "object" || node === null) return node;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    out[key] = key === "propertyNames" ? value : allowReferences(value);
  }
  if (out.type === "string" && ("pattern" in out || "format" in out)) {
    const { description, default: fallback, ...rest } = out;
    return {
      ...(description === undefined ? {} : { description }),
      ...(fallback === undefined ? {} : { default: fallback }),
      anyOf: [rest, REFERENCE],
    };
  }
  return out;
}

/**
 * The values schema: the chart's keys and Cano's config keys in one strict object.
 *
 * @returns The JSON schema.
 */
export function valuesSchema(): JsonSchema {
  const config = z.toJSONSchema(CanoConfigSchema, { io: "input", unrepresentable: "any" });
  const configProperties = (allowReferences(config) as JsonSchema).properties as Record<
    string,
    JsonSchema
  >;
  for (const key of Object.keys(configProperties)) {
    if (key in CHART_VALUES) throw new Error(`Cannot merge the values schema: "${key}" is both`);
  }
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    title: "Values of the Cano chart (generated by scripts/gen_chart_schema.ts)",
    type: "object",
    additionalProperties: false,
    required: config.required,
    properties: { ...CHART_VALUES, ...configProperties },
  };
}

/**
 * The `_generated.tpl` helpers: kind groups and source defaults for the RBAC template.
 *
 * @returns The template text.
 */
export function generatedTemplates(): string {
  const groups = Object.fromEntries(KUBERNETES_KINDS.map((k) => [k.plural, k.group]));
  const sources = KubernetesSourcesSchema.parse({});
  const defaults = {
    sources: Object.fromEntries(
      (["pods", "jobs", "deployments", "nodes", "events", "helm", "changes"] as const).map(
        (name) => [name, sources[name].enabled],
      ),
    ),
    changeKinds: sources.changes.kinds,
    eventsApi: sources.events.api,
    kubernetesAllow: DEFAULT_KUBERNETES_ALLOW,
  };
  return [
    "{{/* Generated by scripts/gen_chart_schema.ts from Cano's code; do not edit. */}}",
    "",
    "{{/* API group of each resource ctx.k8s serves (sdk/kubernetes.ts KUBERNETES_KINDS). */}}",
    '{{- define "cano.kindGroups" -}}',
    JSON.stringify(groups),
    "{{- end }}",
    "",
    "{{/* Defaults of the Kubernetes sources and the ctx.k8s policy (engine schemas). */}}",
    '{{- define "cano.configDefaults" -}}',
    JSON.stringify(defaults),
    "{{- end }}",
    "",
  ].join("\n");
}

interface Row {
  key: string;
  type: string;
  default: string;
  description: string;
}

function rowsOf(map: YAMLMap, prefix: string, rows: Row[], leading = map.commentBefore): void {
  for (const [index, pair] of (map.items as Pair[]).entries()) {
    const key = `${prefix}${String((pair.key as { value: unknown }).value)}`;
    // The yaml parser attaches a comment before a map's first key to the map (or document).
    const before = (pair.key as { commentBefore?: string }).commentBefore ??
      (index === 0 ? leading : undefined);
    const comment = (before ?? "")
      .split("\n").map((line) => line.trim()).filter((line) => line.startsWith("--"));
    const value = pair.value;
    if (comment.length === 0) {
      if (isMap(value)) {
        rowsOf(value, `${key}.`, rows);
        continue;
      }
      throw new Error(`Cannot document values.yaml: "${key}" has no "# --" comment`);
    }
    const json = value === null ? null : (value as { toJSON(): unknown }).toJSON();
    const type = isMap(value)
      ? "object"
      : isSeq(value)
      ? "list"
      : isScalar(value)
      ? (value.value === null ? "null" : typeof value.value)
      : "null";
    rows.push({
      key,
      type,
      default: JSON.stringify(json),
      description: comment.map((line) => line.slice(2).trim()).join(" "),
    });
  }
}

/**
 * The values table of the chart README, from the `# --` comments of `values.yaml`.
 *
 * @param valuesYaml The text of `values.yaml`.
 * @returns The Markdown table.
 * @throws {Error} When a key has no `# --` comment and is not a map of documented keys.
 */
export function valuesTable(valuesYaml: string): string {
  const doc = parseDocument(valuesYaml);
  const rows: Row[] = [];
  if (!isMap(doc.contents)) throw new Error("Cannot document values.yaml: it is not a map");
  rowsOf(doc.contents, "", rows, doc.commentBefore ?? doc.contents.commentBefore);
  const cell = (text: string) => text.replaceAll("|", "\\|");
  return [
    "| key | type | default | description |",
    "| --- | --- | --- | --- |",
    ...rows.map((r) =>
      `| \`${r.key}\` | ${r.type} | \`${cell(r.default)}\` | ${cell(r.description)} |`
    ),
  ].join("\n");
}

/**
 * Every generated file, by path from the repository root.
 *
 * @returns The files' texts.
 */
export async function generateChartFiles(): Promise<Record<string, string>> {
  const read = (path: string) => Deno.readTextFile(new URL(path, ROOT));
  const readme = await read(`${CHART}README.md`);
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start === -1 || end < start) {
    throw new Error(`Cannot update ${CHART}README.md: the values-table markers are missing`);
  }
  const table = valuesTable(await read(`${CHART}values.yaml`));
  return {
    [`${CHART}values.schema.json`]: JSON.stringify(valuesSchema(), null, 2) + "\n",
    [`${CHART}templates/_generated.tpl`]: generatedTemplates(),
    [`${CHART}crds/alertreactions.karo.io.yaml`]: await read(
      "engine/karo/crds/alertreactions.karo.io.yaml",
    ),
    [`${CHART}README.md`]: readme.slice(0, start + TABLE_START.length) + "\n\n" + table + "\n\n" +
      readme.slice(end),
  };
}

if (import.meta.main) {
  for (const [path, text] of Object.entries(await generateChartFiles())) {
    await Deno.writeTextFile(new URL(path, ROOT), text);
  }
}
