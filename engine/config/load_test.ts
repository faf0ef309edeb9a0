import assert from "node:assert/strict";
import { z } from "zod";
import { ConfigError } from "./errors.ts";
import { loadConfigFile, parseConfigText } from "./load.ts";

const SlackSchema = z.strictObject({
  name: z.string(),
  type: z.literal("slack"),
  channel: z.string(),
  token: z.string().optional(),
  level: z.enum(["info", "warn", "error"]).optional(),
});
const WebhookSchema = z.strictObject({
  name: z.string(),
  type: z.literal("webhook"),
  url: z.string(),
});
const Schema = z.strictObject({
  cluster: z.string(),
  server: z.strictObject({ port: z.number(), host: z.string().default("0.0.0.0") }),
  destinations: z.array(z.discriminatedUnion("type", [SlackSchema, WebhookSchema])),
  labels: z.record(z.string(), z.string()).optional(),
});

const FILE = "/etc/cano/config.yaml";

function parse(text: string, env: Record<string, string> = {}) {
  return parseConfigText(text, { file: FILE, schema: Schema, env, readFile: noFiles });
}

function noFiles(path: string): string {
  throw new Deno.errors.NotFound(`No such file or directory (os error 2): readfile '${path}'`);
}

function issuesOf(result: ReturnType<typeof parse>) {
  assert.equal(result.ok, false, "expected the config to be rejected");
  return result.ok ? [] : result.error.issues;
}

const GOOD = `cluster: prod
server:
  port: 8080
destinations:
  - name: ops
    type: slack
    channel: "#ops"
  - name: hook
    type: webhook
    url: https://example.com/hook
`;

Deno.test("parseConfigText() returns the parsed config with schema defaults", () => {
  const result = parse(GOOD);
  assert.ok(result.ok);
  assert.deepEqual(result.config.server, { port: 8080, host: "0.0.0.0" });
  assert.equal(result.config.destinations[1]?.type, "webhook");
  assert.deepEqual(result.secrets, []);
});

Deno.test("parseConfigText() locates a nested wrong type at its value", () => {
  const text = GOOD.replace('channel: "#ops"', "channel: 42");
  const issues = issuesOf(parse(text));
  assert.deepEqual(issues, [{
    path: ["destinations", 0, "channel"],
    message: "Invalid input: expected string, received number",
    line: 7,
    column: 14,
  }]);
});

Deno.test("parseConfigText() locates an unrecognized key at the key and suggests the known one", () => {
  const text = GOOD.replace(
    "    url: https://example.com/hook\n",
    "    ulr: https://example.com/hook\n",
  );
  const issues = issuesOf(parse(text));
  assert.deepEqual(issues, [{
    path: ["destinations", 1, "url"],
    message: "Invalid input: expected string, received undefined",
    line: 8,
    column: 5,
    hint: 'add the required key "url"',
  }, {
    path: ["destinations", 1],
    message: 'Unrecognized key: "ulr"',
    line: 10,
    column: 5,
    hint: 'did you mean "url"?',
  }]);
});

Deno.test("parseConfigText() does not suggest a key that is already set", () => {
  const text = GOOD.replace("    url: https://example.com/hook\n", "    url: x\n    ulr: y\n");
  const issues = issuesOf(parse(text));
  assert.deepEqual(issues, [{
    path: ["destinations", 1],
    message: 'Unrecognized key: "ulr"',
    line: 11,
    column: 5,
  }]);
});

Deno.test("parseConfigText() locates a missing required key at its parent", () => {
  const text = GOOD.replace('    channel: "#ops"\n', "");
  const issues = issuesOf(parse(text));
  assert.deepEqual(issues, [{
    path: ["destinations", 0, "channel"],
    message: "Invalid input: expected string, received undefined",
    line: 5,
    column: 5,
    hint: 'add the required key "channel"',
  }]);
});

