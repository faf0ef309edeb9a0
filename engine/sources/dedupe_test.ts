import assert from "node:assert/strict";
import { parseAlertmanagerPayload } from "./alertmanager.ts";
import {
  createAlertDeduper,
  createMemoryDedupeStore,
  type DedupeStore,
  type DedupeVerdict,
  DEFAULT_DEDUPE_TTL_MS,
} from "./dedupe.ts";

const FIRING = {
  fingerprint: "3f2a9c1b7d4e8a60",
  startsAt: "2026-03-01T10:12:04.512Z",
  status: "firing",
} as const;
const HOUR = 60 * 60 * 1000;

function clock(start = 0): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return { now: () => time, advance: (ms) => void (time += ms) };
}

Deno.test("createAlertDeduper() reports the same alert in the same state as a duplicate", () => {
  const deduper = createAlertDeduper();
  assert.equal(deduper.check(FIRING), "new");
  assert.equal(deduper.check({ ...FIRING }), "duplicate");
  assert.equal(deduper.check(FIRING), "duplicate");
  assert.equal(deduper.size(), 1);
});

Deno.test("createAlertDeduper() treats the resolution of a firing alert as new", () => {
  const deduper = createAlertDeduper();
  assert.equal(deduper.check(FIRING), "new");
  assert.equal(deduper.check({ ...FIRING, status: "resolved" }), "new");
  assert.equal(deduper.check({ ...FIRING, status: "resolved" }), "duplicate");
  assert.equal(deduper.size(), 2);
});

Deno.test("createAlertDeduper() treats a new startsAt as a new occurrence", () => {
  const deduper = createAlertDeduper();
  assert.equal(deduper.check(FIRING), "new");
  assert.equal(deduper.check({ ...FIRING, startsAt: "2026-03-01T12:00:00Z" }), "new");
  assert.equal(deduper.check({ ...FIRING, fingerprint: "a81c03e5f9b27d44" }), "new");
  assert.equal(deduper.check(FIRING), "duplicate");
});

Deno.test("createAlertDeduper() reports a repeat once repeatIntervalMs has passed", () => {
  const time = clock();
  const deduper = createAlertDeduper({ repeatIntervalMs: 4 * HOUR, now: time.now });
  assert.equal(deduper.check(FIRING), "new");
  time.advance(4 * HOUR - 1);
  assert.equal(deduper.check(FIRING), "duplicate");
  time.advance(1);
  assert.equal(deduper.check(FIRING), "repeat");
  time.advance(HOUR);
  assert.equal(deduper.check(FIRING), "duplicate", "the repeat restarts the interval");
  time.advance(3 * HOUR);
  assert.equal(deduper.check(FIRING), "repeat");
});

Deno.test("createAlertDeduper() never repeats without a repeat interval", () => {
  const time = clock();
  const deduper = createAlertDeduper({ now: time.now });
  assert.equal(deduper.check(FIRING), "new");
  for (let day = 0; day < 30; day++) {
    time.advance(24 * HOUR);
    assert.equal(deduper.check(FIRING), "duplicate", `day ${day}`);
  }
});

Deno.test("createAlertDeduper() forgets keys not seen for ttlMs", () => {
  const time = clock(1_000);
  const deduper = createAlertDeduper({ ttlMs: 10 * HOUR, now: time.now });
  const other = { ...FIRING, fingerprint: "a81c03e5f9b27d44" };
  assert.equal(deduper.check(FIRING), "new");
  assert.equal(deduper.check(other), "new");
  time.advance(9 * HOUR);
  assert.equal(deduper.check(FIRING), "duplicate", "seeing a key keeps it alive");
  time.advance(HOUR);
  assert.equal(deduper.check(FIRING), "duplicate");
  assert.equal(deduper.size(), 1, "the other key expired");
  assert.equal(deduper.check(other), "new");
  time.advance(10 * HOUR);
  assert.equal(deduper.check(FIRING), "new");
  assert.equal(deduper.size(), 1);
});

Deno.test("createAlertDeduper() keeps at most maxEntries keys, evicting the least recently seen", () => {
  const deduper = createAlertDeduper({ maxEntries: 3 });
  const alert = (n: number) => ({ ...FIRING, fingerprint: `fp-${n}` });
  for (const n of [1, 2, 3]) assert.equal(deduper.check(alert(n)), "new");
  assert.equal(deduper.check(alert(1)), "duplicate"); // 1 is now the most recently seen
  assert.equal(deduper.check(alert(4)), "new");
  assert.equal(deduper.size(), 3);
  assert.equal(deduper.check(alert(1)), "duplicate");
  assert.equal(deduper.check(alert(3)), "duplicate");
  assert.equal(deduper.check(alert(2)), "new", "2 was evicted");
  for (let n = 10; n < 1_000; n++) deduper.check(alert(n));
  assert.equal(deduper.size(), 3);
});

