import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { type Issue, IssueSchema } from "@cano/sdk";
import { DestinationConfigSchema } from "../destinations/mod.ts";
import { silentLogger } from "../log.ts";
import { createMetrics } from "../metrics.ts";
import { createDispatcher, type Dispatcher } from "./dispatcher.ts";
import { openOutbox, type Outbox } from "./outbox.ts";

function issue(id: string, fingerprint: string, status: "firing" | "resolved" = "firing"): Issue {
  return IssueSchema.parse({
    id,
    fingerprint,
    aggregationKey: "KubePodCrashLooping",
    type: "alert",
    source: "prometheus",
    title: `Pod ${fingerprint} is crash looping`,
    severity: "HIGH",
    status,
    startsAt: "2026-03-01T09:59:00Z",
    createdAt: "2026-03-01T10:00:00Z",
  });
}

/** A local webhook endpoint recording issue ids and answering `respond(n)`. */
function listen(respond: (n: number) => Response = () => new Response("ok")) {
  const ids: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const { issue } = await req.json() as { issue: Issue };
    ids.push(issue.id);
    return respond(ids.length - 1);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/hook`,
    ids,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

function start(outbox: Outbox, url: string): Dispatcher {
  return createDispatcher({
    destinations: [DestinationConfigSchema.parse({ name: "hook", type: "webhook", url })],
    metrics: createMetrics(),
    log: silentLogger,
    queue: outbox,
    retry: { minDelayMs: 5, maxDelayMs: 20, maxAttempts: 1000 },
  });
}

/** Ids received, grouped per fingerprint "f<k>" where ids are "<fingerprint>-<status>". */
function perFingerprint(ids: readonly string[]): Map<string, string[]> {
  const lanes = new Map<string, string[]>();
  for (const id of ids) {
    const [fingerprint = "", status = ""] = id.split("-");
    lanes.set(fingerprint, [...lanes.get(fingerprint) ?? [], status]);
  }
  return lanes;
}

async function tempDb(): Promise<{ path: string; [Symbol.asyncDispose](): Promise<void> }> {
  const dir = await Deno.makeTempDir();
  return {
    path: `${dir}/state.db`,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}

async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("Cannot wait: condition still false");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

Deno.test("openOutbox() resumes pending deliveries in order after a restart", async () => {
  await using db = await tempDb();
  await using down = listen(() => new Response("down", { status: 503 }));
  const first = openOutbox({ path: db.path });
  const before = start(first, down.url);
  for (const fp of ["a", "b", "c"]) {
    before.dispatch(issue(`${fp}-firing`, fp), ["hook"]);
    before.dispatch(issue(`${fp}-resolved`, fp, "resolved"), ["hook"]);
  }
  await waitFor(() => down.ids.length >= 6);
  before.close();
  first.close();

  const reopened = openOutbox({ path: db.path });
  assert.equal(reopened.size(), 6);
  const head = reopened.take("hook", new Set());
  assert.equal(head?.issue.id, "a-firing");
  assert.ok(head.attempts >= 1, "retry progress is on disk");
  reopened.close();

  await using up = listen();
  const second = openOutbox({ path: db.path });
  const after = start(second, up.url);
  await after.drain(5000);
  after.close();
  second.close();
  assert.equal(up.ids.length, 6);
  assert.deepEqual(Object.fromEntries(perFingerprint(up.ids)), {
    a: ["firing", "resolved"],
    b: ["firing", "resolved"],
    c: ["firing", "resolved"],
  });
  const third = openOutbox({ path: db.path });
  assert.equal(third.size(), 0);
  third.close();
});

Deno.test("openOutbox() keeps dead letters on disk and replays them", async () => {
  await using db = await tempDb();
  let accept = false;
  await using sink = listen(() =>
    new Response(accept ? "ok" : "bad", { status: accept ? 200 : 400 })
  );
  let outbox = openOutbox({ path: db.path });
  let dispatcher = start(outbox, sink.url);
  for (const fp of ["a", "b", "c"]) dispatcher.dispatch(issue(`${fp}-firing`, fp), ["hook"]);
  dispatcher.dispatch(issue("d-firing", "d"), ["gone"]);
  await dispatcher.drain(5000);
  dispatcher.close();
  outbox.close();

  outbox = openOutbox({ path: db.path });
  dispatcher = start(outbox, sink.url);
  const letters = dispatcher.deadLetters();
  assert.deepEqual(letters.map((l) => [l.destination, l.fingerprint]), [
    ["hook", "a"],
    ["hook", "b"],
    ["hook", "c"],
    ["gone", "d"],
  ]);
  assert.match(letters[0]!.reason, /HTTP 400/);
  assert.ok(letters.every((l) => typeof l.id === "number"));
  accept = true;
  assert.equal(dispatcher.replay(letters[1]!.id!), true);
  assert.equal(dispatcher.replay(9999), false);
  await dispatcher.drain(5000);
  assert.deepEqual(sink.ids.slice(3), ["b-firing"]);
  assert.deepEqual(dispatcher.deadLetters().map((l) => l.fingerprint), ["a", "c", "d"]);

  assert.equal(dispatcher.replayAll(), 3);
  await dispatcher.drain(5000);
  assert.deepEqual(sink.ids.slice(4).sort(), ["a-firing", "c-firing"]);
  const left = dispatcher.deadLetters();
  assert.deepEqual(left.map((l) => [l.destination, l.reason]), [
    ["gone", 'Cannot deliver to "gone": no destination has that name'],
  ]);
  dispatcher.close();
  outbox.close();
});

Deno.test("openOutbox() prunes delivered rows and old dead letters", async () => {
  await using db = await tempDb();
  await using sink = listen();
  const outbox = openOutbox({ path: db.path, deadLetterLimit: 2, synchronous: "normal" });
  const dispatcher = start(outbox, sink.url);
  const body = "x".repeat(2000);
  for (let i = 0; i < 1200; i++) {
    dispatcher.dispatch({ ...issue(`f${i}-firing`, `f${i}`), title: body }, ["hook"]);
  }
  await dispatcher.drain(20_000);
  for (const fp of ["p", "q", "r"]) dispatcher.dispatch(issue(`${fp}-firing`, fp), ["nowhere"]);
  dispatcher.close();
  outbox.close();
  assert.equal(sink.ids.length, 1200);

  const raw = new DatabaseSync(db.path);
  const count = (status: string) =>
    Number(raw.prepare("SELECT count(*) AS n FROM outbox WHERE status = ?").get(status)?.n);
  assert.equal(count("pending"), 0);
  assert.equal(count("dead"), 2);
  const pages = raw.prepare("PRAGMA page_count").get()?.page_count;
  const pageSize = raw.prepare("PRAGMA page_size").get()?.page_size;
  raw.close();
  // 1200 rows of 2 kB were written; the free pages went back to the file system.
  assert.ok(Number(pages) * Number(pageSize) < 512 * 1024, `file holds ${pages} pages`);
});

Deno.test("openOutbox() refuses a file another process holds and bad options", async () => {
  await using db = await tempDb();
  const outbox = openOutbox({ path: db.path });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { openOutbox } from "${import.meta.resolve("./outbox.ts")}";
      try { openOutbox({ path: ${
        JSON.stringify(db.path)
      } }); } catch (e) { console.log(e.message); }`,
    ],
    stdout: "piped",
    stderr: "inherit",
  });
  const { stdout } = await child.output();
  outbox.close();
  assert.match(
    new TextDecoder().decode(stdout),
    /^Cannot open state database ".*": database is locked/,
  );
  assert.throws(() => openOutbox({ path: db.path, deadLetterLimit: -1 }), {
    message: "Cannot open outbox: deadLetterLimit must be an integer >= 0, got -1",
  });
});

