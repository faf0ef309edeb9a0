/**
 * Posts Issues to a Microsoft Teams channel or chat as Adaptive Cards, through a Workflows
 * (Power Automate) webhook.
 *
 * Office 365 connector URLs (`*.webhook.office.com`) are retired; create the URL with the
 * Teams Workflows template "Send webhook alerts to a channel" (or "Post to a channel when a
 * webhook request is received"), which posts every attachment of the request as a card.
 *
 * ## Config
 * - `name`: unique name routes refer to.
 * - `type`: `"teams"`.
 * - `url`: the workflow's HTTP trigger URL
 *   (`https://….environment.api.powerplatform.com/powerautomate/automations/direct/workflows/…/invoke?…&sig=…`).
 *   Its `sig` query parameter is the credential, so the whole URL is a secret: give it as
 *   `${TEAMS_WEBHOOK_URL}`. Dry-run and failure reasons show only its origin.
 * - `timeoutMs`: time allowed for the response (default 10000).
 * - `rateLimit`: default 4 per second, burst 4 (Teams throttles webhooks above 4 requests
 *   per second).
 *
 * ## Limits
 * - A message is at most 28,672 bytes ([Teams connector
 *   limits](https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using);
 *   the flow fails with "MessageSizeExceeded" above). Cano measures the UTF-8 bytes of the
 *   posted JSON and stays under {@linkcode TEAMS_BYTE_BUDGET}, because the flow measures its
 *   own, slightly larger copy. Elements that do not fit are cut (text, with a visible
 *   "cut to fit" mark) or left out, and a note says how many.
 * - Adaptive Card schema 1.4 (Teams renders up to 1.5): no `Table` element, so tables become
 *   a `FactSet` (two columns) or a monospace `TextBlock`. At most 50 table rows, 60 lines of
 *   logs (the last ones), JSON or diff per block; PNG images up to 8 KiB are inlined as data
 *   URIs (they count against the size), larger ones are described.
 *
 * ## Responses
 * 202 (or 200) is success: the flow runs later, and a card it cannot post is reported only in
 * the flow's run history. 429 and 5xx are retried after `Retry-After`; other 4xx are
 * permanent.
 *
 * ## Threading
 * None: Workflows webhooks cannot reply to or update a message, so every send (a repeat, the
 * resolution) posts a new card whose header shows the status.
 *
 * ## Example payload
 * ```http
 * POST https://prod-12.westeurope.environment.api.powerplatform.com/powerautomate/automations/direct/workflows/8c1d…/triggers/manual/paths/invoke?api-version=1&sp=***&sv=1.0&sig=***
 * content-type: application/json
 *
 * {"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive",
 *  "contentUrl":null,"content":{"$schema":"http://adaptivecards.io/schemas/adaptive-card.json",
 *  "type":"AdaptiveCard","version":"1.4","msteams":{"width":"Full"},"body":[{"type":"TextBlock",
 *  "text":"🔥 FIRING: Pod OOMKilled","wrap":true,"weight":"Bolder","size":"Large",
 *  "color":"Attention"},{"type":"FactSet","facts":[...]}, ...],"actions":[...]}}]}
 * ```
 *
 * @example What dry-run prints
 * ```ts
 * import teams, { TeamsConfigSchema } from "./teams.ts";
 * import { IssueSchema } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * const config = TeamsConfigSchema.parse({
 *   name: "ops-teams", type: "teams",
 *   url: "https://prod-12.westeurope.environment.api.powerplatform.com/powerautomate/automations/direct/workflows/8c1d/triggers/manual/paths/invoke?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=s3cr3t-sig",
 * });
 * const issue = IssueSchema.parse({
 *   id: "7d0c", fingerprint: "3f2a", aggregationKey: "Oom", type: "alert", source: "prometheus",
 *   title: "Pod OOMKilled", severity: "HIGH", status: "firing",
 *   startsAt: "2026-03-01T10:00:00Z", createdAt: "2026-03-01T10:00:01Z",
 * });
 * const [payload] = teams.render(issue, config);
 * const request = teams.describe(payload!, config);
 * assert.ok("url" in request && !request.url.includes("s3cr3t-sig"));
 * assert.match(request.url, /sig=\*\*\*$/);
 * assert.equal(JSON.parse(request.body).attachments[0].content.version, "1.4");
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
import { httpAttempt, maskQuery } from "./_http.ts";
import { renderTeamsMessage, type TeamsMessage } from "./_adaptive_card.ts";

export { TEAMS_BYTE_BUDGET, TEAMS_MAX_BYTES, type TeamsMessage } from "./_adaptive_card.ts";

/** Config of a Teams destination. */
export const TeamsConfigSchema = z.strictObject({
  // Teams throttles webhook clients above four requests per second.
  ...destinationBaseShape({ rateLimit: { perSecond: 4, burst: 4 } }),
  type: z.literal("teams"),
  url: z.url({
    protocol: /^https?$/,
    error: "Teams url must be the http(s) URL of a Workflows webhook trigger",
  }).refine((url) => !new URL(url).hostname.endsWith(".webhook.office.com"), {
    error: "Teams url must be a Workflows URL: Office 365 connector URLs are retired",
  }).describe("Workflows webhook URL; its sig parameter is a secret, give it as ${TEAMS_URL}"),
});
/** Config of a Teams destination, defaults applied. */
export type TeamsConfig = z.infer<typeof TeamsConfigSchema>;

/** The Teams destination. */
const teams = defineDestination({
  type: "teams",
  config: TeamsConfigSchema,
  render(issue: Issue, _config: TeamsConfig): TeamsMessage[] {
    return [renderTeamsMessage(issue)];
  },
  describe(payload: TeamsMessage, config: TeamsConfig): OutboundRequest {
    return { ...request(payload, config), url: maskQuery(config.url, ["api-version", "sv"]) };
  },
  send: sendTeams,
});

export default teams;

function request(payload: TeamsMessage, config: TeamsConfig): OutboundRequest {
  return {
    method: "POST",
    url: config.url,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(payload),
  };
}

async function sendTeams(
  payload: TeamsMessage,
  config: TeamsConfig,
  options: SendOptions,
): Promise<SendResult> {
  const answer = await httpAttempt(
    {
      label: `Teams "${config.name}"`,
      timeoutMs: config.timeoutMs,
      secrets: [config.url, new URL(config.url).href, ...queryValues(config.url)],
    },
    request(payload, config),
    options,
  );
  return answer.ok ? { ok: true } : answer.failure;
}

function queryValues(url: string): string[] {
  return [...new URL(url).searchParams.values()].filter((v) => v.length >= 6);
}
