/**
 * Helm release source: reads Helm 3/4 release Secrets (`owner=helm`, type
 * `helm.sh/release.v1`, one per revision, named `sh.helm.release.v1.<release>.v<revision>`)
 * and reports failed and stuck releases.
 *
 * | Condition | aggregationKey | Fires | Resolves |
 * |---|---|---|---|
 * | Failed | `helm_release_failed` | a revision's status becomes `failed` | a later revision is `deployed` |
 * | Stuck | `helm_release_pending` | `pending-install`/`-upgrade`/`-rollback` for `pendingAfterMs` | the revision leaves `pending-*` |
 *
 * The payload is Helm's `base64(gzip(json))`, and Secret `.data` is base64 again in the
 * API, so {@linkcode decodeHelmRelease} decodes twice, gunzips when the bytes start with
 * the gzip magic `1f 8b 08`, and falls back to plain JSON (very old releases). The status
 * label is read first, so unchanged or healthy revisions are never decompressed.
 *
 * Only the summary (name, namespace, revision, status, description, chart name and version,
 * app version, times) ever leaves this module: the release's `config` (user values, which
 * may hold credentials), its `manifest`, `hooks` and `notes` are never copied into an issue.
 *
 * @example Decode a release secret
 * ```ts
 * import { decodeHelmRelease } from "./helm.ts";
 * import { gzipSync } from "node:zlib";
 * import { Buffer } from "node:buffer";
 * import assert from "node:assert/strict";
 *
 * const release = { name: "shop", version: 4, namespace: "shop", config: { password: "hunter2" },
 *   info: { status: "failed", description: "Upgrade \"shop\" failed: timed out" },
 *   chart: { metadata: { name: "shop", version: "1.2.0", appVersion: "2.0.1" } } };
 * const helm = Buffer.from(gzipSync(JSON.stringify(release), { level: 9 })).toString("base64");
 * const secret = { data: { release: Buffer.from(helm).toString("base64") } };
 * const summary = decodeHelmRelease(secret);
 * assert.equal(summary.chartVersion, "1.2.0");
 * assert.ok(!JSON.stringify(summary).includes("hunter2"));
 * ```
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { gunzipSync } from "node:zlib";
import ms from "ms";
import type { Issue, Link, Severity } from "@cano/sdk";
import type { KubeObject } from "../kubernetes/api.ts";
import { buildIssue, type DetectorOptions, isPastFact, parseTime } from "./_kube_issue.ts";

/** Label selector of Helm release Secrets. */
export const HELM_LABEL_SELECTOR = "owner=helm";
/** Field selector of Helm release Secrets. */
export const HELM_FIELD_SELECTOR = "type=helm.sh/release.v1";

/** What Cano keeps of a release: never its values, manifest, hooks or notes. */
export interface HelmReleaseSummary {
  /** Release name. */
  name: string;
  /** Release namespace. */
  namespace?: string;
  /** Revision number. */
  revision?: number;
  /** `deployed`, `failed`, `pending-upgrade`... */
  status?: string;
  /** Helm's description, where failures are explained. */
  description?: string;
  /** Chart name. */
  chart?: string;
  /** Chart version. */
  chartVersion?: string;
  /** App version of the chart. */
  appVersion?: string;
  /** Chart home page. */
  chartHome?: string;
  /** When the release was first deployed (RFC 3339). */
  firstDeployed?: string;
  /** When this revision was deployed (RFC 3339). */
  lastDeployed?: string;
}

const GZIP_MAGIC = [0x1f, 0x8b, 0x08];

/**
 * Decodes the release payload of a Helm Secret (or ConfigMap) to its summary.
 *
 * @param object The Secret (`data.release` base64 twice) or ConfigMap (`data.release` base64 once).
 * @returns The summary, without values, manifest, hooks or notes.
 * @throws {TypeError} When there is no payload, or it is neither gzip nor JSON.
 */
