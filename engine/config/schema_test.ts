import assert from "node:assert/strict";
import { DEFAULT_CONFIG_FILE, DEFAULT_CONFIG_YAML } from "./default_config.ts";
import { parseConfigText } from "./load.ts";
import { CanoConfigSchema } from "./schema.ts";

const parse = (text: string, env: Record<string, string> = {}) =>
  parseConfigText(text, { file: "/etc/cano/config.yaml", schema: CanoConfigSchema, env });

Deno.test("CanoConfigSchema accepts the embedded default with port 8080 and a stdout destination", () => {
  const result = parseConfigText(DEFAULT_CONFIG_YAML, {
    file: DEFAULT_CONFIG_FILE,
    schema: CanoConfigSchema,
  });
  assert.ok(result.ok);
  assert.equal(result.config.server.port, 8080);
  assert.deepEqual(result.config.destinations, [{
    name: "console",
    type: "stdout",
    format: "text",
    color: false,
  }]);
  assert.equal(result.config.workflows.timeout, 10_000);
});

Deno.test("CanoConfigSchema names the file, line and path of every problem", () => {
  const result = parse(`server:
  port: "eighty"
destinations:
  - name: hook
    type: webhook
    url: https://example.com/hook
    chanel: "#x"
routing:
  default: { destinations: [hook] }
`);
  assert.ok(!result.ok);
  const text = result.error.message;
  assert.match(text, /^Cannot load config from \/etc\/cano\/config.yaml: 2 problems/);
  assert.match(text, /→ at server\.port \(line 2, column 9\)/);
  assert.match(text, /Unrecognized key: "chanel"\n {2}→ at destinations\[0\] \(line 7, column 5\)/);
});

Deno.test("CanoConfigSchema reports a route to an unknown destination at its line", () => {
  const result = parse(`destinations:
  - { name: hook, type: stdout }
routing:
  routes:
    - name: a
      destinations: [missing]
  default: { destinations: [hook] }
`);
  assert.ok(!result.ok);
  assert.match(
    result.error.message,
    /Unknown destination "missing" \(defined: hook\)\n {2}→ at routing\.routes\[0\]\.destinations\[0\] \(line 6/,
  );
});

Deno.test("CanoConfigSchema rejects duplicate destination names and bad built-in params", () => {
  const result = parse(`destinations:
  - { name: a, type: stdout }
  - { name: a, type: stdout }
workflows:
  builtin:
    template-enricher: { enabled: true, params: { title: 3 } }
routing: { default: { destinations: [a] } }
`);
  assert.ok(!result.ok);
  const paths = result.error.issues.map((i) => i.path.join("."));
  assert.ok(paths.includes("destinations.1.name"), paths.join(" "));
  assert.ok(paths.includes("workflows.builtin.template-enricher.params.template"), paths.join(" "));
  assert.ok(paths.includes("workflows.builtin.template-enricher.params.title"), paths.join(" "));
});

Deno.test("CanoConfigSchema resolves env references and reports the secrets", () => {
  const result = parse(
    `destinations:
  - { name: hook, type: webhook, url: "https://hooks.example.com/\${HOOK_TOKEN}" }
routing: { default: { destinations: [hook] } }
alertmanager: { repeatInterval: 4h }
`,
    { HOOK_TOKEN: "t0ken" },
  );
  assert.ok(result.ok);
  assert.deepEqual(result.secrets, ["t0ken"]);
  assert.equal(result.config.alertmanager.repeatInterval, 4 * 3600_000);
  const destination = result.config.destinations[0];
  assert.equal(
    destination?.type === "webhook" && destination.url,
    "https://hooks.example.com/t0ken",
  );
});