Deno.test("parseConfigText() reports every issue in source order", () => {
  const text = `cluster: 7
server:
  port: "8080"
  hots: localhost
destinations:
  - name: ops
    type: slak
  - name: dev
    type: slack
    chanel: "#dev"
    level: eror
labels:
  app.kubernetes.io/name: 3
`;
  const result = parse(text);
  assert.ok(!result.ok);
  assert.ok(result.error instanceof ConfigError);
  assert.equal(result.error.file, FILE);
  assert.equal(
    result.error.message,
    `Cannot load config from ${FILE}: 8 problems
✖ Invalid input: expected string, received number
  → at cluster (line 1, column 10)
✖ Invalid input: expected number, received string
  → at server.port (line 3, column 9)
✖ Unrecognized key: "hots"
  → at server (line 4, column 3)
  ↳ did you mean "host"?
✖ Invalid discriminator value. Expected 'slack' | 'webhook'
  → at destinations[0].type (line 7, column 11)
  ↳ did you mean "slack"?
✖ Invalid input: expected string, received undefined
  → at destinations[1].channel (line 8, column 5)
  ↳ add the required key "channel"
✖ Unrecognized key: "chanel"
  → at destinations[1] (line 10, column 5)
  ↳ did you mean "channel"?
✖ Invalid option: expected one of "info"|"warn"|"error"
  → at destinations[1].level (line 11, column 12)
  ↳ did you mean "error"?
✖ Invalid input: expected string, received number
  → at labels["app.kubernetes.io/name"] (line 13, column 27)`,
  );
});

Deno.test("parseConfigText() resolves environment references, defaults and escapes", () => {
  const text = `cluster: \${CLUSTER}
server:
  port: 8080
  host: \${HOST:-127.0.0.1}
destinations:
  - name: ops
    type: slack
    channel: "$\${literal}"
    token: xoxb-\${SLACK_TOKEN}-\${SLACK_TOKEN}
  - name: hook
    type: webhook
    url: https://hooks.example.com/\${HOOK_PATH:-default}
`;
  const result = parse(text, { CLUSTER: "prod", SLACK_TOKEN: "abc", HOOK_PATH: "" });
  assert.ok(result.ok, result.ok ? "" : result.error.message);
  assert.equal(result.config.cluster, "prod");
  assert.equal(result.config.server.host, "127.0.0.1");
  assert.deepEqual(result.config.destinations[0], {
    name: "ops",
    type: "slack",
    channel: "${literal}",
    token: "xoxb-abc-abc",
  });
  assert.equal(
    (result.config.destinations[1] as { url: string }).url,
    "https://hooks.example.com/default",
  );
  assert.deepEqual(result.secrets.toSorted(), ["abc", "prod"]);
});

Deno.test("parseConfigText() names every missing environment variable with its path", () => {
  const text = GOOD.replace("cluster: prod", "cluster: ${CLUSTER}")
    .replace('channel: "#ops"', 'channel: "#ops"\n    token: ${SLACK_TOKEN}');
  const result = parse(text);
  assert.ok(!result.ok);
  assert.deepEqual(result.error.issues, [
    {
      path: ["cluster"],
      message: 'environment variable "CLUSTER" is not set',
      line: 1,
      column: 10,
    },
    {
      path: ["destinations", 0, "token"],
      message: 'environment variable "SLACK_TOKEN" is not set',
      line: 8,
      column: 12,
    },
  ]);
  assert.match(result.error.message, /→ at destinations\[0\]\.token \(line 8, column 12\)/);
});

