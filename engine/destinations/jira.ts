/**
 * Opens one Jira Cloud issue per fingerprint (REST v3, ADF descriptions), comments on
 * repeats and transitions it to "Done" when the Issue resolves.
 *
 * ## Config
 * - `name`: unique name routes refer to.
 * - `type`: `"jira"`.
 * - `url`: site base URL, e.g. `https://example.atlassian.net`.
 * - `email`, `apiToken`: sent as Basic `email:apiToken`; give the token as
 *   `${JIRA_API_TOKEN}`. Dry-run and failure reasons show `***`.
 * - `project`: project key, e.g. `OPS`.
 * - `issueType`: issue type name (default `Bug`).
 * - `priorities`: Jira priority name per Issue severity; a severity left out sets none.
 * - `labels`: labels added to every issue (no spaces); Cano adds `cano-<fingerprint>`.
 * - `resolveTransition`: transition used on resolution (default `Done`, matched ignoring case).
 * - `timeoutMs`, `rateLimit`: see {@linkcode destinationBaseShape}; the default is 1 send/s
 *   with bursts of 5 (a send makes up to three calls), under Jira Cloud's
 *   [cost-based limits](https://developer.atlassian.com/cloud/jira/platform/rate-limiting/).
 *
 * ## Limits
 * Summary ≤ 255 characters on one line ({@linkcode JIRA_MAX_SUMMARY}); description and
 * comments are ADF documents of at most 32,767 characters of JSON ({@linkcode JIRA_MAX_FIELD}):
 * code blocks keep the last {@linkcode JIRA_MAX_CODE} characters, tables 50 rows, lists 50
 * items, and blocks that still do not fit are replaced by a note. Labels cannot hold spaces:
 * the fingerprint label keeps letters, digits, `_`, `.` and `-`. Images are named only
 * (attachments need another API).
 *
 * ## Threading
 * Thread state is `{ key }`, the issue key. Without it, `send` searches
 * `POST /rest/api/3/search/jql` for an unresolved issue labelled `cano-<fingerprint>`
 * (search is eventually consistent, so the stored key is what prevents duplicates), then
 * creates one. Repeats add a comment (`POST …/comment`). The resolution runs the
 * `resolveTransition` (`GET`, then `POST …/transitions`); when the issue has no such
 * transition (already done, other workflow), a comment says so and the send succeeds. A
 * firing after the resolution comments on the same, closed issue (no reopen).
 *
 * ## Example payload
 * ```http
 * POST https://example.atlassian.net/rest/api/3/issue
 * authorization: Basic ***
 * content-type: application/json
 *
 * {"fields":{"project":{"key":"OPS"},"issuetype":{"name":"Bug"},
 *  "summary":"[HIGH] Pod is crash looping","labels":["cano","cano-3f2a9c1b7d4e8a60"],
 *  "description":{"type":"doc","version":1,"content":[{"type":"bulletList",...},
 *  {"type":"heading","attrs":{"level":2},"content":[{"type":"text","text":"Logs (crash-loop)"}]},
 *  {"type":"codeBlock","content":[{"type":"text","text":"..."}]}]}}}
 * ```
 *
 * @example What dry-run prints
 * ```ts
 * import jira, { JiraConfigSchema } from "./jira.ts";
 * import { IssueSchema } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * const config = JiraConfigSchema.parse({
 *   name: "ops-jira", type: "jira", url: "https://example.atlassian.net",
 *   email: "bot@example.com", apiToken: "ATATT3xFfGF0-secret", project: "OPS",
 * });
 * const issue = IssueSchema.parse({
 *   id: "7d0c", fingerprint: "3f2a", aggregationKey: "Oom", type: "alert", source: "prometheus",
 *   title: "Pod OOMKilled", severity: "HIGH", status: "firing",
 *   startsAt: "2026-03-01T10:00:00Z", createdAt: "2026-03-01T10:00:01Z",
 * });
 * const request = jira.describe(jira.render(issue, config)[0]!, config);
 * assert.ok("url" in request);
 * assert.equal(request.url, "https://example.atlassian.net/rest/api/3/issue");
 * assert.equal(request.headers.authorization, "Basic ***");
 * const { fields } = JSON.parse(request.body);
 * assert.deepEqual([fields.summary, fields.labels], ["[HIGH] Pod OOMKilled", ["cano-3f2a"]]);
 * assert.equal(fields.description.type, "doc");
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
import { failure, httpAttempt, type HttpTarget } from "./_http.ts";
import {
  type AdfDoc,
  detailsToAdf,
  enrichmentsToAdf,
  fitDoc,
  oneLine,
  paragraph,
  summaryToAdf,
  text,
} from "./_jira_adf.ts";
import { cutChars as cut } from "./_text.ts";

export { JIRA_MAX_CODE, JIRA_MAX_FIELD } from "./_jira_adf.ts";

/** Longest summary, in characters. */
export const JIRA_MAX_SUMMARY = 255;
/** Longest label, in characters. */
export const JIRA_MAX_LABEL = 255;
/** Prefix of the label that marks the issue of a fingerprint. */
export const JIRA_LABEL_PREFIX = "cano-";

