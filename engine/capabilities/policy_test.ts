import assert from "node:assert/strict";
import { CapabilityPolicySchema } from "./policy.ts";

Deno.test("CapabilityPolicySchema fills every default from an empty section", () => {
  assert.deepEqual(CapabilityPolicySchema.parse({}), {
    http: {
      allowHosts: [],
      allowPrivateNetworks: [],
      timeoutMs: 5000,
      maxResponseBytes: 5 * 1024 * 1024,
      maxRedirects: 5,
    },
    prometheus: {
      timeoutMs: 10_000,
      maxRangeSeconds: 604_800,
      maxPoints: 11_000,
      maxResponseBytes: 10 * 1024 * 1024,
    },
  });
});

Deno.test("CapabilityPolicySchema reports misspelled keys, bad CIDRs, host patterns and URLs", () => {
  const result = CapabilityPolicySchema.safeParse({
    http: { allowHost: ["a.example.com"], allowPrivateNetworks: ["10.0.0.0/33"] },
    prometheus: { url: "file:///etc/passwd" },
  });
  assert.equal(result.success, false);
  const paths = result.error?.issues.map((issue) => issue.path.join(".")).sort();
  assert.deepEqual(paths, ["http", "http.allowPrivateNetworks.0", "prometheus.url"]);
  const hosts = CapabilityPolicySchema.safeParse({
    http: { allowHosts: ["https://a.example.com"] },
  });
  assert.match(hosts.error?.issues[0]?.message ?? "", /Expected a host like "api\.example\.com"/);
});

Deno.test("CapabilityPolicySchema accepts globs, ports, the wildcard and IPv6 CIDRs", () => {
  const policy = CapabilityPolicySchema.parse({
    http: {
      allowHosts: ["*", "*.example.com", "api.example.com:8443", "127.0.0.1"],
      allowPrivateNetworks: ["127.0.0.0/8", "fd00::/8"],
    },
  });
  assert.equal(policy.http.allowHosts.length, 4);
});
