/**
 * Route rules applied between routing and delivery: repeat suppression and grouping.
 *
 * - Repeats: a route with `repeatInterval` sends an unchanged issue (same fingerprint, same
 *   status) to its destinations at most once per interval. A status change always goes
 *   through, so a resolution is never held back by its firing, nor a new firing by an old
 *   resolution.
 * - Groups: a route with `group` holds the first issue of a group (same values of
 *   `group.by` labels) for `group.window`. Similar issues arriving meanwhile join it. When
 *   the window closes, fewer than `group.min` issues go out one by one; more become one
 *   summary issue with a table of the members, so a burst of 40 crash-looping pods is one
 *   message, not 40.
 *
 * Held issues stay in the intake journal until their group is flushed (the caller awaits
 * {@linkcode RouteRules.hold}), so a crash during the window loses nothing.
 *
 * @example Three similar issues in one window become one summary
 * ```ts
 * import { createRouteRules } from "./grouping.ts";
 * import { IssueSchema } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * const flushed: string[] = [];
 * const rules = createRouteRules({ onFlush: (issue) => void flushed.push(issue.title) });
 * const route = { name: "pods", group: { by: ["alertname"], window: 10, min: 3 } };
 * const pod = (n: number) => IssueSchema.parse({
 *   id: `${n}`, fingerprint: `f${n}`, aggregationKey: "KubePodCrashLooping", type: "alert",
 *   source: "prometheus", title: `Pod ${n} crash looping`, severity: "HIGH", status: "firing",
 *   labels: { alertname: "KubePodCrashLooping" },
 *   startsAt: "2026-03-01T10:00:00Z", createdAt: "2026-03-01T10:00:01Z",
 * });
 * await Promise.all([1, 2, 3].map((n) => rules.hold(route, pod(n), ["slack"])));
 * assert.deepEqual(flushed, ["3 issues: KubePodCrashLooping"]);
 * rules.flushAll();
 * ```
 *
 * @module
 */
import type { DatabaseSync } from "node:sqlite";
import { type Issue, table } from "@cano/sdk";
import type { Grouping } from "../routing.ts";

/** Repeat suppression entries kept before the oldest is forgotten. */
export const REPEAT_STATE_LIMIT = 50_000;
/** Members listed in a summary's table. */
export const SUMMARY_MAX_ROWS = 50;

/** The route settings these rules read. */
export interface RuleRoute {
  /** Route name. */
  name: string;
  /** See `RouteSchema.repeatInterval`, in ms. */
  repeatInterval?: number | undefined;
  /** See `RouteSchema.group`. */
  group?: Grouping | undefined;
}

/** What a route last sent for a fingerprint: the status and when. */
export interface RepeatRecord {
  /** Status sent. */
  status: Issue["status"];
  /** When, ms since the epoch. */
  at: number;
}

/** Where repeat suppression remembers what each route sent, keyed by route and fingerprint. */
export interface RepeatStore {
  /** The last record of `key`, if any. */
  get(key: string): RepeatRecord | undefined;
  /** Records what was sent. */
  set(key: string, record: RepeatRecord): void;
}

/**
 * A bounded in-memory repeat store: the least recently set go first.
 *
 * @param limit Entries kept.
 * @returns The store.
 * @example
 * ```ts
 * import { createMemoryRepeatStore } from "./grouping.ts";
 * import assert from "node:assert/strict";
 *
 * const store = createMemoryRepeatStore(1);
 * store.set("a", { status: "firing", at: 1 });
 * store.set("b", { status: "firing", at: 2 });
 * assert.equal(store.get("a"), undefined);
 * ```
 */
export function createMemoryRepeatStore(limit = REPEAT_STATE_LIMIT): RepeatStore {
  const records = new Map<string, RepeatRecord>();
  return {
    get: (key) => records.get(key),
    set(key, record) {
      records.delete(key);
      records.set(key, record);
      if (records.size > limit) records.delete(records.keys().next().value!);
    },
  };
}

