import assert from "node:assert/strict";
import { IssueSchema, markdown } from "@cano/sdk";
import kafka, { type KafkaConfig, KafkaConfigSchema } from "./kafka.ts";

/**
 * librdkafka's mock cluster, started by Debian's `kcat` (the holder process consumes a topic
 * so the cluster stays up). Fails, not skips, without kcat: CI installs it.
 */
async function startMockCluster() {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("kcat", {
      args: [
        "-b",
        "127.0.0.1:9",
        "-X",
        "test.mock.num.brokers=1",
        "-X",
        "debug=mock",
        "-C",
        "-t",
        "cano-holder",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    throw new Error("Cannot run the Kafka tests: kcat is missing (apt-get install -y kcat)", {
      cause: error,
    });
  }
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  const log: string[] = [];
  let buffer = "";
  const port = Promise.withResolvers<number>();
  const pump = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        port.reject(
          new Error(`Cannot start the Kafka mock cluster: kcat exited (${log.join("; ")})`),
        );
        return;
      }
      buffer += value;
      const lines = buffer.split("\n");
      buffer = lines.pop()!;
      for (const line of lines) {
        const found = line.match(/bootstrap\.servers=127\.0\.0\.1:(\d+)/);
        if (found) port.resolve(Number(found[1]));
        if (/InitProducerId|Created topic|error/i.test(line)) log.push(line);
      }
    }
  })();
  const broker = `127.0.0.1:${await port.promise}`;
  return {
    broker,
    log,
    /** Every record of `topic`, read back with kcat as a consumer. */
    async consume(topic: string) {
      const { stdout, code, stderr } = await new Deno.Command("kcat", {
        args: ["-b", broker, "-C", "-t", topic, "-e", "-q", "-J"],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(code, 0, new TextDecoder().decode(stderr));
      return new TextDecoder().decode(stdout).trim().split("\n").filter(Boolean).map((l) =>
        JSON.parse(l) as {
          partition: number;
          offset: number;
          key: string;
          payload: string;
          headers?: string[];
        }
      );
    },
    /** Produces `key:value` lines with kcat and librdkafka's Java-compatible partitioner. */
    async produceWithKcat(topic: string, keys: string[]) {
      const child = new Deno.Command("kcat", {
        args: ["-b", broker, "-P", "-t", topic, "-K:", "-X", "topic.partitioner=murmur2_random"],
        stdin: "piped",
        stdout: "null",
        stderr: "null",
      }).spawn();
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(keys.map((k) => `${k}:kcat`).join("\n") + "\n"));
      await writer.close();
      assert.equal((await child.status).code, 0);
    },
    async [Symbol.asyncDispose]() {
      child.kill();
      await reader.cancel();
      await pump;
      await child.status;
    },
  };
}

function config(broker: string, extra: Record<string, unknown> = {}): KafkaConfig {
  return KafkaConfigSchema.parse({
    name: "ops-kafka",
    type: "kafka",
    brokers: [broker],
    topic: "cano-issues",
    timeoutMs: 10_000,
    ...extra,
  });
}

function issue(id: string, fingerprint: string, status: "firing" | "resolved" = "firing") {
  return IssueSchema.parse({
    id,
    fingerprint,
    aggregationKey: "KubePodOOMKilled",
    type: "alert",
    source: "prometheus",
    title: "Pod OOMKilled",
    severity: "HIGH",
    status,
    startsAt: "2026-03-01T10:00:00Z",
    createdAt: "2026-03-01T10:00:01Z",
    enrichments: [{ workflow: "oom-context", blocks: [markdown("limit 512Mi")] }],
    raw: { status },
  });
}

Deno.test("kafka.send() produces keyed records with headers that a consumer reads back in order", async () => {
  await using cluster = await startMockCluster();
  const cfg = config(cluster.broker);
  try {
    const sends = [
      issue("i1", "fp-a"),
      issue("i2", "fp-b"),
      issue("i3", "fp-a", "resolved"),
    ];
    for (const item of sends) {
      const result = await kafka.send(kafka.render(item, cfg)[0]!, cfg, {});
      assert.deepEqual(result, { ok: true });
    }
    const records = await cluster.consume("cano-issues");
    assert.equal(records.length, 3);
    const byId = new Map(records.map((r) => [JSON.parse(r.payload).issue.id as string, r]));
    const first = byId.get("i1")!;
    const resolved = byId.get("i3")!;
    assert.equal(first.key, "fp-a");
    assert.deepEqual(first.headers, [
      "id",
      "i1",
      "content-type",
      "application/json",
      "source",
      "prometheus",
    ]);
    const body = JSON.parse(first.payload);
    assert.equal(body.version, "1");
    assert.equal(body.issue.fingerprint, "fp-a");
    assert.equal(body.issue.raw, undefined);
    assert.equal(body.issue.enrichments[0].blocks[0].text, "limit 512Mi");
    assert.equal(resolved.partition, first.partition);
    assert.ok(resolved.offset > first.offset);
    assert.equal(JSON.parse(resolved.payload).issue.status, "resolved");
    assert.ok(
      cluster.log.some((l) => /InitProducerIdRequest/.test(l)),
      "the producer is idempotent: it asked the cluster for a producer id",
    );
  } finally {
    await kafka.close!(cfg);
  }
});

