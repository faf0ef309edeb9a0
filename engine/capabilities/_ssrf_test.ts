import assert from "node:assert/strict";
import { bareHost, checkAddress, isMetadataName, resolveHost } from "./_ssrf.ts";

Deno.test("checkAddress() allows public IPv4 and IPv6 addresses", () => {
  for (const address of ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"]) {
    assert.deepEqual(checkAddress(address, []), { allowed: true }, address);
  }
});

Deno.test("checkAddress() names the range of blocked addresses", () => {
  const cases: [string, string][] = [
    ["10.0.0.1", "a private network"],
    ["172.31.255.255", "a private network"],
    ["192.168.1.1", "a private network"],
    ["127.0.0.1", "the loopback network"],
    ["169.254.10.10", "the link-local network"],
    ["100.64.0.1", "the carrier-grade NAT range"],
    ["0.0.0.0", "the unspecified range"],
    ["255.255.255.255", "a reserved range"],
    ["224.0.0.1", "a multicast range"],
    ["::1", "the loopback network"],
    ["::", "the unspecified range"],
    ["fd12:3456::1", "an IPv6 unique local network"],
    ["fe80::1", "the IPv6 link-local network"],
    ["::ffff:10.0.0.1", "a private network"],
    ["::ffff:127.0.0.1", "the loopback network"],
  ];
  for (const [address, range] of cases) {
    assert.deepEqual(
      checkAddress(address, []),
      { allowed: false, metadata: false, range },
      address,
    );
  }
});

Deno.test("checkAddress() allows private addresses covered by an operator CIDR", () => {
  assert.deepEqual(checkAddress("127.0.0.1", ["127.0.0.0/8"]), { allowed: true });
  assert.deepEqual(checkAddress("::ffff:127.0.0.1", ["127.0.0.0/8"]), { allowed: true });
  assert.deepEqual(checkAddress("fd00::5", ["fd00::/16"]), { allowed: true });
  assert.equal(checkAddress("10.0.0.1", ["127.0.0.0/8"]).allowed, false);
});

Deno.test("checkAddress() never allows metadata endpoints, even with 0.0.0.0/0 and ::/0", () => {
  const everything = ["0.0.0.0/0", "::/0"];
  for (
    const address of ["169.254.169.254", "fd00:ec2::254", "::ffff:169.254.169.254", "169.254.170.2"]
  ) {
    assert.deepEqual(
      checkAddress(address, everything),
      { allowed: false, metadata: true },
      address,
    );
  }
  assert.deepEqual(checkAddress("10.0.0.1", everything), { allowed: true });
});

Deno.test("checkAddress() rejects what is not an IP address", () => {
  assert.throws(() => checkAddress("example.com", []), TypeError);
});

Deno.test("isMetadataName() matches metadata names in any case and with a trailing dot", () => {
  assert.ok(isMetadataName("metadata.google.internal"));
  assert.ok(isMetadataName("METADATA.google.internal."));
  assert.ok(!isMetadataName("metadata.example.com"));
  assert.equal(bareHost("[::1]"), "::1");
});

Deno.test("resolveHost() returns A and AAAA answers, literals as is and localhost as loopback", async () => {
  const queries: string[] = [];
  const resolveDns = (query: string, type: "A" | "AAAA") => {
    queries.push(`${type} ${query}`);
    return type === "A"
      ? Promise.resolve(["93.184.215.14"])
      : Promise.reject(new Error("NXDOMAIN"));
  };
  assert.deepEqual(await resolveHost("example.com", resolveDns), ["93.184.215.14"]);
  assert.deepEqual(queries, ["A example.com", "AAAA example.com"]);
  assert.deepEqual(await resolveHost("10.0.0.1", resolveDns), ["10.0.0.1"]);
  assert.deepEqual(await resolveHost("api.localhost", resolveDns), ["127.0.0.1", "::1"]);
  await assert.rejects(
    resolveHost("missing.example", () => Promise.reject(new Error("NXDOMAIN"))),
    /Cannot resolve "missing.example": no A or AAAA record/,
  );
});
