/**
 * Helpers for the sandbox tests in this folder: issues, workflow sources, a fake capability
 * host implementing the real contract, and a shared work dir (the SDK bundle is built once).
 *
 * @module
 */
import { type Issue, IssueSchema } from "@cano/sdk";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CapabilityCallContext, CapabilityHost } from "../capabilities/host.ts";
import { CapabilityError } from "../capabilities/host.ts";

/** A work dir shared by the tests of this folder (content-addressed, safe to share). */
export const TEST_WORK_DIR: string = join(tmpdir(), "cano-sandbox-test");

/**
 * Builds an issue.
 *
 * @param title The title (fixtures switch on it).
 * @returns The issue.
 */
export function testIssue(title = "test"): Issue {
  return IssueSchema.parse({
    id: crypto.randomUUID(),
    fingerprint: `fp-${title}`,
    aggregationKey: title,
    type: "manual",
    source: "manual",
    title,
    severity: "LOW",
    status: "firing",
    startsAt: "2026-01-01T00:00:00Z",
    createdAt: "2026-01-01T00:00:00Z",
  });
}

/**
 * Source of a workflow file.
 *
 * @param id The workflow id.
 * @param body The body of `async run(ctx)`.
 * @param extra Extra definition fields, e.g. `permissions: { prometheus: true },`.
 * @returns TypeScript source.
 */
export function workflowSource(id: string, body: string, extra = ""): string {
  return `import { defineWorkflow, markdown, json } from "@cano/sdk";
export default defineWorkflow({
  id: "${id}",
  description: "Test workflow ${id}",
  triggers: [{ on: "manual" }],
  ${extra}
  async run(ctx) {
    ${body}
  },
});
`;
}

/** A call seen by {@linkcode createFakeCapabilityHost}. */
export interface SeenCall {
  /** Capability name. */
  name: string;
  /** Arguments. */
  args: unknown;
  /** The context's workflow id and permissions. */
  context: CapabilityCallContext;
}

/**
 * A capability host with the real contract: takes one unit of budget per call (refusing at
 * 0), answers `prometheus.query` with a fixed vector and refuses everything else.
 *
 * @returns The host and the calls it saw.
 */
export function createFakeCapabilityHost(): { host: CapabilityHost; calls: SeenCall[] } {
  const calls: SeenCall[] = [];
  const host: CapabilityHost = {
    call(name, args, context) {
      calls.push({ name, args, context });
      const refuse = (reason: "budget_exhausted" | "not_permitted", message: string) =>
        Promise.reject(
          new CapabilityError(message, {
            capability: name,
            workflowId: context.workflowId,
            reason,
          }),
        );
      if (!(context.budget.remaining > 0)) {
        return refuse("budget_exhausted", `Cannot call "${name}": no calls left`);
      }
      context.budget.remaining--;
      if (name === "prometheus.query" && context.permissions.prometheus) {
        return Promise.resolve({
          resultType: "vector",
          result: [{ metric: {}, value: [1, "42"] }],
        });
      }
      return refuse("not_permitted", `Cannot call "${name}": not permitted`);
    },
  };
  return { host, calls };
}

/**
 * Creates a temp dir holding workflow files.
 *
 * @param files File name → source.
 * @returns The directory.
 */
export async function workflowDir(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "cano-wf-" });
  for (const [name, source] of Object.entries(files)) {
    await Deno.writeTextFile(join(dir, name), source);
  }
  return dir;
}
