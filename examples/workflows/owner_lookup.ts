/**
 * Looks up who owns the alerting service in a team directory API and mentions them.
 *
 * ## Triggers
 * Firing Prometheus alerts.
 *
 * ## Params
 * - `directoryUrl`: base URL of the team directory (default
 *   `https://teams.example.com/api/v1`). Its host must be in this workflow's
 *   `permissions.http` and in the operator's `capabilities.http.allowHosts`.
 *
 * The service is the first of the labels `service`, `app`, `app.kubernetes.io/name`, then
 * the subject's name. The directory answers `GET /services/<name>` with
 * `{ "team": "...", "slackChannel": "#...", "oncall": { "name": "...", "handle": "..." } }`.
 *
 * ## Output
 * An "Owner" enrichment: a table (team, channel, on call) and a line mentioning them, or a
 * note when the directory does not know the service.
 *
 * @module
 */
import { defineWorkflow, markdown, table, type WorkflowLogger, z } from "@cano/sdk";

const OwnerSchema = z.object({
  team: z.string().min(1),
  slackChannel: z.string().optional(),
  oncall: z.object({ name: z.string(), handle: z.string().optional() }).optional(),
});

export default defineWorkflow({
  id: "owner-lookup",
  description: "Adds the owning team and on-call engineer from the team directory",
  triggers: [{ on: "prometheus_alert" }],
  permissions: { http: ["teams.example.com"] },
  params: z.object({
    directoryUrl: z.url().default("https://teams.example.com/api/v1")
      .describe("Team directory base URL; its host must be allowed"),
  }),
  async run(ctx) {
    const { labels } = ctx.issue;
    const service = labels.service ?? labels.app ?? labels["app.kubernetes.io/name"] ??
      ctx.issue.subject?.name;
    if (!service) {
      ctx.log.info("No service label; skipping the owner lookup");
      return;
    }
    const base = ctx.params.directoryUrl.replace(/\/$/, "");
    const response = await ctx.http.fetch(`${base}/services/${encodeURIComponent(service)}`, {
      headers: { accept: "application/json" },
    });
    if (response.status === 404) {
      ctx.enrich("Owner", [markdown(`No owner is registered for service \`${service}\`.`)]);
      return;
    }
    if (response.status !== 200) {
      throw new Error(
        `Cannot look up the owner of "${service}": the directory answered HTTP ${response.status}`,
      );
    }
    const owner = OwnerSchema.safeParse(parseJson(response.body, ctx.log));
    if (!owner.success) {
      throw new Error(
        `Cannot look up the owner of "${service}": the directory's answer has an unexpected shape`,
      );
    }
    const { team, slackChannel, oncall } = owner.data;
    const mentions = [oncall?.handle ? `@${oncall.handle}` : undefined, slackChannel].filter(
      Boolean,
    );
    ctx.enrich("Owner", [
      table(["Role", "Owner"], [
        ["Team", team],
        ["Channel", slackChannel ?? "-"],
        ["On call", oncall ? `${oncall.name}${oncall.handle ? ` (@${oncall.handle})` : ""}` : "-"],
      ]),
      ...(mentions.length > 0 ? [markdown(`cc ${mentions.join(" ")}`)] : []),
    ]);
  },
});

function parseJson(text: string, log: WorkflowLogger): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    log.debug("The directory's answer is not JSON", { error: String(error) });
    return undefined;
  }
}
