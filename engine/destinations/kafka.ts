/**
 * Produces each Issue as a JSON record to a Kafka topic, keyed by fingerprint.
 *
 * The client is `@platformatic/kafka` (pinned in `deno.json`): pure TypeScript, maintained,
 * and tested here under Deno against librdkafka's mock cluster (`kafka_test.ts`). This file
 * is the only one that imports it.
 *
 * ## Config
 * - `name`, `timeoutMs` (time allowed for the acknowledgement; default 30000), `rateLimit`.
 * - `type`: `"kafka"`.
 * - `brokers`: bootstrap `host:port` list.
 * - `topic`: the topic records go to; it must exist (auto-creation is not asked for).
 * - `clientId`: the Kafka client id (default `cano`).
 * - `sasl`: `{ mechanism: PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512, username, password }`; give
 *   the password as `${KAFKA_PASSWORD}`. Never printed: dry-run and reasons show `***`.
 * - `tls`: `true`, or `{ ca }` with extra PEM certificates to trust.
 * - `includeRaw`: send the original alert or event as `issue.raw` (default false).
 *
 * ## Record
 * Key: the issue fingerprint, placed with `compatibilityPartitioner` (murmur2 as the Java
 * client and librdkafka's `murmur2_random` do), so every update and the resolution of one
 * incident land in one partition, in order. Value: `{"version":"1","issue":{...}}`, the
 * webhook body. Headers: `id` (the issue id, for consumers to drop duplicates),
 * `content-type: application/json` and `source` (the issue's source, e.g. `prometheus`).
 *
 * The producer is idempotent (acks=all, one request in flight), so broker-side duplicates
 * from its own retries are dropped within a producer session. It asks for a new producer id
 * with `producerId -1, epoch -1`, as the Java client does: the library's default of `0/0`
 * names an existing producer, which brokers that check it (librdkafka's mock cluster) refuse
 * with `UNKNOWN_PRODUCER_ID`. A send that outlives `timeoutMs` is reported as retryable
 * while the library may still deliver it, so consumers must still drop duplicates by `id`.
 *
 * ## Lifecycle
 * One long-lived producer per destination config, created on the first send. `close(config)`
 * closes it once its sends settle; the dispatcher calls it when a reload changes or removes
 * the config and at shutdown. A failed send closes its producer too, so the retry starts on
 * fresh connections.
 *
 * ## Limits
 * Values above {@linkcode KAFKA_MAX_VALUE_BYTES} (below the broker default
 * `message.max.bytes` of 1048588) lose their file and image data, replaced by a note.
 * Errors: network trouble, timeouts and retriable broker errors are retryable; an unknown
 * topic, authorization or SASL failures, oversized records and bad config are permanent.
 * SASL and TLS settings go to the library as given; librdkafka's mock cluster, which the
 * tests use, ignores security settings, so those two paths are not exercised there.
 *
 * ## Threading
 * None on the wire; ordering per fingerprint comes from the key.
 *
 * ## Example payload
 * ```
 * topic: alerts
 * key: 3f2a9c1b7d4e8a60
 * headers: id=7d0c, content-type=application/json, source=prometheus
 * value: {"version":"1","issue":{"id":"7d0c","fingerprint":"3f2a9c1b7d4e8a60", ...}}
 * ```
 *
 * @example What dry-run prints
 * ```ts
 * import kafka, { KafkaConfigSchema } from "./kafka.ts";
 * import { IssueSchema } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * const config = KafkaConfigSchema.parse({
 *   name: "ops-kafka", type: "kafka", brokers: ["kafka-1:9092"], topic: "alerts",
 *   sasl: { mechanism: "SCRAM-SHA-512", username: "cano", password: "kafka-secret" },
 * });
 * const issue = IssueSchema.parse({
 *   id: "7d0c", fingerprint: "3f2a", aggregationKey: "Oom", type: "alert", source: "prometheus",
 *   title: "Pod OOMKilled", severity: "HIGH", status: "firing",
 *   startsAt: "2026-03-01T10:00:00Z", createdAt: "2026-03-01T10:00:01Z",
 * });
 * const [payload] = kafka.render(issue, config);
 * const described = kafka.describe(payload!, config);
 * assert.ok("output" in described);
 * assert.match(described.output, /^key: 3f2a$/m);
 * assert.ok(!described.output.includes("kafka-secret"));
 * ```
 *
 * @module
 */
