/**
 * A Kubernetes API test server: a real HTTP server on 127.0.0.1 speaking the API server's
 * wire protocol for any resource path (`/api/v1/...`, `/apis/<group>/<version>/...`,
 * namespaced and cluster-scoped, custom resources), backed by an in-memory store.
 *
 * What it does like kube-apiserver: one global, increasing `resourceVersion`; LIST with
 * `limit`/`continue` (consistent at the first page's version, `410 Expired` once compacted),
 * label selectors and the field selectors the real server supports per resource (others
 * answer 400); items of built-in kinds in a list carry no `kind`/`apiVersion`; WATCH
 * replaying changes after a version from a bounded history (`410 Gone` when too old),
 * objects moving in and out of a selector turning into ADDED/DELETED, `BOOKMARK`s when
 * asked for, `timeoutSeconds`; POST (`409 AlreadyExists`, `generateName`), PUT with the
 * `resourceVersion` precondition (`409 Conflict`), PATCH (merge, strategic merge treated as
 * merge, JSON patch), DELETE, the `status` subresource (status ignored on the main resource
 * and the rest ignored on `status`, for the kinds that have one), no-op updates keeping the
 * version, `generation` bumped on spec changes, pod logs, `Status` error bodies, bearer
 * token authentication and a `forbid()` authorization hook.
 *
 * Test controls cut, end, silence and expire watches, compact history, inject failures and
 * record every request. The file stays whole (over 400 lines) because the protocol and its
 * controls share one store and one list of open watches.
 *
 * @example Serve a pod to a plain fetch
 * ```ts
 * import { startKubeApiServer } from "./_kube_api_server.ts";
 * import assert from "node:assert/strict";
 *
 * await using server = await startKubeApiServer();
 * server.apply({ apiVersion: "v1", kind: "Pod", metadata: { name: "api-0", namespace: "shop" } });
 * const list = await (await fetch(`${server.url}/api/v1/namespaces/shop/pods`)).json();
 * assert.equal(list.kind, "PodList");
 * assert.equal(list.items[0].metadata.name, "api-0");
 * ```
 *
 * @module
 */
import type { KubeObject } from "../engine/kubernetes/api.ts";
import { KUBE_RESOURCES, resourceOf } from "../engine/kubernetes/paths.ts";
import {
  jsonPatch,
  mergePatch,
  parseFieldSelector,
  parseLabelSelector,
  type Selector,
  SelectorError,
} from "./_kube_selectors.ts";

/** Options of {@linkcode startKubeApiServer}. */
export interface KubeApiServerOptions {
  /** Changes kept for watches to resume from. @default 1000 */
  historySize?: number;
  /** Interval of BOOKMARK events on watches that allow them. @default 60000 */
  bookmarkIntervalMs?: number;
  /** Require `Authorization: Bearer <token>` (401 otherwise). @default no authentication */
  token?: string;
  /** Serve TLS with this PEM certificate chain and key. @default plain HTTP */
  tls?: { cert: string; key: string };
  /** Resources whose `status` is a subresource. @default common built-ins and alertreactions */
  statusSubresources?: string[];
  /** Clock for timestamps and `sinceSeconds`. @default Date.now */
  now?: () => number;
}

/** One request the server received. */
export interface KubeRequestRecord {
  /** HTTP method. */
  method: string;
  /** Path without the query. */
  path: string;
  /** Query parameters. */
  query: Record<string, string>;
  /** Kubernetes verb: get, list, watch, create, update, patch, delete. */
  verb: string;
  /** Request headers (lower-case names). */
  headers: Record<string, string>;
  /** JSON body, if any. */
  body?: unknown;
}

/** A log line with its time, for `sinceSeconds` and `timestamps`. */
export interface LogLine {
  /** RFC 3339 time. */
  time: string;
  /** Text without newline. */
  text: string;
}

/** Logs of one container. */
export interface PodLogs {
  /** Current container's log. */
  current?: string | LogLine[];
  /** Previous (terminated) container's log. */
  previous?: string | LogLine[];
}