const SeveritySchema = z.string().min(1).optional();
const LabelSchema = z.string().min(1).max(JIRA_MAX_LABEL).regex(/^\S+$/, {
  error: "Jira label cannot contain spaces",
});

/** Config of a Jira destination. */
export const JiraConfigSchema = z.strictObject({
  ...destinationBaseShape({ rateLimit: { perSecond: 1, burst: 5 } }),
  type: z.literal("jira"),
  url: z.url({ protocol: /^https?$/ }).describe(
    "Site base URL, e.g. https://example.atlassian.net",
  ),
  email: z.string().min(3).describe("Account email of the API token"),
  apiToken: z.string().min(6).describe("API token, e.g. ${JIRA_API_TOKEN}; never logged"),
  project: z.string().regex(/^[A-Z][A-Z0-9_]{0,254}$/, {
    error: "Jira project must be a project key such as OPS",
  }).describe("Project key"),
  issueType: z.string().min(1).default("Bug").describe("Issue type name"),
  priorities: z.strictObject({
    HIGH: SeveritySchema,
    MEDIUM: SeveritySchema,
    LOW: SeveritySchema,
    INFO: SeveritySchema,
    DEBUG: SeveritySchema,
  }).default({}).describe("Jira priority name per Issue severity; unset sends none"),
  labels: z.array(LabelSchema).default([]).describe("Labels added to every issue"),
  resolveTransition: z.string().min(1).default("Done")
    .describe("Transition run when the Issue resolves"),
});
/** Config of a Jira destination, defaults applied. */
export type JiraConfig = z.infer<typeof JiraConfigSchema>;

/** The `fields` of `POST /rest/api/3/issue`. */
export interface JiraFields {
  /** Project by key. */
  project: { key: string };
  /** Issue type by name. */
  issuetype: { name: string };
  /** One line, ≤ 255 characters. */
  summary: string;
  /** ADF document. */
  description: AdfDoc;
  /** Config labels and the fingerprint label. */
  labels: string[];
  /** Priority by name, when configured for the severity. */
  priority?: { name: string };
}

/** Everything one send may need; the issue key comes from thread state or a search. */
export type JiraPayload =
  | {
    kind: "firing";
    /** The fingerprint label searched for. */
    label: string;
    /** Create fields, used when no issue exists yet. */
    fields: JiraFields;
    /** Comment added to an existing issue. */
    comment: AdfDoc;
  }
  | {
    kind: "resolved";
    /** The fingerprint label searched for. */
    label: string;
    /** What the fallback comment says when the transition is not available. */
    note: string;
  };

/** The Jira destination. */
const jira = defineDestination({
  type: "jira",
  config: JiraConfigSchema,
  render: renderJira,
  describe(payload: JiraPayload, config: JiraConfig): OutboundRequest {
    const headers = { authorization: "Basic ***", "content-type": "application/json" };
    if (payload.kind === "firing") {
      return {
        method: "POST",
        url: apiUrl(config, "issue"),
        headers,
        body: JSON.stringify({ fields: payload.fields }),
      };
    }
    return {
      method: "POST",
      url: apiUrl(config, "issue/{key}/transitions"),
      headers,
      body: JSON.stringify({
        transition: { id: `<id of "${config.resolveTransition}", looked up when sent>` },
      }),
    };
  },
  send: sendJira,
});

export default jira;

/**
 * Renders an Issue as one Jira payload: create fields and a repeat comment, or a resolution.
 *
 * @param issue The issue.
 * @param config The destination config.
 * @returns One payload.
 * @example The fingerprint label has no spaces
 * ```ts
 * import { JiraConfigSchema, renderJira } from "./jira.ts";
 * import { IssueSchema } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * const config = JiraConfigSchema.parse({
 *   name: "j", type: "jira", url: "https://example.atlassian.net",
 *   email: "bot@example.com", apiToken: "token-123", project: "OPS",
 * });
 * const issue = IssueSchema.parse({
 *   id: "1", fingerprint: "ns/pod name", aggregationKey: "Oom", type: "alert", source: "k8s",
 *   title: "OOM", severity: "LOW", status: "resolved",
 *   startsAt: "2026-03-01T10:00:00Z", createdAt: "2026-03-01T10:00:01Z",
 * });
 * assert.equal(renderJira(issue, config)[0]?.label, "cano-ns_pod_name");
 * ```
 */
