import assert from "node:assert/strict";
import { createLogger, silentLogger } from "../log.ts";
import { type ConfigWatcherOptions, createConfigWatcher } from "./watch.ts";

const DEBOUNCE_MS = 30;
/** Long enough for watch events and a debounce to settle when nothing should happen. */
const QUIET_MS = 400;

interface Harness {
  dir: string;
  path: string;
  calls: () => number;
  waitForCalls: (n: number) => Promise<void>;
  watch: (options?: Partial<ConfigWatcherOptions>) => Promise<{ close(): void }>;
  [Symbol.asyncDispose](): Promise<void>;
}

async function harness(content = "logLevel: info\n"): Promise<Harness> {
  const dir = await Deno.makeTempDir({ prefix: "cano-watch-" });
  const path = `${dir}/config.yaml`;
  await Deno.writeTextFile(path, content);
  return setUp(dir, path);
}

function setUp(dir: string, path: string): Harness {
  let count = 0;
  const watchers: { close(): void }[] = [];
  return {
    dir,
    path,
    calls: () => count,
    waitForCalls: (n) => waitFor(() => count >= n, `${n} call(s) of onChange, saw ${count}`),
    async watch(options = {}) {
      const watcher = createConfigWatcher({
        path,
        onChange: () => {
          count++;
        },
        debounceMs: DEBOUNCE_MS,
        pollIntervalMs: 0,
        log: silentLogger,
        ...options,
      });
      watchers.push(watcher);
      await watcher.ready;
      return watcher;
    },
    async [Symbol.asyncDispose]() {
      for (const w of watchers) w.close();
      await delay(10);
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await delay(10);
  }
}

Deno.test("createConfigWatcher() fires on an in-place write", async () => {
  await using h = await harness();
  await h.watch();
  await Deno.writeTextFile(h.path, "logLevel: debug\n");
  await h.waitForCalls(1);
  await delay(QUIET_MS);
  assert.equal(h.calls(), 1);
});

Deno.test("createConfigWatcher() fires each time an editor replaces the file by rename", async () => {
  await using h = await harness();
  await h.watch();
  for (const [i, level] of ["warn", "error"].entries()) {
    await Deno.writeTextFile(`${h.dir}/.config.yaml.tmp`, `logLevel: ${level}\n`);
    await Deno.rename(`${h.dir}/.config.yaml.tmp`, h.path);
    await h.waitForCalls(i + 1);
    await delay(QUIET_MS);
    assert.equal(h.calls(), i + 1);
  }
});

Deno.test("createConfigWatcher() fires on each ConfigMap-style ..data symlink swap", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cano-configmap-" });
  let current = "..2026_11_23_10_00_00.000000001";
  await Deno.mkdir(`${dir}/${current}`);
  await Deno.writeTextFile(`${dir}/${current}/config.yaml`, "logLevel: info\n");
  await Deno.symlink(current, `${dir}/..data`);
  await Deno.symlink("..data/config.yaml", `${dir}/config.yaml`);
  await using h = setUp(dir, `${dir}/config.yaml`);
  await h.watch();

  // What the kubelet does: write a new timestamped dir, point a temporary symlink at it,
  // rename it over ..data in one step, then delete the old dir.
  for (const [i, level] of ["warn", "error"].entries()) {
    const next = `..2026_11_23_10_0${i + 1}_00.00000000${i + 2}`;
    await Deno.mkdir(`${dir}/${next}`);
    await Deno.writeTextFile(`${dir}/${next}/config.yaml`, `logLevel: ${level}\n`);
    await Deno.symlink(next, `${dir}/..data_tmp`);
    await Deno.rename(`${dir}/..data_tmp`, `${dir}/..data`);
    await Deno.remove(`${dir}/${current}`, { recursive: true });
    current = next;

    await h.waitForCalls(i + 1);
    await delay(QUIET_MS);
    assert.equal(h.calls(), i + 1);
    assert.equal(await Deno.readTextFile(h.path), `logLevel: ${level}\n`);
    assert.ok((await Deno.lstat(h.path)).isSymlink);
  }
});

Deno.test("createConfigWatcher() does not fire when the content is rewritten identically", async () => {
  await using h = await harness("same\n");
  await h.watch({ pollIntervalMs: 20 });
  await Deno.writeTextFile(h.path, "same\n");
  await Deno.writeTextFile(`${h.dir}/.tmp`, "same\n");
  await Deno.rename(`${h.dir}/.tmp`, h.path);
  await Deno.writeTextFile(`${h.dir}/unrelated.txt`, "noise\n");
  await delay(QUIET_MS);
  assert.equal(h.calls(), 0);
  // The watcher is alive: a real change still fires, exactly once.
  await Deno.writeTextFile(h.path, "different\n");
  await h.waitForCalls(1);
  await delay(QUIET_MS);
  assert.equal(h.calls(), 1);
});

