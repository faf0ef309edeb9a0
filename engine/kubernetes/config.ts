/**
 * The `kubernetes:` block of the config: whether Cano talks to a cluster, leader election,
 * the event and state sources, and Karo AlertReaction compatibility.
 *
 * @module
 */
import { z } from "zod";
import { DurationSchema } from "../config/duration.ts";
import { KaroConfigSchema } from "../karo/config.ts";
import { KubernetesSourcesSchema } from "../sources/kubernetes_config.ts";

/** Lease-based leader election: only the leader runs the watches. */
export const LeaderElectionSchema = z.strictObject({
  enabled: z.boolean().default(false).describe(
    "Elect a leader through a coordination.k8s.io Lease; turn on when running more than one replica",
  ),
  namespace: z.string().min(1).optional().describe(
    'Namespace of the Lease (default: the pod\'s namespace, else "default")',
  ),
  leaseName: z.string().min(1).default("cano-leader"),
  leaseDuration: DurationSchema.default(15_000),
  renewDeadline: DurationSchema.default(10_000),
  retryPeriod: DurationSchema.default(2_000),
}).refine((l) => l.leaseDuration > l.renewDeadline && l.renewDeadline > 1.2 * l.retryPeriod, {
  message: "Expected leaseDuration > renewDeadline > 1.2 × retryPeriod (as client-go requires)",
});

/** The whole `kubernetes:` block. */
export const KubernetesConfigSchema = z.strictObject({
  enabled: z.union([z.literal("auto"), z.boolean()]).default("auto").describe(
    "auto: on when running in a pod or KUBECONFIG is set; true: fail loudly when neither; false: off",
  ),
  leaderElection: LeaderElectionSchema.prefault({}),
  sources: KubernetesSourcesSchema.prefault({}),
  karo: KaroConfigSchema.prefault({}),
});
/** The `kubernetes:` block, defaults applied. */
export type KubernetesConfig = z.output<typeof KubernetesConfigSchema>;
