/**
 * Karo's alert data model: the map that `valueFrom.alertRef.fieldPath`, the `karo.io/v1`
 * README form of `value:` and the matchers read, built from an Alertmanager {@linkcode Issue}.
 *
 * It is Karo's `alertToMap` (webhook/server.go) field for field: `status`, `startsAt` and
 * `endsAt` (RFC 3339 without fractional seconds, `0001-01-01T00:00:00Z` when unset, as Go
 * formats them), `generatorURL`, `fingerprint`, the `labels` and `annotations` maps, and the
 * same entries flattened as `labels.<name>` and `annotations.<name>`. Group-level fields of
 * the webhook (receiver, group labels, external URL) are not part of it, as in Karo.
 *
 * @example Resolve a field as `alertRef.fieldPath` does
 * ```ts
 * import { alertDataFromAlert, resolveAlertField } from "./alert_data.ts";
 * import assert from "node:assert/strict";
 *
 * const data = alertDataFromAlert({
 *   status: "firing",
 *   labels: { alertname: "HighCPUUsage", instance: "server1:9100" },
 *   annotations: { summary: "High CPU" },
 *   startsAt: "2024-01-15T10:00:00.000Z",
 *   fingerprint: "abc123",
 * });
 * assert.equal(resolveAlertField(data, "labels.instance"), "server1:9100");
 * assert.equal(resolveAlertField(data, "startsAt"), "2024-01-15T10:00:00Z");
 * assert.equal(resolveAlertField(data, "labels.missing"), undefined);
 * ```
 *
 * @module
 */
import type { Issue } from "@cano/sdk";

/** Go's zero time as Karo writes an unset `endsAt`. */
export const ZERO_TIME = "0001-01-01T00:00:00Z";

/** One alert as Alertmanager sends it (the fields Karo reads). */
export interface AlertInput {
  /** `firing` or `resolved`. */
  status: string;
  /** Alert labels. */
  labels: Readonly<Record<string, string>>;
  /** Alert annotations. @default {} */
  annotations?: Readonly<Record<string, string>>;
  /** RFC 3339. */
  startsAt?: string;
  /** RFC 3339; Go's zero time while firing. */
  endsAt?: string;
  /** Link to the expression in Prometheus. */
  generatorURL?: string;
  /** Alertmanager's fingerprint of the label set. */
  fingerprint?: string;
}

/** Karo's alert map: strings, plus the `labels` and `annotations` maps. */
export type AlertData = Readonly<Record<string, string | Readonly<Record<string, string>>>>;

/**
 * Builds Karo's alert map from one Alertmanager alert.
 *
 * @param alert The alert.
 * @returns The map, with flattened `labels.<name>` and `annotations.<name>` entries.
 */
export function alertDataFromAlert(alert: AlertInput): AlertData {
  const labels = { ...alert.labels };
  const annotations = { ...(alert.annotations ?? {}) };
  const data: Record<string, string | Record<string, string>> = {
    status: alert.status,
    startsAt: formatGoTime(alert.startsAt),
    endsAt: formatGoTime(alert.endsAt),
    generatorURL: alert.generatorURL ?? "",
    fingerprint: alert.fingerprint ?? "",
    labels,
    annotations,
  };
  for (const [name, value] of Object.entries(labels)) data[`labels.${name}`] = value;
  for (const [name, value] of Object.entries(annotations)) data[`annotations.${name}`] = value;
  return data;
}

/**
 * Builds Karo's alert map from an Issue of the Alertmanager source, preferring the original
 * alert kept in `issue.raw.alert` and falling back to the Issue's own fields.
 *
 * @param issue An Issue with `source: "prometheus"`.
 * @returns The map.
 */
