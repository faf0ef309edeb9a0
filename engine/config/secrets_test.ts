import assert from "node:assert/strict";
import { maskSecrets, resolveReferences, SECRET_MASK } from "./secrets.ts";

Deno.test("resolveReferences() replaces references in nested strings and leaves the input alone", () => {
  const input = { a: ["${X}", 1, true, null, { b: "pre-${X}-${Y:-dflt}-post" }], c: "plain" };
  const copy = structuredClone(input);
  const result = resolveReferences(input, { env: { X: "1x" } });
  assert.deepEqual(result.value, {
    a: ["1x", 1, true, null, { b: "pre-1x-dflt-post" }],
    c: "plain",
  });
  assert.deepEqual(input, copy);
  assert.deepEqual(result.secrets, ["1x"]);
  assert.deepEqual(result.issues, []);
});

Deno.test("resolveReferences() uses the default when the variable is unset or empty", () => {
  const result = resolveReferences(["${A:-a}", "${B:-b}", "${C:-}", "${D}"], {
    env: { B: "", D: "" },
  });
  assert.deepEqual(result.value, ["a", "b", "", ""]);
  assert.deepEqual(result.secrets, []);
});

Deno.test("resolveReferences() writes a literal ${ for $${", () => {
  const result = resolveReferences(["$${X}", "$$${X}", "a$b", "$$"], { env: { X: "v" } });
  assert.deepEqual(result.value, ["${X}", "$${X}", "a$b", "$$"]);
  assert.deepEqual(result.issues, []);
});

Deno.test("resolveReferences() does not expand references inside resolved values", () => {
  const result = resolveReferences("${A}", { env: { A: "${B}", B: "no" } });
  assert.equal(result.value, "${B}");
});

Deno.test("resolveReferences() reports each missing variable at its path", () => {
  const result = resolveReferences({ a: { b: ["ok", "${MISSING_ONE} ${MISSING_TWO}"] } }, {
    env: {},
  });
  assert.deepEqual(result.issues, [
    { path: ["a", "b", 1], message: 'environment variable "MISSING_ONE" is not set' },
    { path: ["a", "b", 1], message: 'environment variable "MISSING_TWO" is not set' },
  ]);
});

Deno.test("resolveReferences() rejects malformed references", () => {
  const result = resolveReferences({ a: "${not a name}", b: "${open", c: "${}" }, { env: {} });
  assert.deepEqual(result.issues.map((i) => [i.path, i.message]), [
    [["a"], 'reference "${not a name}" is neither an environment variable nor "file:<path>"'],
    [["b"], 'reference "${" is not closed with "}" (write "$${" for a literal "${")'],
    [["c"], 'reference "${}" is neither an environment variable nor "file:<path>"'],
  ]);
});

Deno.test("resolveReferences() reads files, trims one trailing newline and resolves relative paths", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/token`, "s3cret\n");
    await Deno.writeTextFile(`${dir}/multi`, "line1\nline2\n\n");
    const result = resolveReferences(
      { token: "${file:token}", multi: "${file:" + dir + "/multi}", again: "${file:./token}" },
      { baseDir: dir },
    );
    assert.deepEqual(result.value, { token: "s3cret", multi: "line1\nline2\n", again: "s3cret" });
    assert.deepEqual(result.secrets, ["s3cret", "line1\nline2\n"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("resolveReferences() names the unreadable file", () => {
  const result = resolveReferences({ t: "${file:/run/secrets/none}" }, {
    readFile: () => {
      throw new Deno.errors.PermissionDenied("Requires read access");
    },
  });
  assert.deepEqual(result.issues, [
    { path: ["t"], message: 'file "/run/secrets/none" cannot be read: Requires read access' },
  ]);
});

Deno.test("resolveReferences() reads Deno.env when no env is given", () => {
  Deno.env.set("CANO_TEST_SECRET_REF", "from-env");
  try {
    assert.equal(resolveReferences("${CANO_TEST_SECRET_REF}").value, "from-env");
  } finally {
    Deno.env.delete("CANO_TEST_SECRET_REF");
  }
});

Deno.test("resolveReferences() copies a __proto__ key as data", () => {
  const input = JSON.parse('{"__proto__": {"polluted": "${X}"}}');
  const result = resolveReferences(input, { env: { X: "yes" } });
  assert.deepEqual(Object.keys(result.value as object), ["__proto__"]);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(Object.getPrototypeOf(result.value), Object.prototype);
});

Deno.test("maskSecrets() masks every occurrence, longest secret first", () => {
  assert.equal(
    maskSecrets("token=abcdef abc abcdef", ["abc", "abcdef", ""]),
    `token=${SECRET_MASK} ${SECRET_MASK} ${SECRET_MASK}`,
  );
  assert.equal(maskSecrets("nothing here", []), "nothing here");
});
