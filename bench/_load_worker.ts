/**
 * The load worker: a webhook sink plus closed-loop clients (see `_load.ts`).
 *
 * @module
 */
/// <reference lib="deno.worker" />
import type { LoadReply, LoadRequest, LoadResult, LoadRunOptions } from "./_load.ts";

/** Arrivals still expected per payload id. */
const expected = new Map<string, Expected>();
let lastArrival = 0;

interface Expected {
  /** Alerts not arrived yet. */
  left: number;
  /** Called when the last one arrives. */
  done: () => void;
  /** Where latencies go; only payloads of the measured window have one. */
  latencies?: number[];
}

const reply = (message: LoadReply) => self.postMessage(message);

const listening = Promise.withResolvers<number>();
const sink = Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: ({ port }) => listening.resolve(port),
}, async function receive(request) {
  const arrived = performance.now();
  const body = await request.json() as {
    issue?: { annotations?: Record<string, string> };
  };
  const annotations = body.issue?.annotations ?? {};
  const sentAt = Number(annotations["bench_sent_at"]);
  const payload = annotations["bench_payload"] ?? "";
  const entry = expected.get(payload);
  if (entry) {
    if (entry.latencies) {
      entry.latencies.push(arrived - sentAt);
      lastArrival = arrived;
    }
    if (--entry.left === 0) {
      expected.delete(payload);
      entry.done();
    }
  }
  return new Response("ok");
});

const runId = crypto.randomUUID().slice(0, 8);
let payloadSeq = 0;

function payloadOf(id: string, size: number): string {
  const sentAt = String(performance.now());
  const startsAt = new Date().toISOString();
  return JSON.stringify({
    version: "4",
    groupKey: `{}:{alertname="BenchAlert"}`,
    status: "firing",
    receiver: "cano",
    groupLabels: { alertname: "BenchAlert" },
    commonLabels: { alertname: "BenchAlert", namespace: "bench" },
    commonAnnotations: {},
    externalURL: "http://alertmanager.bench:9093",
    alerts: Array.from({ length: size }, (_, i) => ({
      status: "firing",
      labels: {
        alertname: "BenchAlert",
        namespace: "bench",
        pod: `api-${id}-${i}`,
        container: "api",
        severity: i % 3 === 0 ? "critical" : "warning",
        job: "kube-state-metrics",
        prometheus: "monitoring/kube-prometheus-stack-prometheus",
        service: "kube-prometheus-stack-kube-state-metrics",
      },
      annotations: {
        summary: `Pod bench/api-${id}-${i} is crash looping`,
        description: "Container api restarted 5 times in 10 minutes",
        runbook_url: "https://runbooks.example/KubePodCrashLooping",
        bench_sent_at: sentAt,
        bench_payload: id,
      },
      startsAt,
      endsAt: "0001-01-01T00:00:00Z",
      generatorURL: "http://prometheus.bench:9090/graph?g0.expr=up",
      fingerprint: `${id}-${i}`,
    })),
  });
}

async function run(options: LoadRunOptions): Promise<LoadResult> {
  const { url, clients, alertsPerPayload, warmupMs, durationMs, payloadTimeoutMs } = options;
  const statuses: Record<string, number> = {};
  const latencies: number[] = [];
  let payloads = 0;
  let alerts = 0;
  let lost = 0;
  const start = performance.now();
  const measureFrom = start + warmupMs;
  const end = measureFrom + durationMs;

  const client = async () => {
    while (performance.now() < end) {
      const measured = performance.now() >= measureFrom;
      const id = `${runId}-${payloadSeq++}`;
      const arrived = Promise.withResolvers<void>();
      const entry: Expected = {
        left: alertsPerPayload,
        done: arrived.resolve,
        ...(measured ? { latencies } : {}),
      };
      expected.set(id, entry);
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: payloadOf(id, alertsPerPayload),
      });
      await response.body?.cancel();
      if (measured) payloads++;
      if (!response.ok) {
        statuses[response.status] = (statuses[response.status] ?? 0) + 1;
        expected.delete(id);
        if (measured) lost += alertsPerPayload;
        continue;
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), payloadTimeoutMs);
      });
      const complete = await Promise.race([arrived.promise.then(() => true), timedOut]);
      clearTimeout(timer);
      if (!complete) expected.delete(id);
      if (measured) {
        alerts += alertsPerPayload - entry.left;
        lost += entry.left;
      }
    }
  };
  lastArrival = 0;
  await Promise.all(Array.from({ length: clients }, client));
  return {
    alerts,
    payloads,
    lost,
    elapsedMs: Math.max(lastArrival, end) - measureFrom,
    latenciesMs: latencies,
    statuses,
  };
}

self.onmessage = async (event: MessageEvent<LoadRequest>) => {
  const message = event.data;
  if (message.type === "close") {
    await sink.shutdown();
    reply({ type: "closed" });
    return;
  }
  try {
    reply({ type: "result", result: await run(message.options) });
  } catch (error) {
    reply({ type: "error", message: error instanceof Error ? error.message : String(error) });
  }
};

reply({ type: "ready", sinkUrl: `http://127.0.0.1:${await listening.promise}` });