/**
 * A repeat store in the state database, so an unchanged firing is not sent again after a
 * restart within its route's interval. Bounded to `limit` rows, the oldest pruned.
 *
 * @param db The open state database (see `openStateDatabase` in `./outbox.ts`).
 * @param limit Rows kept.
 * @returns The store.
 * @example
 * ```ts
 * import { openRepeatStore } from "./grouping.ts";
 * import { DatabaseSync } from "node:sqlite";
 * import assert from "node:assert/strict";
 *
 * const db = new DatabaseSync(":memory:");
 * openRepeatStore(db).set("route\nf1", { status: "firing", at: 5 });
 * assert.deepEqual(openRepeatStore(db).get("route\nf1"), { status: "firing", at: 5 });
 * db.close();
 * ```
 */
export function openRepeatStore(db: DatabaseSync, limit = REPEAT_STATE_LIMIT): RepeatStore {
  db.exec(`
    CREATE TABLE IF NOT EXISTS route_repeats (
      key TEXT PRIMARY KEY,
      status TEXT NOT NULL,
      at_ms INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS route_repeats_at ON route_repeats (at_ms);
  `);
  const select = db.prepare("SELECT status, at_ms FROM route_repeats WHERE key = ?");
  const upsert = db.prepare(
    `INSERT INTO route_repeats (key, status, at_ms) VALUES (?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET status = excluded.status, at_ms = excluded.at_ms`,
  );
  const trim = db.prepare(
    `DELETE FROM route_repeats WHERE key IN (SELECT key FROM route_repeats ORDER BY at_ms
       LIMIT max(0, (SELECT count(*) FROM route_repeats) - ?))`,
  );
  let writes = 0;
  return {
    get(key) {
      const row = select.get(key);
      return row ? { status: row.status as Issue["status"], at: Number(row.at_ms) } : undefined;
    },
    set(key, { status, at }) {
      upsert.run(key, status, at);
      // Pruning counts the table; every 100th write keeps it cheap.
      if (++writes % 100 === 0) trim.run(limit);
    },
  };
}

/** Options of {@linkcode createRouteRules}. */
export interface RouteRulesOptions {
  /** Delivers an issue (a member or a summary) to destinations when a group closes. */
  onFlush: (issue: Issue, destinations: string[]) => void;
  /** Where repeat suppression keeps its records. @default in memory */
  repeats?: RepeatStore;
  /** Clock in ms. @default Date.now */
  now?: () => number;
}

/** Repeat and grouping state of all routes. */
export interface RouteRules {
  /** Whether `issue` repeats, unchanged, what the route sent within its interval. */
  isRepeat(route: RuleRoute, issue: Issue): boolean;
  /**
   * Adds an issue to its group; resolves once the group was flushed to `onFlush`.
   * Issues of routes without `group` flush at once.
   */
  hold(route: RuleRoute, issue: Issue, destinations: string[]): Promise<void>;
  /** Groups waiting for their window to close. */
  openGroups(): number;
  /** Flushes every open group now and stops their timers (shutdown). */
  flushAll(): void;
}

interface OpenGroup {
  route: RuleRoute;
  key: string;
  members: Issue[];
  destinations: Set<string>;
  timer: ReturnType<typeof setTimeout>;
  flushed: PromiseWithResolvers<void>;
}

/**
 * Creates the repeat and grouping state.
 *
 * @param options Where flushed issues go, and the clock.
 * @returns The rules.
 */
