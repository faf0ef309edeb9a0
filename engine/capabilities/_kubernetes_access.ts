/**
 * The checks and shaping shared by the `k8s.*` providers: the permission check (declared
 * **and** allowed by policy, never Secrets, namespace globs), the API call with its timeout
 * and the phrasing of its failures for the workflow, and trimming and size-capping of
 * answers.
 *
 * @module
 */
import { kubernetesAllows, type KubernetesKind, matchesAny, type Permissions } from "@cano/sdk";
import { type KubeApi, KubeApiError, type KubeObject } from "../kubernetes/api.ts";
import { objectPath } from "../kubernetes/object_path.ts";
import {
  type CapabilityPolicy,
  DEFAULT_KUBERNETES_POLICY,
  type KubernetesPolicy,
} from "./policy.ts";
import { CapabilityError, type ProviderContext } from "./provider.ts";

/** One `resource:verb` a call needs. */
export type Need = readonly [resource: string, verb: string];

/** Where a call reaches: a namespace, cluster scope, or every namespace. */
export type Scope =
  | { namespace: string }
  | { cluster: true }
  | { allNamespaces: true };

const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";
/** Env var names whose inline values are masked, as the engine's logger masks fields. */
const SECRET_NAME = /pass(word)?|secret|token|api[-_]?key|credential|private[-_]?key/i;
/** The mask of a secret-looking inline env value. */
export const MASKED = "***";

/**
 * The Kubernetes policy in effect (field defaults when the config has no section).
 *
 * @param policy The capability policy.
 * @returns The Kubernetes part.
 */
export function kubernetesPolicy(policy: CapabilityPolicy): KubernetesPolicy {
  return policy.kubernetes ?? DEFAULT_KUBERNETES_POLICY;
}

/**
 * The scope of a call on a kind.
 *
 * @param kind The kind.
 * @param namespace The namespace given (ignored for cluster-scoped kinds).
 * @returns The scope.
 */
export function scopeOf(kind: KubernetesKind, namespace: string | undefined): Scope {
  if (!kind.namespaced) return { cluster: true };
  return namespace ? { namespace } : { allNamespaces: true };
}

/**
 * Checks that the workflow declares and the policy allows every need, that no need
 * touches Secrets, and that the scope is within the policy's namespaces.
 *
 * @param permissions What the workflow declared.
 * @param policy The capability policy.
 * @param needs The `resource:verb` pairs the call needs.
 * @param scope Where the call reaches.
 * @param action The start of the refusal message, e.g. `Cannot get Pod "shop/api-0"`.
 * @returns `true`, or the refusal message.
 */
export function checkAccess(
  permissions: Permissions,
  policy: CapabilityPolicy,
  needs: readonly Need[],
  scope: Scope,
  action: string,
): true | string {
  const k8s = kubernetesPolicy(policy);
  for (const [resource, verb] of needs) {
    if (resource === "secrets" || resource.startsWith("secrets/")) {
      return `${action}: Secrets are never readable by workflows`;
    }
    const permission = `${resource}:${verb}`;
    if (!kubernetesAllows(permissions.kubernetes, resource, verb)) {
      const declared = permissions.kubernetes.join(", ") || "none";
      return `${action}: the workflow does not declare "${permission}" in permissions.kubernetes (declared: ${declared})`;
    }
    if (!kubernetesAllows(k8s.allow, resource, verb)) {
      return `${action}: "${permission}" is not allowed by the operator (capabilities.kubernetes.allow)`;
    }
  }
  if ("allNamespaces" in scope) {
    if (!k8s.allowAllNamespaces) {
      return `${action}: a namespace is required (capabilities.kubernetes.allowAllNamespaces is off)`;
    }
    if (!k8s.namespaces.includes("*")) {
      return `${action}: a namespace is required (capabilities.kubernetes.namespaces is restricted)`;
    }
  }
  if ("namespace" in scope && !matchesAny(scope.namespace, k8s.namespaces)) {
    return `${action}: namespace "${scope.namespace}" is not allowed by the operator (capabilities.kubernetes.namespaces: ${
      k8s.namespaces.join(", ")
    })`;
  }
  return true;
}

/** Runs one API call for a provider: the action names the call in error messages. */
export type ApiCall = <T>(
  context: ProviderContext,
  action: string,
  run: (api: KubeApi, signal: AbortSignal) => Promise<T>,
) => Promise<T>;

/**
 * Creates the provider's way to call the API: with `capabilities.kubernetes.timeoutMs` and
 * the run's deadline, failures phrased by {@linkcode apiFailure}, and a clear error while
 * Kubernetes is off.
 *
 * @param getApi Returns the API, or undefined while Kubernetes is off.
 * @returns The caller.
 */
