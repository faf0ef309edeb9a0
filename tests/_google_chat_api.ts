/**
 * A local Google Chat API (`spaces.messages.create` through an incoming webhook) for tests.
 * It enforces the documented schema and limits so a malformed payload fails the test the
 * way Chat would fail it.
 *
 * - `key` and `token` must match: else 400 `INVALID_ARGUMENT` "API key not valid" or 401
 *   `UNAUTHENTICATED`.
 * - The body is at most 32,000 UTF-8 bytes: else 400 `INVALID_ARGUMENT`.
 * - Field names are the documented ones (Message, CardWithId, Card, Section, Widget,
 *   TextParagraph, DecoratedText, ButtonList, Button, OnClick, OpenLink, Divider, Image);
 *   an unknown name gets Google's `Invalid JSON payload received. Unknown name "…" at
 *   '…': Cannot find field.` A widget holds exactly one widget kind, a button an `onClick`
 *   with exactly one kind, and a section at least one widget.
 * - Threading as documented: `thread.threadKey` groups messages only when the query has
 *   `messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD` (or `REPLY_MESSAGE_OR_FAIL`,
 *   which answers 404 `NOT_FOUND` for a new key); without it the key is ignored and every
 *   message starts a thread. Another value is 400 `INVALID_ARGUMENT`.
 * - More than `maxPerMinute` writes per space in a rolling minute: 429 `RESOURCE_EXHAUSTED`.
 * - Success: 200 with the created Message resource (`name`, `thread.name`, `space`…).
 *
 * Text that Chat's card HTML subset would show raw (tags outside `<b> <i> <u> <s> <font
 * color> <a href> <br>`, a bare `&` or `<`) is collected in `markupProblems`.
 *
 * @module
 */
import { z } from "zod";

/** Bytes of a message Chat accepts. */
export const CHAT_API_MAX_BYTES = 32_000;
const REPLY_OPTIONS = [
  "MESSAGE_REPLY_OPTION_UNSPECIFIED",
  "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD",
  "REPLY_MESSAGE_OR_FAIL",
];

const oneOf = (shape: Record<string, z.ZodType>, what: string) =>
  z.strictObject(Object.fromEntries(
    Object.entries(shape).map(([k, v]) => [k, v.optional()]),
  )).refine((v) => Object.keys(v).filter((k) => k !== "horizontalAlignment").length === 1, {
    error: `${what} must set exactly one kind`,
  });
const Loose = z.record(z.string(), z.unknown());
const OpenLink = z.strictObject({
  url: z.url(),
  openAs: z.enum(["FULL_SIZE", "OVERLAY"]).optional(),
  onClose: z.enum(["NOTHING", "RELOAD"]).optional(),
});
const OnClick = oneOf({
  action: Loose,
  openLink: OpenLink,
  openDynamicLinkAction: Loose,
  card: Loose,
  overflowMenu: Loose,
}, "OnClick");
const Icon = Loose;
const Button = z.strictObject({
  text: z.string().optional(),
  icon: Icon.optional(),
  color: Loose.optional(),
  onClick: OnClick,
  disabled: z.boolean().optional(),
  altText: z.string().optional(),
  type: z.enum(["TYPE_UNSPECIFIED", "OUTLINED", "FILLED", "FILLED_TONAL", "BORDERLESS"])
    .optional(),
});
const Widget = oneOf({
  textParagraph: z.strictObject({
    text: z.string(),
    maxLines: z.int().optional(),
    textSyntax: z.enum(["TEXT_SYNTAX_UNSPECIFIED", "HTML", "MARKDOWN"]).optional(),
  }),
  image: z.strictObject({
    imageUrl: z.url({ protocol: /^https$/ }),
    onClick: OnClick.optional(),
    altText: z.string().optional(),
  }),
  decoratedText: z.strictObject({
    icon: Icon.optional(),
    startIcon: Icon.optional(),
    topLabel: z.string().optional(),
    text: z.string(),
    wrapText: z.boolean().optional(),
    bottomLabel: z.string().optional(),
    onClick: OnClick.optional(),
    button: Button.optional(),
    switchControl: Loose.optional(),
    endIcon: Icon.optional(),
  }),
  buttonList: z.strictObject({ buttons: z.array(Button) }),
  divider: z.strictObject({}),
  textInput: Loose,
  selectionInput: Loose,
  dateTimePicker: Loose,
  grid: Loose,
  columns: Loose,
  chipList: Loose,
  carousel: Loose,
  horizontalAlignment: z.enum(["HORIZONTAL_ALIGNMENT_UNSPECIFIED", "START", "CENTER", "END"]),
}, "Widget");
const Header = z.strictObject({
  title: z.string(),
  subtitle: z.string().optional(),
  imageType: z.enum(["SQUARE", "CIRCLE"]).optional(),
  imageUrl: z.url().optional(),
  imageAltText: z.string().optional(),
});
const Card = z.strictObject({
  header: Header.optional(),
  sections: z.array(z.strictObject({
    header: z.string().optional(),
    widgets: z.array(Widget).min(1),
    collapsible: z.boolean().optional(),
    uncollapsibleWidgetsCount: z.int().optional(),
    collapseControl: Loose.optional(),
  })).optional(),
  sectionDividerStyle: z.enum(["DIVIDER_STYLE_UNSPECIFIED", "SOLID_DIVIDER", "NO_DIVIDER"])
    .optional(),
  cardActions: z.array(Loose).optional(),
  name: z.string().optional(),
  fixedFooter: Loose.optional(),
  displayStyle: z.enum(["DISPLAY_STYLE_UNSPECIFIED", "PEEK", "REPLACE"]).optional(),
  peekCardHeader: Header.optional(),
});
const MessageSchema = z.strictObject({
  text: z.string().optional(),
  cardsV2: z.array(z.strictObject({ cardId: z.string(), card: Card })).optional(),
  cards: z.array(Loose).optional(),
  thread: z.strictObject({ name: z.string().optional(), threadKey: z.string().optional() })
    .optional(),
  fallbackText: z.string().optional(),
  accessoryWidgets: z.array(Loose).optional(),
  privateMessageViewer: Loose.optional(),
});

