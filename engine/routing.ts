/**
 * Routing: which destinations receive an issue. Routes are tried in order; the first match
 * wins unless it sets `continue: true`; when none matches, the default route applies.
 *
 * A route may send to a destination with some of its settings replaced (another Slack
 * channel, another PagerDuty routing key): `{ name: slack, override: { channel: "#team-a" } }`.
 * Each such entry becomes a destination of its own named `<destination>@<route>`, with its
 * own queue, rate limit, threads and dead letters, so team A's channel never waits behind
 * team B's.
 *
 * @module
 */
import { type Issue, matchesAny, SeveritySchema } from "@cano/sdk";
import { z } from "zod";
import { DurationSchema } from "./config/duration.ts";
import { type DestinationConfig, getDestination } from "./destinations/mod.ts";

const Patterns = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

/** What a route matches; every given field must match (globs with `*` and `?`). */
export const RouteMatchSchema = z.strictObject({
  alertname: Patterns.optional().describe("Alert name (or aggregation key) glob(s)"),
  severity: z.union([SeveritySchema, z.array(SeveritySchema).min(1)]).optional(),
  namespace: Patterns.optional().describe("Namespace glob(s)"),
  source: Patterns.optional().describe("prometheus, kubernetes, helm, manual..."),
  team: Patterns.optional().describe("Team glob(s), matched against the issue's `team` label"),
  type: z.enum(["alert", "event", "change", "manual"]).optional(),
  labels: z.record(z.string(), Patterns).optional().describe("Label globs; all must match"),
  workflow: Patterns.optional().describe("Matches when a workflow with this id enriched the issue"),
});
/** What a route matches. */
export type RouteMatch = z.infer<typeof RouteMatchSchema>;

/** A destination a route sends to: its name, or its name and settings replaced for this route. */
export const RouteDestinationSchema = z.union([
  z.string().min(1),
  z.strictObject({
    name: z.string().min(1).describe("Destination name"),
    override: z.record(z.string(), z.unknown()).refine(
      (o) => !("name" in o) && !("type" in o),
      { error: "An override may not change name or type" },
    ).describe('Settings replaced for this route, e.g. { channel: "#team-a" }'),
  }),
]);
/** A destination a route sends to. */
export type RouteDestination = z.infer<typeof RouteDestinationSchema>;

/** Folding a burst of similar issues into one summary message. */
export const GroupingSchema = z.strictObject({
  by: z.array(z.string().min(1)).min(1).default(["alertname", "namespace"]).describe(
    "Label names whose values make issues similar (alertname falls back to the aggregation key)",
  ),
  window: DurationSchema.default(30_000).describe(
    "How long the first issue of a group waits for similar ones",
  ),
  min: z.number().int().min(2).default(3).describe(
    "Issues needed for a summary; fewer are delivered one by one",
  ),
});
/** Grouping settings. */
export type Grouping = z.infer<typeof GroupingSchema>;

/** One route. */
export const RouteSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, {
    error: "Route name must be letters, digits, '.', '-' or '_', e.g. \"team-payments\"",
  }),
  match: RouteMatchSchema.default({}),
  destinations: z.array(RouteDestinationSchema).min(1, "Expected at least one destination"),
  continue: z.boolean().default(false).describe("Keep evaluating later routes after a match"),
  repeatInterval: DurationSchema.optional().describe(
    "Send an unchanged issue (same fingerprint and status) again only after this long",
  ),
  group: GroupingSchema.optional().describe("Fold bursts of similar issues into one summary"),
});
/** One route. */
export type Route = z.infer<typeof RouteSchema>;

/** The routing table. */
export const RoutingSchema = z.strictObject({
  routes: z.array(RouteSchema).default([]),
  default: z.strictObject({ destinations: z.array(z.string().min(1)) }).describe(
    "Where issues go when no route matches",
  ),
});
/** The routing table. */
export type Routing = z.infer<typeof RoutingSchema>;

/** Where an issue goes, and why. */
export interface RouteDecision {
  /** Destination names, each once, in route order (`<destination>@<route>` for overrides). */
  destinations: string[];
  /** Names of the routes that matched; `["default"]` when none did. */
  routes: string[];
  /** Each matched route and the destinations it chose, for repeat and grouping rules. */
  matched: { route: Route | undefined; destinations: string[] }[];
}

/**
 * The delivery name of a route's destination entry.
 *
 * @param entry The entry.
 * @param routeName The route's name.
 * @returns The name, or `<name>@<route>` when the entry overrides settings.
 * @example
 * ```ts
 * import { targetName } from "./routing.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(targetName("slack", "team-a"), "slack");
 * assert.equal(targetName({ name: "slack", override: { channel: "#a" } }, "team-a"), "slack@team-a");
 * ```
 */
export function targetName(entry: RouteDestination, routeName: string): string {
  return typeof entry === "string" ? entry : `${entry.name}@${routeName}`;
}

