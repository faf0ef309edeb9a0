/**
 * An API server restart must not take Cano down. A real kube-apiserver that restarts shuts
 * its HTTP/2 connections down gracefully (GOAWAY); under Deno, `@kubernetes/client-node`
 * then aborted the whole process (nghttp2 assertion, exit 134) or segfaulted (139) in 3 of
 * 8 runs after a watch (`reference/k8s-goaway/`). Cano's transport (Deno's `fetch`) must
 * survive it and pick the watch up again when the server is back.
 *
 * Each run starts `_k8s_goaway_client.ts` in its own process (a crash there cannot hide
 * behind this test runner) against an HTTPS server that serves, shuts down gracefully and
 * comes back on the same port, `CYCLES` times. `CANO_GOAWAY_RUNS` sets the runs (8).
 * `CANO_GOAWAY_CLIENT_NODE=<runs>` also measures client-node's crash rate and prints it
 * (never fails: it is the reason for the transport, not a property of Cano).
 *
 * @module
 */
import assert from "node:assert/strict";
import { makeTestCerts, type TestCerts } from "./_kube_certs.ts";

const RUNS = Number(Deno.env.get("CANO_GOAWAY_RUNS") ?? "8");
const CLIENT_NODE_RUNS = Number(Deno.env.get("CANO_GOAWAY_CLIENT_NODE") ?? "0");
const CYCLES = 3;
const encoder = new TextEncoder();

interface CycleServer {
  /** Graceful shutdown: GOAWAY, then open watches end. */
  stop(): Promise<void>;
}

/** One "API server" life: lists pods 1..cycle-1 and watches with an ADDED pod-<cycle>. */
function serveCycle(
  certs: TestCerts,
  port: number,
  cycle: number,
  endWatches: boolean,
): CycleServer & { port: number } {
  const watches = new Set<ReadableStreamDefaultController<Uint8Array>>();
  const pod = (i: number) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `pod-${i}`, namespace: "payments", resourceVersion: `${i}01` },
  });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port, cert: certs.serverCert, key: certs.serverKey, onListen() {} },
    (request) => {
      const url = new URL(request.url);
      if (url.searchParams.get("watch") !== "true") {
        return Response.json({
          kind: "PodList",
          apiVersion: "v1",
          metadata: { resourceVersion: `${cycle}00` },
          items: Array.from({ length: cycle - 1 }, (_, i) => pod(i + 1)),
        });
      }
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(
            encoder.encode(JSON.stringify({ type: "ADDED", object: pod(cycle) }) + "\n"),
          );
          if (endWatches) controller.close();
          else watches.add(controller);
        },
        cancel() {},
      });
      return new Response(body, { headers: { "content-type": "application/json" } });
    },
  );
  return {
    port: server.addr.port,
    async stop() {
      const down = server.shutdown();
      await new Promise((resolve) => setTimeout(resolve, 50));
      for (const controller of watches) {
        try {
          controller.close();
        } catch {
          // already closed by the client going away
        }
      }
      await down;
    },
  };
}

