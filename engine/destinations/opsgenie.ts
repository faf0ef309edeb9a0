/**
 * Creates and closes Opsgenie alerts with the Alert API, one alert per fingerprint.
 *
 * Atlassian ends Opsgenie support in April 2027; Jira Service Management Operations keeps a
 * GenieKey-based API, so `apiUrl` takes any base URL.
 *
 * ## Config
 * - `name`: unique name routes refer to.
 * - `type`: `"opsgenie"`.
 * - `apiKey`: API integration key, sent as `Authorization: GenieKey <key>`; give it as
 *   `${OPSGENIE_API_KEY}`. Dry-run and failure reasons show `***`.
 * - `region`: `us` (`https://api.opsgenie.com`) or `eu` (`https://api.eu.opsgenie.com`),
 *   default `us`.
 * - `apiUrl`: base URL; overrides `region`.
 * - `priorities`: P1–P5 per Issue severity (default HIGH P1, MEDIUM P2, LOW P3, INFO P4,
 *   DEBUG P5).
 * - `teams`: team names added as responders (default none: the integration's team).
 * - `tags`: tags added to every alert, besides severity, cluster, namespace and alert name.
 * - `timeoutMs`, `rateLimit`: see {@linkcode destinationBaseShape}; the default is 1 request/s
 *   with bursts of 10. Opsgenie limits each domain with a plan-dependent token bucket
 *   ([API rate limiting](https://docs.opsgenie.com/docs/api-rate-limiting)).
 *
 * ## Limits
 * From the [Alert API](https://docs.opsgenie.com/docs/alert-api): message ≤ 130 characters,
 * alias ≤ 512, description ≤ 15,000, ≤ 20 tags of ≤ 50, entity ≤ 512, source ≤ 100, details
 * ≤ 8,000 characters in total (keys and values). Longer texts are cut with `…`; details
 * that do not fit are left out and counted in `cano.omitted`.
 *
 * ## Threading
 * None is stored: the alias is the Issue fingerprint. Opsgenie increments the count of an
 * open alert created again with the same alias, and the resolution closes it with
 * `POST /v2/alerts/{alias}/close?identifierType=alias`. Requests are asynchronous: a 202
 * means queued, so a close of an unknown alias also answers 202.
 *
 * ## Example payload
 * ```http
 * POST https://api.opsgenie.com/v2/alerts
 * authorization: GenieKey ***
 * content-type: application/json
 *
 * {"message":"Pod is crash looping","alias":"3f2a9c1b7d4e8a60","description":"[FIRING] HIGH ...",
 *  "tags":["HIGH","prod","shop","KubePodCrashLooping"],"details":{"alertname":"KubePodCrashLooping"},
 *  "entity":"Pod shop/api-1","source":"cano/prod","priority":"P1"}
 * ```
 *
 * @example What dry-run prints
 * ```ts
 * import opsgenie, { OpsgenieConfigSchema } from "./opsgenie.ts";
 * import { IssueSchema } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * const config = OpsgenieConfigSchema.parse({
 *   name: "ops", type: "opsgenie", apiKey: "eb243592-faa2-4ba2-a551-1afdf565c889", region: "eu",
 * });
 * const issue = IssueSchema.parse({
 *   id: "7d0c", fingerprint: "3f2a", aggregationKey: "Oom", type: "alert", source: "prometheus",
 *   title: "Pod OOMKilled", severity: "MEDIUM", status: "firing",
 *   startsAt: "2026-03-01T10:00:00Z", createdAt: "2026-03-01T10:00:01Z",
 * });
 * const request = opsgenie.describe(opsgenie.render(issue, config)[0]!, config);
 * assert.ok("url" in request);
 * assert.equal(request.url, "https://api.eu.opsgenie.com/v2/alerts");
 * assert.equal(request.headers.authorization, "GenieKey ***");
 * assert.deepEqual([JSON.parse(request.body).alias, JSON.parse(request.body).priority], ["3f2a", "P2"]);
 * ```
 *
 * @module
 */
import { z } from "zod";
import type { Issue } from "@cano/sdk";
import {
  defineDestination,
  destinationBaseShape,
  type OutboundRequest,
  type SendOptions,
  type SendResult,
} from "./destination.ts";
import { httpAttempt } from "./_http.ts";
import { cutChars as cut, renderIssueText } from "./_text.ts";

