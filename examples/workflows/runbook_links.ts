/**
 * Adds runbook and dashboard links to alerts, from their annotations or from URL patterns
 * built from their labels.
 *
 * ## Triggers
 * Every firing Prometheus alert.
 *
 * ## Params
 * - `runbookBaseUrl`: where runbooks live when the alert has no `runbook_url` annotation;
 *   the alert name is appended (default `https://runbooks.example.com/alerts`).
 * - `grafanaUrl`: Grafana base URL; when set, a namespace dashboard link is added.
 * - `dashboardUid`: uid of the Grafana dashboard to link (default `k8s-resources-pod`).
 *
 * ## Output
 * A "Links" enrichment with a links block: Runbook, Dashboard.
 *
 * @module
 */
import { defineWorkflow, links, z } from "@cano/sdk";

export default defineWorkflow({
  id: "runbook-links",
  description: "Adds runbook and dashboard links from the alert's annotations and labels",
  triggers: [{ on: "prometheus_alert" }],
  params: z.object({
    runbookBaseUrl: z.url().default("https://runbooks.example.com/alerts")
      .describe("Runbook location used when the alert has no runbook_url annotation"),
    grafanaUrl: z.url().optional().describe("Grafana base URL; enables the dashboard link"),
    dashboardUid: z.string().default("k8s-resources-pod").describe("Grafana dashboard uid"),
  }),
  run(ctx) {
    const { labels, annotations } = ctx.issue;
    const found: { title: string; url: string }[] = [];
    const alertName = labels.alertname ?? ctx.issue.aggregationKey;
    const runbook = annotations.runbook_url ??
      `${ctx.params.runbookBaseUrl.replace(/\/$/, "")}/${encodeURIComponent(alertName)}`;
    found.push({ title: "Runbook", url: runbook });

    const namespace = labels.namespace ?? ctx.issue.subject?.namespace;
    if (annotations.dashboard_url) {
      found.push({ title: "Dashboard", url: annotations.dashboard_url });
    } else if (ctx.params.grafanaUrl && namespace) {
      const url = new URL(
        `d/${ctx.params.dashboardUid}`,
        ctx.params.grafanaUrl.replace(/\/?$/, "/"),
      );
      url.searchParams.set("var-namespace", namespace);
      if (labels.pod) url.searchParams.set("var-pod", labels.pod);
      found.push({ title: "Dashboard", url: url.href });
    }

    const valid = found.filter((link) => {
      if (URL.canParse(link.url)) return true;
      ctx.log.warn("Skipping a link that is not a URL", { title: link.title });
      return false;
    });
    if (valid.length > 0) ctx.enrich("Links", [links(valid)]);
  },
});
