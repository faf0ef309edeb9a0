/**
 * Child process of the outbox `kill -9` test.
 *
 * `enqueue <db> <url> <n>` dispatches n issues (two per fingerprint, firing then resolved)
 * to a webhook at `url`, prints `queued` and keeps retrying until it is killed.
 * `deliver <db> <url>` resumes the outbox, waits until it is empty and exits.
 *
 * @module
 */
import { IssueSchema } from "@cano/sdk";
import { DestinationConfigSchema } from "../../destinations/mod.ts";
import { silentLogger } from "../../log.ts";
import { createMetrics } from "../../metrics.ts";
import { createDispatcher } from "../dispatcher.ts";
import { openOutbox } from "../outbox.ts";

const [mode, path = "", url = "", count = "0"] = Deno.args;
const outbox = openOutbox({ path });
const dispatcher = createDispatcher({
  destinations: [DestinationConfigSchema.parse({ name: "sink", type: "webhook", url })],
  metrics: createMetrics(),
  log: silentLogger,
  queue: outbox,
  retry: { minDelayMs: 20, maxDelayMs: 100, maxAttempts: 10_000 },
});
if (mode === "enqueue") {
  for (let i = 0; i < Number(count); i++) {
    dispatcher.dispatch(
      IssueSchema.parse({
        id: `n${i}`,
        fingerprint: `f${Math.floor(i / 2)}`,
        aggregationKey: "KubePodCrashLooping",
        type: "alert",
        source: "prometheus",
        title: `Issue ${i}`,
        severity: "HIGH",
        status: i % 2 === 0 ? "firing" : "resolved",
        startsAt: "2026-03-01T10:00:00Z",
        createdAt: "2026-03-01T10:00:01Z",
      }),
      ["sink"],
    );
  }
  await Deno.stdout.write(new TextEncoder().encode("queued\n"));
  setInterval(() => {}, 60_000);
} else {
  await dispatcher.drain(30_000);
  dispatcher.close();
  outbox.close();
}
