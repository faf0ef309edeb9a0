/**
 * The Alertmanager webhook: `POST /api/alerts`, and `POST /webhook` as an alias so Karo
 * users can point their receiver at Cano unchanged.
 *
 * Answers: 200 once the alerts are accepted; 400 for JSON that does not parse; 422 naming
 * the fields for a payload of the wrong shape; 413 past the body limit; 401 without the
 * configured credentials; 503 while shutting down (Alertmanager retries 5xx).
 *
 * @module
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { Engine } from "../engine.ts";
import { type WebhookAuth, webhookAuth } from "./auth.ts";

/**
 * Creates the webhook sub-app.
 *
 * @param engine The engine.
 * @returns The Hono app to mount at `/`.
 */
export function createAlertsApp(engine: Engine): Hono {
  const app = new Hono();
  const reject = (errorType: string) =>
    engine.metrics.alertsErrors.inc({ source: "prometheus", error_type: errorType });
  const auth = () => engine.config.server.auth as WebhookAuth;
  for (const path of ["/api/alerts", "/webhook"]) {
    app.post(
      path,
      webhookAuth(auth, () => reject("unauthorized")),
      (c, next) =>
        bodyLimit({
          maxSize: engine.config.server.bodyLimitBytes,
          onError: (c) => {
            reject("too_large");
            return c.json({
              error: `Payload too large: limit is ${engine.config.server.bodyLimitBytes} bytes`,
            }, 413);
          },
        })(c, next),
      async function receiveAlerts(c) {
        if (engine.closing) return c.json({ error: "Shutting down; retry later" }, 503);
        const text = await c.req.text();
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch (error) {
          reject("malformed_json");
          return c.json({ error: `Malformed JSON: ${(error as Error).message}` }, 400);
        }
        const result = engine.ingestAlertmanager(body);
        if (!result.ok) {
          const status = result.status;
          return c.json({ error: result.error.message, issues: result.error.issues }, status);
        }
        return c.json({ status: "accepted", ...result, ok: undefined });
      },
    );
  }
  return app;
}
