/**
 * A local Mattermost incoming-webhook endpoint for tests that enforces the documented schema
 * and limits and answers the way Mattermost does.
 *
 * Route: `POST /hooks/{key}`, JSON (`application/json`) or `payload=<json>` (form). Success
 * is `200` `text/plain` `ok`. Errors are Mattermost's AppError JSON
 * (`{"id","message","detailed_error","request_id","status_code"}`): unknown hook (400),
 * unparsable body (400), no text and no attachments (400), unknown channel (400), a locked
 * hook asked for another channel (403). Rate limiting answers as the server's limiter does:
 * 429 `limit exceeded` with `X-Ratelimit-*` and `Retry-After` headers.
 *
 * Enforced: known top-level keys only (the real server ignores unknown ones; a typo here
 * should fail a test); `text` ≤ 16383 characters (Alertmanager's `maxTextLenRunes`, the
 * limit Cano documents; the real server would split longer text into several posts);
 * attachments a list of Slack-style attachments with known keys, `color` hex or
 * good/warning/danger, fields with string `title`, string or number `value`, boolean `short`.
 *
 * @module
 */

/** A post as the server stores it. */
export interface MattermostPost {
  /** Channel name or @user it went to. */
  channel: string;
  /** The body as received. */
  body: Record<string, unknown>;
}

/** A queued answer replacing the next request's normal one. */
export type MattermostForced = { rateLimit: number } | { status: number; body?: string };

/** Options of {@linkcode startMattermostApi}. */
export interface MattermostApiOptions {
  /** Hook key. @default "test-hook-key" */
  key?: string;
  /** The hook's own channel. @default "alerts" */
  channel?: string;
  /** Channels and @users that exist. @default ["alerts", "town-square", "@alice"] */
  channels?: string[];
  /** Whether the hook may only post to its own channel. @default false */
  locked?: boolean;
}

/** A running local Mattermost. */
export interface MattermostApi extends AsyncDisposable {
  /** The webhook URL to configure. */
  hookUrl: string;
  /** Every accepted post, in order. */
  posts: MattermostPost[];
  /** Every request: status and error id. */
  calls: { status: number; id?: string }[];
  /** Queues answers for the next requests, in order. */
  failNext(...answers: MattermostForced[]): void;
}