/** A message as the server stores it. */
export interface ChatStoredMessage {
  /** Resource name, `spaces/…/messages/…`. */
  name: string;
  /** Thread resource name. */
  thread: string;
  /** The posted body. */
  body: z.infer<typeof MessageSchema>;
}

/** Options of {@linkcode startGoogleChatApi}. */
export interface GoogleChatApiOptions {
  /** Accepted key. @default "AIzaSy-test-key" */
  key?: string;
  /** Accepted token. @default "test-token-0123456789" */
  token?: string;
  /** Writes per space per rolling minute before 429. @default 60 */
  maxPerMinute?: number;
}

/** A running local Chat API. */
export interface GoogleChatApi extends AsyncDisposable {
  /** The webhook URL of space `AAAA1234`, key and token included. */
  url: string;
  /** Every created message, in order. */
  messages: ChatStoredMessage[];
  /** Every request: status and Google's status name (or "OK"). */
  calls: { status: number; error: string; query: string }[];
  /** Card texts Chat would show raw, with where they were. */
  markupProblems: string[];
  /** Queues answers for the next requests, in order. */
  failNext(...answers: { status: number; retryAfter?: string; body?: string }[]): void;
}

/**
 * Starts the local Chat API on 127.0.0.1 and a free port.
 *
 * @param options Credentials and the quota.
 * @returns The running API; dispose it to stop.
 */