export function decodeHelmRelease(object: KubeObject | { data?: unknown }): HelmReleaseSummary {
  const payload = (object.data as Record<string, unknown> | undefined)?.["release"];
  if (typeof payload !== "string" || payload === "") {
    throw new TypeError("Cannot decode Helm release: data.release is missing");
  }
  let bytes: Uint8Array = Buffer.from(payload, "base64");
  for (let layer = 0; layer < 3; layer++) {
    if (GZIP_MAGIC.every((b, i) => bytes[i] === b)) {
      return summarize(JSON.parse(Buffer.from(gunzipSync(bytes)).toString("utf8")));
    }
    if (bytes[0] === 0x7b) return summarize(JSON.parse(Buffer.from(bytes).toString("utf8")));
    bytes = Buffer.from(Buffer.from(bytes).toString("latin1"), "base64");
  }
  throw new TypeError("Cannot decode Helm release: payload is neither gzip nor JSON");
}

function summarize(release: Record<string, unknown>): HelmReleaseSummary {
  const info = (release["info"] ?? {}) as Record<string, unknown>;
  const chart =
    ((release["chart"] as Record<string, unknown> | undefined)?.["metadata"] ?? {}) as Record<
      string,
      unknown
    >;
  const text = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
  const summary: HelmReleaseSummary = { name: text(release["name"]) ?? "?" };
  const fields: [keyof HelmReleaseSummary, unknown][] = [
    ["namespace", text(release["namespace"])],
    ["revision", typeof release["version"] === "number" ? release["version"] : undefined],
    ["status", text(info["status"])],
    ["description", text(info["description"])],
    ["chart", text(chart["name"])],
    ["chartVersion", text(chart["version"])],
    ["appVersion", text(chart["appVersion"])],
    ["chartHome", text(chart["home"])],
    ["firstDeployed", text(info["first_deployed"])],
    ["lastDeployed", text(info["last_deployed"])],
  ];
  for (const [key, value] of fields) {
    if (value !== undefined) (summary as unknown as Record<string, unknown>)[key] = value;
  }
  return summary;
}

/** The Helm conditions this module detects. */
export type HelmCondition = "failed" | "pending";

/** Default severity per Helm condition. */
export const DEFAULT_HELM_SEVERITIES: Readonly<Record<HelmCondition, Severity>> = Object.freeze({
  failed: "HIGH",
  pending: "MEDIUM",
});

/** Options of {@linkcode detectHelmReleaseIssues}. */
export interface HelmDetectorOptions extends DetectorOptions {
  /** Conditions to detect. @default both */
  conditions?: readonly HelmCondition[];
  /** Severity per condition. @default DEFAULT_HELM_SEVERITIES */
  severity?: Partial<Record<HelmCondition, Severity>>;
  /** How long a `pending-*` status lasts before it is reported. @default 900_000 (15 min) */
  pendingAfterMs?: number;
}

function statusOf(secret: KubeObject | undefined): string | undefined {
  return secret?.metadata?.labels?.["status"];
}

function changedAt(secret: KubeObject): number | undefined {
  const labels = secret.metadata?.labels ?? {};
  const seconds = Number(labels["modifiedAt"] ?? labels["createdAt"]);
  return Number.isFinite(seconds) && seconds > 0
    ? seconds * 1000
    : parseTime(secret.metadata?.creationTimestamp);
}

function isLongPending(secret: KubeObject, at: number, afterMs: number): boolean {
  const since = changedAt(secret);
  return (statusOf(secret) ?? "").startsWith("pending-") && since !== undefined &&
    at - since >= afterMs;
}

/**
 * Detects a Helm release revision that failed or is stuck pending, and its recovery.
 *
 * @param previous The release Secret as last seen, or undefined when it is new.
 * @param next The release Secret now.
 * @param options Conditions, severities, threshold, clock, watch start.
 * @returns The issues of this transition.
 */