export function createRouteRules(
  { onFlush, repeats = createMemoryRepeatStore(), now = Date.now }: RouteRulesOptions,
): RouteRules {
  const groups = new Map<string, OpenGroup>();

  const flush = (group: OpenGroup) => {
    clearTimeout(group.timer);
    groups.delete(group.key);
    const destinations = [...group.destinations];
    try {
      if (group.members.length < (group.route.group?.min ?? 2)) {
        for (const member of group.members) onFlush(member, destinations);
      } else {
        onFlush(summarize(group.route, group.members), destinations);
      }
      group.flushed.resolve();
    } catch (error) {
      group.flushed.reject(error);
    }
  };

  return {
    isRepeat(route, issue) {
      if (route.repeatInterval === undefined) return false;
      const key = `${route.name}\n${issue.fingerprint}`;
      const last = repeats.get(key);
      const time = now();
      if (last && last.status === issue.status && time - last.at < route.repeatInterval) {
        return true;
      }
      repeats.set(key, { status: issue.status, at: time });
      return false;
    },
    hold(route, issue, destinations) {
      const grouping = route.group;
      if (grouping === undefined) {
        onFlush(issue, destinations);
        return Promise.resolve();
      }
      const key = `${route.name}\n${issue.status}\n${groupValues(grouping, issue).join("\n")}`;
      let group = groups.get(key);
      if (group === undefined) {
        const created: OpenGroup = {
          route,
          key,
          members: [],
          destinations: new Set(),
          timer: setTimeout(() => flush(created), grouping.window),
          flushed: Promise.withResolvers<void>(),
        };
        groups.set(key, group = created);
      }
      group.members.push(issue);
      destinations.forEach((d) => group.destinations.add(d));
      return group.flushed.promise;
    },
    openGroups: () => groups.size,
    flushAll() {
      for (const group of [...groups.values()]) flush(group);
    },
  };
}

function groupValues(grouping: Grouping, issue: Issue): string[] {
  return grouping.by.map((label) =>
    label === "alertname"
      ? issue.labels["alertname"] ?? issue.aggregationKey
      : label === "namespace"
      ? issue.labels["namespace"] ?? issue.subject?.namespace ?? ""
      : issue.labels[label] ?? ""
  );
}

const SEVERITY_ORDER: Issue["severity"][] = ["HIGH", "MEDIUM", "LOW", "INFO", "DEBUG"];

/**
 * One issue standing for a group: the most severe member's severity, a stable fingerprint
 * per group (so the resolution summary threads under the firing one), and a table of the
 * members.
 */
function summarize(route: RuleRoute, members: Issue[]): Issue {
  const first = members[0]!;
  const grouping = route.group!;
  const values = groupValues(grouping, first);
  const severity = SEVERITY_ORDER.find((s) => members.some((m) => m.severity === s)) ?? "INFO";
  const labels: Record<string, string> = {};
  grouping.by.forEach((label, i) => {
    if (values[i]) labels[label] = values[i]!;
  });
  const name = values.filter((v) => v !== "").join(" in ") || first.aggregationKey;
  const rows = members.slice(0, SUMMARY_MAX_ROWS).map((m) => [
    m.subject ? `${m.subject.kind} ${m.subject.name}` : m.labels["pod"] ?? "",
    m.title,
    m.severity,
    m.startsAt,
  ]);
  const more = members.length - rows.length;
  return {
    ...first,
    id: `group-${first.id}`,
    fingerprint: `group-${route.name}-${hash(values.join("\n"))}`,
    aggregationKey: first.aggregationKey,
    title: `${members.length} issues: ${name}`,
    description: `${members.length} similar issues (${
      grouping.by.join(", ")
    }) arrived within ${grouping.window} ms and are summarized here${
      more > 0 ? `; ${more} more are not listed` : ""
    }.`,
    severity,
    labels,
    annotations: {},
    links: first.links,
    enrichments: [
      {
        workflow: "cano-grouping",
        title: "Grouped issues",
        blocks: [table(["Subject", "Title", "Severity", "Started"], rows)],
      },
      ...first.enrichments.map((e) => ({ ...e, title: `${e.title ?? e.workflow} (first issue)` })),
    ],
  };
}

/** FNV-1a, 32 bits, as 8 hex digits: short, stable group ids. */
function hash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, "0");
}
