/**
 * Test helpers for workflow authors: run a workflow under `deno test` against an Issue and
 * recorded capability answers, then assert on what it produced.
 *
 * The test `ctx` behaves like the engine's: params are parsed by the workflow's schema,
 * blocks are validated, the issue is read-only, capability calls are checked against the
 * workflow's declared `permissions` (same error messages) and count against the same
 * per-run budget. What only the engine knows is not checked here: the operator's policy
 * (`capabilities.http.allowHosts`, private networks, Prometheus range caps) and the
 * sandbox's size limits. `deno task cano dry-run` checks those.
 *
 * Recorded HTTP answers are keyed by `"METHOD url"` (the URL as the workflow fetches it,
 * query included); Prometheus answers by the exact expression. Either can be a function
 * instead. A call with no recorded answer throws an error naming the missing key.
 * `ctx.k8s` reads from fixture objects and logs (an in-memory cluster that its writes
 * change), or from a handler; its calls are checked against `permissions.kubernetes` with
 * the engine's table, and Secrets are refused.
 *
 * @example Test a workflow that calls an API
 * ```ts
 * import { defineWorkflow, markdown } from "@cano/sdk";
 * import { runWorkflow, sampleAlertIssue } from "@cano/sdk/testing";
 * import assert from "node:assert/strict";
 *
 * const workflow = defineWorkflow({
 *   id: "owner-note",
 *   description: "Adds the owning team",
 *   triggers: [{ on: "prometheus_alert" }],
 *   permissions: { http: ["teams.example.com"] },
 *   async run(ctx) {
 *     const service = ctx.issue.labels.service ?? "unknown";
 *     const response = await ctx.http.fetch(`https://teams.example.com/owners/${service}`);
 *     ctx.enrich("Owner", [markdown(JSON.parse(response.body).team)]);
 *   },
 * });
 *
 * const result = await runWorkflow(workflow, {
 *   issue: sampleAlertIssue({ labels: { alertname: "HighErrorRate", service: "checkout" } }),
 *   http: { "GET https://teams.example.com/owners/checkout": { body: { team: "payments" } } },
 * });
 * assert.deepEqual(result.enrichments, [{ title: "Owner", blocks: [markdown("payments")] }]);
 * ```
 *
 * This file stays whole past the usual 400 lines: it is the one module authors import in
 * their tests, and its parts (recordings, permission checks, result collection) are used
 * only together.
 *
 * @module
 */
import type { z } from "zod";
import type { Block } from "./blocks.ts";
import { HTTP_FORBIDDEN_HEADERS } from "./context.ts";
import { checkEnrichment } from "./enrichment.ts";
import type {
  DeepReadonly,
  HttpRequestInit,
  HttpResponse,
  LogFields,
  PrometheusResult,
  WorkflowContext,
} from "./context.ts";
import { type Issue, IssueSchema } from "./issue.ts";
import { createTestKubernetes, type KubernetesRecording } from "./_test_cluster.ts";
import { type Permissions, type PermissionsInput, PermissionsSchema } from "./permissions.ts";
import type { Workflow } from "./workflow.ts";

/** A request `ctx.http.fetch` made, as a handler receives it. */
export interface RecordedHttpRequest {
  /** Upper-case method. */
  method: string;
  /** The URL, normalized (`new URL(url).href`). */
  url: string;
  /** Request headers as given. */
  headers: Record<string, string>;
  /** Request body, when one was sent. */
  body?: string;
}

/** A recorded HTTP answer. An object body is sent as JSON with a JSON content type. */
export interface HttpAnswer {
  /** @default 200 */
  status?: number;
  /** Response headers. @default {} */
  headers?: Record<string, string>;
  /** Body text, or a value to send as JSON. @default "" */
  body?: string | Record<string, unknown> | unknown[];
}

/** Recorded HTTP answers keyed by `"METHOD url"`, or a handler. */
export type HttpRecording =
  | Record<string, HttpAnswer>
  | ((request: RecordedHttpRequest) => HttpAnswer | Promise<HttpAnswer>);

/** A query `ctx.prometheus` made, as a handler receives it. */
export interface RecordedPrometheusQuery {
  /** `query` or `queryRange`. */
  kind: "query" | "queryRange";
  /** The PromQL expression. */
  expr: string;
  /** Instant-query time, as given. */
  time?: string;
  /** Range start, as given. */
  start?: string;
  /** Range end, as given. */
  end?: string;
  /** Range step, as given. */
  step?: string;
}