export function createApiCall(getApi: () => KubeApi | undefined): ApiCall {
  return async function callApi<T>(
    context: ProviderContext,
    action: string,
    run: (api: KubeApi, signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const client = getApi();
    if (!client) {
      throw context.error(
        "failed",
        `${action}: Kubernetes is not configured (no in-cluster service account and no KUBECONFIG)`,
      );
    }
    const timeout = AbortSignal.timeout(kubernetesPolicy(context.policy).timeoutMs);
    try {
      return await run(client, AbortSignal.any([context.signal, timeout]));
    } catch (error) {
      throw apiFailure(context, action, error, timeout);
    }
  };
}

/**
 * Reads one object (untrimmed).
 *
 * @param context The provider context.
 * @param target The API caller, and the kind, namespace (ignored when cluster-scoped) and name.
 * @returns The object.
 * @throws {CapabilityError} When it cannot be read.
 */
export function getObject(
  context: ProviderContext,
  { call, kind, namespace, name }: {
    call: ApiCall;
    kind: KubernetesKind;
    namespace: string | undefined;
    name: string;
  },
): Promise<KubeObject> {
  return call(
    context,
    `Cannot get ${describeObject(kind, namespace, name)}`,
    (client, signal) =>
      client.request<KubeObject>("GET", objectPath(kind, { namespace, name }), { signal }),
  );
}

/**
 * Phrases a failed API call for the workflow.
 *
 * @param context The provider context (its signal tells a deadline apart).
 * @param action The start of the message, e.g. `Cannot delete Pod "shop/api-0"`.
 * @param error What the API client threw.
 * @param timeout The per-request timeout signal.
 * @returns The error to throw.
 */
export function apiFailure(
  context: ProviderContext,
  action: string,
  error: unknown,
  timeout?: AbortSignal,
): CapabilityError {
  if (error instanceof CapabilityError) return error;
  if (context.signal.aborted) {
    return context.error("failed", `${action}: the run's deadline passed`, error);
  }
  if (timeout?.aborted) {
    const ms = kubernetesPolicy(context.policy).timeoutMs;
    return context.error(
      "failed",
      `${action}: timed out after ${ms} ms (capabilities.kubernetes.timeoutMs)`,
      error,
    );
  }
  if (error instanceof KubeApiError) {
    const detail = clip(error.message, 300);
    if (error.status === 401 || error.status === 403) {
      return context.error(
        "not_permitted",
        `${action}: the API server refused (${error.status} ${
          error.reason ?? "Forbidden"
        }): ${detail}`,
        error,
      );
    }
    if (error.status === 404) return context.error("failed", `${action}: not found`, error);
    if (error.status === 0) {
      return context.error("failed", `${action}: the API server could not be reached`, error);
    }
    return context.error(
      "failed",
      `${action}: the API server answered ${error.status}${
        error.reason ? ` ${error.reason}` : ""
      }: ${detail}`,
      error,
    );
  }
  if (error instanceof TypeError || error instanceof RangeError || error instanceof Error) {
    return context.error("failed", clip(error.message, 500), error);
  }
  return context.error("failed", `${action}: the call failed`, error);
}

/**
 * Strips what workflows never need and what bloats answers: `metadata.managedFields` and
 * the `last-applied-configuration` annotation (it repeats the spec, env values included).
 * Inline container env values whose name looks like a credential (`DATABASE_PASSWORD`,
 * `API_TOKEN`) are masked: Secrets are never readable, and a secret pasted into a pod spec
 * should not be either. Mutates and returns the object.
 *
 * @param object An object as the API returned it.
 * @returns The same object, trimmed.
 */
export function trimObject<T extends KubeObject>(object: T): T {
  const metadata = object?.metadata;
  if (metadata) {
    delete metadata.managedFields;
    if (metadata.annotations && LAST_APPLIED in metadata.annotations) {
      delete metadata.annotations[LAST_APPLIED];
    }
  }
  maskEnv(object, 0);
  return object;
}

function maskEnv(value: unknown, depth: number): void {
  if (typeof value !== "object" || value === null || depth > 12) return;
  if (Array.isArray(value)) {
    for (const item of value) maskEnv(item, depth + 1);
    return;
  }
  for (const [key, child] of Object.entries(value)) {
    if (key === "env" && Array.isArray(child)) {
      for (const variable of child) {
        if (
          typeof variable === "object" && variable !== null &&
          typeof variable.name === "string" && typeof variable.value === "string" &&
          SECRET_NAME.test(variable.name)
        ) variable.value = MASKED;
      }
    } else if (key !== "metadata" && key !== "status") maskEnv(child, depth + 1);
  }
}

/**
 * Refuses answers larger than `capabilities.kubernetes.maxResponseBytes` (as JSON).
 *
 * @param context The provider context.
 * @param action The start of the message.
 * @param value The answer.
 * @returns The same answer.
 * @throws {CapabilityError} When it is too large.
 */
export function capSize<T>(context: ProviderContext, action: string, value: T): T {
  const max = kubernetesPolicy(context.policy).maxResponseBytes;
  const size = new TextEncoder().encode(JSON.stringify(value) ?? "").length;
  if (size > max) {
    throw context.error(
      "failed",
      `${action}: the answer is ${size} bytes, more than ${max} (capabilities.kubernetes.maxResponseBytes); narrow it with a selector or a limit`,
    );
  }
  return value;
}

/**
 * Names an object in messages: `Pod "shop/api-0"`, `Node "node-1"`.
 *
 * @param kind The kind.
 * @param namespace The namespace, if any.
 * @param name The name.
 * @returns The phrase.
 */
export function describeObject(
  kind: KubernetesKind,
  namespace: string | undefined,
  name: string,
): string {
  return kind.namespaced && namespace
    ? `${kind.kind} "${namespace}/${name}"`
    : `${kind.kind} "${name}"`;
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
