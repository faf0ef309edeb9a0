/**
 * The supervisor of one workflow version: one warm child process, reused across runs.
 *
 * It owns the run queue (bounded; a full queue rejects), the concurrency limit, the
 * deadline of every run (SIGKILL of the child when it passes, then a fast restart), the
 * restart backoff, recycling after N runs and the quarantine after N consecutive failed
 * runs. A dead or killed child fails only the runs it was serving; every run ends in a
 * {@linkcode RunResult} with an outcome and a safe reason, never in a thrown error.
 *
 * Capability frames are served through the {@linkcode CapabilityHost} with the engine's own
 * copy of the workflow's permissions and a per-run budget; the calls are counted here, in
 * `cano_sandbox_capability_calls_total` (the host is created with `countMetrics: false`).
 * Child restarts are counted in `cano_sandbox_restarts_total{workflow,reason}`; runs and
 * their durations are counted by the pipeline, which sees every workflow.
 *
 * Runs killed as collateral (another run of the same child timed out or broke the protocol)
 * end as `crash` and do not count toward the quarantine.
 *
 * The file stays whole (past 400 lines) on purpose: the queue, deadlines, restarts, recycling
 * and quarantine are one state machine over the same fields, and splitting it would spread
 * its invariants (a run ends exactly once; a killed child is never handed a new run) over
 * several files.
 *
 * @module
 */
import { BlockSchema, type Permissions } from "@cano/sdk";
import { CapabilityError, type CapabilityHost } from "../capabilities/host.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import type { RunEnrichment, RunOutcome, RunRequest, RunResult } from "../workflows/entry.ts";
import { type ChildExit, type ChildSpec, SandboxChild } from "./child.ts";
import type { SandboxConfig } from "./config.ts";
import { outcomeOfExit } from "./exit_outcome.ts";
import type { ChildFrame, Manifest } from "./protocol.ts";

/** Options of {@linkcode Supervisor}. */
export interface SupervisorOptions {
  /** What the child runs. */
  spec: ChildSpec;
  /** Sandbox limits. */
  config: SandboxConfig;
  /** Serves capability calls. */
  capabilityHost: CapabilityHost;
  /** Metrics; runs, durations, restarts and capability calls are counted. */
  metrics?: Metrics | undefined;
  /** Logger; lines carry the workflow id and version. */
  log: Logger;
  /** Name used in metrics and messages until the manifest names the workflow. */
  name: string;
  /** Rewrites snapshot paths in messages to the paths the author knows. @default identity */
  rewrite?: (text: string) => string;
  /** Clock. @default performance.now */
  now?: () => number;
}

/** Counters of one supervisor, for status pages. */
export interface SupervisorStats {
  /** Runs finished. */
  runs: number;
  /** Runs that did not succeed (collateral kills excluded). */
  failures: number;
  /** Failed runs since the last success. */
  consecutiveFailures: number;
  /** Child restarts. */
  restarts: number;
  /** Set while quarantined: until when (epoch ms). */
  quarantinedUntil?: number;
  /** Runs in flight. */
  inFlight: number;
  /** Runs waiting. */
  queued: number;
  /** The child's pid, when one runs. */
  pid?: number;
}

/** Thrown by {@linkcode Supervisor.start} when the workflow cannot be loaded. */
export class SandboxLoadError extends Error {
  /**
   * @param message `Cannot load ...: ...`, safe to show.
   * @param options The cause.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SandboxLoadError";
  }
}

interface Pending {
  request: RunRequest;
  started: number;
  deadline: number;
  timeoutMs: number;
  resolve(result: RunResult): void;
  timer?: ReturnType<typeof setTimeout>;
  // set when dispatched
  id?: number;
  child?: SandboxChild;
  enrichments: RunEnrichment[];
  silenced?: string;
  frames: number;
  logs: number;
  controller: AbortController;
  budget: { remaining: number };
}

interface ChildSlot {
  child: SandboxChild;
  ready: boolean;
  dispatched: number;
  retiring: boolean;
}

/** Supervises the child of one workflow version. */
export class Supervisor {
  readonly #options: SupervisorOptions;
  readonly #config: SandboxConfig;
  readonly #now: () => number;
  readonly #rewrite: (text: string) => string;
  #name: string;
  #permissions: Permissions = { kubernetes: [], prometheus: false, http: [] };
  #slot: ChildSlot | undefined;
  #starting: Promise<void> | undefined;
  #queue: Pending[] = [];
  #inFlight = new Map<number, Pending>();
  #orphanFrames = 0;
  #nextId = 1;
  #closed = false;
  #deaths = 0;
  #stats = { runs: 0, failures: 0, consecutiveFailures: 0, restarts: 0 };
  #quarantinedUntil: number | undefined;
  #idle: (() => void)[] = [];

