/**
 * `defineWorkflow`: the one contract for built-in and user workflows.
 *
 * @example A workflow that adds a note to every critical alert
 * ```ts
 * import { defineWorkflow, markdown, z } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * const workflow = defineWorkflow({
 *   id: "critical-note",
 *   description: "Adds the on-call note to HIGH alerts",
 *   triggers: [{ on: "prometheus_alert", severity: "HIGH" }],
 *   params: z.object({ note: z.string().default("Page the on-call engineer") }),
 *   run(ctx) {
 *     ctx.enrich("On-call", [markdown(ctx.params.note)]);
 *   },
 * });
 * assert.equal(workflow.kind, "cano.workflow");
 * assert.equal(workflow.triggers[0]?.on, "prometheus_alert");
 * assert.ok(Object.isFrozen(workflow));
 * ```
 *
 * @module
 */
import { z } from "zod";
import type { WorkflowContext } from "./context.ts";
import { WorkflowDefinitionError } from "./errors.ts";
import { type Permissions, type PermissionsInput, PermissionsSchema } from "./permissions.ts";
import { type Trigger, type TriggerInput, TriggerSchema } from "./triggers.ts";

/** Ids are kebab-case: lower-case letters, digits and dashes. */
export const WORKFLOW_ID_PATTERN: RegExp = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

// deno-lint-ignore no-explicit-any -- params schemas are any zod type; their output is typed below
type AnySchema = z.ZodType<any, any>;
// deno-lint-ignore ban-types -- `{}` is the output of an empty object schema
type EmptyParams = {};

/** What a workflow author passes to {@linkcode defineWorkflow}. */
export interface WorkflowDefinition<P extends AnySchema = z.ZodObject<EmptyParams>> {
  /** Stable id, kebab-case, unique across built-in and user workflows. */
  id: string;
  /** One sentence shown in `cano workflows list` and the docs. */
  description: string;
  /** When to run; data, so the engine matches without running user code. */
  triggers: readonly TriggerInput[];
  /** Capabilities the workflow needs; the operator's config may narrow them. */
  permissions?: PermissionsInput;
  /** Schema of the params; defaults live here and config values are checked against it. */
  params?: P;
  /** Does the work. May be async; bounded by the engine's deadline (see `ctx.signal`). */
  run(ctx: WorkflowContext<z.output<P>>): void | Promise<void>;
}

/** A checked, frozen workflow definition, as the engine and the sandbox load it. */
export interface Workflow<P extends AnySchema = AnySchema> {
  /** Marks the value as a workflow, so loaders can reject other default exports. */
  readonly kind: "cano.workflow";
  /** Stable id. */
  readonly id: string;
  /** One-sentence description. */
  readonly description: string;
  /** Parsed triggers, defaults applied. */
  readonly triggers: readonly Trigger[];
  /** Parsed permissions, defaults applied. */
  readonly permissions: Permissions;
  /** Params schema (an empty object schema when the definition gave none). */
  readonly params: P;
  /** The workflow body. */
  run(ctx: WorkflowContext<z.output<P>>): void | Promise<void>;
}

const DefinitionSchema = z.object({
  id: z.string().regex(WORKFLOW_ID_PATTERN, 'Expected a kebab-case id like "oom-context"'),
  description: z.string().min(1, "Expected a one-sentence description"),
  triggers: z.array(TriggerSchema).min(1, "Expected at least one trigger"),
  permissions: PermissionsSchema.default({ kubernetes: [], prometheus: false, http: [] }),
  params: z.custom<AnySchema>((v) => v instanceof z.ZodType, "Expected a zod schema").optional(),
  run: z.custom<(...args: unknown[]) => unknown>(
    (v) => typeof v === "function",
    "Expected a run(ctx) function",
  ),
});

/**
 * Defines a workflow. Checks the definition now, so a bad file fails when it loads.
 *
 * @param definition The workflow's id, description, triggers, permissions, params and run.
 * @returns The checked, frozen workflow.
 * @throws {WorkflowDefinitionError} When the id, triggers, permissions or run are invalid.
 */
export function defineWorkflow<P extends AnySchema = z.ZodObject<EmptyParams>>(
  definition: WorkflowDefinition<P>,
): Workflow<P> {
  const result = DefinitionSchema.safeParse(definition);
  if (!result.success) throw new WorkflowDefinitionError(definition?.id, result.error);
  const { id, description, triggers, permissions } = result.data;
  return Object.freeze({
    kind: "cano.workflow",
    id,
    description,
    triggers: Object.freeze(triggers),
    permissions: Object.freeze(permissions),
    params: (definition.params ?? z.object({})) as P,
    run: definition.run,
  });
}

/**
 * Tells whether a value is a workflow made by {@linkcode defineWorkflow}.
 *
 * @param value Anything, e.g. a module's default export.
 * @returns `true` for a workflow.
 */
export function isWorkflow(value: unknown): value is Workflow {
  return typeof value === "object" && value !== null &&
    (value as { kind?: unknown }).kind === "cano.workflow" &&
    typeof (value as { run?: unknown }).run === "function";
}
