/**
 * Turns the Kubernetes sources config into watch specs: which API paths to watch, with
 * which selectors, and which detectors (with their options and namespace filters) run on
 * each object. Paths watched by several sources (Deployments for rollouts and for change
 * tracking) share one watch.
 *
 * @module
 */
import { type Issue, matchesAny } from "@cano/sdk";
import type { KubeObject } from "../kubernetes/api.ts";
import type { DetectorOptions } from "./_kube_issue.ts";
import { detectResourceChange } from "./changes.ts";
import { detectEventIssues } from "./events.ts";
import { detectHelmReleaseIssues, HELM_FIELD_SELECTOR, HELM_LABEL_SELECTOR } from "./helm.ts";
import { detectJobIssues } from "./jobs.ts";
import type { KubernetesSourcesConfig } from "./kubernetes_config.ts";
import { detectNodeIssues, type NodeCondition } from "./nodes.ts";
import { detectPodIssues, type PodCondition } from "./pods.ts";
import { type DeploymentCondition, detectDeploymentIssues } from "./workloads.ts";

/** One detector bound to its config. */
export interface BoundDetector {
  /** Source name for logs and status: `pods`, `events`, `helm`, `changes`... */
  source: string;
  /** Whether it depends on time (re-checked every resync). */
  timed: boolean;
  /** Whether an object passes the namespace filter. */
  accepts(object: KubeObject): boolean;
  /** Runs the detector. */
  detect(previous: KubeObject | undefined, next: KubeObject, options: DetectorOptions): Issue[];
}

/** One watch and what runs on its objects. */
export interface WatchSpec {
  /** e.g. `pods`, `deployments`. */
  name: string;
  /** API path, e.g. `/api/v1/pods`. */
  path: string;
  /** Label selector sent to the API. */
  labelSelector?: string;
  /** Field selector sent to the API. */
  fieldSelector?: string;
  /** The detectors. */
  detectors: BoundDetector[];
}

const PATHS: Record<string, string> = {
  Pod: "/api/v1/pods",
  Job: "/apis/batch/v1/jobs",
  Deployment: "/apis/apps/v1/deployments",
  StatefulSet: "/apis/apps/v1/statefulsets",
  DaemonSet: "/apis/apps/v1/daemonsets",
  ConfigMap: "/api/v1/configmaps",
  Node: "/api/v1/nodes",
  Secret: "/api/v1/secrets",
};

function namespaceFilter(
  config: KubernetesSourcesConfig,
  own: { namespaces?: string[] | undefined; excludeNamespaces?: string[] | undefined },
): (object: KubeObject) => boolean {
  const include = own.namespaces ?? config.namespaces;
  const exclude = own.excludeNamespaces ?? config.excludeNamespaces;
  return (object) => {
    const namespace = object.metadata?.namespace ?? "";
    return matchesAny(namespace, include) && !matchesAny(namespace, exclude);
  };
}

const all = () => true;

/**
 * Builds the watch specs of a config.
 *
 * @param config The parsed sources config.
 * @returns One spec per watched path and selector pair; empty when everything is off.
 */