import { z } from "zod";
import type { Block, Issue } from "@cano/sdk";
import { compatibilityPartitioner, Producer, stringSerializers } from "@platformatic/kafka";
import {
  defineDestination,
  destinationBaseShape,
  type SendOptions,
  type SendResult,
} from "./destination.ts";
import { describeError, failure, type HttpTarget } from "./_http.ts";

/** Largest record value, in UTF-8 bytes, before file and image data are dropped. */
export const KAFKA_MAX_VALUE_BYTES = 1_000_000;

/** Config of a Kafka destination. */
export const KafkaConfigSchema = z.strictObject({
  ...destinationBaseShape({ timeoutMs: 30_000 }),
  type: z.literal("kafka"),
  brokers: z.array(
    z.string().regex(/^[^\s:]+:\d{1,5}$/, { error: "Kafka broker must be host:port" }),
  ).min(1).describe("Bootstrap brokers, host:port"),
  topic: z.string().regex(/^[A-Za-z0-9._-]{1,249}$/, {
    error: "Kafka topic must be 1 to 249 letters, digits, '.', '_' or '-'",
  }).describe("Topic the records go to"),
  clientId: z.string().min(1).default("cano").describe("Kafka client id"),
  sasl: z.strictObject({
    mechanism: z.enum(["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]),
    username: z.string().min(1),
    password: z.string().min(1).describe("Never logged"),
  }).optional().describe("SASL credentials"),
  tls: z.union([
    z.boolean(),
    z.strictObject({ ca: z.string().includes("-----BEGIN CERTIFICATE-----").optional() }),
  ]).default(false).describe("TLS to the brokers; { ca } adds PEM certificates to trust"),
  includeRaw: z.boolean().default(false).describe("Send the original alert or event"),
});
/** Config of a Kafka destination, defaults applied. */
export type KafkaConfig = z.infer<typeof KafkaConfigSchema>;

/** One record, as produced. */
export interface KafkaPayload {
  /** Topic. */
  topic: string;
  /** Record key: the issue fingerprint. */
  key: string;
  /** JSON text of `{"version":"1","issue":{...}}`. */
  value: string;
  /** Record headers. */
  headers: Record<string, string>;
}

/** The Kafka destination. */
const kafka = defineDestination({
  type: "kafka",
  config: KafkaConfigSchema,
  render(issue: Issue, config: KafkaConfig): KafkaPayload[] {
    const { raw: _raw, ...withoutRaw } = issue;
    let body = { version: "1", issue: config.includeRaw ? issue : withoutRaw };
    let value = JSON.stringify(body);
    if (new TextEncoder().encode(value).length > KAFKA_MAX_VALUE_BYTES) {
      body = { ...body, issue: { ...body.issue, enrichments: withoutData(issue) } };
      value = JSON.stringify(body);
    }
    return [{
      topic: config.topic,
      key: issue.fingerprint,
      value,
      headers: { id: issue.id, "content-type": "application/json", source: issue.source },
    }];
  },
  describe(payload: KafkaPayload, config: KafkaConfig): { output: string } {
    const security = [
      config.tls === false ? "plaintext" : "TLS",
      ...(config.sasl ? [`SASL ${config.sasl.mechanism} as ${config.sasl.username} (***)`] : []),
    ].join(", ");
    return {
      output: [
        `brokers: ${config.brokers.join(", ")} (${security}; idempotent, murmur2 partitioner)`,
        `topic: ${payload.topic}`,
        `key: ${payload.key}`,
        `headers: ${Object.entries(payload.headers).map(([k, v]) => `${k}=${v}`).join(", ")}`,
        `value: ${payload.value}`,
      ].join("\n"),
    };
  },
  send: sendKafka,
  close: closeKafka,
});

export default kafka;

function withoutData(issue: Issue): Issue["enrichments"] {
  const note = (block: Extract<Block, { type: "file" | "image" }>): Block => ({
    type: "markdown",
    text:
      `${block.type} "${block.name}" left out: the record would pass ${KAFKA_MAX_VALUE_BYTES} bytes`,
  });
  return issue.enrichments.map((e) => ({
    ...e,
    blocks: e.blocks.map((b) => b.type === "file" || b.type === "image" ? note(b) : b),
  }));
}

interface Entry {
  producer: Producer<string, string, string, string>;
  inFlight: number;
  idle: (() => void)[];
}

/** Producers by config; module state because destinations are stateless values. */
const producers = new Map<string, Entry>();

function keyOf(config: KafkaConfig): string {
  const { name, brokers, clientId, sasl, tls, timeoutMs } = config;
  return JSON.stringify({ name, brokers, clientId, sasl, tls, timeoutMs });
}

function producerFor(config: KafkaConfig): Entry {
  const key = keyOf(config);
  let entry = producers.get(key);
  if (entry) return entry;
  const producer = new Producer<string, string, string, string>({
    clientId: config.clientId,
    bootstrapBrokers: config.brokers,
    serializers: stringSerializers,
    partitioner: compatibilityPartitioner,
    idempotent: true,
    producerId: -1n,
    producerEpoch: -1,
    autocreateTopics: false,
    retries: 3,
    retryDelay: 250,
    timeout: config.timeoutMs,
    connectTimeout: Math.min(config.timeoutMs, 10_000),
    ...(config.sasl ? { sasl: { ...config.sasl } } : {}),
    ...(config.tls === false ? {} : { tls: config.tls === true ? {} : { ...config.tls } }),
  });
  entry = { producer, inFlight: 0, idle: [] };
  producers.set(key, entry);
  return entry;
}

/** Closes the config's producer once its sends settle (or after `timeoutMs`). */
async function closeKafka(config: KafkaConfig): Promise<void> {
  const key = keyOf(config);
  const entry = producers.get(key);
  if (!entry) return;
  producers.delete(key);
  await retire(entry, config.timeoutMs);
}

async function retire(entry: Entry, waitMs: number): Promise<void> {
  if (entry.inFlight > 0) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      new Promise<void>((resolve) => entry.idle.push(resolve)),
      new Promise<void>((resolve) => timer = setTimeout(resolve, waitMs)),
    ]);
    clearTimeout(timer);
  }
  try {
    await entry.producer.close(true);
  } catch (_error) {
    // Closing a producer whose connections already failed: nothing is left to release.
  }
}

