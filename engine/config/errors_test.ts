import assert from "node:assert/strict";
import { ConfigError } from "./errors.ts";

Deno.test("ConfigError carries the file, the issues, the cause and the formatted report", () => {
  const cause = new SyntaxError("bad");
  const error = new ConfigError("/etc/cano/config.yaml", [
    { path: ["destinations", 0, "channel"], message: "Invalid input", line: 14, column: 14 },
  ], { cause });
  assert.ok(error instanceof Error);
  assert.equal(error.name, "ConfigError");
  assert.equal(error.file, "/etc/cano/config.yaml");
  assert.equal(error.issues[0]?.line, 14);
  assert.equal(error.cause, cause);
  assert.equal(
    error.message,
    "Cannot load config from /etc/cano/config.yaml: 1 problem\n✖ Invalid input\n  → at destinations[0].channel (line 14, column 14)",
  );
  assert.match(String(error), /^ConfigError: Cannot load config from /);
});
