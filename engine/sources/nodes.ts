/**
 * Node detectors: NotReady and pressure conditions.
 *
 * | Condition | aggregationKey | Fires | Resolves |
 * |---|---|---|---|
 * | NotReady | `node_not_ready` | `Ready` becomes `False` or `Unknown` | `Ready=True` |
 * | Pressure | `node_pressure` | `MemoryPressure`, `DiskPressure` or `PIDPressure` becomes `True` | it becomes `False` |
 *
 * Each pressure condition has its own fingerprint, so memory and disk pressure on one node
 * are two issues.
 *
 * @example
 * ```ts
 * import { detectNodeIssues } from "./nodes.ts";
 * import assert from "node:assert/strict";
 *
 * const node = (status: string) => ({
 *   metadata: { name: "node-1" },
 *   status: { conditions: [{ type: "Ready", status, reason: "NodeStatusUnknown", message: "Kubelet stopped posting node status." }] },
 * });
 * const [down] = detectNodeIssues(node("True"), node("Unknown"));
 * assert.equal(down?.title, "Node node-1 is NotReady (Unknown: Kubelet stopped posting node status.)");
 * const [up] = detectNodeIssues(node("Unknown"), node("True"));
 * assert.equal(up?.status, "resolved");
 * assert.equal(up?.fingerprint, down?.fingerprint);
 * ```
 *
 * @module
 */
import type { Issue, Severity } from "@cano/sdk";
import type { KubeObject } from "../kubernetes/api.ts";
import { buildIssue, conditionOf, type DetectorOptions, parseTime } from "./_kube_issue.ts";

/** Node pressure conditions Cano knows. */
export const NODE_PRESSURE_CONDITIONS: readonly string[] = Object.freeze([
  "MemoryPressure",
  "DiskPressure",
  "PIDPressure",
]);

/** The Node conditions this module detects. */
export type NodeCondition = "notReady" | "pressure";

/** Default severity per Node condition. */
export const DEFAULT_NODE_SEVERITIES: Readonly<Record<NodeCondition, Severity>> = Object.freeze({
  notReady: "HIGH",
  pressure: "MEDIUM",
});

/** Options of {@linkcode detectNodeIssues}. */
export interface NodeDetectorOptions extends DetectorOptions {
  /** Conditions to detect. @default both */
  conditions?: readonly NodeCondition[];
  /** Severity per condition. @default DEFAULT_NODE_SEVERITIES */
  severity?: Partial<Record<NodeCondition, Severity>>;
  /** Pressure conditions to watch. @default NODE_PRESSURE_CONDITIONS */
  pressureConditions?: readonly string[];
}

function notReady(node: KubeObject | undefined): boolean {
  const ready = conditionOf(node, "Ready")?.status;
  return ready === "False" || ready === "Unknown";
}

/**
 * Detects a Node going NotReady or under pressure, and its recovery.
 *
 * @param previous The Node as last seen, or undefined when it is new.
 * @param next The Node now.
 * @param options Conditions, severities, clock.
 * @returns The issues of this transition.
 */
export function detectNodeIssues(
  previous: KubeObject | undefined,
  next: KubeObject,
  options: NodeDetectorOptions = {},
): Issue[] {
  const { conditions = ["notReady", "pressure"], pressureConditions = NODE_PRESSURE_CONDITIONS } =
    options;
  const severity = { ...DEFAULT_NODE_SEVERITIES, ...options.severity };
  const name = next.metadata?.name ?? "?";
  const subject = { kind: "Node", name, node: name };
  const issues: Issue[] = [];
  if (conditions.includes("notReady")) {
    const was = notReady(previous);
    const is = notReady(next);
    const ready = conditionOf(next, "Ready");
    if (was !== is && (is || ready?.status === "True")) {
      issues.push(buildIssue({
        key: ["Node", "", name, "", "not_ready"],
        aggregationKey: "node_not_ready",
        title: is
          ? `Node ${name} is NotReady (${ready?.status}${
            ready?.message ? `: ${ready.message}` : ""
          })`
          : `Node ${name} is Ready again`,
        severity: severity.notReady,
        status: is ? "firing" : "resolved",
        subject,
        labels: { node: name, reason: ready?.reason, condition: "Ready" },
        annotations: { message: ready?.message },
        startsAt: parseTime(ready?.lastTransitionTime),
        raw: ready,
      }, options));
    }
  }
  if (conditions.includes("pressure")) {
    for (const type of pressureConditions) {
      const was = conditionOf(previous, type)?.status === "True";
      const condition = conditionOf(next, type);
      const is = condition?.status === "True";
      if (was === is || (!is && condition?.status !== "False")) continue;
      issues.push(buildIssue({
        key: ["Node", "", name, "", type],
        aggregationKey: "node_pressure",
        title: is
          ? `Node ${name} has ${type}${condition?.message ? `: ${condition.message}` : ""}`
          : `Node ${name} no longer has ${type}`,
        severity: severity.pressure,
        status: is ? "firing" : "resolved",
        subject,
        labels: { node: name, reason: condition?.reason, condition: type },
        annotations: { message: condition?.message },
        startsAt: parseTime(condition?.lastTransitionTime),
        raw: condition,
      }, options));
    }
  }
  return issues;
}