async function sendKafka(
  payload: KafkaPayload,
  config: KafkaConfig,
  options: SendOptions,
): Promise<SendResult> {
  const target: HttpTarget = {
    label: `Kafka "${config.name}"`,
    timeoutMs: config.timeoutMs,
    secrets: config.sasl ? [config.sasl.password] : [],
  };
  if (options.signal?.aborted) return failure(target, true, "aborted");
  const entry = producerFor(config);
  entry.inFlight++;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<string>((resolve) => {
    timer = setTimeout(
      () => resolve(`no acknowledgement within ${config.timeoutMs} ms`),
      config.timeoutMs,
    );
    onAbort = () => resolve("aborted");
    options.signal?.addEventListener("abort", onAbort, { once: true });
  });
  try {
    const sent = entry.producer.send({
      messages: [{
        topic: payload.topic,
        key: payload.key,
        value: payload.value,
        headers: payload.headers,
      }],
    }).then(() => undefined);
    const stopped = await Promise.race([sent, stop]);
    if (stopped === undefined) return { ok: true };
    sent.catch(() => {/* reported as the deadline already */});
    dropProducer(config, entry);
    return failure(target, true, stopped);
  } catch (error) {
    dropProducer(config, entry);
    return classifyKafkaError(target, error);
  } finally {
    clearTimeout(timer);
    if (onAbort) options.signal?.removeEventListener("abort", onAbort);
    if (--entry.inFlight === 0) { for (const resolve of entry.idle.splice(0)) resolve(); }
  }
}

