/**
 * A local Jira Cloud REST v3 API for tests that enforces the documented schema and limits,
 * so a malformed request fails the test the way Jira Cloud would fail it.
 *
 * Routes: `POST /rest/api/3/search/jql` (eventually consistent: an issue is invisible to
 * search for `searchDelayMs` after it is created), `POST /rest/api/3/issue` (201
 * `{id,key,self}`), `POST /rest/api/3/issue/{key}/comment` (201), `GET` and `POST
 * /rest/api/3/issue/{key}/transitions` (200 list, 204). The legacy `/rest/api/{2,3}/search`
 * answers 410 Gone as Jira Cloud does since CHANGE-2046. Every call needs Basic
 * `email:token` (else 401). Errors use Jira's body `{"errorMessages":[…],"errors":{…}}`.
 *
 * Enforced: only known create fields; known project and issue type; summary 1–255
 * characters on one line; labels strings of ≤ 255 without spaces; priority a known name;
 * description and comment bodies valid ADF (`doc` version 1, known node types in allowed
 * places, known marks, `link` with `href`, non-empty text nodes, heading level 1–6, tables of
 * rows of cells) of ≤ 32,767 characters of JSON; JQL limited to
 * `project = … AND labels = … [AND statusCategory != Done] [ORDER BY …]` (else 400).
 * `perMinute` calls answer 429 with `Retry-After`.
 *
 * @module
 */
import { checkAdf } from "./_adf_check.ts";

export { checkAdf };

/** An issue as the server keeps it. */
export interface JiraStoredIssue {
  /** Key, e.g. OPS-1. */
  key: string;
  /** Create fields. */
  fields: Record<string, unknown>;
  /** Current status name. */
  status: string;
  /** ADF comment bodies, in order. */
  comments: unknown[];
  /** When it was created (server clock, ms). */
  createdMs: number;
}

/** A workflow transition: its id, name and target status. */
export interface JiraTransition {
  /** Transition id. */
  id: string;
  /** Transition name. */
  name: string;
  /** Status it leads to. */
  to: string;
  /** Status category key of the target: new, indeterminate or done. */
  category: "new" | "indeterminate" | "done";
}

/** A queued answer that replaces the next call's normal one. */
export interface ForcedAnswer {
  /** HTTP status. */
  status: number;
  /** Body text. */
  body?: string;
  /** `Retry-After` header. */
  retryAfter?: string;
}

/** Options of {@linkcode startJiraApi}. */
export interface JiraApiOptions {
  /** Accepted account email. @default "bot@example.com" */
  email?: string;
  /** Accepted API token. @default "ATATT3xFfGF0-test-token" */
  apiToken?: string;
  /** Projects. @default ["OPS"] */
  projects?: string[];
  /** Issue types. @default ["Bug", "Task"] */
  issueTypes?: string[];
  /** Priorities. @default ["Highest", "High", "Medium", "Low", "Lowest"] */
  priorities?: string[];
  /** Workflow transitions; each is available from every other status. */
  transitions?: JiraTransition[];
  /** How long a new issue stays invisible to search, in ms. @default 0 */
  searchDelayMs?: number;
  /** Calls per 60 s before 429. @default 1000 */
  perMinute?: number;
}

/** A running local Jira API. */
export interface JiraApi extends AsyncDisposable {
  /** Site base URL to use as `url`. */
  url: string;
  /** Every issue, oldest first. */
  issues: JiraStoredIssue[];
  /** Every call: method, path and status. */
  calls: { method: string; path: string; status: number }[];
  /** Queues answers for the next calls, in order. */
  failNext(...answers: ForcedAnswer[]): void;
}

const DEFAULT_TRANSITIONS: JiraTransition[] = [
  { id: "11", name: "To Do", to: "To Do", category: "new" },
  { id: "21", name: "In Progress", to: "In Progress", category: "indeterminate" },
  { id: "31", name: "Done", to: "Done", category: "done" },
];
const CREATE_FIELDS = [
  "project",
  "issuetype",
  "summary",
  "description",
  "labels",
  "priority",
  "assignee",
  "components",
];
const JQL =
  /^project\s*=\s*"?([A-Z][A-Z0-9_]*)"?\s+AND\s+labels\s*=\s*"?([^\s"]+)"?(\s+AND\s+statusCategory\s*!=\s*Done)?(\s+ORDER\s+BY\s+\w+(\s+(ASC|DESC))?)?$/i;

