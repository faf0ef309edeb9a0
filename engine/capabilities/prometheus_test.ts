import { type PermissionsInput, PermissionsSchema, type PrometheusResult } from "@cano/sdk";
import assert from "node:assert/strict";
import { type CapabilityCallContext, CapabilityError, createCapabilityHost } from "./host.ts";
import type { CapabilityPolicyInput } from "./policy.ts";

const TOKEN = "Bearer prom-token";

/**
 * A local server implementing the shape of Prometheus's query API: the same parameter
 * validation (float or RFC 3339 times, float or duration steps, 11,000 points per series)
 * and the same JSON envelope and status codes for success and errors.
 */
function servePrometheus(delayMs = 0) {
  const requests: URLSearchParams[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    requests.push(url.searchParams);
    if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (req.headers.get("authorization") !== TOKEN) {
      return new Response("Unauthorized\n", { status: 401 });
    }
    if (req.method !== "GET" && req.method !== "POST") return new Response(null, { status: 405 });
    const params = url.searchParams;
    try {
      const expr = param(params, "query", parseQuery);
      if (url.pathname === "/prom/api/v1/query") {
        const time = params.has("time") ? param(params, "time", parseTime) : Date.now() / 1000;
        if (params.has("timeout")) param(params, "timeout", parseDuration);
        return success(instant(expr, time));
      }
      if (url.pathname === "/prom/api/v1/query_range") {
        const start = param(params, "start", parseTime);
        const end = param(params, "end", parseTime);
        if (end < start) throw badData("end", "end timestamp must not be before start time");
        const step = param(params, "step", parseDuration);
        if (step <= 0) {
          throw badData(
            "step",
            "zero or negative query resolution step widths are not accepted. Try a positive integer",
          );
        }
        if ((end - start) / step > 11000) {
          throw new ApiError(
            "bad_data",
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
          );
        }
        const values: [number, string][] = [];
        for (let t = start; t <= end; t += step) values.push([t, "1"]);
        return success({ resultType: "matrix", result: [{ metric: { job: "api" }, values }] });
      }
      return new Response("404 page not found\n", { status: 404 });
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      const status = error.errorType === "execution" ? 422 : 400;
      return Response.json({ status: "error", errorType: error.errorType, error: error.message }, {
        status,
      });
    }
  });
  return { server, requests, url: `http://127.0.0.1:${server.addr.port}/prom` };
}

class ApiError extends Error {
  constructor(readonly errorType: string, message: string) {
    super(message);
  }
}

function badData(name: string, message: string): ApiError {
  return new ApiError("bad_data", `invalid parameter "${name}": ${message}`);
}

function param<T>(params: URLSearchParams, name: string, parse: (value: string) => T): T {
  try {
    return parse(params.get(name) ?? "");
  } catch (error) {
    throw badData(name, (error as Error).message);
  }
}

function parseQuery(expr: string): string {
  if (!expr) throw new Error("1:1: parse error: no expression found in input");
  let depth = 0;
  for (const char of expr) {
    if ("({[".includes(char)) depth++;
    if (")}]".includes(char)) depth--;
  }
  if (depth !== 0) throw new Error(`1:${expr.length + 1}: parse error: unclosed left parenthesis`);
  return expr;
}

function parseTime(value: string): number {
  if (/^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  const millis = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value) || Number.isNaN(millis)) {
    throw new Error(`cannot parse "${value}" to a valid timestamp`);
  }
  return millis / 1000;
}

function parseDuration(value: string): number {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
  const match = /^(\d+)(ms|s|m|h|d|w|y)$/.exec(value);
  const units: Record<string, number> = {
    ms: 0.001,
    s: 1,
    m: 60,
    h: 3600,
    d: 86400,
    w: 604800,
    y: 31536000,
  };
  if (!match) throw new Error(`cannot parse "${value}" to a valid duration`);
  return Number(match[1]) * units[match[2]!]!;
}

