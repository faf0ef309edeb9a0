/**
 * Change tracking: a `change` issue when a Deployment, StatefulSet or DaemonSet `spec`
 * changes (its `metadata.generation` increases) or a ConfigMap's `data` changes, with a
 * diff block of just the changed part, for the babysitter workflows.
 *
 * Status-only updates, `managedFields`, `resourceVersion` and annotations such as
 * `deployment.kubernetes.io/revision` never produce an issue: only `spec` (workloads) and
 * `data` / `binaryData` (ConfigMaps) are compared. Arrays of named items (containers, env,
 * ports, volumes) are matched by `name`, so the diff shows the one container that changed,
 * with its name. Env values whose name looks like a credential are masked, and
 * `binaryData` is shown as a size, never as content.
 *
 * @example
 * ```ts
 * import { detectResourceChange } from "./changes.ts";
 * import assert from "node:assert/strict";
 *
 * const deploy = (generation: number, image: string) => ({
 *   kind: "Deployment",
 *   metadata: { name: "api", namespace: "shop", generation },
 *   spec: { replicas: 3, template: { spec: { containers: [{ name: "api", image }, { name: "proxy", image: "envoy:1" }] } } },
 * });
 * const [issue] = detectResourceChange(deploy(1, "api:1"), deploy(2, "api:2"));
 * assert.equal(issue?.type, "change");
 * assert.deepEqual(issue?.enrichments[0]?.blocks[0], {
 *   type: "diff",
 *   before: { template: { spec: { containers: [{ name: "api", image: "api:1" }] } } },
 *   after: { template: { spec: { containers: [{ name: "api", image: "api:2" }] } } },
 * });
 * ```
 *
 * @module
 */
import { diff, type Issue, type Severity } from "@cano/sdk";
import type { KubeObject } from "../kubernetes/api.ts";
import {
  buildIssue,
  type DetectorOptions,
  displayName,
  parseTime,
  subjectOf,
} from "./_kube_issue.ts";

/** Kinds whose changes are tracked. */
export const CHANGE_KINDS: readonly string[] = Object.freeze([
  "Deployment",
  "StatefulSet",
  "DaemonSet",
  "ConfigMap",
]);

/** Workflow id the diff enrichment is stamped with. */
export const CHANGE_ENRICHMENT_WORKFLOW = "kubernetes-changes";

/** Options of {@linkcode detectResourceChange}. */
export interface ChangeDetectorOptions extends DetectorOptions {
  /** Kind of the objects (watch events may lack `kind`). @default next.kind */
  kind?: string;
  /** Severity. @default "INFO" */
  severity?: Severity;
}

const SECRET_NAME = /pass(word)?|secret|token|api[-_]?key|credential|private[-_]?key/i;

/** A before/after pair holding only what differs; undefined when equal. */
export type ChangedPart = { before: unknown; after: unknown; paths: string[] } | undefined;

/**
 * Compares two JSON values and keeps only what differs. Objects are compared key by key;
 * arrays whose items all have a `name` are matched by name (the name is kept in the
 * output); other arrays are compared whole.
 *
 * @param before The old value.
 * @param after The new value.
 * @param path Path prefix for the changed paths.
 * @returns The changed part and the changed paths, or undefined when equal.
 * @example
 * ```ts
 * import { changedPart } from "./changes.ts";
 * import assert from "node:assert/strict";
 *
 * const part = changedPart({ a: 1, b: { c: 2, d: 3 } }, { a: 1, b: { c: 2, d: 4 } });
 * assert.deepEqual(part, { before: { b: { d: 3 } }, after: { b: { d: 4 } }, paths: ["b.d"] });
 * assert.equal(changedPart([1, 2], [1, 2]), undefined);
 * ```
 */
