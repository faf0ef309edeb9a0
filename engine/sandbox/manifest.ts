/**
 * Host-side checks of what a sandbox child reports about its workflow.
 *
 * A child is not trusted to have called `defineWorkflow`: its metadata is parsed again with
 * the SDK schemas, and ids must be unique across files (an id stays with the file already
 * holding it; among new files the first in name order wins).
 *
 * @example Refuse a trigger the SDK does not know
 * ```ts
 * import { checkManifest } from "./manifest.ts";
 * import assert from "node:assert/strict";
 *
 * const manifest = { id: "a", description: "d", triggers: [{ on: "never" }], permissions: {} };
 * assert.throws(() => checkManifest(manifest, "/workflows/a.ts"), /invalid triggers/);
 * ```
 *
 * @module
 */
import {
  type Permissions,
  PermissionsSchema,
  type Trigger,
  TriggerSchema,
  WORKFLOW_ID_PATTERN,
  z,
} from "@cano/sdk";
import { SandboxLoadError } from "./supervisor.ts";

const TriggersSchema = z.array(TriggerSchema).min(1, "Expected at least one trigger");

/**
 * Checks the metadata a child reported with the SDK schemas.
 *
 * @param manifest What the child reported.
 * @param file The file, for messages.
 * @returns The parsed description, triggers and permissions.
 * @throws {SandboxLoadError} When something is malformed.
 */
export function checkManifest(
  manifest: { id: string; description: string; triggers: unknown; permissions: unknown },
  file: string,
): { description: string; triggers: Trigger[]; permissions: Permissions } {
  const fail = (detail: string) =>
    new SandboxLoadError(`Cannot load workflow from ${file}: ${detail}`);
  if (!WORKFLOW_ID_PATTERN.test(manifest.id) || manifest.id.length > 100) {
    throw fail(`id "${manifest.id.slice(0, 100)}" is not a kebab-case id like "oom-context"`);
  }
  if (manifest.description.trim() === "" || manifest.description.length > 1_000) {
    throw fail("the description must be one sentence of at most 1000 characters");
  }
  const triggers = TriggersSchema.safeParse(manifest.triggers);
  if (!triggers.success) throw fail(`invalid triggers: ${issues(triggers.error)}`);
  const permissions = PermissionsSchema.safeParse(manifest.permissions);
  if (!permissions.success) throw fail(`invalid permissions: ${issues(permissions.error)}`);
  return {
    description: manifest.description,
    triggers: triggers.data,
    permissions: permissions.data,
  };
}

/** A loaded workflow version, as far as the id rule is concerned. */
export interface IdHolder {
  /** The file. */
  file: string;
  /** The checked id. */
  id: string;
  /** The version's hash. */
  version: { hash: string };
}

/** A failed load, as far as the id rule is concerned. */
export interface FailedLoad {
  /** The file. */
  file: string;
  /** Hash of the version that failed. */
  hash?: string;
  /** Why. */
  message: string;
}

/**
 * Splits load results into loaded and failed, failing every file whose id is already taken
 * (by `taken`, then by an earlier file in name order).
 *
 * @param results Load results: versions (with an `id`) and failures (without).
 * @param taken Ids already in use, by file; updated in place.
 * @returns Loaded versions and failures; a duplicate keeps its version in `duplicate` so the
 *   caller can stop it.
 */
export function dedupeIds<V extends IdHolder, F extends FailedLoad>(
  results: readonly (V | F)[],
  taken: Map<string, string> = new Map(),
): { loaded: V[]; failures: (F | FailedLoad & { duplicate: V })[] } {
  const loaded: V[] = [];
  const failures: (F | FailedLoad & { duplicate: V })[] = [];
  const sorted = [...results].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  for (const result of sorted) {
    if (!("id" in result)) {
      failures.push(result);
      continue;
    }
    const owner = taken.get(result.id);
    if (owner !== undefined && owner !== result.file) {
      failures.push({
        file: result.file,
        hash: result.version.hash,
        message:
          `Cannot load workflow from ${result.file}: id "${result.id}" is already used by ${owner}`,
        duplicate: result,
      });
      continue;
    }
    taken.set(result.id, result.file);
    loaded.push(result);
  }
  return { loaded, failures };
}

function issues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`)
    .join("; ");
}
