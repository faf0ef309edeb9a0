/**
 * The Hono app: request metrics around the webhook and health sub-apps.
 *
 * @module
 */
import { Hono } from "hono";
import type { Engine } from "./engine.ts";
import { createAlertsApp } from "./http/alerts.ts";
import { createHealthApp } from "./http/health.ts";
import { createAdminApp } from "./http/admin.ts";

/** Options of {@linkcode createApp}. */
export interface AppOptions {
  /** Extra components for `/health/detailed`. */
  healthExtra?: () => Record<string, unknown>;
}

/**
 * Creates the HTTP app for an engine.
 *
 * @param engine The engine.
 * @param options Extra health components.
 * @returns The app; serve it with `Deno.serve(app.fetch)`.
 */
export function createApp(engine: Engine, options: AppOptions = {}): Hono {
  const app = new Hono();
  app.use(async function measureRequest(c, next) {
    const started = performance.now();
    await next();
    const labels = {
      method: c.req.method,
      path: c.req.routePath === "/*" ? "unmatched" : c.req.routePath,
      status: String(c.res.status),
    };
    engine.metrics.httpRequests.inc(labels);
    engine.metrics.httpRequestDuration.observe(labels, (performance.now() - started) / 1000);
  });
  app.route("/", createAlertsApp(engine));
  app.route("/", createHealthApp(engine, options.healthExtra));
  app.route("/", createAdminApp(engine));
  app.notFound((c) => c.json({ error: `Not found: ${c.req.method} ${c.req.path}` }, 404));
  app.onError((error, c) => {
    engine.log.error("Cannot handle request", { path: c.req.path, reason: error });
    return c.json({ error: "Internal error" }, 500);
  });
  return app;
}
