/**
 * AlertReaction objects (`karo.io`), in both forms Karo users have, normalised to one shape.
 *
 * - `karo.io/v1alpha1` is what Karo's CRD really serves: `value:` of an env var is a literal.
 * - `karo.io/v1` is the form Karo's README documents (its CRD never served it): the same
 *   fields, but `value: "labels.instance"` means the alert's label (see `env.ts`).
 *
 * Cano's CRD serves both versions with one schema and no conversion, so the API server
 * returns every object in whichever version a client asks for. The form an object was
 * *written* in is read from `metadata.managedFields` (the API version of the most recent
 * write that set `spec`), and from its `apiVersion` when the server keeps no managed fields.
 *
 * The `spec` is checked by `AlertReactionSpecSchema` (`schema.ts`).
 *
 * @example
 * ```ts
 * import { parseAlertReaction } from "./reaction.ts";
 * import assert from "node:assert/strict";
 *
 * const result = parseAlertReaction({
 *   apiVersion: "karo.io/v1",
 *   kind: "AlertReaction",
 *   metadata: { name: "diag", namespace: "default", uid: "u1" },
 *   spec: {
 *     alertName: "PodCrashLooping",
 *     actions: [{ name: "logs", image: "busybox", env: [{ name: "POD", value: "labels.pod" }] }],
 *   },
 * });
 * assert.ok(result.ok);
 * assert.deepEqual(result.reaction.actions[0]?.env, [
 *   { name: "POD", kind: "alertRef", fieldPath: "labels.pod" },
 * ]);
 * ```
 *
 * @module
 */
import type { z } from "zod";
import type { KubeObject } from "../kubernetes/api.ts";
import { type EnvSource, type KeyRef, readmeValueField } from "./env.ts";
import { compileMatcher, type Matcher } from "./matchers.ts";
import {
  type AlertReactionSpec,
  AlertReactionSpecSchema,
  KARO_GROUP,
  KARO_VERSIONS,
  type KaroVersion,
  type KeyRefSchema,
} from "./schema.ts";

/** A Kubernetes volume, as the Job's pod spec takes it. */
export type KubeVolume = Record<string, unknown> & { name: string };

/** One action, normalised. */
export interface ReactionAction {
  /** Action name. */
  name: string;
  /** Container image. */
  image: string;
  /** Entrypoint override; the image's own when absent. */
  command?: string[];
  /** Arguments. */
  args?: string[];
  /** Env sources, in order. */
  env: EnvSource[];
  /** Resource limits and requests. */
  resources?: { limits?: Record<string, string>; requests?: Record<string, string> };
  /** Mounts of the reaction's volumes. */
  volumeMounts: { name: string; mountPath: string; subPath?: string; readOnly?: boolean }[];
  /** Service account of the Job's pod (`serviceAccount` in the AlertReaction). */
  serviceAccountName?: string;
}

/** An AlertReaction, validated and normalised. */
export interface AlertReaction {
  /** `metadata.uid`. */
  uid: string;
  /** `metadata.name`. */
  name: string;
  /** `metadata.namespace`; the Jobs are created there. */
  namespace: string;
  /** `apiVersion` the object was read as (for owner references and status writes). */
  apiVersion: string;
  /** `metadata.generation`. */
  generation?: number;
  /** The form the object was written in; decides what `value:` means. */
  form: KaroVersion;
  /** Alert name, matched exactly against the `alertname` label. */
  alertName: string;
  /** Compiled matchers; all must match. */
  matchers: Matcher[];
  /** Volumes of every Job, as Kubernetes volumes. */
  volumes: KubeVolume[];
  /** Actions, one Job each. */
  actions: ReactionAction[];
}

/** A parsed AlertReaction, or every problem found with its path. */
export type ParseAlertReactionResult =
  | { ok: true; reaction: AlertReaction }
  | { ok: false; error: string };

/**
 * Validates an AlertReaction object and normalises it.
 *
 * @param object The object as the API server returns it.
 * @returns The reaction, or an error listing each problem as `path: message`.
 */
export function parseAlertReaction(object: KubeObject): ParseAlertReactionResult {
  const meta = object.metadata ?? {};
  const form = alertReactionForm(object);
  if (!form) {
    return {
      ok: false,
      error: `apiVersion: expected ${
        KARO_VERSIONS.map((v) => `${KARO_GROUP}/${v}`).join(" or ")
      }, got "${object.apiVersion}"`,
    };
  }
  if (!meta.name || !meta.namespace || !meta.uid) {
    return { ok: false, error: "metadata: expected name, namespace and uid" };
  }
  const parsed = AlertReactionSpecSchema.safeParse(object["spec"]);
  if (!parsed.success) {
    return {
      ok: false,
      error: parsed.error.issues.map((i) => `${formatPath(["spec", ...i.path])}: ${i.message}`)
        .join("; "),
    };
  }
  const spec = parsed.data;
  const reaction: AlertReaction = {
    uid: meta.uid,
    name: meta.name,
    namespace: meta.namespace,
    apiVersion: object.apiVersion!,
    form,
    alertName: spec.alertName,
    matchers: (spec.matchers ?? []).map((m) => compileMatcher(m)),
    volumes: (spec.volumes ?? []).map(toKubeVolume),
    actions: spec.actions.map((action) => toAction(action, form)),
  };
  if (typeof meta.generation === "number") reaction.generation = meta.generation;
  return { ok: true, reaction };
}

