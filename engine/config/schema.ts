/**
 * The Cano config file schema. One YAML file; every block is a strict object, so a typo
 * such as `chanel:` is reported instead of ignored. Defaults live here and nowhere else.
 *
 * @module
 */
import { SeveritySchema } from "@cano/sdk";
import { z } from "zod";
import { BUILTIN_ENABLED_BY_DEFAULT, BUILTIN_WORKFLOWS } from "../../builtin-workflows/mod.ts";
import { CapabilityPolicySchema } from "../capabilities/policy.ts";
import { DestinationConfigSchema } from "../destinations/mod.ts";
import { deliveryConfigs } from "../routing.ts";
import { KubernetesConfigSchema } from "../kubernetes/config.ts";
import { SandboxConfigSchema } from "../sandbox/config.ts";
import { YamlWorkflowSchema } from "../workflows/yaml.ts";
import { RoutingSchema } from "../routing.ts";
import { DurationSchema } from "./duration.ts";

/** Auth the webhook endpoints require. */
export const WebhookAuthSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("none") }),
  z.strictObject({
    type: z.literal("bearer"),
    token: z.string().min(16, "Use a token of at least 16 characters"),
  }),
  z.strictObject({
    type: z.literal("basic"),
    username: z.string().min(1),
    password: z.string().min(8),
  }),
]);

/** HTTP server settings. */
export const ServerSchema = z.strictObject({
  host: z.string().default("0.0.0.0"),
  port: z.number().int().min(0).max(65535).default(8080),
  bodyLimitBytes: z.number().int().positive().default(5 * 1024 * 1024).describe(
    "Larger webhook bodies get 413",
  ),
  auth: WebhookAuthSchema.default({ type: "none" }),
  adminToken: z.string().min(16, "Admin token must be at least 16 characters").optional()
    .describe(
      "Bearer token of /api/dead-letters; unset, only loopback clients (kubectl port-forward) may use it",
    ),
  shutdownTimeout: DurationSchema.default(30_000).describe(
    "How long SIGTERM waits for in-flight work",
  ),
});

/** Alertmanager source settings. */
export const AlertmanagerSchema = z.strictObject({
  severityMap: z.record(z.string(), SeveritySchema).optional().describe(
    "severity label value → Cano severity; replaces the default map",
  ),
  defaultSeverity: SeveritySchema.default("INFO"),
  repeatInterval: DurationSchema.default(0).describe(
    "Re-deliver an unchanged alert after this long; 0 delivers each state once",
  ),
  dedupeTtl: DurationSchema.default(7 * 24 * 60 * 60 * 1000).describe(
    "How long a handled alert is remembered",
  ),
});

const BuiltinIds = BUILTIN_WORKFLOWS.map((w) => w.id) as [string, ...string[]];

/** Settings of one built-in workflow. */
export const BuiltinSettingsSchema = z.strictObject({
  enabled: z.boolean().optional().describe("Defaults per workflow (see the docs)"),
  params: z.record(z.string(), z.unknown()).default({}),
  timeout: DurationSchema.optional(),
  isolation: z.enum(["in-process", "sandbox"]).default("in-process"),
});

/** Workflow settings. */
export const WorkflowsSchema = z.strictObject({
  timeout: DurationSchema.default(10_000).describe("Default deadline of one workflow run"),
  builtin: z.partialRecord(z.enum(BuiltinIds), BuiltinSettingsSchema).default({}),
  directory: z.string().optional().describe("Directory of user workflow files (a ConfigMap mount)"),
  yaml: z.array(YamlWorkflowSchema).default([]).describe(
    "Workflows written here: triggers, a note and remediation actions, no TypeScript",
  ),
  sandbox: SandboxConfigSchema.prefault({}).describe("Limits of sandboxed workflows"),
  user: z.record(
    z.string(),
    z.strictObject({
      params: z.record(z.string(), z.unknown()).default({}),
      timeout: DurationSchema.optional(),
    }),
  ).default({}).describe("Params and deadline per user workflow id"),
});

