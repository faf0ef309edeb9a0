/**
 * Health and metrics endpoints: `GET /health` → `{"status":"ok"}`, `GET /health/detailed`
 * (components, uptime, version), `GET /metrics` (Prometheus text format).
 *
 * @module
 */
import { Hono } from "hono";
import type { Engine } from "../engine.ts";

/**
 * Creates the health sub-app.
 *
 * @param engine The engine.
 * @param extra Extra components for `/health/detailed` (e.g. the sandbox status).
 * @returns The Hono app.
 */
export function createHealthApp(
  engine: Engine,
  extra: () => Record<string, unknown> = () => ({}),
): Hono {
  const app = new Hono();
  app.get("/health", (c) => c.json({ status: "ok" }));
  app.get("/health/detailed", (c) => {
    const health = engine.health();
    const components = { ...health.components, ...extra() };
    const degraded = Object.values(components).some((component) =>
      (component as { status?: string }).status === "degraded"
    );
    return c.json({ ...health, status: degraded ? "degraded" : "ok", components });
  });
  app.get("/metrics", async (c) => {
    c.header("Content-Type", engine.metrics.registry.contentType);
    return c.body(await engine.metrics.registry.metrics());
  });
  return app;
}