export function buildWatchSpecs(config: KubernetesSourcesConfig): WatchSpec[] {
  if (!config.enabled) return [];
  const specs = new Map<string, WatchSpec>();
  const add = (
    name: string,
    path: string,
    selectors: { labelSelector?: string | undefined; fieldSelector?: string | undefined },
    detector: BoundDetector,
  ) => {
    const key = `${path}?${selectors.labelSelector ?? ""}&${selectors.fieldSelector ?? ""}`;
    let spec = specs.get(key);
    if (!spec) {
      spec = { name, path, detectors: [] };
      if (selectors.labelSelector) spec.labelSelector = selectors.labelSelector;
      if (selectors.fieldSelector) spec.fieldSelector = selectors.fieldSelector;
      specs.set(key, spec);
    }
    spec.detectors.push(detector);
  };

  const { pods, jobs, deployments, nodes, events, helm, changes } = config;
  if (pods.enabled) {
    const conditions = (["oomKilled", "crashLoop", "imagePull", "evicted", "pending"] as const)
      .filter((c) => pods[c].enabled) as PodCondition[];
    const severity = Object.fromEntries(conditions.map((c) => [c, pods[c].severity]));
    if (conditions.length) {
      add("pods", PATHS["Pod"]!, pods, {
        source: "pods",
        timed: conditions.includes("pending") || conditions.includes("crashLoop"),
        accepts: namespaceFilter(config, pods),
        detect: (prev, next, options) =>
          detectPodIssues(prev, next, {
            ...options,
            conditions,
            severity,
            pendingAfterMs: pods.pending.afterMs,
            crashLoopStableMs: pods.crashLoop.stableAfterMs,
          }),
      });
    }
  }
  if (jobs.enabled) {
    add("jobs", PATHS["Job"]!, jobs, {
      source: "jobs",
      timed: false,
      accepts: namespaceFilter(config, jobs),
      detect: (prev, next, options) =>
        detectJobIssues(prev, next, { ...options, severity: jobs.severity }),
    });
  }
  if (deployments.enabled) {
    const conditions = (["progressDeadline", "unavailable"] as const)
      .filter((c) => deployments[c].enabled) as DeploymentCondition[];
    if (conditions.length) {
      add("deployments", PATHS["Deployment"]!, deployments, {
        source: "deployments",
        timed: conditions.includes("unavailable"),
        accepts: namespaceFilter(config, deployments),
        detect: (prev, next, options) =>
          detectDeploymentIssues(prev, next, {
            ...options,
            conditions,
            severity: {
              progressDeadline: deployments.progressDeadline.severity,
              unavailable: deployments.unavailable.severity,
            },
            unavailableAfterMs: deployments.unavailable.afterMs,
          }),
      });
    }
  }
  if (nodes.enabled) {
    const conditions = (["notReady", "pressure"] as const)
      .filter((c) => nodes[c].enabled) as NodeCondition[];
    if (conditions.length) {
      add("nodes", PATHS["Node"]!, nodes, {
        source: "nodes",
        timed: false,
        accepts: all,
        detect: (prev, next, options) =>
          detectNodeIssues(prev, next, {
            ...options,
            conditions,
            severity: { notReady: nodes.notReady.severity, pressure: nodes.pressure.severity },
            pressureConditions: nodes.pressure.conditions,
          }),
      });
    }
  }
  if (events.enabled) {
    const core = events.api === "core";
    const warningsOnly = events.types.length === 1 && events.types[0] === "Warning";
    const eventNamespaces = events.namespaces ?? config.namespaces;
    add(
      "events",
      core ? "/api/v1/events" : "/apis/events.k8s.io/v1/events",
      warningsOnly ? { fieldSelector: "type=Warning" } : {},
      {
        source: "events",
        timed: false,
        accepts: all,
        detect: (prev, next, options) =>
          detectEventIssues(prev, next, {
            ...options,
            types: events.types,
            ...(events.reasons ? { reasons: events.reasons } : {}),
            excludeReasons: events.excludeReasons,
            ...(events.kinds ? { kinds: events.kinds } : {}),
            ...(eventNamespaces ? { namespaces: eventNamespaces } : {}),
            excludeNamespaces: events.excludeNamespaces ?? config.excludeNamespaces,
            severity: events.severity,
          }),
      },
    );
  }
  if (helm.enabled && (helm.failed.enabled || helm.pending.enabled)) {
    add("helm", PATHS["Secret"]!, {
      labelSelector: HELM_LABEL_SELECTOR,
      fieldSelector: HELM_FIELD_SELECTOR,
    }, {
      source: "helm",
      timed: helm.pending.enabled,
      accepts: namespaceFilter(config, helm),
      detect: (prev, next, options) =>
        detectHelmReleaseIssues(prev, next, {
          ...options,
          conditions: [
            ...(helm.failed.enabled ? ["failed" as const] : []),
            ...(helm.pending.enabled ? ["pending" as const] : []),
          ],
          severity: { failed: helm.failed.severity, pending: helm.pending.severity },
          pendingAfterMs: helm.pending.afterMs,
        }),
    });
  }
  if (changes.enabled) {
    for (const kind of changes.kinds) {
      const plural = PATHS[kind]!.split("/").at(-1)!;
      add(plural, PATHS[kind]!, changes, {
        source: "changes",
        timed: false,
        accepts: namespaceFilter(config, changes),
        detect: (prev, next, options) =>
          detectResourceChange(prev, next, { ...options, kind, severity: changes.severity }),
      });
    }
  }
  return [...specs.values()];
}
