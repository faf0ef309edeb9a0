/**
 * Runs the Kubernetes and Helm sources: one informer per watched path, the detectors on
 * every add and update, a periodic re-check for conditions that depend on time, and a gate
 * that delivers each transition once.
 *
 * How repeats are avoided:
 * - the runner keeps its own last state per object (by uid) and hands it to the detectors
 *   as `previous`, so a relist that re-adds known objects, or replays updates, compares an
 *   object with itself and finds no transition;
 * - detectors only report transitions, and report past facts (an OOM kill, a failed Job,
 *   an Event, a failed Helm revision) on a newly seen object only when they happened after
 *   the watch started — no flood of old Events at start-up;
 * - the gate (`_issue_gate.ts`) drops a transition already delivered (same fingerprint and
 *   `startsAt`), a second firing of a condition that is still open, and a resolution of a
 *   condition that is not open.
 *
 * Start-up (`startup` in the config): with `ongoing` (the default), conditions present when
 * Cano starts — a pod already crash-looping, a NotReady node, a stuck rollout — are
 * reported once, because they may have begun while Cano was down (an upgrade of Cano
 * itself) and losing them is worse than repeating them; the stable fingerprint lets a
 * destination thread the repeat. With `quiet`, the first list only records state.
 *
 * When an object is deleted, its open conditions are resolved (a crash-looping pod removed
 * by a rollout no longer crash-loops).
 *
 * Restarts: with `gateStore` durable (the engine passes the SQLite store of
 * `delivery.state`), the gate remembers across restarts. A condition still present at
 * start-up is then not reported again (the gate finds it open), and after each watch's
 * first list the open conditions of objects that list no longer holds — deleted while Cano
 * was down — are resolved like a deletion seen live. Not covered: a condition that ended
 * while Cano was down on an object that still exists stays open until the object changes
 * again or is deleted, since the detectors report a resolution only as a transition from
 * the previous object, which is not kept across restarts.
 *
 * A gate store that cannot be read or written (the state file closing at shutdown, a full
 * disk) is logged and counted (`error_type="state_write_failed"`), and the issue is
 * delivered unchecked: a repeat is better than a loss.
 *
 * Delivered issues are counted per watch in {@linkcode KubernetesSources.status} (the
 * engine's `submit` counts them in `cano_alerts_received_total{source, status}`); a
 * detector that throws counts in `cano_alerts_errors_total{source="kubernetes",
 * error_type="detector"}`.
 *
 * @module
 */
import type { Issue } from "@cano/sdk";
import type { KubeApi, KubeObject } from "../kubernetes/api.ts";
import { createInformer } from "../kubernetes/informer.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import { createIssueGate, type IssueGateStore } from "./_issue_gate.ts";
import { type BoundDetector, buildWatchSpecs } from "./_kube_watches.ts";
import type { KubernetesSourcesConfig } from "./kubernetes_config.ts";

/** Options of {@linkcode startKubernetesSources}. */
export interface KubernetesSourcesOptions {
  /** Receives every issue to process; must not throw (errors are logged). */
  deliver(issue: Issue): void;
  /** Logger. */
  log: Logger;
  /** Metrics. @default undefined (none counted) */
  metrics?: Metrics;
  /** Cluster name stamped on issues and part of fingerprints. @default undefined */
  cluster?: string;
  /** Clock. @default Date.now */
  now?: () => number;
  /** Id generator. @default crypto.randomUUID */
  newId?: () => string;
  /**
   * Where the gate keeps what it delivered; a durable store carries it across restarts.
   * @default a new in-memory store
   */
  gateStore?: IssueGateStore;
}

/** Status of one watch. */
export interface KubernetesWatchStatus {
  /** Watch name, e.g. `pods`. */
  name: string;
  /** API path. */
  path: string;
  /** Sources fed by this watch. */
  sources: string[];
  /** Whether the first list is done. */
  synced: boolean;
  /** Objects known. */
  objects: number;
  /** Issues delivered. */
  issues: number;
  /** The informer's own status. */
  informer: unknown;
}

/** What {@linkcode KubernetesSources.status} returns. */
export interface KubernetesSourcesStatus {
  /** Whether any source runs. */
  enabled: boolean;
  /** When the watches started (RFC 3339). */
  startedAt: string;
  /** Conditions currently open. */
  openIssues: number;
  /** One entry per watch. */
  watches: KubernetesWatchStatus[];
}

/** Running sources. */
export interface KubernetesSources {
  /** Resolves when every watch has done its first list. */
  readonly synced: Promise<void>;
  /** Stops every watch and the re-check timer. */
  stop(): Promise<void>;
  /** Health of the sources, for `/health/detailed`. */
  status(): KubernetesSourcesStatus;
}

interface Known {
  object: KubeObject;
  at: number;
}

function objectKey(object: KubeObject): string {
  const { uid, namespace = "", name = "" } = object.metadata ?? {};
  return uid ?? `${namespace}/${name}`;
}

/**
 * Starts the Kubernetes sources of a config.
 *
 * @param api The Kubernetes API.
 * @param config The parsed `kubernetes.sources` config.
 * @param options Delivery, logger, metrics, cluster, clock.
 * @returns A handle to stop them and read their status.
 * @example Start and stop (needs a cluster)
 * ```ts ignore
 * import { startKubernetesSources } from "./kubernetes_runner.ts";
 * import { KubernetesSourcesSchema } from "./kubernetes_config.ts";
 *
 * const sources = startKubernetesSources(api, KubernetesSourcesSchema.parse({}), {
 *   deliver: (issue) => engine.deliver(issue),
 *   log,
 *   metrics,
 * });
 * await sources.synced;
 * await sources.stop();
 * ```
 */
