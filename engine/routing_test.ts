import assert from "node:assert/strict";
import { alertIssue } from "../tests/_issue.ts";
import { routeIssue, RoutingSchema } from "./routing.ts";

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
  assert.deepEqual(decision, { destinations: ["devnull"], routes: ["silence-dev"] });
});

Deno.test("routeIssue() uses the default route when nothing matches", () => {
  const decision = routeIssue(
    routing,
    alertIssue({ source: "kubernetes", labels: {}, subject: undefined }),
  );
  assert.deepEqual(decision, { destinations: ["console"], routes: ["default"] });
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