function instant(expr: string, time: number): unknown {
  if (expr === "error_execution") {
    throw new ApiError(
      "execution",
      "query processing would load too many samples into memory in query execution",
    );
  }
  if (expr === "scalar(1)") return { resultType: "scalar", result: [time, "1"] };
  if (expr.startsWith("up")) {
    return {
      resultType: "vector",
      result: [{ metric: { __name__: "up", job: "api" }, value: [time, "1"] }],
    };
  }
  return { resultType: "vector", result: [] };
}

function success(data: unknown): Response {
  return Response.json({ status: "success", data });
}

function context(permissions: PermissionsInput = { prometheus: true }): CapabilityCallContext {
  return {
    workflowId: "prometheus-context",
    permissions: PermissionsSchema.parse(permissions),
    signal: new AbortController().signal,
    budget: { remaining: 20 },
  };
}

function policyFor(url: string, extra: Record<string, number> = {}): CapabilityPolicyInput {
  return { prometheus: { url, headers: { Authorization: TOKEN }, ...extra } };
}

async function rejection(promise: Promise<unknown>): Promise<CapabilityError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CapabilityError) return error;
    throw error;
  }
  throw new Error("Expected the call to be rejected");
}

Deno.test("prometheus.query returns data and sends the policy's headers and timeout", async () => {
  const prom = servePrometheus();
  await using _ = prom.server;
  const host = createCapabilityHost({ policy: policyFor(prom.url) });
  const result = await host.call(
    "prometheus.query",
    { expr: 'up{job="api"}', time: "2026-03-01T10:00:00Z" },
    context(),
  ) as PrometheusResult;
  assert.equal(result.resultType, "vector");
  assert.deepEqual(result.result, [{
    metric: { __name__: "up", job: "api" },
    value: [1772359200, "1"],
  }]);
  assert.equal(prom.requests[0]?.get("time"), "1772359200");
  assert.equal(prom.requests[0]?.get("timeout"), "10s");
});

Deno.test("prometheus.query returns a scalar as one series with empty labels", async () => {
  const prom = servePrometheus();
  await using _ = prom.server;
  const host = createCapabilityHost({ policy: policyFor(prom.url) });
  const result = await host.call(
    "prometheus.query",
    { expr: "scalar(1)", time: 1700000000 },
    context(),
  );
  assert.deepEqual(result, {
    resultType: "scalar",
    result: [{ metric: {}, value: [1700000000, "1"] }],
  });
});

Deno.test("prometheus.queryRange returns a matrix with one point per step", async () => {
  const prom = servePrometheus();
  await using _ = prom.server;
  const host = createCapabilityHost({ policy: policyFor(prom.url) });
  const result = await host.call(
    "prometheus.queryRange",
    { expr: "up", start: "2026-03-01T09:00:00Z", end: "2026-03-01T10:00:00Z", step: "1m" },
    context(),
  ) as PrometheusResult;
  assert.equal(result.resultType, "matrix");
  assert.equal(result.result[0]?.values?.length, 61);
  assert.equal(prom.requests[0]?.get("step"), "60");
});

Deno.test("prometheus errors carry Prometheus's error text", async () => {
  const prom = servePrometheus();
  await using _ = prom.server;
  const host = createCapabilityHost({ policy: policyFor(prom.url) });
  const parse = await rejection(host.call("prometheus.query", { expr: "rate(up[5m]" }, context()));
  assert.equal(parse.reason, "failed");
  assert.equal(
    parse.message,
    'Cannot run Prometheus query "rate(up[5m]": bad_data: invalid parameter "query": 1:12: parse error: unclosed left parenthesis',
  );
  const exec = await rejection(
    host.call("prometheus.query", { expr: "error_execution" }, context()),
  );
  assert.match(exec.message, /: execution: query processing would load too many samples/);
});

Deno.test("prometheus.queryRange refuses ranges and steps over the policy caps before querying", async () => {
  const prom = servePrometheus();
  await using _ = prom.server;
  const host = createCapabilityHost({ policy: policyFor(prom.url, { maxRangeSeconds: 86400 }) });
  const long = await rejection(host.call(
    "prometheus.queryRange",
    { expr: "up", start: 0, end: 2 * 86400, step: "1h" },
    context(),
  ));
  assert.equal(long.reason, "not_permitted");
  assert.match(
    long.message,
    /the range of 172800 s is longer than 86400 s \(capabilities\.prometheus\.maxRangeSeconds\)$/,
  );
  const dense = await rejection(host.call(
    "prometheus.queryRange",
    { expr: "up", start: 0, end: 86400, step: "5s" },
    context(),
  ));
  assert.equal(dense.reason, "not_permitted");
  assert.match(dense.message, /a step of 5 s gives 17281 points per series, more than 11000/);
  assert.equal(prom.requests.length, 0);
});