Deno.test("openOutbox() delivers every issue queued before a kill -9", async () => {
  await using db = await tempDb();
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = probe.addr.port;
  probe.close();
  const url = `http://127.0.0.1:${port}/hook`;
  const script = new URL("./testdata/outbox_kill_child.ts", import.meta.url).pathname;
  const total = 200;

  const first = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, "enqueue", db.path, url, String(total)],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = first.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let printed = "";
  while (!printed.includes("queued\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    printed += value;
  }
  assert.equal(printed, "queued\n");
  await new Promise((resolve) => setTimeout(resolve, 200)); // let it fail a few retries
  first.kill("SIGKILL");
  const killed = await first.status;
  reader.releaseLock();
  await first.stdout.cancel().catch(() => {});
  assert.equal(killed.signal, "SIGKILL");

  const ids: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen() {} }, async (req) => {
    ids.push((await req.json() as { issue: Issue }).issue.id);
    return new Response("ok");
  });
  try {
    const second = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", script, "deliver", db.path, url],
      stderr: "inherit",
    }).output();
    assert.equal(second.code, 0);
  } finally {
    await server.shutdown();
  }
  assert.equal(new Set(ids).size, total, "every issue arrived");
  assert.equal(ids.length, total, "no duplicates");
  const order = new Map<string, number>();
  for (const id of ids) order.set(id, order.size);
  for (let i = 0; i < total; i += 2) {
    assert.ok(order.get(`n${i}`)! < order.get(`n${i + 1}`)!, `n${i} before n${i + 1}`);
  }
});
