/**
 * A local Opsgenie Alert API for tests that enforces the documented schema and limits, so a
 * malformed request fails the test the way Opsgenie would fail it.
 *
 * Routes: `POST /v2/alerts` (create) and `POST /v2/alerts/{identifier}/close` with
 * `identifierType` id, tiny or alias. Every request needs `Authorization: GenieKey <key>`
 * (else 401 "Could not authenticate"). Bodies that are not JSON answer 400; field problems
 * answer 422 `{"message":"Request body is not processable. Please check the errors.",
 * "errors":{field: text}}`.
 *
 * Enforced (docs.opsgenie.com Alert API): only the documented create fields; message 1–130
 * characters; alias ≤ 512; description ≤ 15,000; ≤ 20 tags of ≤ 50; details a string map
 * of ≤ 8,000 characters in total; entity ≤ 512; source ≤ 100; priority P1–P5; responders
 * ≤ 50, each `type` team/user/escalation/schedule with an id, name or username; close body
 * only user ≤ 100, source ≤ 100, note ≤ 25,000. `perMinute` requests per key answer 429.
 *
 * Requests are asynchronous as in Opsgenie: 202 `{"result":"Request will be processed",
 * "took":…,"requestId":"…"}`. A create whose alias matches an open alert increments its
 * count; a close of an alias with no open alert is accepted and counted in `failedRequests`.
 *
 * @module
 */

/** An alert as the server keeps it. */
export interface OpsgenieStoredAlert {
  /** Alias (de-duplication key). */
  alias: string;
  /** open or closed. */
  status: "open" | "closed";
  /** How many creates landed on it. */
  count: number;
  /** The first create body. */
  body: Record<string, unknown>;
  /** The close body, once closed. */
  closed?: Record<string, unknown>;
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

/** Options of {@linkcode startOpsgenieApi}. */
export interface OpsgenieApiOptions {
  /** Accepted API key. @default "eb243592-faa2-4ba2-a551-1afdf565c889" */
  apiKey?: string;
  /** Requests per 60 s before 429. @default 600 */
  perMinute?: number;
}

/** A running local Opsgenie API. */
export interface OpsgenieApi extends AsyncDisposable {
  /** Base URL to use as `apiUrl`. */
  url: string;
  /** Every alert, oldest first. */
  alerts: OpsgenieStoredAlert[];
  /** Accepted requests that Opsgenie would later mark failed (close of an unknown alias). */
  failedRequests: number;
  /** Every call: path and status. */
  calls: { path: string; status: number }[];
  /** Queues answers for the next calls, in order. */
  failNext(...answers: ForcedAnswer[]): void;
}

const CREATE_KEYS = [
  "message",
  "alias",
  "description",
  "responders",
  "visibleTo",
  "actions",
  "tags",
  "details",
  "entity",
  "source",
  "priority",
  "user",
  "note",
];
const MAX_LENGTHS: Record<string, number> = {
  message: 130,
  alias: 512,
  description: 15_000,
  entity: 512,
  source: 100,
  user: 100,
  note: 25_000,
};

/**
 * Starts the local Opsgenie API on 127.0.0.1 and a free port.
 *
 * @param options API key and rate limit.
 * @returns The running API; dispose it to stop.
 */
export function startOpsgenieApi(
  { apiKey = "eb243592-faa2-4ba2-a551-1afdf565c889", perMinute = 600 }: OpsgenieApiOptions = {},
): OpsgenieApi {
  const forced: ForcedAnswer[] = [];
  const recent: number[] = [];
  const api = {
    url: "",
    alerts: [] as OpsgenieStoredAlert[],
    failedRequests: 0,
    calls: [] as OpsgenieApi["calls"],
    failNext(...answers: ForcedAnswer[]) {
      forced.push(...answers);
    },
  };

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    const text = await req.text();
    const took = 0.01;
    const requestId = crypto.randomUUID();
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      api.calls.push({ path: url.pathname, status });
      return typeof body === "string"
        ? new Response(body, { status, headers })
        : Response.json(body, { status, headers });
    };
    const unprocessable = (errors: Record<string, string>) =>
      answer(422, {
        message: "Request body is not processable. Please check the errors.",
        errors,
        took,
        requestId,
      });
    const next = forced.shift();
    if (next) {
      return answer(
        next.status,
        next.body ?? "",
        next.retryAfter ? { "retry-after": next.retryAfter } : {},
      );
    }
    if (req.headers.get("authorization") !== `GenieKey ${apiKey}`) {
      return answer(401, { message: "Could not authenticate", took, requestId });
    }
    const now = Date.now();
    while (recent.length > 0 && now - recent[0]! >= 60_000) recent.shift();
    if (recent.length >= perMinute) {
      return answer(429, { message: "You are making too many requests!", took, requestId }, {
        "retry-after": "60",
      });
    }
    recent.push(now);
    if (req.method !== "POST") return answer(405, { message: "Method not allowed", took });
    let body: Record<string, unknown>;
    try {
      body = text === "" ? {} : JSON.parse(text);
      if (!body || typeof body !== "object" || Array.isArray(body)) throw new TypeError();
    } catch (_error) {
      return answer(400, { message: "Could not parse request body", took, requestId });
    }
    const accepted = () => answer(202, { result: "Request will be processed", took, requestId });

