/**
 * The contract every Kubernetes-facing part of Cano codes against: raw API paths, JSON in
 * and out, typed errors, and watch streams as async iterables.
 *
 * The transport behind it (`client.ts`) uses `@kubernetes/client-node` only to read the
 * kubeconfig and its credentials, and Deno's own `fetch` for every request and watch:
 * client-node's HTTP/2 stack can abort the whole process on a GOAWAY from an API server
 * that restarts (measured; see `tests/k8s_goaway_test.ts`).
 *
 * @module
 */
import type { KubernetesObject } from "@cano/sdk";

/** A Kubernetes object as JSON: the SDK's type, so workflows and the engine see one shape. */
export type KubeObject = KubernetesObject;

/** A list response. */
export interface KubeList<T extends KubeObject = KubeObject> {
  /** The items. */
  items: T[];
  /** List metadata: `resourceVersion` to watch from, `continue` for paging. */
  metadata: { resourceVersion?: string; continue?: string };
}

/** One event of a watch stream. */
export interface WatchEvent<T extends KubeObject = KubeObject> {
  /** Event type. */
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  /** The object (a `Status` for ERROR). */
  object: T;
}

/** Query parameters; undefined values are left out. */
export type Query = Record<string, string | number | boolean | undefined>;

/** Options of one request. */
export interface RequestOptions {
  /** Query string parameters. */
  query?: Query;
  /** JSON body. */
  body?: unknown;
  /** Content type of the body. @default "application/json" */
  contentType?:
    | "application/json"
    | "application/merge-patch+json"
    | "application/strategic-merge-patch+json"
    | "application/json-patch+json";
  /** Aborts the request. */
  signal?: AbortSignal;
}

/** A failed API call: the HTTP status and the `Status` object's reason and message. */
export class KubeApiError extends Error {
  /** HTTP status (0 for a transport failure). */
  readonly status: number;
  /** `Status.reason`, e.g. `NotFound`, `Forbidden`, `Conflict`, `Expired`. */
  readonly reason: string | undefined;

  /**
   * @param status HTTP status, 0 for transport failures.
   * @param reason The Status reason.
   * @param message Human text.
   * @param options Error cause.
   */
  constructor(status: number, reason: string | undefined, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "KubeApiError";
    this.status = status;
    this.reason = reason;
  }
}

/** The Kubernetes API as Cano uses it. */
export interface KubeApi {
  /** Where the API server is, for logs and health. */
  readonly server: string;
  /**
   * Sends a request and parses the JSON answer.
   *
   * @throws {KubeApiError} For non-2xx answers and transport failures.
   */
  request<T = unknown>(
    method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE",
    path: string,
    options?: RequestOptions,
  ): Promise<T>;
  /**
   * GETs a text resource (pod logs).
   *
   * @throws {KubeApiError} For non-2xx answers and transport failures.
   */
  requestText(path: string, options?: { query?: Query; signal?: AbortSignal }): Promise<string>;
  /**
   * Opens a watch (`?watch=true` is added) and yields its events until the server ends it
   * or `signal` aborts. A `410 Gone` answer throws a `KubeApiError` with status 410.
   *
   * @throws {KubeApiError} When the watch cannot be opened.
   */
  watch<T extends KubeObject = KubeObject>(
    path: string,
    options?: { query?: Query; signal?: AbortSignal },
  ): AsyncIterable<WatchEvent<T>>;
}
