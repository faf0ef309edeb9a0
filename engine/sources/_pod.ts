/**
 * Shapes and helpers shared by the Pod detectors (`pods.ts`, `_pod_phase.ts`).
 *
 * @module
 */
import type { Severity } from "@cano/sdk";
import type { KubeObject } from "../kubernetes/api.ts";
import { controllerOf, type DetectorOptions, type KubeCondition } from "./_kube_issue.ts";

/** The Pod conditions the Pod detectors know. */
export type PodCondition = "oomKilled" | "crashLoop" | "imagePull" | "evicted" | "pending";

/** The container status fields the detectors read. */
export interface ContainerStatus {
  /** Container name. */
  name: string;
  /** Restarts so far. */
  restartCount?: number;
  /** Image reference. */
  image?: string;
  /** Readiness. */
  ready?: boolean;
  /** Current state. */
  state?: ContainerState;
  /** The previous termination. */
  lastState?: ContainerState;
}

/** One of waiting, running, terminated. */
export interface ContainerState {
  /** Waiting. */
  waiting?: { reason?: string; message?: string };
  /** Running. */
  running?: { startedAt?: string };
  /** Terminated. */
  terminated?: {
    reason?: string;
    message?: string;
    exitCode?: number;
    signal?: number;
    startedAt?: string;
    finishedAt?: string;
    containerID?: string;
  };
}

/** A container of the Pod spec (only what the detectors read). */
export interface PodSpecContainer {
  name: string;
  image?: string;
  resources?: { limits?: Record<string, string>; requests?: Record<string, string> };
}

/** The Pod fields the detectors read. */
export interface PodShape {
  spec?: {
    nodeName?: string;
    containers?: PodSpecContainer[];
    initContainers?: PodSpecContainer[];
  };
  status?: {
    phase?: string;
    reason?: string;
    message?: string;
    conditions?: KubeCondition[];
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
  };
}

/** What every Pod condition detector receives. */
export interface PodContext {
  /** The pod now. */
  pod: KubeObject & PodShape;
  /** Severity per condition. */
  severity: Record<PodCondition, Severity>;
  /** Cluster, clock, watch start. */
  options: DetectorOptions;
}

/** Init and app container statuses. @param pod The pod. @returns The statuses. */
export function allStatuses(pod: PodShape | undefined): ContainerStatus[] {
  return [...pod?.status?.initContainerStatuses ?? [], ...pod?.status?.containerStatuses ?? []];
}

/** The spec of a container. @param pod The pod. @param name Container name. @returns Its spec. */
export function specOf(pod: PodShape, name: string): PodSpecContainer | undefined {
  return [...pod.spec?.initContainers ?? [], ...pod.spec?.containers ?? []].find((c) =>
    c.name === name
  );
}

/**
 * Routing labels of a pod issue: namespace, pod, container, node, owner and workload (a
 * ReplicaSet owner is traced to its Deployment through the `pod-template-hash` label).
 *
 * @param pod The pod.
 * @param status The container, if the issue is about one.
 * @returns The labels.
 */
export function podLabels(
  pod: KubeObject & PodShape,
  status?: ContainerStatus,
): Record<string, string | undefined> {
  const owner = controllerOf(pod);
  let workload = owner;
  const hash = pod.metadata?.labels?.["pod-template-hash"];
  if (owner?.kind === "ReplicaSet" && hash && owner.name.endsWith(`-${hash}`)) {
    workload = { kind: "Deployment", name: owner.name.slice(0, -(hash.length + 1)) };
  }
  return {
    namespace: pod.metadata?.namespace,
    pod: pod.metadata?.name,
    container: status?.name,
    node: pod.spec?.nodeName,
    owner_kind: owner?.kind,
    owner_name: owner?.name,
    workload_kind: workload?.kind,
    workload: workload?.name,
  };
}
