/**
 * Triggers and resolves PagerDuty alerts with the Events API v2, one alert per fingerprint.
 *
 * ## Config
 * - `name`: unique name routes refer to.
 * - `type`: `"pagerduty"`.
 * - `routingKey`: the 32-character integration key of an "Events API v2" integration; give
 *   it as `${PAGERDUTY_ROUTING_KEY}`. It travels in the body, and dry-run and failure
 *   reasons show `***` instead.
 * - `region`: `us` (`https://events.pagerduty.com`) or `eu` (`https://events.eu.pagerduty.com`),
 *   default `us`.
 * - `url`: full enqueue URL; overrides `region` (tests, proxies).
 * - `severities`: PagerDuty severity per Issue severity (default HIGH `critical`, MEDIUM
 *   `error`, LOW `warning`, INFO and DEBUG `info`).
 * - `timeoutMs`, `rateLimit`: see {@linkcode destinationBaseShape}; the default rate is
 *   2 events/s with bursts of 4, PagerDuty's ~120 events/min per integration key.
 *
 * ## Limits
 * From the [Events API v2 docs](https://developer.pagerduty.com/docs/events-api-v2-overview):
 * `summary` ≤ 1024 characters ({@linkcode PAGERDUTY_MAX_SUMMARY}), `dedup_key` ≤ 255
 * ({@linkcode PAGERDUTY_MAX_DEDUP_KEY}), the whole event ≤ 512 KB
 * ({@linkcode PAGERDUTY_MAX_BYTES}, counted as 512,000 bytes like Alertmanager). When the
 * event is bigger, `custom_details` is replaced by a note, as Alertmanager does; if it still
 * does not fit, links and images go too. Image `src` must be HTTPS: links whose URL is an
 * HTTPS image become `images`, the rest `links`. Inline PNG blocks cannot be sent and are
 * named in `custom_details` only. HTTP 429 carries no `Retry-After`; Cano then waits
 * {@linkcode PAGERDUTY_THROTTLE_WAIT_MS}, the 30 s PagerDuty suggests.
 *
 * ## Threading
 * None is stored: `dedup_key` is the Issue fingerprint, so repeats update the open alert and
 * the resolution (`event_action: "resolve"`) closes it. A trigger after the resolution
 * opens a new alert; a resolve for a key PagerDuty does not know is accepted and dropped.
 *
 * ## Example payload
 * ```http
 * POST https://events.pagerduty.com/v2/enqueue
 * content-type: application/json
 *
 * {"routing_key":"***","event_action":"trigger","dedup_key":"3f2a9c1b7d4e8a60",
 *  "payload":{"summary":"Pod is crash looping","source":"prod/shop/api-1","severity":"critical",
 *  "timestamp":"2026-03-01T10:12:04.512Z","component":"api","group":"shop",
 *  "class":"KubePodCrashLooping","custom_details":{"labels":{...},"Logs (crash-loop)":"..."}},
 *  "links":[{"href":"https://runbooks.example.com/crashloop","text":"Runbook"}],"client":"Cano"}
 * ```
 *
 * @example What dry-run prints
 * ```ts
 * import pagerduty, { PagerDutyConfigSchema } from "./pagerduty.ts";
 * import { IssueSchema } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * const config = PagerDutyConfigSchema.parse({
 *   name: "oncall", type: "pagerduty", routingKey: "R0123456789abcdef0123456789abcde",
 * });
 * const issue = IssueSchema.parse({
 *   id: "7d0c", fingerprint: "3f2a", aggregationKey: "Oom", type: "alert", source: "prometheus",
 *   title: "Pod OOMKilled", severity: "HIGH", status: "firing",
 *   startsAt: "2026-03-01T10:00:00Z", createdAt: "2026-03-01T10:00:01Z",
 * });
 * const [payload] = pagerduty.render(issue, config);
 * const request = pagerduty.describe(payload!, config);
 * assert.ok("url" in request);
 * assert.equal(request.url, "https://events.pagerduty.com/v2/enqueue");
 * const body = JSON.parse(request.body);
 * assert.equal(body.routing_key, "***");
 * assert.deepEqual([body.event_action, body.dedup_key, body.payload.severity], ["trigger", "3f2a", "critical"]);
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
import { cutChars, renderBlockText } from "./_text.ts";

/** Longest `payload.summary`, in characters. */
export const PAGERDUTY_MAX_SUMMARY = 1024;
/** Longest `dedup_key`, in characters. */
export const PAGERDUTY_MAX_DEDUP_KEY = 255;
/** Largest event body, in bytes (512 KB, counted as Alertmanager does). */
export const PAGERDUTY_MAX_BYTES = 512_000;
/** Wait after a 429 without `Retry-After`, as PagerDuty's rate limit docs suggest. */
export const PAGERDUTY_THROTTLE_WAIT_MS = 30_000;
/** The note that replaces `custom_details` of an event over the size limit. */
export const PAGERDUTY_DETAILS_REMOVED =
  "Custom details have been removed because the original event exceeds the maximum size of 512kB";
