/**
 * The `ctx` a workflow's `run` receives. The same interface in-process and in the sandbox;
 * in the sandbox every call that leaves it is an RPC checked by the host.
 *
 * @module
 */
import type { Block } from "./blocks.ts";
import type { Issue } from "./issue.ts";
import type { KubernetesCapability } from "./kubernetes.ts";

/** Structured fields attached to a log line. */
export type LogFields = Record<string, string | number | boolean | null>;

/** A logger whose lines are attributed to the workflow and the issue. */
export interface WorkflowLogger {
  /** Logs at debug level. */
  debug(message: string, fields?: LogFields): void;
  /** Logs at info level. */
  info(message: string, fields?: LogFields): void;
  /** Logs at warn level. */
  warn(message: string, fields?: LogFields): void;
  /** Logs at error level. */
  error(message: string, fields?: LogFields): void;
}

/** Recursively read-only view of a value. */
export type DeepReadonly<T> = T extends (infer U)[] ? readonly DeepReadonly<U>[]
  : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
  : T;

/** A response from `ctx.http.fetch`; the body is read as text, capped by the host. */
export interface HttpResponse {
  /** HTTP status. */
  status: number;
  /** Response headers, lower-case names. */
  headers: Record<string, string>;
  /** Body text. */
  body: string;
}

/** Headers `ctx.http.fetch` refuses: the engine sets them (framing, routing, proxying). */
export const HTTP_FORBIDDEN_HEADERS: readonly string[] = Object.freeze([
  "connection",
  "content-length",
  "host",
  "keep-alive",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** What `ctx.http.fetch` accepts. */
export interface HttpRequestInit {
  /** @default "GET" */
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD";
  /** Request headers. */
  headers?: Record<string, string>;
  /** Request body text. */
  body?: string;
}

/** HTTP to hosts the workflow declares and the operator allows. */
export interface HttpCapability {
  /**
   * Fetches a URL through the host, which checks the host name, blocks private and metadata
   * addresses and re-checks every redirect.
   *
   * @throws {Error} When the host is not allowed or the request fails.
   */
  fetch(url: string, init?: HttpRequestInit): Promise<HttpResponse>;
}

/** One series of a Prometheus result. */
export interface PrometheusSeries {
  /** Series labels. */
  metric: Record<string, string>;
  /** `[unixSeconds, value]` for instant queries. */
  value?: [number, string];
  /** `[unixSeconds, value][]` for range queries. */
  values?: [number, string][];
}

/** A Prometheus query result (`data` of the HTTP API). */
export interface PrometheusResult {
  /** `vector`, `matrix`, `scalar` or `string`. */
  resultType: string;
  /** The series. */
  result: PrometheusSeries[];
}

/** Queries against the Prometheus the operator configured. */
export interface PrometheusCapability {
  /** Instant query. @throws {Error} When not permitted or the query fails. */
  query(expr: string, options?: { time?: string }): Promise<PrometheusResult>;
  /** Range query; the host caps the range and the number of points. @throws {Error} When not permitted or the query fails. */
  queryRange(
    expr: string,
    options: { start: string; end: string; step: string },
  ): Promise<PrometheusResult>;
}

/** What a workflow's `run` receives. */
export interface WorkflowContext<P = Record<string, unknown>> {
  /** The issue being handled; read-only (add to it with `enrich`). */
  readonly issue: DeepReadonly<Issue>;
  /** The workflow's params, parsed and defaulted by its `params` schema. */
  readonly params: P;
  /** Aborted when the workflow's deadline passes; pass it to long calls. */
  readonly signal: AbortSignal;
  /** Logger attributed to this workflow and issue. */
  readonly log: WorkflowLogger;
  /**
   * Adds blocks to the issue under a title. Enrichments keep the order of the calls.
   *
   * @throws {TypeError} When a block does not match the block schema.
   */
  enrich(title: string | undefined, blocks: Block[]): void;
  /** HTTP to allow-listed hosts. */
  readonly http: HttpCapability;
  /** Prometheus queries. */
  readonly prometheus: PrometheusCapability;
  /** Kubernetes reads and (where declared and allowed) writes; see `sdk/kubernetes.ts`. */
  readonly k8s: KubernetesCapability;
  /** Drops the issue: it is not delivered anywhere. The reason is logged and counted. */
  silence(reason: string): void;
}
