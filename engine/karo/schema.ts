/**
 * The zod schema of an AlertReaction's `spec` (`karo.io`), the same in `v1alpha1` and `v1`:
 * Karo's CRD field for field, with checks that go further, so a broken reaction is reported
 * once, when it is applied (in its `Ready` condition and the logs), and not at every alert:
 * a volume must have exactly one source, a volume mount must name a volume, a resource
 * quantity must parse (Karo panicked on a bad one), a regex matcher must compile, and a
 * `valueFrom` must name exactly one source. Unknown fields are accepted and ignored.
 * `reaction.ts` turns a validated object into the normalised `AlertReaction`.
 *
 * @example
 * ```ts
 * import { AlertReactionSpecSchema } from "./schema.ts";
 * import assert from "node:assert/strict";
 *
 * const result = AlertReactionSpecSchema.safeParse({
 *   alertName: "DiskSpaceLow",
 *   volumes: [{ name: "tmp" }],
 *   actions: [{ name: "cleanup", image: "alpine" }],
 * });
 * assert.equal(result.success, false);
 * assert.deepEqual(result.error?.issues[0]?.path, ["volumes", 0]);
 * ```
 *
 * @module
 */
import { z } from "zod";
import { compileMatcher, MATCH_OPERATORS } from "./matchers.ts";

/** The API group. */
export const KARO_GROUP = "karo.io";
/** The versions Cano understands. */
export const KARO_VERSIONS = ["v1alpha1", "v1"] as const;
/** One of {@linkcode KARO_VERSIONS}. */
export type KaroVersion = typeof KARO_VERSIONS[number];

/** A Kubernetes resource quantity, e.g. `500m`, `1Gi`, `2`, `1e3`. */
const QUANTITY = /^[+-]?(\d+(\.\d*)?|\.\d+)([KMGTPE]i|[numkMGTPE]|[eE][+-]?\d+)?$/;

/** A key of a ConfigMap or Secret. */
export const KeyRefSchema = z.looseObject({
  name: z.string().min(1),
  key: z.string().min(1),
  optional: z.boolean().optional(),
});

const EnvVarSchema = z.looseObject({
  name: z.string().min(1),
  value: z.string().optional(),
  valueFrom: z.looseObject({
    alertRef: z.looseObject({ fieldPath: z.string() }).optional(),
    configMapKeyRef: KeyRefSchema.optional(),
    secretKeyRef: KeyRefSchema.optional(),
  }).optional(),
});

const QuantityMapSchema = z.record(
  z.string(),
  z.string().regex(QUANTITY, "Expected a Kubernetes quantity such as 500m or 1Gi"),
);

const ActionSchema = z.looseObject({
  name: z.string().min(1),
  image: z.string().min(1),
  command: z.array(z.string()).optional(),
  args: z.array(z.string()).optional(),
  env: z.array(EnvVarSchema).optional(),
  resources: z.looseObject({
    limits: QuantityMapSchema.optional(),
    requests: QuantityMapSchema.optional(),
  }).optional(),
  volumeMounts: z.array(z.looseObject({
    name: z.string().min(1),
    mountPath: z.string().min(1),
    subPath: z.string().optional(),
    readOnly: z.boolean().optional(),
  })).optional(),
  serviceAccount: z.string().optional(),
});

const VolumeSchema = z.looseObject({
  name: z.string().min(1),
  configMap: z.looseObject({
    name: z.string().min(1),
    defaultMode: z.number().int().optional(),
    optional: z.boolean().optional(),
  }).optional(),
  secret: z.looseObject({
    secretName: z.string().min(1),
    defaultMode: z.number().int().optional(),
    optional: z.boolean().optional(),
  }).optional(),
  emptyDir: z.looseObject({
    medium: z.string().optional(),
    sizeLimit: z.string().regex(QUANTITY, "Expected a Kubernetes quantity such as 1Gi")
      .optional(),
  }).optional(),
  persistentVolumeClaim: z.looseObject({
    claimName: z.string().min(1),
    readOnly: z.boolean().optional(),
  }).optional(),
  hostPath: z.looseObject({ path: z.string().min(1), type: z.string().optional() }).optional(),
});

/** The volume sources Karo supports, in the order it checks them. */
export const VOLUME_SOURCES = [
  "configMap",
  "secret",
  "emptyDir",
  "persistentVolumeClaim",
  "hostPath",
] as const;

/** `spec` of an AlertReaction; the same in `v1alpha1` and `v1`. */
export const AlertReactionSpecSchema = z.looseObject({
  alertName: z.string().min(1),
  matchers: z.array(z.looseObject({
    name: z.string().min(1),
    operator: z.enum(MATCH_OPERATORS),
    value: z.string(),
  })).optional(),
  volumes: z.array(VolumeSchema).optional(),
  actions: z.array(ActionSchema).min(1, "Expected at least one action"),
}).superRefine((spec, ctx) => {
  const volumes = new Set<string>();
  spec.volumes?.forEach((volume, i) => {
    volumes.add(volume.name);
    const sources = VOLUME_SOURCES.filter((s) => volume[s] !== undefined);
    if (sources.length !== 1) {
      ctx.addIssue({
        code: "custom",
        path: ["volumes", i],
        message: `Expected exactly one of ${VOLUME_SOURCES.join(", ")}, found ${
          sources.length === 0 ? "none" : sources.join(", ")
        }`,
      });
    }
  });
  spec.actions.forEach((action, i) => {
    action.volumeMounts?.forEach((mount, j) => {
      if (!volumes.has(mount.name)) {
        ctx.addIssue({
          code: "custom",
          path: ["actions", i, "volumeMounts", j, "name"],
          message: `No volume "${mount.name}" in spec.volumes`,
        });
      }
    });
    action.env?.forEach((env, j) => {
      const from = env.valueFrom;
      const count = from
        ? [from.alertRef, from.configMapKeyRef, from.secretKeyRef].filter(Boolean).length
        : 0;
      if (!env.value && from && count !== 1) {
        ctx.addIssue({
          code: "custom",
          path: ["actions", i, "env", j, "valueFrom"],
          message: "Expected exactly one of alertRef, configMapKeyRef, secretKeyRef",
        });
      }
    });
  });
  spec.matchers?.forEach((matcher, i) => {
    try {
      compileMatcher(matcher);
    } catch (error) {
      ctx.addIssue({
        code: "custom",
        path: ["matchers", i, "value"],
        message: error instanceof Error ? error.message : String(error),
      });
    }
  });
});
/** `spec` of an AlertReaction, as validated. */
export type AlertReactionSpec = z.infer<typeof AlertReactionSpecSchema>;