/** A failure to inject. */
export interface InjectedFailure {
  /** HTTP status to answer. */
  status: number;
  /** Only for this method. */
  method?: string;
  /** Only for paths starting with this (or matching this regex). */
  path?: string | RegExp;
  /** Only for watch requests (true) or non-watch requests (false). */
  watch?: boolean;
  /** How many requests fail. @default 1 */
  times?: number;
  /** Status reason. @default "InternalError" */
  reason?: string;
}

/** An object as stored: with name, uid and resourceVersion. */
export type Stored<T extends KubeObject> = T & {
  metadata: NonNullable<KubeObject["metadata"]> & {
    name: string;
    uid: string;
    resourceVersion: string;
  };
};

/** The running server and its controls. */
export interface KubeApiServer extends AsyncDisposable {
  /** Base URL, e.g. `http://127.0.0.1:43121`. */
  readonly url: string;
  /** Current global resourceVersion. */
  readonly resourceVersion: number;
  /** Every request received, in order. */
  readonly requests: KubeRequestRecord[];
  /** Number of open watch streams. */
  readonly openWatches: number;
  /** Creates or replaces an object (no checks; status kept as given); returns the stored copy. */
  apply<T extends KubeObject>(object: T): Stored<T>;
  /** Replaces an existing object; throws when it does not exist. */
  update<T extends KubeObject>(object: T): Stored<T>;
  /** Deletes by object path (e.g. `/api/v1/namespaces/a/pods/p`) or object; false when absent. */
  remove(target: string | KubeObject): boolean;
  /** Reads by object path. */
  get<T extends KubeObject = KubeObject>(path: string): T | undefined;
  /** Sets a container's logs. */
  setPodLog(namespace: string, pod: string, container: string, logs: PodLogs): void;
  /** Answers 403 for a verb (or `*`) on paths starting with a prefix or on a resource name (`pods`, `pods/log`). */
  forbid(verb: string, resource: string): void;
  /** Removes every `forbid()` rule. */
  allowAll(): void;
  /** Makes matching requests fail. */
  failNext(failure: InjectedFailure): void;
  /** Cuts every open watch with a transport error (an API server restart). */
  dropWatches(): number;
  /** Ends every open watch cleanly (server-side timeout). */
  endWatches(): number;
  /** Keeps open watches connected but sends them nothing more (a silent, half-open watch). */
  silenceWatches(): number;
  /** Sends `ERROR 410 Expired` in every open watch and ends it. */
  expireWatches(): number;
  /** Forgets the change history: watches from older versions get 410 until newer changes. */
  compact(): void;
  /** Sends a BOOKMARK now on every watch that allows them. */
  sendBookmarks(): number;
  /** Waits until at least `count` watches are open. */
  waitForWatches(count: number, timeoutMs?: number): Promise<void>;
  /** Stops the server. */
  close(): Promise<void>;
}

interface Target {
  group: string;
  version: string;
  plural: string;
  namespace?: string | undefined;
  name?: string | undefined;
  subresource?: string | undefined;
}

interface Change {
  rv: number;
  type: "ADDED" | "MODIFIED" | "DELETED";
  col: string;
  object: KubeObject;
  previous?: KubeObject | undefined;
}

interface Watch {
  col: string;
  namespace: string | undefined;
  match: Selector;
  bookmarks: boolean;
  silenced: boolean;
  send(line: unknown): void;
  finish(how: "end" | "error"): void;
}

const DEFAULT_STATUS = [
  "pods",
  "nodes",
  "namespaces",
  "services",
  "deployments",
  "replicasets",
  "statefulsets",
  "daemonsets",
  "jobs",
  "cronjobs",
  "alertreactions",
];
const NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789";
const encoder = new TextEncoder();

