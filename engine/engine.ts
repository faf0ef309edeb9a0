/**
 * The running engine: config, workflows, pipeline, dedupe and delivery, with a lifecycle
 * (reload without dropping in-flight work, graceful shutdown).
 *
 * The webhook answers once the payload is validated and deduplicated; enrichment and
 * delivery continue in the background and are tracked, so shutdown waits for them.
 *
 * @module
 */
import type { Issue } from "@cano/sdk";
import {
  capabilitiesFor,
  type CapabilityHost,
  type CapabilityHostOptions,
  createCapabilityHost,
  type ResolveDns,
} from "./capabilities/host.ts";
import { createKubernetesProviders } from "./capabilities/kubernetes.ts";
import type { KubeApi } from "./kubernetes/api.ts";
import type { CanoConfig } from "./config/schema.ts";
import type { DatabaseSync } from "node:sqlite";
import { createDispatcher, type Dispatcher } from "./delivery/dispatcher.ts";
import { openOutbox, openStateDatabase, type Outbox } from "./delivery/outbox.ts";
import { createMemoryIntake, type IntakeJournal, openIntake } from "./delivery/intake.ts";
import { openThreadStore, type ThreadStore } from "./delivery/threads.ts";
import { createRouteRules, openRepeatStore, type RouteRules } from "./delivery/grouping.ts";
import { deliveryConfigs, type RouteDecision } from "./routing.ts";
import { createSqliteDedupeStore, type SqliteDedupeStore } from "./delivery/sqlite_dedupe.ts";
import { createLogger, type Logger } from "./log.ts";
import { createMetrics, type Metrics } from "./metrics.ts";
import {
  createPipeline,
  type Pipeline,
  type PipelineState,
  type ProcessResult,
} from "./pipeline.ts";
import { type AlertDeduper, createAlertDeduper } from "./sources/dedupe.ts";
import { parseAlertmanagerPayload, type SourceError } from "./sources/alertmanager.ts";
import type { WorkflowEntry } from "./workflows/entry.ts";
import type { CapabilityFactory } from "./workflows/in_process.ts";
import { assembleWorkflows } from "./workflows/registry.ts";

/** The engine version, reported by `/health/detailed` and `cano version`. */
export const VERSION = "0.1.0";

/** Options of {@linkcode Engine}. */
export interface EngineOptions {
  /** Parsed config. */
  config: CanoConfig;
  /** Where the config came from, for health and logs. @default "<embedded default config>" */
  configFile?: string;
  /** Metrics. @default a new registry */
  metrics?: Metrics;
  /** Logger. @default a JSON logger at info */
  log?: Logger;
  /** HTTP client for destinations. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** DNS resolver for `ctx.http` (tests). @default Deno.resolveDns */
  resolveDns?: ResolveDns;
  /** Clock in ms. @default Date.now */
  now?: () => number;
}

/** The result of a webhook call. */
export type IngestResult =
  | { ok: true; received: number; accepted: number; duplicates: number }
  | { ok: false; error: SourceError; status: 422 | 503 };

/** Health of one component. */
export type ComponentHealth = { status: "ok" | "degraded" | "disabled"; detail?: unknown };