export function startKubernetesSources(
  api: KubeApi,
  config: KubernetesSourcesConfig,
  options: KubernetesSourcesOptions,
): KubernetesSources {
  const { deliver, log, metrics, cluster, now = Date.now } = options;
  const newId = options.newId ?? (() => crypto.randomUUID());
  const startedAt = now();
  const since = Math.floor(startedAt / 1000) * 1000;
  const gate = createIssueGate(options.gateStore ? { store: options.gateStore } : {});
  /** Runs a gate step; when its store fails, logs and returns `fallback`. */
  const guarded = <T>(step: () => T, fallback: T, fingerprint?: string): T => {
    try {
      return step();
    } catch (error) {
      metrics?.alertsErrors.inc({ source: "kubernetes", error_type: "state_write_failed" });
      log.error("Cannot use the Kubernetes issue gate's store; delivering unchecked", {
        ...(fingerprint ? { fingerprint } : {}),
        error: String(error),
      });
      return fallback;
    }
  };
  const specs = buildWatchSpecs(config);

  const emit = (
    issue: Issue,
    key: string,
    counter: { issues: number },
    scope: string,
    checked = false,
  ) => {
    const admitted = checked
      ? issue
      : guarded(() => gate.admit(issue, key, scope), issue, issue.fingerprint);
    if (!admitted) return;
    counter.issues++;
    try {
      deliver(admitted);
    } catch (error) {
      log.error("Cannot deliver Kubernetes issue", {
        fingerprint: admitted.fingerprint,
        error: String(error),
      });
    }
  };

  const watches = specs.map((spec) => {
    const known = new Map<string, Known>();
    const counter = { issues: 0, synced: false };
    const watchLog = log.child({ watch: spec.name });

    const evaluate = (
      previous: KubeObject | undefined,
      next: KubeObject,
      detectors: BoundDetector[],
    ) => {
      const key = objectKey(next);
      const at = now();
      const previousAt = known.get(key)?.at;
      for (const detector of detectors) {
        if (!detector.accepts(next)) continue;
        let issues: Issue[] = [];
        try {
          issues = detector.detect(previous, next, {
            ...(cluster ? { cluster } : {}),
            now: () => at,
            ...(previousAt !== undefined ? { previousAt } : {}),
            since,
            newId,
          });
        } catch (error) {
          metrics?.alertsErrors.inc({ source: "kubernetes", error_type: "detector" });
          watchLog.warn("Kubernetes detector failed", {
            source: detector.source,
            object: key,
            error: String(error),
          });
        }
        for (const issue of issues) emit(issue, key, counter, spec.name);
      }
      known.set(key, { object: next, at });
    };

    const forget = (object: KubeObject) => {
      const key = objectKey(object);
      known.delete(key);
      for (const resolved of guarded(() => gate.release(key, { now: now(), newId }), [])) {
        emit(resolved, key, counter, spec.name, true);
      }
    };

    /** After the first list: resolves what was open on objects deleted while unwatched. */
    const sweep = () => {
      const options = { now: now(), newId };
      for (
        const resolved of guarded(() => gate.sweep(spec.name, (k) => known.has(k), options), [])
      ) {
        emit(resolved, "", counter, spec.name, true);
      }
    };

    const informer = createInformer<KubeObject>(api, {
      path: spec.path,
      ...(spec.labelSelector ? { labelSelector: spec.labelSelector } : {}),
      ...(spec.fieldSelector ? { fieldSelector: spec.fieldSelector } : {}),
      log: watchLog,
      watchdogMs: config.watchdog,
      handlers: {
        onAdd(object, { initial }) {
          const key = objectKey(object);
          const previous = known.get(key)?.object;
          if (initial && !previous && config.startup === "quiet") {
            known.set(key, { object, at: now() });
            return;
          }
          evaluate(previous, object, spec.detectors);
        },
        onUpdate(previous, next) {
          if (objectKey(previous) !== objectKey(next)) {
            // Deleted and created again under the same name between two lists.
            forget(previous);
            evaluate(undefined, next, spec.detectors);
            return;
          }
          evaluate(known.get(objectKey(next))?.object ?? previous, next, spec.detectors);
        },
        onDelete: forget,
      },
    });
    const timed = spec.detectors.filter((d) => d.timed);
    const recheck = () => {
      for (const { object } of [...known.values()]) evaluate(object, object, timed);
    };
    return { spec, informer, known, counter, recheck, sweep, watchLog };
  });

  for (const watch of watches) {
    watch.informer.start();
    watch.informer.synced.then(() => {
      watch.counter.synced = true;
      watch.sweep();
      watch.watchLog.info("Kubernetes watch synced", { objects: watch.known.size });
    }, () => {});
  }
  const timer = watches.some((w) => w.spec.detectors.some((d) => d.timed))
    ? setInterval(() => watches.forEach((w) => w.recheck()), config.resync)
    : undefined;
  if (watches.length) {
    log.info("Kubernetes sources started", {
      watches: watches.map((w) => w.spec.name),
      server: api.server,
    });
  }

  return {
    synced: Promise.all(watches.map((w) => w.informer.synced)).then(() => {}),
    async stop() {
      if (timer !== undefined) clearInterval(timer);
      await Promise.all(watches.map((w) => w.informer.stop()));
    },
    status: () => ({
      enabled: watches.length > 0,
      startedAt: new Date(startedAt).toISOString(),
      openIssues: guarded(() => gate.open(), 0),
      watches: watches.map(({ spec, informer, known, counter }) => ({
        name: spec.name,
        path: spec.path,
        sources: [...new Set(spec.detectors.map((d) => d.source))],
        synced: counter.synced,
        objects: known.size,
        issues: counter.issues,
        informer: informer.status(),
      })),
    }),
  };
}