Deno.test("prometheus.queryRange forwards Prometheus's own resolution limit when the policy is looser", async () => {
  const prom = servePrometheus();
  await using _ = prom.server;
  const host = createCapabilityHost({ policy: policyFor(prom.url, { maxPoints: 50000 }) });
  const error = await rejection(host.call(
    "prometheus.queryRange",
    { expr: "up", start: 0, end: 86400, step: 5 },
    context(),
  ));
  assert.equal(error.reason, "failed");
  assert.match(
    error.message,
    /bad_data: exceeded maximum resolution of 11,000 points per timeseries/,
  );
});

Deno.test("prometheus calls reject bad times and steps as invalid arguments", async () => {
  const host = createCapabilityHost({ policy: { prometheus: { url: "http://127.0.0.1:1" } } });
  const time = await rejection(
    host.call("prometheus.query", { expr: "up", time: "yesterday" }, context()),
  );
  assert.equal(time.reason, "invalid_args");
  assert.match(time.message, /time: Expected an RFC 3339 time or Unix seconds, got "yesterday"/);
  const step = await rejection(host.call(
    "prometheus.queryRange",
    { expr: "up", start: 0, end: 60, step: "1h30m" },
    context(),
  ));
  assert.match(step.message, /step: Expected a positive duration/);
  const order = await rejection(host.call(
    "prometheus.queryRange",
    { expr: "up", start: 60, end: 0, step: 15 },
    context(),
  ));
  assert.match(order.message, /Expected end at or after start/);
});

Deno.test("prometheus calls are refused without the workflow's permission or a configured URL", async () => {
  const prom = servePrometheus();
  await using _ = prom.server;
  const configured = createCapabilityHost({ policy: policyFor(prom.url) });
  const undeclared = await rejection(
    configured.call("prometheus.query", { expr: "up" }, context({})),
  );
  assert.equal(undeclared.reason, "not_permitted");
  assert.equal(
    undeclared.message,
    "Cannot query Prometheus: the workflow does not declare permissions.prometheus",
  );
  const unconfigured = createCapabilityHost({ policy: {} });
  const missing = await rejection(unconfigured.call("prometheus.query", { expr: "up" }, context()));
  assert.equal(
    missing.message,
    "Cannot query Prometheus: no Prometheus is configured (capabilities.prometheus.url)",
  );
  assert.equal(prom.requests.length, 0);
});

Deno.test("prometheus calls fail clearly on non-API answers, large bodies and timeouts", async () => {
  const prom = servePrometheus();
  await using _ = prom.server;
  const noAuth = createCapabilityHost({ policy: { prometheus: { url: prom.url } } });
  const unauthorized = await rejection(noAuth.call("prometheus.query", { expr: "up" }, context()));
  assert.match(unauthorized.message, /: Prometheus answered HTTP 401 without its JSON envelope$/);
  const small = createCapabilityHost({ policy: policyFor(prom.url, { maxResponseBytes: 100 }) });
  const large = await rejection(
    small.call("prometheus.queryRange", { expr: "up", start: 0, end: 3600, step: 60 }, context()),
  );
  assert.match(
    large.message,
    /the response exceeds 100 bytes \(capabilities\.prometheus\.maxResponseBytes\)$/,
  );

  const slow = servePrometheus(400);
  await using _slow = slow.server;
  const impatient = createCapabilityHost({ policy: policyFor(slow.url, { timeoutMs: 50 }) });
  const timedOut = await rejection(impatient.call("prometheus.query", { expr: "up" }, context()));
  assert.match(timedOut.message, /timed out after 50 ms \(capabilities\.prometheus\.timeoutMs\)$/);
});
