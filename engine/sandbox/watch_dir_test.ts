import assert from "node:assert/strict";
import { join } from "node:path";
import { fingerprint, watchDirectory } from "./watch_dir.ts";

Deno.test("fingerprint() changes when ..data is swapped to a new timestamp folder", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.mkdir(join(dir, "..v1"));
  await Deno.writeTextFile(join(dir, "..v1", "a.ts"), "export {};");
  await Deno.symlink("..v1", join(dir, "..data"));
  await Deno.symlink("..data/a.ts", join(dir, "a.ts"));
  const before = await fingerprint(dir);
  assert.equal(await fingerprint(dir), before);
  // kubelet: write ..v2, point a temp link at it, rename over ..data
  await Deno.mkdir(join(dir, "..v2"));
  await Deno.writeTextFile(join(dir, "..v2", "a.ts"), "export {};");
  await Deno.symlink("..v2", join(dir, "..data_tmp"));
  await Deno.rename(join(dir, "..data_tmp"), join(dir, "..data"));
  assert.notEqual(await fingerprint(dir), before);
  assert.equal(await fingerprint(join(dir, "missing")), "missing");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("watchDirectory() notices a directory that appears later, by polling", async () => {
  const parent = await Deno.makeTempDir();
  const dir = join(parent, "workflows");
  let changes = 0;
  const watcher = watchDirectory(dir, {
    onChange: () => changes++,
    pollIntervalMs: 30,
    debounceMs: 10,
  });
  await new Promise((resolve) => setTimeout(resolve, 80));
  await Deno.mkdir(dir);
  await Deno.writeTextFile(join(dir, "a.ts"), "export {};");
  const until = Date.now() + 3_000;
  while (changes === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  watcher.close();
  assert.ok(changes >= 1);
  await Deno.remove(parent, { recursive: true });
});
