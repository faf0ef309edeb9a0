/**
 * The `Issue`: what every source produces and every workflow and destination reads.
 *
 * The zod schemas are the source of truth; the types are inferred from them.
 *
 * @example Parse an issue received as JSON
 * ```ts
 * import { IssueSchema } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * const issue = IssueSchema.parse({
 *   id: "7d0c", fingerprint: "3f2a9c1b7d4e8a60", aggregationKey: "KubePodCrashLooping",
 *   type: "alert", source: "prometheus", title: "Pod is crash looping", severity: "MEDIUM",
 *   status: "firing", startsAt: "2026-03-01T10:12:04.512Z", createdAt: "2026-03-01T10:12:05Z",
 * });
 * assert.deepEqual(issue.labels, {});
 * ```
 *
 * @module
 */
import { z } from "zod";
import { BlockSchema } from "./blocks.ts";

/** How urgent an issue is, from most to least. */
export const SeveritySchema = z.enum(["HIGH", "MEDIUM", "LOW", "INFO", "DEBUG"]);
/** How urgent an issue is: `HIGH`, `MEDIUM`, `LOW`, `INFO` or `DEBUG`. */
export type Severity = z.infer<typeof SeveritySchema>;
/** Every severity, most urgent first. */
export const SEVERITIES: readonly Severity[] = SeveritySchema.options;

/** Whether the problem is still present. */
export const IssueStatusSchema = z.enum(["firing", "resolved"]);
/** `firing` while the problem lasts, `resolved` once it is over. */
export type IssueStatus = z.infer<typeof IssueStatusSchema>;

/** What kind of thing the issue reports. */
export const IssueTypeSchema = z.enum(["alert", "event", "change", "manual"]);
/** `alert` (Alertmanager), `event` (Kubernetes), `change` (a diff) or `manual`. */
export type IssueType = z.infer<typeof IssueTypeSchema>;

/** The Kubernetes object an issue is about. */
export const SubjectSchema = z.object({
  kind: z.string().min(1).describe("Kubernetes kind, e.g. Pod, Deployment, Node"),
  name: z.string().min(1),
  namespace: z.string().optional(),
  node: z.string().optional(),
  container: z.string().optional(),
});
/** The Kubernetes object an issue is about. */
export type Subject = z.infer<typeof SubjectSchema>;

/** A titled link shown with the issue (generator, runbook, silence...). */
export const LinkSchema = z.object({
  title: z.string().min(1),
  url: z.url(),
});
/** A titled link. */
export type Link = z.infer<typeof LinkSchema>;

/** Blocks one workflow added, under an optional title. */
export const EnrichmentSchema = z.object({
  title: z.string().optional(),
  workflow: z.string().min(1).describe("Id of the workflow that added the blocks"),
  blocks: z.array(BlockSchema),
});
/** Blocks one workflow added, under an optional title. */
export type Enrichment = z.infer<typeof EnrichmentSchema>;

const StringMap = z.record(z.string(), z.string());

/** A normalized alert or event, enriched by workflows and sent to destinations. */
export const IssueSchema = z.object({
  id: z.string().min(1).describe("Unique id of this occurrence"),
  fingerprint: z.string().min(1).describe("Stable across repeats and the resolution"),
  aggregationKey: z.string().min(1).describe("Groups related issues, e.g. the alert name"),
  cluster: z.string().optional(),
  type: IssueTypeSchema,
  source: z.string().min(1).describe("prometheus, kubernetes, helm, manual..."),
  title: z.string(),
  description: z.string().optional(),
  severity: SeveritySchema,
  status: IssueStatusSchema,
  subject: SubjectSchema.optional(),
  labels: StringMap.default({}),
  annotations: StringMap.default({}),
  startsAt: z.string().describe("RFC 3339"),
  endsAt: z.string().optional().describe("RFC 3339; set when resolved"),
  createdAt: z.string().describe("RFC 3339; when Cano built the issue"),
  links: z.array(LinkSchema).default([]),
  enrichments: z.array(EnrichmentSchema).default([]),
  raw: z.unknown().optional().describe("The original alert or event"),
});
/** A normalized alert or event. */
export type Issue = z.infer<typeof IssueSchema>;
