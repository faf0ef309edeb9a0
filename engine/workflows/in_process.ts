/**
 * Runs trusted workflows (the built-ins) in the engine process, behind the same
 * `WorkflowEntry` contract and the same `ctx` as the sandbox.
 *
 * A deadline is enforced with `ctx.signal` and a race: an in-process workflow cannot be
 * killed, which is why only trusted code runs here (user code runs in the sandbox).
 *
 * @module
 */
import {
  type Block,
  checkEnrichment,
  type HttpCapability,
  type KubernetesCapability,
  type LogFields,
  type Permissions,
  type PrometheusCapability,
  type Workflow,
  type WorkflowContext,
} from "@cano/sdk";
import type { Logger } from "../log.ts";
import type { RunEnrichment, RunRequest, RunResult, WorkflowEntry } from "./entry.ts";

/** Capabilities handed to one run, built by the engine's capability host. */
export interface RunCapabilities {
  /** `ctx.http`. */
  http: HttpCapability;
  /** `ctx.prometheus`. */
  prometheus: PrometheusCapability;
  /** `ctx.k8s`. */
  k8s: KubernetesCapability;
}

/** Builds the capabilities of one run (checked against the workflow's permissions). */
export type CapabilityFactory = (context: {
  workflowId: string;
  permissions: Permissions;
  signal: AbortSignal;
}) => RunCapabilities;

/** Options of {@linkcode createInProcessEntry}. */
export interface InProcessOptions {
  /** Logger; lines get the workflow id and fingerprint. */
  log: Logger;
  /** Capability factory. @default capabilities that refuse every call */
  capabilities?: CapabilityFactory;
  /** Version stamped on the entry. @default "builtin" */
  version?: string;
  /** Clock. @default performance.now */
  now?: () => number;
}

/** Refuses every capability call; used when no capability host is configured. */
export const NO_CAPABILITIES: CapabilityFactory = refuseCapabilities;

function refuseCapabilities({ workflowId }: { workflowId: string }): RunCapabilities {
  const refuse = (name: string) => () =>
    Promise.reject(
      new Error(`Cannot call ${name} from workflow "${workflowId}": no capability host`),
    );
  return {
    http: { fetch: refuse("http.fetch") },
    prometheus: { query: refuse("prometheus.query"), queryRange: refuse("prometheus.queryRange") },
    k8s: {
      get: refuse("k8s.get"),
      list: refuse("k8s.list"),
      logs: refuse("k8s.logs"),
      events: refuse("k8s.events"),
      ownerChain: refuse("k8s.ownerChain"),
      podNode: refuse("k8s.podNode"),
      createJob: refuse("k8s.createJob"),
      deletePod: refuse("k8s.deletePod"),
      rolloutRestart: refuse("k8s.rolloutRestart"),
      scale: refuse("k8s.scale"),
      rerunJob: refuse("k8s.rerunJob"),
    },
  };
}

/**
 * Wraps a trusted workflow as an in-process entry.
 *
 * @param workflow A workflow made by `defineWorkflow`.
 * @param options Logger, capabilities and version.
 * @returns The entry; its `run` never throws.
 */
export function createInProcessEntry(workflow: Workflow, options: InProcessOptions): WorkflowEntry {
  const {
    log,
    capabilities = NO_CAPABILITIES,
    version = "builtin",
    now = () => performance.now(),
  } = options;
  // Params come from config and rarely change: parse each params object once.
  const parsedParams = new WeakMap<object, ReturnType<typeof workflow.params.safeParse>>();
  const parseParams = (raw: unknown) => {
    if (typeof raw !== "object" || raw === null) return workflow.params.safeParse(raw);
    let parsed = parsedParams.get(raw);
    if (!parsed) {
      parsed = workflow.params.safeParse(raw);
      if (parsed.success) deepFreeze(parsed.data);
      parsedParams.set(raw, parsed);
    }
    return parsed;
  };
  return Object.freeze({
    id: workflow.id,
    description: workflow.description,
    triggers: workflow.triggers,
    permissions: workflow.permissions,
    origin: "builtin",
    isolation: "in-process",
    version,
    run: async function runInProcess(request: RunRequest): Promise<RunResult> {
      const started = now();
      const enrichments: RunEnrichment[] = [];
      let silenced: string | undefined;
      const finish = (outcome: RunResult["outcome"], error?: string): RunResult => ({
        outcome,
        enrichments,
        durationMs: now() - started,
        ...(silenced === undefined ? {} : { silenced }),
        ...(error === undefined ? {} : { error }),
      });
      const params = parseParams(request.params ?? {});
      if (!params.success) {
        const detail = params.error.issues.map((i) =>
          `${i.path.join(".") || "(root)"}: ${i.message}`
        );
        return finish(
          "error",
          `Cannot run workflow "${workflow.id}": invalid params (${detail.join("; ")})`,
        );
      }
      const controller = new AbortController();
      let runLog: WorkflowContext["log"] | undefined;
      let granted: RunCapabilities | undefined;
      const grant = () =>
        granted ??= capabilities({
          workflowId: workflow.id,
          permissions: workflow.permissions,
          signal: controller.signal,
        });
      // Logger and capabilities are built on first use: most built-in runs need neither.
      const ctx: WorkflowContext<unknown> = {
        issue: deepFreeze(request.issue),
        params: params.data,
        signal: controller.signal,
        get log() {
          return runLog ??= workflowLogger(
            log.child({ workflow: workflow.id, fingerprint: request.issue.fingerprint }),
          );
        },
        enrich(title: string | undefined, blocks: Block[]) {
          enrichments.push(checkEnrichment(workflow.id, title, blocks));
        },
        silence(reason: string) {
          silenced = String(reason);
        },
        get http() {
          return grant().http;
        },
        get prometheus() {
          return grant().prometheus;
        },
        get k8s() {
          return grant().k8s;
        },
      };
      let returned: void | Promise<void>;
      try {
        returned = workflow.run(ctx);
      } catch (error) {
        return finish("error", describeError(error));
      }
      // A synchronous run is done: no deadline timer needed.
      if (!(returned instanceof Promise)) return finish("success");
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), request.timeoutMs);
      });
      try {
        const result = await Promise.race([returned.then(() => "done" as const), deadline]);
        if (result === "timeout") {
          controller.abort(new DOMException("Workflow deadline passed", "TimeoutError"));
          return finish(
            "timeout",
            `Workflow "${workflow.id}" did not finish within ${request.timeoutMs} ms`,
          );
        }
        return finish("success");
      } catch (error) {
        return finish("error", describeError(error));
      } finally {
        clearTimeout(timer);
      }
    },
  });
}

/**
 * Freezes an issue in place, deeply, so every in-process workflow can share it read-only
 * instead of each getting a copy (copying was the largest cost of a built-in run).
 *
 * @param value The issue (or any plain data).
 * @returns The same value, frozen.
 */
export function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== "object" || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  return value;
}

function workflowLogger(log: Logger): WorkflowContext["log"] {
  return {
    debug: (message: string, fields?: LogFields) => log.debug(message, fields),
    info: (message: string, fields?: LogFields) => log.info(message, fields),
    warn: (message: string, fields?: LogFields) => log.warn(message, fields),
    error: (message: string, fields?: LogFields) => log.error(message, fields),
  };
}

/**
 * Turns anything thrown into a one-line reason for the error note.
 *
 * @param error What was thrown (not always an Error).
 * @returns The reason.
 */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  try {
    return `Non-error thrown: ${JSON.stringify(error) ?? String(error)}`;
  } catch {
    return "Non-error thrown (not serializable)";
  }
}
