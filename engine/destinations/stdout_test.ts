import assert from "node:assert/strict";
import { type Issue, IssueSchema, table } from "@cano/sdk";
import { createStdoutDestination, StdoutConfigSchema, type StdoutWriter } from "./stdout.ts";

const ISSUE: Issue = IssueSchema.parse({
  id: "1",
  fingerprint: "f1",
  aggregationKey: "KubeNodeNotReady",
  type: "alert",
  source: "prometheus",
  title: "Node is not ready",
  severity: "HIGH",
  status: "firing",
  startsAt: "2026-03-01T10:00:00Z",
  createdAt: "2026-03-01T10:00:01Z",
  enrichments: [{
    title: "Nodes",
    workflow: "node-status",
    blocks: [table(["node", "ready", "pressure"], [["ip-10-0-1-17", "False", "Memory"], [
      "ip-10-0-2-4",
      "True",
      "",
    ]])],
  }],
});

/** A writer that takes at most `chunk` bytes per call, after a tick, like a slow pipe. */
function slowWriter(chunk = 7): StdoutWriter & { text(): string } {
  const parts: Uint8Array[] = [];
  return {
    async write(bytes) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      const taken = bytes.slice(0, chunk);
      parts.push(taken);
      return taken.length;
    },
    text: () => new TextDecoder().decode(new Uint8Array(parts.flatMap((p) => [...p]))),
  };
}

Deno.test("stdout.send() writes readable text with the table aligned", async () => {
  const writer = slowWriter(1 << 20);
  const stdout = createStdoutDestination({ writer });
  const config = StdoutConfigSchema.parse({ name: "console", type: "stdout" });
  for (const payload of stdout.render(ISSUE, config)) {
    assert.deepEqual(await stdout.send(payload, config, {}), { ok: true });
  }
  const text = writer.text();
  assert.ok(text.endsWith("\n"));
  assert.ok(text.startsWith("[FIRING] HIGH Node is not ready\n"));
  assert.ok(text.includes(
    [
      "## Nodes (node-status)",
      "node          ready  pressure",
      "------------  -----  --------",
      "ip-10-0-1-17  False  Memory",
      "ip-10-0-2-4   True",
    ].join("\n"),
  ));
  assert.ok(!text.includes("\x1b"));
});

Deno.test("stdout.render() writes one JSON line per issue with format json", () => {
  const stdout = createStdoutDestination({ writer: slowWriter() });
  const config = StdoutConfigSchema.parse({ name: "console", type: "stdout", format: "json" });
  const [line, ...rest] = stdout.render(ISSUE, config);
  assert.equal(rest.length, 0);
  assert.ok(!line!.includes("\n"));
  assert.deepEqual(JSON.parse(line!), ISSUE);
});

Deno.test("stdout.send() never interleaves concurrent writes", async () => {
  const writer = slowWriter(7);
  const stdout = createStdoutDestination({ writer });
  const config = StdoutConfigSchema.parse({ name: "console", type: "stdout" });
  const payloads = Array.from({ length: 20 }, (_, i) => `issue ${i}: ${"=".repeat(30 + i)}`);
  const results = await Promise.all(payloads.map((p) => stdout.send(p, config, {})));
  assert.ok(results.every((r) => r.ok));
  assert.equal(writer.text(), payloads.map((p) => p + "\n").join(""));
});

Deno.test("stdout.send() reports a broken pipe as permanent and keeps writing after", async () => {
  const written: string[] = [];
  let broken = true;
  const stdout = createStdoutDestination({
    writer: {
      write(bytes) {
        if (broken) return Promise.reject(new Deno.errors.BrokenPipe("pipe closed"));
        written.push(new TextDecoder().decode(bytes));
        return Promise.resolve(bytes.length);
      },
    },
  });
  const config = StdoutConfigSchema.parse({ name: "console", type: "stdout" });
  assert.deepEqual(await stdout.send("lost", config, {}), {
    ok: false,
    retryable: false,
    reason: "Cannot write to stdout: pipe closed",
  });
  broken = false;
  assert.deepEqual(await stdout.send("after", config, {}), { ok: true });
  assert.deepEqual(written, ["after\n"]);
});

Deno.test("StdoutConfigSchema explains a bad name and applies defaults", () => {
  const result = StdoutConfigSchema.safeParse({ name: "My Console", type: "stdout" });
  assert.deepEqual(result.error?.issues.map((i) => [i.path, i.message]), [
    [
      ["name"],
      "Destination name must be lowercase letters, digits, '-' or '_', e.g. \"ops-slack\"",
    ],
  ]);
  assert.deepEqual(StdoutConfigSchema.parse({ name: "console", type: "stdout" }), {
    name: "console",
    type: "stdout",
    format: "text",
    color: false,
  });
});