/**
 * Starts the local Jira API on 127.0.0.1 and a free port.
 *
 * @param options Credentials, projects, workflow, search delay and rate limit.
 * @returns The running API; dispose it to stop.
 */
export function startJiraApi({
  email = "bot@example.com",
  apiToken = "ATATT3xFfGF0-test-token",
  projects = ["OPS"],
  issueTypes = ["Bug", "Task"],
  priorities = ["Highest", "High", "Medium", "Low", "Lowest"],
  transitions = DEFAULT_TRANSITIONS,
  searchDelayMs = 0,
  perMinute = 1000,
}: JiraApiOptions = {}): JiraApi {
  const forced: ForcedAnswer[] = [];
  const recent: number[] = [];
  const issues: JiraStoredIssue[] = [];
  const calls: JiraApi["calls"] = [];
  const auth = `Basic ${btoa(`${email}:${apiToken}`)}`;

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    const path = url.pathname;
    const text = await req.text();
    const answer = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      calls.push({ method: req.method, path, status });
      if (body === undefined) return new Response(null, { status, headers });
      return typeof body === "string"
        ? new Response(body, { status, headers })
        : Response.json(body, { status, headers });
    };
    const bad = (errorMessages: string[], errors: Record<string, string> = {}) =>
      answer(400, { errorMessages, errors });
    const next = forced.shift();
    if (next) {
      return answer(
        next.status,
        next.body ?? "",
        next.retryAfter ? { "retry-after": next.retryAfter } : {},
      );
    }
    if (req.headers.get("authorization") !== auth) {
      return answer(401, {
        errorMessages: [
          "You are not authenticated. Authentication required to perform this operation.",
        ],
        errors: {},
      });
    }
    const now = Date.now();
    while (recent.length > 0 && now - recent[0]! >= 60_000) recent.shift();
    if (recent.length >= perMinute) {
      return answer(429, "Rate limit exceeded", { "retry-after": "30" });
    }
    recent.push(now);
    if (/^\/rest\/api\/[23]\/search\/?$/.test(path)) {
      return answer(410, {
        errorMessages: [
          "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046",
        ],
        errors: {},
      });
    }
    let body: Record<string, unknown> = {};
    if (req.method === "POST") {
      try {
        body = JSON.parse(text);
        if (!body || typeof body !== "object" || Array.isArray(body)) throw new TypeError();
      } catch (_error) {
        return bad(["Unexpected character in request body: not JSON"]);
      }
    }

    if (req.method === "POST" && path === "/rest/api/3/search/jql") {
      const match = typeof body.jql === "string" ? body.jql.trim().match(JQL) : null;
      if (!match) return bad([`Error in the JQL Query: cannot parse ${JSON.stringify(body.jql)}`]);
      const [, project, label, openOnly] = match;
      const max = typeof body.maxResults === "number" ? body.maxResults : 50;
      const found = issues.filter((i) =>
        i.fields.project !== undefined &&
        (i.fields.project as { key: string }).key === project &&
        (i.fields.labels as string[] | undefined)?.includes(label!) &&
        now - i.createdMs >= searchDelayMs &&
        (!openOnly || categoryOf(i.status, transitions) !== "done")
      ).reverse().slice(0, max);
      return answer(200, {
        issues: found.map((i) => ({
          id: i.key.replace(/\D/g, ""),
          key: i.key,
          fields: { status: { name: i.status } },
        })),
        isLast: true,
      });
    }

    if (req.method === "POST" && path === "/rest/api/3/issue") {
      const fields = body.fields as Record<string, unknown> | undefined;
      if (!fields || typeof fields !== "object") return bad(["Fields are required"]);
      const errors = checkFields(fields, { projects, issueTypes, priorities });
      if (Object.keys(body).some((k) => k !== "fields" && k !== "update")) {
        errors.body = "Unknown top-level keys";
      }
      if (Object.keys(errors).length > 0) return bad([], errors);
      const project = (fields.project as { key: string }).key;
      const key = `${project}-${issues.length + 1}`;
      issues.push({ key, fields, status: "To Do", comments: [], createdMs: now });
      return answer(201, {
        id: String(10_000 + issues.length),
        key,
        self: `${url.origin}/rest/api/3/issue/${10_000 + issues.length}`,
      });
    }

    const route = path.match(/^\/rest\/api\/3\/issue\/([^/]+)\/(comment|transitions)$/);
    if (route) {
      const issue = issues.find((i) => i.key === decodeURIComponent(route[1]!));
      if (!issue) {
        return answer(404, {
          errorMessages: ["Issue does not exist or you do not have permission to see it."],
          errors: {},
        });
      }
      const available = transitions.filter((t) => t.to !== issue.status);
      if (route[2] === "comment" && req.method === "POST") {
        const problems = checkAdf(body.body, "body");
        if (problems.length > 0) return bad([], { comment: problems.join("; ") });
        issue.comments.push(body.body);
        return answer(201, { id: String(issue.comments.length), body: body.body });
      }
      if (route[2] === "transitions" && req.method === "GET") {
        return answer(200, {
          expand: "transitions",
          transitions: available.map((t) => ({
            id: t.id,
            name: t.name,
            to: { name: t.to, statusCategory: { key: t.category } },
            isAvailable: true,
          })),
        });
      }
      if (route[2] === "transitions" && req.method === "POST") {
        const id = (body.transition as { id?: unknown } | undefined)?.id;
        const transition = available.find((t) => t.id === id);
        if (!transition) return bad([`Transition id '${id}' is not valid for this issue.`]);
        issue.status = transition.to;
        return answer(204);
      }
    }
    return answer(404, { errorMessages: ["Not found"], errors: {} });
  });

  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    issues,
    calls,
    failNext(...answers) {
      forced.push(...answers);
    },
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

