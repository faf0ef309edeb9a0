/**
 * The Alertmanager webhook source: turns a webhook payload (version 4) into one
 * {@linkcode Issue} per alert.
 *
 * Alertmanager groups alerts and sends the whole group in every notification, with a
 * status per alert. This source splits the group, so every Issue carries its own status,
 * fingerprint, subject and links. It accepts payloads from every Alertmanager since v0.x
 * with webhook version 4 (fields added later, such as `notification_reason` and
 * `routeLabels`, are optional) and unknown extra fields anywhere. It never throws on bad
 * input: it returns `{ ok: false, error }` with every problem and its path, which the
 * server turns into `400 {"error": "Invalid Alertmanager payload", "issues": [...]}`.
 *
 * Re-sent groups and HA duplicates are filtered afterwards by `createAlertDeduper`
 * (`./dedupe.ts`).
 *
 * @example Parse a payload
 * ```ts
 * import { parseAlertmanagerPayload } from "./alertmanager.ts";
 * import assert from "node:assert/strict";
 *
 * const result = parseAlertmanagerPayload({
 *   status: "firing",
 *   externalURL: "http://alertmanager:9093",
 *   alerts: [{
 *     status: "firing",
 *     labels: { alertname: "KubePodOOMKilled", namespace: "shop", pod: "api-0", severity: "warning" },
 *     annotations: { summary: "Pod was OOM killed" },
 *     startsAt: "2026-03-01T10:12:04.512Z",
 *     endsAt: "0001-01-01T00:00:00Z",
 *   }],
 * });
 * assert.ok(result.ok);
 * const [issue] = result.issues;
 * assert.equal(issue?.severity, "MEDIUM");
 * assert.deepEqual(issue?.subject, { kind: "Pod", name: "api-0", namespace: "shop" });
 * assert.equal(issue?.endsAt, undefined);
 * ```
 *
 * @module
 */
import { z } from "zod";
import { type Issue, type Link, type Severity, SeveritySchema } from "@cano/sdk";
import { subjectFromLabels } from "./_subject.ts";

/** The `error` text of every rejected payload, as the server returns it. */
export const INVALID_PAYLOAD_MESSAGE = "Invalid Alertmanager payload";

/** Go's zero `time.Time`, which Alertmanager sends as `endsAt` of firing alerts. */
const ZERO_TIME_PREFIX = "0001-01-01T00:00:00";

const LabelMapSchema = z.record(z.string(), z.string());
const TimeSchema = z.iso.datetime({ offset: true, error: "Expected an RFC 3339 timestamp" });

/** One alert of a webhook payload. Unknown fields are kept. */
export const AlertmanagerAlertSchema = z.looseObject({
  status: z.enum(["firing", "resolved"], { error: 'Expected "firing" or "resolved"' }),
  labels: z.object({ alertname: z.string().min(1) }).catchall(z.string()),
  annotations: LabelMapSchema.default({}),
  startsAt: TimeSchema,
  endsAt: z.string().optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().optional(),
});
/** One alert of a webhook payload. */
export type AlertmanagerAlert = z.infer<typeof AlertmanagerAlertSchema>;

/**
 * The Alertmanager webhook payload, version 4. Only `alerts` is required, so payloads of old
 * Alertmanagers and hand-written senders pass; unknown fields are kept.
 */
export const AlertmanagerPayloadSchema = z.looseObject({
  version: z.string().optional(),
  groupKey: z.string().optional(),
  truncatedAlerts: z.number().int().nonnegative().optional(),
  status: z.enum(["firing", "resolved"], { error: 'Expected "firing" or "resolved"' }).optional(),
  receiver: z.string().optional(),
  groupLabels: LabelMapSchema.optional(),
  commonLabels: LabelMapSchema.optional(),
  commonAnnotations: LabelMapSchema.optional(),
  routeLabels: LabelMapSchema.optional(),
  externalURL: z.string().optional(),
  notification_reason: z.string().optional(),
  alerts: z.array(AlertmanagerAlertSchema).min(1, "Expected at least one alert"),
});
/** The Alertmanager webhook payload, version 4. */
export type AlertmanagerPayload = z.infer<typeof AlertmanagerPayloadSchema>;

/** Why a payload was rejected: a summary and every problem with its path. */
export interface SourceError {
  /** Summary, e.g. `Invalid Alertmanager payload`. */
  message: string;
  /** Every problem, e.g. `{ path: "alerts[0].labels.alertname", message: "..." }`. */
  issues: { path: string; message: string }[];
}

/** What a source returns: the Issues, or why the input was rejected. */
export type ParseResult = { ok: true; issues: Issue[] } | { ok: false; error: SourceError };

/** Severity label values Cano understands out of the box (lower case). */
export const DEFAULT_SEVERITY_MAP: Readonly<Record<string, Severity>> = Object.freeze({
  critical: "HIGH",
  high: "HIGH",
  error: "HIGH",
  warning: "MEDIUM",
  medium: "MEDIUM",
  low: "LOW",
  info: "INFO",
  none: "INFO",
  debug: "DEBUG",
});