/**
 * The form an AlertReaction was written in: the API version of the latest managed-fields
 * entry that set `spec` (status writes excluded), else the object's own `apiVersion`.
 *
 * @param object The object.
 * @returns `v1alpha1`, `v1`, or `undefined` when the object is not a `karo.io` one.
 */
export function alertReactionForm(object: KubeObject): KaroVersion | undefined {
  const managed = object.metadata?.["managedFields"];
  let latest: { apiVersion: string; time: string } | undefined;
  if (Array.isArray(managed)) {
    for (const entry of managed as Record<string, unknown>[]) {
      if (entry?.["subresource"] === "status" || typeof entry?.["apiVersion"] !== "string") {
        continue;
      }
      const fields = entry["fieldsV1"];
      if (typeof fields !== "object" || fields === null || !("f:spec" in fields)) continue;
      const time = typeof entry["time"] === "string" ? entry["time"] : "";
      if (!latest || time >= latest.time) latest = { apiVersion: entry["apiVersion"], time };
    }
  }
  return versionOf(latest?.apiVersion) ?? versionOf(object.apiVersion);
}

function versionOf(apiVersion: string | undefined): KaroVersion | undefined {
  const [group, version] = apiVersion?.split("/") ?? [];
  return group === KARO_GROUP && KARO_VERSIONS.includes(version as KaroVersion)
    ? version as KaroVersion
    : undefined;
}

type SpecAction = AlertReactionSpec["actions"][number];
type SpecEnv = NonNullable<SpecAction["env"]>[number];
type SpecVolume = NonNullable<AlertReactionSpec["volumes"]>[number];

function toAction(action: SpecAction, form: KaroVersion): ReactionAction {
  const out: ReactionAction = {
    name: action.name,
    image: action.image,
    env: (action.env ?? []).map((env) => toEnvSource(env, form)),
    volumeMounts: (action.volumeMounts ?? []).map((m) => ({
      name: m.name,
      mountPath: m.mountPath,
      ...(m.subPath ? { subPath: m.subPath } : {}),
      ...(m.readOnly ? { readOnly: true } : {}),
    })),
  };
  if (action.command?.length) out.command = [...action.command];
  if (action.args?.length) out.args = [...action.args];
  const { limits, requests } = action.resources ?? {};
  if (limits || requests) {
    out.resources = {
      ...(limits ? { limits: { ...limits } } : {}),
      ...(requests ? { requests: { ...requests } } : {}),
    };
  }
  if (action.serviceAccount) out.serviceAccountName = action.serviceAccount;
  return out;
}

/** Karo's precedence: a non-empty `value` wins, then `valueFrom`, else an empty value. */
function toEnvSource(env: SpecEnv, form: KaroVersion): EnvSource {
  const { name, value, valueFrom } = env;
  if (value) {
    const field = form === "v1" ? readmeValueField(value) : undefined;
    return field === undefined
      ? { name, kind: "value", value }
      : { name, kind: "alertRef", fieldPath: field };
  }
  if (valueFrom?.alertRef) {
    return { name, kind: "alertRef", fieldPath: valueFrom.alertRef.fieldPath };
  }
  if (valueFrom?.configMapKeyRef) {
    return { name, kind: "configMapKeyRef", ref: keyRef(valueFrom.configMapKeyRef) };
  }
  if (valueFrom?.secretKeyRef) {
    return { name, kind: "secretKeyRef", ref: keyRef(valueFrom.secretKeyRef) };
  }
  return { name, kind: "value", value: "" };
}

function keyRef(ref: z.infer<typeof KeyRefSchema>): KeyRef {
  return {
    name: ref.name,
    key: ref.key,
    ...(ref.optional !== undefined ? { optional: ref.optional } : {}),
  };
}

function toKubeVolume(volume: SpecVolume): KubeVolume {
  const out: KubeVolume = { name: volume.name };
  if (volume.configMap) {
    out["configMap"] = compact({
      name: volume.configMap.name,
      defaultMode: volume.configMap.defaultMode,
      optional: volume.configMap.optional,
    });
  } else if (volume.secret) {
    out["secret"] = compact({
      secretName: volume.secret.secretName,
      defaultMode: volume.secret.defaultMode,
      optional: volume.secret.optional,
    });
  } else if (volume.emptyDir) {
    out["emptyDir"] = compact({
      medium: volume.emptyDir.medium || undefined,
      sizeLimit: volume.emptyDir.sizeLimit || undefined,
    });
  } else if (volume.persistentVolumeClaim) {
    out["persistentVolumeClaim"] = compact({
      claimName: volume.persistentVolumeClaim.claimName,
      readOnly: volume.persistentVolumeClaim.readOnly || undefined,
    });
  } else if (volume.hostPath) {
    out["hostPath"] = compact({
      path: volume.hostPath.path,
      type: volume.hostPath.type || undefined,
    });
  }
  return out;
}

function compact(object: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined));
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    out += typeof key === "number" ? `[${key}]` : `${out ? "." : ""}${String(key)}`;
  }
  return out;
}