/** Longest alert message, in characters. */
export const OPSGENIE_MAX_MESSAGE = 130;
/** Longest alias, in characters. */
export const OPSGENIE_MAX_ALIAS = 512;
/** Longest description, in characters. */
export const OPSGENIE_MAX_DESCRIPTION = 15_000;
/** Most tags per alert. */
export const OPSGENIE_MAX_TAGS = 20;
/** Longest tag, in characters. */
export const OPSGENIE_MAX_TAG = 50;
/** Longest entity, in characters. */
export const OPSGENIE_MAX_ENTITY = 512;
/** Longest source, in characters. */
export const OPSGENIE_MAX_SOURCE = 100;
/** Characters of all detail keys and values together. */
export const OPSGENIE_MAX_DETAILS = 8000;
/** API base URL per region. */
export const OPSGENIE_URLS: Readonly<Record<"us" | "eu", string>> = Object.freeze({
  us: "https://api.opsgenie.com",
  eu: "https://api.eu.opsgenie.com",
});

const PrioritySchema = z.enum(["P1", "P2", "P3", "P4", "P5"]);
const TagSchema = z.string().min(1).max(OPSGENIE_MAX_TAG).regex(/^\S+$/, {
  error: "Opsgenie tag must be 1 to 50 characters without spaces",
});

/** Config of an Opsgenie destination. */
export const OpsgenieConfigSchema = z.strictObject({
  ...destinationBaseShape({ rateLimit: { perSecond: 1, burst: 10 } }),
  type: z.literal("opsgenie"),
  apiKey: z.string().min(8).describe("API integration key, e.g. ${OPSGENIE_API_KEY}; never logged"),
  region: z.enum(["us", "eu"]).default("us").describe("Service region of the Opsgenie account"),
  apiUrl: z.url({ protocol: /^https?$/ }).optional().describe("API base URL; overrides region"),
  priorities: z.strictObject({
    HIGH: PrioritySchema.default("P1"),
    MEDIUM: PrioritySchema.default("P2"),
    LOW: PrioritySchema.default("P3"),
    INFO: PrioritySchema.default("P4"),
    DEBUG: PrioritySchema.default("P5"),
  }).prefault({}).describe("Opsgenie priority per Issue severity"),
  teams: z.array(z.string().min(1)).max(50).default([])
    .describe("Team names notified as responders"),
  tags: z.array(TagSchema).max(OPSGENIE_MAX_TAGS).default([])
    .describe("Tags added to every alert"),
});
/** Config of an Opsgenie destination, defaults applied. */
export type OpsgenieConfig = z.infer<typeof OpsgenieConfigSchema>;

/** The body of `POST /v2/alerts`. */
export interface OpsgenieAlert {
  /** Alert text, ≤ 130 characters. */
  message: string;
  /** De-duplication key: the fingerprint. */
  alias: string;
  /** Text rendering of the Issue and its enrichments. */
  description: string;
  /** Responders by team name. */
  responders?: { type: "team"; name: string }[];
  /** Tags. */
  tags: string[];
  /** Labels, annotations and Issue fields as strings. */
  details: Record<string, string>;
  /** The Kubernetes object. */
  entity?: string;
  /** `cano` or `cano/<cluster>`. */
  source: string;
  /** P1–P5. */
  priority: z.infer<typeof PrioritySchema>;
}

/** One request: create (or count again) an alert, or close it by alias. */
export type OpsgeniePayload =
  | { kind: "create"; alert: OpsgenieAlert }
  | { kind: "close"; alias: string; body: { source: string; note: string } };

/** The Opsgenie destination. */
const opsgenie = defineDestination({
  type: "opsgenie",
  config: OpsgenieConfigSchema,
  render: renderOpsgenie,
  describe(payload: OpsgeniePayload, config: OpsgenieConfig): OutboundRequest {
    return request(payload, config, "***");
  },
  async send(
    payload: OpsgeniePayload,
    config: OpsgenieConfig,
    options: SendOptions,
  ): Promise<SendResult> {
    const answer = await httpAttempt(
      { label: `Opsgenie "${config.name}"`, timeoutMs: config.timeoutMs, secrets: [config.apiKey] },
      request(payload, config, config.apiKey),
      options,
    );
    return answer.ok ? { ok: true } : answer.failure;
  },
});

export default opsgenie;

