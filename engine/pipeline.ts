/**
 * The pipeline: runs the workflows whose triggers match an issue, merges their enrichments
 * in a stable order, and routes the result.
 *
 * Workflows run concurrently, each against the issue as it arrived; their enrichments are
 * merged in registry order (built-ins first, then user workflows by id), so the output does
 * not depend on which finished first. A failing workflow adds an error note and never
 * stops the issue from being delivered.
 *
 * @module
 */
import { type Enrichment, type Issue, markdown } from "@cano/sdk";
import type { Logger } from "./log.ts";
import type { Metrics } from "./metrics.ts";
import { type RouteDecision, routeIssue, type Routing } from "./routing.ts";
import { matchesAnyTrigger } from "./triggers.ts";
import type { RunOutcome, WorkflowEntry } from "./workflows/entry.ts";

/** Per-workflow settings from config. */
export interface WorkflowSettings {
  /** Raw params; the workflow's schema parses them. */
  params: unknown;
  /** Deadline of one run. */
  timeoutMs: number;
}

/** What the pipeline runs against; swapped whole on config reload. */
export interface PipelineState {
  /** Workflows in enrichment order. */
  workflows: readonly WorkflowEntry[];
  /** Settings per workflow id; absent ids use `defaultTimeoutMs` and no params. */
  settings: ReadonlyMap<string, WorkflowSettings>;
  /** Deadline for workflows without settings. */
  defaultTimeoutMs: number;
  /** The routing table. */
  routing: Routing;
}

/** One workflow run, as reported by dry-run and the logs. */
export interface RunReport {
  /** Workflow id. */
  workflow: string;
  /** How the run ended. */
  outcome: RunOutcome;
  /** Run time. */
  durationMs: number;
  /** Why it failed. */
  error?: string;
}

/** The processed issue and where it goes. */
export interface ProcessResult {
  /** The issue with every enrichment and error note. */
  issue: Issue;
  /** Set when a workflow silenced the issue; then `route` is undefined. */
  silenced?: { workflow: string; reason: string };
  /** Destinations chosen by routing. */
  route?: RouteDecision;
  /** Every matching workflow's run, in enrichment order. */
  runs: RunReport[];
}

/** Options of {@linkcode createPipeline}. */
export interface PipelineOptions {
  /** Current state; read once per issue so a reload never splits an issue. */
  state: () => PipelineState;
  /** Metrics. */
  metrics: Metrics;
  /** Logger. */
  log: Logger;
}

/** A pipeline. */
export interface Pipeline {
  /** Enriches and routes one issue. Never throws. */
  process(issue: Issue): Promise<ProcessResult>;
}

/**
 * Creates the pipeline.
 *
 * @param options State, metrics and logger.
 * @returns The pipeline.
 */
export function createPipeline({ state, metrics, log }: PipelineOptions): Pipeline {
  return {
    process: async function process(input: Issue): Promise<ProcessResult> {
      const { workflows, settings, defaultTimeoutMs, routing } = state();
      const matching = workflows.filter((w) => matchesAnyTrigger(w.triggers, input));
      const results = await Promise.all(matching.map((workflow) => {
        const setting = settings.get(workflow.id);
        return workflow.run({
          issue: input,
          params: setting?.params ?? {},
          timeoutMs: setting?.timeoutMs ?? defaultTimeoutMs,
        });
      }));
      const enrichments: Enrichment[] = [...input.enrichments];
      const runs: RunReport[] = [];
      let silenced: ProcessResult["silenced"];
      results.forEach((result, i) => {
        const workflow = matching[i]!.id;
        metrics.workflowRuns.inc({ workflow, outcome: result.outcome });
        metrics.workflowDuration.observe({ workflow }, result.durationMs / 1000);
        runs.push({
          workflow,
          outcome: result.outcome,
          durationMs: result.durationMs,
          ...(result.error === undefined ? {} : { error: result.error }),
        });
        for (const e of result.enrichments) {
          enrichments.push(
            e.title === undefined ? { workflow, blocks: e.blocks } : { workflow, ...e },
          );
        }
        if (result.outcome !== "success") {
          log.warn("Workflow failed; the issue is delivered with an error note", {
            workflow,
            outcome: result.outcome,
            fingerprint: input.fingerprint,
            reason: result.error,
          });
          enrichments.push(errorNote(workflow, result.outcome, result.error));
        }
        if (result.silenced !== undefined && silenced === undefined) {
          silenced = { workflow, reason: result.silenced };
        }
      });
      const issue: Issue = { ...input, enrichments };
      if (silenced) {
        log.info("Issue silenced", { fingerprint: issue.fingerprint, ...silenced });
        return { issue, silenced, runs };
      }
      return { issue, route: routeIssue(routing, issue), runs };
    },
  };
}

function errorNote(workflow: string, outcome: RunOutcome, error: string | undefined): Enrichment {
  const reason = error ?? outcome;
  return {
    workflow,
    title: "Workflow error",
    blocks: [markdown(`Workflow \`${workflow}\` failed (${outcome}): ${reason}`)],
  };
}
