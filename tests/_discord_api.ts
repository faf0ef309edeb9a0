/**
 * A local Discord webhook API for tests that enforces the documented schema and limits and
 * answers the way Discord does, so a malformed or over-limit message fails the test.
 *
 * Routes: `POST /api/webhooks/{id}/{token}` (execute; `?wait=true` returns the message,
 * else 204; `?thread_id=`), `PATCH /api/webhooks/{id}/{token}/messages/{message_id}` (edit;
 * `?thread_id=`).
 *
 * Enforced (webhook and embed references): content ≤ 2000; ≤ 10 embeds, known keys only;
 * title ≤ 256; description ≤ 4096; ≤ 25 fields with name 1–256 and value 1–1024; footer
 * text 1–2048; author name ≤ 256; `color` an integer 0–0xFFFFFF; ISO 8601 `timestamp`;
 * 6000 characters across all embeds; `allowed_mentions.parse` of users/roles/everyone,
 * ≤ 100 ids each, not both `parse: ["users"]` and `users`; username 1–80 without
 * "clyde"/"discord"; no unknown top-level keys; not empty. Answers: 400 code 50035
 * "Invalid Form Body" with nested `errors`, 400 code 50006 (empty), 401 code 50027 (bad
 * token), 404 codes 10015 (webhook), 10003 (thread), 10008 (message), and 429 with
 * `retry_after` (float seconds), `global`, `Retry-After` and `X-RateLimit-*` headers, either
 * queued with {@linkcode DiscordApi.failNext} or from the optional per-webhook bucket.
 *
 * @module
 */

/** A message as the server stores it. */
export interface DiscordStoredMessage {
  /** Snowflake id. */
  id: string;
  /** Thread it was posted in, if any. */
  threadId?: string;
  /** The body last posted or edited. */
  body: Record<string, unknown>;
  /** How many times it was edited. */
  edits: number;
}

/** A queued answer replacing the next request's normal one. */
export type DiscordForced = { rateLimit: number; global?: boolean } | {
  status: number;
  body?: string;
};

/** Options of {@linkcode startDiscordApi}. */
export interface DiscordApiOptions {
  /** Webhook id. @default "1234567890123456789" */
  id?: string;
  /** Webhook token. @default "test-webhook-token" */
  token?: string;
  /** Thread ids of the webhook's channel. @default ["2222222222222222222"] */
  threads?: string[];
  /** Per-webhook bucket: `requests` per `windowMs`, then 429. @default undefined (off) */
  bucket?: { requests: number; windowMs: number };
}

/** A running local Discord API. */
export interface DiscordApi extends AsyncDisposable {
  /** The webhook URL to configure. */
  webhookUrl: string;
  /** Every stored message, in posting order. */
  messages: DiscordStoredMessage[];
  /** Every request: method, path with query, status and Discord error code. */
  calls: { method: string; path: string; status: number; code?: number }[];
  /** Queues answers for the next requests, in order. */
  failNext(...answers: DiscordForced[]): void;
}

const EMBED_KEYS = [
  "title",
  "type",
  "description",
  "url",
  "timestamp",
  "color",
  "footer",
  "image",
  "thumbnail",
  "author",
  "fields",
];
const POST_KEYS = [
  "content",
  "username",
  "avatar_url",
  "tts",
  "embeds",
  "allowed_mentions",
  "components",
  "flags",
  "thread_name",
  "applied_tags",
];
const PATCH_KEYS = ["content", "embeds", "allowed_mentions", "components", "attachments"];

/**
 * Starts the local Discord API on 127.0.0.1 and a free port.
 *
 * @param options Webhook id, token, threads and rate limit.
 * @returns The running API; dispose it to stop.
 */