Deno.test("kafka.send() places keys on the partitions the Java partitioner (murmur2) picks", async () => {
  await using cluster = await startMockCluster();
  const keys = ["3f2a9c1b7d4e8a60", "fp-a", "fp-b", "prod/shop/Pod/api-1", "k", "zz-top"];
  await cluster.produceWithKcat("cano-murmur", keys);
  const cfg = config(cluster.broker, { topic: "cano-murmur" });
  try {
    for (const [i, key] of keys.entries()) {
      const result = await kafka.send(kafka.render(issue(`i${i}`, key), cfg)[0]!, cfg, {});
      assert.equal(result.ok, true);
    }
  } finally {
    await kafka.close!(cfg);
  }
  const records = await cluster.consume("cano-murmur");
  const partitions = (from: (r: (typeof records)[number]) => boolean) =>
    Object.fromEntries(records.filter(from).map((r) => [r.key, r.partition]));
  const kcat = partitions((r) => r.payload === "kcat");
  const cano = partitions((r) => r.payload !== "kcat");
  assert.equal(Object.keys(cano).length, keys.length);
  assert.deepEqual(cano, kcat);
  assert.ok(new Set(Object.values(cano)).size > 1, "keys spread over more than one partition");
});

Deno.test("kafka.send() reports an unreachable cluster as retryable and closes cleanly", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  const cfg = config(`127.0.0.1:${port}`, {
    timeoutMs: 3000,
    sasl: { mechanism: "PLAIN", username: "cano", password: "kafka-password" },
  });
  const result = await kafka.send(kafka.render(issue("i1", "fp-a"), cfg)[0]!, cfg, {});
  assert.ok(!result.ok && result.retryable, JSON.stringify(result));
  assert.match(result.reason, /^Cannot send to Kafka "ops-kafka": /);
  assert.ok(!result.reason.includes("kafka-password"));
  await kafka.close!(cfg);
});

Deno.test("kafka.close() lets a later send open a new producer", async () => {
  await using cluster = await startMockCluster();
  const cfg = config(cluster.broker, { topic: "cano-reopen" });
  assert.equal((await kafka.send(kafka.render(issue("i1", "fp-a"), cfg)[0]!, cfg, {})).ok, true);
  await kafka.close!(cfg);
  await kafka.close!(cfg);
  assert.equal((await kafka.send(kafka.render(issue("i2", "fp-a"), cfg)[0]!, cfg, {})).ok, true);
  await kafka.close!(cfg);
  const records = await cluster.consume("cano-reopen");
  assert.deepEqual(records.map((r) => JSON.parse(r.payload).issue.id), ["i1", "i2"]);
});

Deno.test("kafka.render() keeps the raw alert only when asked and drops big file data", () => {
  const cfg = config("127.0.0.1:9092", { includeRaw: true });
  const [withRaw] = kafka.render(issue("i1", "fp-a"), cfg);
  assert.deepEqual(JSON.parse(withRaw!.value).issue.raw, { status: "firing" });
  const big = IssueSchema.parse({
    ...issue("i2", "fp-a"),
    enrichments: [{
      workflow: "logs",
      blocks: [{
        type: "file",
        name: "huge.log",
        contentType: "text/plain",
        encoding: "utf8",
        data: "x".repeat(1_100_000),
      }],
    }],
  });
  const [payload] = kafka.render(big, config("127.0.0.1:9092"));
  assert.ok(payload!.value.length < 10_000);
  assert.match(
    JSON.parse(payload!.value).issue.enrichments[0].blocks[0].text,
    /"huge\.log" left out/,
  );
});

Deno.test("KafkaConfigSchema rejects a broker without port and a bad topic", () => {
  const bad = KafkaConfigSchema.safeParse({
    name: "k",
    type: "kafka",
    brokers: ["kafka-1"],
    topic: "no spaces",
  });
  assert.deepEqual(bad.error?.issues.map((i) => i.path.join(".")), ["brokers.0", "topic"]);
});
