/**
 * Webhook authentication: a bearer token or basic auth, compared in constant time.
 *
 * @module
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import type { z } from "zod";
import type { WebhookAuthSchema } from "../config/schema.ts";

/** Webhook auth settings. */
export type WebhookAuth = z.output<typeof WebhookAuthSchema>;

/**
 * Compares two strings in constant time (hashing first so lengths do not leak).
 *
 * @param a One string.
 * @param b The other.
 * @returns Whether they are equal.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  const digest = (s: string) => createHash("sha256").update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * A middleware that rejects requests without the configured credentials with 401.
 *
 * @param auth Reads the current auth settings (they change on reload).
 * @param onReject Called for each rejected request (for metrics).
 * @returns The middleware.
 */
export function webhookAuth(
  auth: () => WebhookAuth,
  onReject: (reason: string) => void,
): MiddlewareHandler {
  return async function checkWebhookAuth(c, next) {
    const settings = auth();
    if (settings.type === "none") return await next();
    const header = c.req.header("authorization") ?? "";
    const expected = settings.type === "bearer"
      ? `Bearer ${settings.token}`
      : `Basic ${btoa(`${settings.username}:${settings.password}`)}`;
    if (!constantTimeEqual(header, expected)) {
      const reason = header === "" ? "missing credentials" : "wrong credentials";
      onReject(reason);
      c.header("WWW-Authenticate", settings.type === "bearer" ? "Bearer" : 'Basic realm="cano"');
      return c.json({ error: `Unauthorized: ${reason}` }, 401);
    }
    return await next();
  };
}