  /** @param options Child spec, limits, capability host, metrics and logger. */
  constructor(options: SupervisorOptions) {
    this.#options = options;
    this.#config = options.config;
    this.#now = options.now ?? (() => performance.now());
    this.#rewrite = options.rewrite ?? ((text) => text);
    this.#name = options.name;
  }

  /** Counters for status pages. */
  get stats(): SupervisorStats {
    const stats: SupervisorStats = {
      ...this.#stats,
      inFlight: this.#inFlight.size,
      queued: this.#queue.length,
    };
    if (this.#quarantinedUntil !== undefined) stats.quarantinedUntil = this.#quarantinedUntil;
    if (this.#slot?.child.alive) stats.pid = this.#slot.child.pid;
    return stats;
  }

  /**
   * Starts the child and waits until it has loaded the workflow.
   *
   * @param permissions Called with the manifest; returns the engine's parsed permissions,
   *   or throws to refuse the workflow (the child is then stopped).
   * @returns The manifest the child reported.
   * @throws {SandboxLoadError} When the child fails to load the file or times out.
   */
  async start(permissions: (manifest: Manifest) => Permissions): Promise<Manifest> {
    const manifest = await this.#spawn();
    try {
      this.#permissions = permissions(manifest);
    } catch (error) {
      this.#slot?.child.kill("stopped");
      throw error;
    }
    this.#name = manifest.id;
    if (this.#slot) this.#slot.ready = true;
    this.#pump();
    return manifest;
  }

  /**
   * Runs the workflow on an issue. Never throws.
   *
   * @param request Issue, params and deadline.
   * @returns How the run ended, with the enrichments added before it ended.
   */
  run(request: RunRequest): Promise<RunResult> {
    const started = this.#now();
    const timeoutMs = Math.max(1, Math.min(request.timeoutMs, this.#config.maxTimeoutMs));
    if (this.#closed) {
      return Promise.resolve(this.#result("rejected", started, [], {
        error: `Cannot run workflow "${this.#name}": it is being replaced or stopped`,
      }));
    }
    if (this.#quarantinedUntil !== undefined) {
      if (Date.now() < this.#quarantinedUntil) {
        return Promise.resolve(this.#result("quarantined", started, [], {
          error: this.#quarantineMessage(),
        }));
      }
      // The quarantine has expired: let runs through again, one failure re-quarantines.
      this.#quarantinedUntil = undefined;
      this.#stats.consecutiveFailures = this.#config.quarantineAfter - 1;
    }
    if (this.#queue.length >= this.#config.queueSize && !this.#canDispatch()) {
      return Promise.resolve(this.#result("rejected", started, [], {
        error:
          `Cannot run workflow "${this.#name}": its queue is full (${this.#config.queueSize} runs waiting)`,
      }));
    }
    return new Promise<RunResult>((resolve) => {
      const pending: Pending = {
        request,
        started,
        deadline: started + timeoutMs,
        timeoutMs,
        resolve,
        enrichments: [],
        frames: 0,
        logs: 0,
        controller: new AbortController(),
        budget: { remaining: this.#config.maxCapabilityCalls },
      };
      pending.timer = setTimeout(() => this.#onDeadline(pending), timeoutMs);
      this.#queue.push(pending);
      this.#pump();
    });
  }

  /**
   * Stops taking runs, lets queued and running ones finish (each within its deadline), then
   * stops the child.
   */
  async drain(): Promise<void> {
    this.#closed = true;
    if (this.#queue.length + this.#inFlight.size > 0) {
      await new Promise<void>((resolve) => this.#idle.push(resolve));
    }
    await this.#stopChild("stopped");
  }

  /** Stops the child now; queued and running runs end as `crash`. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const pending of this.#queue.splice(0)) {
      this.#finish(pending, "crash", {
        error: `Cannot run workflow "${this.#name}": the sandbox was stopped`,
        collateral: true,
      });
    }
    await this.#stopChild("stopped");
  }

  async #stopChild(reason: "stopped"): Promise<void> {
    const slot = this.#slot;
    if (!slot) return;
    slot.child.kill(reason);
    await slot.child.exited;
  }

  #canDispatch(): boolean {
    const slot = this.#slot;
    return !!slot && slot.ready && !slot.retiring && slot.child.alive &&
      this.#inFlight.size < this.#config.concurrency;
  }

  #pump(): void {
    while (this.#queue.length > 0 && this.#canDispatch()) {
      this.#dispatch(this.#queue.shift()!);
    }
    if (this.#queue.length > 0 && !this.#slot && !this.#starting && !this.#isQuarantined()) {
      this.#restart();
    }
    if (this.#queue.length === 0 && this.#inFlight.size === 0) {
      for (const resolve of this.#idle.splice(0)) resolve();
    }
  }

  #dispatch(pending: Pending): void {
    const slot = this.#slot!;
    const id = this.#nextId++;
    pending.id = id;
    pending.child = slot.child;
    this.#inFlight.set(id, pending);
    slot.dispatched++;
    if (slot.dispatched >= this.#config.recycleAfter) slot.retiring = true;
    this.#orphanFrames = 0;
    slot.child.send({
      op: "invoke",
      id,
      issue: pending.request.issue,
      params: pending.request.params ?? {},
      timeoutMs: Math.max(1, Math.round(pending.deadline - this.#now())),
    });
  }

  #onDeadline(pending: Pending): void {
    const queued = this.#queue.indexOf(pending);
    if (queued !== -1) {
      this.#queue.splice(queued, 1);
      this.#finish(pending, "timeout", {
        error:
          `Cannot run workflow "${this.#name}": it waited ${pending.timeoutMs} ms in the queue and its deadline passed`,
      });
      this.#pump();
      return;
    }
    if (pending.id === undefined || !this.#inFlight.has(pending.id)) return;
    // Kill first, so that finishing the run does not dispatch another one onto this child.
    pending.child?.kill("timeout", `a run passed its ${pending.timeoutMs} ms deadline`);
    this.#finish(pending, "timeout", {
      error:
        `Cannot finish workflow "${this.#name}": it ran past its ${pending.timeoutMs} ms deadline and its sandbox was killed`,
    });
  }

  #finish(
    pending: Pending,
    outcome: RunOutcome,
    { error, collateral = false }: { error?: string; collateral?: boolean } = {},
  ): void {
    clearTimeout(pending.timer);
    pending.controller.abort();
    if (pending.id !== undefined) this.#inFlight.delete(pending.id);
    this.#stats.runs++;
    if (outcome === "success") {
      this.#stats.consecutiveFailures = 0;
      this.#deaths = 0;
    } else if (!collateral && outcome !== "rejected" && outcome !== "quarantined") {
      this.#stats.failures++;
      this.#stats.consecutiveFailures++;
    }
    const extra: { error?: string; silenced?: string } = {};
    if (error !== undefined) extra.error = this.#rewrite(error);
    if (pending.silenced !== undefined) extra.silenced = pending.silenced;
    pending.resolve(this.#result(outcome, pending.started, pending.enrichments, extra));
    if (this.#stats.consecutiveFailures >= this.#config.quarantineAfter && !this.#isQuarantined()) {
      this.#quarantine();
    }
    const slot = this.#slot;
    if (slot?.retiring && slot.child === pending.child && this.#countOn(slot.child) === 0) {
      slot.child.kill("recycle", `recycled after ${slot.dispatched} runs`);
    }
    this.#pump();
  }

  #result(
    outcome: RunOutcome,
    started: number,
    enrichments: RunEnrichment[],
    extra: { error?: string; silenced?: string },
  ): RunResult {
    // Runs and durations are counted by the pipeline, which sees every workflow.
    return { outcome, enrichments, durationMs: this.#now() - started, ...extra };
  }

  #countOn(child: SandboxChild): number {
    let count = 0;
    for (const pending of this.#inFlight.values()) if (pending.child === child) count++;
    return count;
  }

  #isQuarantined(): boolean {
    return this.#quarantinedUntil !== undefined && Date.now() < this.#quarantinedUntil;
  }

  #quarantineMessage(): string {
    return `Cannot run workflow "${this.#name}": it is quarantined after ${this.#config.quarantineAfter} consecutive failed runs, until ${
      new Date(this.#quarantinedUntil ?? Date.now()).toISOString()
    }`;
  }

  #quarantine(): void {
    this.#quarantinedUntil = Date.now() + this.#config.quarantineMs;
    this.#options.log.warn("Workflow quarantined", {
      workflow: this.#name,
      failures: this.#stats.consecutiveFailures,
      until: new Date(this.#quarantinedUntil).toISOString(),
    });
    for (const pending of this.#queue.splice(0)) {
      this.#finish(pending, "quarantined", { error: this.#quarantineMessage(), collateral: true });
    }
    this.#slot?.child.kill("quarantine", "the workflow was quarantined");
  }

  /** Spawns a child and waits for its `ready` frame. */
  #spawn(): Promise<Manifest> {
    const { spec, config, log } = this.#options;
    return new Promise<Manifest>((resolve, reject) => {
      let settled = false;
      let child: SandboxChild | undefined;
      const timer = setTimeout(() => {
        child?.kill("load-timeout", `loading took longer than ${config.loadTimeoutMs} ms`);
        fail(
          `Cannot load workflow: its top-level code did not finish within ${config.loadTimeoutMs} ms`,
        );
      }, config.loadTimeoutMs);
      const fail = (message: string, cause?: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(new SandboxLoadError(this.#rewrite(message), { cause }));
      };
      try {
        child = new SandboxChild(spec, config, {
          onFrame: (frame) => {
            const self = child!;
            if (!settled) {
              if (frame.op === "ready") {
                settled = true;
                clearTimeout(timer);
                resolve(frame.workflow);
              } else if (frame.op === "loadError") {
                fail(frame.error);
                self.kill("stopped");
              } else self.kill("violation", `a "${frame.op}" frame before the workflow loaded`);
              return;
            }
            this.#onFrame(self, frame);
          },
        }, log);
      } catch (error) {
        fail(`Cannot start the sandbox: ${(error as Error).message}`, error);
        return;
      }
      const slot: ChildSlot = { child, ready: false, dispatched: 0, retiring: false };
      this.#slot = slot;
      child.exited.then((exit) => {
        if (!settled) {
          fail(
            exit.reason === "oom"
              ? `Cannot load workflow: it ran out of memory while loading`
              : `Cannot load workflow: the sandbox ${exit.detail || "exited"} before loading it`,
          );
        }
        this.#onExit(slot, exit);
      });
    });
  }

  #restart(): void {
    const delay = this.#deaths <= 1 ? 0 : Math.min(
      this.#config.restartBackoffMs * 2 ** (this.#deaths - 2),
      this.#config.maxRestartBackoffMs,
    );
    const starting = (async () => {
      if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      if (this.#closed || this.#isQuarantined()) return;
      try {
        await this.#spawn();
        if (this.#slot) this.#slot.ready = true;
      } catch (error) {
        this.#deaths++;
        this.#options.log.warn("Cannot restart the sandbox", {
          workflow: this.#name,
          error: (error as Error).message,
        });
      }
    })();
    this.#starting = starting;
    starting.finally(() => {
      if (this.#starting === starting) this.#starting = undefined;
      this.#pump();
    });
  }

  #onExit(slot: ChildSlot, exit: ChildExit): void {
    if (this.#slot === slot) this.#slot = undefined;
    for (const pending of [...this.#inFlight.values()]) {
      if (pending.child !== slot.child) continue;
      const { outcome, error, collateral } = outcomeOfExit(exit, this.#name, this.#config);
      this.#finish(pending, outcome, { error, collateral });
    }
    if (!slot.ready || exit.reason === "stopped") return;
    if (exit.reason !== "recycle") this.#deaths++;
    this.#stats.restarts++;
    this.#options.metrics?.sandboxRestarts.inc({ workflow: this.#name, reason: exit.reason });
    const level = exit.reason === "recycle" ? "info" : "warn";
    this.#options.log[level]("Sandbox child ended", {
      workflow: this.#name,
      reason: exit.reason,
      code: exit.code,
      detail: this.#rewrite(exit.detail),
      stderr: this.#rewrite(slot.child.stderrTail.slice(-2_000)),
    });
    if (!this.#closed && !this.#isQuarantined() && !this.#slot && !this.#starting) {
      this.#restart();
    }
  }

  #onFrame(child: SandboxChild, frame: ChildFrame): void {
    if (frame.op === "ready" || frame.op === "loadError") {
      child.kill("violation", `an unexpected "${frame.op}" frame`);
      return;
    }
    const pending = this.#inFlight.get(frame.id);
    if (!pending || pending.child !== child) {
      // Frames of no run in flight: logs from code running between or across runs (id 0),
      // or late calls of a finished run. Logged when they are logs, capped, never kept.
      if (++this.#orphanFrames > this.#config.maxFrames) {
        child.kill("violation", `more than ${this.#config.maxFrames} messages outside a run`);
      } else if (frame.op === "log" && this.#orphanFrames <= this.#config.maxLogLines) {
        this.#options.log[frame.level]("Workflow log", {
          workflow: this.#name,
          message: frame.message,
          fields: frame.fields ?? {},
        });
      }
      return;
    }
    if (++pending.frames > this.#config.maxFrames) {
      child.kill("violation", `more than ${this.#config.maxFrames} messages in one run`);
      return;
    }
    switch (frame.op) {
      case "enrich":
        return this.#onEnrich(child, pending, frame.blocks, frame.title);
      case "log":
        if (++pending.logs > this.#config.maxLogLines) return;
        this.#options.log[frame.level]("Workflow log", {
          workflow: this.#name,
          fingerprint: pending.request.issue.fingerprint,
          message: frame.message,
          fields: frame.fields ?? {},
        });
        return;
      case "silence":
        pending.silenced = frame.reason.slice(0, 1_000);
        return;
      case "cap":
        return this.#onCapability(child, pending, frame.call, frame.name, frame.args);
      case "done":
        return this.#finish(pending, "success");
      case "error":
        return this.#finish(pending, "error", { error: frame.error });
    }
  }

  #onEnrich(child: SandboxChild, pending: Pending, raw: unknown[], title?: string): void {
    const blocks = [];
    for (const block of raw) {
      const parsed = BlockSchema.safeParse(block);
      if (!parsed.success) {
        child.kill("violation", "an enrichment whose blocks do not match the block schema");
        return;
      }
      blocks.push(parsed.data);
    }
    const count = pending.enrichments.reduce((sum, e) => sum + e.blocks.length, 0);
    const size = pending.enrichments.reduce((sum, e) => sum + JSON.stringify(e).length, 0) +
      JSON.stringify({ title, blocks }).length;
    if (
      count + blocks.length > this.#config.maxBlocks || size > this.#config.maxEnrichmentBytes * 1.1
    ) {
      child.kill("violation", "enrichments beyond the block or size limit");
      return;
    }
    pending.enrichments.push(title === undefined ? { blocks } : { title, blocks });
  }

  #onCapability(
    child: SandboxChild,
    pending: Pending,
    call: number,
    name: string,
    args: unknown,
  ): void {
    const id = pending.id!;
    const metrics = this.#options.metrics;
    this.#options.capabilityHost.call(name, args, {
      workflowId: this.#name,
      permissions: this.#permissions,
      signal: pending.controller.signal,
      budget: pending.budget,
    }).then(
      (value) => {
        metrics?.sandboxCapabilityCalls.inc({
          workflow: this.#name,
          capability: name,
          outcome: "ok",
        });
        if (!this.#inFlight.has(id)) return;
        child.send({ op: "capResult", id, call, ok: true, value: value ?? null });
      },
      (error: unknown) => {
        const outcome = error instanceof CapabilityError ? error.reason : "failed";
        const capability = error instanceof CapabilityError ? error.capability : "unknown";
        metrics?.sandboxCapabilityCalls.inc({ workflow: this.#name, capability, outcome });
        if (!this.#inFlight.has(id)) return;
        const message = error instanceof Error
          ? error.message
          : `Cannot call "${name.slice(0, 64)}": the capability failed`;
        child.send({ op: "capResult", id, call, ok: false, error: message });
      },
    );
  }
}