/** Characters of a post's text. */
const MAX_TEXT = 16_383;
const KEYS = [
  "text",
  "channel",
  "username",
  "icon_url",
  "icon_emoji",
  "attachments",
  "type",
  "props",
  "priority",
];
const ATTACHMENT_KEYS = [
  "fallback",
  "color",
  "pretext",
  "author_name",
  "author_link",
  "author_icon",
  "title",
  "title_link",
  "text",
  "fields",
  "image_url",
  "thumb_url",
  "footer",
  "footer_icon",
  "ts",
  "actions",
];
const COLOR = /^(#[0-9a-fA-F]{3}|#[0-9a-fA-F]{6}|good|warning|danger)$/;

/**
 * Starts the local Mattermost on 127.0.0.1 and a free port.
 *
 * @param options Hook key, channels and locking.
 * @returns The running server; dispose it to stop.
 */
export function startMattermostApi(
  {
    key = "test-hook-key",
    channel: own = "alerts",
    channels = ["alerts", "town-square", "@alice"],
    locked = false,
  }: MattermostApiOptions = {},
): MattermostApi {
  const posts: MattermostPost[] = [];
  const calls: MattermostApi["calls"] = [];
  const forced: MattermostForced[] = [];
  let requests = 0;

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const appError = (status: number, id: string, message: string, detail = "") => {
      calls.push({ status, id });
      return Response.json({
        id,
        message,
        detailed_error: detail,
        request_id: `req${++requests}`,
        status_code: status,
      }, { status });
    };
    const next = forced.shift();
    if (next) {
      await req.body?.cancel();
      calls.push({ status: "rateLimit" in next ? 429 : next.status });
      if ("rateLimit" in next) {
        return new Response("limit exceeded\n", {
          status: 429,
          headers: {
            "content-type": "text/plain; charset=utf-8",
            "x-ratelimit-limit": "10",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": String(next.rateLimit),
            "retry-after": String(next.rateLimit),
          },
        });
      }
      return new Response(next.body ?? null, { status: next.status });
    }
    const match = new URL(req.url).pathname.match(/^\/hooks\/([A-Za-z0-9_-]+)$/);
    if (req.method !== "POST" || !match) {
      await req.body?.cancel();
      return appError(404, "api.context.404.app_error", "Sorry, we could not find the page.");
    }
    if (match[1] !== key) {
      await req.body?.cancel();
      return appError(400, "web.incoming_webhook.invalid.app_error", "Invalid webhook.");
    }
    const type = req.headers.get("content-type") ?? "";
    let body: Record<string, unknown>;
    try {
      const text = await req.text();
      body = type.startsWith("application/json")
        ? JSON.parse(text)
        : JSON.parse(new URLSearchParams(text).get("payload") ?? "");
      if (!body || typeof body !== "object" || Array.isArray(body)) throw new TypeError("object");
    } catch (error) {
      return appError(
        400,
        "web.incoming_webhook.parse.app_error",
        "Unable to parse incoming data.",
        String(error),
      );
    }
    const problem = checkBody(body);
    if (problem) {
      return appError(400, "web.incoming_webhook.invalid.app_error", "Invalid webhook.", problem);
    }
    const hasAttachments = Array.isArray(body.attachments) && body.attachments.length > 0;
    if (!body.text && !hasAttachments) {
      return appError(400, "web.incoming_webhook.text.app_error", "No text specified.");
    }
    if (typeof body.text === "string" && [...body.text].length > MAX_TEXT) {
      return appError(
        400,
        "model.post.is_valid.msg.app_error",
        "Invalid Message.",
        `text has ${[...body.text].length} characters; at most ${MAX_TEXT}`,
      );
    }
    const channel = typeof body.channel === "string" ? body.channel : own;
    if (!channels.includes(channel)) {
      return appError(400, "web.incoming_webhook.channel.app_error", "Couldn't find the channel.");
    }
    if (locked && channel !== own) {
      return appError(
        403,
        "web.incoming_webhook.channel_locked.app_error",
        "This webhook is not permitted to post to the requested channel.",
      );
    }
    posts.push({ channel, body });
    calls.push({ status: 200 });
    return new Response("ok", { headers: { "content-type": "text/plain" } });
  });

  return {
    hookUrl: `http://127.0.0.1:${server.addr.port}/hooks/${key}`,
    posts,
    calls,
    failNext(...answers) {
      forced.push(...answers);
    },
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

/** The first schema problem of a webhook body, or undefined. */
function checkBody(body: Record<string, unknown>): string | undefined {
  const unknown = Object.keys(body).filter((k) => !KEYS.includes(k));
  if (unknown.length > 0) return `unknown keys ${unknown.join(", ")}`;
  for (const key of ["text", "channel", "username", "icon_url", "icon_emoji"]) {
    if (body[key] !== undefined && typeof body[key] !== "string") return `${key} must be a string`;
  }
  if (body.attachments === undefined) return undefined;
  if (!Array.isArray(body.attachments)) return "attachments must be a list";
  for (const [i, a] of body.attachments.entries()) {
    if (!a || typeof a !== "object") return `attachments[${i}] must be an object`;
    const extra = Object.keys(a).filter((k) => !ATTACHMENT_KEYS.includes(k));
    if (extra.length > 0) return `attachments[${i}] has unknown keys ${extra.join(", ")}`;
    if (a.color !== undefined && !COLOR.test(String(a.color))) {
      return `attachments[${i}].color "${a.color}" is not #RRGGBB or good/warning/danger`;
    }
    if (a.fields === undefined) continue;
    if (!Array.isArray(a.fields)) return `attachments[${i}].fields must be a list`;
    for (const [j, f] of a.fields.entries()) {
      const ok = typeof f?.title === "string" &&
        (typeof f.value === "string" || typeof f.value === "number") &&
        (f.short === undefined || typeof f.short === "boolean");
      if (!ok) return `attachments[${i}].fields[${j}] needs title, value and boolean short`;
    }
  }
  return undefined;
}