/**
 * Every destination config deliveries use: the configured ones, then one per route entry
 * with an override, validated by its destination's schema.
 *
 * @param destinations The configured destinations.
 * @param routes The routes.
 * @returns The configs, and problems with the path of each bad override.
 * @example
 * ```ts
 * import { deliveryConfigs } from "./routing.ts";
 * import { DestinationConfigSchema } from "./destinations/mod.ts";
 * import assert from "node:assert/strict";
 *
 * const hook = DestinationConfigSchema.parse({ name: "hook", type: "webhook", url: "https://a.example/x" });
 * const { configs, problems } = deliveryConfigs([hook], [{
 *   name: "team-a", match: {}, continue: false,
 *   destinations: [{ name: "hook", override: { url: "https://b.example/y" } }],
 * }]);
 * assert.deepEqual(problems, []);
 * assert.equal(configs[1]?.name, "hook@team-a");
 * assert.equal(configs[1]?.type === "webhook" && configs[1].url, "https://b.example/y");
 * ```
 */
export function deliveryConfigs(
  destinations: readonly DestinationConfig[],
  routes: readonly Route[],
): { configs: DestinationConfig[]; problems: { path: (string | number)[]; message: string }[] } {
  const configs = [...destinations];
  const problems: { path: (string | number)[]; message: string }[] = [];
  routes.forEach((route, r) =>
    route.destinations.forEach((entry, d) => {
      if (typeof entry === "string") return;
      const base = destinations.find((c) => c.name === entry.name);
      if (base === undefined) return; // Reported as an unknown destination.
      const parsed = getDestination(base.type).config.safeParse({
        ...base,
        ...entry.override,
        name: base.name,
      });
      if (!parsed.success) {
        for (const issue of parsed.error.issues) {
          problems.push({
            path: [
              "routing",
              "routes",
              r,
              "destinations",
              d,
              "override",
              ...issue.path.map(
                (p) => typeof p === "symbol" ? String(p) : p,
              ),
            ],
            message: `${issue.message} (override of destination "${base.name}")`,
          });
        }
        return;
      }
      configs.push({ ...parsed.data, name: targetName(entry, route.name) });
    })
  );
  return { configs, problems };
}

/**
 * Tells whether an issue matches a route's `match`.
 *
 * @param match The route's match block.
 * @param issue The issue, enriched.
 * @returns Whether every given field matches.
 */
export function matchesRoute(match: RouteMatch, issue: Issue): boolean {
  const namespace = issue.subject?.namespace ?? issue.labels["namespace"];
  const severity = match.severity;
  return matchesAny(issue.labels["alertname"] ?? issue.aggregationKey, match.alertname) &&
    (severity === undefined ||
      (typeof severity === "string"
        ? severity === issue.severity
        : severity.includes(issue.severity))) &&
    matchesAny(namespace, match.namespace) &&
    matchesAny(issue.source, match.source) &&
    matchesAny(issue.labels["team"], match.team) &&
    (match.type === undefined || match.type === issue.type) &&
    Object.entries(match.labels ?? {}).every(([k, v]) => matchesAny(issue.labels[k], v)) &&
    (match.workflow === undefined ||
      issue.enrichments.some((e) => matchesAny(e.workflow, match.workflow)));
}

/**
 * Picks the destinations for an issue.
 *
 * @param routing The routing table.
 * @param issue The issue, enriched.
 * @returns The destinations and the routes that chose them.
 * @example
 * ```ts
 * import { RoutingSchema, routeIssue } from "./routing.ts";
 * import assert from "node:assert/strict";
 *
 * const routing = RoutingSchema.parse({
 *   routes: [{ name: "shop", match: { namespace: "shop*" }, destinations: ["team-shop"] }],
 *   default: { destinations: ["console"] },
 * });
 * const issue = {
 *   id: "1", fingerprint: "f", aggregationKey: "X", type: "alert" as const, source: "prometheus",
 *   title: "t", severity: "HIGH" as const, status: "firing" as const, labels: { namespace: "shop" },
 *   annotations: {}, links: [], enrichments: [], startsAt: "", createdAt: "",
 * };
 * assert.deepEqual(routeIssue(routing, issue).destinations, ["team-shop"]);
 * assert.deepEqual(routeIssue(routing, { ...issue, labels: {} }).routes, ["default"]);
 * ```
 */
export function routeIssue(routing: Routing, issue: Issue): RouteDecision {
  const destinations = new Set<string>();
  const routes: string[] = [];
  const matched: RouteDecision["matched"] = [];
  for (const route of routing.routes) {
    if (!matchesRoute(route.match, issue)) continue;
    routes.push(route.name);
    const names = route.destinations.map((entry) => targetName(entry, route.name));
    names.forEach((name) => destinations.add(name));
    matched.push({ route, destinations: names });
    if (!route.continue) break;
  }
  if (routes.length === 0) {
    routing.default.destinations.forEach((name) => destinations.add(name));
    routes.push("default");
    matched.push({ route: undefined, destinations: [...routing.default.destinations] });
  }
  return { destinations: [...destinations], routes, matched };
}
