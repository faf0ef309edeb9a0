import assert from "node:assert/strict";
import { DESTINATIONS_DOC, renderDestinationDocs } from "./gen_destination_docs.ts";
import { DESTINATIONS } from "../engine/destinations/mod.ts";

Deno.test("docs/destinations.md equals what scripts/gen_destination_docs.ts writes", async () => {
  const expected = await renderDestinationDocs();
  const committed = await Deno.readTextFile(DESTINATIONS_DOC);
  assert.equal(committed, expected, "run `deno task gen:docs` and commit docs/destinations.md");
  for (const { type } of DESTINATIONS) {
    assert.match(committed, new RegExp(`## \`${type}\`\\n\\n[^#]+\\n\\n### Config`), type);
  }
});
