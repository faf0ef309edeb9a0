/**
 * A local PagerDuty Events API v2 (`POST /v2/enqueue`) for tests that enforces the documented
 * schema and limits, so a malformed event fails the test the way PagerDuty would fail it.
 *
 * Enforced (developer-docs `events-API-v2`): body ≤ 512,000 bytes and valid JSON; only the
 * documented top-level and `payload` fields; `routing_key` a known 32-character key;
 * `event_action` one of trigger/acknowledge/resolve; `dedup_key` ≤ 255 (required for
 * acknowledge and resolve); on trigger `payload.summary` 1–1024 characters, `source` non-empty,
 * `severity` critical/error/warning/info, `timestamp` ISO 8601, `custom_details` an object;
 * `images[].src` HTTPS; `links[].href` present. A sliding 60 s window of `perMinute` events
 * per routing key answers 429 "Request Limit Exceeded" (no `Retry-After`, like PagerDuty).
 *
 * Answers: 202 `{"status":"success","message":"Event processed","dedup_key":"…"}`; 400
 * `{"status":"invalid event","message":"Event object is invalid","errors":[…]}`.
 *
 * De-dup: a trigger with the key of an open alert is added to it; after a resolve, a trigger
 * with the same key opens a new alert; acknowledge/resolve of a key with no open alert is
 * accepted (202) and counted in `dropped`.
 *
 * @module
 */

/** An alert as the server keeps it. */
export interface PagerDutyAlert {
  /** Routing key it arrived on. */
  routingKey: string;
  /** Its dedup key. */
  dedupKey: string;
  /** `triggered` or `resolved`. */
  status: "triggered" | "acknowledged" | "resolved";
  /** Every trigger event body added to it. */
  events: Record<string, unknown>[];
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

/** Options of {@linkcode startPagerDutyApi}. */
export interface PagerDutyApiOptions {
  /** Accepted routing keys. @default ["R0123456789abcdef0123456789abcde"] */
  routingKeys?: string[];
  /** Events per routing key per 60 s before 429. @default 120 */
  perMinute?: number;
}

/** A running local PagerDuty Events API. */
export interface PagerDutyApi extends AsyncDisposable {
  /** URL to use as the destination's `url`. */
  url: string;
  /** Every alert, oldest first. */
  alerts: PagerDutyAlert[];
  /** Acknowledge/resolve events for keys with no open alert. */
  dropped: number;
  /** Every call's status and the errors it got. */
  calls: { status: number; errors: string[]; bytes: number }[];
  /** Queues answers for the next calls, in order. */
  failNext(...answers: ForcedAnswer[]): void;
}

const MAX_BYTES = 512_000;
const TOP_KEYS = [
  "routing_key",
  "event_action",
  "dedup_key",
  "payload",
  "images",
  "links",
  "client",
  "client_url",
];
const PAYLOAD_KEYS = [
  "summary",
  "source",
  "severity",
  "timestamp",
  "component",
  "group",
  "class",
  "custom_details",
];
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * Starts the local Events API on 127.0.0.1 and a free port.
 *
 * @param options Routing keys and rate limit.
 * @returns The running API; dispose it to stop.
 */
export function startPagerDutyApi(
  { routingKeys = ["R0123456789abcdef0123456789abcde"], perMinute = 120 }: PagerDutyApiOptions = {},
): PagerDutyApi {
  const alerts: PagerDutyAlert[] = [];
  const calls: PagerDutyApi["calls"] = [];
  const forced: ForcedAnswer[] = [];
  const recent = new Map<string, number[]>();
  const api = {
    url: "",
    alerts,
    dropped: 0,
    calls,
    failNext(...answers: ForcedAnswer[]) {
      forced.push(...answers);
    },
  };

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const bytes = new Uint8Array(await req.arrayBuffer());
    const answer = (status: number, body: unknown, errors: string[] = [], headers = {}) => {
      calls.push({ status, errors, bytes: bytes.length });
      return typeof body === "string"
        ? new Response(body, { status, headers })
        : Response.json(body, { status, headers });
    };
    const invalid = (errors: string[]) =>
      answer(400, { status: "invalid event", message: "Event object is invalid", errors }, errors);
    const next = forced.shift();
    if (next) {
      return answer(
        next.status,
        next.body ?? "",
        [],
        next.retryAfter ? { "retry-after": next.retryAfter } : {},
      );
    }
    if (req.method !== "POST" || new URL(req.url).pathname !== "/v2/enqueue") {
      return answer(404, { status: "not found" });
    }
    if (bytes.length > MAX_BYTES) return invalid([`Event is ${bytes.length} bytes; max 512 KB`]);
    let event: Record<string, unknown>;
    try {
      event = JSON.parse(new TextDecoder().decode(bytes));
      if (!event || typeof event !== "object" || Array.isArray(event)) throw new TypeError();
    } catch (_error) {
      return answer(400, { status: "invalid event", message: "Invalid JSON" }, ["Invalid JSON"]);
    }
    const errors = checkEvent(event);
    if (errors.length > 0) return invalid(errors);
    const key = String(event.routing_key);
    if (!routingKeys.includes(key)) return invalid(["Invalid routing key"]);
    const now = Date.now();
    const window = (recent.get(key) ?? []).filter((t) => now - t < 60_000);
    if (window.length >= perMinute) return answer(429, "Request Limit Exceeded");
    window.push(now);
    recent.set(key, window);

    const action = event.event_action;
    let dedupKey = typeof event.dedup_key === "string" ? event.dedup_key : undefined;
    const open = alerts.find((a) =>
      a.routingKey === key && a.dedupKey === dedupKey && a.status !== "resolved"
    );
    if (action === "trigger") {
      dedupKey ??= crypto.randomUUID().replaceAll("-", "");
      if (open) open.events.push(event);
      else alerts.push({ routingKey: key, dedupKey, status: "triggered", events: [event] });
    } else if (!open) {
      api.dropped++;
    } else {
      open.status = action === "resolve" ? "resolved" : "acknowledged";
    }
    return answer(202, { status: "success", message: "Event processed", dedup_key: dedupKey });
  });

  api.url = `http://127.0.0.1:${server.addr.port}/v2/enqueue`;
  return Object.assign(api, {
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  });
}

