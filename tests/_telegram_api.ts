/**
 * A local Telegram Bot API (`sendMessage`) for tests that parses HTML the way Telegram does,
 * enforces the documented limits and answers with Telegram's error bodies.
 *
 * Route: `POST /bot{token}/sendMessage` with a JSON body. Answers `{"ok":true,"result":
 * Message}` or `{"ok":false,"error_code":…,"description":"…"}` with the same HTTP status:
 * 401 `Unauthorized` (bad token), 404 `Not Found` (unknown method), 400 `Bad Request: …`
 * (`chat not found`, `message text is empty`, `message is too long`, `message thread not
 * found`, `message to be replied not found`, `unsupported parse_mode`, `can't parse
 * entities: …`), and 429 `Too Many Requests: retry after N` with `parameters.retry_after`
 * (queued with {@linkcode TelegramApi.failNext} or from the optional per-chat limit).
 *
 * HTML (parse_mode "HTML"): only `b strong i em u ins s strike del span tg-spoiler a code
 * pre blockquote tg-emoji`; `a` needs `href`, `span` needs `class="tg-spoiler"`; `pre` holds
 * text or one `code`; tags must nest and close; `&lt; &gt; &amp; &quot;` and numeric entities
 * only; a `<` or `&` that starts no tag or entity is an error. Text is 1–4096 UTF-16 code
 * units of visible text after parsing and trimming.
 *
 * @module
 */

/** A message as the server stores it. */
export interface TelegramMessage {
  /** Chat id as sent. */
  chatId: string;
  /** Message id, per server. */
  messageId: number;
  /** Forum topic. */
  threadId?: number;
  /** Replied-to message id. */
  replyTo?: number;
  /** Visible text after parsing. */
  text: string;
  /** The body as received. */
  body: Record<string, unknown>;
}

/** A queued answer replacing the next request's normal one. */
export type TelegramForced = { retryAfter: number } | { status: number; body?: string };

/** Options of {@linkcode startTelegramApi}. */
export interface TelegramApiOptions {
  /** Bot token. @default "123456789:test-bot-token" */
  token?: string;
  /** Chats and their forum topics. @default { "-1001234567890": [42] } */
  chats?: Record<string, number[]>;
  /** Messages per chat per window before 429. @default undefined (off) */
  perChat?: { messages: number; windowMs: number };
}

/** A running local Bot API. */
export interface TelegramApi extends AsyncDisposable {
  /** Base URL to use as `apiUrl`. */
  url: string;
  /** Every sent message, in order. */
  messages: TelegramMessage[];
  /** Every request: status and description. */
  calls: { status: number; description?: string }[];
  /** Queues answers for the next requests, in order. */
  failNext(...answers: TelegramForced[]): void;
}

const MAX_TEXT = 4096;
const KEYS = [
  "business_connection_id",
  "chat_id",
  "message_thread_id",
  "text",
  "parse_mode",
  "entities",
  "link_preview_options",
  "disable_notification",
  "protect_content",
  "allow_paid_broadcast",
  "message_effect_id",
  "reply_parameters",
  "reply_markup",
];

/**
 * Starts the local Bot API on 127.0.0.1 and a free port.
 *
 * @param options Token, chats and rate limit.
 * @returns The running API; dispose it to stop.
 */
