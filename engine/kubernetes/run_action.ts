/**
 * `runKubernetesAction`: one remediation action as a YAML workflow describes it
 * (`KubernetesActionSchema` of the SDK), with names rendered from the Issue.
 *
 * @example Delete the alert's pod (needs a cluster)
 * ```ts ignore
 * import { runKubernetesAction } from "./run_action.ts";
 *
 * await runKubernetesAction(api, { action: { action: "delete_pod" }, issue });
 * ```
 *
 * @module
 */
import {
  type Issue,
  type KubernetesActionInput,
  KubernetesActionSchema,
  renderTemplate,
} from "@cano/sdk";
import {
  type ActionOptions,
  createJobFromTemplate,
  deletePod,
  rerunJob,
  rolloutRestart,
  scale,
} from "./actions.ts";
import type { KubeApi } from "./api.ts";

/** What {@linkcode runKubernetesAction} did. */
export interface ActionResult {
  /** The action. */
  action: KubernetesActionInput["action"];
  /** Kind of the object acted on. */
  kind: string;
  /** Namespace. */
  namespace: string;
  /** Name of the object acted on (the new Job for `rerun_job` and `create_job`). */
  name: string;
}

/**
 * Runs one remediation action as YAML workflows describe it: validates it, renders its
 * namespace and name templates from the Issue, then calls the matching function.
 *
 * @param api The Kubernetes API.
 * @param options The action, the Issue, and signal.
 * @returns What was acted on.
 * @throws {TypeError} When the action is invalid or renders an empty name or namespace.
 * @throws {KubeApiError} When the API server refuses.
 */
export async function runKubernetesAction(
  api: KubeApi,
  { action: input, issue, signal }: ActionOptions & { action: KubernetesActionInput; issue: Issue },
): Promise<ActionResult> {
  const parsed = KubernetesActionSchema.safeParse(input);
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new TypeError(`Cannot run Kubernetes action: ${detail.join("; ")}`);
  }
  const action = parsed.data;
  const namespace = renderRequired(action.namespace, issue, action.action, "namespace");
  const opts = signal ? { signal } : {};
  switch (action.action) {
    case "delete_pod": {
      const name = renderRequired(action.name, issue, action.action, "name");
      await deletePod(api, { namespace, name, ...opts });
      return { action: action.action, kind: "Pod", namespace, name };
    }
    case "rollout_restart": {
      const name = renderRequired(action.name, issue, action.action, "name");
      await rolloutRestart(api, { kind: action.kind, namespace, name, ...opts });
      return { action: action.action, kind: action.kind, namespace, name };
    }
    case "scale": {
      const name = renderRequired(action.name, issue, action.action, "name");
      await scale(api, { kind: action.kind, namespace, name, replicas: action.replicas, ...opts });
      return { action: action.action, kind: action.kind, namespace, name };
    }
    case "rerun_job": {
      const name = renderRequired(action.name, issue, action.action, "name");
      const job = await rerunJob(api, { namespace, name, ...opts });
      return { action: action.action, kind: "Job", namespace, name: job.metadata?.name ?? "" };
    }
    case "create_job": {
      const job = await createJobFromTemplate(api, {
        namespace,
        template: action.template,
        data: issue,
        ...opts,
      });
      return { action: action.action, kind: "Job", namespace, name: job.metadata?.name ?? "" };
    }
  }
}

function renderRequired(template: string, issue: Issue, action: string, field: string): string {
  const value = renderTemplate(template, issue).trim();
  if (!value) {
    throw new TypeError(
      `Cannot run Kubernetes action "${action}": ${field} "${template}" renders empty for this issue`,
    );
  }
  return value;
}
