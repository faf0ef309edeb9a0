import assert from "node:assert/strict";
import { alertIssue } from "../tests/_issue.ts";
import { deliveryConfigs, routeIssue, RoutingSchema } from "./routing.ts";
import { CanoConfigSchema } from "./config/schema.ts";

const routing = RoutingSchema.parse({
  routes: [
    { name: "silence-dev", match: { namespace: "dev-*" }, destinations: ["devnull"] },
    {
      name: "team-shop-high",
      match: { namespace: ["shop", "shop-*"], severity: ["HIGH"] },
      destinations: ["pager", "shop-chat"],
      continue: true,
    },
    { name: "team-shop", match: { labels: { team: "shop" } }, destinations: ["shop-chat"] },
    { name: "audit", match: { source: "prometheus" }, destinations: ["audit"] },
  ],
  default: { destinations: ["console"] },
});

Deno.test("routeIssue() sends HIGH issues of team shop to pager and chat, then continues", () => {
  const issue = alertIssue({ severity: "HIGH", labels: { namespace: "shop", team: "shop" } });
  const decision = routeIssue(routing, issue);
  assert.deepEqual(decision.routes, ["team-shop-high", "team-shop"]);
  assert.deepEqual(decision.destinations, ["pager", "shop-chat"]);
});

Deno.test("routeIssue() stops at the first match without continue", () => {
  const decision = routeIssue(
    routing,
    alertIssue({ labels: { namespace: "dev-1", team: "shop" }, subject: undefined }),
  );
  assert.deepEqual(decision.destinations, ["devnull"]);
  assert.deepEqual(decision.routes, ["silence-dev"]);
  assert.deepEqual(decision.matched.map((m) => m.route?.name), ["silence-dev"]);
});

Deno.test("routeIssue() uses the default route when nothing matches", () => {
  const decision = routeIssue(
    routing,
    alertIssue({ source: "kubernetes", labels: {}, subject: undefined }),
  );
  assert.deepEqual(decision.destinations, ["console"]);
  assert.deepEqual(decision.routes, ["default"]);
  assert.deepEqual(decision.matched, [{ route: undefined, destinations: ["console"] }]);
});

Deno.test("routeIssue() matches by enriching workflow", () => {
  const table = RoutingSchema.parse({
    routes: [{ name: "oom", match: { workflow: "oom-*" }, destinations: ["mem"] }],
    default: { destinations: ["console"] },
  });
  const enriched = alertIssue({ enrichments: [{ workflow: "oom-context", blocks: [] }] });
  assert.deepEqual(routeIssue(table, enriched).destinations, ["mem"]);
  assert.deepEqual(routeIssue(table, alertIssue()).destinations, ["console"]);
});

Deno.test("RoutingSchema rejects a route without destinations", () => {
  const result = RoutingSchema.safeParse({
    routes: [{ name: "x", destinations: [] }],
    default: { destinations: [] },
  });
  assert.equal(result.success, false);
  assert.deepEqual(result.error?.issues[0]?.path, ["routes", 0, "destinations"]);
});

Deno.test("routeIssue() matches the team label and names override targets <destination>@<route>", () => {
  const table = RoutingSchema.parse({
    routes: [{
      name: "payments",
      match: { team: "pay*" },
      destinations: ["audit", { name: "slack", override: { channel: "#payments" } }],
    }],
    default: { destinations: ["slack"] },
  });
  const decision = routeIssue(table, alertIssue({ labels: { team: "payments" } }));
  assert.deepEqual(decision.destinations, ["audit", "slack@payments"]);
  assert.deepEqual(routeIssue(table, alertIssue({ labels: { team: "search" } })).destinations, [
    "slack",
  ]);
});

const SLACK = { name: "slack", type: "slack", token: "xoxb-1", channel: "#alerts" };

Deno.test("CanoConfigSchema checks route overrides with the destination's own schema", () => {
  const result = CanoConfigSchema.safeParse({
    destinations: [SLACK],
    routing: {
      routes: [{
        name: "payments",
        destinations: [{ name: "slack", override: { channel: "no spaces allowed" } }],
      }],
      default: { destinations: ["slack"] },
    },
  });
  assert.equal(result.success, false);
  const problem = result.error!.issues.find((i) => i.path.includes("override"));
  assert.deepEqual(problem?.path, [
    "routing",
    "routes",
    0,
    "destinations",
    0,
    "override",
    "channel",
  ]);
  assert.match(
    problem!.message,
    /Slack channel must start with # .*override of destination "slack"/,
  );
});

Deno.test("CanoConfigSchema rejects an override of type and a repeated route name", () => {
  const result = CanoConfigSchema.safeParse({
    destinations: [SLACK],
    routing: {
      routes: [
        { name: "a", destinations: [{ name: "slack", override: { type: "webhook" } }] },
        { name: "a", destinations: ["slack"] },
      ],
      default: { destinations: ["slack"] },
    },
  });
  const messages = result.error?.issues.map((i) => i.message) ?? [];
  assert.ok(messages.includes("An override may not change name or type"), messages.join("; "));
  assert.ok(messages.includes('Route name "a" is used twice'), messages.join("; "));
});

Deno.test("deliveryConfigs() derives one destination per override, keeping the rest of the base", () => {
  const config = CanoConfigSchema.parse({
    destinations: [SLACK],
    routing: {
      routes: [{
        name: "payments",
        destinations: [{ name: "slack", override: { channel: "#payments", mentions: ["here"] } }],
      }],
      default: { destinations: ["slack"] },
    },
  });
  const { configs, problems } = deliveryConfigs(config.destinations, config.routing.routes);
  assert.deepEqual(problems, []);
  assert.deepEqual(configs.map((c) => c.name), ["slack", "slack@payments"]);
  const derived = configs[1]!;
  assert.ok(derived.type === "slack");
  assert.equal(derived.channel, "#payments");
  assert.deepEqual(derived.mentions, ["here"]);
  assert.equal(derived.token, "xoxb-1");
});
