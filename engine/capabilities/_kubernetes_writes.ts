/**
 * The write providers of `ctx.k8s`: `k8s.createJob`, `k8s.deletePod`,
 * `k8s.rolloutRestart`, `k8s.scale` and `k8s.rerunJob`, each calling the matching function
 * of `engine/kubernetes/actions.ts` and writing the `Kubernetes write` audit line once the
 * API server has accepted the change.
 *
 * @module
 */
import {
  kubernetesNeeds,
  type KubernetesObject,
  type RolloutKind,
  type ScaleKind,
} from "@cano/sdk";
import type { z } from "zod";
import type { KubeApi, KubeObject } from "../kubernetes/api.ts";
import { createJob, deletePod, rerunJob, rolloutRestart, scale } from "../kubernetes/actions.ts";
import { type ApiCall, checkAccess, describeObject, trimObject } from "./_kubernetes_access.ts";
import {
  CreateJobArgs,
  NamedArgs,
  RestartArgs,
  ScaleArgs,
  summarizeObject,
} from "./_kubernetes_args.ts";
import type { CapabilityProvider, ProviderContext } from "./provider.ts";

/** What a write did, for the audit line. */
interface Written {
  verb: string;
  kind: string;
  namespace: string;
  name: string;
}

/** One write capability, described as data. */
interface WriteSpec<A> {
  name: string;
  args: z.ZodType<A>;
  /** `Cannot <verb> <object>`, the start of every message about the call. */
  action(args: A): string;
  needs(args: A): [string, string][];
  namespace(args: A): string;
  summarize(args: A): Record<string, string>;
  run(api: KubeApi, args: A, signal: AbortSignal): Promise<[KubeObject | undefined, Written]>;
}

/** Options of {@linkcode createWriteProviders}. */
export interface WriteProvidersOptions {
  /** Clock of `rolloutRestart`. */
  now: () => number;
  /** Random numbers of `rerunJob` names. */
  random: () => number;
}

/**
 * Creates the five write providers.
 *
 * @param call The API caller.
 * @param options Clock and random source.
 * @returns `k8s.createJob`, `k8s.deletePod`, `k8s.rolloutRestart`, `k8s.scale`, `k8s.rerunJob`.
 */
export function createWriteProviders(
  call: ApiCall,
  { now, random }: WriteProvidersOptions,
): CapabilityProvider[] {
  const provider = <A>(spec: WriteSpec<A>): CapabilityProvider<A, KubernetesObject | void> => ({
    name: spec.name,
    args: spec.args,
    summarize: spec.summarize,
    permitted: (permissions, policy, args) =>
      checkAccess(
        permissions,
        policy,
        spec.needs(args),
        { namespace: spec.namespace(args) },
        spec.action(args),
      ),
    async handle(args, context) {
      const [object, written] = await call(
        context,
        spec.action(args),
        (client, signal) => spec.run(client, args, signal),
      );
      audit(context, written);
      return object ? trimObject(object) : undefined;
    },
  });
  return [
    provider<CreateJobArgs>({
      name: "k8s.createJob",
      args: CreateJobArgs,
      action: ({ namespace, job }) => `Cannot create Job "${namespace}/${jobName(job)}"`,
      needs: () => kubernetesNeeds("createJob"),
      namespace: (args) => args.namespace,
      summarize: ({ namespace, job }) => ({ namespace, name: jobName(job) }),
      async run(api, { namespace, job }, signal) {
        const created = await createJob(api, { namespace, job: job as KubeObject, signal });
        const name = created.metadata?.name ?? jobName(job);
        return [created, { verb: "create", kind: "Job", namespace, name }];
      },
    }),
    provider<NamedArgs>({
      name: "k8s.deletePod",
      args: NamedArgs,
      action: ({ namespace, name }) => `Cannot delete Pod "${namespace}/${name}"`,
      needs: () => kubernetesNeeds("deletePod"),
      namespace: (args) => args.namespace,
      summarize: ({ namespace, name }) => ({ namespace, name }),
      async run(api, { namespace, name }, signal) {
        await deletePod(api, { namespace, name, signal });
        return [undefined, { verb: "delete", kind: "Pod", namespace, name }];
      },
    }),
    provider<RestartArgs>({
      name: "k8s.rolloutRestart",
      args: RestartArgs,
      action: ({ kind, namespace, name }) =>
        `Cannot restart ${describeObject(kind, namespace, name)}`,
      needs: ({ kind }) => kubernetesNeeds("rolloutRestart", kind),
      namespace: (args) => args.namespace,
      summarize: summarizeObject,
      async run(api, { kind, namespace, name }, signal) {
        const target = { kind: kind.kind as RolloutKind, namespace, name, now, signal };
        const patched = await rolloutRestart(api, target);
        return [patched, { verb: "restart", kind: kind.kind, namespace, name }];
      },
    }),
    provider<ScaleArgs>({
      name: "k8s.scale",
      args: ScaleArgs,
      action: ({ kind, namespace, name }) =>
        `Cannot scale ${describeObject(kind, namespace, name)}`,
      needs: ({ kind }) => kubernetesNeeds("scale", kind),
      namespace: (args) => args.namespace,
      summarize: (args) => ({ ...summarizeObject(args), replicas: String(args.replicas) }),
      async run(api, { kind, namespace, name, replicas }, signal) {
        const target = { kind: kind.kind as ScaleKind, namespace, name, replicas, signal };
        const scaled = await scale(api, target);
        return [scaled, { verb: "scale", kind: kind.kind, namespace, name }];
      },
    }),
    provider<NamedArgs>({
      name: "k8s.rerunJob",
      args: NamedArgs,
      action: ({ namespace, name }) => `Cannot rerun Job "${namespace}/${name}"`,
      needs: () => kubernetesNeeds("rerunJob"),
      namespace: (args) => args.namespace,
      summarize: ({ namespace, name }) => ({ namespace, name }),
      async run(api, { namespace, name }, signal) {
        const created = await rerunJob(api, { namespace, name, random, signal });
        const newName = created.metadata?.name ?? "";
        return [created, { verb: "create", kind: "Job", namespace, name: newName }];
      },
    }),
  ] as CapabilityProvider[];
}

function audit(context: ProviderContext, { verb, kind, namespace, name }: Written): void {
  context.log.info("Kubernetes write", {
    workflow: context.workflowId,
    verb,
    kind,
    namespace,
    name,
  });
}

function jobName(job: Record<string, unknown>): string {
  const metadata = job.metadata as { name?: unknown; generateName?: unknown } | undefined;
  const name = metadata?.name ?? metadata?.generateName;
  return typeof name === "string" ? name.slice(0, 63) : "(unnamed)";
}