export function detectHelmReleaseIssues(
  previous: KubeObject | undefined,
  next: KubeObject,
  options: HelmDetectorOptions = {},
): Issue[] {
  const { conditions = ["failed", "pending"], now = Date.now, pendingAfterMs = 900_000 } = options;
  const severity = { ...DEFAULT_HELM_SEVERITIES, ...options.severity };
  const time = now();
  const was = statusOf(previous);
  const is = statusOf(next);
  const drafts: { condition: HelmCondition; status: "firing" | "resolved" }[] = [];
  if (conditions.includes("failed") && is !== was) {
    if (is === "failed" && !isPastFact(previous, changedAt(next), options.since)) {
      drafts.push({ condition: "failed", status: "firing" });
    }
    if (is === "deployed" && previous) drafts.push({ condition: "failed", status: "resolved" });
  }
  if (conditions.includes("pending")) {
    const wasLong = previous
      ? isLongPending(previous, options.previousAt ?? time, pendingAfterMs)
      : false;
    const isLong = isLongPending(next, time, pendingAfterMs);
    if (!wasLong && isLong) drafts.push({ condition: "pending", status: "firing" });
    if (wasLong && !(is ?? "").startsWith("pending-")) {
      drafts.push({ condition: "pending", status: "resolved" });
    }
  }
  if (drafts.length === 0) return [];
  const release = safeDecode(next);
  const namespace = release.namespace ?? next.metadata?.namespace;
  const name = release.name !== "?" ? release.name : next.metadata?.labels?.["name"] ?? "?";
  const chart = release.chart
    ? `${release.chart}${release.chartVersion ? `-${release.chartVersion}` : ""}`
    : undefined;
  const links: Link[] = release.chartHome && URL.canParse(release.chartHome)
    ? [{ title: "Chart home", url: release.chartHome }]
    : [];
  return drafts.map(({ condition, status }) => {
    const firing = status === "firing";
    const since = changedAt(next);
    const title = condition === "failed"
      ? firing
        ? `Helm release ${namespace}/${name} revision ${release.revision} failed` +
          (chart ? ` (chart ${chart})` : "") +
          (release.description ? `: ${truncate(release.description)}` : "")
        : `Helm release ${namespace}/${name} revision ${release.revision} deployed`
      : firing
      ? `Helm release ${namespace}/${name} revision ${release.revision} has been ${is} for ${
        ms(time - (since ?? time))
      }`
      : `Helm release ${namespace}/${name} revision ${release.revision} is ${is}`;
    return buildIssue({
      key: ["HelmRelease", namespace, name, "", condition],
      aggregationKey: condition === "failed" ? "helm_release_failed" : "helm_release_pending",
      source: "helm",
      title,
      description: release.description,
      severity: severity[condition],
      status,
      subject: namespace ? { kind: "HelmRelease", name, namespace } : { kind: "HelmRelease", name },
      labels: {
        namespace,
        release: name,
        chart: release.chart,
        chart_version: release.chartVersion,
        app_version: release.appVersion,
        revision: release.revision,
        status: is,
      },
      annotations: {
        description: release.description,
        first_deployed: release.firstDeployed,
        last_deployed: release.lastDeployed,
        secret: next.metadata?.name,
      },
      startsAt: firing
        ? (condition === "failed" ? parseTime(release.lastDeployed) ?? since : since)
        : undefined,
      links,
    }, options);
  });
}

function safeDecode(secret: KubeObject): HelmReleaseSummary {
  try {
    return decodeHelmRelease(secret);
  } catch (error) {
    const labels = secret.metadata?.labels ?? {};
    const revision = Number(labels["version"]);
    const summary: HelmReleaseSummary = {
      name: labels["name"] ?? "?",
      description: `The release payload could not be decoded: ${(error as Error).message}`,
    };
    if (Number.isInteger(revision)) summary.revision = revision;
    if (labels["status"]) summary.status = labels["status"];
    return summary;
  }
}

function truncate(text: string, max = 300): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
