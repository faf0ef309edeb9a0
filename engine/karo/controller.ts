/**
 * The Karo compatibility controller: watches `karo.io` AlertReactions and, for each firing
 * Alertmanager alert it is handed, creates the Jobs of every matching reaction.
 *
 * A Karo user switches by pointing Alertmanager at Cano (`POST /webhook` is an alias of
 * `/api/alerts`) and keeps their AlertReaction manifests. What changes, on purpose:
 * anchored regex matchers and Prometheus' empty-string rule for missing labels
 * (`matchers.ts`), Secrets and ConfigMaps passed as key references instead of copied values
 * (`env.ts`), a cooldown per (reaction, alert) against Alertmanager's repeats
 * (`cooldown.ts`), status writes that retry on conflict (`status.ts`), the `karo.io/v1`
 * README form honoured (`reaction.ts`), and Karo's documented metrics actually exported.
 *
 * Run it on every replica: each one must know the reactions to act on the webhooks it
 * receives. Pass `isLeader` so that only the leader writes `Ready` conditions.
 *
 * @module
 */
import type { Issue } from "@cano/sdk";
import type { KubeApi, KubeObject } from "../kubernetes/api.ts";
import { createInformer } from "../kubernetes/informer.ts";
import { kindPath } from "../kubernetes/paths.ts";
import type { Logger } from "../log.ts";
import type { Metrics } from "../metrics.ts";
import { alertDataFromIssue } from "./alert_data.ts";
import type { KaroConfig } from "./config.ts";
import { createCooldown } from "./cooldown.ts";
import { matchesAll } from "./matchers.ts";
import { type AlertReaction, parseAlertReaction } from "./reaction.ts";
import { KARO_GROUP } from "./schema.ts";
import { createStatusWriter, kubeTime } from "./status.ts";
import { lastJobFor, runReaction } from "./trigger.ts";

/** Options of {@linkcode startKaroController}. */
export interface KaroControllerOptions {
  /** Logger. */
  log: Logger;
  /** Metrics (`alertreaction_*` and `cano_alerts_errors_total{source="karo"}`). */
  metrics: Metrics;
  /** Clock in ms. @default Date.now */
  now?: () => number;
  /** Whether this replica writes `Ready` conditions. @default () => true */
  isLeader?: () => boolean;
  /** Random Job name suffix (tests). @default 8 crypto-random [a-z0-9] */
  jobSuffix?: () => string;
  /** Watchdog of the AlertReaction watches, in ms. @default the informer's */
  watchdogMs?: number;
  /** How long an alert arriving before the first list waits for it, in ms. @default 10_000 */
  syncWaitMs?: number;
}

/** What `/health/detailed` shows of the controller. */
export interface KaroStatus {
  /** Whether the controller runs. */
  enabled: boolean;
  /** Whether every watch finished its first list. */
  synced: boolean;
  /** Valid reactions known. */
  reactions: number;
  /** Reactions ignored because they do not validate. */
  invalid: { namespace: string; name: string; error: string }[];
  /** Jobs created since start. */
  jobsCreated: number;
  /** Actions that created no Job since start. */
  jobErrors: number;
  /** (reaction, alert) pairs in cooldown. */
  cooldownEntries: number;
  /** The watches' own status. */
  watches: unknown[];
}

/** A running controller. */
export interface KaroController {
  /** Handles one Issue; only firing `prometheus` alerts can trigger reactions. Never throws. */
  onIssue(issue: Issue): Promise<void>;
  /** Stops the watches and waits for them to end. */
  stop(): Promise<void>;
  /** Health and counts. */
  status(): KaroStatus;
  /** Resolves when every watch finished its first list. */
  readonly synced: Promise<void>;
}

type Entry = { ok: true; reaction: AlertReaction } | {
  ok: false;
  namespace: string;
  name: string;
  error: string;
};

/**
 * Starts the controller: one AlertReaction watch per configured namespace (or one for the
 * whole cluster) and API version.
 *
 * @param api The Kubernetes API.
 * @param config The `karo` config section.
 * @param options Logger, metrics, clock and leadership.
 * @returns The controller; a no-op one when `config.enabled` is false.
 */