function dropProducer(config: KafkaConfig, entry: Entry): void {
  const key = keyOf(config);
  if (producers.get(key) === entry) producers.delete(key);
  void retire(entry, config.timeoutMs);
}

/** Broker error ids that another attempt cannot fix. */
const PERMANENT_IDS: ReadonlySet<string> = new Set([
  "UNKNOWN_TOPIC_OR_PARTITION",
  "INVALID_TOPIC_EXCEPTION",
  "TOPIC_AUTHORIZATION_FAILED",
  "CLUSTER_AUTHORIZATION_FAILED",
  "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
  "SASL_AUTHENTICATION_FAILED",
  "UNSUPPORTED_SASL_MECHANISM",
  "ILLEGAL_SASL_STATE",
  "MESSAGE_TOO_LARGE",
  "RECORD_LIST_TOO_LARGE",
  "INVALID_RECORD",
  "INVALID_REQUIRED_ACKS",
  "UNSUPPORTED_VERSION",
]);
/** Library error codes that another attempt cannot fix. */
const PERMANENT_CODES: ReadonlySet<string> = new Set([
  "PLT_KFK_AUTHENTICATION",
  "PLT_KFK_USER",
  "PLT_KFK_UNSUPPORTED",
  "PLT_KFK_UNSUPPORTED_API",
  "PLT_KFK_UNSUPPORTED_COMPRESSION",
  "PLT_KFK_UNSUPPORTED_FORMAT",
]);

/**
 * Classifies a producer error: permanent when any error in it (causes and aggregated errors
 * included) is an unknown topic, an authorization or SASL failure, an oversized record or
 * a usage error; retryable otherwise (network, timeouts, leader changes...).
 *
 * @param target The destination label and the secrets to redact.
 * @param error What the producer threw.
 * @returns The failure.
 * @example
 * ```ts
 * import { classifyKafkaError } from "./kafka.ts";
 * import { NetworkError, ProtocolError } from "@platformatic/kafka";
 * import assert from "node:assert/strict";
 *
 * const target = { label: 'Kafka "ops"', timeoutMs: 1000, secrets: [] };
 * const unknown = classifyKafkaError(target, new ProtocolError("UNKNOWN_TOPIC_OR_PARTITION"));
 * assert.ok(!unknown.ok && !unknown.retryable);
 * const down = classifyKafkaError(target, new NetworkError("Connection refused"));
 * assert.ok(!down.ok && down.retryable);
 * ```
 */
export function classifyKafkaError(
  target: HttpTarget,
  error: unknown,
): Extract<SendResult, { ok: false }> {
  const seen: unknown[] = [];
  const walk = (e: unknown) => {
    if (!(e instanceof Error) || seen.includes(e) || seen.length > 20) return;
    seen.push(e);
    if (e instanceof AggregateError) e.errors.forEach(walk);
    walk(e.cause);
  };
  walk(error);
  const fields = seen.map((e) => e as Error & { code?: unknown; apiId?: unknown });
  const permanent = fields.find((e) =>
    PERMANENT_IDS.has(String(e.apiId)) || PERMANENT_CODES.has(String(e.code))
  );
  const detail = permanent
    ? `${permanent.apiId ?? permanent.code}: ${permanent.message}`
    : describeError(error);
  return failure(target, permanent === undefined, detail.replace(/\s+/g, " "));
}
