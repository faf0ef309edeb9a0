/**
 * POSTs each Issue as JSON to any HTTP endpoint, optionally signed per Standard Webhooks.
 *
 * ## Config
 * - `name`: unique name routes refer to.
 * - `type`: `"webhook"`.
 * - `url`: `http` or `https` endpoint.
 * - `headers`: extra request headers (e.g. `authorization`); never logged.
 * - `timeoutMs`: time allowed for the whole response (default 10000).
 * - `signingSecret`: when set, requests carry `webhook-timestamp` and
 *   `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">` as
 *   [Standard Webhooks](https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md)
 *   specifies. Give it as `whsec_<base64>` (the key is the decoded bytes) or as raw text
 *   (the key is its UTF-8 bytes).
 *
 * ## Body
 * Stable, versioned: `{"version":"1","issue":{...}}` (see {@linkcode WebhookBody}).
 * `webhook-id` is `msg_<issue id>`, the same on every retry, so receivers can drop
 * duplicates. The signature is computed when sending (it includes the time), so dry-run
 * shows placeholders for `webhook-timestamp` and `webhook-signature`.
 *
 * ## Limits
 * None enforced; Standard Webhooks recommends bodies under about 20 KB.
 *
 * ## Responses
 * 2xx is success. 429 and 5xx are retried, honouring `Retry-After` (seconds or HTTP date);
 * so are network errors and timeouts. Redirects are not followed, and they and every other
 * 4xx are permanent failures whose reason holds the status and a short body excerpt.
 *
 * ## Threading
 * None.
 *
 * ## Example payload
 * ```http
 * POST https://hooks.example.com/cano
 * content-type: application/json
 * webhook-id: msg_7d0c
 * webhook-timestamp: 1772359925
 * webhook-signature: v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=
 *
 * {"version":"1","issue":{"id":"7d0c","fingerprint":"3f2a9c1b7d4e8a60", ...}}
 * ```
 *
 * @example What dry-run prints for a signed webhook
 * ```ts
 * import webhook, { WebhookConfigSchema } from "./webhook.ts";
 * import { IssueSchema } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * const config = WebhookConfigSchema.parse({
 *   name: "ops-hook", type: "webhook", url: "https://hooks.example.com/cano",
 *   signingSecret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
 * });
 * const issue = IssueSchema.parse({
 *   id: "7d0c", fingerprint: "3f2a", aggregationKey: "Oom", type: "alert", source: "prometheus",
 *   title: "Pod OOMKilled", severity: "HIGH", status: "firing",
 *   startsAt: "2026-03-01T10:00:00Z", createdAt: "2026-03-01T10:00:01Z",
 * });
 * const [payload] = webhook.render(issue, config);
 * const request = webhook.describe(payload!, config);
 * assert.ok("url" in request);
 * assert.equal(request.headers["webhook-id"], "msg_7d0c");
 * assert.equal(JSON.parse(request.body).version, "1");
 * ```
 *
 * @module
 */
import { z } from "zod";
import type { Issue } from "@cano/sdk";
import {
  defineDestination,
  destinationBaseShape,
  type OutboundRequest,
  type SendOptions,
  type SendResult,
} from "./destination.ts";
import { httpAttempt } from "./_http.ts";
/** Headers Cano sets itself, which config may not override. */
export const RESERVED_HEADERS: readonly string[] = [
  "content-length",
  "host",
  "webhook-id",
  "webhook-signature",
  "webhook-timestamp",
];

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const WHSEC_PREFIX = "whsec_";

/** Config of a webhook destination. */
export const WebhookConfigSchema = z.strictObject({
  ...destinationBaseShape(),
  type: z.literal("webhook"),
  url: z.url({ protocol: /^https?$/, error: "Webhook url must be an http or https URL" })
    .describe("Endpoint the Issue is POSTed to"),
  headers: z.record(
    z.string().regex(HEADER_NAME, { error: "Header name must be an HTTP token" }),
    z.string().regex(/^[^\r\n]*$/, { error: "Header value must not contain a line break" }),
  ).refine((h) => !Object.keys(h).some((k) => RESERVED_HEADERS.includes(k.toLowerCase())), {
    error: `Headers may not set ${RESERVED_HEADERS.join(", ")}: Cano sets them`,
  }).default({}).describe("Extra request headers; never logged"),
  includeRaw: z.boolean().default(false).describe(
    "Send the original alert or event as issue.raw (it repeats the labels and annotations)",
  ),
  signingSecret: z.string().min(1).refine(
    (s) => !s.startsWith(WHSEC_PREFIX) || decodeBase64(s.slice(WHSEC_PREFIX.length)) !== undefined,
    { error: "Signing secret starting with whsec_ must continue with base64" },
  ).optional().describe("Standard Webhooks secret, whsec_<base64> or raw text"),
});
/** Config of a webhook destination, defaults applied. */
export type WebhookConfig = z.infer<typeof WebhookConfigSchema>;