/** Options of {@linkcode parseAlertmanagerPayload}. */
export interface AlertmanagerSourceOptions {
  /**
   * `severity` label value to Severity, matched case-insensitively. Replaces the default
   * map; spread {@linkcode DEFAULT_SEVERITY_MAP} into it to extend it.
   * @default DEFAULT_SEVERITY_MAP
   */
  severityMap?: Readonly<Record<string, Severity>>;
  /** Severity of alerts whose `severity` label is missing or not in the map. @default "INFO" */
  defaultSeverity?: Severity;
  /** Cluster name for alerts without a `cluster` label. @default undefined (no cluster) */
  cluster?: string;
  /** Clock, for `createdAt`. @default Date.now */
  now?: () => number;
  /** Id generator. @default crypto.randomUUID */
  newId?: () => string;
}

/**
 * Validates an Alertmanager webhook payload and turns each alert into an Issue.
 *
 * Per alert: `fingerprint` is the alert's own, or {@linkcode labelsFingerprint} of its labels
 * when absent; `severity` comes from the `severity` label; `title` from the `summary`
 * annotation (then `message`, then the alert name); the subject from the labels; links to
 * Prometheus, the runbook, the dashboard and a prefilled Alertmanager silence (URLs that do
 * not parse as http(s) are skipped); `endsAt` only for resolved alerts.
 *
 * @param body The parsed JSON body.
 * @param options Severity mapping, cluster name, clock and id generator.
 * @returns The Issues, or every problem found. Never throws on bad input.
 * @throws {RangeError} When `options` holds a severity that does not exist.
 * @example A missing alert name is reported with its path
 * ```ts
 * import { parseAlertmanagerPayload } from "./alertmanager.ts";
 * import assert from "node:assert/strict";
 *
 * const result = parseAlertmanagerPayload({
 *   alerts: [{ status: "firing", labels: {}, startsAt: "2026-03-01T10:12:04Z" }],
 * });
 * assert.equal(result.ok, false);
 * if (!result.ok) assert.equal(result.error.issues[0]?.path, "alerts[0].labels.alertname");
 * ```
 */
export function parseAlertmanagerPayload(
  body: unknown,
  {
    severityMap = DEFAULT_SEVERITY_MAP,
    defaultSeverity = "INFO",
    cluster,
    now = Date.now,
    newId = () => crypto.randomUUID(),
  }: AlertmanagerSourceOptions = {},
): ParseResult {
  const severities = normalizeSeverityMap(severityMap, defaultSeverity);
  const parsed = AlertmanagerPayloadSchema.safeParse(body);
  if (!parsed.success) {
    return {
      ok: false,
      error: {
        message: INVALID_PAYLOAD_MESSAGE,
        issues: parsed.error.issues.map((i) => ({
          path: formatPath(i.path),
          message: i.message,
        })),
      },
    };
  }
  const payload = parsed.data;
  const createdAt = new Date(now()).toISOString();
  const issues = payload.alerts.map((alert) => {
    const labels: Record<string, string> = { ...alert.labels };
    const annotations: Record<string, string> = { ...alert.annotations };
    const issue: Issue = {
      id: newId(),
      fingerprint: alert.fingerprint || labelsFingerprint(labels),
      aggregationKey: alert.labels.alertname,
      type: "alert",
      source: "prometheus",
      title: firstText(annotations["summary"], annotations["message"]) ?? alert.labels.alertname,
      severity: severities.get(labels["severity"]?.trim().toLowerCase() ?? "") ?? defaultSeverity,
      status: alert.status,
      labels,
      annotations,
      startsAt: alert.startsAt,
      createdAt,
      links: alertLinks(alert, payload.externalURL),
      enrichments: [],
      raw: rawOf(alert, payload),
    };
    const description = firstText(annotations["description"], annotations["message"]);
    if (description !== undefined) issue.description = description;
    const clusterName = firstText(labels["cluster"], cluster);
    if (clusterName !== undefined) issue.cluster = clusterName;
    const subject = subjectFromLabels(labels);
    if (subject) issue.subject = subject;
    if (alert.status === "resolved" && isRealTime(alert.endsAt)) issue.endsAt = alert.endsAt;
    return issue;
  });
  return { ok: true, issues };
}

/**
 * The fingerprint Alertmanager gives a label set: FNV-1a 64 over the label names in byte
 * order, each name and value followed by the byte 0xff, as 16 lower-case hex digits
 * (`model.LabelSet.Fingerprint()` in prometheus/common). Used when a payload has no
 * `fingerprint`, so hand-written senders get the value Alertmanager would have sent.
 *
 * @param labels The label set.
 * @returns 16 hex digits.
 * @example
 * ```ts
 * import { labelsFingerprint } from "./alertmanager.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(labelsFingerprint({}), "cbf29ce484222325");
 * ```
 */