export function renderJira(issue: Issue, config: JiraConfig): JiraPayload[] {
  const label = cut(
    `${JIRA_LABEL_PREFIX}${issue.fingerprint.replace(/[^A-Za-z0-9_.-]/g, "_")}`,
    JIRA_MAX_LABEL,
  );
  if (issue.status === "resolved") {
    return [{
      kind: "resolved",
      label,
      note: `Resolved${issue.endsAt ? ` at ${issue.endsAt}` : ""}`,
    }];
  }
  const title = oneLine(issue.title) || issue.aggregationKey;
  const priority = config.priorities[issue.severity];
  const fields: JiraFields = {
    project: { key: config.project },
    issuetype: { name: config.issueType },
    summary: cut(oneLine(`[${issue.severity}] ${title}`), JIRA_MAX_SUMMARY),
    description: fitDoc(summaryToAdf(issue), [...detailsToAdf(issue), ...enrichmentsToAdf(issue)]),
    labels: [...new Set([...config.labels, label])],
    ...(priority ? { priority: { name: priority } } : {}),
  };
  const again = paragraph(
    text("Firing again", [{ type: "strong" }]),
    text(` since ${issue.startsAt} (${issue.severity})`),
  );
  return [{ kind: "firing", label, fields, comment: fitDoc([again], enrichmentsToAdf(issue)) }];
}

function apiUrl(config: JiraConfig, path: string): string {
  return `${config.url.replace(/\/+$/, "")}/rest/api/3/${path}`;
}

async function sendJira(
  payload: JiraPayload,
  config: JiraConfig,
  options: SendOptions,
): Promise<SendResult> {
  const target: HttpTarget = {
    label: `Jira "${config.name}"`,
    timeoutMs: config.timeoutMs,
    secrets: [config.apiToken, btoa(`${config.email}:${config.apiToken}`)],
  };
  const headers = {
    authorization: `Basic ${btoa(`${config.email}:${config.apiToken}`)}`,
    "content-type": "application/json",
    accept: "application/json",
  };
  const call = (method: "GET" | "POST", path: string, body?: unknown) =>
    httpAttempt(
      target,
      {
        method,
        url: apiUrl(config, path),
        headers,
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      },
      options,
    );
  const done = (key: string): SendResult => ({ ok: true, thread: { key } });

  let key = options.thread?.key;
  if (!key) {
    const jql = `project = "${config.project}" AND labels = "${payload.label}" ` +
      "AND statusCategory != Done ORDER BY created DESC";
    const found = await call("POST", "search/jql", { jql, fields: ["status"], maxResults: 2 });
    if (!found.ok) return found.failure;
    key = keyOf(found.text, "search");
  }
  const path = key && `issue/${encodeURIComponent(key)}`;

  if (payload.kind === "firing") {
    if (key) {
      const commented = await call("POST", `${path}/comment`, { body: payload.comment });
      return commented.ok ? done(key) : commented.failure;
    }
    const created = await call("POST", "issue", { fields: payload.fields });
    if (!created.ok) return created.failure;
    const createdKey = keyOf(created.text, "create");
    return createdKey ? done(createdKey) : { ok: true };
  }

  if (!key) return { ok: true }; // Nothing open for this fingerprint: nothing to resolve.
  const listed = await call("GET", `${path}/transitions`);
  if (!listed.ok) return listed.failure;
  const transitions = parseTransitions(listed.text);
  if (transitions === undefined) {
    return failure(target, false, `GET ${path}/transitions answered without a transitions list`);
  }
  const wanted = config.resolveTransition.toLowerCase();
  const transition = transitions.find((t) => t.name.toLowerCase() === wanted);
  if (transition) {
    const moved = await call("POST", `${path}/transitions`, { transition: { id: transition.id } });
    return moved.ok ? done(key) : moved.failure;
  }
  const available = transitions.map((t) => `"${t.name}"`).join(", ") || "none";
  const comment: AdfDoc = {
    type: "doc",
    version: 1,
    content: [
      paragraph(text(payload.note, [{ type: "strong" }])),
      paragraph(
        text(
          `Cano could not move this issue: transition "${config.resolveTransition}" is not ` +
            `available (available: ${available}).`,
        ),
      ),
    ],
  };
  const commented = await call("POST", `${path}/comment`, { body: comment });
  return commented.ok ? done(key) : commented.failure;
}

/** The issue key in a create answer, or in the first of a search answer's `issues`. */
function keyOf(body: string, from: "search" | "create"): string | undefined {
  try {
    const parsed = JSON.parse(body) as { key?: unknown; issues?: { key?: unknown }[] };
    const key = from === "create" ? parsed?.key : parsed?.issues?.[0]?.key;
    return typeof key === "string" && key ? key : undefined;
  } catch (_error) {
    // An answer without JSON has no key; the caller treats it as "none found".
    return undefined;
  }
}

function parseTransitions(body: string): { id: string; name: string }[] | undefined {
  try {
    const parsed = JSON.parse(body) as { transitions?: { id?: unknown; name?: unknown }[] };
    if (!Array.isArray(parsed?.transitions)) return undefined;
    return parsed.transitions.filter((t) => typeof t?.id === "string" && typeof t.name === "string")
      .map((t) => ({ id: t.id as string, name: t.name as string }));
  } catch (_error) {
    // Not JSON: reported as an answer without a transitions list.
    return undefined;
  }
}