async function serveOn(certs: TestCerts, port: number, cycle: number, endWatches = false) {
  for (let attempt = 0;; attempt++) {
    try {
      return serveCycle(certs, port, cycle, endWatches);
    } catch (error) {
      if (!(error instanceof Deno.errors.AddrInUse) || attempt > 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

/** Lines a child writes, as they come. */
function collectLines(
  stream: ReadableStream<Uint8Array>,
): { lines: string[]; done: Promise<void> } {
  const lines: string[] = [];
  const done = (async () => {
    let buffer = "";
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      buffer += text;
      const parts = buffer.split("\n");
      buffer = parts.pop()!;
      lines.push(...parts.filter(Boolean));
    }
  })();
  return { lines, done };
}

async function waitForLine(
  lines: string[],
  match: (line: string) => boolean,
  exited: () => boolean,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!lines.some(match)) {
    if (exited()) throw new Error(`Cannot wait for ${what}: the client exited`);
    if (Date.now() > deadline) throw new Error(`Cannot wait for ${what}: timed out`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** One subprocess through CYCLES server lives; returns its exit code and added pods. */
async function runCanoClient(certs: TestCerts, http2: boolean) {
  let server = await serveOn(certs, 0, 1);
  const port = server.port;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      `--allow-net=127.0.0.1`,
      `--allow-read=${certs.dir}`,
      "--allow-env",
      new URL("./_k8s_goaway_client.ts", import.meta.url).pathname,
    ],
    env: {
      API_URL: `https://127.0.0.1:${port}`,
      CA_FILE: `${certs.dir}/ca.crt`,
      CYCLES: String(CYCLES),
      HTTP2: http2 ? "1" : "0",
      NO_COLOR: "1",
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let exited = false;
  const status = child.status.then((s) => {
    exited = true;
    return s;
  });
  const out = collectLines(child.stdout);
  const err = collectLines(child.stderr);
  try {
    for (let cycle = 1; cycle <= CYCLES; cycle++) {
      if (cycle > 1) server = await serveOn(certs, port, cycle);
      await waitForLine(
        out.lines,
        (l) => l.includes(`"pod-${cycle}"`),
        () => exited,
        `pod-${cycle}`,
      );
      await server.stop();
    }
  } catch (error) {
    child.kill("SIGKILL");
    await status;
    await Promise.all([out.done, err.done]);
    throw new Error(`${(error as Error).message}\nstderr:\n${err.lines.join("\n")}`);
  }
  const { code, signal } = await status;
  await Promise.all([out.done, err.done]);
  const added = out.lines.flatMap((l) => {
    const parsed = JSON.parse(l);
    return parsed.added ? [parsed.added as string] : [];
  });
  return { code, signal, added, stderr: err.lines, last: out.lines.at(-1) ?? "" };
}

Deno.test({
  name:
    `createKubeClient() survives ${RUNS} runs of ${CYCLES} API server restarts with HTTP/2 GOAWAY`,
  ignore: RUNS === 0,
  async fn() {
    const certs = await makeTestCerts();
    try {
      for (let run = 0; run < RUNS; run++) {
        const result = await runCanoClient(certs, true);
        assert.equal(
          result.code,
          0,
          `run ${run}: exit ${result.code} ${result.signal ?? ""}\n${result.stderr.join("\n")}`,
        );
        assert.deepEqual(result.added, ["pod-1", "pod-2", "pod-3"], `run ${run}`);
        assert.match(result.last, /"exit":"normal"/);
      }
    } finally {
      await certs.remove();
    }
  },
});

Deno.test("createKubeClient() over HTTP/1.1 (the default) survives API server restarts", async () => {
  const certs = await makeTestCerts();
  try {
    for (let run = 0; run < 2; run++) {
      const result = await runCanoClient(certs, false);
      assert.equal(result.code, 0, result.stderr.join("\n"));
      assert.deepEqual(result.added, ["pod-1", "pod-2", "pod-3"]);
    }
  } finally {
    await certs.remove();
  }
});

Deno.test({
  name: "@kubernetes/client-node crash rate on GOAWAY under Deno (measurement, never fails)",
  ignore: CLIENT_NODE_RUNS === 0,
  async fn() {
    const certs = await makeTestCerts();
    try {
      for (const mode of ["watch", "list"]) {
        const codes: number[] = [];
        for (let run = 0; run < CLIENT_NODE_RUNS; run++) {
          const server = await serveOn(certs, 0, 2, true);
          const child = new Deno.Command(Deno.execPath(), {
            args: [
              "run",
              "--allow-net=127.0.0.1",
              `--allow-read`,
              "--allow-env",
              "--allow-sys",
              new URL("./_k8s_goaway_client_node.ts", import.meta.url).pathname,
            ],
            env: {
              API_URL: `https://127.0.0.1:${server.port}`,
              CA_FILE: `${certs.dir}/ca.crt`,
              MODE: mode,
            },
            stdout: "piped",
            stderr: "piped",
          }).spawn();
          const out = collectLines(child.stdout);
          const err = collectLines(child.stderr);
          let exited = false;
          const status = child.status.then((s) => {
            exited = true;
            return s;
          });
          await waitForLine(out.lines, (l) => l === "ready", () => exited, "ready", 5000)
            .catch(() => {});
          await server.stop();
          let hung = false;
          const timer = setTimeout(() => {
            hung = true;
            child.kill("SIGKILL");
          }, 10_000);
          const { code } = await status;
          clearTimeout(timer);
          await Promise.all([out.done, err.done]);
          codes.push(hung ? -1 : code);
          if (code !== 0) {
            Deno.stdout.writeSync(
              encoder.encode(
                `${mode} exit ${code}: ${[...out.lines, ...err.lines].slice(-4).join(" | ")}\n`,
              ),
            );
          }
        }
        const crashed = codes.filter((c) => c >= 128).length;
        Deno.stdout.writeSync(
          encoder.encode(
            `client-node ${mode}: crashed ${crashed}/${codes.length} (exit codes: ${
              codes.join(" ")
            })\n`,
          ),
        );
      }
    } finally {
      await certs.remove();
    }
  },
});