export function labelsFingerprint(labels: Readonly<Record<string, string>>): string {
  const encoder = new TextEncoder();
  const names = Object.keys(labels).map((name) => ({ name, bytes: encoder.encode(name) }))
    .sort((a, b) => compareBytes(a.bytes, b.bytes));
  let hash = FNV_OFFSET;
  const add = (bytes: Uint8Array) => {
    for (const byte of bytes) hash = BigInt.asUintN(64, (hash ^ BigInt(byte)) * FNV_PRIME);
    hash = BigInt.asUintN(64, (hash ^ 0xffn) * FNV_PRIME);
  };
  for (const { name, bytes } of names) {
    add(bytes);
    add(encoder.encode(labels[name]));
  }
  return hash.toString(16).padStart(16, "0");
}

/**
 * The Alertmanager URL that opens a new silence prefilled with matchers for every label,
 * `alertname` first and the rest sorted: `<externalURL>/#/silences/new?filter=...`.
 *
 * @param externalURL Alertmanager's external URL, as in the payload.
 * @param labels The alert's labels.
 * @returns The URL, or `undefined` when `externalURL` is not an http(s) URL.
 * @example
 * ```ts
 * import { silenceUrl } from "./alertmanager.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(
 *   silenceUrl("http://am:9093/", { namespace: "shop", alertname: "X" }),
 *   "http://am:9093/#/silences/new?filter=" + encodeURIComponent('{alertname="X", namespace="shop"}'),
 * );
 * ```
 */
export function silenceUrl(
  externalURL: string,
  labels: Readonly<Record<string, string>>,
): string | undefined {
  if (!isHttpUrl(externalURL)) return undefined;
  const names = Object.keys(labels).sort((a, b) =>
    a === "alertname" ? -1 : b === "alertname" ? 1 : a < b ? -1 : a > b ? 1 : 0
  );
  const matchers = names.map((name) => `${matcherName(name)}=${quote(labels[name]!)}`);
  const filter = encodeURIComponent(`{${matchers.join(", ")}}`);
  return `${externalURL.replace(/\/+$/, "")}/#/silences/new?filter=${filter}`;
}

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}

function normalizeSeverityMap(
  map: Readonly<Record<string, Severity>>,
  fallback: Severity,
): Map<string, Severity> {
  if (!SeveritySchema.safeParse(fallback).success) {
    throw new RangeError(
      `Cannot parse Alertmanager payload: default severity "${fallback}" is not one of ${SeveritySchema.options}`,
    );
  }
  const out = new Map<string, Severity>();
  for (const [value, severity] of Object.entries(map)) {
    if (!SeveritySchema.safeParse(severity).success) {
      throw new RangeError(
        `Cannot parse Alertmanager payload: severity map sends "${value}" to "${severity}", which is not one of ${SeveritySchema.options}`,
      );
    }
    out.set(value.trim().toLowerCase(), severity);
  }
  return out;
}

function alertLinks(alert: AlertmanagerAlert, externalURL: string | undefined): Link[] {
  const candidates: [title: string, url: string | undefined][] = [
    ["Prometheus", alert.generatorURL],
    ["Runbook", alert.annotations["runbook_url"]],
    ["Dashboard", alert.annotations["dashboard_url"]],
    ["Silence", externalURL === undefined ? undefined : silenceUrl(externalURL, alert.labels)],
  ];
  const links: Link[] = [];
  for (const [title, url] of candidates) {
    const trimmed = url?.trim();
    // One parse per URL: the links are built per alert, on the hot path.
    if (trimmed && isHttpUrl(trimmed)) links.push({ title, url: trimmed });
  }
  return links;
}

function rawOf(alert: AlertmanagerAlert, payload: AlertmanagerPayload): Record<string, unknown> {
  const raw: Record<string, unknown> = { alert };
  if (payload.receiver !== undefined) raw["receiver"] = payload.receiver;
  if (payload.groupKey !== undefined) raw["groupKey"] = payload.groupKey;
  if (payload.externalURL !== undefined) raw["externalURL"] = payload.externalURL;
  if (payload.groupLabels !== undefined) raw["groupLabels"] = payload.groupLabels;
  return raw;
}

function firstText(...values: (string | undefined)[]): string | undefined {
  return values.find((v) => v !== undefined && v.trim() !== "");
}

function isRealTime(value: string | undefined): value is string {
  return value !== undefined && !value.startsWith(ZERO_TIME_PREFIX) &&
    !Number.isNaN(Date.parse(value));
}

/**
 * An absolute http(s) URL with a host and no whitespace. A pattern rather than `URL.canParse`:
 * links are checked for every alert on the hot path, and a full parse (a native call in Deno)
 * was the largest cost of building an issue.
 */
const HTTP_URL = /^https?:\/\/[^\s/?#@]*[^\s/?#@:][^\s]*$/i;

function isHttpUrl(value: string): boolean {
  return HTTP_URL.test(value);
}

const PLAIN_LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function matcherName(name: string): string {
  return PLAIN_LABEL_NAME.test(name) ? name : quote(name);
}

function quote(value: string): string {
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

const PLAIN_KEY = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else if (typeof key === "string" && PLAIN_KEY.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out || "(root)";
}