/** Enqueue URL per region. */
export const PAGERDUTY_URLS: Readonly<Record<"us" | "eu", string>> = Object.freeze({
  us: "https://events.pagerduty.com/v2/enqueue",
  eu: "https://events.eu.pagerduty.com/v2/enqueue",
});

const PagerDutySeveritySchema = z.enum(["critical", "error", "warning", "info"]);
/** A PagerDuty event severity. */
export type PagerDutySeverity = z.infer<typeof PagerDutySeveritySchema>;

/** Config of a PagerDuty destination. */
export const PagerDutyConfigSchema = z.strictObject({
  // ~120 events/min per integration key (60 s sliding window).
  ...destinationBaseShape({ rateLimit: { perSecond: 2, burst: 4 } }),
  type: z.literal("pagerduty"),
  routingKey: z.string().regex(/^[A-Za-z0-9]{32}$/, {
    error: "PagerDuty routing key must be the 32-character integration key",
  }).describe("Events API v2 integration key, e.g. ${PAGERDUTY_ROUTING_KEY}; never logged"),
  region: z.enum(["us", "eu"]).default("us").describe("Service region of the PagerDuty account"),
  url: z.url({ protocol: /^https?$/ }).optional()
    .describe("Full enqueue URL; overrides region"),
  severities: z.strictObject({
    HIGH: PagerDutySeveritySchema.default("critical"),
    MEDIUM: PagerDutySeveritySchema.default("error"),
    LOW: PagerDutySeveritySchema.default("warning"),
    INFO: PagerDutySeveritySchema.default("info"),
    DEBUG: PagerDutySeveritySchema.default("info"),
  }).prefault({}).describe("PagerDuty severity per Issue severity"),
});
/** Config of a PagerDuty destination, defaults applied. */
export type PagerDutyConfig = z.infer<typeof PagerDutyConfigSchema>;

/** An Events API v2 event without its `routing_key`, which `send` and `describe` add. */
export type PagerDutyEvent =
  | {
    event_action: "trigger";
    dedup_key: string;
    payload: {
      summary: string;
      source: string;
      severity: PagerDutySeverity;
      timestamp: string;
      component?: string;
      group?: string;
      class: string;
      custom_details: Record<string, unknown>;
    };
    images?: { src: string; href: string; alt: string }[];
    links?: { href: string; text: string }[];
    client: "Cano";
  }
  | { event_action: "resolve"; dedup_key: string };

/** The PagerDuty destination. */
const pagerduty = defineDestination({
  type: "pagerduty",
  config: PagerDutyConfigSchema,
  render: renderPagerDuty,
  describe(payload: PagerDutyEvent, config: PagerDutyConfig): OutboundRequest {
    return request(payload, config, "***");
  },
  send: sendPagerDuty,
});

export default pagerduty;

/**
 * Renders an Issue as one trigger event (firing) or one resolve event (resolved).
 *
 * @param issue The issue.
 * @param config The destination config.
 * @returns One event, within PagerDuty's limits.
 * @example A resolved Issue only needs the dedup key
 * ```ts
 * import { PagerDutyConfigSchema, renderPagerDuty } from "./pagerduty.ts";
 * import { IssueSchema } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * const config = PagerDutyConfigSchema.parse({
 *   name: "oncall", type: "pagerduty", routingKey: "R0123456789abcdef0123456789abcde",
 * });
 * const issue = IssueSchema.parse({
 *   id: "7d0c", fingerprint: "3f2a", aggregationKey: "Oom", type: "alert", source: "prometheus",
 *   title: "Pod OOMKilled", severity: "HIGH", status: "resolved",
 *   startsAt: "2026-03-01T10:00:00Z", createdAt: "2026-03-01T10:00:01Z",
 * });
 * assert.deepEqual(renderPagerDuty(issue, config), [{ event_action: "resolve", dedup_key: "3f2a" }]);
 * ```
 */
