import assert from "node:assert/strict";
import { alertDataFromAlert } from "./alert_data.ts";
import { anchoredRegex, compileMatcher, type MatcherSpec, matchesAll } from "./matchers.ts";

const data = alertDataFromAlert({
  status: "firing",
  labels: { alertname: "HighLatency", service: "api-2", env: "prod-eu", severity: "critical" },
  annotations: { runbook: "https://runbooks.example/latency", summary: "Line 1\nLine 2" },
  fingerprint: "abc123",
});

function matches(spec: MatcherSpec): boolean {
  return compileMatcher(spec).matches(data);
}

Deno.test("compileMatcher() '=' and '!=' compare label values exactly", () => {
  assert.equal(matches({ name: "severity", operator: "=", value: "critical" }), true);
  assert.equal(matches({ name: "severity", operator: "=", value: "Critical" }), false);
  assert.equal(matches({ name: "severity", operator: "!=", value: "critical" }), false);
  assert.equal(matches({ name: "severity", operator: "!=", value: "warning" }), true);
});

Deno.test("compileMatcher() '=~' and '!~' are anchored as in Prometheus", () => {
  assert.equal(matches({ name: "service", operator: "=~", value: "api" }), false);
  assert.equal(matches({ name: "service", operator: "=~", value: "api-.*" }), true);
  assert.equal(matches({ name: "service", operator: "=~", value: "pi-2" }), false);
  assert.equal(matches({ name: "env", operator: "=~", value: "prod-.*|staging" }), true);
  assert.equal(matches({ name: "service", operator: "!~", value: "api" }), true);
  assert.equal(matches({ name: "service", operator: "!~", value: "api-[0-9]+" }), false);
});

Deno.test("compileMatcher() treats a missing label as the empty string", () => {
  assert.equal(matches({ name: "team", operator: "=", value: "" }), true);
  assert.equal(matches({ name: "team", operator: "=", value: "db" }), false);
  assert.equal(matches({ name: "team", operator: "!=", value: "db" }), true);
  assert.equal(matches({ name: "team", operator: "=~", value: ".*" }), true);
  assert.equal(matches({ name: "team", operator: "=~", value: ".+" }), false);
  assert.equal(matches({ name: "team", operator: "!~", value: "db" }), true);
});

Deno.test("compileMatcher() reads annotations and top-level alert fields", () => {
  assert.equal(matches({ name: "annotations.runbook", operator: "=~", value: "https://.*" }), true);
  assert.equal(
    matches({ name: "annotations.summary", operator: "=~", value: "Line 1.Line 2" }),
    true,
  );
  assert.equal(matches({ name: "annotations.missing", operator: "=", value: "" }), true);
  assert.equal(matches({ name: "status", operator: "=", value: "firing" }), true);
  assert.equal(matches({ name: "fingerprint", operator: "!=", value: "abc123" }), false);
});

Deno.test("compileMatcher() translates (?i) and (?P<name>) from RE2", () => {
  assert.equal(matches({ name: "severity", operator: "=~", value: "(?i)CRITICAL" }), true);
  assert.equal(matches({ name: "service", operator: "=~", value: "(?P<app>api)-2" }), true);
});

Deno.test("compileMatcher() rejects a regex that does not compile on its own", () => {
  assert.throws(
    () => compileMatcher({ name: "service", operator: "=~", value: "api-(" }),
    (error: unknown) =>
      error instanceof SyntaxError && /Cannot compile regex "api-\("/.test(error.message),
  );
  assert.throws(() => anchoredRegex("a)|(b"), SyntaxError);
  assert.throws(
    () => compileMatcher({ name: "x", operator: "==" as "=", value: "1" }),
    RangeError,
  );
});

Deno.test("matchesAll() needs every matcher", () => {
  const severity = compileMatcher({ name: "severity", operator: "=", value: "critical" });
  const service = compileMatcher({ name: "service", operator: "=~", value: "web-.*" });
  assert.equal(matchesAll([], data), true);
  assert.equal(matchesAll([severity], data), true);
  assert.equal(matchesAll([severity, service], data), false);
});
