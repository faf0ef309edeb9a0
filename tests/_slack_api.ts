/**
 * A local Slack Web API for tests that enforces the documented schema and limits, so a
 * malformed payload fails the test the way Slack would fail it.
 *
 * Methods: `chat.postMessage`, `chat.update` (JSON bodies), `files.getUploadURLExternal`,
 * `files.completeUploadExternal` (form bodies) and the upload URL they hand out. Like Slack,
 * logical errors are HTTP 200 with `{"ok":false,"error":"…"}`: `not_authed`, `invalid_auth`,
 * `channel_not_found`, `no_text`, `invalid_blocks`, `invalid_attachments`,
 * `msg_blocks_too_long`, `thread_not_found`, `message_not_found`, `invalid_arguments`.
 * {@linkcode SlackApi.failNext} queues answers such as HTTP 429 with `Retry-After`.
 *
 * Enforced (Block Kit reference): ≤ 50 blocks per blocks array; known block types only, with
 * no unknown keys; header plain_text ≤ 150; section text ≤ 3000, ≤ 10 fields of ≤ 2000; context
 * 1–10 elements; actions 1–25 buttons, label ≤ 75, url ≤ 3000; `block_id` ≤ 255 and unique
 * per message; text objects non-empty, `emoji` only on plain_text; attachment `color` hex
 * or good/warning/danger; block text over 13,200 characters is `msg_blocks_too_long`.
 *
 * @module
 */

/** A message as the server stores it. */
export interface StoredMessage {
  /** Channel id. */
  channel: string;
  /** Message ts. */
  ts: string;
  /** Parent ts, for thread replies. */
  threadTs?: string;
  /** The body fields last posted or updated (text, blocks, attachments). */
  body: Record<string, unknown>;
  /** How many times `chat.update` changed it. */
  updates: number;
}

/** A file as the server stores it. */
export interface StoredFile {
  /** File id. */
  id: string;
  /** Declared name. */
  filename: string;
  /** Uploaded bytes. */
  bytes?: Uint8Array;
  /** Set once shared: channel id, thread and title. */
  shared?: { channel: string; threadTs?: string; title: string };
}

/** A queued answer that replaces the next call's normal one. */
export type ForcedAnswer =
  | { status: number; retryAfter?: string; body?: string }
  | { error: string; retryAfter?: string };

/** Options of {@linkcode startSlackApi}. */
export interface SlackApiOptions {
  /** Accepted bot token. @default "xoxb-test-token" */
  token?: string;
  /** Channels by name (without #) to id. @default { alerts: "C0ALERTS" } */
  channels?: Record<string, string>;
}

/** A running local Slack API. */
export interface SlackApi extends AsyncDisposable {
  /** Base URL to use as `apiUrl`. */
  url: string;
  /** Every stored message, in posting order. */
  messages: StoredMessage[];
  /** Every file by id. */
  files: Map<string, StoredFile>;
  /** Every call: method and the error it got, or "ok". */
  calls: { method: string; outcome: string; authorization: string | null }[];
  /** Queues answers for the next calls, in order. */
  failNext(...answers: ForcedAnswer[]): void;
}

