import assert from "node:assert/strict";
import { z } from "zod";
import {
  closestMatch,
  type ConfigIssue,
  formatConfigIssues,
  formatPath,
  fromZodIssues,
  type FromZodIssuesOptions,
  toIssueList,
} from "./format_issues.ts";

Deno.test("formatPath() writes identifiers with dots, indexes and other keys in brackets", () => {
  assert.equal(formatPath([]), "");
  assert.equal(formatPath(["destinations", 0, "channel"]), "destinations[0].channel");
  assert.equal(formatPath([0, "a"]), "[0].a");
  assert.equal(
    formatPath(["labels", "app.kubernetes.io/name", "x-y", "$ok", "_ok2"]),
    'labels["app.kubernetes.io/name"]["x-y"].$ok._ok2',
  );
  assert.equal(formatPath(["a", 'say "hi"']), 'a["say \\"hi\\""]');
});

Deno.test("formatConfigIssues() prints the zod layout with positions and hints", () => {
  const issues: ConfigIssue[] = [
    { path: [], message: "Implicit keys need to be on a single line", line: 3, column: 1 },
    { path: ["server"], message: "Invalid input: expected object, received string" },
    {
      path: ["destinations", 1],
      message: 'Unrecognized key: "chanel"',
      line: 19,
      column: 5,
      hint: 'did you mean "channel"?',
    },
    { path: [], message: "Invalid input" },
    { path: ["a"], message: "line one\nline two", line: 7 },
  ];
  assert.equal(
    formatConfigIssues("cano.yaml", issues),
    `Cannot load config from cano.yaml: 5 problems
✖ Implicit keys need to be on a single line
  → at line 3, column 1
✖ Invalid input: expected object, received string
  → at server
✖ Unrecognized key: "chanel"
  → at destinations[1] (line 19, column 5)
  ↳ did you mean "channel"?
✖ Invalid input
✖ line one
  line two
  → at a (line 7)`,
  );
});

Deno.test("formatConfigIssues() says 1 problem in the singular", () => {
  assert.equal(
    formatConfigIssues("/c.yaml", [{ path: ["a"], message: "Bad" }]),
    "Cannot load config from /c.yaml: 1 problem\n✖ Bad\n  → at a",
  );
});

Deno.test("toIssueList() gives text paths and leaves out unknown positions", () => {
  const list = toIssueList([
    { path: ["destinations", 0, "channel"], message: "Bad type", line: 14, column: 14 },
    { path: ["labels", "app.kubernetes.io/name"], message: "Bad", hint: "fix it" },
  ]);
  assert.deepEqual(list, [
    { path: "destinations[0].channel", message: "Bad type", line: 14, column: 14 },
    { path: 'labels["app.kubernetes.io/name"]', message: "Bad", hint: "fix it" },
  ]);
  assert.equal(
    JSON.stringify(list[1]),
    '{"path":"labels[\\"app.kubernetes.io/name\\"]","message":"Bad","hint":"fix it"}',
  );
});

const Destination = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("slack"), channel: z.string() }),
  z.strictObject({
    type: z.literal("webhook"),
    url: z.string(),
    headers: z.record(z.string(), z.string()).optional(),
  }),
]);
const Schema = z.strictObject({
  destinations: z.array(Destination).default([]),
  routes: z.lazy(() => z.array(z.strictObject({ match: z.string(), to: z.string() }))).optional(),
  level: z.enum(["info", "warn"], { error: "Pick a log level" }).optional(),
});

function convert(input: unknown, locate?: FromZodIssuesOptions["locate"]) {
  const result = Schema.safeParse(input);
  assert.ok(!result.success);
  return fromZodIssues(result.error.issues, {
    schema: Schema,
    input,
    ...(locate ? { locate } : {}),
  });
}

Deno.test("fromZodIssues() suggests keys from the union member the value selects", () => {
  const issues = convert({
    destinations: [{ type: "webhook", url: "x", header: {} }, { type: "slack", chanel: "#a" }],
  });
  assert.deepEqual(
    issues.map((i) => [i.path, i.message, i.hint]),
    [
      [["destinations", 0], 'Unrecognized key: "header"', 'did you mean "headers"?'],
      [
        ["destinations", 1, "channel"],
        "Invalid input: expected string, received undefined",
        'add the required key "channel"',
      ],
      [["destinations", 1], 'Unrecognized key: "chanel"', 'did you mean "channel"?'],
    ],
  );
});

Deno.test("fromZodIssues() splits unrecognized keys and locates each key", () => {
  const calls: [unknown[], boolean][] = [];
  const issues = convert(
    { routes: [{ match: "a", to: "b", tto: "c", mtch: "d", zzzzzz: 1 }] },
    (path, { key }) => {
      calls.push([path, key]);
      return { line: path.length, column: String(path.at(-1)).length };
    },
  );
  assert.deepEqual(issues, [
    { path: ["routes", 0], message: 'Unrecognized key: "tto"', line: 3, column: 3 },
    { path: ["routes", 0], message: 'Unrecognized key: "mtch"', line: 3, column: 4 },
    { path: ["routes", 0], message: 'Unrecognized key: "zzzzzz"', line: 3, column: 6 },
  ]);
  assert.deepEqual(calls, [
    [["routes", 0, "tto"], true],
    [["routes", 0, "mtch"], true],
    [["routes", 0, "zzzzzz"], true],
  ]);
});

Deno.test("fromZodIssues() suggests keys of the candidate object when known keys are all unset", () => {
  const issues = convert({ routes: [{ mtch: "a", to: "b" }] });
  assert.deepEqual(issues.map((i) => i.hint), [
    'add the required key "match"',
    'did you mean "match"?',
  ]);
});

Deno.test("fromZodIssues() lists enum options that a custom message leaves out", () => {
  assert.deepEqual(convert({ level: "debug" }).map((i) => [i.message, i.hint]), [
    ["Pick a log level", 'expected one of "info", "warn"'],
  ]);
  assert.deepEqual(convert({ level: "wran" }).map((i) => i.hint), ['did you mean "warn"?']);
});

Deno.test("fromZodIssues() suggests the closest discriminator value", () => {
  const issues = convert({ destinations: [{ type: "webhok", url: "x" }, { type: "email" }] });
  assert.deepEqual(issues.map((i) => i.hint), ['did you mean "webhook"?', undefined]);
});

Deno.test("fromZodIssues() works without schema, input or locate", () => {
  const result = z.object({ a: z.number() }).safeParse({ a: "1" });
  assert.ok(!result.success);
  assert.deepEqual(fromZodIssues(result.error.issues), [
    { path: ["a"], message: "Invalid input: expected number, received string" },
  ]);
});

Deno.test("closestMatch() accepts an edit distance of at most 2", () => {
  assert.equal(closestMatch("chanel", ["channel", "cluster"]), "channel");
  assert.equal(closestMatch("chnel", ["channel"]), "channel");
  assert.equal(closestMatch("chl", ["channel"]), undefined);
  assert.equal(closestMatch("url", ["url"]), undefined);
  assert.equal(closestMatch("severty", ["severity", "several"]), "severity");
  assert.equal(closestMatch("x", []), undefined);
});
