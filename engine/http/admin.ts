/**
 * The operator API of the delivery layer: dead letters and their replay.
 *
 * - `GET /api/dead-letters` → `{ deadLetters: [{ id, destination, fingerprint, reason, at }] }`
 * - `POST /api/dead-letters/replay` with `{ "id": 12 }` or `{ "all": true }` →
 *   `{ replayed: n }`; 404 when no replayable letter has that id.
 *
 * With `server.adminToken` set, requests need `Authorization: Bearer <token>`. Without it,
 * only loopback clients are served (`kubectl port-forward` arrives on loopback), so the API
 * is never open to the cluster network by default.
 *
 * @module
 */
import { Hono } from "hono";
import { z } from "zod";
import type { Engine } from "../engine.ts";
import { constantTimeEqual } from "./auth.ts";

const ReplaySchema = z.union([
  z.strictObject({ id: z.number().int().positive() }),
  z.strictObject({ all: z.literal(true) }),
], { error: 'Expected {"id": <dead letter id>} or {"all": true}' });

/**
 * Creates the admin sub-app.
 *
 * @param engine The engine.
 * @returns The Hono app serving `/api/dead-letters`.
 */
export function createAdminApp(engine: Engine): Hono {
  const app = new Hono();
  app.use("/api/dead-letters/*", async function checkAdmin(c, next) {
    const token = engine.config.server.adminToken;
    if (token !== undefined) {
      if (!constantTimeEqual(c.req.header("authorization") ?? "", `Bearer ${token}`)) {
        c.header("WWW-Authenticate", "Bearer");
        return c.json({ error: "Unauthorized: expected the server.adminToken bearer token" }, 401);
      }
      return await next();
    }
    const remote = (c.env as { remoteAddr?: { hostname?: string } } | undefined)?.remoteAddr;
    // No connection info means an in-process request (tests), not a network client.
    if (remote?.hostname !== undefined && !isLoopback(remote.hostname)) {
      return c.json({
        error: "Forbidden: set server.adminToken to use the admin API from another host",
      }, 403);
    }
    return await next();
  });
  app.get("/api/dead-letters", (c) => c.json({ deadLetters: engine.dispatcher.deadLetters() }));
  app.get("/api/dead-letters/", (c) => c.json({ deadLetters: engine.dispatcher.deadLetters() }));
  app.post("/api/dead-letters/replay", async (c) => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch (_error) {
      return c.json({ error: 'Malformed JSON: expected {"id": 12} or {"all": true}' }, 400);
    }
    const parsed = ReplaySchema.safeParse(body);
    if (!parsed.success) return c.json({ error: parsed.error.issues[0]!.message }, 400);
    if ("all" in parsed.data) return c.json({ replayed: engine.dispatcher.replayAll() });
    if (!engine.dispatcher.replay(parsed.data.id)) {
      const hint = engine.config.delivery.state === undefined
        ? " (replay needs delivery.state: only the durable outbox keeps dead issues)"
        : "";
      return c.json({ error: `No replayable dead letter has id ${parsed.data.id}${hint}` }, 404);
    }
    engine.log.info("Dead letter replayed", { id: parsed.data.id });
    return c.json({ replayed: 1 });
  });
  return app;
}

function isLoopback(hostname: string): boolean {
  return hostname === "::1" || hostname.startsWith("127.") || hostname === "::ffff:127.0.0.1";
}