/** The engine. */
export class Engine {
  /** Metrics registry and instruments. */
  readonly metrics: Metrics;
  /** Root logger. */
  readonly log: Logger;
  #config: CanoConfig;
  #configFile: string;
  #state: PipelineState;
  #pipeline: Pipeline;
  #dispatcher: Dispatcher;
  #deduper: AlertDeduper;
  #inflight = new Set<Promise<unknown>>();
  #sandboxed: readonly WorkflowEntry[] = [];
  #capabilities: CapabilityFactory;
  #capabilityOptions: CapabilityHostOptions;
  #kubernetes: KubeApi | undefined;
  #durable: {
    database: DatabaseSync;
    outbox: Outbox;
    dedupe: SqliteDedupeStore;
    threads: ThreadStore;
  } | undefined;
  #intake: IntakeJournal = createMemoryIntake();
  #lastReload: { at: string; ok: boolean; error?: string } | undefined;
  #now: () => number;
  #startedAt: number;
  #closing = false;
  #workflowsReady: Promise<unknown> | undefined;
  #rules: RouteRules;
  #alertListeners = new Set<(issue: Issue) => Promise<void> | void>();

  /** @param options Config, metrics, logger, fetch and clock. */
  constructor(options: EngineOptions) {
    this.metrics = options.metrics ?? createMetrics();
    this.log = options.log ?? createLogger();
    this.#now = options.now ?? Date.now;
    this.#startedAt = this.#now();
    this.#config = options.config;
    this.#configFile = options.configFile ?? "<embedded default config>";
    this.#capabilityOptions = {
      policy: () => this.#config.capabilities,
      logger: this.log,
      metrics: this.metrics,
      providers: createKubernetesProviders({ api: () => this.#kubernetes }),
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(options.resolveDns ? { resolveDns: options.resolveDns } : {}),
    };
    const host = createCapabilityHost(this.#capabilityOptions);
    this.#capabilities = (context) =>
      capabilitiesFor(host, {
        ...context,
        budget: { remaining: this.#config.workflows.sandbox.maxCapabilityCalls },
      });
    this.#state = this.#buildState(options.config);
    if (options.config.delivery.state !== undefined) {
      // The outbox and the dedupe store share one handle: the file is locked exclusively.
      const database = openStateDatabase(options.config.delivery.state, {
        synchronous: options.config.delivery.sync,
      });
      this.#durable = {
        database,
        outbox: openOutbox({ path: database }),
        dedupe: createSqliteDedupeStore({ database }),
        threads: openThreadStore(database),
      };
      this.#intake = openIntake(database, {
        onCommitError: (error) => {
          this.metrics.alertsErrors.inc({ source: "engine", error_type: "state_write_failed" });
          this.log.error("Cannot record routed issues; they run again at the next start", {
            error,
          });
        },
      });
    }
    this.#rules = createRouteRules({
      onFlush: (issue, destinations) => this.#dispatcher.dispatch(issue, destinations),
      ...(this.#durable ? { repeats: openRepeatStore(this.#durable.database) } : {}),
    });
    this.#deduper = this.#buildDeduper(options.config);
    this.#pipeline = createPipeline({
      state: () => this.#state,
      metrics: this.metrics,
      log: this.log,
    });
    this.#dispatcher = createDispatcher({
      destinations: deliveryConfigs(options.config.destinations, options.config.routing.routes)
        .configs,
      concurrency: options.config.delivery.concurrency,
      retry: {
        maxAttempts: options.config.delivery.retry.maxAttempts,
        minDelayMs: options.config.delivery.retry.minDelay,
        maxDelayMs: Math.max(
          options.config.delivery.retry.maxDelay,
          options.config.delivery.retry.minDelay,
        ),
      },
      ...(this.#durable ? { queue: this.#durable.outbox, threads: this.#durable.threads } : {}),
      metrics: this.metrics,
      log: this.log,
      ...(options.fetch ? { fetch: options.fetch } : {}),
    });
  }

  /** The config in effect. */
  get config(): CanoConfig {
    return this.#config;
  }

  /**
   * A capability host for sandboxed workflows: same policy, logs and providers as the
   * in-process one, but it does not count calls (the sandbox supervisor counts its own).
   *
   * @returns The host.
   */
  createSandboxCapabilityHost(): CapabilityHost {
    return createCapabilityHost({ ...this.#capabilityOptions, countMetrics: false });
  }

  /** Workflows in effect, in enrichment order. */
  get workflows(): readonly WorkflowEntry[] {
    return this.#state.workflows;
  }

  /**
   * The state database of `delivery.state`, shared by the durable stores (outbox, dedupe,
   * threads, intake and the Kubernetes sources' gate); undefined without one, and after
   * {@linkcode Engine.shutdown} closed it.
   */
  get stateDatabase(): DatabaseSync | undefined {
    return this.#durable?.database;
  }

  /** Dead letters of the delivery layer. */
  get dispatcher(): Dispatcher {
    return this.#dispatcher;
  }

  /**
   * Accepts an Alertmanager webhook body: validates, deduplicates, and starts processing
   * each new alert in the background.
   *
   * @param body The parsed JSON body.
   * @returns Counts, or the validation error for a 4xx.
   */
  ingestAlertmanager(body: unknown): IngestResult {
    const { alertmanager, cluster } = this.#config;
    const parsed = parseAlertmanagerPayload(body, {
      defaultSeverity: alertmanager.defaultSeverity,
      ...(alertmanager.severityMap ? { severityMap: alertmanager.severityMap } : {}),
      ...(cluster ? { cluster } : {}),
      now: this.#now,
    });
    if (!parsed.ok) {
      this.metrics.alertsErrors.inc({ source: "prometheus", error_type: "invalid_payload" });
      return { ...parsed, status: 422 };
    }
    const fresh: { id: number; issue: Issue }[] = [];
    const duplicates: Issue[] = [];
    try {
      // Dedupe verdicts and journal entries land in one transaction before the answer: a
      // crash before the commit leaves Alertmanager to send again, one after it is resumed.
      this.#intake.batch(() => {
        for (const issue of parsed.issues) {
          if (this.#deduper.check(issue) === "duplicate") duplicates.push(issue);
          else fresh.push({ id: this.#intake.record(issue), issue });
        }
      });
    } catch (error) {
      // The rollback undid the dedupe writes too; the store counts its keys again.
      this.#durable?.dedupe.recount();
      this.metrics.alertsErrors.inc({ source: "prometheus", error_type: "state_write_failed" });
      this.log.error("Cannot record alerts; asking the sender to retry", { error });
      const message = "Cannot record alerts in the state file; retry later";
      return { ok: false, status: 503, error: { message, issues: [] } };
    }
    for (const issue of parsed.issues) {
      this.metrics.alertsReceived.inc({ source: issue.source, status: issue.status });
    }
    for (const { source, severity, fingerprint, status } of duplicates) {
      this.metrics.alertsProcessed.inc({ source, severity, outcome: "duplicate" });
      this.log.debug("Duplicate alert skipped", { fingerprint, status });
    }
    for (const { id, issue } of fresh) {
      this.#track(this.#deliverJournaled(issue, id));
      for (const listener of this.#alertListeners) this.#track(Promise.resolve(listener(issue)));
    }
    return {
      ok: true,
      received: parsed.issues.length,
      accepted: fresh.length,
      duplicates: duplicates.length,
    };
  }

  /**
   * Holds processing until `ready` settles (user workflows loaded), so alerts arriving in
   * the first seconds go through them too. Bounded by the workflow timeout.
   *
   * @param ready Settles when the sandboxed workflows are loaded.
   */
  waitForWorkflows(ready: Promise<unknown>): void {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const bound = new Promise((resolve) => {
      const id = setTimeout(resolve, this.#config.workflows.sandbox.maxTimeoutMs);
      Deno.unrefTimer(id);
      timer = id;
    });
    const settled = Promise.race([ready.catch(() => undefined), bound]);
    this.#workflowsReady = settled;
    void settled.then(() => {
      clearTimeout(timer);
      if (this.#workflowsReady === settled) this.#workflowsReady = undefined;
    });
  }

  /**
   * Runs the Issues an earlier process accepted but never routed (it crashed or was killed
   * while workflows ran) through the workflows again. Call once workflows are loaded.
   *
   * @returns How many were resumed.
   */
  resumeIntake(): number {
    const { entries, unreadable } = this.#intake.pending();
    if (unreadable > 0) {
      this.log.error("Cannot read journaled issues; they stay in the state file", {
        count: unreadable,
      });
    }
    if (entries.length > 0) {
      this.log.info("Resuming issues accepted before a restart", { count: entries.length });
    }
    for (const { id, issue } of entries) this.#track(this.#deliverJournaled(issue, id));
    return entries.length;
  }

  async #deliverJournaled(issue: Issue, id: number): Promise<ProcessResult | undefined> {
    try {
      return await this.deliver(issue, id);
    } catch (error) {
      // Left in the journal: the next start runs it again.
      this.metrics.alertsErrors.inc({ source: issue.source, error_type: "routing_failed" });
      this.log.error("Cannot hand issue to delivery; kept for the next start", {
        fingerprint: issue.fingerprint,
        error,
      });
      return undefined;
    }
  }

  /**
   * Accepts an issue from a source other than the webhook (Kubernetes, Helm): counts it and
   * processes it in the background, tracked for graceful shutdown.
   *
   * @param issue A normalized issue; the source has already deduplicated it.
   */
  submit(issue: Issue): void {
    if (this.#closing) {
      this.log.warn("Issue arrived during shutdown and was not processed", {
        fingerprint: issue.fingerprint,
        source: issue.source,
      });
      return;
    }
    this.metrics.alertsReceived.inc({ source: issue.source, status: issue.status });
    let id: number;
    try {
      id = this.#intake.record(issue);
    } catch (error) {
      this.log.error("Cannot record issue in the state file; processing it anyway", {
        fingerprint: issue.fingerprint,
        error,
      });
      this.#track(this.deliver(issue));
      return;
    }
    this.#track(this.#deliverJournaled(issue, id));
  }

  /**
   * Connects `ctx.k8s` of every workflow (in-process and sandboxed) to a cluster.
   *
   * @param api The cluster, or `undefined` to disconnect.
   */
  setKubernetes(api: KubeApi | undefined): void {
    this.#kubernetes = api;
  }

  /**
   * Calls `listener` for every new Alertmanager alert accepted by the webhook (Karo
   * AlertReactions use it). Its failures are logged and counted, never fail the webhook.
   *
   * @param listener Called once per accepted alert.
   * @returns A function that removes the listener.
   */
  onAlert(listener: (issue: Issue) => Promise<void> | void): () => void {
    this.#alertListeners.add(listener);
    return () => this.#alertListeners.delete(listener);
  }

  /**
   * Processes one issue (workflows and routing) and hands it to delivery.
   *
   * @param issue A normalized issue from any source.
   * @param journalId Its intake journal entry, crossed off in the same transaction that
   *   writes its outbox rows (or once its group is flushed).
   * @returns What the pipeline did.
   */
  async deliver(issue: Issue, journalId?: number): Promise<ProcessResult> {
    const started = performance.now();
    if (this.#workflowsReady) await this.#workflowsReady;
    const result = await this.#pipeline.process(issue);
    const labels = { source: issue.source, severity: issue.severity };
    const crossOff = () => {
      if (journalId !== undefined) this.#intake.done(journalId);
    };
    let flushed: Promise<unknown> | undefined;
    if (result.silenced) {
      this.metrics.alertsProcessed.inc({ ...labels, outcome: "silenced" });
      crossOff();
    } else if (!result.route || result.route.destinations.length === 0) {
      this.metrics.alertsProcessed.inc({ ...labels, outcome: "no_route" });
      this.log.warn("Issue matched no destination", { fingerprint: issue.fingerprint });
      crossOff();
    } else {
      const route = result.route;
      // The outbox rows and the journal entry land together (both or neither), in one
      // commit shared with the issues routed in the next few ms.
      const held = this.#intake.batchSoon(() => {
        const applied = this.#applyRouteRules(result.issue, route);
        if (!applied.grouped) crossOff();
        return applied;
      });
      this.metrics.alertsProcessed.inc({ ...labels, outcome: held.outcome });
      if (held.grouped) flushed = held.flushed.then(crossOff);
    }
    this.metrics.alertsProcessingDuration.observe(
      { source: issue.source },
      (performance.now() - started) / 1000,
    );
    // A grouped issue stays in the intake journal until its group is flushed.
    if (flushed) await flushed;
    return result;
  }

  /** Repeat suppression and grouping per matched route, then dispatch. */
  #applyRouteRules(
    issue: Issue,
    decision: RouteDecision,
  ): { outcome: "routed" | "repeat"; grouped: boolean; flushed: Promise<unknown> } {
    const direct = new Set<string>();
    const holds: Promise<void>[] = [];
    let repeats = 0;
    for (const { route, destinations } of decision.matched) {
      if (route && this.#rules.isRepeat(route, issue)) {
        repeats++;
        this.log.debug("Repeat suppressed", { fingerprint: issue.fingerprint, route: route.name });
        continue;
      }
      if (route?.group) holds.push(this.#rules.hold(route, issue, destinations));
      else destinations.forEach((name) => direct.add(name));
    }
    if (direct.size > 0) this.#dispatcher.dispatch(issue, [...direct]);
    return {
      outcome: repeats === decision.matched.length ? "repeat" : "routed",
      grouped: holds.length > 0,
      flushed: Promise.all(holds),
    };
  }

  /**
   * Runs an issue through workflows and routing without delivering it (dry-run).
   *
   * @param issue The issue.
   * @returns What would be delivered where.
   */
  preview(issue: Issue): Promise<ProcessResult> {
    return this.#pipeline.process(issue);
  }

  /**
   * Applies a new config. In-flight issues finish with the state they started with; new
   * ones use the new config.
   *
   * @param config The new, already validated config.
   */
  reload(config: CanoConfig): void {
    this.#state = this.#buildState(config);
    if (
      config.alertmanager.repeatInterval !== this.#config.alertmanager.repeatInterval ||
      config.alertmanager.dedupeTtl !== this.#config.alertmanager.dedupeTtl
    ) {
      this.#deduper = this.#buildDeduper(config);
    }
    this.#dispatcher.update(deliveryConfigs(config.destinations, config.routing.routes).configs);
    this.#config = config;
    this.recordReload(true);
  }

  /**
   * Records a reload attempt for metrics and `/health/detailed`.
   *
   * @param ok Whether the new config was applied.
   * @param error Why it was refused.
   */
  recordReload(ok: boolean, error?: string): void {
    this.metrics.configReloads.inc({ result: ok ? "success" : "failure" });
    this.#lastReload = { at: new Date(this.#now()).toISOString(), ok, ...(error ? { error } : {}) };
  }

  /**
   * Replaces the sandboxed workflows (user files and sandboxed built-ins).
   *
   * @param entries The loaded sandboxed entries.
   */
  setSandboxedWorkflows(entries: readonly WorkflowEntry[]): void {
    this.#sandboxed = entries;
    this.#state = this.#buildState(this.#config);
  }

  /** Resolves when no issue is being processed or delivered. @returns A promise. */
  async idle(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
    await this.#dispatcher.drain();
  }

  /** Whether shutdown has begun. */
  get closing(): boolean {
    return this.#closing;
  }

  /**
   * Stops accepting work, waits for in-flight processing and deliveries.
   *
   * @param timeoutMs Longest wait.
   * @returns Whether everything finished in time.
   */
  async shutdown(timeoutMs: number): Promise<boolean> {
    this.#closing = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<false>((resolve) =>
      timer = setTimeout(() => resolve(false), timeoutMs)
    );
    // Open groups go out now rather than wait for their window.
    this.#rules.flushAll();
    const done = await Promise.race([this.idle().then(() => true), timeout]);
    clearTimeout(timer);
    // Groups opened by issues that finished during the drain.
    this.#rules.flushAll();
    await this.#dispatcher.close();
    if (this.#durable) {
      try {
        this.#intake.flush();
      } catch (error) {
        this.log.error("Cannot record routed issues; they run again at the next start", {
          error,
        });
      }
      this.#durable.outbox.close();
      this.#durable.dedupe.close();
      this.#durable.database.close();
      this.#durable = undefined;
    }
    return done;
  }

  /** @returns The detailed health report. */
  health(): {
    status: "ok" | "degraded";
    components: Record<string, ComponentHealth>;
    uptime: string;
    uptimeSeconds: number;
    version: string;
  } {
    const uptimeSeconds = Math.floor((this.#now() - this.#startedAt) / 1000);
    const deadLetters = this.#dispatcher.deadLetters();
    const components: Record<string, ComponentHealth> = {
      config: {
        status: this.#lastReload && !this.#lastReload.ok ? "degraded" : "ok",
        detail: { file: this.#configFile, lastReload: this.#lastReload ?? null },
      },
      workflows: {
        status: "ok",
        detail: this.#state.workflows.map((w) => ({
          id: w.id,
          origin: w.origin,
          isolation: w.isolation,
          version: w.version,
        })),
      },
      destinations: {
        status: deadLetters.length > 0 ? "degraded" : "ok",
        detail: {
          configured: this.#config.destinations.map((d) => ({ name: d.name, type: d.type })),
          pending: this.#dispatcher.pending(),
          deadLetters: deadLetters.length,
          durable: this.#durable !== undefined,
          perDestination: this.#dispatcher.status(),
          // The newest few, so an operator sees why without the admin API.
          recentDeadLetters: deadLetters.slice(-10),
          openGroups: this.#rules.openGroups(),
        },
      },
    };
    const degraded = Object.values(components).some((c) => c.status === "degraded");
    return {
      status: degraded ? "degraded" : "ok",
      components,
      uptime: formatUptime(uptimeSeconds),
      uptimeSeconds,
      version: VERSION,
    };
  }

  #buildState(config: CanoConfig): PipelineState {
    const { workflows, settings } = assembleWorkflows(config, {
      log: this.log,
      sandboxed: this.#sandboxed,
      capabilities: this.#capabilities,
    });
    return {
      workflows,
      settings,
      defaultTimeoutMs: config.workflows.timeout,
      routing: config.routing,
    };
  }

  #buildDeduper(config: CanoConfig): AlertDeduper {
    return createAlertDeduper({
      repeatIntervalMs: config.alertmanager.repeatInterval,
      ttlMs: config.alertmanager.dedupeTtl,
      now: this.#now,
      ...(this.#durable ? { store: this.#durable.dedupe } : {}),
    });
  }

  #track(work: Promise<unknown>): void {
    const tracked = work.catch((error) => {
      this.metrics.alertsErrors.inc({ source: "engine", error_type: "processing" });
      this.log.error("Cannot process issue", { reason: error });
    }).finally(() => this.#inflight.delete(tracked));
    this.#inflight.add(tracked);
  }
}

function formatUptime(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return `${h}h${m}m${seconds % 60}s`;
}
