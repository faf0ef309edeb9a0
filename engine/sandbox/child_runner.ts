/**
 * The engine-owned program that runs inside a sandbox child process.
 *
 * The supervisor starts `deno run <flags> child_runner.ts` with read access to the
 * workflow's snapshot and the SDK bundle only. The runner:
 * 1. reads the `init` line from stdin (nonce, entry file, limits) before any workflow code
 *    runs, and keeps the nonce in this module's closure;
 * 2. captures every primitive it needs (stdout writer, encoder, `JSON.stringify`,
 *    `Deno.inspect`) so that workflow code patching globals cannot observe a frame;
 * 3. imports the workflow with a computed specifier, so the child's read permission is
 *    checked for the file and its whole static graph;
 * 4. answers `invoke` frames by calling `run(ctx)`, turning every `ctx` call into a frame.
 *
 * Every frame it writes is built as `{"n":"<nonce>",` + a payload serialized without the
 * nonce, so no object holding the nonce is ever handed to code the workflow could patch.
 * Limits are checked here too, so authors get a clear error inside `run`; the host checks
 * them again and treats a breach as a protocol violation.
 *
 * Runs only inside the child; the engine never imports it. It stays one file (past 400
 * lines) because the child loads it alone: it may import nothing but `@cano/sdk`.
 *
 * @module
 */
import { BlockSchema, isWorkflow, type Workflow } from "@cano/sdk";

interface Limits {
  maxDepth: number;
  maxStringBytes: number;
  maxEnrichmentBytes: number;
  maxBlocks: number;
  maxLogLines: number;
  maxCapabilityCalls: number;
}

interface Invocation {
  id: number;
  done: boolean;
  blocks: number;
  bytes: number;
  logs: number;
  calls: number;
  controller: AbortController;
}

const stringify = JSON.stringify;
const parse = JSON.parse;
const inspect = Deno.inspect;
const stdout = Deno.stdout;
const writeSync = stdout.writeSync.bind(stdout);
const encoder = new TextEncoder();
const encode = encoder.encode.bind(encoder);
const decoder = new TextDecoder();
const decode = decoder.decode.bind(decoder);
const stdinReader = Deno.stdin.readable.getReader();
const setTimer = setTimeout;
const clearTimer = clearTimeout;
const freeze = Object.freeze;
const exit = Deno.exit;
const MAX_MESSAGE = 4_000;

let nonce = "";
let limits: Limits = {
  maxDepth: 12,
  maxStringBytes: 65_536,
  maxEnrichmentBytes: 524_288,
  maxBlocks: 50,
  maxLogLines: 1_000,
  maxCapabilityCalls: 50,
};
let workflow: Workflow | undefined;
const invocations = new Map<number, Invocation>();
const pendingCalls = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
let nextCall = 1;

function send(payload: Record<string, unknown>): void {
  const body = stringify(payload);
  const bytes = encode(`{"n":"${nonce}",${body.slice(1)}\n`);
  let offset = 0;
  while (offset < bytes.length) offset += writeSync(bytes.subarray(offset));
}

function describe(error: unknown): string {
  try {
    if (error instanceof Error) return clip(`${error.name}: ${error.message}`);
    if (error === null || typeof error !== "object" && typeof error !== "function") {
      return clip(`Workflow threw a non-Error value: ${typeof error} ${String(error)}`);
    }
    return clip(`Workflow threw a non-Error value: ${typeof error}`);
  } catch {
    return "Workflow threw a value that cannot be described";
  }
}

/** Finds the first stack frame inside the workflow's snapshot. */
function locate(error: unknown, dir: string): string | undefined {
  try {
    const stack = error instanceof Error ? String(error.stack) : "";
    for (const line of stack.split("\n")) {
      const at = line.indexOf(dir);
      if (at === -1) continue;
      const match = /^(\S+?:\d+:\d+)/.exec(line.slice(at));
      if (match) return match[1];
    }
  } catch {
    // an unreadable stack only loses the location
  }
  return undefined;
}

