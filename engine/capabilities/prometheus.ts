/**
 * The `prometheus.query` and `prometheus.queryRange` capabilities: `ctx.prometheus` served
 * by the host against the Prometheus the operator configured.
 *
 * A call is permitted when the workflow declares `permissions.prometheus: true` **and**
 * `capabilities.prometheus.url` is set. Range queries longer than `maxRangeSeconds`, or
 * whose step yields more than `maxPoints` points per series, are refused before Prometheus
 * sees them. The host adds `capabilities.prometheus.headers` (e.g. a bearer token) to every
 * request; workflows never see them.
 *
 * Times are RFC 3339 strings or Unix seconds; steps are Prometheus durations (`30s`, `5m`,
 * `1h`) or seconds. The host sends them to Prometheus as Unix seconds, so what it checked
 * is what runs. Results are `data` of the HTTP API; `scalar` and `string` results are
 * returned as one series with empty labels so every result has the same shape.
 *
 * Residual risk: the range caps bound `query_range` only. Range selectors and subqueries
 * inside an expression (`rate(x[30d])`) are bounded by Prometheus's own
 * `--query.max-samples` and the `timeout` the host passes.
 *
 * @module
 */
import type { PrometheusResult, PrometheusSeries } from "@cano/sdk";
import ms from "ms";
import { z } from "zod";
import { readCapped } from "./_body.ts";
import { describeFetchFailure } from "./_fetch_failure.ts";
import { CapabilityError, type CapabilityProvider, type ProviderContext } from "./provider.ts";

const Expr = z.string().min(1).max(16_384);
const Time = z.union([z.string().min(1).max(64), z.number()]).transform((value, ctx) => {
  const seconds = parseTime(value);
  if (seconds === undefined) {
    ctx.issues.push({
      code: "custom",
      input: value,
      message: `Expected an RFC 3339 time or Unix seconds, got "${String(value).slice(0, 64)}"`,
    });
    return z.NEVER;
  }
  return seconds;
});
const Step = z.union([z.string().min(1).max(32), z.number()]).transform((value, ctx) => {
  const seconds = typeof value === "number" ? value : parseDuration(value);
  if (seconds === undefined || !(seconds > 0)) {
    ctx.issues.push({
      code: "custom",
      input: value,
      message: `Expected a positive duration like "30s" or seconds, got "${String(value)}"`,
    });
    return z.NEVER;
  }
  return seconds;
});

/** Arguments of `prometheus.query`. */
export const PrometheusQueryArgsSchema = z.strictObject({ expr: Expr, time: Time.optional() });
/** Arguments of `prometheus.query`, parsed (time in Unix seconds). */
export type PrometheusQueryArgs = z.output<typeof PrometheusQueryArgsSchema>;

/** Arguments of `prometheus.queryRange`. */
export const PrometheusQueryRangeArgsSchema = z.strictObject({
  expr: Expr,
  start: Time,
  end: Time,
  step: Step,
}).refine((args) => args.end >= args.start, { message: "Expected end at or after start" });
/** Arguments of `prometheus.queryRange`, parsed (Unix seconds). */
export type PrometheusQueryRangeArgs = z.output<typeof PrometheusQueryRangeArgsSchema>;

/** Options of {@linkcode createPrometheusProviders}. */
export interface PrometheusProvidersOptions {
  /** HTTP client. @default globalThis.fetch */
  fetch?: typeof fetch;
}

const Sample = z.tuple([z.number(), z.string()]);
const Series = z.object({
  metric: z.record(z.string(), z.string()).default({}),
  value: Sample.optional(),
  values: z.array(Sample).optional(),
});
const Envelope = z.discriminatedUnion("status", [
  z.object({
    status: z.literal("success"),
    data: z.discriminatedUnion("resultType", [
      z.object({ resultType: z.literal("vector"), result: z.array(Series) }),
      z.object({ resultType: z.literal("matrix"), result: z.array(Series) }),
      z.object({ resultType: z.literal("scalar"), result: Sample }),
      z.object({ resultType: z.literal("string"), result: Sample }),
    ]),
  }),
  z.object({ status: z.literal("error"), errorType: z.string().optional(), error: z.string() }),
]);

/**
 * Creates the `prometheus.query` and `prometheus.queryRange` providers.
 *
 * @param options HTTP client.
 * @returns The two providers.
 */
