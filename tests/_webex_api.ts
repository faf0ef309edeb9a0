/**
 * A local Webex Messages API for tests that enforces the documented schema and limits and
 * answers the way Webex does.
 *
 * Route: `POST /v1/messages` with `Authorization: Bearer <token>` (401 otherwise) and a JSON
 * body. Errors are Webex's error JSON (`{"message","errors":[{"description"}],"trackingId"}`).
 *
 * Enforced: known keys only (`roomId`, `toPersonId`, `toPersonEmail`, `text`, `markdown`,
 * `parentId`, `files`, `attachments`; the real API ignores unknown ones, a typo here should
 * fail a test); exactly one of `roomId`, `toPersonId`, `toPersonEmail`; `text` or `markdown`
 * present, each at most 7439 UTF-8 bytes (400); `roomId` must be a known room (404);
 * `parentId` must be an existing message (404), in the same room (400) and a root message,
 * since Webex does not allow replies to replies (400). Rate limiting answers 429 with
 * `Retry-After`. Success is `200` with the message object (`id`, `roomId`, `roomType`,
 * `parentId`?, `text`?, `markdown`?, `personEmail`, `created`).
 *
 * @module
 */

/** A message as the server stores it. */
export interface WebexMessage {
  id: string;
  roomId: string;
  parentId?: string;
  text?: string;
  markdown?: string;
  created: string;
}

/** A queued answer replacing the next request's normal one. */
export type WebexForced = { rateLimit: number } | { status: number; body?: string };

/** Options of {@linkcode startWebexApi}. */
export interface WebexApiOptions {
  /** The bot token. @default "test-bot-token" */
  token?: string;
  /** Rooms the bot is in. @default ["room-1"] */
  rooms?: string[];
}

/** A running local Webex. */
export interface WebexApi extends AsyncDisposable {
  /** The Messages endpoint to configure as `apiUrl`. */
  url: string;
  /** Every accepted message, in order (deleted ones included). */
  messages: WebexMessage[];
  /** Every request: status and error message. */
  calls: { status: number; message?: string }[];
  /** Queues answers for the next requests, in order. */
  failNext(...answers: WebexForced[]): void;
  /** Deletes a message, as a user would. */
  deleteMessage(id: string): void;
}

/** UTF-8 bytes of `text` and of `markdown`. */
const MAX_BYTES = 7439;
const KEYS = [
  "roomId",
  "toPersonId",
  "toPersonEmail",
  "text",
  "markdown",
  "parentId",
  "files",
  "attachments",
];

/**
 * Starts the local Webex on 127.0.0.1 and a free port.
 *
 * @param options Token and rooms.
 * @returns The running server; dispose it to stop.
 */
export function startWebexApi(
  { token = "test-bot-token", rooms = ["room-1"] }: WebexApiOptions = {},
): WebexApi {
  const messages: WebexMessage[] = [];
  // Direct rooms exist once a first message to the person created them.
  const known = new Set(rooms);
  const deleted = new Set<string>();
  const calls: WebexApi["calls"] = [];
  const forced: WebexForced[] = [];
  let requests = 0;

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const error = (status: number, message: string) => {
      calls.push({ status, message });
      return Response.json({
        message,
        errors: [{ description: message }],
        trackingId: `ROUTER_TEST_${++requests}`,
      }, { status, headers: { trackingid: `ROUTER_TEST_${requests}` } });
    };
    const next = forced.shift();
    if (next) {
      await req.body?.cancel();
      if ("rateLimit" in next) {
        calls.push({ status: 429 });
        return new Response(null, {
          status: 429,
          headers: { "retry-after": String(next.rateLimit) },
        });
      }
      calls.push({ status: next.status });
      return new Response(next.body ?? null, { status: next.status });
    }
    if (req.method !== "POST" || new URL(req.url).pathname !== "/v1/messages") {
      await req.body?.cancel();
      return error(404, "The requested resource could not be found.");
    }
    if (req.headers.get("authorization") !== `Bearer ${token}`) {
      await req.body?.cancel();
      return error(
        401,
        "The request requires a valid access token set in the Authorization request header.",
      );
    }
    if (!(req.headers.get("content-type") ?? "").startsWith("application/json")) {
      await req.body?.cancel();
      return error(415, "Content type is not supported.");
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(await req.text());
      if (!body || typeof body !== "object" || Array.isArray(body)) throw new TypeError();
    } catch (_error) {
      return error(400, "Unable to parse the request body as JSON.");
    }
    const unknown = Object.keys(body).filter((k) => !KEYS.includes(k));
    if (unknown.length > 0) return error(400, `Unrecognized field(s): ${unknown.join(", ")}`);
    const targets = ["roomId", "toPersonId", "toPersonEmail"].filter((k) => body[k] !== undefined);
    if (targets.length !== 1) {
      return error(400, "Exactly one of roomId, toPersonId or toPersonEmail must be specified.");
    }
    for (const key of ["roomId", "toPersonId", "toPersonEmail", "text", "markdown", "parentId"]) {
      if (body[key] !== undefined && typeof body[key] !== "string") {
        return error(400, `${key} must be a string.`);
      }
    }
    const text = body.text as string | undefined;
    const markdown = body.markdown as string | undefined;
    if (!text && !markdown && body.files === undefined && body.attachments === undefined) {
      return error(400, "Either text, markdown, files or attachments must be specified.");
    }
    for (const [key, value] of [["text", text], ["markdown", markdown]] as const) {
      if (value !== undefined && new TextEncoder().encode(value).length > MAX_BYTES) {
        return error(400, `Message ${key} exceeds the maximum length of ${MAX_BYTES} bytes.`);
      }
    }
    let roomId: string;
    if (typeof body.roomId === "string") {
      if (!known.has(body.roomId)) return error(404, "Could not find a room with provided ID.");
      roomId = body.roomId;
    } else {
      roomId = `direct-${body.toPersonEmail ?? body.toPersonId}`;
      known.add(roomId);
    }
    const parentId = body.parentId as string | undefined;
    if (parentId !== undefined) {
      const parent = messages.find((m) => m.id === parentId);
      if (!parent || deleted.has(parentId)) {
        return error(404, "Could not find a message with provided parentId.");
      }
      if (parent.roomId !== roomId) return error(400, "Parent message is in another room.");
      if (parent.parentId !== undefined) {
        return error(400, "Cannot reply to a reply: parentId must be a root message.");
      }
    }
    const message: WebexMessage = {
      id: `msg-${messages.length + 1}`,
      roomId,
      ...(parentId ? { parentId } : {}),
      ...(text !== undefined ? { text } : {}),
      ...(markdown !== undefined ? { markdown } : {}),
      created: new Date().toISOString(),
    };
    messages.push(message);
    calls.push({ status: 200 });
    return Response.json({
      ...message,
      roomType: roomId.startsWith("direct-") ? "direct" : "group",
      personEmail: "cano-bot@webex.bot",
    });
  });
  const { port } = server.addr as Deno.NetAddr;
  return {
    url: `http://127.0.0.1:${port}/v1/messages`,
    messages,
    calls,
    failNext: (...answers) => forced.push(...answers),
    deleteMessage: (id) => deleted.add(id),
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}