export function startGoogleChatApi(
  { key = "AIzaSy-test-key", token = "test-token-0123456789", maxPerMinute = 60 }:
    GoogleChatApiOptions = {},
): GoogleChatApi {
  const messages: ChatStoredMessage[] = [];
  const calls: GoogleChatApi["calls"] = [];
  const markupProblems: string[] = [];
  const forced: { status: number; retryAfter?: string; body?: string }[] = [];
  const threads = new Map<string, string>();
  const writes: number[] = [];
  let count = 0;

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    const bytes = new Uint8Array(await req.arrayBuffer());
    const fail = (code: number, status: string, message: string) => {
      calls.push({ status: code, error: status, query: url.search });
      return Response.json({ error: { code, message, status } }, { status: code });
    };
    const next = forced.shift();
    if (next) {
      calls.push({ status: next.status, error: "forced", query: url.search });
      return new Response(next.body ?? "", {
        status: next.status,
        headers: next.retryAfter ? { "retry-after": next.retryAfter } : {},
      });
    }
    const match = url.pathname.match(/^\/v1\/spaces\/([^/]+)\/messages$/);
    if (req.method !== "POST" || !match) return fail(404, "NOT_FOUND", "Not found.");
    const space = `spaces/${match[1]}`;
    if (url.searchParams.get("key") !== key) {
      return fail(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.");
    }
    if (url.searchParams.get("token") !== token) {
      return fail(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.");
    }
    const now = Date.now();
    while (writes.length > 0 && writes[0]! <= now - 60_000) writes.shift();
    if (writes.length >= maxPerMinute) {
      return fail(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).");
    }
    if (bytes.length > CHAT_API_MAX_BYTES) {
      return fail(
        400,
        "INVALID_ARGUMENT",
        `Message is ${bytes.length} bytes: the maximum is ${CHAT_API_MAX_BYTES} bytes.`,
      );
    }
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    } catch (error) {
      return fail(400, "INVALID_ARGUMENT", `Invalid JSON payload received. ${error}`);
    }
    const parsed = MessageSchema.safeParse(json);
    if (!parsed.success) {
      return fail(400, "INVALID_ARGUMENT", parsed.error.issues.map(googleMessage).join("\n"));
    }
    const body = parsed.data;
    if (!body.text && !body.cardsV2?.length && !body.cards?.length) {
      return fail(400, "INVALID_ARGUMENT", "Message cannot be empty.");
    }
    const option = url.searchParams.get("messageReplyOption") ??
      "MESSAGE_REPLY_OPTION_UNSPECIFIED";
    if (!REPLY_OPTIONS.includes(option)) {
      return fail(400, "INVALID_ARGUMENT", `Invalid value at 'message_reply_option' ("${option}")`);
    }
    const threadKey = body.thread?.threadKey;
    let thread: string | undefined;
    if (option !== "MESSAGE_REPLY_OPTION_UNSPECIFIED" && body.thread) {
      thread = body.thread.name ?? (threadKey ? threads.get(`${space}/${threadKey}`) : undefined);
      if (body.thread.name && !messages.some((m) => m.thread === body.thread!.name)) {
        thread = undefined;
      }
      if (!thread && option === "REPLY_MESSAGE_OR_FAIL") {
        return fail(404, "NOT_FOUND", "Thread not found.");
      }
    }
    count++;
    thread ??= `${space}/threads/t${count}`;
    if (threadKey && option !== "MESSAGE_REPLY_OPTION_UNSPECIFIED") {
      threads.set(`${space}/${threadKey}`, thread);
    }
    writes.push(now);
    const name = `${space}/messages/m${count}.m${count}`;
    messages.push({ name, thread, body });
    collectMarkup(body, markupProblems);
    calls.push({ status: 200, error: "OK", query: url.search });
    return Response.json({
      name,
      sender: { name: "users/114022495153014004089", displayName: "Cano", type: "BOT" },
      createTime: new Date(now).toISOString(),
      text: body.text ?? "",
      ...(body.cardsV2 ? { cardsV2: body.cardsV2 } : {}),
      thread: { name: thread, ...(threadKey ? { threadKey } : {}) },
      space: { name: space, type: "ROOM", spaceType: "SPACE" },
      argumentText: body.text ?? "",
      formattedText: body.text ?? "",
    });
  });

  return {
    url:
      `http://127.0.0.1:${server.addr.port}/v1/spaces/AAAA1234/messages?key=${key}&token=${token}`,
    messages,
    calls,
    markupProblems,
    failNext(...answers) {
      forced.push(...answers);
    },
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

/** A zod issue as Google phrases it, with the proto field path. */
function googleMessage(issue: z.core.$ZodIssue): string {
  const path = ["message", ...issue.path].reduce<string>(
    (out, part) =>
      typeof part === "number"
        ? `${out}[${part}]`
        : `${out}${out ? "." : ""}${String(part).replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`,
    "",
  );
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((k) =>
      `Invalid JSON payload received. Unknown name "${k}" at '${path}': Cannot find field.`
    ).join("\n");
  }
  return `Invalid value at '${path}': ${issue.message}`;
}

const ALLOWED_TAG =
  /^<(\/?(b|i|u|s|br)|font color="#[0-9a-fA-F]{6}"|\/font|a href="[^"<>]*"|\/a)>$/;

/** Records card text Chat's HTML subset would not render as meant. */
function collectMarkup(body: z.infer<typeof MessageSchema>, problems: string[]): void {
  const check = (text: string, where: string) => {
    for (const tag of text.match(/<[^>]*>?/g) ?? []) {
      if (!ALLOWED_TAG.test(tag)) problems.push(`${where}: tag ${tag}`);
    }
    const withoutTags = text.replace(/<[^>]*>/g, "");
    if (/&(?!(amp|lt|gt|quot|nbsp|#\d+);)/.test(withoutTags)) problems.push(`${where}: bare &`);
  };
  body.cardsV2?.forEach((c, i) =>
    c.card.sections?.forEach((s, j) => {
      if (s.header) check(s.header, `cardsV2[${i}].sections[${j}].header`);
      s.widgets.forEach((w, k) => {
        const where = `cardsV2[${i}].sections[${j}].widgets[${k}]`;
        const kinds = w as Record<string, { text?: unknown } | undefined>;
        for (const kind of [kinds.textParagraph, kinds.decoratedText]) {
          if (typeof kind?.text === "string") check(kind.text, where);
        }
      });
    })
  );
}