export function createPrometheusProviders(
  { fetch = globalThis.fetch }: PrometheusProvidersOptions = {},
): [
  CapabilityProvider<PrometheusQueryArgs, PrometheusResult>,
  CapabilityProvider<PrometheusQueryRangeArgs, PrometheusResult>,
] {
  return [
    {
      name: "prometheus.query",
      args: PrometheusQueryArgsSchema,
      permitted: (permissions, policy) =>
        checkConfigured(permissions.prometheus, policy.prometheus),
      summarize: (args) => ({ expr: args.expr.slice(0, 200) }),
      handle(args, context) {
        const params: Record<string, string> = { query: args.expr };
        if (args.time !== undefined) params.time = String(args.time);
        return queryPrometheus("api/v1/query", params, context, fetch);
      },
    },
    {
      name: "prometheus.queryRange",
      args: PrometheusQueryRangeArgsSchema,
      permitted(permissions, policy, args) {
        const configured = checkConfigured(permissions.prometheus, policy.prometheus);
        if (configured !== true) return configured;
        const { maxRangeSeconds, maxPoints } = policy.prometheus;
        const range = args.end - args.start;
        const prefix = `Cannot run Prometheus range query "${shorten(args.expr)}"`;
        if (range > maxRangeSeconds) {
          return `${prefix}: the range of ${range} s is longer than ${maxRangeSeconds} s (capabilities.prometheus.maxRangeSeconds)`;
        }
        const points = Math.floor(range / args.step) + 1;
        if (points > maxPoints) {
          return `${prefix}: a step of ${args.step} s gives ${points} points per series, more than ${maxPoints} (capabilities.prometheus.maxPoints)`;
        }
        return true;
      },
      summarize: (args) => ({ expr: args.expr.slice(0, 200) }),
      handle(args, context) {
        const params = {
          query: args.expr,
          start: String(args.start),
          end: String(args.end),
          step: String(args.step),
        };
        return queryPrometheus("api/v1/query_range", params, context, fetch);
      },
    },
  ];
}

function checkConfigured(declared: boolean, policy: { url?: string | undefined }): true | string {
  if (!declared) {
    return "Cannot query Prometheus: the workflow does not declare permissions.prometheus";
  }
  if (!policy.url) {
    return "Cannot query Prometheus: no Prometheus is configured (capabilities.prometheus.url)";
  }
  return true;
}

async function queryPrometheus(
  path: string,
  params: Record<string, string>,
  context: ProviderContext,
  fetch: typeof globalThis.fetch,
): Promise<PrometheusResult> {
  const policy = context.policy.prometheus;
  const kind = path.endsWith("range") ? "range query" : "query";
  const prefix = `Cannot run Prometheus ${kind} "${shorten(params.query ?? "")}"`;
  const base = policy.url?.endsWith("/") ? policy.url : `${policy.url}/`;
  const url = new URL(path, base);
  const timeoutParam = `${Math.max(1, Math.ceil(policy.timeoutMs / 1000))}s`;
  url.search = new URLSearchParams({ ...params, timeout: timeoutParam }).toString();
  const timeout = AbortSignal.timeout(policy.timeoutMs);
  const signal = AbortSignal.any([context.signal, timeout]);
  try {
    const response = await fetch(url, { headers: policy.headers ?? {}, signal, redirect: "error" });
    const bytes = await readCapped(response, policy.maxResponseBytes);
    if (!bytes) {
      throw context.error(
        "failed",
        `${prefix}: the response exceeds ${policy.maxResponseBytes} bytes (capabilities.prometheus.maxResponseBytes)`,
      );
    }
    const envelope = Envelope.safeParse(parseJson(bytes));
    if (!envelope.success) {
      throw context.error(
        "failed",
        `${prefix}: Prometheus answered HTTP ${response.status} without its JSON envelope`,
      );
    }
    if (envelope.data.status === "error") {
      const { errorType, error } = envelope.data;
      throw context.error(
        "failed",
        `${prefix}: ${errorType ? `${errorType}: ` : ""}${shorten(error, 500)}`,
      );
    }
    return toResult(envelope.data.data);
  } catch (error) {
    if (error instanceof CapabilityError) throw error;
    const signals = {
      timeout,
      deadline: context.signal,
      timeoutMs: policy.timeoutMs,
      setting: "capabilities.prometheus.timeoutMs",
    };
    throw context.error("failed", `${prefix}: ${describeFetchFailure(error, signals)}`, error);
  }
}

type SuccessData = Extract<z.output<typeof Envelope>, { status: "success" }>["data"];

function toResult(data: SuccessData): PrometheusResult {
  if (data.resultType === "scalar" || data.resultType === "string") {
    return { resultType: data.resultType, result: [{ metric: {}, value: data.result }] };
  }
  const result = data.result.map((series) => {
    const out: PrometheusSeries = { metric: series.metric };
    if (series.value) out.value = series.value;
    if (series.values) out.values = series.values;
    return out;
  });
  return { resultType: data.resultType, result };
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (error) {
    return { status: "unparsable", error };
  }
}

/**
 * Parses an RFC 3339 time or Unix seconds, as Prometheus accepts them.
 *
 * @param value The time.
 * @returns Unix seconds, or `undefined` when unparsable.
 */
function parseTime(value: string | number): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (/^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value)) return undefined;
  const millis = Date.parse(value);
  return Number.isNaN(millis) ? undefined : millis / 1000;
}

function parseDuration(value: string): number | undefined {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
  if (!/^\d+(ms|s|m|h|d|w|y)$/.test(value)) return undefined;
  const millis = ms(value as Parameters<typeof ms>[0]);
  return typeof millis === "number" ? millis / 1000 : undefined;
}

function shorten(text: string, max = 120): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