/**
 * Renders an Issue as a create request (firing) or a close request (resolved).
 *
 * @param issue The issue.
 * @param config The destination config.
 * @returns One payload, within Opsgenie's limits.
 * @example A resolution closes the alert by alias
 * ```ts
 * import { OpsgenieConfigSchema, renderOpsgenie } from "./opsgenie.ts";
 * import { IssueSchema } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * const config = OpsgenieConfigSchema.parse({ name: "ops", type: "opsgenie", apiKey: "key-123456" });
 * const issue = IssueSchema.parse({
 *   id: "7d0c", fingerprint: "3f2a", aggregationKey: "Oom", type: "alert", source: "prometheus",
 *   title: "Pod OOMKilled", severity: "HIGH", status: "resolved", endsAt: "2026-03-01T10:30:00Z",
 *   startsAt: "2026-03-01T10:00:00Z", createdAt: "2026-03-01T10:00:01Z",
 * });
 * assert.deepEqual(renderOpsgenie(issue, config), [{
 *   kind: "close", alias: "3f2a", body: { source: "cano", note: "Resolved at 2026-03-01T10:30:00Z" },
 * }]);
 * ```
 */
export function renderOpsgenie(issue: Issue, config: OpsgenieConfig): OpsgeniePayload[] {
  const alias = cut(issue.fingerprint, OPSGENIE_MAX_ALIAS);
  const source = cut(issue.cluster ? `cano/${issue.cluster}` : "cano", OPSGENIE_MAX_SOURCE);
  if (issue.status === "resolved") {
    const note = `Resolved${issue.endsAt ? ` at ${issue.endsAt}` : ""}`;
    return [{ kind: "close", alias, body: { source, note } }];
  }
  const subject = issue.subject;
  const entity = subject &&
    `${subject.kind} ${subject.namespace ? `${subject.namespace}/` : ""}${subject.name}`;
  const alert: OpsgenieAlert = {
    message: cut(oneLine(issue.title) || issue.aggregationKey, OPSGENIE_MAX_MESSAGE),
    alias,
    description: cut(renderIssueText(issue), OPSGENIE_MAX_DESCRIPTION),
    ...(config.teams.length > 0
      ? { responders: config.teams.map((name) => ({ type: "team" as const, name })) }
      : {}),
    tags: tagsOf(issue, config),
    details: detailsOf(issue),
    ...(entity ? { entity: cut(entity, OPSGENIE_MAX_ENTITY) } : {}),
    source,
    priority: config.priorities[issue.severity],
  };
  return [{ kind: "create", alert }];
}

function tagsOf(issue: Issue, config: OpsgenieConfig): string[] {
  const candidates = [
    ...config.tags,
    issue.severity,
    issue.cluster,
    issue.subject?.namespace,
    issue.aggregationKey,
  ];
  const tags = candidates.filter((t): t is string => !!t?.trim())
    .map((t) => cut(t.trim().replace(/\s+/g, "_"), OPSGENIE_MAX_TAG));
  return [...new Set(tags)].slice(0, OPSGENIE_MAX_TAGS);
}

/** Issue fields, labels, then annotations (`annotation.<name>`), until 8000 characters. */
function detailsOf(issue: Issue): Record<string, string> {
  const entries: [string, string][] = [
    ["cano.fingerprint", issue.fingerprint],
    ["cano.severity", issue.severity],
    ["cano.source", issue.source],
    ["cano.startsAt", issue.startsAt],
    ...Object.keys(issue.labels).sort().map((k): [string, string] => [k, issue.labels[k]!]),
    ...Object.keys(issue.annotations).sort().map((k): [string, string] => [
      `annotation.${k}`,
      issue.annotations[k]!,
    ]),
  ];
  const details: Record<string, string> = {};
  const budget = OPSGENIE_MAX_DETAILS - "cano.omitted".length - 6;
  let used = 0;
  let omitted = 0;
  for (const [key, value] of entries) {
    const size = key.length + value.length;
    if (key in details || used + size > budget) omitted++;
    else {
      details[key] = value;
      used += size;
    }
  }
  if (omitted > 0) details["cano.omitted"] = String(omitted);
  return details;
}

function request(payload: OpsgeniePayload, config: OpsgenieConfig, key: string): OutboundRequest {
  const base = (config.apiUrl ?? OPSGENIE_URLS[config.region]).replace(/\/+$/, "");
  const headers = { authorization: `GenieKey ${key}`, "content-type": "application/json" };
  if (payload.kind === "create") {
    return {
      method: "POST",
      url: `${base}/v2/alerts`,
      headers,
      body: JSON.stringify(payload.alert),
    };
  }
  return {
    method: "POST",
    url: `${base}/v2/alerts/${encodeURIComponent(payload.alias)}/close?identifierType=alias`,
    headers,
    body: JSON.stringify(payload.body),
  };
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}
