/**
 * Label and field selectors, JSON merge patch and JSON patch as the Kubernetes API server
 * applies them, for the test API server (`_kube_api_server.ts`).
 *
 * Hand-written on purpose: this is the server side of the wire protocol, which no npm
 * package implements; the engine itself never parses selectors (the server does).
 *
 * @module
 */

/** A parsed selector: every requirement must hold. */
export type Selector = (object: Record<string, unknown>) => boolean;

/** Thrown for an unparsable or unsupported selector; the server answers 400. */
export class SelectorError extends Error {
  /**
   * @param message What is wrong, in the API server's words.
   */
  constructor(message: string) {
    super(message);
    this.name = "SelectorError";
  }
}

function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = "";
  for (const char of text) {
    if (char === "(") depth++;
    if (char === ")") depth--;
    if (char === "," && depth === 0) {
      terms.push(current.trim());
      current = "";
    } else current += char;
  }
  if (current.trim()) terms.push(current.trim());
  return terms.filter((term) => term.length > 0);
}

/**
 * Parses an equality- or set-based label selector: `a=b`, `a==b`, `a!=b`, `a`, `!a`,
 * `a in (x,y)`, `a notin (x,y)`.
 *
 * @param text The `labelSelector` query value.
 * @returns A predicate over objects.
 * @throws {SelectorError} When a term cannot be parsed.
 */
export function parseLabelSelector(text: string | null): Selector {
  if (!text) return () => true;
  const tests = splitTerms(text).map((term): (labels: Record<string, string>) => boolean => {
    let match = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
    if (match) {
      const [, key = "", op, list = ""] = match;
      const values = list.split(",").map((v) => v.trim());
      return op === "in"
        ? (labels) => key in labels && values.includes(labels[key]!)
        : (labels) => !(key in labels) || !values.includes(labels[key]!);
    }
    match = /^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/.exec(term);
    if (match) {
      const [, key = "", op, value = ""] = match;
      return op === "!=" ? (labels) => labels[key] !== value : (labels) => labels[key] === value;
    }
    match = /^(!?)([\w./-]+)$/.exec(term);
    if (match) {
      const [, not, key = ""] = match;
      return not ? (labels) => !(key in labels) : (labels) => key in labels;
    }
    throw new SelectorError(`unable to parse requirement: ${JSON.stringify(term)}`);
  });
  return (object) => {
    const metadata = object.metadata as { labels?: Record<string, string> } | undefined;
    const labels = metadata?.labels ?? {};
    return tests.every((test) => test(labels));
  };
}

const COMMON_FIELDS = ["metadata.name", "metadata.namespace"];
/** Field labels the API server supports per resource (beyond name and namespace). */
const FIELDS: Record<string, string[]> = {
  pods: [
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
  ],
  events: [
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
  ],
  secrets: ["type"],
  nodes: ["spec.unschedulable"],
  namespaces: ["status.phase"],
  jobs: ["status.successful"],
  replicasets: ["status.replicas"],
};

function fieldValue(object: Record<string, unknown>, field: string): string {
  const path = field === "source" ? ["source", "component"] : field.split(".");
  let value: unknown = object;
  for (const key of path) {
    value = value && typeof value === "object"
      ? (value as Record<string, unknown>)[key]
      : undefined;
  }
  return value === undefined || value === null ? "" : String(value);
}

/**
 * Parses a field selector (`a=b`, `a==b`, `a!=b`, comma-joined) for a resource, accepting
 * only the fields the API server supports for it.
 *
 * @param text The `fieldSelector` query value.
 * @param plural The resource, e.g. `pods`.
 * @returns A predicate over objects.
 * @throws {SelectorError} For an unparsable term or an unsupported field label.
 */
export function parseFieldSelector(text: string | null, plural: string): Selector {
  if (!text) return () => true;
  const allowed = [...COMMON_FIELDS, ...(FIELDS[plural] ?? [])];
  const tests = splitTerms(text).map((term): Selector => {
    const match = /^([\w.]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!match) throw new SelectorError(`invalid selector: '${text}'; can't understand '${term}'`);
    const [, field = "", op, value = ""] = match;
    if (!allowed.includes(field)) {
      throw new SelectorError(`field label not supported: ${field}`);
    }
    return op === "!="
      ? (object) => fieldValue(object, field) !== value
      : (object) => fieldValue(object, field) === value;
  });
  return (object) => tests.every((test) => test(object));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Applies a JSON merge patch (RFC 7386): objects merge, `null` deletes, anything else
 * replaces. Strategic merge patches are treated the same way by the test server.
 *
 * @param target The current value.
 * @param patch The patch.
 * @returns The patched value (a new object; the inputs are not changed).
 */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return structuredClone(patch);
  const result: Record<string, unknown> = isRecord(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

/** One JSON patch operation (RFC 6902). */
interface PatchOperation {
  op: "add" | "remove" | "replace" | "test" | "move" | "copy";
  path: string;
  value?: unknown;
  from?: string;
}

function pointer(path: string): string[] {
  if (path === "") return [];
  return path.slice(1).split("/").map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"));
}

function locate(root: unknown, path: string): { parent: unknown; key: string } {
  const keys = pointer(path);
  const key = keys.pop();
  if (key === undefined) throw new SelectorError(`cannot patch the document root: "${path}"`);
  let parent: unknown = root;
  for (const k of keys) {
    parent = isRecord(parent) || Array.isArray(parent)
      ? (parent as Record<string, unknown>)[k]
      : undefined;
    if (parent === undefined) throw new SelectorError(`path "${path}" does not exist`);
  }
  return { parent, key };
}

/**
 * Applies a JSON patch (RFC 6902).
 *
 * @param target The current value (not changed).
 * @param operations The operations.
 * @returns The patched copy.
 * @throws {SelectorError} When an operation fails (the server answers 422).
 */
export function jsonPatch(target: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw new SelectorError("a JSON patch must be an array");
  const doc = structuredClone(target);
  for (const operation of operations as PatchOperation[]) {
    const read = (path: string): unknown => {
      const { parent, key } = locate(doc, path);
      return (parent as Record<string, unknown>)[key];
    };
    const write = (path: string, value: unknown, insert: boolean) => {
      const { parent, key } = locate(doc, path);
      if (Array.isArray(parent)) {
        const index = key === "-" ? parent.length : Number(key);
        parent.splice(index, insert ? 0 : 1, structuredClone(value));
      } else (parent as Record<string, unknown>)[key] = structuredClone(value);
    };
    const remove = (path: string) => {
      const { parent, key } = locate(doc, path);
      if (Array.isArray(parent)) parent.splice(Number(key), 1);
      else if (isRecord(parent) && key in parent) delete parent[key];
      else throw new SelectorError(`cannot remove "${path}": it does not exist`);
    };
    switch (operation.op) {
      case "add":
        write(operation.path, operation.value, true);
        break;
      case "replace":
        if (read(operation.path) === undefined) {
          throw new SelectorError(`cannot replace "${operation.path}": it does not exist`);
        }
        write(operation.path, operation.value, false);
        break;
      case "remove":
        remove(operation.path);
        break;
      case "test":
        if (JSON.stringify(read(operation.path)) !== JSON.stringify(operation.value)) {
          throw new SelectorError(`test of "${operation.path}" failed`);
        }
        break;
      case "move":
      case "copy": {
        const value = read(operation.from ?? "");
        if (operation.op === "move") remove(operation.from ?? "");
        write(operation.path, value, true);
        break;
      }
      default:
        throw new SelectorError(`unknown JSON patch operation ${JSON.stringify(operation.op)}`);
    }
  }
  return doc;
}