/** The JSON body every webhook request carries. New fields may be added; none removed. */
export interface WebhookBody {
  /** Body format version; changes only when a field changes meaning or goes away. */
  version: "1";
  /** The Issue, as the SDK's `Issue` schema describes it. */
  issue: Issue;
}

/** One request's worth of data: the idempotency id and the exact body bytes. */
export interface WebhookPayload {
  /** `webhook-id`, stable across retries. */
  id: string;
  /** The JSON body text of a {@linkcode WebhookBody}. */
  body: string;
}

/** The webhook destination. */
const webhook = defineDestination({
  type: "webhook",
  config: WebhookConfigSchema,
  render(issue: Issue, config: WebhookConfig): WebhookPayload[] {
    const body: WebhookBody = {
      version: "1",
      issue: config.includeRaw ? issue : withoutRaw(issue),
    };
    return [{ id: `msg_${encodeURIComponent(issue.id)}`, body: JSON.stringify(body) }];
  },
  describe(payload: WebhookPayload, config: WebhookConfig): OutboundRequest {
    const headers = baseHeaders(payload, config);
    if (config.signingSecret !== undefined) {
      headers["webhook-timestamp"] = "<unix seconds, set when sent>";
      headers["webhook-signature"] = "v1,<HMAC-SHA256, computed when sent>";
    }
    return { method: "POST", url: config.url, headers, body: payload.body };
  },
  send: sendWebhook,
});

export default webhook;

function withoutRaw(issue: Issue): Issue {
  const { raw: _raw, ...rest } = issue;
  return rest;
}

async function sendWebhook(
  payload: WebhookPayload,
  config: WebhookConfig,
  options: SendOptions,
): Promise<SendResult> {
  const headers = baseHeaders(payload, config);
  if (config.signingSecret !== undefined) {
    const timestamp = String(Math.floor((options.now ?? Date.now)() / 1000));
    headers["webhook-timestamp"] = timestamp;
    headers["webhook-signature"] = await sign(config.signingSecret, payload, timestamp);
  }
  const answer = await httpAttempt(
    { label: `webhook "${config.name}"`, timeoutMs: config.timeoutMs, secrets: secretsOf(config) },
    { method: "POST", url: config.url, headers, body: payload.body },
    options,
  );
  return answer.ok ? { ok: true } : answer.failure;
}

function baseHeaders(payload: WebhookPayload, config: WebhookConfig): Record<string, string> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  for (const [name, value] of Object.entries(config.headers)) headers[name.toLowerCase()] = value;
  headers["webhook-id"] = payload.id;
  return headers;
}

/** `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, as Standard Webhooks v1 defines it. */
async function sign(secret: string, payload: WebhookPayload, timestamp: string): Promise<string> {
  const encoder = new TextEncoder();
  const keyBytes = secret.startsWith(WHSEC_PREFIX)
    ? decodeBase64(secret.slice(WHSEC_PREFIX.length))!
    : encoder.encode(secret);
  const key = await crypto.subtle.importKey(
    "raw",
    keyBytes,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const content = encoder.encode(`${payload.id}.${timestamp}.${payload.body}`);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, content));
  return `v1,${btoa(String.fromCharCode(...mac))}`;
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> | undefined {
  try {
    const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
    return bytes.length > 0 ? bytes : undefined;
  } catch (_error) {
    // Not base64: the schema turns this into a config problem.
    return undefined;
  }
}

/** The URL (its path and query may hold a token), header values and the signing secret. */
function secretsOf(config: WebhookConfig): string[] {
  return [
    config.url,
    new URL(config.url).href,
    ...Object.values(config.headers),
    ...(config.signingSecret === undefined ? [] : [config.signingSecret]),
  ];
}