Deno.test("createConfigWatcher() debounces a burst of writes into one call", async () => {
  await using h = await harness();
  await h.watch({ debounceMs: 150 });
  for (let i = 0; i < 5; i++) await Deno.writeTextFile(h.path, `logLevel: v${i}\n`);
  await h.waitForCalls(1);
  await delay(QUIET_MS);
  assert.equal(h.calls(), 1);
});

Deno.test("createConfigWatcher() notices changes by polling when watching is off", async () => {
  await using h = await harness();
  await h.watch({ watch: false, pollIntervalMs: 25 });
  await delay(100);
  assert.equal(h.calls(), 0);
  await Deno.writeTextFile(h.path, "logLevel: debug\n");
  await h.waitForCalls(1);
  await delay(200);
  assert.equal(h.calls(), 1);
});

Deno.test("createConfigWatcher() waits for a removed file to come back changed", async () => {
  await using h = await harness("a\n");
  await h.watch({ pollIntervalMs: 20 });
  await Deno.remove(h.path);
  await delay(QUIET_MS);
  await Deno.writeTextFile(h.path, "a\n");
  await delay(QUIET_MS);
  assert.equal(h.calls(), 0);
  await Deno.writeTextFile(h.path, "b\n");
  await h.waitForCalls(1);
});

Deno.test("createConfigWatcher() fires on SIGHUP even when the content is unchanged", async () => {
  await using h = await harness();
  await h.watch({ watch: false });
  Deno.kill(Deno.pid, "SIGHUP");
  await h.waitForCalls(1);
  await delay(100);
  assert.equal(h.calls(), 1);
});

Deno.test("createConfigWatcher() close() stops events, polling and SIGHUP", async () => {
  await using h = await harness();
  const watcher = await h.watch({ pollIntervalMs: 20 });
  watcher.close();
  watcher.close();
  // Keep the process alive through SIGHUP now that the watcher's listener is gone.
  const keepAlive = () => {};
  Deno.addSignalListener("SIGHUP", keepAlive);
  try {
    await Deno.writeTextFile(h.path, "logLevel: debug\n");
    Deno.kill(Deno.pid, "SIGHUP");
    await delay(QUIET_MS);
  } finally {
    Deno.removeSignalListener("SIGHUP", keepAlive);
  }
  assert.equal(h.calls(), 0);
});

Deno.test("createConfigWatcher() closes when its signal aborts", async () => {
  await using h = await harness();
  const controller = new AbortController();
  await h.watch({ signal: controller.signal, pollIntervalMs: 20 });
  controller.abort();
  await Deno.writeTextFile(h.path, "logLevel: debug\n");
  await delay(QUIET_MS);
  assert.equal(h.calls(), 0);
});

Deno.test("createConfigWatcher() logs a failing onChange and keeps watching", async () => {
  await using h = await harness();
  const lines: string[] = [];
  let calls = 0;
  const watcher = createConfigWatcher({
    path: h.path,
    onChange: () => {
      calls++;
      return Promise.reject(new Error("bad config"));
    },
    debounceMs: DEBOUNCE_MS,
    pollIntervalMs: 0,
    log: createLogger({ write: (line) => lines.push(line) }),
  });
  try {
    await watcher.ready;
    await Deno.writeTextFile(h.path, "one\n");
    await waitFor(() => calls === 1, "the first call");
    await Deno.writeTextFile(h.path, "two\n");
    await waitFor(() => calls === 2, "the second call");
  } finally {
    watcher.close();
  }
  const errors = lines.map((l) => JSON.parse(l)).filter((l) => l.level === "error");
  assert.equal(errors.length, 2);
  assert.equal(errors[0].msg, "Cannot reload config: the change handler failed");
  assert.deepEqual(errors[0].error, { name: "Error", message: "bad config" });
  assert.equal(errors[0].path, h.path);
});

Deno.test("createConfigWatcher() rejects negative timings when created", () => {
  const base = { path: "/tmp/none.yaml", onChange: () => {}, log: silentLogger };
  assert.throws(() => createConfigWatcher({ ...base, debounceMs: -1 }), {
    name: "RangeError",
    message: /^Cannot watch config \/tmp\/none.yaml: debounceMs is -1/,
  });
  assert.throws(() => createConfigWatcher({ ...base, pollIntervalMs: Infinity }), RangeError);
});