export function alertDataFromIssue(issue: Issue): AlertData {
  const raw = rawAlert(issue.raw);
  const generator = issue.links.find((link) => link.title === "Prometheus")?.url;
  return alertDataFromAlert({
    status: raw?.status ?? issue.status,
    labels: raw?.labels ?? issue.labels,
    annotations: raw?.annotations ?? issue.annotations,
    startsAt: raw?.startsAt ?? issue.startsAt,
    ...pick("endsAt", raw?.endsAt ?? issue.endsAt),
    ...pick("generatorURL", raw?.generatorURL ?? generator),
    fingerprint: raw?.fingerprint || issue.fingerprint,
  });
}

/**
 * Resolves a field path as Karo's `alertRef.fieldPath` does: `""` or `"."` is the whole map
 * as JSON (flattened keys included, keys sorted, HTML characters escaped as Go's
 * `json.Marshal` writes them); then a direct key (`status`, `labels.instance`); then a
 * dotted walk through the nested maps. Maps are formatted as Go's `%v` does
 * (`map[a:1 b:2]`).
 *
 * @param data The alert map.
 * @param fieldPath The path.
 * @returns The value, or `undefined` when the field does not exist.
 */
export function resolveAlertField(data: AlertData, fieldPath: string): string | undefined {
  if (fieldPath === "" || fieldPath === ".") return alertDataJson(data);
  if (Object.hasOwn(data, fieldPath)) return formatValue(data[fieldPath]!);
  const parts = fieldPath.split(".");
  let current: unknown = data;
  for (const part of parts) {
    if (typeof current !== "object" || current === null || !Object.hasOwn(current, part)) {
      return undefined;
    }
    current = (current as Record<string, unknown>)[part];
  }
  return typeof current === "string" || typeof current === "object"
    ? formatValue(current as string | Record<string, string>)
    : undefined;
}

/**
 * The alert map as Go's `json.Marshal` writes it: keys sorted, `<`, `>` and `&` escaped.
 *
 * @param data The alert map.
 * @returns JSON text.
 */
export function alertDataJson(data: AlertData): string {
  return goJson(data);
}

function goJson(value: unknown): string {
  if (typeof value === "string") return escapeHtml(JSON.stringify(value));
  const entries = Object.entries(value as Record<string, unknown>)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${goJson(k)}:${goJson(v)}`).join(",")}}`;
}

function escapeHtml(json: string): string {
  return json.replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

function formatValue(value: string | Readonly<Record<string, string>>): string {
  if (typeof value === "string") return value;
  const keys = Object.keys(value).sort();
  return `map[${keys.map((k) => `${k}:${value[k]}`).join(" ")}]`;
}

const RFC3339 = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.\d+)?(Z|[+-]\d\d:\d\d)$/i;

/** Formats a time as Go's `time.RFC3339`: whole seconds, `Z` for a zero offset. */
function formatGoTime(value: string | undefined): string {
  const match = value === undefined ? null : RFC3339.exec(value.trim());
  if (!match) return ZERO_TIME;
  const zone = match[2]!.toUpperCase();
  return `${match[1]}${zone === "+00:00" || zone === "-00:00" ? "Z" : zone}`;
}

function rawAlert(raw: unknown): Partial<AlertInput> | undefined {
  if (typeof raw !== "object" || raw === null) return undefined;
  const alert = (raw as { alert?: unknown }).alert;
  if (typeof alert !== "object" || alert === null) return undefined;
  const a = alert as Record<string, unknown>;
  const out: Partial<AlertInput> = {};
  if (typeof a["status"] === "string") out.status = a["status"];
  if (isStringMap(a["labels"])) out.labels = a["labels"];
  if (isStringMap(a["annotations"])) out.annotations = a["annotations"];
  for (const key of ["startsAt", "endsAt", "generatorURL", "fingerprint"] as const) {
    const value = a[key];
    if (typeof value === "string") out[key] = value;
  }
  return out;
}

function isStringMap(value: unknown): value is Record<string, string> {
  return typeof value === "object" && value !== null &&
    Object.values(value).every((v) => typeof v === "string");
}

function pick<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}