export function changedPart(before: unknown, after: unknown, path = ""): ChangedPart {
  if (isPlainObject(before) && isPlainObject(after)) {
    const outBefore: Record<string, unknown> = {};
    const outAfter: Record<string, unknown> = {};
    const paths: string[] = [];
    for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
      const part = changedPart(before[key], after[key], path ? `${path}.${key}` : key);
      if (!part) continue;
      if (part.before !== undefined) outBefore[key] = part.before;
      if (part.after !== undefined) outAfter[key] = part.after;
      paths.push(...part.paths);
    }
    return paths.length ? { before: outBefore, after: outAfter, paths } : undefined;
  }
  if (isNamedList(before) && isNamedList(after)) {
    const outBefore: unknown[] = [];
    const outAfter: unknown[] = [];
    const paths: string[] = [];
    const names = new Set([...before.map((i) => i.name), ...after.map((i) => i.name)]);
    for (const name of names) {
      const a = before.find((i) => i.name === name);
      const b = after.find((i) => i.name === name);
      const part = changedPart(a, b, `${path}[${name}]`);
      if (!part) continue;
      if (a) outBefore.push(isPlainObject(part.before) ? { name, ...part.before } : a);
      if (b) outAfter.push(isPlainObject(part.after) ? { name, ...part.after } : b);
      paths.push(...part.paths);
    }
    return paths.length ? { before: outBefore, after: outAfter, paths } : undefined;
  }
  return JSON.stringify(before) === JSON.stringify(after)
    ? undefined
    : { before, after, paths: [path || "."] };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isNamedList(value: unknown): value is ({ name: string } & Record<string, unknown>)[] {
  return Array.isArray(value) && value.length > 0 &&
    value.every((item) => isPlainObject(item) && typeof item["name"] === "string");
}

/** The part of an object that is compared: `spec`, or `data` + `binaryData` sizes. */
function trackedPart(kind: string, object: KubeObject): unknown {
  if (kind === "ConfigMap") {
    const binary = object["binaryData"] as Record<string, string> | undefined;
    const sizes = binary
      ? Object.fromEntries(
        Object.entries(binary).map(([k, v]) => [k, `<${v.length} base64 chars>`]),
      )
      : undefined;
    return { data: object["data"] ?? {}, ...(sizes ? { binaryData: sizes } : {}) };
  }
  return maskSecrets(object["spec"]);
}

function maskSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(maskSecrets);
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) {
    out[key] = key === "env" && Array.isArray(inner)
      ? inner.map((e) =>
        isPlainObject(e) && typeof e["name"] === "string" && SECRET_NAME.test(e["name"]) &&
          typeof e["value"] === "string"
          ? { ...e, value: "***" }
          : e
      )
      : maskSecrets(inner);
  }
  return out;
}

function changedAt(object: KubeObject): number | undefined {
  const fields = object.metadata?.["managedFields"] as { time?: string }[] | undefined;
  const times = (fields ?? []).map((f) => parseTime(f.time)).filter((t): t is number =>
    t !== undefined
  );
  return times.length ? Math.max(...times) : undefined;
}

/**
 * Detects a spec or data change of a tracked object.
 *
 * @param previous The object as last seen; undefined (a new object) yields nothing.
 * @param next The object now.
 * @param options Kind, severity, clock.
 * @returns One `change` issue with a diff enrichment, or none.
 */
export function detectResourceChange(
  previous: KubeObject | undefined,
  next: KubeObject,
  options: ChangeDetectorOptions = {},
): Issue[] {
  const kind = options.kind ?? next.kind ?? "";
  if (!previous || !CHANGE_KINDS.includes(kind)) return [];
  if (kind !== "ConfigMap") {
    const before = previous.metadata?.generation;
    const after = next.metadata?.generation;
    if (before !== undefined && after !== undefined && after <= before) return [];
  }
  const part = changedPart(trackedPart(kind, previous), trackedPart(kind, next));
  if (!part) return [];
  const shown = part.paths.slice(0, 3).join(", ") + (part.paths.length > 3 ? ", …" : "");
  return [buildIssue({
    key: [kind, next.metadata?.namespace, next.metadata?.name, "", "changed"],
    aggregationKey: "resource_changed",
    type: "change",
    title: `${kind} ${displayName(next)} changed: ${shown}`,
    description: `Changed: ${part.paths.join(", ")}`,
    severity: options.severity ?? "INFO",
    status: "firing",
    subject: subjectOf(kind, next),
    labels: {
      namespace: next.metadata?.namespace,
      kind,
      name: next.metadata?.name,
      generation: next.metadata?.generation,
    },
    annotations: {
      changed_paths: part.paths.join(","),
      previous_generation: previous.metadata?.generation,
      resource_version: next.metadata?.resourceVersion,
    },
    startsAt: changedAt(next),
    enrichments: [{
      title: `${kind} ${displayName(next)} changes`,
      workflow: CHANGE_ENRICHMENT_WORKFLOW,
      blocks: [diff(part.before, part.after)],
    }],
  }, options)];
}
