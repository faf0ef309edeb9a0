/**
 * Prometheus metrics, with the names the operations guide documents.
 *
 * Each engine instance owns a registry, so tests and benchmarks can run several engines in
 * one process without clashing.
 *
 * @module
 */
import { Counter, Histogram, Registry } from "prom-client";

const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Every metric the engine exports. */
export interface Metrics {
  /** The registry `/metrics` renders. */
  readonly registry: Registry;
  /** Alerts and events received, per source. */
  readonly alertsReceived: Counter<"source" | "status">;
  /** Issues processed, by outcome (routed, repeat, silenced, duplicate, no_route). */
  readonly alertsProcessed: Counter<"source" | "severity" | "outcome">;
  /** Time from receipt to routing. */
  readonly alertsProcessingDuration: Histogram<"source">;
  /** Rejected input and processing failures, by type. */
  readonly alertsErrors: Counter<"source" | "error_type">;
  /** Payloads accepted by a destination. */
  readonly destinationSent: Counter<"destination" | "destination_type">;
  /** Sends held back by a destination's rate limit. */
  readonly destinationThrottled: Counter<"destination" | "destination_type">;
  /** Failed send attempts. */
  readonly destinationErrors: Counter<"destination" | "destination_type" | "error_type">;
  /** Time per send attempt. */
  readonly destinationDuration: Histogram<"destination" | "destination_type">;
  /** HTTP requests served. */
  readonly httpRequests: Counter<"method" | "path" | "status">;
  /** HTTP request duration. */
  readonly httpRequestDuration: Histogram<"method" | "path" | "status">;
  /** Config reloads, by result. */
  readonly configReloads: Counter<"result">;
  /** Workflow runs, by outcome (success, error, timeout, crash, oom, quarantined, rejected). */
  readonly workflowRuns: Counter<"workflow" | "outcome">;
  /** Workflow run duration. */
  readonly workflowDuration: Histogram<"workflow">;
  /** Sandbox child restarts, by reason. */
  readonly sandboxRestarts: Counter<"workflow" | "reason">;
  /** Capability calls from workflows. */
  readonly sandboxCapabilityCalls: Counter<"workflow" | "capability" | "outcome">;
  /** Alerts the Karo compatibility controller received (Karo's README metric name). */
  readonly alertReactionAlertsReceived: Counter<"status">;
  /** Jobs created for AlertReactions (Karo's README metric name). */
  readonly alertReactionJobsCreated: Counter<"namespace" | "alert_reaction" | "action">;
}

/**
 * Creates the metrics on a new registry.
 *
 * @returns The metrics.
 * @example
 * ```ts
 * import { createMetrics } from "./metrics.ts";
 * import assert from "node:assert/strict";
 *
 * const metrics = createMetrics();
 * metrics.alertsReceived.inc({ source: "prometheus", status: "firing" });
 * assert.match(await metrics.registry.metrics(), /cano_alerts_received_total\{source="prometheus",status="firing"\} 1/);
 * ```
 */
export function createMetrics(): Metrics {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    alertsReceived: new Counter({
      name: "cano_alerts_received_total",
      help: "Alerts and events received",
      labelNames: ["source", "status"],
      registers,
    }),
    alertsProcessed: new Counter({
      name: "cano_alerts_processed_total",
      help: "Issues processed, by outcome",
      labelNames: ["source", "severity", "outcome"],
      registers,
    }),
    alertsProcessingDuration: new Histogram({
      name: "cano_alerts_processing_duration_seconds",
      help: "Time from receipt to routing",
      labelNames: ["source"],
      buckets: DURATION_BUCKETS,
      registers,
    }),
    alertsErrors: new Counter({
      name: "cano_alerts_errors_total",
      help: "Rejected input and processing errors",
      labelNames: ["source", "error_type"],
      registers,
    }),
    destinationSent: new Counter({
      name: "cano_destination_sent_total",
      help: "Payloads accepted by a destination",
      labelNames: ["destination", "destination_type"],
      registers,
    }),
    destinationThrottled: new Counter({
      name: "cano_destination_throttled_total",
      help: "Sends held back by the destination's rate limit",
      labelNames: ["destination", "destination_type"],
      registers,
    }),
    destinationErrors: new Counter({
      name: "cano_destination_errors_total",
      help: "Failed send attempts",
      labelNames: ["destination", "destination_type", "error_type"],
      registers,
    }),
    destinationDuration: new Histogram({
      name: "cano_destination_duration_seconds",
      help: "Duration of one send attempt",
      labelNames: ["destination", "destination_type"],
      buckets: DURATION_BUCKETS,
      registers,
    }),
    httpRequests: new Counter({
      name: "cano_http_requests_total",
      help: "HTTP requests served",
      labelNames: ["method", "path", "status"],
      registers,
    }),
    httpRequestDuration: new Histogram({
      name: "cano_http_request_duration_seconds",
      help: "HTTP request duration",
      labelNames: ["method", "path", "status"],
      buckets: DURATION_BUCKETS,
      registers,
    }),
    configReloads: new Counter({
      name: "cano_config_reloads_total",
      help: "Config reloads, by result",
      labelNames: ["result"],
      registers,
    }),
    workflowRuns: new Counter({
      name: "cano_workflow_runs_total",
      help: "Workflow runs, by outcome",
      labelNames: ["workflow", "outcome"],
      registers,
    }),
    workflowDuration: new Histogram({
      name: "cano_workflow_duration_seconds",
      help: "Workflow run duration",
      labelNames: ["workflow"],
      buckets: DURATION_BUCKETS,
      registers,
    }),
    sandboxRestarts: new Counter({
      name: "cano_sandbox_restarts_total",
      help: "Sandbox child process restarts, by reason",
      labelNames: ["workflow", "reason"],
      registers,
    }),
    sandboxCapabilityCalls: new Counter({
      name: "cano_sandbox_capability_calls_total",
      help: "Capability calls made by workflows",
      labelNames: ["workflow", "capability", "outcome"],
      registers,
    }),
    alertReactionAlertsReceived: new Counter({
      name: "alertreaction_alerts_received_total",
      help: "Alerts received by the Karo AlertReaction controller",
      labelNames: ["status"],
      registers,
    }),
    alertReactionJobsCreated: new Counter({
      name: "alertreaction_jobs_created_total",
      help: "Jobs created for Karo AlertReactions",
      labelNames: ["namespace", "alert_reaction", "action"],
      registers,
    }),
  };
}