/** Checks an event against the Events API v2 schema; returns the problems. */
function checkEvent(event: Record<string, unknown>): string[] {
  const errors: string[] = [];
  const unknown = Object.keys(event).filter((k) => !TOP_KEYS.includes(k));
  if (unknown.length) errors.push(`Unknown fields: ${unknown.join(", ")}`);
  if (typeof event.routing_key !== "string" || !/^[A-Za-z0-9]{32}$/.test(event.routing_key)) {
    errors.push("'routing_key' must be a 32-character integration key");
  }
  const action = event.event_action;
  if (action !== "trigger" && action !== "acknowledge" && action !== "resolve") {
    errors.push("'event_action' must be one of trigger, acknowledge, resolve");
  }
  if (event.dedup_key !== undefined) {
    if (typeof event.dedup_key !== "string" || event.dedup_key.length === 0) {
      errors.push("'dedup_key' must be a non-empty string");
    } else if (event.dedup_key.length > 255) errors.push("'dedup_key' is longer than 255");
  } else if (action !== "trigger") errors.push(`'dedup_key' is required for ${action}`);
  if (action !== "trigger") return errors;

  const payload = event.payload as Record<string, unknown> | undefined;
  if (!payload || typeof payload !== "object" || Array.isArray(payload)) {
    return [...errors, "'payload' is required"];
  }
  const extra = Object.keys(payload).filter((k) => !PAYLOAD_KEYS.includes(k));
  if (extra.length) errors.push(`Unknown payload fields: ${extra.join(", ")}`);
  const summary = payload.summary;
  if (typeof summary !== "string" || summary.length === 0) {
    errors.push("'payload.summary' is required");
  } else if ([...summary].length > 1024) errors.push("'payload.summary' is longer than 1024");
  if (typeof payload.source !== "string" || payload.source.length === 0) {
    errors.push("'payload.source' is required");
  }
  if (!["critical", "error", "warning", "info"].includes(String(payload.severity))) {
    errors.push("'payload.severity' must be one of critical, error, warning, info");
  }
  if (
    payload.timestamp !== undefined &&
    (typeof payload.timestamp !== "string" || !ISO_8601.test(payload.timestamp) ||
      Number.isNaN(Date.parse(payload.timestamp)))
  ) errors.push("'payload.timestamp' must be ISO 8601");
  for (const field of ["component", "group", "class"]) {
    if (payload[field] !== undefined && typeof payload[field] !== "string") {
      errors.push(`'payload.${field}' must be a string`);
    }
  }
  const details = payload.custom_details;
  if (details !== undefined && (typeof details !== "object" || details === null)) {
    errors.push("'payload.custom_details' must be an object");
  }
  for (const [i, image] of list(event.images, "images", errors).entries()) {
    const src = image?.src;
    if (typeof src !== "string" || !src.startsWith("https://") || !URL.canParse(src)) {
      errors.push(`'images[${i}].src' must be an HTTPS URL`);
    }
  }
  for (const [i, link] of list(event.links, "links", errors).entries()) {
    if (typeof link?.href !== "string" || !URL.canParse(link.href)) {
      errors.push(`'links[${i}].href' is required`);
    }
  }
  return errors;
}

function list(value: unknown, name: string, errors: string[]): Record<string, unknown>[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) return errors.push(`'${name}' must be an array`), [];
  return value;
}