/** Parses an API path into group, version, resource, namespace, name and subresource. */
function parseTarget(pathname: string): Target | undefined {
  const segs = pathname.split("/").filter(Boolean).map(decodeURIComponent);
  let rest: string[];
  let group = "";
  let version: string | undefined;
  if (segs[0] === "api") [version, rest] = [segs[1], segs.slice(2)];
  else if (segs[0] === "apis") [group, version, rest] = [segs[1] ?? "", segs[2], segs.slice(3)];
  else return undefined;
  if (!version || rest.length === 0) return undefined;
  let namespace: string | undefined;
  if (
    rest[0] === "namespaces" && rest.length >= 3 && !(rest.length === 3 && rest[2] === "status")
  ) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  if (rest.length > 3) return undefined;
  const [plural = "", name, subresource] = rest;
  return { group, version, plural, namespace, name, subresource };
}

function colKey(t: { group: string; version: string; plural: string }): string {
  return `${t.group}/${t.version}/${t.plural}`;
}

function objKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ""}/${name}`;
}

function guessPlural(kind: string): string {
  const lower = kind.toLowerCase();
  if (/(s|x|ch|sh)$/.test(lower)) return `${lower}es`;
  if (/[^aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`;
  return `${lower}s`;
}

function isBuiltIn(group: string): boolean {
  return group === "" || !group.includes(".") || group.endsWith(".k8s.io");
}

function groupResource(t: { group: string; plural: string }): string {
  return t.group ? `${t.plural}.${t.group}` : t.plural;
}

function status(code: number, reason: string, message: string, details?: object): Response {
  return Response.json(
    {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message,
      reason,
      ...(details ? { details } : {}),
      code,
    },
    { status: code },
  );
}

function sameContent(a: KubeObject, b: KubeObject): boolean {
  const strip = (o: KubeObject) => ({
    ...o,
    metadata: { ...o.metadata, resourceVersion: undefined, generation: undefined },
  });
  return JSON.stringify(strip(a)) === JSON.stringify(strip(b));
}

function specOf(o: KubeObject): string {
  const { metadata: _m, status: _s, ...rest } = o;
  return JSON.stringify(rest);
}

function verbOf(method: string, t: Target, query: URLSearchParams): string {
  const watch = query.get("watch") === "true" || query.get("watch") === "1";
  switch (method) {
    case "GET":
      return watch ? "watch" : t.name === undefined ? "list" : "get";
    case "POST":
      return "create";
    case "PUT":
      return "update";
    case "PATCH":
      return "patch";
    case "DELETE":
      return t.name === undefined ? "deletecollection" : "delete";
    default:
      return method.toLowerCase();
  }
}

function tail(lines: string[], query: URLSearchParams): string[] {
  const n = query.get("tailLines");
  return n === null ? lines : lines.slice(Math.max(0, lines.length - Number(n)));
}

/**
 * Starts the test API server on 127.0.0.1 and a free port.
 *
 * @param options History size, bookmark interval, authentication, TLS, status subresources, clock.
 * @returns The server and its controls; `await using` closes it.
 */