export function startTelegramApi(
  {
    token = "123456789:test-bot-token",
    chats = { "-1001234567890": [42] },
    perChat,
  }: TelegramApiOptions = {},
): TelegramApi {
  const messages: TelegramMessage[] = [];
  const calls: TelegramApi["calls"] = [];
  const forced: TelegramForced[] = [];
  const sent = new Map<string, number[]>();
  let nextId = 100;

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const error = (code: number, description: string, parameters?: Record<string, unknown>) => {
      calls.push({ status: code, description });
      return Response.json({
        ok: false,
        error_code: code,
        description,
        ...(parameters ? { parameters } : {}),
      }, { status: code });
    };
    const tooMany = (seconds: number) =>
      error(429, `Too Many Requests: retry after ${seconds}`, { retry_after: seconds });
    const next = forced.shift();
    if (next) {
      await req.body?.cancel();
      if ("retryAfter" in next) return tooMany(next.retryAfter);
      calls.push({ status: next.status });
      return new Response(next.body ?? null, { status: next.status });
    }
    const match = new URL(req.url).pathname.match(/^\/bot([^/]+)\/([A-Za-z]+)$/);
    if (!match || match[1] !== token) {
      await req.body?.cancel();
      return error(match ? 401 : 404, match ? "Unauthorized" : "Not Found");
    }
    if (match[2] !== "sendMessage") {
      await req.body?.cancel();
      return error(404, "Not Found");
    }
    let body: Record<string, unknown>;
    try {
      body = await req.json();
      if (!body || typeof body !== "object" || Array.isArray(body)) throw new TypeError("object");
    } catch (_error) {
      return error(400, "Bad Request: message text is empty");
    }
    const unknown = Object.keys(body).filter((k) => !KEYS.includes(k));
    if (unknown.length > 0) return error(400, `Bad Request: unknown parameters ${unknown}`);
    if (body.chat_id === undefined || body.chat_id === "") {
      return error(400, "Bad Request: chat_id is empty");
    }
    const chatId = String(body.chat_id);
    const topics = chats[chatId];
    if (!topics) return error(400, "Bad Request: chat not found");
    const threadId = body.message_thread_id as number | undefined;
    if (threadId !== undefined && !topics.includes(threadId)) {
      return error(400, "Bad Request: message thread not found");
    }
    if (typeof body.text !== "string") return error(400, "Bad Request: message text is empty");
    let text = body.text;
    if (body.parse_mode === "HTML") {
      const parsed = parseHtml(body.text);
      if ("error" in parsed) {
        return error(400, `Bad Request: can't parse entities: ${parsed.error}`);
      }
      text = parsed.text;
    } else if (body.parse_mode !== undefined) {
      return error(400, "Bad Request: unsupported parse_mode");
    }
    text = text.trim();
    if (text.length === 0) return error(400, "Bad Request: message text is empty");
    if (text.length > MAX_TEXT) return error(400, "Bad Request: message is too long");
    let replyTo: number | undefined;
    const reply = body.reply_parameters as Record<string, unknown> | undefined;
    if (reply !== undefined) {
      const target = messages.find((m) => m.chatId === chatId && m.messageId === reply.message_id);
      if (target) replyTo = target.messageId;
      else if (reply.allow_sending_without_reply !== true) {
        return error(400, "Bad Request: message to be replied not found");
      }
    }
    if (perChat) {
      const now = Date.now();
      const times = (sent.get(chatId) ?? []).filter((t) => t > now - perChat.windowMs);
      if (times.length >= perChat.messages) {
        return tooMany(Math.ceil((times[0]! + perChat.windowMs - now) / 1000));
      }
      sent.set(chatId, [...times, now]);
    }
    const message: TelegramMessage = {
      chatId,
      messageId: nextId++,
      ...(threadId === undefined ? {} : { threadId }),
      ...(replyTo === undefined ? {} : { replyTo }),
      text,
      body,
    };
    messages.push(message);
    calls.push({ status: 200 });
    return Response.json({
      ok: true,
      result: {
        message_id: message.messageId,
        from: { id: 123456789, is_bot: true, first_name: "Cano" },
        chat: { id: Number(chatId), type: "supergroup" },
        date: Math.floor(Date.now() / 1000),
        text,
        ...(threadId === undefined ? {} : { message_thread_id: threadId }),
        ...(replyTo === undefined ? {} : { reply_to_message: { message_id: replyTo } }),
      },
    });
  });

  return {
    url: `http://127.0.0.1:${server.addr.port}`,
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

const TAGS = new Set([
  "b",
  "strong",
  "i",
  "em",
  "u",
  "ins",
  "s",
  "strike",
  "del",
  "span",
  "tg-spoiler",
  "a",
  "code",
  "pre",
  "blockquote",
  "tg-emoji",
]);
const NAMED: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"' };

/**
 * Parses Telegram HTML into its visible text, or the error Telegram gives.
 *
 * @param html The message text.
 * @returns The visible text, or the error after "can't parse entities: ".
 */
export function parseHtml(html: string): { text: string } | { error: string } {
  const encoder = new TextEncoder();
  const offset = (i: number) => encoder.encode(html.slice(0, i)).length;
  const stack: { name: string; children: number }[] = [];
  let text = "";
  let i = 0;
  while (i < html.length) {
    const c = html[i]!;
    if (c === "&") {
      const entity = html.slice(i).match(/^&(#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z]+);/);
      if (!entity) {
        return { error: `Can't find end of the entity starting at byte offset ${offset(i)}` };
      }
      const name = entity[1]!;
      if (name.startsWith("#")) {
        const code = name[1] === "x" ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
        if (code > 0x10ffff) return { error: `Invalid entity at byte offset ${offset(i)}` };
        text += String.fromCodePoint(code);
      } else if (NAMED[name] !== undefined) {
        text += NAMED[name];
      } else {
        return { error: `Unsupported HTML entity "&${name};" at byte offset ${offset(i)}` };
      }
      i += entity[0].length;
      continue;
    }
    if (c !== "<") {
      text += c;
      i++;
      continue;
    }
    const end = html.indexOf(">", i);
    if (end < 0) return { error: `Unclosed start tag at byte offset ${offset(i)}` };
    const raw = html.slice(i + 1, end);
    if (raw.startsWith("/")) {
      const name = raw.slice(1).trim().toLowerCase();
      const open = stack.pop();
      if (!open) return { error: `Unexpected end tag at byte offset ${offset(i)}` };
      if (open.name !== name) {
        return {
          error: `Unmatched end tag at byte offset ${
            offset(i)
          }, expected "</${open.name}>", found "</${name}>"`,
        };
      }
    } else {
      const tag = raw.match(
        /^([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+))*)\s*$/,
      );
      if (!tag) return { error: `Unsupported start tag "${raw}" at byte offset ${offset(i)}` };
      const name = tag[1]!.toLowerCase();
      if (!TAGS.has(name)) {
        return { error: `Unsupported start tag "${name}" at byte offset ${offset(i)}` };
      }
      const attrs = Object.fromEntries(
        [...tag[2]!.matchAll(/([a-zA-Z-]+)\s*=\s*("[^"]*"|'[^']*'|[^\s"'>]+)/g)]
          .map(([, k, v]) => [k!.toLowerCase(), v!.replace(/^["']|["']$/g, "")]),
      );
      if (name === "a" && !attrs.href) {
        return { error: `Can't find href of link at byte offset ${offset(i)}` };
      }
      if (name === "span" && attrs.class !== "tg-spoiler") {
        return { error: `Tag "span" must have class "tg-spoiler" at byte offset ${offset(i)}` };
      }
      const parent = stack.at(-1);
      if (parent?.name === "pre" && (name !== "code" || parent.children > 0)) {
        return {
          error: `Unsupported start tag "${name}" inside "pre" at byte offset ${offset(i)}`,
        };
      }
      if (parent) parent.children++;
      stack.push({ name, children: 0 });
    }
    i = end + 1;
  }
  const open = stack.pop();
  if (open) return { error: `Can't find end tag corresponding to start tag "${open.name}"` };
  return { text };
}
