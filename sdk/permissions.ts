/**
 * What a workflow may reach outside its sandbox. A workflow declares; the operator's config
 * decides. A capability is granted only when both allow it.
 *
 * @example
 * ```ts
 * import { PermissionsSchema } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * const permissions = PermissionsSchema.parse({
 *   kubernetes: ["pods:get", "pods/log:get"], prometheus: true, http: ["grafana.example.com"],
 * });
 * assert.equal(permissions.prometheus, true);
 * assert.throws(() => PermissionsSchema.parse({ kubernetes: ["pods"] }));
 * ```
 *
 * @module
 */
import { z } from "zod";

/** A Kubernetes permission, `resource:verb`, e.g. `pods:get`, `pods/log:get`, `jobs:create`. */
export const KubernetesPermissionSchema = z.string().regex(
  /^[a-z0-9.-]+(\/[a-z]+)?:(get|list|watch|create|update|patch|delete|\*)$/,
  'Expected "resource:verb", e.g. "pods:get" or "pods/log:get"',
);

/** Capabilities a workflow asks for. */
export const PermissionsSchema = z.strictObject({
  kubernetes: z.array(KubernetesPermissionSchema).default([]),
  prometheus: z.boolean().default(false),
  http: z.array(
    z.string().regex(/^(\*\.)?[a-z0-9.-]+(:\d+)?$/i, 'Expected a host name like "api.example.com"'),
  ).default([]).describe("Hosts ctx.http.fetch may call"),
});
/** Capabilities as written (defaults may be omitted). */
export type PermissionsInput = z.input<typeof PermissionsSchema>;
/** Capabilities after parsing. */
export type Permissions = z.output<typeof PermissionsSchema>;