Deno.test("parseConfigText() reads file references relative to the config and keeps them secret", () => {
  const reads: string[] = [];
  const files: Record<string, string> = {
    "/run/secrets/slack": "xoxb-file\n",
    "/etc/cano/cluster-name": "staging",
  };
  const text = GOOD.replace("cluster: prod", "cluster: ${file:cluster-name}")
    .replace('channel: "#ops"', 'channel: "#ops"\n    token: ${file:/run/secrets/slack}');
  const result = parseConfigText(text, {
    file: FILE,
    schema: Schema,
    env: {},
    readFile: (path) => {
      reads.push(path);
      const content = files[path];
      if (content === undefined) throw new Deno.errors.NotFound(path);
      return content;
    },
  });
  assert.ok(result.ok, result.ok ? "" : result.error.message);
  assert.deepEqual(reads, ["/etc/cano/cluster-name", "/run/secrets/slack"]);
  assert.equal(result.config.cluster, "staging");
  assert.equal((result.config.destinations[0] as { token?: string }).token, "xoxb-file");
  assert.deepEqual(result.secrets, ["staging", "xoxb-file"]);
});

Deno.test("parseConfigText() reports an unreadable file reference with its path", () => {
  const text = GOOD.replace('channel: "#ops"', "channel: ${file:/run/secrets/missing}");
  const [issue, ...rest] = issuesOf(parse(text));
  assert.equal(rest.length, 0);
  assert.deepEqual(issue?.path, ["destinations", 0, "channel"]);
  assert.match(issue?.message ?? "", /^file "\/run\/secrets\/missing" cannot be read: /);
  assert.equal(issue?.line, 7);
});

Deno.test("parseConfigText() reports a YAML syntax error with its line", () => {
  const text = "cluster: prod\nserver:\n  port: [8080\ndestinations: []\n";
  const result = parse(text);
  assert.ok(!result.ok);
  const [issue] = result.error.issues;
  assert.deepEqual(issue?.path, []);
  assert.ok(issue?.line !== undefined && issue.line >= 3, `line was ${issue?.line}`);
  assert.match(
    result.error.message,
    /^Cannot load config from \/etc\/cano\/config.yaml: \d problems?\n✖ /,
  );
  assert.match(result.error.message, /→ at line \d+, column \d+/);
});

Deno.test("parseConfigText() rejects duplicate keys at the second key", () => {
  const issues = issuesOf(parse(GOOD.replace("cluster: prod", "cluster: prod\ncluster: dev")));
  assert.equal(issues.length, 1);
  assert.match(issues[0]!.message, /unique/i);
  assert.equal(issues[0]!.line, 2);
});

Deno.test("parseConfigText() reports an empty document at the root", () => {
  const issues = issuesOf(parse(""));
  assert.deepEqual(issues.map((i) => [i.path, i.message]), [
    [[], "Invalid input: expected object, received null"],
  ]);
});

Deno.test("loadConfigFile() reads the config and secret files from disk", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/token`, "xoxb-disk\n");
    await Deno.writeTextFile(
      `${dir}/config.yaml`,
      GOOD.replace('channel: "#ops"', 'channel: "#ops"\n    token: ${file:token}'),
    );
    const result = await loadConfigFile(`${dir}/config.yaml`, { schema: Schema, env: {} });
    assert.ok(result.ok, result.ok ? "" : result.error.message);
    assert.equal((result.config.destinations[0] as { token?: string }).token, "xoxb-disk");
    assert.deepEqual(result.secrets, ["xoxb-disk"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadConfigFile() returns an error result for a missing file", async () => {
  const result = await loadConfigFile("/nonexistent/cano.yaml", { schema: Schema });
  assert.ok(!result.ok);
  assert.equal(result.error.file, "/nonexistent/cano.yaml");
  assert.ok(result.error.cause instanceof Deno.errors.NotFound);
  assert.match(
    result.error.message,
    /^Cannot load config from \/nonexistent\/cano.yaml: 1 problem\n✖ the file cannot be read: /,
  );
});

Deno.test("parseConfigText() rejects an alias that contains itself", () => {
  const issues = issuesOf(parse(GOOD + "labels: &loop\n  self: *loop\n"));
  assert.deepEqual(issues, [{
    path: ["labels", "self"],
    message: "value contains itself through an alias",
    line: 12,
    column: 9,
  }]);
});