function categoryOf(status: string, transitions: JiraTransition[]): string {
  return transitions.find((t) => t.to === status)?.category ?? "new";
}

function checkFields(
  fields: Record<string, unknown>,
  known: { projects: string[]; issueTypes: string[]; priorities: string[] },
): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const key of Object.keys(fields)) {
    if (!CREATE_FIELDS.includes(key)) {
      errors[key] =
        `Field '${key}' cannot be set. It is not on the appropriate screen, or unknown.`;
    }
  }
  const project = (fields.project as { key?: unknown } | undefined)?.key;
  if (!known.projects.includes(String(project))) errors.project = "valid project is required";
  const type = (fields.issuetype as { name?: unknown } | undefined)?.name;
  if (!known.issueTypes.includes(String(type))) {
    errors.issuetype = "The issue type selected is invalid.";
  }
  const summary = fields.summary;
  if (typeof summary !== "string" || summary.trim() === "") {
    errors.summary = "You must specify a summary of the issue.";
  } else if ([...summary].length > 255) {
    errors.summary = "Summary must be less than 255 characters.";
  } else if (/[\r\n]/.test(summary)) {
    errors.summary = "The summary is invalid because it contains newline characters.";
  }
  if (fields.labels !== undefined) {
    const labels = fields.labels;
    if (!Array.isArray(labels)) errors.labels = "Labels must be an array";
    else {
      for (const label of labels) {
        if (typeof label !== "string" || label === "" || label.length > 255) {
          errors.labels = "Label must be 1 to 255 characters";
        } else if (/\s/.test(label)) {
          errors.labels = `The label '${label}' contains spaces which is invalid.`;
        }
      }
    }
  }
  if (fields.priority !== undefined) {
    const name = (fields.priority as { name?: unknown }).name;
    if (!known.priorities.includes(String(name))) {
      errors.priority = `Specify a valid priority name: '${name}' is not one`;
    }
  }
  if (fields.description !== undefined) {
    const problems = checkAdf(fields.description, "description");
    if (problems.length > 0) errors.description = problems.join("; ");
  }
  return errors;
}