/** Recorded Prometheus results keyed by expression, or a handler. */
export type PrometheusRecording =
  | Record<string, PrometheusResult>
  | ((query: RecordedPrometheusQuery) => PrometheusResult | Promise<PrometheusResult>);

export type {
  KubernetesFixtures,
  KubernetesRecording,
  RecordedKubernetesCall,
} from "./_test_cluster.ts";

/** Options of {@linkcode createTestContext}. */
export interface TestContextOptions<P = Record<string, unknown>> {
  /** Fields replacing those of {@linkcode sampleAlertIssue}. @default {} */
  issue?: Partial<Issue>;
  /** `ctx.params`, used as given (use {@linkcode runWorkflow} to parse them). @default {} */
  params?: P;
  /** The permissions the workflow declares. @default no permissions */
  permissions?: PermissionsInput;
  /** Answers for `ctx.http.fetch`. @default none recorded */
  http?: HttpRecording;
  /** Answers for `ctx.prometheus`. @default none recorded */
  prometheus?: PrometheusRecording;
  /** Fixture objects and logs for `ctx.k8s`, or a handler. @default an empty cluster */
  k8s?: KubernetesRecording;
  /** `ctx.signal`. @default a signal that never aborts */
  signal?: AbortSignal;
  /** Workflow id shown in messages. @default "test-workflow" */
  workflowId?: string;
  /** Capability calls allowed per run, like the engine's `maxCapabilityCalls`. @default 50 */
  maxCapabilityCalls?: number;
}

/** Blocks added by one `ctx.enrich` call. */
export interface TestEnrichment {
  /** The title given. */
  title?: string;
  /** The validated blocks. */
  blocks: Block[];
}

/** One `ctx.log` line. */
export interface TestLogLine {
  /** Level. */
  level: "debug" | "info" | "warn" | "error";
  /** Message. */
  message: string;
  /** Fields, when given. */
  fields?: LogFields;
}

/** What a workflow produced in a test. */
export interface WorkflowTestResult {
  /** Enrichments in call order. */
  enrichments: TestEnrichment[];
  /** Log lines in call order. */
  logs: TestLogLine[];
  /** Capability calls in order: `"GET https://..."`, `"query up"`, `"get Pod shop/api-0"`. */
  calls: string[];
  /** The reason given to `ctx.silence`, if it was called. */
  silenced?: string;
}

/** A test `ctx` and what it records. Read `silenced` after the run, not before. */
export interface TestContext<P = Record<string, unknown>> {
  /** Pass this to the workflow's `run`. */
  ctx: WorkflowContext<P>;
  /** Enrichments in call order. */
  enrichments: TestEnrichment[];
  /** Log lines in call order. */
  logs: TestLogLine[];
  /** Capability calls in order. */
  calls: string[];
  /** The reason given to `ctx.silence`, if it was called. */
  readonly silenced: string | undefined;
}

/** Options of {@linkcode runWorkflow}. */
export type RunWorkflowOptions = Omit<TestContextOptions<unknown>, "permissions" | "workflowId">;

/**
 * Builds a valid firing Alertmanager issue (a crash-looping pod in namespace `shop`).
 * `aggregationKey` follows the `alertname` label unless given.
 *
 * @param overrides Fields to replace (shallow: `labels` replaces all labels).
 * @returns The parsed issue.
 * @throws {z.ZodError} When the overrides make the issue invalid.
 */
export function sampleAlertIssue(overrides: Partial<Issue> = {}): Issue {
  const labels = overrides.labels ?? {
    alertname: "KubePodCrashLooping",
    namespace: "shop",
    pod: "api-7c9d8b6f5-x2kqp",
    container: "api",
    severity: "warning",
  };
  return IssueSchema.parse({
    id: "0f8e6a2c-test",
    fingerprint: "3f2a9c1b7d4e8a60",
    aggregationKey: labels.alertname ?? "KubePodCrashLooping",
    type: "alert",
    source: "prometheus",
    title: "Pod is crash looping",
    severity: "MEDIUM",
    status: "firing",
    subject: { kind: "Pod", name: "api-7c9d8b6f5-x2kqp", namespace: "shop", container: "api" },
    annotations: { summary: "Pod shop/api-7c9d8b6f5-x2kqp is crash looping" },
    startsAt: "2026-03-01T10:12:04.512Z",
    createdAt: "2026-03-01T10:12:05.000Z",
    ...overrides,
    labels,
  });
}

