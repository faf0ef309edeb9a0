import assert from "node:assert/strict";
import { parseConfigText } from "./config/load.ts";
import { type CanoConfig, CanoConfigSchema } from "./config/schema.ts";
import { Engine } from "./engine.ts";
import { silentLogger } from "./log.ts";
import { createApp } from "./server.ts";

const payload = await Deno.readTextFile(
  new URL("../examples/alerts/crashloop_group.json", import.meta.url),
);

function configFrom(yaml: string): CanoConfig {
  const result = parseConfigText(yaml, { file: "test.yaml", schema: CanoConfigSchema });
  if (!result.ok) throw result.error;
  return result.config;
}

async function withApp(
  yaml: string,
  fn: (app: ReturnType<typeof createApp>, engine: Engine) => Promise<void>,
) {
  const dir = await Deno.makeTempDir();
  const config = configFrom(yaml.replaceAll("$DIR", dir));
  const engine = new Engine({ config, log: silentLogger });
  try {
    await fn(createApp(engine), engine);
  } finally {
    await engine.shutdown(1000);
    await Deno.remove(dir, { recursive: true });
  }
}

const FILE_CONFIG = `
server: { bodyLimitBytes: 20000 }
destinations: [{ name: out, type: file, path: $DIR/out.jsonl }]
routing: { default: { destinations: [out] } }
`;

const post = (body: string, headers: Record<string, string> = {}) => ({
  method: "POST",
  body,
  headers: { "content-type": "application/json", ...headers },
});

Deno.test("POST /api/alerts accepts a grouped payload and delivers one enriched issue per alert", async () => {
  await withApp(FILE_CONFIG, async (app, engine) => {
    const response = await app.request("/api/alerts", post(payload));
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), {
      status: "accepted",
      received: 2,
      accepted: 2,
      duplicates: 0,
    });
    await engine.idle();
    const file = engine.config.destinations[0]!.type === "file"
      ? engine.config.destinations[0]!.path
      : "";
    const lines = (await Deno.readTextFile(file)).trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines.length, 2);
    const fingerprints = lines.map((l) => l.fingerprint ?? l.issue?.fingerprint).sort();
    assert.deepEqual(fingerprints, ["3f2a9c1b7d4e8a60", "a81c03e5f9b27d44"]);
    const metrics = await (await app.request("/metrics")).text();
    assert.match(metrics, /cano_alerts_received_total\{source="prometheus",status="firing"\} 1/);
    assert.match(
      metrics,
      /cano_alerts_processed_total\{source="prometheus",severity="MEDIUM",outcome="routed"\} 2/,
    );
    assert.match(
      metrics,
      /cano_destination_sent_total\{destination="out",destination_type="file"\} 2/,
    );
  });
});

Deno.test("POST /webhook is an alias and a repeated group is not delivered twice", async () => {
  await withApp(FILE_CONFIG, async (app) => {
    await app.request("/webhook", post(payload));
    const again = await app.request("/webhook", post(payload));
    assert.deepEqual(await again.json(), {
      status: "accepted",
      received: 2,
      accepted: 0,
      duplicates: 2,
    });
  });
});

Deno.test("POST /api/alerts answers 400 for malformed JSON, 422 naming the field, 413 when too large", async () => {
  await withApp(FILE_CONFIG, async (app) => {
    const malformed = await app.request("/api/alerts", post("{nope"));
    assert.equal(malformed.status, 400);
    assert.match((await malformed.json()).error, /^Malformed JSON/);
    const wrong = await app.request(
      "/api/alerts",
      post(
        JSON.stringify({
          alerts: [{ status: "firing", labels: {}, startsAt: "2026-01-01T00:00:00Z" }],
        }),
      ),
    );
    assert.equal(wrong.status, 422);
    const body = await wrong.json();
    assert.equal(body.error, "Invalid Alertmanager payload");
    assert.deepEqual(body.issues.map((i: { path: string }) => i.path), [
      "alerts[0].labels.alertname",
    ]);
    const large = await app.request(
      "/api/alerts",
      post(JSON.stringify({ pad: "x".repeat(30_000) })),
    );
    assert.equal(large.status, 413);
    const metrics = await (await app.request("/metrics")).text();
    for (const type of ["malformed_json", "invalid_payload", "too_large"]) {
      assert.match(
        metrics,
        new RegExp(`cano_alerts_errors_total\\{source="prometheus",error_type="${type}"\\} 1`),
      );
    }
    assert.match(
      metrics,
      /cano_http_requests_total\{method="POST",path="\/api\/alerts",status="413"\} 1/,
    );
  });
});

Deno.test("POST /api/alerts requires the configured bearer token", async () => {
  const yaml = FILE_CONFIG.replace(
    "server: { bodyLimitBytes: 20000 }",
    "server: { auth: { type: bearer, token: s3cret-token-0123456789 } }",
  );
  await withApp(yaml, async (app) => {
    assert.equal((await app.request("/api/alerts", post(payload))).status, 401);
    assert.equal(
      (await app.request("/api/alerts", post(payload, { authorization: "Bearer wrong" }))).status,
      401,
    );
    const ok = await app.request(
      "/api/alerts",
      post(payload, { authorization: "Bearer s3cret-token-0123456789" }),
    );
    assert.equal(ok.status, 200);
    const metrics = await (await app.request("/metrics")).text();
    assert.match(metrics, /error_type="unauthorized"\} 2/);
    assert.doesNotMatch(metrics, /s3cret/);
  });
});

Deno.test("POST /api/alerts accepts basic auth", async () => {
  const yaml = FILE_CONFIG.replace(
    "server: { bodyLimitBytes: 20000 }",
    "server: { auth: { type: basic, username: am, password: passw0rd! } }",
  );
  await withApp(yaml, async (app) => {
    const good = await app.request(
      "/api/alerts",
      post(payload, { authorization: `Basic ${btoa("am:passw0rd!")}` }),
    );
    assert.equal(good.status, 200);
    const bad = await app.request(
      "/api/alerts",
      post(payload, { authorization: `Basic ${btoa("am:nope")}` }),
    );
    assert.equal(bad.status, 401);
  });
});

Deno.test("GET /health and /health/detailed report status, components, uptime and version", async () => {
  await withApp(FILE_CONFIG, async (app) => {
    assert.deepEqual(await (await app.request("/health")).json(), { status: "ok" });
    const detailed = await (await app.request("/health/detailed")).json();
    assert.equal(detailed.status, "ok");
    assert.equal(detailed.version, "0.1.0");
    assert.match(detailed.uptime, /^\d+h\d+m\d+s$/);
    assert.deepEqual(Object.keys(detailed.components).sort(), [
      "config",
      "destinations",
      "workflows",
    ]);
    assert.deepEqual(detailed.components.workflows.detail.map((w: { id: string }) => w.id), [
      "silencer",
      "default-alert-enricher",
    ]);
  });
});

Deno.test("Engine.shutdown() refuses new alerts with 503 so Alertmanager retries", async () => {
  await withApp(FILE_CONFIG, async (app, engine) => {
    await engine.shutdown(1000);
    assert.equal((await app.request("/api/alerts", post(payload))).status, 503);
  });
});