export function renderPagerDuty(issue: Issue, config: PagerDutyConfig): PagerDutyEvent[] {
  const dedupKey = [...issue.fingerprint].slice(0, PAGERDUTY_MAX_DEDUP_KEY).join("");
  if (issue.status === "resolved") return [{ event_action: "resolve", dedup_key: dedupKey }];
  const subject = issue.subject;
  const title = issue.title.trim() || issue.aggregationKey;
  const where = subject
    ? `${subject.kind} ${subject.namespace ? `${subject.namespace}/` : ""}${subject.name}`
    : "";
  const summary = cut(`${title}${where ? ` (${where})` : ""}`, PAGERDUTY_MAX_SUMMARY);
  const source = [issue.cluster, subject?.namespace, subject?.name].filter(Boolean).join("/") ||
    issue.source;
  const links: { href: string; text: string }[] = [];
  const images: { src: string; href: string; alt: string }[] = [];
  const allLinks = [
    ...issue.links,
    ...issue.enrichments.flatMap((e) => e.blocks.flatMap((b) => b.type === "links" ? b.links : [])),
  ];
  for (const link of allLinks) {
    if (isHttpsImage(link.url)) images.push({ src: link.url, href: link.url, alt: link.title });
    else links.push({ href: link.url, text: link.title });
  }
  const event: PagerDutyEvent = {
    "event_action": "trigger",
    "dedup_key": dedupKey,
    payload: {
      summary,
      source,
      severity: config.severities[issue.severity],
      timestamp: issue.startsAt,
      ...(subject ? { component: subject.container ?? `${subject.kind}/${subject.name}` } : {}),
      ...(subject?.namespace ? { group: subject.namespace } : {}),
      class: issue.aggregationKey,
      custom_details: customDetails(issue),
    },
    ...(images.length > 0 ? { images } : {}),
    ...(links.length > 0 ? { links } : {}),
    client: "Cano",
  };
  return [fit(event)];
}

function customDetails(issue: Issue): Record<string, unknown> {
  const details: Record<string, unknown> = {
    fingerprint: issue.fingerprint,
    severity: issue.severity,
    source: issue.source,
    ...(issue.cluster ? { cluster: issue.cluster } : {}),
    ...(issue.description ? { description: issue.description } : {}),
    labels: issue.labels,
    annotations: issue.annotations,
  };
  for (const enrichment of issue.enrichments) {
    const heading = enrichment.title
      ? `${enrichment.title} (${enrichment.workflow})`
      : enrichment.workflow;
    let key = heading;
    for (let n = 2; key in details; n++) key = `${heading} #${n}`;
    details[key] = enrichment.blocks.map((b) => renderBlockText(b).join("\n")).join("\n\n");
  }
  return details;
}

/** Drops custom details, then links and images, until the event fits the size limit. */
function fit(event: PagerDutyEvent & { event_action: "trigger" }): PagerDutyEvent {
  if (bodyBytes(event) <= PAGERDUTY_MAX_BYTES) return event;
  const slim = {
    ...event,
    payload: { ...event.payload, custom_details: { error: PAGERDUTY_DETAILS_REMOVED } },
  };
  if (bodyBytes(slim) <= PAGERDUTY_MAX_BYTES) return slim;
  const { links: _links, images: _images, ...bare } = slim;
  return bare;
}

/** Bytes of the body as sent, counting a 32-character routing key. */
function bodyBytes(event: PagerDutyEvent): number {
  return new TextEncoder().encode(JSON.stringify(withKey(event, "x".repeat(32)))).length;
}

function withKey(event: PagerDutyEvent, routingKey: string): Record<string, unknown> {
  return { routing_key: routingKey, ...event };
}

function isHttpsImage(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" && /\.(png|jpe?g|gif|svg|webp)$/i.test(parsed.pathname);
  } catch (_error) {
    // The SDK already checked it is a URL; treat anything odd as a plain link.
    return false;
  }
}

/** One line (whitespace collapsed), cut to `max` characters. */
function cut(text: string, max: number): string {
  return cutChars(text.replace(/\s+/g, " ").trim(), max);
}

function request(event: PagerDutyEvent, config: PagerDutyConfig, key: string): OutboundRequest {
  return {
    method: "POST",
    url: config.url ?? PAGERDUTY_URLS[config.region],
    headers: { "content-type": "application/json" },
    body: JSON.stringify(withKey(event, key)),
  };
}

async function sendPagerDuty(
  payload: PagerDutyEvent,
  config: PagerDutyConfig,
  options: SendOptions,
): Promise<SendResult> {
  const answer = await httpAttempt(
    {
      label: `PagerDuty "${config.name}"`,
      timeoutMs: config.timeoutMs,
      secrets: [config.routingKey],
    },
    request(payload, config, config.routingKey),
    options,
  );
  if (answer.ok) return { ok: true };
  const { failure } = answer;
  return answer.status === 429 && failure.retryAfterMs === undefined
    ? { ...failure, retryAfterMs: PAGERDUTY_THROTTLE_WAIT_MS }
    : failure;
}
