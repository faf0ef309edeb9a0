/**
 * Routing: which destinations receive an issue. Routes are tried in order; the first match
 * wins unless it sets `continue: true`; when none matches, the default route applies.
 *
 * @module
 */
import { type Issue, matchesAny, SeveritySchema } from "@cano/sdk";
import { z } from "zod";

const Patterns = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

/** What a route matches; every given field must match (globs with `*` and `?`). */
export const RouteMatchSchema = z.strictObject({
  alertname: Patterns.optional().describe("Alert name (or aggregation key) glob(s)"),
  severity: z.union([SeveritySchema, z.array(SeveritySchema).min(1)]).optional(),
  namespace: Patterns.optional().describe("Namespace glob(s)"),
  source: Patterns.optional().describe("prometheus, kubernetes, helm, manual..."),
  type: z.enum(["alert", "event", "change", "manual"]).optional(),
  labels: z.record(z.string(), Patterns).optional().describe("Label globs; all must match"),
  workflow: Patterns.optional().describe("Matches when a workflow with this id enriched the issue"),
});
/** What a route matches. */
export type RouteMatch = z.infer<typeof RouteMatchSchema>;

/** One route. */
export const RouteSchema = z.strictObject({
  name: z.string().min(1),
  match: RouteMatchSchema.default({}),
  destinations: z.array(z.string().min(1)).min(1, "Expected at least one destination name"),
  continue: z.boolean().default(false).describe("Keep evaluating later routes after a match"),
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
  /** Destination names, each once, in route order. */
  destinations: string[];
  /** Names of the routes that matched; `["default"]` when none did. */
  routes: string[];
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
  for (const route of routing.routes) {
    if (!matchesRoute(route.match, issue)) continue;
    routes.push(route.name);
    route.destinations.forEach((name) => destinations.add(name));
    if (!route.continue) break;
  }
  if (routes.length === 0) {
    routing.default.destinations.forEach((name) => destinations.add(name));
    routes.push("default");
  }
  return { destinations: [...destinations], routes };
}