export function startDiscordApi(
  {
    id = "1234567890123456789",
    token = "test-webhook-token",
    threads = ["2222222222222222222"],
    bucket,
  }: DiscordApiOptions = {},
): DiscordApi {
  const messages: DiscordStoredMessage[] = [];
  const calls: DiscordApi["calls"] = [];
  const forced: DiscordForced[] = [];
  const window: number[] = [];
  let next = 1_300_000_000_000_000_000n;

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    const call = { method: req.method, path: url.pathname + url.search };
    const answer = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      const code = (body as { code?: unknown } | undefined)?.code;
      calls.push({ ...call, status, ...(typeof code === "number" ? { code } : {}) });
      return body === undefined
        ? new Response(null, { status, headers })
        : Response.json(body, { status, headers });
    };
    const limited = (seconds: number, global = false) =>
      answer(429, { message: "You are being rate limited.", retry_after: seconds, global }, {
        "retry-after": String(Math.ceil(seconds)),
        "x-ratelimit-limit": String(bucket?.requests ?? 5),
        "x-ratelimit-remaining": "0",
        "x-ratelimit-reset-after": String(seconds),
        "x-ratelimit-bucket": "abcd1234",
        ...(global ? { "x-ratelimit-global": "true" } : { "x-ratelimit-scope": "user" }),
      });
    const forcedAnswer = forced.shift();
    if (forcedAnswer) {
      await req.body?.cancel();
      if ("rateLimit" in forcedAnswer) return limited(forcedAnswer.rateLimit, forcedAnswer.global);
      calls.push({ ...call, status: forcedAnswer.status });
      return new Response(forcedAnswer.body ?? null, { status: forcedAnswer.status });
    }
    if (bucket) {
      const now = Date.now();
      while (window.length > 0 && window[0]! <= now - bucket.windowMs) window.shift();
      if (window.length >= bucket.requests) {
        await req.body?.cancel();
        return limited((window[0]! + bucket.windowMs - now) / 1000);
      }
      window.push(now);
    }
    const match = url.pathname.match(/^\/api\/webhooks\/(\d+)\/([^/]+)(?:\/messages\/(\d+))?$/);
    if (!match) return answer(404, { message: "404: Not Found", code: 0 });
    if (match[1] !== id) return answer(404, { message: "Unknown Webhook", code: 10015 });
    if (match[2] !== token) return answer(401, { message: "Invalid Webhook Token", code: 50027 });
    const threadId = url.searchParams.get("thread_id") ?? undefined;
    if (threadId !== undefined && !threads.includes(threadId)) {
      return answer(404, { message: "Unknown Channel", code: 10003 });
    }
    const editing = match[3];
    if ((editing ? "PATCH" : "POST") !== req.method) {
      return answer(405, { message: "405: Method Not Allowed", code: 0 });
    }
    let body: Record<string, unknown>;
    try {
      body = await req.json();
      if (!body || typeof body !== "object" || Array.isArray(body)) throw new TypeError("object");
    } catch (_error) {
      return answer(400, { message: "Cannot send an empty message", code: 50006 });
    }
    const errors = checkBody(body, editing ? PATCH_KEYS : POST_KEYS);
    if (Object.keys(errors).length > 0) {
      return answer(400, { code: 50035, errors, message: "Invalid Form Body" });
    }
    if (editing) {
      const target = messages.find((m) => m.id === editing && m.threadId === threadId);
      if (!target) return answer(404, { message: "Unknown Message", code: 10008 });
      target.body = { ...target.body, ...body };
      target.edits++;
      return answer(200, messageObject(target, id));
    }
    const hasEmbeds = Array.isArray(body.embeds) && body.embeds.length > 0;
    if (!body.content && !hasEmbeds) {
      return answer(400, { message: "Cannot send an empty message", code: 50006 });
    }
    const stored = { id: String(next++), ...(threadId ? { threadId } : {}), body, edits: 0 };
    messages.push(stored);
    return url.searchParams.get("wait") === "true"
      ? answer(200, messageObject(stored, id))
      : answer(204);
  });

  return {
    webhookUrl: `http://127.0.0.1:${server.addr.port}/api/webhooks/${id}/${token}`,
    messages,
    calls,
    failNext(...answers) {
      forced.push(...answers);
    },
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

function messageObject(message: DiscordStoredMessage, webhookId: string) {
  return {
    id: message.id,
    type: 0,
    channel_id: message.threadId ?? "1111111111111111111",
    webhook_id: webhookId,
    content: message.body.content ?? "",
    embeds: message.body.embeds ?? [],
    edited_timestamp: message.edits > 0 ? new Date().toISOString() : null,
  };
}

type Errors = Record<string, unknown>;

/** Discord's nested error object: `{ embeds: { 0: { title: { _errors: [...] } } } }`. */
function put(errors: Errors, path: (string | number)[], code: string, message: string): void {
  let node = errors;
  for (const key of path) node = (node[key] ??= {}) as Errors;
  ((node._errors ??= []) as unknown[]).push({ code, message });
}

function chars(value: unknown): number {
  return typeof value === "string" ? [...value].length : 0;
}

function checkString(
  errors: Errors,
  path: (string | number)[],
  value: unknown,
  min: number,
  max: number,
): number {
  if (value === undefined) return 0;
  if (typeof value !== "string") {
    put(errors, path, "STRING_TYPE_CONVERT", "Could not interpret value as string.");
    return 0;
  }
  const n = chars(value);
  if (n > max) put(errors, path, "BASE_TYPE_MAX_LENGTH", `Must be ${max} or fewer in length.`);
  if (n < min) put(errors, path, "BASE_TYPE_MIN_LENGTH", `Must be ${min} or more in length.`);
  return n;
}

function checkBody(body: Record<string, unknown>, keys: string[]): Errors {
  const errors: Errors = {};
  for (const key of Object.keys(body)) {
    if (!keys.includes(key)) put(errors, [key], "UNKNOWN_FIELD", `Unknown field "${key}".`);
  }
  checkString(errors, ["content"], body.content, 0, 2000);
  if (body.username !== undefined) {
    checkString(errors, ["username"], body.username, 1, 80);
    if (/clyde|discord/i.test(String(body.username))) {
      put(errors, ["username"], "USERNAME_INVALID_CONTAINS", "Username cannot contain discord");
    }
  }
  if (body.avatar_url !== undefined && !URL.canParse(String(body.avatar_url))) {
    put(errors, ["avatar_url"], "URL_TYPE_INVALID_URL", "Not a well formed URL.");
  }
  const mentions = body.allowed_mentions as Record<string, unknown> | undefined;
  if (mentions !== undefined) {
    const parse = mentions.parse ?? [];
    if (!Array.isArray(parse) || parse.some((p) => !["users", "roles", "everyone"].includes(p))) {
      put(errors, ["allowed_mentions", "parse"], "ENUM_TYPE_COERCE", "Value is not valid.");
    }
    for (const kind of ["users", "roles"]) {
      const ids = mentions[kind];
      if (ids === undefined) continue;
      if (!Array.isArray(ids) || ids.length > 100 || ids.some((i) => !/^\d{15,21}$/.test(i))) {
        put(errors, ["allowed_mentions", kind], "SNOWFLAKE_TYPE", "Value is not snowflake.");
      } else if (Array.isArray(parse) && parse.includes(kind)) {
        put(errors, ["allowed_mentions"], "MENTION_TYPE_CONFLICT", `parse ${kind} and ${kind}`);
      }
    }
  }
  if (body.embeds === undefined) return errors;
  if (!Array.isArray(body.embeds) || body.embeds.length > 10) {
    put(errors, ["embeds"], "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.");
    return errors;
  }
  let total = 0;
  body.embeds.forEach((embed: Record<string, unknown>, i) => {
    const at = ["embeds", i];
    for (const key of Object.keys(embed ?? {})) {
      if (!EMBED_KEYS.includes(key)) put(errors, [...at, key], "UNKNOWN_FIELD", "Unknown field.");
    }
    total += checkString(errors, [...at, "title"], embed.title, 0, 256);
    total += checkString(errors, [...at, "description"], embed.description, 0, 4096);
    if (
      embed.color !== undefined &&
      (!Number.isInteger(embed.color) || (embed.color as number) < 0 ||
        (embed.color as number) > 0xffffff)
    ) {
      put(errors, [...at, "color"], "NUMBER_TYPE_MAX", "int value should be <= 16777215.");
    }
    if (embed.timestamp !== undefined && Number.isNaN(Date.parse(String(embed.timestamp)))) {
      put(errors, [...at, "timestamp"], "DATE_TYPE_PARSE", "Could not parse timestamp.");
    }
    const footer = embed.footer as Record<string, unknown> | undefined;
    if (footer !== undefined) {
      total += checkString(errors, [...at, "footer", "text"], footer.text, 1, 2048);
    }
    const author = embed.author as Record<string, unknown> | undefined;
    if (author !== undefined) {
      total += checkString(errors, [...at, "author", "name"], author.name, 1, 256);
    }
    if (embed.fields !== undefined) {
      if (!Array.isArray(embed.fields) || embed.fields.length > 25) {
        put(errors, [...at, "fields"], "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.");
      } else {
        embed.fields.forEach((f: Record<string, unknown>, j) => {
          total += checkString(errors, [...at, "fields", j, "name"], f?.name ?? "", 1, 256);
          total += checkString(errors, [...at, "fields", j, "value"], f?.value ?? "", 1, 1024);
          if (f?.inline !== undefined && typeof f.inline !== "boolean") {
            put(errors, [...at, "fields", j, "inline"], "BOOLEAN_TYPE_COERCE", "Not a boolean.");
          }
        });
      }
    }
  });
  if (total > 6000) {
    put(errors, ["embeds"], "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000");
  }
  return errors;
}
