/**
 * `cano dry-run --alert F`: runs an Alertmanager payload through the whole pipeline without
 * sending anything, and prints each issue, its enrichments, and per destination the exact
 * request (or output) that would be sent. Secrets are masked.
 *
 * The JSON form (`--format json`) is a stable shape, version 1:
 * ```
 * { "version": 1, "issues": [ { "issue": Issue, "runs": RunReport[],
 *   "silenced": { workflow, reason } | null, "routes": string[],
 *   "deliveries": [ { "destination", "type", "requests": (OutboundRequest | { output })[] } ] } ] }
 * ```
 *
 * @module
 */
import type { Issue } from "@cano/sdk";
import { maskSecrets, SECRET_MASK } from "../config/secrets.ts";
import type { CanoConfig } from "../config/schema.ts";
import type { OutboundRequest } from "../destinations/destination.ts";
import { getDestination } from "../destinations/mod.ts";
import { deliveryConfigs } from "../routing.ts";
import { Engine } from "../engine.ts";
import { silentLogger } from "../log.ts";
import type { ProcessResult } from "../pipeline.ts";
import { parseAlertmanagerPayload } from "../sources/alertmanager.ts";
import type { WorkflowEntry } from "../workflows/entry.ts";
import { renderIssueText } from "../destinations/_text.ts";

/** One destination's would-be requests. */
export interface DryRunDelivery {
  /** Destination name. */
  destination: string;
  /** Destination type. */
  type: string;
  /** Each payload as the exact request or output. */
  requests: (OutboundRequest | { output: string })[];
}

/** One issue's dry-run report. */
export interface DryRunIssue {
  /** The enriched issue. */
  issue: Issue;
  /** Workflow runs. */
  runs: ProcessResult["runs"];
  /** Set when silenced. */
  silenced: ProcessResult["silenced"] | null;
  /** Matched routes. */
  routes: string[];
  /** Delivery rules of the matched routes that dry-run does not apply (grouping, repeats). */
  rules: string[];
  /** Per destination. */
  deliveries: DryRunDelivery[];
}

/** The whole dry-run report (`--format json`). */
export interface DryRunReport {
  /** Shape version. */
  version: 1;
  /** One entry per alert in the payload. */
  issues: DryRunIssue[];
}

/** Options of {@linkcode dryRun}. */
export interface DryRunOptions {
  /** Parsed config. */
  config: CanoConfig;
  /** Secret values to mask. */
  secrets: readonly string[];
  /** Sandboxed workflows to run besides the built-ins. */
  sandboxed?: readonly WorkflowEntry[];
}

const SECRET_HEADER = /authorization|token|key|secret|signature|cookie/i;

/**
 * Runs a payload through the pipeline and renders every destination's payloads.
 *
 * @param payload An Alertmanager webhook body.
 * @param options Config, secrets and sandboxed workflows.
 * @returns The report, or the payload's validation error.
 */
export async function dryRun(
  payload: unknown,
  { config, secrets, sandboxed = [] }: DryRunOptions,
): Promise<{ ok: true; report: DryRunReport } | { ok: false; error: string }> {
  const parsed = parseAlertmanagerPayload(payload, {
    defaultSeverity: config.alertmanager.defaultSeverity,
    ...(config.alertmanager.severityMap ? { severityMap: config.alertmanager.severityMap } : {}),
    ...(config.cluster ? { cluster: config.cluster } : {}),
  });
  if (!parsed.ok) {
    const detail = parsed.error.issues.map((i) => `  ✖ ${i.message}\n    → at ${i.path}`);
    return { ok: false, error: [parsed.error.message, ...detail].join("\n") };
  }
  // A dry-run never touches delivery state: the file may belong to a running Cano.
  const { state: _state, ...delivery } = config.delivery;
  const engine = new Engine({ config: { ...config, delivery }, log: silentLogger });
  engine.setSandboxedWorkflows(sandboxed);
  const issues: DryRunIssue[] = [];
  for (const input of parsed.issues) {
    const result = await engine.preview(input);
    const { configs } = deliveryConfigs(config.destinations, config.routing.routes);
    const deliveries = (result.route?.destinations ?? []).map((name) => {
      const destinationConfig = configs.find((d) => d.name === name)!;
      const destination = getDestination(destinationConfig.type);
      const requests = destination.render(result.issue, destinationConfig).map((p) =>
        maskRequest(destination.describe(p, destinationConfig), secrets)
      );
      return { destination: name, type: destinationConfig.type, requests };
    });
    issues.push({
      issue: result.issue,
      runs: result.runs,
      silenced: result.silenced ?? null,
      routes: result.route?.routes ?? [],
      rules: (result.route?.matched ?? []).flatMap(({ route }) => [
        ...(route?.group
          ? [
            `route "${route.name}" holds issues for ${route.group.window} ms and sends one summary when ${route.group.min} or more with the same ${
              route.group.by.join(", ")
            } arrive`,
          ]
          : []),
        ...(route?.repeatInterval
          ? [
            `route "${route.name}" sends an unchanged issue (same status) again only after ${route.repeatInterval} ms`,
          ]
          : []),
      ]),
      deliveries,
    });
  }
  await engine.shutdown(1000);
  return { ok: true, report: { version: 1, issues } };
}

function maskRequest(
  request: OutboundRequest | { output: string },
  secrets: readonly string[],
): OutboundRequest | { output: string } {
  if ("output" in request) return { output: maskSecrets(request.output, secrets) };
  const headers = Object.fromEntries(
    Object.entries(request.headers).map((
      [k, v],
    ) => [k, SECRET_HEADER.test(k) ? SECRET_MASK : maskSecrets(v, secrets)]),
  );
  return {
    ...request,
    url: maskSecrets(request.url, secrets),
    headers,
    body: maskSecrets(request.body, secrets),
  };
}

/**
 * Renders a report as readable text.
 *
 * @param report The dry-run report.
 * @returns The text.
 */
export function formatDryRunText(report: DryRunReport): string {
  const out: string[] = [];
  report.issues.forEach(({ issue, runs, silenced, routes, rules, deliveries }, i) => {
    out.push(`═══ Issue ${i + 1} of ${report.issues.length}: ${issue.title} (${issue.status})`);
    out.push(renderIssueText(issue));
    out.push(`── Workflows`);
    for (const run of runs) {
      out.push(
        `  ${run.workflow}: ${run.outcome} in ${run.durationMs.toFixed(1)} ms${
          run.error ? ` (${run.error})` : ""
        }`,
      );
    }
    if (runs.length === 0) out.push("  (none matched)");
    if (silenced) {
      out.push(`── Silenced by ${silenced.workflow}: ${silenced.reason}; nothing would be sent`);
      return;
    }
    out.push(`── Routes: ${routes.join(", ")}`);
    for (const rule of rules) out.push(`  note: ${rule}`);
    for (const delivery of deliveries) {
      out.push(`── Destination "${delivery.destination}" (${delivery.type})`);
      for (const request of delivery.requests) {
        if ("output" in request) {
          out.push(request.output);
          continue;
        }
        out.push(`${request.method} ${request.url}`);
        for (const [k, v] of Object.entries(request.headers)) out.push(`${k}: ${v}`);
        out.push("", request.body);
      }
    }
  });
  return out.join("\n") + "\n";
}