const MAX_BLOCKS = 50;
const MAX_BLOCKS_TEXT = 13_200;
const COLOR = /^(#?[0-9a-fA-F]{6}|good|warning|danger)$/;

/**
 * Starts the local Slack API on 127.0.0.1 and a free port.
 *
 * @param options Token and channels.
 * @returns The running API; dispose it to stop.
 */
export function startSlackApi(
  { token = "xoxb-test-token", channels = { alerts: "C0ALERTS" } }: SlackApiOptions = {},
): SlackApi {
  const messages: StoredMessage[] = [];
  const files = new Map<string, StoredFile>();
  const calls: SlackApi["calls"] = [];
  const forced: ForcedAnswer[] = [];
  let clock = 1_772_000_000;
  let fileCount = 0;
  const ids = new Set(Object.values(channels));
  const channelId = (value: unknown): string | undefined => {
    if (typeof value !== "string") return undefined;
    if (ids.has(value)) return value;
    return value.startsWith("#") ? channels[value.slice(1)] : undefined;
  };

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    const method = path.replace(/^\/api\//, "").replace(/^\//, "");
    const authorization = req.headers.get("authorization");
    const answer = (status: number, body: string, headers: Record<string, string> = {}) => {
      calls.push({ method, outcome: status === 200 ? "ok" : `HTTP ${status}`, authorization });
      return new Response(body, { status, headers });
    };
    const error = (name: string, extra: Record<string, unknown> = {}, headers = {}) => {
      calls.push({ method, outcome: name, authorization });
      return Response.json({ ok: false, error: name, ...extra }, { headers });
    };
    const ok = (body: Record<string, unknown>) => {
      calls.push({ method, outcome: "ok", authorization });
      return Response.json({ ok: true, ...body });
    };
    const next = forced.shift();
    if (next) {
      await req.body?.cancel();
      const headers: Record<string, string> = next.retryAfter
        ? { "retry-after": next.retryAfter }
        : {};
      return "error" in next
        ? error(next.error, {}, headers)
        : answer(next.status, next.body ?? "", headers);
    }
    if (req.method !== "POST") return answer(405, "method_not_allowed");

    if (method.startsWith("upload/")) {
      const file = files.get(method.slice("upload/".length));
      const bytes = new Uint8Array(await req.arrayBuffer());
      if (!file || file.bytes) return answer(404, "not found");
      file.bytes = bytes;
      return answer(200, `OK - ${bytes.length}`);
    }

    if (authorization === null) return error("not_authed");
    if (authorization !== `Bearer ${token}`) return error("invalid_auth");
    const type = req.headers.get("content-type") ?? "";
    let args: Record<string, unknown>;
    try {
      if (type.startsWith("application/json")) {
        args = await req.json();
        if (!args || typeof args !== "object" || Array.isArray(args)) return error("invalid_json");
      } else if (type.startsWith("application/x-www-form-urlencoded")) {
        args = Object.fromEntries(new URLSearchParams(await req.text()));
      } else {
        return error("invalid_form_data");
      }
    } catch (_error) {
      return error("invalid_json");
    }

    switch (method) {
      case "chat.postMessage":
      case "chat.update": {
        if (!type.startsWith("application/json")) return error("invalid_arguments");
        if (args.channel === undefined) return error("channel_not_found");
        const channel = channelId(args.channel);
        if (!channel) return error("channel_not_found");
        const problems = checkMessage(args);
        if (problems.error) {
          return error(problems.error, { response_metadata: { messages: problems.messages } });
        }
        const body = { text: args.text, blocks: args.blocks, attachments: args.attachments };
        if (method === "chat.update") {
          const target = messages.find((m) => m.channel === channel && m.ts === args.ts);
          if (!target) return error("message_not_found");
          target.body = body;
          target.updates++;
          return ok({ channel, ts: target.ts, text: args.text });
        }
        let threadTs: string | undefined;
        if (args.thread_ts !== undefined) {
          const parent = messages.find((m) => m.channel === channel && m.ts === args.thread_ts);
          if (!parent) return error("thread_not_found");
          threadTs = parent.threadTs ?? parent.ts;
        }
        const ts = `${clock++}.000100`;
        messages.push({ channel, ts, ...(threadTs ? { threadTs } : {}), body, updates: 0 });
        return ok({ channel, ts, message: { ...body, ts } });
      }
      case "files.getUploadURLExternal": {
        const length = Number(args.length);
        if (typeof args.filename !== "string" || !args.filename) {
          return error("invalid_arguments");
        }
        if (!Number.isInteger(length) || length < 1) return error("invalid_arguments");
        const id = `F${String(++fileCount).padStart(8, "0")}`;
        files.set(id, { id, filename: args.filename });
        return ok({ upload_url: `${new URL(req.url).origin}/upload/${id}`, file_id: id });
      }
      case "files.completeUploadExternal": {
        let list: unknown;
        try {
          list = JSON.parse(String(args.files));
        } catch (_error) {
          return error("invalid_arguments");
        }
        if (!Array.isArray(list) || list.length === 0) return error("invalid_arguments");
        const channel = args.channel_id === undefined ? undefined : channelId(args.channel_id);
        if (args.channel_id !== undefined && (!channel || !ids.has(String(args.channel_id)))) {
          return error("channel_not_found");
        }
        if (args.thread_ts !== undefined) {
          const parent = messages.find((m) => m.channel === channel && m.ts === args.thread_ts);
          if (!parent) return error("invalid_thread_ts");
        }
        for (const entry of list) {
          const file = files.get(String(entry?.id));
          if (!file || !file.bytes) return error("file_not_found");
          if (channel) {
            file.shared = {
              channel,
              title: String(entry.title ?? file.filename),
              ...(typeof args.thread_ts === "string" ? { threadTs: args.thread_ts } : {}),
            };
          }
        }
        return ok({ files: list.map((f) => ({ id: f.id })) });
      }
      default:
        return error("unknown_method");
    }
  });

  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    messages,
    files,
    calls,
    failNext(...answers) {
      forced.push(...answers);
    },
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

interface Problems {
  error?: string;
  messages: string[];
}

/** Checks a message body as Slack does; returns the error name and the reasons. */
function checkMessage(args: Record<string, unknown>): Problems {
  const messages: string[] = [];
  const blockIds = new Set<string>();
  let blocksText = 0;
  const checkBlocks = (blocks: unknown, where: string): void => {
    if (!Array.isArray(blocks)) return void messages.push(`${where} must be an array`);
    if (blocks.length > MAX_BLOCKS) messages.push(`${where} has more than ${MAX_BLOCKS} blocks`);
    blocks.forEach((block, i) => {
      blocksText += checkBlock(block, `${where}/${i}`, messages, blockIds);
    });
  };
  const hasText = typeof args.text === "string" && args.text.length > 0;
  if (args.blocks !== undefined) checkBlocks(args.blocks, "blocks");
  if (messages.length > 0) return { error: "invalid_blocks", messages };
  let attachmentsHaveContent = false;
  if (args.attachments !== undefined) {
    if (!Array.isArray(args.attachments) || args.attachments.length > 100) {
      return { error: "invalid_attachments", messages: ["attachments must be an array of ≤ 100"] };
    }
    args.attachments.forEach((a: Record<string, unknown>, i) => {
      const unknown = Object.keys(a ?? {}).filter((k) =>
        !["color", "blocks", "fallback", "text", "title", "fallback"].includes(k)
      );
      if (unknown.length) messages.push(`attachments/${i} has unknown keys ${unknown}`);
      if (a?.color !== undefined && !COLOR.test(String(a.color))) {
        messages.push(`attachments/${i}/color "${a.color}" is not hex or good/warning/danger`);
      }
      if (a?.blocks !== undefined) checkBlocks(a.blocks, `attachments/${i}/blocks`);
      if (a?.blocks || a?.text) attachmentsHaveContent = true;
    });
    if (messages.length > 0) return { error: "invalid_attachments", messages };
  }
  const hasBlocks = Array.isArray(args.blocks) && args.blocks.length > 0;
  if (!hasText && !hasBlocks && !attachmentsHaveContent) return { error: "no_text", messages };
  if (blocksText > MAX_BLOCKS_TEXT) {
    return { error: "msg_blocks_too_long", messages: [`${blocksText} characters of block text`] };
  }
  return { messages };
}

const BLOCK_KEYS: Record<string, string[]> = {
  header: ["type", "block_id", "text"],
  section: ["type", "block_id", "text", "fields", "accessory", "expand"],
  context: ["type", "block_id", "elements"],
  divider: ["type", "block_id"],
  actions: ["type", "block_id", "elements"],
};

/** Checks one block; pushes problems and returns its text length. */
function checkBlock(
  block: unknown,
  where: string,
  problems: string[],
  blockIds: Set<string>,
): number {
  if (!block || typeof block !== "object") {
    return void problems.push(`${where} is not an object`), 0;
  }
  const b = block as Record<string, unknown>;
  const keys = BLOCK_KEYS[String(b.type)];
  if (!keys) return void problems.push(`${where} has unknown type "${b.type}"`), 0;
  const unknown = Object.keys(b).filter((k) => !keys.includes(k));
  if (unknown.length) problems.push(`${where} has unknown keys ${unknown.join(", ")}`);
  if (b.block_id !== undefined) {
    const id = String(b.block_id);
    if (id.length > 255) problems.push(`${where}/block_id is longer than 255`);
    if (blockIds.has(id)) problems.push(`${where}/block_id "${id}" is not unique`);
    blockIds.add(id);
  }
  const text = (value: unknown, at: string, max: number, only?: "plain_text"): number => {
    const t = value as Record<string, unknown> | undefined;
    if (!t || (t.type !== "plain_text" && t.type !== "mrkdwn")) {
      return void problems.push(`${at} must be a text object`), 0;
    }
    if (only && t.type !== only) problems.push(`${at} must be ${only}`);
    if (typeof t.text !== "string" || t.text.length === 0) {
      return void problems.push(`${at}/text must be a non-empty string`), 0;
    }
    if (t.text.length > max) problems.push(`${at}/text is longer than ${max}`);
    if (t.emoji !== undefined && t.type !== "plain_text") problems.push(`${at}/emoji on mrkdwn`);
    const extra = Object.keys(t).filter((k) => !["type", "text", "emoji", "verbatim"].includes(k));
    if (extra.length) problems.push(`${at} has unknown keys ${extra.join(", ")}`);
    return t.text.length;
  };
  switch (b.type) {
    case "header":
      return text(b.text, `${where}/text`, 150, "plain_text");
    case "section": {
      if (b.text === undefined && b.fields === undefined) {
        problems.push(`${where} needs text or fields`);
      }
      let n = b.text === undefined ? 0 : text(b.text, `${where}/text`, 3000);
      if (b.fields !== undefined) {
        if (!Array.isArray(b.fields) || b.fields.length === 0 || b.fields.length > 10) {
          problems.push(`${where}/fields must hold 1 to 10 items`);
        } else b.fields.forEach((f, i) => n += text(f, `${where}/fields/${i}`, 2000));
      }
      return n;
    }
    case "context": {
      if (!Array.isArray(b.elements) || b.elements.length === 0 || b.elements.length > 10) {
        return void problems.push(`${where}/elements must hold 1 to 10 items`), 0;
      }
      return b.elements.reduce((n, e, i) => n + text(e, `${where}/elements/${i}`, 3000), 0);
    }
    case "actions": {
      if (!Array.isArray(b.elements) || b.elements.length === 0 || b.elements.length > 25) {
        return void problems.push(`${where}/elements must hold 1 to 25 items`), 0;
      }
      return b.elements.reduce((n: number, e: Record<string, unknown>, i) => {
        const at = `${where}/elements/${i}`;
        if (e?.type !== "button") return void problems.push(`${at} must be a button`), n;
        if (typeof e.url === "string" && (e.url.length > 3000 || !URL.canParse(e.url))) {
          problems.push(`${at}/url must be a URL of at most 3000 characters`);
        }
        return n + text(e.text, `${at}/text`, 75, "plain_text");
      }, 0);
    }
    default:
      return 0;
  }
}
