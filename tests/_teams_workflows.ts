/**
 * A local Power Automate Workflows webhook ("Send webhook alerts to a channel") for tests.
 * It checks what the real flow checks, but answers at once, so a bad card fails the test
 * instead of failing later in the flow's run history.
 *
 * - `sig` must match: else 401 `DirectApiInvalidAuthorizationSignature`.
 * - The body is at most 28,672 UTF-8 bytes: else 413 `MessageSizeExceeded` with the flow's
 *   text "… max allowed size is 28672 bytes" (MicrosoftDocs/msteams-docs#11274).
 * - The envelope is `{"type":"message","attachments":[…]}` with no other keys: a body
 *   without `attachments` gets the flow's `foreach … is of type 'Null'` error
 *   (MicrosoftDocs/msteams-docs#11302).
 * - Every attachment is `application/vnd.microsoft.card.adaptive` and its content passes
 *   the Adaptive Card 1.4 schema (`tests/_adaptive_card_schema.ts`): else 400
 *   `InvalidRequestContent` / `TriggerInputSchemaMismatch` with the schema errors.
 * - More than `maxPerSecond` requests within a second: 429 with `Retry-After: 1`, as Teams
 *   throttles webhook clients above 4 requests per second.
 * - Accepted: 202 with an empty body, like the Workflows trigger.
 *
 * @module
 */
import { AdaptiveCardSchema } from "./_adaptive_card_schema.ts";

/** Bytes of a message the flow accepts. */
export const WORKFLOWS_MAX_BYTES = 28_672;

/** Options of {@linkcode startTeamsWorkflows}. */
export interface TeamsWorkflowsOptions {
  /** Accepted `sig`. @default "test-sig-0123456789" */
  sig?: string;
  /** Requests allowed per rolling second before 429. @default 4 */
  maxPerSecond?: number;
}

/** A running local workflow. */
export interface TeamsWorkflows extends AsyncDisposable {
  /** The full trigger URL, signature included. */
  url: string;
  /** Every accepted message body, parsed. */
  posted: Record<string, unknown>[];
  /** Every request: status and error code (or "Accepted"). */
  calls: { status: number; code: string; bytes: number }[];
  /** Queues answers for the next requests, in order. */
  failNext(...answers: { status: number; retryAfter?: string; body?: string }[]): void;
}

/**
 * Starts the workflow on 127.0.0.1 and a free port.
 *
 * @param options The signature and the throttle.
 * @returns The running workflow; dispose it to stop.
 */
export function startTeamsWorkflows(
  { sig = "test-sig-0123456789", maxPerSecond = 4 }: TeamsWorkflowsOptions = {},
): TeamsWorkflows {
  const posted: Record<string, unknown>[] = [];
  const calls: TeamsWorkflows["calls"] = [];
  const forced: { status: number; retryAfter?: string; body?: string }[] = [];
  const recent: number[] = [];
  const path = "/powerautomate/automations/direct/workflows/0f3c2b1a/triggers/manual/paths/invoke";

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const bytes = new Uint8Array(await req.arrayBuffer());
    const answer = (status: number, code: string, message?: string, headers = {}) => {
      calls.push({ status, code, bytes: bytes.length });
      return message === undefined
        ? new Response(null, { status, headers })
        : Response.json({ error: { code, message } }, { status, headers });
    };
    const next = forced.shift();
    if (next) {
      calls.push({ status: next.status, code: "forced", bytes: bytes.length });
      return new Response(next.body ?? "", {
        status: next.status,
        headers: next.retryAfter ? { "retry-after": next.retryAfter } : {},
      });
    }
    const now = Date.now();
    while (recent.length > 0 && recent[0]! <= now - 1000) recent.shift();
    recent.push(now);
    if (recent.length > maxPerSecond) {
      return answer(
        429,
        "TooManyRequests",
        "Rate limit is exceeded. Try again in 1 seconds.",
        { "retry-after": "1" },
      );
    }
    const url = new URL(req.url);
    if (req.method !== "POST" || url.pathname !== path) {
      return answer(404, "TriggerNotFound", `The trigger at '${url.pathname}' was not found.`);
    }
    if (url.searchParams.get("sig") !== sig) {
      return answer(
        401,
        "DirectApiInvalidAuthorizationSignature",
        "The provided authentication signature is not valid.",
      );
    }
    if (bytes.length > WORKFLOWS_MAX_BYTES) {
      return answer(
        413,
        "MessageSizeExceeded",
        `Message size ${bytes.length} bytes exceeds the limit: max allowed size is ` +
          `${WORKFLOWS_MAX_BYTES} bytes.`,
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    } catch (error) {
      return answer(
        400,
        "InvalidRequestContent",
        `The request content is not valid JSON: ${error}`,
      );
    }
    const problem = checkMessage(body);
    if (problem) return answer(400, problem.code, problem.message);
    posted.push(body as Record<string, unknown>);
    return answer(202, "Accepted");
  });

  return {
    url:
      `http://127.0.0.1:${server.addr.port}${path}?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=${sig}`,
    posted,
    calls,
    failNext(...answers) {
      forced.push(...answers);
    },
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

/** Checks the envelope and every card; returns the flow's error, or nothing. */
function checkMessage(body: unknown): { code: string; message: string } | undefined {
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    return { code: "InvalidRequestContent", message: "The request body must be a JSON object." };
  }
  const message = body as Record<string, unknown>;
  if (!Array.isArray(message.attachments)) {
    return {
      code: "InvalidTemplate",
      message: "The execution of template action 'Send_each_adaptive_card' failed: the " +
        "result of the evaluation of 'foreach' expression " +
        "'@triggerOutputs()?['body']?['attachments']' is of type 'Null'. " +
        "The result must be a valid array.",
    };
  }
  const extra = Object.keys(message).filter((k) => k !== "type" && k !== "attachments");
  if (message.type !== "message" || extra.length > 0) {
    return mismatch(`Property 'type' must be 'message'; unknown properties: ${extra.join(", ")}`);
  }
  for (const [i, attachment] of message.attachments.entries()) {
    const a = attachment as Record<string, unknown> | null;
    const unknown = Object.keys(a ?? {}).filter((k) =>
      !["contentType", "contentUrl", "content", "name"].includes(k)
    );
    if (unknown.length > 0) {
      return mismatch(`attachments[${i}] has unknown properties: ${unknown.join(", ")}`);
    }
    if (a?.contentType !== "application/vnd.microsoft.card.adaptive") {
      return {
        code: "BadRequest",
        message: `attachments[${i}].contentType '${a?.contentType}' is not supported: ` +
          "only application/vnd.microsoft.card.adaptive cards can be posted.",
      };
    }
    const parsed = AdaptiveCardSchema.safeParse(a.content);
    if (!parsed.success) {
      const details = parsed.error.issues.slice(0, 5)
        .map((issue) => `${issue.message} Path '${["content", ...issue.path].join(".")}'.`)
        .join(" ");
      return mismatch(`attachments[${i}]: ${details}`);
    }
  }
  return undefined;
}

function mismatch(details: string): { code: string; message: string } {
  return {
    code: "TriggerInputSchemaMismatch",
    message: "The input body for trigger 'manual' of type 'Request' did not match its " +
      `schema definition. Error details: '${details}'.`,
  };
}