export async function startKubeApiServer(
  {
    historySize = 1000,
    bookmarkIntervalMs = 60_000,
    token,
    tls,
    statusSubresources = DEFAULT_STATUS,
    now = Date.now,
  }: KubeApiServerOptions = {},
): Promise<KubeApiServer> {
  const store = new Map<string, Map<string, KubeObject>>();
  const kinds = new Map<string, { kind: string; apiVersion: string }>();
  const history: Change[] = [];
  const watches = new Set<Watch>();
  const logs = new Map<string, PodLogs>();
  const forbidden: { verb: string; resource: string }[] = [];
  const failures: InjectedFailure[] = [];
  const requests: KubeRequestRecord[] = [];
  let rv = 0;
  let compactedRv = 0;

  const timestamp = () => new Date(now()).toISOString().replace(/\.\d+Z$/, "Z");
  const collection = (col: string) => {
    let map = store.get(col);
    if (!map) store.set(col, map = new Map());
    return map;
  };
  const kindOf = (t: Target) => {
    const known = kinds.get(colKey(t));
    if (known) return known;
    const apiVersion = t.group ? `${t.group}/${t.version}` : t.version;
    const row = KUBE_RESOURCES.find((r) =>
      r.group === t.group && r.version === t.version && r.plural === t.plural
    );
    if (row) return { kind: row.kind, apiVersion };
    const singular = t.plural.replace(/ies$/, "y").replace(
      /(ses|xes|ches|shes)$/,
      (m) => m.slice(0, -2),
    ).replace(/s$/, "");
    return { kind: singular.charAt(0).toUpperCase() + singular.slice(1), apiVersion };
  };
  const learnKind = (t: Target, object: KubeObject) => {
    if (object.kind && object.apiVersion) {
      kinds.set(colKey(t), { kind: object.kind, apiVersion: object.apiVersion });
    }
  };
  const targetOf = (object: KubeObject): Target => {
    const apiVersion = object.apiVersion ?? "v1";
    const row = resourceOf({ kind: object.kind, apiVersion });
    const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
    const plural = row?.plural ?? guessPlural(object.kind ?? "");
    const namespaced = row ? row.namespaced : Boolean(object.metadata?.namespace);
    return {
      group: group ?? "",
      version: version ?? "v1",
      plural,
      namespace: namespaced ? object.metadata?.namespace : undefined,
      name: object.metadata?.name,
    };
  };

  const eventFor = (w: Watch, change: Change): { type: string; object: KubeObject } | undefined => {
    if (w.col !== change.col) return undefined;
    if (w.namespace !== undefined && change.object.metadata?.namespace !== w.namespace) {
      return undefined;
    }
    const now = w.match(change.object);
    const before = change.previous !== undefined && w.match(change.previous);
    if (change.type === "MODIFIED") {
      if (now && before) return change;
      if (now) return { type: "ADDED", object: change.object };
      if (before) return { type: "DELETED", object: change.object };
      return undefined;
    }
    return now ? change : undefined;
  };
  const record = (type: Change["type"], t: Target, object: KubeObject, previous?: KubeObject) => {
    const change: Change = { rv, type, col: colKey(t), object: structuredClone(object), previous };
    history.push(change);
    while (history.length > historySize) compactedRv = history.shift()!.rv;
    for (const w of watches) {
      const event = eventFor(w, change);
      if (event && !w.silenced) w.send(event);
    }
  };

  /** Writes an object (create or replace) and records the change. */
  const write = (t: Target, object: KubeObject, previous: KubeObject | undefined): KubeObject => {
    const stored = structuredClone(object);
    stored.metadata ??= {};
    if (previous) {
      const meta = stored.metadata as Record<string, unknown>;
      meta.uid = previous.metadata?.uid;
      meta.creationTimestamp = previous.metadata?.creationTimestamp;
      meta.generation = (previous.metadata?.generation ?? 1) +
        (specOf(previous) !== specOf(stored) ? 1 : 0);
      meta.resourceVersion = previous.metadata?.resourceVersion;
      if (sameContent(previous, stored)) return structuredClone(previous);
    } else {
      stored.metadata.uid ??= crypto.randomUUID();
      stored.metadata.creationTimestamp ??= timestamp();
      stored.metadata.generation ??= 1;
    }
    if (t.namespace !== undefined) stored.metadata.namespace = t.namespace;
    const kind = kindOf(t);
    stored.kind ??= kind.kind;
    stored.apiVersion ??= kind.apiVersion;
    learnKind(t, stored);
    stored.metadata.resourceVersion = String(++rv);
    collection(colKey(t)).set(objKey(t.namespace, stored.metadata.name!), stored);
    record(previous ? "MODIFIED" : "ADDED", t, stored, previous);
    return structuredClone(stored);
  };
  const erase = (t: Target, name: string): KubeObject | undefined => {
    const map = collection(colKey(t));
    const previous = map.get(objKey(t.namespace, name));
    if (!previous) return undefined;
    map.delete(objKey(t.namespace, name));
    const gone = structuredClone(previous);
    gone.metadata!.resourceVersion = String(++rv);
    record("DELETED", t, gone, previous);
    return gone;
  };

  const items = (t: Target, match: Selector) =>
    [...collection(colKey(t)).entries()]
      .filter(([, o]) => t.namespace === undefined || o.metadata?.namespace === t.namespace)
      .filter(([, o]) => match(o))
      .sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);

  const selectorOf = (t: Target, query: URLSearchParams): Selector => {
    const labels = parseLabelSelector(query.get("labelSelector"));
    const fields = parseFieldSelector(query.get("fieldSelector"), t.plural);
    const name = t.name;
    return (o) =>
      labels(o) && fields(o) &&
      (name === undefined || (o as KubeObject).metadata?.name === name);
  };

  const list = (t: Target, query: URLSearchParams): Response => {
    const match = selectorOf(t, query);
    let listRv = rv;
    let after = "";
    const token = query.get("continue");
    if (token) {
      try {
        ({ rv: listRv, after } = JSON.parse(atob(token)));
      } catch {
        return status(
          400,
          "BadRequest",
          "continue key is not valid: incorrect encoded start resourceVersion",
        );
      }
      if (listRv < compactedRv) {
        return status(
          410,
          "Expired",
          "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
        );
      }
    }
    const all = items(t, match).filter(([key]) => key > after);
    const limit = Number(query.get("limit") ?? 0);
    const page = limit > 0 ? all.slice(0, limit) : all;
    const more = limit > 0 && all.length > limit;
    const builtIn = isBuiltIn(t.group);
    const kind = kindOf(t);
    return Response.json({
      kind: `${kind.kind}List`,
      apiVersion: kind.apiVersion,
      metadata: {
        resourceVersion: String(listRv),
        ...(more
          ? {
            continue: btoa(JSON.stringify({ rv: listRv, after: page.at(-1)![0] })),
            remainingItemCount: all.length - page.length,
          }
          : {}),
      },
      items: page.map(([, o]) => {
        if (!builtIn) return o;
        const { kind: _k, apiVersion: _a, ...rest } = o;
        return rest;
      }),
    });
  };

  const watch = (t: Target, query: URLSearchParams): Response => {
    const match = selectorOf(t, query);
    const fromText = query.get("resourceVersion");
    const from = fromText ? Number(fromText) : 0;
    if (from > 0 && from < compactedRv) {
      return status(410, "Expired", `too old resource version: ${from} (${compactedRv})`);
    }
    let w!: Watch;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let bookmarkTimer: ReturnType<typeof setInterval> | undefined;
    const cleanup = () => {
      watches.delete(w);
      clearTimeout(timer);
      clearInterval(bookmarkTimer);
    };
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        let open = true;
        w = {
          col: colKey(t),
          namespace: t.namespace,
          match,
          bookmarks: query.get("allowWatchBookmarks") === "true",
          silenced: false,
          send(event) {
            if (open) controller.enqueue(encoder.encode(JSON.stringify(event) + "\n"));
          },
          finish(how) {
            if (!open) return;
            open = false;
            cleanup();
            if (how === "end") controller.close();
            else controller.error("test API server dropped the watch");
          },
        };
        if (from === 0) {
          for (const [, object] of items(t, match)) w.send({ type: "ADDED", object });
        } else {
          for (const change of history) {
            if (change.rv <= from) continue;
            const event = eventFor(w, change);
            if (event) w.send(event);
          }
        }
        watches.add(w);
        const seconds = Number(query.get("timeoutSeconds") ?? 0);
        if (seconds > 0) timer = setTimeout(() => w.finish("end"), seconds * 1000);
        if (w.bookmarks) {
          bookmarkTimer = setInterval(() => bookmark(w, t), bookmarkIntervalMs);
        }
      },
      cancel() {
        cleanup();
      },
    });
    return new Response(body, { headers: { "content-type": "application/json" } });
  };
  const bookmark = (w: Watch, t?: Target) => {
    if (w.silenced || !w.bookmarks) return false;
    const known = kinds.get(w.col);
    const [group = "", version = "", plural = ""] = w.col.split("/");
    const kind = known ?? kindOf(t ?? { group, version, plural });
    w.send({
      type: "BOOKMARK",
      object: {
        kind: kind.kind,
        apiVersion: kind.apiVersion,
        metadata: { resourceVersion: String(rv) },
      },
    });
    return true;
  };

  const podLog = (t: Target, query: URLSearchParams): Response => {
    const pod = collection(colKey(t)).get(objKey(t.namespace, t.name!));
    if (!pod) {
      return status(404, "NotFound", `pods "${t.name}" not found`, { name: t.name, kind: "pods" });
    }
    const spec = pod.spec as { containers?: { name: string }[] } | undefined;
    const names = (spec?.containers ?? []).map((c) => c.name);
    let container = query.get("container") ?? undefined;
    if (!container) {
      if (names.length !== 1) {
        return status(
          400,
          "BadRequest",
          `a container name must be specified for pod ${t.name}, choose one of: [${
            names.join(" ")
          }]`,
        );
      }
      container = names[0]!;
    } else if (names.length > 0 && !names.includes(container)) {
      return status(400, "BadRequest", `container ${container} is not valid for pod ${t.name}`);
    }
    const entry = logs.get(`${t.namespace}/${t.name}/${container}`) ?? {};
    const previous = query.get("previous") === "true";
    const source = previous ? entry.previous : entry.current;
    if (previous && source === undefined) {
      return status(
        400,
        "BadRequest",
        `previous terminated container "${container}" in pod "${t.name}" not found`,
      );
    }
    let lines: LogLine[] = typeof source === "string" || source === undefined
      ? (source ?? "").split("\n").filter((l, i, all) => l !== "" || i < all.length - 1)
        .map((text) => ({ time: "", text }))
      : source;
    const since = query.get("sinceSeconds");
    if (since !== null) {
      const cutoff = now() - Number(since) * 1000;
      lines = lines.filter((l) => !l.time || Date.parse(l.time) >= cutoff);
    }
    const stamps = query.get("timestamps") === "true";
    let text = tail(lines.map((l) => stamps && l.time ? `${l.time} ${l.text}` : l.text), query)
      .map((l) => `${l}\n`).join("");
    const limitBytes = query.get("limitBytes");
    if (limitBytes !== null) text = text.slice(0, Number(limitBytes));
    return new Response(text, { headers: { "content-type": "text/plain" } });
  };

  const handleObject = async (req: Request, t: Target, verb: string): Promise<Response> => {
    const col = collection(colKey(t));
    const label = t.name ? `${groupResource(t)} "${t.name}"` : groupResource(t);
    const details = { name: t.name, group: t.group || undefined, kind: t.plural };
    const notFound = () => status(404, "NotFound", `${label} not found`, details);
    const hasStatus = statusSubresources.includes(t.plural);
    if (t.subresource && t.subresource !== "status") {
      return status(404, "NotFound", `the server could not find the requested resource`);
    }
    let body: KubeObject | undefined;
    if (verb === "create" || verb === "update" || verb === "patch") {
      try {
        body = await req.json();
      } catch (error) {
        return status(
          400,
          "BadRequest",
          `the body of the request was in an unknown format: ${error}`,
        );
      }
    }
    const current = t.name ? col.get(objKey(t.namespace, t.name)) : undefined;
    switch (verb) {
      case "get":
        return current ? Response.json(current) : notFound();
      case "create": {
        const object = body as KubeObject;
        object.metadata ??= {};
        if (
          t.namespace !== undefined && object.metadata.namespace !== undefined &&
          object.metadata.namespace !== t.namespace
        ) {
          return status(
            400,
            "BadRequest",
            "the namespace of the provided object does not match the namespace sent on the request",
          );
        }
        if (!object.metadata.name && typeof object.metadata.generateName === "string") {
          const suffix = Array.from(
            { length: 5 },
            () => NAME_CHARS[Math.floor(Math.random() * NAME_CHARS.length)],
          ).join("");
          object.metadata.name = `${object.metadata.generateName}${suffix}`;
        }
        const name = object.metadata.name;
        if (!name) {
          return status(
            422,
            "Invalid",
            `${
              object.kind ?? t.plural
            } "" is invalid: metadata.name: Required value: name or generateName is required`,
          );
        }
        if (col.has(objKey(t.namespace, name))) {
          return status(409, "AlreadyExists", `${groupResource(t)} "${name}" already exists`, {
            ...details,
            name,
          });
        }
        delete object.metadata.resourceVersion;
        if (hasStatus) delete object.status;
        return Response.json(write({ ...t, name }, object, undefined), { status: 201 });
      }
      case "update":
      case "patch": {
        if (!current) return notFound();
        let next: KubeObject;
        if (verb === "update") next = body as KubeObject;
        else {
          const type = req.headers.get("content-type") ?? "";
          try {
            next = (type.startsWith("application/json-patch+json")
              ? jsonPatch(current, body)
              : mergePatch(current, body)) as KubeObject;
          } catch (error) {
            return status(
              422,
              "Invalid",
              `the server rejected our request due to an error in our request: ${
                (error as Error).message
              }`,
            );
          }
        }
        if (next.metadata?.name !== undefined && next.metadata.name !== t.name) {
          return status(
            400,
            "BadRequest",
            `the name of the object (${next.metadata.name}) does not match the name on the URL (${t.name})`,
          );
        }
        const wanted = next.metadata?.resourceVersion;
        if (wanted && wanted !== current.metadata?.resourceVersion) {
          return status(
            409,
            "Conflict",
            `Operation cannot be fulfilled on ${label}: the object has been modified; please apply your changes to the latest version and try again`,
            details,
          );
        }
        next = { ...next, metadata: { ...next.metadata, name: t.name! } };
        if (t.subresource === "status") next = { ...current, status: next.status };
        else if (hasStatus) {
          const { status: _s, ...rest } = next;
          next = current.status === undefined ? rest : { ...rest, status: current.status };
        }
        return Response.json(write(t, next, current));
      }
      case "delete": {
        const gone = erase(t, t.name!);
        return gone ? Response.json(gone) : notFound();
      }
      default:
        return status(
          405,
          "MethodNotAllowed",
          `the server does not allow this method on the requested resource`,
        );
    }
  };

  const handle = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const query = url.searchParams;
    const t = parseTarget(url.pathname);
    const verb = t ? verbOf(req.method, t, query) : req.method.toLowerCase();
    const headers = Object.fromEntries(req.headers);
    const entry: KubeRequestRecord = {
      method: req.method,
      path: url.pathname,
      query: Object.fromEntries(query),
      verb,
      headers,
    };
    requests.push(entry);
    if (token !== undefined && headers.authorization !== `Bearer ${token}`) {
      return status(401, "Unauthorized", "Unauthorized");
    }
    if (!t) return status(404, "NotFound", "the server could not find the requested resource");
    const resource = t.subresource ? `${t.plural}/${t.subresource}` : t.plural;
    const rule = forbidden.find((r) =>
      (r.verb === "*" || r.verb === verb) &&
      (r.resource.startsWith("/") ? url.pathname.startsWith(r.resource) : r.resource === resource)
    );
    if (rule) {
      const scope = t.namespace === undefined
        ? "at the cluster scope"
        : `in the namespace "${t.namespace}"`;
      return status(
        403,
        "Forbidden",
        `${
          t.name ? `${groupResource(t)} "${t.name}"` : groupResource(t)
        } is forbidden: User "system:serviceaccount:cano:cano" cannot ${verb} resource "${resource}" in API group "${t.group}" ${scope}`,
        { name: t.name, group: t.group || undefined, kind: t.plural },
      );
    }
    const isWatch = verb === "watch";
    const failure = failures.find((f) =>
      (f.method === undefined || f.method === req.method) &&
      (f.watch === undefined || f.watch === isWatch) &&
      (f.path === undefined ||
        (typeof f.path === "string" ? url.pathname.startsWith(f.path) : f.path.test(url.pathname)))
    );
    if (failure) {
      failure.times = (failure.times ?? 1) - 1;
      if (failure.times <= 0) failures.splice(failures.indexOf(failure), 1);
      return status(
        failure.status,
        failure.reason ?? "InternalError",
        `injected failure ${failure.status}`,
      );
    }
    try {
      if (t.plural === "pods" && t.subresource === "log" && verb === "get") return podLog(t, query);
      if (verb === "list") return list(t, query);
      if (verb === "watch") return watch(t, query);
      return await handleObject(req, t, verb);
    } catch (error) {
      if (error instanceof SelectorError) return status(400, "BadRequest", error.message);
      throw error;
    }
  };

  const listening = Promise.withResolvers<void>();
  const server = Deno.serve(
    {
      hostname: "127.0.0.1",
      port: 0,
      onListen: () => listening.resolve(),
      ...(tls ? { cert: tls.cert, key: tls.key } : {}),
    },
    handle,
  );
  await listening.promise;
  const url = `${tls ? "https" : "http"}://127.0.0.1:${server.addr.port}`;
  const finishAll = (how: "end" | "error") => {
    const open = [...watches];
    for (const w of open) w.finish(how);
    return open.length;
  };
  const pathTarget = (path: string) => {
    const t = parseTarget(path);
    if (!t || !t.name) throw new TypeError(`Cannot read object path "${path}": not an object path`);
    return t;
  };

  const api: KubeApiServer = {
    url,
    get resourceVersion() {
      return rv;
    },
    requests,
    get openWatches() {
      return watches.size;
    },
    apply<T extends KubeObject>(object: T): Stored<T> {
      const t = targetOf(object);
      if (!t.name) throw new TypeError("Cannot apply object: metadata.name is missing");
      const previous = collection(colKey(t)).get(objKey(t.namespace, t.name));
      const copy = structuredClone(object) as KubeObject;
      if (copy.metadata) delete copy.metadata.resourceVersion;
      return write(t, copy, previous) as Stored<T>;
    },
    update<T extends KubeObject>(object: T): Stored<T> {
      const t = targetOf(object);
      if (!t.name || !collection(colKey(t)).has(objKey(t.namespace, t.name))) {
        throw new TypeError(`Cannot update ${object.kind} "${t.name}": it does not exist`);
      }
      return api.apply(object);
    },
    remove(target) {
      const t = typeof target === "string" ? pathTarget(target) : targetOf(target);
      return t.name !== undefined && erase(t, t.name) !== undefined;
    },
    get<T extends KubeObject = KubeObject>(path: string): T | undefined {
      const t = pathTarget(path);
      const found = collection(colKey(t)).get(objKey(t.namespace, t.name!));
      return found ? structuredClone(found) as T : undefined;
    },
    setPodLog(namespace, pod, container, podLogs) {
      logs.set(`${namespace}/${pod}/${container}`, podLogs);
    },
    forbid(verb, resource) {
      forbidden.push({ verb, resource });
    },
    allowAll() {
      forbidden.length = 0;
    },
    failNext(failure) {
      failures.push({ ...failure });
    },
    dropWatches: () => finishAll("error"),
    endWatches: () => finishAll("end"),
    silenceWatches() {
      for (const w of watches) w.silenced = true;
      return watches.size;
    },
    expireWatches() {
      const open = [...watches];
      for (const w of open) {
        w.send({
          type: "ERROR",
          object: {
            kind: "Status",
            apiVersion: "v1",
            metadata: {},
            status: "Failure",
            message: `too old resource version: 1 (${rv})`,
            reason: "Expired",
            code: 410,
          },
        });
        w.finish("end");
      }
      return open.length;
    },
    compact() {
      history.length = 0;
      compactedRv = rv;
    },
    sendBookmarks() {
      let sent = 0;
      for (const w of watches) if (bookmark(w)) sent++;
      return sent;
    },
    async waitForWatches(count, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (watches.size < count) {
        if (Date.now() > deadline) {
          throw new Error(
            `Cannot wait for ${count} watches: ${watches.size} open after ${timeoutMs} ms`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    async close() {
      finishAll("end");
      await server.shutdown();
    },
    [Symbol.asyncDispose]() {
      return api.close();
    },
  };
  return api;
}
