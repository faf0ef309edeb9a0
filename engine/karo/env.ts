/**
 * Environment variables of AlertReaction actions: the normalised sources, and their
 * resolution into the env of a Job's container.
 *
 * | AlertReaction env | In the Job |
 * |---|---|
 * | `value: "x"` (`karo.io/v1alpha1`) | `value: "x"`, literal, as Karo does |
 * | `value: "labels.pod"` (`karo.io/v1`, the form Karo's README documents) | the alert's `pod` label; other values stay literal |
 * | `valueFrom.alertRef.fieldPath` | the alert field, resolved now (see `alert_data.ts`) |
 * | `valueFrom.configMapKeyRef` | `valueFrom.configMapKeyRef`, resolved by the kubelet |
 * | `valueFrom.secretKeyRef` | `valueFrom.secretKeyRef`, resolved by the kubelet |
 *
 * Karo read ConfigMaps and Secrets itself and wrote their values into the Job spec, where
 * anyone who can read Jobs sees the secret. Cano passes both as key references: the value
 * never passes through Cano, Cano needs no read access to Secrets or ConfigMaps, and
 * `optional` keeps its Kubernetes meaning. The visible difference: a missing, non-optional
 * key no longer stops the Job from being created; its pod fails with
 * `CreateContainerConfigError` instead, where `kubectl describe` shows why.
 *
 * A field the alert lacks is an error, as in Karo: that action's Job is not created, and the
 * other actions go on.
 *
 * @example
 * ```ts
 * import { resolveEnv } from "./env.ts";
 * import { alertDataFromAlert } from "./alert_data.ts";
 * import assert from "node:assert/strict";
 *
 * const data = alertDataFromAlert({ status: "firing", labels: { alertname: "X", pod: "api-0" } });
 * const result = resolveEnv([
 *   { name: "POD", kind: "alertRef", fieldPath: "labels.pod" },
 *   { name: "TOKEN", kind: "secretKeyRef", ref: { name: "slack", key: "token" } },
 * ], data);
 * assert.deepEqual(result, { ok: true, env: [
 *   { name: "POD", value: "api-0" },
 *   { name: "TOKEN", valueFrom: { secretKeyRef: { name: "slack", key: "token" } } },
 * ] });
 * ```
 *
 * @module
 */
import { type AlertData, resolveAlertField } from "./alert_data.ts";

/** A key of a ConfigMap or Secret in the AlertReaction's namespace. */
export interface KeyRef {
  /** Object name. */
  name: string;
  /** Key in its data. */
  key: string;
  /** Whether the object or key may be missing. */
  optional?: boolean;
}

/** Where one env var of an action comes from, after normalisation of both API forms. */
export type EnvSource =
  | { name: string; kind: "value"; value: string }
  | { name: string; kind: "alertRef"; fieldPath: string }
  | { name: string; kind: "configMapKeyRef"; ref: KeyRef }
  | { name: string; kind: "secretKeyRef"; ref: KeyRef };

/** An env var of a Job's container, as the Kubernetes API takes it. */
export interface JobEnvVar {
  /** Variable name. */
  name: string;
  /** Literal value. */
  value?: string;
  /** Reference the kubelet resolves. */
  valueFrom?: { configMapKeyRef: KeyRef } | { secretKeyRef: KeyRef };
}

/** The env of a Job, or why it could not be built. */
export type EnvResult = { ok: true; env: JobEnvVar[] } | { ok: false; error: string };

/** Top-level alert fields the README form of `value:` reads. */
const README_FIELDS = new Set(["status", "fingerprint", "startsAt", "endsAt", "generatorURL"]);

/**
 * Interprets a `value:` of the `karo.io/v1` README form: `labels.<name>`,
 * `annotations.<name>` and the top-level fields `status`, `fingerprint`, `startsAt`, `endsAt`
 * and `generatorURL` are alert fields; anything else is a literal.
 *
 * @param value The `value:` as written.
 * @returns The field path, or `undefined` for a literal.
 * @example
 * ```ts
 * import { readmeValueField } from "./env.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(readmeValueField("labels.instance"), "labels.instance");
 * assert.equal(readmeValueField("production"), undefined);
 * ```
 */
export function readmeValueField(value: string): string | undefined {
  if (README_FIELDS.has(value)) return value;
  const match = /^(labels|annotations)\.(.+)$/.exec(value);
  return match ? value : undefined;
}

/**
 * Resolves the env of one action for one alert.
 *
 * @param sources The action's env.
 * @param data The alert map.
 * @returns The container env, or an error naming the variable and the missing field.
 */
export function resolveEnv(sources: readonly EnvSource[], data: AlertData): EnvResult {
  const env: JobEnvVar[] = [];
  for (const source of sources) {
    switch (source.kind) {
      case "value":
        env.push({ name: source.name, value: source.value });
        break;
      case "alertRef": {
        const value = resolveAlertField(data, source.fieldPath);
        if (value === undefined) {
          return {
            ok: false,
            error:
              `Cannot resolve env ${source.name}: the alert has no field "${source.fieldPath}"`,
          };
        }
        env.push({ name: source.name, value });
        break;
      }
      case "configMapKeyRef":
        env.push({ name: source.name, valueFrom: { configMapKeyRef: { ...source.ref } } });
        break;
      case "secretKeyRef":
        env.push({ name: source.name, valueFrom: { secretKeyRef: { ...source.ref } } });
        break;
    }
  }
  return { ok: true, env };
}
