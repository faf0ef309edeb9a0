/**
 * Workflows written in the config file, for operators who do not write TypeScript: triggers,
 * an optional note rendered from a template, and remediation actions (delete a pod, restart
 * a rollout, scale, re-run or create a Job).
 *
 * Each becomes a `defineWorkflow` value run in-process like a built-in, and its actions go
 * through `ctx.k8s`: the permissions are derived from the actions, and the operator's
 * `capabilities.kubernetes.allow` must still list every write (a YAML workflow cannot grant
 * itself anything either). Each action's outcome is added to the issue as a list.
 *
 * @example
 * ```yaml
 * workflows:
 *   yaml:
 *     - id: restart-stuck-cache
 *       description: Restart the cache when it crash loops
 *       triggers: [{ on: pod_crash_loop, namespace: shop, name: "cache-*" }]
 *       note: "Cano restarted {{ subject.name }}'s Deployment"
 *       actions:
 *         - { action: rollout_restart, kind: Deployment, name: "{{ labels.workload }}" }
 * ```
 *
 * @module
 */
import {
  defineWorkflow,
  type KubernetesAction,
  KubernetesActionSchema,
  type KubernetesCapability,
  kubernetesNeeds,
  list,
  markdown,
  renderTemplate,
  resolveKubernetesKind,
  TriggerSchema,
  type Workflow,
  WORKFLOW_ID_PATTERN,
  z,
} from "@cano/sdk";

/** One workflow as written under `workflows.yaml`. */
export const YamlWorkflowSchema = z.strictObject({
  id: z.string().regex(WORKFLOW_ID_PATTERN, 'Expected a kebab-case id like "restart-cache"'),
  description: z.string().min(1).default("Workflow from the config file"),
  triggers: z.array(TriggerSchema).min(1, "Expected at least one trigger"),
  note: z.string().min(1).optional().describe("Markdown added to the issue; {{ }} fills fields"),
  actions: z.array(KubernetesActionSchema).default([]).describe(
    "Run in order; one failing does not stop the rest",
  ),
});
/** One workflow as written. */
export type YamlWorkflowInput = z.input<typeof YamlWorkflowSchema>;
/** One workflow, defaults applied. */
export type YamlWorkflow = z.output<typeof YamlWorkflowSchema>;

/**
 * Turns a config-file workflow into a workflow value.
 *
 * @param definition The parsed YAML workflow.
 * @returns The workflow, with the Kubernetes permissions its actions need.
 */
export function yamlWorkflow(definition: YamlWorkflow): Workflow {
  return defineWorkflow({
    id: definition.id,
    description: definition.description,
    triggers: definition.triggers,
    permissions: { kubernetes: permissionsFor(definition.actions) },
    async run(ctx) {
      if (definition.note) {
        ctx.enrich("Note", [markdown(renderTemplate(definition.note, ctx.issue))]);
      }
      const outcomes: string[] = [];
      for (const action of definition.actions) {
        try {
          outcomes.push(await runAction(ctx.k8s, action, ctx.issue));
        } catch (error) {
          outcomes.push(`Failed: ${action.action}: ${(error as Error).message ?? String(error)}`);
          ctx.log.warn("Remediation action failed", { action: action.action });
        }
      }
      if (outcomes.length > 0) ctx.enrich("Actions", [list(outcomes)]);
    },
  });
}

function permissionsFor(actions: readonly KubernetesAction[]): string[] {
  const needs = new Set<string>();
  for (const action of actions) {
    const [method, kind] = methodOf(action);
    const resolved = kind === undefined ? undefined : resolveKubernetesKind(kind);
    for (const [resource, verb] of kubernetesNeeds(method, resolved)) {
      needs.add(`${resource}:${verb}`);
    }
  }
  return [...needs].sort();
}

function methodOf(
  action: KubernetesAction,
): [Parameters<typeof kubernetesNeeds>[0], string | undefined] {
  switch (action.action) {
    case "delete_pod":
      return ["deletePod", undefined];
    case "rollout_restart":
      return ["rolloutRestart", action.kind];
    case "scale":
      return ["scale", action.kind];
    case "rerun_job":
      return ["rerunJob", undefined];
    case "create_job":
      return ["createJob", undefined];
  }
}

async function runAction(
  k8s: KubernetesCapability,
  action: KubernetesAction,
  issue: unknown,
): Promise<string> {
  const fill = (template: string) => {
    const value = renderTemplate(template, issue);
    if (value === "") throw new Error(`"${template}" rendered empty for this issue`);
    return value;
  };
  const namespace = fill(action.namespace);
  switch (action.action) {
    case "delete_pod": {
      const name = fill(action.name);
      await k8s.deletePod(namespace, name);
      return `Deleted pod ${namespace}/${name}`;
    }
    case "rollout_restart": {
      const name = fill(action.name);
      await k8s.rolloutRestart(action.kind, namespace, name);
      return `Restarted ${action.kind} ${namespace}/${name}`;
    }
    case "scale": {
      const name = fill(action.name);
      await k8s.scale(action.kind, namespace, name, action.replicas);
      return `Scaled ${action.kind} ${namespace}/${name} to ${action.replicas}`;
    }
    case "rerun_job": {
      const name = fill(action.name);
      const job = await k8s.rerunJob(namespace, name);
      return `Re-ran Job ${namespace}/${name} as ${job.metadata?.name ?? "(unnamed)"}`;
    }
    case "create_job": {
      const job = fillDeep(action.template, issue) as Parameters<
        KubernetesCapability["createJob"]
      >[1];
      const created = await k8s.createJob(namespace, job);
      return `Created Job ${namespace}/${created.metadata?.name ?? "(unnamed)"}`;
    }
  }
}

function fillDeep(value: unknown, issue: unknown): unknown {
  if (typeof value === "string") return renderTemplate(value, issue);
  if (Array.isArray(value)) return value.map((v) => fillDeep(v, issue));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillDeep(v, issue)]));
  }
  return value;
}