    if (url.pathname === "/v2/alerts") {
      const errors = checkCreate(body);
      if (Object.keys(errors).length > 0) return unprocessable(errors);
      const alias = typeof body.alias === "string" ? body.alias : requestId;
      const open = api.alerts.find((a) => a.alias === alias && a.status === "open");
      if (open) open.count++;
      else api.alerts.push({ alias, status: "open", count: 1, body });
      return accepted();
    }
    const close = url.pathname.match(/^\/v2\/alerts\/([^/]+)\/close$/);
    if (close) {
      const type = url.searchParams.get("identifierType") ?? "id";
      if (!["id", "tiny", "alias"].includes(type)) {
        return unprocessable({ identifierType: "Invalid identifier type" });
      }
      const errors: Record<string, string> = {};
      for (const key of Object.keys(body)) {
        if (!["user", "source", "note"].includes(key)) errors[key] = "Unknown field";
        else lengthProblem(body, key, errors);
      }
      if (Object.keys(errors).length > 0) return unprocessable(errors);
      const alias = decodeURIComponent(close[1]!);
      const open = type === "alias"
        ? api.alerts.find((a) => a.alias === alias && a.status === "open")
        : undefined;
      if (open) {
        open.status = "closed";
        open.closed = body;
      } else api.failedRequests++;
      return accepted();
    }
    return answer(404, { message: "Could not find the requested resource", took, requestId });
  });

  api.url = `http://127.0.0.1:${server.addr.port}`;
  return Object.assign(api, {
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  });
}

function lengthProblem(body: Record<string, unknown>, key: string, errors: Record<string, string>) {
  const value = body[key];
  if (value === undefined) return;
  if (typeof value !== "string") errors[key] = "Must be a string";
  else if ([...value].length > MAX_LENGTHS[key]!) {
    errors[key] = `Exceeds the limit of ${MAX_LENGTHS[key]} characters`;
  }
}

/** Checks a create body; returns the problems by field. */
function checkCreate(body: Record<string, unknown>): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const key of Object.keys(body)) {
    if (!CREATE_KEYS.includes(key)) errors[key] = "Unknown field";
  }
  for (const key of Object.keys(MAX_LENGTHS)) lengthProblem(body, key, errors);
  if (typeof body.message !== "string" || body.message.trim() === "") {
    errors.message = "Message can not be empty.";
  }
  if (
    body.priority !== undefined && !["P1", "P2", "P3", "P4", "P5"].includes(String(body.priority))
  ) {
    errors.priority = "Priority should be one of [P1, P2, P3, P4, P5]";
  }
  if (body.tags !== undefined) {
    const tags = body.tags;
    if (!Array.isArray(tags) || tags.length > 20) errors.tags = "At most 20 tags";
    else if (tags.some((t) => typeof t !== "string" || t.length === 0 || [...t].length > 50)) {
      errors.tags = "Each tag must be 1 to 50 characters";
    }
  }
  if (body.details !== undefined) {
    const details = body.details;
    if (!details || typeof details !== "object" || Array.isArray(details)) {
      errors.details = "Must be a map of strings";
    } else {
      const entries = Object.entries(details);
      if (entries.some(([, v]) => typeof v !== "string")) errors.details = "Values must be strings";
      const size = entries.reduce((n, [k, v]) => n + k.length + String(v).length, 0);
      if (size > 8000) errors.details = `Exceeds the limit of 8000 characters (${size})`;
    }
  }
  if (body.responders !== undefined) {
    const responders = body.responders;
    if (!Array.isArray(responders) || responders.length > 50) {
      errors.responders = "At most 50 responders";
    } else {
      responders.forEach((r: Record<string, unknown>, i) => {
        if (!["team", "user", "escalation", "schedule"].includes(String(r?.type))) {
          errors[`responders[${i}].type`] = "Type must be team, user, escalation or schedule";
        }
        if (![r?.id, r?.name, r?.username].some((v) => typeof v === "string" && v.length > 0)) {
          errors[`responders[${i}]`] = "Responder needs an id, name or username";
        }
      });
    }
  }
  return errors;
}