/**
 * Creates a `ctx` for calling a workflow's `run` directly.
 *
 * @param options Issue overrides, params, permissions, recorded answers, signal.
 * @returns The ctx and the arrays it records into.
 * @throws {TypeError} When a recorded HTTP key is not `"METHOD absolute-url"`.
 */
export function createTestContext<P = Record<string, unknown>>(
  {
    issue = {},
    params = {} as P,
    permissions = {},
    http = {},
    prometheus = {},
    k8s = {},
    signal = new AbortController().signal,
    workflowId = "test-workflow",
    maxCapabilityCalls = 50,
  }: TestContextOptions<P> = {},
): TestContext<P> {
  const declared = PermissionsSchema.parse(permissions);
  const httpAnswers = typeof http === "function" ? http : normalizeKeys(http);
  const enrichments: TestEnrichment[] = [];
  const logs: TestLogLine[] = [];
  const calls: string[] = [];
  let silenced: string | undefined;
  let budget = maxCapabilityCalls;
  const spend = (name: string) => {
    if (budget <= 0) {
      throw new Error(`Cannot call "${name}": this run has used all its capability calls`);
    }
    budget -= 1;
  };
  const log = (level: TestLogLine["level"]) => (message: string, fields?: LogFields) => {
    logs.push(fields === undefined ? { level, message } : { level, message, fields });
  };
  const ctx: WorkflowContext<P> = {
    issue: deepFreeze(sampleAlertIssue(structuredClone(issue))) as DeepReadonly<Issue>,
    params,
    signal,
    log: { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") },
    enrich(title, blocks) {
      enrichments.push(checkEnrichment(workflowId, title, blocks));
    },
    silence(reason) {
      silenced = String(reason);
    },
    http: {
      async fetch(url, init) {
        spend("http.fetch");
        const request = checkFetch(url, init, declared);
        calls.push(`${request.method} ${request.url}`);
        const answer = typeof httpAnswers === "function"
          ? await httpAnswers(request)
          : recorded(httpAnswers, `${request.method} ${request.url}`, `Cannot fetch "${url}"`);
        return toResponse(answer);
      },
    },
    prometheus: {
      async query(expr, options = {}) {
        spend("prometheus.query");
        return await answerQuery({ kind: "query", expr, ...options });
      },
      async queryRange(expr, options) {
        spend("prometheus.queryRange");
        return await answerQuery({ kind: "queryRange", expr, ...options });
      },
    },
    k8s: createTestKubernetes(k8s, declared.kubernetes, {
      spend,
      record: (text) => calls.push(text),
    }),
  };
  async function answerQuery(query: RecordedPrometheusQuery): Promise<PrometheusResult> {
    if (!declared.prometheus) {
      throw new Error(
        "Cannot query Prometheus: the workflow does not declare permissions.prometheus",
      );
    }
    calls.push(`${query.kind} ${query.expr}`);
    const label = query.kind === "query" ? "query" : "range query";
    const result = typeof prometheus === "function"
      ? await prometheus(query)
      : recorded(prometheus, query.expr, `Cannot run Prometheus ${label} "${query.expr}"`);
    return structuredClone(result);
  }
  return {
    ctx,
    enrichments,
    logs,
    calls,
    get silenced() {
      return silenced;
    },
  };
}

/**
 * Runs a workflow as the engine would: parses the params with its schema, builds the ctx
 * with its declared permissions, awaits `run`, and returns what it produced.
 *
 * @param workflow A workflow made by `defineWorkflow`.
 * @param options Issue overrides, raw params, recorded answers and signal.
 * @returns Enrichments, logs, capability calls and the silence reason.
 * @throws {TypeError} When the params do not match the workflow's schema.
 * @throws {unknown} Whatever the workflow's `run` throws.
 */
export async function runWorkflow<S extends z.ZodType>(
  workflow: Workflow<S>,
  options: RunWorkflowOptions = {},
): Promise<WorkflowTestResult> {
  const parsed = workflow.params.safeParse(options.params ?? {});
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new TypeError(
      `Cannot run workflow "${workflow.id}": invalid params (${detail.join("; ")})`,
    );
  }
  const test = createTestContext<z.output<S>>({
    ...options,
    params: parsed.data,
    permissions: workflow.permissions,
    workflowId: workflow.id,
  });
  await workflow.run(test.ctx);
  const { enrichments, logs, calls, silenced } = test;
  return silenced === undefined
    ? { enrichments, logs, calls }
    : { enrichments, logs, calls, silenced };
}

