import assert from "node:assert/strict";
import { loadConfigFile } from "../../engine/config/load.ts";
import { CanoConfigSchema } from "../../engine/config/schema.ts";

Deno.test("examples/configs/*.yaml all validate", async () => {
  const dir = new URL("./", import.meta.url);
  let count = 0;
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.endsWith(".yaml")) continue;
    count++;
    const result = await loadConfigFile(new URL(entry.name, dir).pathname, {
      schema: CanoConfigSchema,
      env: { CANO_WEBHOOK_TOKEN: "example-token-0123456789" },
      readFile: (path) =>
        path.startsWith("/etc/cano/secrets/") ? "whsec_c2VjcmV0" : Deno.readTextFileSync(path),
    });
    assert.ok(result.ok, result.ok ? "" : result.error.message);
  }
  assert.ok(count >= 2);
});