/** The whole config file. */
export const CanoConfigSchema = z.strictObject({
  cluster: z.string().optional().describe("Cluster name stamped on issues"),
  server: ServerSchema.prefault({}),
  alertmanager: AlertmanagerSchema.prefault({}),
  workflows: WorkflowsSchema.prefault({}),
  kubernetes: KubernetesConfigSchema.prefault({}).describe(
    "Cluster access: event and state sources, leader election, Karo AlertReactions",
  ),
  delivery: z.strictObject({
    concurrency: z.number().int().min(1).max(256).default(16).describe(
      "Requests in flight per destination (order per fingerprint is always kept)",
    ),
    state: z.string().min(1).optional().describe(
      "SQLite file of the durable outbox and the alert dedupe state; unset keeps both in memory",
    ),
    sync: z.enum(["normal", "full"]).default("normal").describe(
      "normal: state survives a crash or kill -9 of Cano (WAL, no sync per commit); full: it also survives power loss of the node, at about half the throughput",
    ),
    retry: z.strictObject({
      maxAttempts: z.number().int().min(1).max(1000).default(8)
        .describe("Attempts per delivery, the first included, before it becomes a dead letter"),
      minDelay: DurationSchema.default(500).describe("Wait after the first failure"),
      maxDelay: DurationSchema.default(60_000).describe(
        "Longest wait between attempts, Retry-After included",
      ),
    }).prefault({}).describe("Exponential backoff with jitter for retryable failures"),
  }).prefault({}),
  capabilities: CapabilityPolicySchema.prefault({}).describe(
    "What workflows may reach: HTTP hosts, Prometheus; a workflow's permissions are intersected with this",
  ),
  destinations: z.array(DestinationConfigSchema).min(1, "Expected at least one destination"),
  routing: RoutingSchema,
}).superRefine((config, ctx) => {
  const names = new Set<string>();
  config.destinations.forEach((d, i) => {
    if (names.has(d.name)) {
      ctx.addIssue({
        code: "custom",
        path: ["destinations", i, "name"],
        message: `Destination name "${d.name}" is used twice`,
      });
    }
    names.add(d.name);
  });
  const known = [...names].join(", ");
  const checkNames = (list: string[], path: (string | number)[]) =>
    list.forEach((name, i) => {
      if (!names.has(name)) {
        ctx.addIssue({
          code: "custom",
          path: [...path, i],
          message: `Unknown destination "${name}" (defined: ${known})`,
        });
      }
    });
  const routeNames = new Set<string>();
  config.routing.routes.forEach((r, i) => {
    checkNames(
      r.destinations.map((d) => typeof d === "string" ? d : d.name),
      ["routing", "routes", i, "destinations"],
    );
    if (routeNames.has(r.name)) {
      ctx.addIssue({
        code: "custom",
        path: ["routing", "routes", i, "name"],
        message: `Route name "${r.name}" is used twice`,
      });
    }
    routeNames.add(r.name);
  });
  for (const problem of deliveryConfigs(config.destinations, config.routing.routes).problems) {
    ctx.addIssue({ code: "custom", ...problem });
  }
  checkNames(config.routing.default.destinations, ["routing", "default", "destinations"]);
  const builtinIds = new Set(BUILTIN_WORKFLOWS.map((w) => w.id));
  const yamlIds = new Set<string>();
  config.workflows.yaml.forEach((w, i) => {
    if (builtinIds.has(w.id) || yamlIds.has(w.id)) {
      ctx.addIssue({
        code: "custom",
        path: ["workflows", "yaml", i, "id"],
        message: `Workflow id "${w.id}" is already used${
          builtinIds.has(w.id) ? " by a built-in" : ""
        }`,
      });
    }
    yamlIds.add(w.id);
  });
  for (const workflow of BUILTIN_WORKFLOWS) {
    const settings = config.workflows.builtin[workflow.id];
    if (!(settings?.enabled ?? BUILTIN_ENABLED_BY_DEFAULT.includes(workflow.id))) continue;
    const result = workflow.params.safeParse(settings?.params ?? {});
    if (!result.success) {
      for (const issue of result.error.issues) {
        ctx.addIssue({
          code: "custom",
          path: [
            "workflows",
            "builtin",
            workflow.id,
            "params",
            ...issue.path.map((p) => typeof p === "symbol" ? String(p) : p),
          ],
          message: issue.message,
        });
      }
    }
  }
});

/** The config after parsing and defaults. */
export type CanoConfig = z.output<typeof CanoConfigSchema>;
/** The config as written. */
export type CanoConfigInput = z.input<typeof CanoConfigSchema>;