function checkFetch(
  url: string,
  init: HttpRequestInit = {},
  permissions: Permissions,
): RecordedHttpRequest {
  const parsed = URL.parse(url);
  if (!parsed) {
    throw new Error('Cannot call "http.fetch": invalid arguments: url: Expected an absolute URL');
  }
  const method = (init.method ?? "GET").toUpperCase();
  if (init.body !== undefined && (method === "GET" || method === "HEAD")) {
    throw new Error(
      'Cannot call "http.fetch": invalid arguments: init.body: GET and HEAD requests cannot have a body',
    );
  }
  const headers = init.headers ?? {};
  const owned = Object.keys(headers).find((name) =>
    HTTP_FORBIDDEN_HEADERS.includes(name.toLowerCase())
  );
  if (owned) {
    throw new Error(
      `Cannot call "http.fetch": invalid arguments: init.headers.${owned}: This header is set by the host`,
    );
  }
  const shown = `${parsed.protocol}//${parsed.host}${parsed.pathname}${parsed.search ? "?…" : ""}`;
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new Error(
      `Cannot fetch "${shown}": scheme "${
        parsed.protocol.slice(0, -1)
      }" is not allowed (allowed: http, https)`,
    );
  }
  if (!permissions.http.some((pattern) => hostMatches(pattern, parsed))) {
    const list = permissions.http.join(", ") || "none";
    throw new Error(
      `Cannot fetch "${shown}": host "${parsed.host}" is not in the workflow's permissions.http (declared: ${list})`,
    );
  }
  const request: RecordedHttpRequest = { method, url: parsed.href, headers: { ...headers } };
  if (init.body !== undefined) request.body = init.body;
  return request;
}

/** Same matching as the engine: `*.example.com` covers subdomains; no port means any port. */
function hostMatches(pattern: string, url: URL): boolean {
  const [, name = "", port] = /^(.*?)(?::(\d+))?$/.exec(pattern.toLowerCase()) ?? [];
  const host = url.hostname.toLowerCase().replace(/\.$/, "");
  const urlPort = url.port || (url.protocol === "https:" ? "443" : "80");
  if (port !== undefined && Number(port) !== Number(urlPort)) return false;
  if (name.startsWith("*.")) return host.endsWith(name.slice(1)) && host.length > name.length - 1;
  return host === name;
}

function normalizeKeys(answers: Record<string, HttpAnswer>): Record<string, HttpAnswer> {
  const out: Record<string, HttpAnswer> = {};
  for (const [key, answer] of Object.entries(answers)) {
    const [method = "", url = ""] = key.split(/\s+/, 2);
    const parsed = URL.parse(url);
    if (!/^[A-Za-z]+$/.test(method) || !parsed) {
      throw new TypeError(
        `Cannot record HTTP answer "${key}": expected "METHOD absolute-url", e.g. "GET https://api.example.com/x"`,
      );
    }
    out[`${method.toUpperCase()} ${parsed.href}`] = answer;
  }
  return out;
}

function recorded<T>(answers: Record<string, T>, key: string, action: string): T {
  if (Object.hasOwn(answers, key)) return answers[key] as T;
  const known = Object.keys(answers).map((k) => `"${k}"`).join(", ") || "none";
  throw new Error(`${action}: no recorded answer for "${key}" (recorded: ${known})`);
}

function toResponse(answer: HttpAnswer): HttpResponse {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(answer.headers ?? {})) {
    headers[name.toLowerCase()] = value;
  }
  let body = answer.body ?? "";
  if (typeof body !== "string") {
    body = JSON.stringify(body);
    headers["content-type"] ??= "application/json";
  }
  return { status: answer.status ?? 200, headers, body };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