Deno.test("createAlertDeduper() rejects invalid options when created", () => {
  assert.throws(() => createAlertDeduper({ ttlMs: 0 }), RangeError);
  assert.throws(() => createAlertDeduper({ ttlMs: Number.NaN }), RangeError);
  assert.throws(() => createAlertDeduper({ maxEntries: 0 }), RangeError);
  assert.throws(() => createAlertDeduper({ maxEntries: 1.5 }), {
    name: "RangeError",
    message: "Cannot create alert deduper: maxEntries must be a positive integer, got 1.5",
  });
  assert.throws(() => createAlertDeduper({ repeatIntervalMs: -1 }), RangeError);
  assert.equal(DEFAULT_DEDUPE_TTL_MS, 604_800_000);
});

Deno.test("createAlertDeduper() keeps its state in the given store", () => {
  const inner = createMemoryDedupeStore();
  const keys: string[] = [];
  const store: DedupeStore = {
    ...inner,
    set(key, record) {
      keys.push(key);
      inner.set(key, record);
    },
  };
  const first = createAlertDeduper({ store });
  assert.equal(first.check(FIRING), "new");
  // A second deduper on the same store (a restart with a durable store) remembers the alert.
  const second = createAlertDeduper({ store });
  assert.equal(second.check(FIRING), "duplicate");
  assert.equal(second.size(), 1);
  assert.equal(keys.length, 2);
  assert.equal(new Set(keys).size, 1);
});

Deno.test("createMemoryDedupeStore() orders keys by their last set", () => {
  const store = createMemoryDedupeStore();
  assert.equal(store.oldest(), undefined);
  store.set("a", { deliveredMs: 1, seenMs: 1 });
  store.set("b", { deliveredMs: 2, seenMs: 2 });
  assert.deepEqual(store.oldest(), ["a", { deliveredMs: 1, seenMs: 1 }]);
  store.set("a", { deliveredMs: 1, seenMs: 3 });
  assert.equal(store.oldest()?.[0], "b");
  store.delete("b");
  assert.deepEqual(store.oldest(), ["a", { deliveredMs: 1, seenMs: 3 }]);
  assert.equal(store.size(), 1);
  assert.equal(store.get("b"), undefined);
});

Deno.test("createAlertDeduper() lets exactly one of two concurrent identical deliveries through", async () => {
  const body = await Deno.readTextFile(
    new URL("../../examples/alerts/crashloop_group.json", import.meta.url),
  );
  const deduper = createAlertDeduper();
  const verdicts: DedupeVerdict[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const result = parseAlertmanagerPayload(await req.json());
    if (!result.ok) return Response.json(result.error, { status: 400 });
    const mine = result.issues.map((issue) => deduper.check(issue));
    verdicts.push(...mine);
    return Response.json(mine);
  });
  try {
    const url = `http://127.0.0.1:${server.addr.port}/api/alerts`;
    const post = () =>
      fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
    const responses = await Promise.all([post(), post(), post()]);
    const bodies = await Promise.all(responses.map((r) => r.json()));
    assert.deepEqual(responses.map((r) => r.status), [200, 200, 200]);
    assert.equal(verdicts.filter((v) => v === "new").length, 2, "one new per alert");
    assert.equal(verdicts.filter((v) => v === "duplicate").length, 4);
    assert.equal(bodies.filter((b) => JSON.stringify(b) === '["new","new"]').length, 1);
  } finally {
    await server.shutdown();
  }
});

Deno.test("createAlertDeduper() passes only the changed alert of a re-sent group", () => {
  const group = (podStatus: "firing" | "resolved") => ({
    alerts: ["api-0", "api-1"].map((pod, i) => ({
      status: i === 0 ? podStatus : "firing",
      labels: { alertname: "KubePodCrashLooping", namespace: "shop", pod },
      startsAt: "2026-03-01T10:00:00Z",
      endsAt: i === 0 && podStatus === "resolved" ? "2026-03-01T10:30:00Z" : "0001-01-01T00:00:00Z",
    })),
  });
  const deduper = createAlertDeduper();
  const run = (body: unknown) => {
    const result = parseAlertmanagerPayload(body);
    assert.ok(result.ok);
    return result.issues.map((issue) => deduper.check(issue));
  };
  assert.deepEqual(run(group("firing")), ["new", "new"]);
  assert.deepEqual(run(group("firing")), ["duplicate", "duplicate"]);
  assert.deepEqual(run(group("resolved")), ["new", "duplicate"]);
  assert.deepEqual(run(group("resolved")), ["duplicate", "duplicate"]);
});
