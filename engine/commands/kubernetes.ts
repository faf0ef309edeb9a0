/**
 * Connects a running engine to its cluster: finds the connection (service account or
 * KUBECONFIG), starts the Karo controller on every replica (each receives webhooks), and
 * runs the watches of the Kubernetes and Helm sources on the leader only.
 *
 * With `delivery.state` set, the sources' gate keeps what it delivered in the state file
 * (`kube_gate` table), so a restart (or a leadership change back to this replica) neither
 * repeats an ongoing condition nor loses the resolution of one.
 *
 * Without a cluster, Kubernetes features are off and `/health/detailed` says why; the
 * engine keeps serving webhooks.
 *
 * @module
 */
import type { CanoConfig } from "../config/schema.ts";
import type { Engine } from "../engine.ts";
import { startKaroController } from "../karo/controller.ts";
import type { KubeApi } from "../kubernetes/api.ts";
import { createKubeClient } from "../kubernetes/client.ts";
import { loadKubeConfig } from "../kubernetes/kubeconfig.ts";
import { createLeaderElector, type LeaderElector } from "../kubernetes/leader.ts";
import type { Logger } from "../log.ts";
import type { IssueGateStore } from "../sources/_issue_gate.ts";
import { openSqliteGateStore } from "../sources/_issue_gate_sqlite.ts";
import { type KubernetesSources, startKubernetesSources } from "../sources/kubernetes_runner.ts";

/** The cluster side of a running engine. */
export interface KubernetesRuntime {
  /** The `kubernetes` component of `/health/detailed`. */
  health(): { status: "ok" | "degraded" | "disabled"; detail: unknown };
  /** Stops watches and leadership (releasing the lease). */
  stop(): Promise<void>;
}

/** Options of {@linkcode startKubernetes}. */
export interface StartKubernetesOptions {
  /** Logger. */
  log: Logger;
  /** The API to use instead of the kubeconfig (tests). */
  api?: KubeApi;
  /** Environment, for POD_NAMESPACE and HOSTNAME. @default Deno.env */
  env?: Record<string, string | undefined>;
}

/**
 * Starts the Kubernetes side of the engine when a cluster is reachable.
 *
 * @param engine The engine receiving the issues.
 * @param config The config.
 * @param options Logger, an API override and the environment.
 * @returns The runtime (disabled when there is no cluster or config turns it off).
 */
export async function startKubernetes(
  engine: Engine,
  config: CanoConfig,
  { log, api: given, env = Deno.env.toObject() }: StartKubernetesOptions,
): Promise<KubernetesRuntime> {
  const settings = config.kubernetes;
  const klog = log.child({ component: "kubernetes" });
  if (settings.enabled === false) return disabled("turned off by kubernetes.enabled");
  let api = given;
  let close = () => {};
  if (!api) {
    let connection;
    try {
      connection = await loadKubeConfig({ env });
    } catch (error) {
      klog.error("Cannot read the cluster connection; Kubernetes features are off", {
        reason: error,
      });
      return degraded(`Cannot read the cluster connection: ${(error as Error).message}`);
    }
    if (!connection) {
      const reason = "no in-cluster service account and no KUBECONFIG";
      if (settings.enabled === true) {
        klog.error("Kubernetes is enabled but no cluster was found", { reason });
        return degraded(reason);
      }
      klog.info("Kubernetes features are off", { reason });
      return disabled(reason);
    }
    const client = createKubeClient(connection, { log: klog });
    api = client;
    close = () => client.close();
  }
  const cluster = api;
  engine.setKubernetes(cluster);
  let elector: LeaderElector | undefined;
  const karo = startKaroController(cluster, settings.karo, {
    log,
    metrics: engine.metrics,
    ...(settings.leaderElection.enabled ? { isLeader: () => elector?.isLeader() ?? false } : {}),
  });
  const removeListener = engine.onAlert((issue) => karo.onIssue(issue));
  let sources: KubernetesSources | undefined;
  const stateDatabase = engine.stateDatabase;
  let gateStore: IssueGateStore | undefined;
  if (stateDatabase) {
    try {
      gateStore = openSqliteGateStore(stateDatabase);
    } catch (error) {
      klog.error("Cannot keep the Kubernetes issue gate in the state file; it is in memory", {
        error: String(error),
      });
    }
  }
  const startSources = () => {
    sources = startKubernetesSources(cluster, settings.sources, {
      deliver: (issue) => engine.submit(issue),
      log: klog,
      metrics: engine.metrics,
      ...(config.cluster ? { cluster: config.cluster } : {}),
      ...(gateStore ? { gateStore } : {}),
    });
  };
  const stopSources = async () => {
    const running = sources;
    sources = undefined;
    await running?.stop();
  };
  if (settings.leaderElection.enabled) {
    const lease = settings.leaderElection;
    elector = createLeaderElector(cluster, {
      namespace: lease.namespace ?? env["POD_NAMESPACE"] ?? "default",
      name: lease.leaseName,
      identity: `${env["HOSTNAME"] ?? "cano"}_${crypto.randomUUID().slice(0, 8)}`,
      leaseDurationMs: lease.leaseDuration,
      renewDeadlineMs: lease.renewDeadline,
      retryPeriodMs: lease.retryPeriod,
      log: klog,
      onStartedLeading: () => {
        klog.info("Leading: starting the Kubernetes watches");
        startSources();
      },
      onStoppedLeading: () => {
        klog.warn("Lost leadership: stopping the Kubernetes watches");
        void stopSources();
      },
    });
    elector.start();
  } else {
    startSources();
  }
  klog.info("Kubernetes features are on", {
    server: cluster.server,
    leaderElection: settings.leaderElection.enabled,
    karo: settings.karo.enabled,
  });
  return {
    health() {
      const sourceStatus = sources?.status();
      const leader = elector?.status();
      const karoStatus = karo.status();
      const problems = karoStatus.invalid.length > 0 || leader?.lastError !== undefined;
      return {
        status: problems ? "degraded" : "ok",
        detail: {
          server: cluster.server,
          leaderElection: leader ?? { enabled: false, leader: true },
          sources: sourceStatus ?? { running: false, reason: "not the leader" },
          karo: karoStatus,
        },
      };
    },
    async stop() {
      removeListener();
      engine.setKubernetes(undefined);
      await elector?.stop({ release: true });
      await stopSources();
      await karo.stop();
      close();
    },
  };
}

function disabled(reason: string): KubernetesRuntime {
  return {
    health: () => ({ status: "disabled", detail: { reason } }),
    stop: () => Promise.resolve(),
  };
}

function degraded(reason: string): KubernetesRuntime {
  return {
    health: () => ({ status: "degraded", detail: { reason } }),
    stop: () => Promise.resolve(),
  };
}
