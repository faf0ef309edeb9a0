/**
 * Server-side request forgery guards for `http.fetch`: resolves a host the way the fetch
 * will, and classifies each address as public, private (allowed only when the operator
 * lists a covering CIDR) or a cloud metadata endpoint (never allowed).
 *
 * Address parsing and CIDR matching use `node:net` (`isIP`, `BlockList`), which also match
 * IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`) against IPv4 ranges.
 *
 * Residual risk: the host resolves the name, checks every address, then `fetch` resolves
 * it again. A DNS server that answers differently within that window (DNS rebinding) can
 * still steer the connection; run the engine with an egress NetworkPolicy for defence in
 * depth.
 *
 * @module
 */
import { BlockList, isIP } from "node:net";

/** Resolves one record type of a name; `Deno.resolveDns` by default. */
export type ResolveDns = (
  query: string,
  recordType: "A" | "AAAA",
  options?: { signal?: AbortSignal },
) => Promise<string[]>;

/** Why an address may not be reached. */
export type AddressVerdict =
  | { allowed: true }
  | { allowed: false; metadata: true }
  | { allowed: false; metadata: false; range: string };

type Family = "ipv4" | "ipv6";

/** Names of cloud metadata services; never allowed whatever they resolve to. */
const METADATA_NAMES = new Set(["metadata.google.internal", "metadata.goog", "metadata"]);
const METADATA_ADDRESSES: [string, Family][] = [
  ["169.254.169.254", "ipv4"], // AWS, GCP, Azure, OpenStack
  ["169.254.170.2", "ipv4"], // AWS ECS task metadata
  ["100.100.100.200", "ipv4"], // Alibaba Cloud
  ["fd00:ec2::254", "ipv6"], // AWS IMDS over IPv6
];

/** Ranges that are not the public internet, most specific first, with how to name them. */
const BLOCKED_RANGES: [string, number, Family, string][] = [
  ["0.0.0.0", 8, "ipv4", "the unspecified range"],
  ["10.0.0.0", 8, "ipv4", "a private network"],
  ["100.64.0.0", 10, "ipv4", "the carrier-grade NAT range"],
  ["127.0.0.0", 8, "ipv4", "the loopback network"],
  ["169.254.0.0", 16, "ipv4", "the link-local network"],
  ["172.16.0.0", 12, "ipv4", "a private network"],
  ["192.0.0.0", 24, "ipv4", "a reserved range"],
  ["192.0.2.0", 24, "ipv4", "a reserved range"],
  ["192.168.0.0", 16, "ipv4", "a private network"],
  ["198.18.0.0", 15, "ipv4", "a reserved range"],
  ["198.51.100.0", 24, "ipv4", "a reserved range"],
  ["203.0.113.0", 24, "ipv4", "a reserved range"],
  ["224.0.0.0", 4, "ipv4", "a multicast range"],
  ["240.0.0.0", 4, "ipv4", "a reserved range"],
  ["::", 128, "ipv6", "the unspecified range"],
  ["::1", 128, "ipv6", "the loopback network"],
  ["::", 96, "ipv6", "a reserved range"],
  ["64:ff9b::", 96, "ipv6", "the NAT64 range"],
  ["64:ff9b:1::", 48, "ipv6", "the NAT64 range"],
  ["100::", 64, "ipv6", "a reserved range"],
  ["2001:db8::", 32, "ipv6", "a reserved range"],
  ["fc00::", 7, "ipv6", "an IPv6 unique local network"],
  ["fe80::", 10, "ipv6", "the IPv6 link-local network"],
  ["fec0::", 10, "ipv6", "an IPv6 site-local network"],
  ["ff00::", 8, "ipv6", "a multicast range"],
];

const metadataList = new BlockList();
for (const [address, family] of METADATA_ADDRESSES) metadataList.addAddress(address, family);
const blockedLists = BLOCKED_RANGES.map(([network, prefix, family, label]) => {
  const list = new BlockList();
  list.addSubnet(network, prefix, family);
  return { list, label };
});

/**
 * Removes the brackets of an IPv6 URL host and a trailing dot of a name.
 *
 * @param hostname `URL.hostname`.
 * @returns The bare host.
 */
export function bareHost(hostname: string): string {
  const host = hostname.startsWith("[") && hostname.endsWith("]")
    ? hostname.slice(1, -1)
    : hostname;
  return (host.endsWith(".") ? host.slice(0, -1) : host).toLowerCase();
}

/**
 * Tells whether a host name is a cloud metadata service name.
 *
 * @param host A bare host.
 * @returns `true` for `metadata.google.internal` and friends.
 */
export function isMetadataName(host: string): boolean {
  return METADATA_NAMES.has(bareHost(host));
}

/**
 * Classifies an IP address.
 *
 * @param address An IPv4 or IPv6 address.
 * @param allowPrivateNetworks CIDRs the operator allows (`capabilities.http.allowPrivateNetworks`).
 * @returns Allowed, a metadata endpoint, or the blocked range's description.
 * @throws {TypeError} When `address` is not an IP address.
 */
export function checkAddress(
  address: string,
  allowPrivateNetworks: readonly string[],
): AddressVerdict {
  const family = familyOf(address);
  if (metadataList.check(address, family)) return { allowed: false, metadata: true };
  const blocked = blockedLists.find(({ list }) => list.check(address, family));
  if (!blocked) return { allowed: true };
  if (networkList(allowPrivateNetworks).check(address, family)) return { allowed: true };
  return { allowed: false, metadata: false, range: blocked.label };
}

/**
 * Resolves a host to the addresses a connection could use: an IP literal as is,
 * `localhost` names to loopback (RFC 6761), other names through A and AAAA lookups.
 *
 * @param host A bare host.
 * @param resolveDns The resolver.
 * @param signal Aborts the lookups.
 * @returns At least one address.
 * @throws {Error} When the name has no A or AAAA record.
 */
export async function resolveHost(
  host: string,
  resolveDns: ResolveDns,
  signal?: AbortSignal,
): Promise<string[]> {
  if (isIP(host)) return [host];
  if (host === "localhost" || host.endsWith(".localhost")) return ["127.0.0.1", "::1"];
  const options = signal ? { signal } : {};
  const answers = await Promise.allSettled([
    resolveDns(host, "A", options),
    resolveDns(host, "AAAA", options),
  ]);
  const addresses = answers.flatMap((a) => a.status === "fulfilled" ? a.value : []);
  if (addresses.length === 0) {
    const failure = answers.find((a) => a.status === "rejected");
    throw new Error(`Cannot resolve "${host}": no A or AAAA record`, {
      cause: failure?.status === "rejected" ? failure.reason : undefined,
    });
  }
  return addresses;
}

function familyOf(address: string): Family {
  const version = isIP(address);
  if (version === 4) return "ipv4";
  if (version === 6) return "ipv6";
  throw new TypeError(`Cannot classify address "${address}": not an IP address`);
}

const networkCache = new WeakMap<readonly string[], BlockList>();

function networkList(cidrs: readonly string[]): BlockList {
  const cached = networkCache.get(cidrs);
  if (cached) return cached;
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [network = "", prefix = ""] = cidr.split("/");
    list.addSubnet(network, Number(prefix), familyOf(network));
  }
  networkCache.set(cidrs, list);
  return list;
}
