import assert from "node:assert/strict";
import { file as fileBlock, type Issue, IssueSchema } from "@cano/sdk";
import file, { FileConfigSchema } from "./file.ts";

function issue(i: number, extra: Partial<Issue> = {}): Issue {
  return IssueSchema.parse({
    id: `id-${i}`,
    fingerprint: `fp-${i % 7}`,
    aggregationKey: "KubeJobFailed",
    type: "alert",
    source: "prometheus",
    title: `Job ${i} failed`,
    severity: "LOW",
    status: "firing",
    startsAt: "2026-03-01T10:00:00Z",
    createdAt: "2026-03-01T10:00:01Z",
    ...extra,
  });
}

Deno.test("file.send() appends N valid JSON lines under concurrency", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const config = FileConfigSchema.parse({
      name: "audit",
      type: "file",
      path: `${dir}/nested/deeper/issues.ndjson`,
    });
    const big = "log line with some padding\n".repeat(10_000); // ~270 KB per issue
    const issues = Array.from({ length: 40 }, (_, i) =>
      issue(i, {
        enrichments: [{ workflow: "job-logs", blocks: [fileBlock(`job-${i}.log`, big)] }],
      }));
    const results = await Promise.all(
      issues.flatMap((it) => file.render(it, config)).map((p) => file.send(p, config, {})),
    );
    assert.ok(results.every((r) => r.ok));

    const text = await Deno.readTextFile(config.path);
    assert.ok(text.endsWith("\n"));
    const lines = text.slice(0, -1).split("\n");
    assert.equal(lines.length, 40);
    const parsed = lines.map((line) => JSON.parse(line) as Issue);
    // Appends to one path are serialized, so lines keep the order of the send calls.
    assert.deepEqual(parsed.map((p) => p.id), issues.map((i) => i.id));
    assert.deepEqual(parsed.find((p) => p.id === "id-3"), issues[3]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file.send() keeps appending to an existing file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/issues.ndjson`;
    await Deno.writeTextFile(path, '{"earlier":true}\n');
    const config = FileConfigSchema.parse({ name: "audit", type: "file", path });
    const [payload] = file.render(issue(1), config);
    assert.deepEqual(await file.send(payload!, config, {}), { ok: true });
    const lines = (await Deno.readTextFile(path)).trimEnd().split("\n");
    assert.deepEqual(lines.map((l) => JSON.parse(l).id ?? "earlier"), ["earlier", "id-1"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file.render() writes the whole issue, raw included, on one line", () => {
  const config = FileConfigSchema.parse({ name: "audit", type: "file", path: "/tmp/x" });
  const withRaw = issue(2, { raw: { alert: { labels: { a: "b\nc" } } } });
  const [line, ...rest] = file.render(withRaw, config);
  assert.equal(rest.length, 0);
  assert.ok(!line!.includes("\n"));
  assert.deepEqual(JSON.parse(line!), withRaw);
});

Deno.test("file.send() fails permanently when the path is a directory", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const config = FileConfigSchema.parse({ name: "audit", type: "file", path: dir });
    const [payload] = file.render(issue(1), config);
    const result = await file.send(payload!, config, {});
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.retryable, false);
    assert.match(result.ok ? "" : result.reason, /^Cannot append to .*: Is a directory/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("FileConfigSchema requires a path", () => {
  const result = FileConfigSchema.safeParse({ name: "audit", type: "file", path: "" });
  assert.deepEqual(result.error?.issues.map((i) => i.message), [
    "File destination needs a path, e.g. /var/log/cano.ndjson",
  ]);
});
