import assert from "node:assert/strict";
import { KaroConfigSchema } from "./config.ts";

Deno.test("KaroConfigSchema is off by default with Karo's Job TTL and a 10 minute cooldown", () => {
  assert.deepEqual(KaroConfigSchema.parse({}), {
    enabled: false,
    namespaces: [],
    versions: ["v1alpha1"],
    cooldown: 600_000,
    jobTtl: 300_000,
  });
});

Deno.test("KaroConfigSchema parses durations and rejects unknown versions and keys", () => {
  const config = KaroConfigSchema.parse({
    enabled: true,
    namespaces: ["ops"],
    versions: ["v1alpha1", "v1"],
    cooldown: "1h",
    jobTtl: "1d",
    backoffLimit: 0,
    activeDeadline: "15m",
  });
  assert.equal(config.cooldown, 3_600_000);
  assert.equal(config.jobTtl, 86_400_000);
  assert.equal(config.activeDeadline, 900_000);
  assert.equal(KaroConfigSchema.safeParse({ versions: ["v2"] }).success, false);
  assert.equal(KaroConfigSchema.safeParse({ versions: [] }).success, false);
  assert.equal(KaroConfigSchema.safeParse({ cooldown: "soon" }).success, false);
  assert.equal(KaroConfigSchema.safeParse({ jobTemplate: {} }).success, false);
});
