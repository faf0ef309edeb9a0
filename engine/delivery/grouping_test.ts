import assert from "node:assert/strict";
import type { Issue } from "@cano/sdk";
import { alertIssue } from "../../tests/_issue.ts";
import { createRouteRules, SUMMARY_MAX_ROWS } from "./grouping.ts";

function pod(n: number, extra: Partial<Issue> = {}): Issue {
  return alertIssue({
    id: `id-${n}`,
    fingerprint: `fp-${n}`,
    title: `Pod api-${n} is crash looping`,
    severity: n === 2 ? "HIGH" : "MEDIUM",
    labels: { alertname: "KubePodCrashLooping", namespace: "shop", pod: `api-${n}` },
    ...extra,
  });
}

Deno.test("createRouteRules() suppresses an unchanged issue within repeatInterval, never a status change", () => {
  let now = 0;
  const rules = createRouteRules({ onFlush: () => {}, now: () => now });
  const route = { name: "r", repeatInterval: 60_000 };
  assert.equal(rules.isRepeat(route, pod(1)), false);
  now = 30_000;
  assert.equal(rules.isRepeat(route, pod(1)), true, "same firing within the interval");
  assert.equal(rules.isRepeat(route, pod(2)), false, "another fingerprint");
  assert.equal(rules.isRepeat(route, pod(1, { status: "resolved" })), false, "status changed");
  assert.equal(rules.isRepeat(route, pod(1, { status: "resolved" })), true, "same resolution");
  assert.equal(rules.isRepeat(route, pod(1)), false, "firing again after the resolution");
  now = 100_000;
  assert.equal(rules.isRepeat(route, pod(1)), false, "interval passed");
  assert.equal(rules.isRepeat({ name: "other", repeatInterval: 60_000 }, pod(1)), false);
  assert.equal(rules.isRepeat({ name: "no-rule" }, pod(1)), false);
  assert.equal(rules.isRepeat({ name: "no-rule" }, pod(1)), false);
});

Deno.test("createRouteRules() folds a burst into one summary with the worst severity and a member table", async () => {
  const flushed: [Issue, string[]][] = [];
  const rules = createRouteRules({ onFlush: (issue, d) => void flushed.push([issue, d]) });
  const route = {
    name: "pods",
    group: { by: ["alertname", "namespace"], window: 30, min: 3 },
  };
  const held = [1, 2, 3, 4].map((n) => rules.hold(route, pod(n), ["slack"]));
  // A different namespace is another group.
  const elsewhere = { labels: { alertname: "KubePodCrashLooping", namespace: "search" } };
  const other = rules.hold(route, pod(9, elsewhere), ["slack"]);
  assert.equal(rules.openGroups(), 2);
  assert.equal(flushed.length, 0, "held until the window closes");
  await Promise.all([...held, other]);
  assert.equal(flushed.length, 2);
  const [summary, destinations] = flushed.find(([i]) => i.title.startsWith("4 issues"))!;
  assert.deepEqual(destinations, ["slack"]);
  assert.equal(summary.title, "4 issues: KubePodCrashLooping in shop");
  assert.equal(summary.severity, "HIGH");
  assert.deepEqual(summary.labels, { alertname: "KubePodCrashLooping", namespace: "shop" });
  const block = summary.enrichments[0]!.blocks[0]!;
  assert.ok(block.type === "table");
  assert.equal(block.rows.length, 4);
  assert.equal(block.rows[1]![1], "Pod api-2 is crash looping");
  // The lone issue of the other group goes out as itself.
  assert.ok(flushed.some(([i]) => i.fingerprint === "fp-9"));
});

Deno.test("createRouteRules() gives a group's resolution summary the firing summary's fingerprint", async () => {
  const flushed: Issue[] = [];
  const rules = createRouteRules({ onFlush: (issue) => void flushed.push(issue) });
  const route = { name: "pods", group: { by: ["alertname"], window: 10, min: 2 } };
  await Promise.all([1, 2].map((n) => rules.hold(route, pod(n), ["slack"])));
  await Promise.all(
    [1, 2].map((n) => rules.hold(route, pod(n, { status: "resolved" }), ["slack"])),
  );
  assert.deepEqual(flushed.map((i) => i.status), ["firing", "resolved"]);
  assert.equal(flushed[0]!.fingerprint, flushed[1]!.fingerprint);
  assert.match(flushed[0]!.fingerprint, /^group-pods-[0-9a-f]{8}$/);
});

Deno.test("createRouteRules() lists at most SUMMARY_MAX_ROWS members and says how many more", async () => {
  const flushed: Issue[] = [];
  const rules = createRouteRules({ onFlush: (issue) => void flushed.push(issue) });
  const route = { name: "pods", group: { by: ["alertname"], window: 10, min: 2 } };
  const count = SUMMARY_MAX_ROWS + 7;
  await Promise.all(Array.from({ length: count }, (_, n) => rules.hold(route, pod(n), ["x"])));
  const block = flushed[0]!.enrichments[0]!.blocks[0]!;
  assert.ok(block.type === "table");
  assert.equal(block.rows.length, SUMMARY_MAX_ROWS);
  assert.match(flushed[0]!.description ?? "", /7 more are not listed/);
});

Deno.test("createRouteRules() flushAll() sends open groups at once (shutdown)", async () => {
  const flushed: Issue[] = [];
  const rules = createRouteRules({ onFlush: (issue) => void flushed.push(issue) });
  const route = { name: "pods", group: { by: ["alertname"], window: 3_600_000, min: 2 } };
  const held = [1, 2].map((n) => rules.hold(route, pod(n), ["x"]));
  rules.flushAll();
  await Promise.all(held);
  assert.equal(flushed.length, 1);
  assert.equal(rules.openGroups(), 0);
});
