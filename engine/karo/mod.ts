/**
 * Karo compatibility: `karo.io` AlertReactions watched, their Jobs created for matching
 * Alertmanager alerts. Start it with {@linkcode startKaroController} and hand it every
 * Alertmanager Issue; `karo:` in the config is {@linkcode KaroConfigSchema}. The CRD is
 * `engine/karo/crds/alertreactions.karo.io.yaml`.
 *
 * @example A disabled controller does nothing
 * ```ts
 * import { KaroConfigSchema, startKaroController } from "./mod.ts";
 * import { createKubeClientForUrl } from "../kubernetes/client.ts";
 * import { silentLogger } from "../log.ts";
 * import { createMetrics } from "../metrics.ts";
 * import assert from "node:assert/strict";
 *
 * using api = createKubeClientForUrl("http://127.0.0.1:9");
 * const karo = startKaroController(api, KaroConfigSchema.parse({}), {
 *   log: silentLogger,
 *   metrics: createMetrics(),
 * });
 * assert.equal(karo.status().enabled, false);
 * await karo.stop();
 * ```
 *
 * @module
 */
export { type KaroConfig, type KaroConfigInput, KaroConfigSchema } from "./config.ts";
export {
  type KaroController,
  type KaroControllerOptions,
  type KaroStatus,
  startKaroController,
} from "./controller.ts";