function clip(text: string, max = MAX_MESSAGE): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length - max} more characters)` : text;
}

function format(args: unknown[]): string {
  const parts: string[] = [];
  for (const arg of args) {
    try {
      parts.push(typeof arg === "string" ? arg : inspect(arg, { depth: 4, colors: false }));
    } catch {
      parts.push("(unprintable)");
    }
  }
  return clip(parts.join(" "));
}

/** Walks a value with early exits; returns an error message or undefined. */
function checkShape(value: unknown, depth: number): string | undefined {
  if (typeof value === "string") {
    return value.length > limits.maxStringBytes
      ? `a string is ${value.length} characters long, the limit is ${limits.maxStringBytes}`
      : undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  if (depth > limits.maxDepth) return `blocks nest deeper than ${limits.maxDepth} levels`;
  for (const [key, child] of Object.entries(value)) {
    if (key === "__proto__" || key === "constructor" || key === "prototype") {
      return `the key "${key}" is not allowed`;
    }
    const problem = checkShape(child, depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

function log(inv: Invocation | undefined, level: string, message: string, fields?: unknown): void {
  if (inv) {
    if (inv.done || inv.logs >= limits.maxLogLines) return;
    inv.logs++;
  } else if (droppedOutside++ > limits.maxLogLines) return;
  const clean: Record<string, string | number | boolean | null> = {};
  if (typeof fields === "object" && fields !== null) {
    for (const [key, value] of Object.entries(fields).slice(0, 50)) {
      if (key === "__proto__" || key === "constructor" || key === "prototype") continue;
      clean[clip(key, 100)] = typeof value === "string"
        ? clip(value, 1_000)
        : typeof value === "number" || typeof value === "boolean" || value === null
        ? value
        : clip(String(value), 1_000);
    }
  }
  send({ op: "log", id: inv?.id ?? 0, level, message: clip(String(message)), fields: clean });
}
let droppedOutside = 0;

function current(): Invocation | undefined {
  return invocations.size === 1 ? invocations.values().next().value : undefined;
}

function installConsole(): void {
  const levels = {
    debug: "debug",
    trace: "debug",
    log: "info",
    info: "info",
    dir: "info",
    table: "info",
    warn: "warn",
    error: "error",
  } as const;
  const replacement: Record<string, unknown> = {};
  for (const [method, level] of Object.entries(levels)) {
    replacement[method] = (...args: unknown[]) => log(current(), level, format(args));
  }
  globalThis.console = { ...globalThis.console, ...replacement } as Console;
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    log(current(), "error", `Unhandled rejection: ${describe(event.reason)}`);
  });
  globalThis.addEventListener("error", (event) => {
    event.preventDefault();
    log(current(), "error", `Uncaught error: ${describe(event.error)}`);
  });
}

function capability(inv: Invocation, name: string, args: unknown): Promise<unknown> {
  if (inv.done) return Promise.reject(new Error(`Cannot call ${name}: the run has finished`));
  if (inv.calls >= limits.maxCapabilityCalls) {
    return Promise.reject(
      new RangeError(
        `Cannot call ${name}: the run used its ${limits.maxCapabilityCalls} capability calls`,
      ),
    );
  }
  inv.calls++;
  const call = nextCall++;
  const problem = checkShape(args, 2);
  if (problem) return Promise.reject(new RangeError(`Cannot call ${name}: ${problem}`));
  return new Promise((resolve, reject) => {
    pendingCalls.set(call, { resolve, reject });
    send({ op: "cap", id: inv.id, call, name, args });
  });
}

function enrich(inv: Invocation, title: unknown, blocks: unknown): void {
  if (inv.done) throw new Error("Cannot enrich: the run has finished");
  if (title !== undefined && typeof title !== "string") {
    throw new TypeError("Cannot enrich: the title must be a string or undefined");
  }
  if (!Array.isArray(blocks)) throw new TypeError("Cannot enrich: blocks must be an array");
  if (inv.blocks + blocks.length > limits.maxBlocks) {
    throw new RangeError(`Cannot enrich: a run may add at most ${limits.maxBlocks} blocks`);
  }
  const problem = checkShape(blocks, 1) ?? (title ? checkShape(title, 1) : undefined);
  if (problem) throw new RangeError(`Cannot enrich: ${problem}`);
  const parsed = [];
  for (const [i, block] of blocks.entries()) {
    const result = BlockSchema.safeParse(block);
    if (!result.success) {
      const issue = result.error.issues[0];
      const where = [i, ...(issue?.path ?? [])].map(String).join(".");
      throw new TypeError(`Cannot enrich: block ${where}: ${issue?.message ?? "invalid"}`);
    }
    parsed.push(result.data);
  }
  const payload = title === undefined
    ? { op: "enrich", id: inv.id, blocks: parsed }
    : { op: "enrich", id: inv.id, title, blocks: parsed };
  const size = stringify(payload).length;
  if (inv.bytes + size > limits.maxEnrichmentBytes) {
    throw new RangeError(
      `Cannot enrich: the blocks of a run may take ${limits.maxEnrichmentBytes} bytes, these need ${
        inv.bytes + size
      }`,
    );
  }
  inv.bytes += size;
  inv.blocks += parsed.length;
  send(payload);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    freeze(value);
  }
  return value;
}

async function invoke(frame: {
  id: number;
  issue: unknown;
  params: unknown;
  timeoutMs: number;
}): Promise<void> {
  const controller = new AbortController();
  const inv: Invocation = {
    id: frame.id,
    done: false,
    blocks: 0,
    bytes: 0,
    logs: 0,
    calls: 0,
    controller,
  };
  invocations.set(inv.id, inv);
  droppedOutside = 0;
  const soft = setTimer(
    () => controller.abort(new DOMException("The deadline is near", "TimeoutError")),
    Math.max(1, Math.floor(frame.timeoutMs * 0.8)),
  );
  try {
    const wf = workflow!;
    const params = wf.params.safeParse(frame.params ?? {});
    if (!params.success) {
      throw new TypeError(`Cannot parse params: ${params.error.issues.map((i) => i.message)}`);
    }
    const logger = (level: string) => (message: string, fields?: unknown) =>
      log(inv, level, message, fields);
    const ctx = freeze({
      issue: deepFreeze(frame.issue),
      params: params.data,
      signal: controller.signal,
      log: freeze({
        debug: logger("debug"),
        info: logger("info"),
        warn: logger("warn"),
        error: logger("error"),
      }),
      enrich: (title: unknown, blocks: unknown) => enrich(inv, title, blocks),
      silence: (reason: unknown) => {
        if (inv.done) throw new Error("Cannot silence: the run has finished");
        send({ op: "silence", id: inv.id, reason: clip(String(reason), 1_000) });
      },
      http: freeze({
        fetch: (url: unknown, init?: unknown) =>
          capability(inv, "http.fetch", init === undefined ? { url } : { url, init }),
      }),
      prometheus: freeze({
        query: (expr: unknown, options?: { time?: unknown }) =>
          capability(
            inv,
            "prometheus.query",
            options?.time === undefined ? { expr } : { expr, time: options.time },
          ),
        queryRange: (expr: unknown, options: { start: unknown; end: unknown; step: unknown }) =>
          capability(inv, "prometheus.queryRange", {
            expr,
            start: options?.start,
            end: options?.end,
            step: options?.step,
          }),
      }),
      k8s: freeze({
        get: (kind: unknown, namespace: unknown, name: unknown) =>
          capability(inv, "k8s.get", { kind, namespace, name }),
        list: (kind: unknown, options?: Record<string, unknown>) =>
          capability(inv, "k8s.list", {
            kind,
            namespace: options?.namespace,
            labelSelector: options?.labelSelector,
            fieldSelector: options?.fieldSelector,
            limit: options?.limit,
          }),
        logs: (options: Record<string, unknown>) =>
          capability(inv, "k8s.logs", {
            namespace: options?.namespace,
            pod: options?.pod,
            container: options?.container,
            tailLines: options?.tailLines,
            previous: options?.previous,
            sinceSeconds: options?.sinceSeconds,
          }),
        events: (ref: Record<string, unknown>) =>
          capability(inv, "k8s.events", {
            kind: ref?.kind,
            namespace: ref?.namespace,
            name: ref?.name,
          }),
        ownerChain: (kind: unknown, namespace: unknown, name: unknown) =>
          capability(inv, "k8s.ownerChain", { kind, namespace, name }),
        podNode: (namespace: unknown, pod: unknown) =>
          capability(inv, "k8s.podNode", { namespace, pod }),
        createJob: (namespace: unknown, job: unknown) =>
          capability(inv, "k8s.createJob", { namespace, job }),
        deletePod: (namespace: unknown, name: unknown) =>
          capability(inv, "k8s.deletePod", { namespace, name }).then(() => undefined),
        rolloutRestart: (kind: unknown, namespace: unknown, name: unknown) =>
          capability(inv, "k8s.rolloutRestart", { kind, namespace, name }),
        scale: (kind: unknown, namespace: unknown, name: unknown, replicas: unknown) =>
          capability(inv, "k8s.scale", { kind, namespace, name, replicas }),
        rerunJob: (namespace: unknown, name: unknown) =>
          capability(inv, "k8s.rerunJob", { namespace, name }),
      }),
    });
    // deno-lint-ignore no-explicit-any -- ctx matches WorkflowContext; params are the workflow's own
    await wf.run(ctx as any);
    inv.done = true;
    send({ op: "done", id: inv.id });
  } catch (error) {
    inv.done = true;
    send({ op: "error", id: inv.id, error: describe(error) });
  } finally {
    clearTimer(soft);
    invocations.delete(inv.id);
  }
}

function handle(line: string): void {
  const frame = parse(line);
  if (frame.op === "invoke") {
    invoke(frame);
  } else if (frame.op === "capResult") {
    const pending = pendingCalls.get(frame.call);
    if (!pending) return;
    pendingCalls.delete(frame.call);
    if (frame.ok) pending.resolve(frame.value);
    else pending.reject(new Error(String(frame.error)));
  }
}

async function* lines(): AsyncGenerator<string> {
  let buffer = "";
  while (true) {
    const { value, done } = await stdinReader.read();
    if (done) return;
    buffer += decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n")) !== -1) {
      yield buffer.slice(0, end);
      buffer = buffer.slice(end + 1);
    }
  }
}

async function main(): Promise<void> {
  const input = lines();
  const first = await input.next();
  if (first.done) return;
  const init = parse(first.value);
  nonce = String(init.nonce);
  limits = init.limits;
  const entry = String(init.entry);
  installConsole();
  try {
    const mod = await import(entry);
    if (!isWorkflow(mod.default)) {
      const got = mod.default === undefined ? "no default export" : typeof mod.default;
      send({
        op: "loadError",
        error: `the default export must be the result of defineWorkflow(...), got ${got}`,
      });
      exit(3);
    }
    workflow = mod.default;
  } catch (error) {
    const where = locate(error, entry.slice(0, entry.lastIndexOf("/") + 1));
    send({ op: "loadError", error: describe(error) + (where ? ` (at ${where})` : "") });
    exit(3);
  }
  const wf = workflow!;
  send({
    op: "ready",
    workflow: {
      id: wf.id,
      description: wf.description,
      triggers: wf.triggers,
      permissions: wf.permissions,
    },
  });
  for await (const line of input) handle(line);
  exit(0);
}

await main();