export function startKaroController(
  api: KubeApi,
  config: KaroConfig,
  {
    log,
    metrics,
    now = Date.now,
    isLeader = () => true,
    jobSuffix,
    watchdogMs,
    syncWaitMs = 10_000,
  }: KaroControllerOptions,
): KaroController {
  if (!config.enabled) return disabledController();
  const klog = log.child({ component: "karo" });
  const entries = new Map<string, Entry>();
  /** Per uid, the generation and verdict whose `Ready` condition was last written. */
  const readyWritten = new Map<string, string>();
  const cooldown = createCooldown({ windowMs: config.cooldown, now });
  const statusWriter = createStatusWriter(api);
  const counts = { jobsCreated: 0, jobErrors: 0 };
  const job = {
    ttlSecondsAfterFinished: Math.round(config.jobTtl / 1000),
    ...(config.backoffLimit !== undefined ? { backoffLimit: config.backoffLimit } : {}),
    ...(config.activeDeadline !== undefined
      ? { activeDeadlineSeconds: Math.max(1, Math.round(config.activeDeadline / 1000)) }
      : {}),
    ...(jobSuffix ? { suffix: jobSuffix } : {}),
  };

  const upsert = (object: KubeObject) => {
    const uid = object.metadata?.uid;
    if (!uid) return;
    const parsed = parseAlertReaction(object);
    const previous = entries.get(uid);
    if (parsed.ok) {
      entries.set(uid, parsed);
    } else {
      const { namespace = "", name = "" } = object.metadata ?? {};
      entries.set(uid, { ok: false, namespace, name, error: parsed.error });
      if (previous?.ok !== false || previous.error !== parsed.error) {
        klog.warn("AlertReaction is invalid and ignored", {
          alertReaction: `${namespace}/${name}`,
          reason: parsed.error,
        });
      }
    }
    const verdict = `${object.metadata?.generation}|${parsed.ok ? "" : parsed.error}`;
    if (isLeader() && readyWritten.get(uid) !== verdict) {
      readyWritten.set(uid, verdict);
      void writeReady(object, parsed.ok ? undefined : parsed.error);
    }
  };

  const writeReady = async (object: KubeObject, error: string | undefined) => {
    const { namespace, name, generation } = object.metadata ?? {};
    if (!namespace || !name || !object.apiVersion) return;
    try {
      await statusWriter.setCondition({ apiVersion: object.apiVersion, namespace, name }, {
        type: "Ready",
        status: error ? "False" : "True",
        reason: error ? "InvalidSpec" : "AlertReactionReady",
        message: error ?? "AlertReaction is ready to process alerts",
        lastTransitionTime: kubeTime(now()),
        ...(typeof generation === "number" ? { observedGeneration: generation } : {}),
      });
    } catch (reason) {
      readyWritten.delete(object.metadata!.uid!);
      klog.debug("Cannot write AlertReaction condition", {
        alertReaction: `${namespace}/${name}`,
        reason,
      });
    }
  };

  const scopes = config.namespaces.length > 0 ? config.namespaces : [undefined];
  const informers = config.versions.flatMap((version) =>
    scopes.map((namespace) =>
      createInformer<KubeObject>(api, {
        path: kindPath("AlertReaction", { namespace, apiVersion: `${KARO_GROUP}/${version}` }),
        handlers: {
          onAdd: (object) => upsert(object),
          onUpdate: (_previous, next) => upsert(next),
          onDelete: (object) => {
            const uid = object.metadata?.uid;
            if (!uid) return;
            entries.delete(uid);
            readyWritten.delete(uid);
          },
        },
        log: klog,
        ...(watchdogMs !== undefined ? { watchdogMs } : {}),
      })
    )
  );
  for (const informer of informers) informer.start();
  let isSynced = false;
  /** One shared wait at start-up: later alerts do not wait again for a watch that fails. */
  let syncWait: Promise<void> | undefined;
  const synced = Promise.all(informers.map((i) => i.synced)).then(() => {
    isSynced = true;
  });
  synced.catch(() => {});

  return {
    synced,
    async onIssue(issue) {
      if (issue.source !== "prometheus") return;
      metrics.alertReactionAlertsReceived.inc({ status: issue.status });
      if (issue.status !== "firing") return;
      if (!isSynced) await (syncWait ??= waitFor(synced, syncWaitMs));
      const data = alertDataFromIssue(issue);
      const alertName = issue.labels["alertname"];
      const id = { fingerprint: String(data["fingerprint"]), startsAt: String(data["startsAt"]) };
      const matching = [...entries.values()].flatMap((e) =>
        e.ok && e.reaction.alertName === alertName && matchesAll(e.reaction.matchers, data)
          ? [e.reaction]
          : []
      );
      await Promise.all(matching.map(async (reaction) => {
        const key = `${reaction.uid}/${id.fingerprint}`;
        const fields = { alertReaction: `${reaction.namespace}/${reaction.name}`, ...id };
        if (!cooldown.claim(key, id.startsAt)) {
          klog.debug("AlertReaction in cooldown for this alert", fields);
          return;
        }
        if (config.cooldown > 0) {
          const last = await lastJobFor(api, reaction, id);
          if (last !== undefined && now() - last < config.cooldown) {
            cooldown.note(key, id.startsAt, last);
            klog.debug("AlertReaction already ran for this alert", fields);
            return;
          }
        }
        const result = await runReaction(api, reaction, { data, id }, {
          log: klog,
          metrics,
          status: statusWriter,
          now,
          job,
        });
        counts.jobsCreated += result.jobs.length;
        counts.jobErrors += result.failed.length;
        if (result.jobs.length === 0) cooldown.release(key);
      })).catch((reason) => klog.error("Cannot run AlertReactions", { reason }));
    },
    async stop() {
      await Promise.all(informers.map((informer) => informer.stop()));
    },
    status() {
      const all = [...entries.values()];
      return {
        enabled: true,
        synced: isSynced,
        reactions: all.filter((e) => e.ok).length,
        invalid: all.flatMap((e) =>
          e.ok ? [] : [{ namespace: e.namespace, name: e.name, error: e.error }]
        ),
        jobsCreated: counts.jobsCreated,
        jobErrors: counts.jobErrors,
        cooldownEntries: cooldown.size,
        watches: informers.map((i) => i.status()),
      };
    },
  };
}

async function waitFor(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    promise.catch(() => {}),
    new Promise((resolve) => timer = setTimeout(resolve, ms)),
  ]);
  clearTimeout(timer);
}

function disabledController(): KaroController {
  return {
    synced: Promise.resolve(),
    onIssue: () => Promise.resolve(),
    stop: () => Promise.resolve(),
    status: () => ({
      enabled: false,
      synced: false,
      reactions: 0,
      invalid: [],
      jobsCreated: 0,
      jobErrors: 0,
      cooldownEntries: 0,
      watches: [],
    }),
  };
}
