/**
 * The `http.fetch` capability: `ctx.http.fetch(url, init)` served by the host.
 *
 * A request is sent only when every hop passes all of these checks:
 * 1. the scheme is `http:` or `https:`;
 * 2. the host is in the workflow's `permissions.http` **and** in the operator's
 *    `capabilities.http.allowHosts` (`*.example.com` matches any subdomain; a pattern
 *    without a port matches any port, as Deno's `--allow-net` does);
 * 3. the host name is not a cloud metadata name, and every address it resolves to (A and
 *    AAAA; IP literals as written) is public, or private but covered by a CIDR in
 *    `allowPrivateNetworks`. Metadata addresses (169.254.169.254, fd00:ec2::254...) are never
 *    allowed, whatever the CIDRs say.
 *
 * Redirects are followed by hand (`redirect: "manual"`), up to `maxRedirects`, and each hop
 * is checked again. The whole exchange shares one timeout (`timeoutMs`) and the run's
 * deadline; the body is read with a byte cap (`maxResponseBytes`) and the transfer is
 * aborted past it.
 *
 * Residual risk: the host resolves the name, then `fetch` resolves it again to connect. A
 * DNS server that changes its answer between the two (DNS rebinding) can steer the
 * connection to an address that was not checked. The window is milliseconds; close it
 * with an egress NetworkPolicy. Proxy variables (`HTTPS_PROXY`) in the engine's
 * environment also route these requests; do not set them for the engine.
 *
 * @module
 */
import { HTTP_FORBIDDEN_HEADERS, type HttpResponse, type Permissions } from "@cano/sdk";
import { isIP } from "node:net";
import { z } from "zod";
import { readCapped } from "./_body.ts";
import { describeFetchFailure } from "./_fetch_failure.ts";
import { bareHost, checkAddress, isMetadataName, type ResolveDns, resolveHost } from "./_ssrf.ts";
import type { HttpPolicy } from "./policy.ts";
import { CapabilityError, type CapabilityProvider, type ProviderContext } from "./provider.ts";

/** Headers a workflow may not set: they would change routing or framing. */
const FORBIDDEN_HEADERS = new Set(HTTP_FORBIDDEN_HEADERS);
/** Headers dropped when a redirect leaves the origin, as browsers do. */
const CROSS_ORIGIN_DROPPED = ["authorization", "cookie"];
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** Largest request body a workflow may send. */
export const MAX_REQUEST_BODY_CHARS = 1024 * 1024;

const RequestHeaders = z.record(z.string(), z.string()).superRefine((headers, ctx) => {
  for (const [name, value] of Object.entries(headers)) {
    const problem = !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)
      ? "Expected a header name"
      : FORBIDDEN_HEADERS.has(name.toLowerCase())
      ? "This header is set by the host"
      : /[\r\n\0]/.test(value)
      ? "Expected a one-line value"
      : undefined;
    if (problem) ctx.addIssue({ code: "custom", path: [name], message: problem, input: name });
  }
});

/** Arguments of `http.fetch`. */
export const HttpFetchArgsSchema = z.strictObject({
  url: z.string().max(8192).refine((url) => URL.canParse(url), "Expected an absolute URL"),
  init: z.strictObject({
    method: z.enum(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]).default("GET"),
    headers: RequestHeaders.optional(),
    body: z.string().max(MAX_REQUEST_BODY_CHARS).optional(),
  }).refine((init) => init.body === undefined || !["GET", "HEAD"].includes(init.method), {
    message: "GET and HEAD requests cannot have a body",
    path: ["body"],
  }).optional(),
});
/** Arguments of `http.fetch`, parsed. */
export type HttpFetchArgs = z.output<typeof HttpFetchArgsSchema>;

/** Options of {@linkcode createHttpFetchProvider}. */
export interface HttpFetchProviderOptions {
  /** HTTP client. @default globalThis.fetch */
  fetch?: typeof fetch;
  /** DNS resolver used for the address checks. @default Deno.resolveDns */
  resolveDns?: ResolveDns;
}

/**
 * Tells whether a host pattern matches a URL's host and port.
 *
 * @param pattern `*`, `api.example.com`, `*.example.com`, optionally with `:port`.
 * @param url The URL being fetched.
 * @returns `true` when the pattern covers the URL's host.
 * @example
 * ```ts
 * import { hostMatches } from "./http.ts";
 * import assert from "node:assert/strict";
 *
 * assert.ok(hostMatches("*.example.com", new URL("https://api.eu.example.com/x")));
 * assert.ok(!hostMatches("*.example.com", new URL("https://example.com/")));
 * assert.ok(hostMatches("api.example.com", new URL("https://api.example.com:8443/")));
 * assert.ok(!hostMatches("api.example.com:443", new URL("https://api.example.com:8443/")));
 * ```
 */
export function hostMatches(pattern: string, url: URL): boolean {
  if (pattern === "*") return true;
  const [, name = "", port] = /^(.*?)(?::(\d+))?$/.exec(pattern.toLowerCase()) ?? [];
  const host = bareHost(url.hostname);
  const urlPort = url.port || (url.protocol === "https:" ? "443" : "80");
  if (port !== undefined && Number(port) !== Number(urlPort)) return false;
  if (name.startsWith("*.")) return host.endsWith(name.slice(1)) && host.length > name.length - 1;
  return host === name;
}

/**
 * Checks a URL against the scheme rule, the workflow's permissions and the policy.
 *
 * @param url The URL of one hop.
 * @param permissions The workflow's declared permissions.
 * @param policy The operator's HTTP policy.
 * @returns `undefined` when allowed, else the reason (the part after the colon).
 */
export function checkHttpTarget(
  url: URL,
  permissions: Permissions,
  policy: HttpPolicy,
): string | undefined {
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    return `scheme "${url.protocol.slice(0, -1)}" is not allowed (allowed: http, https)`;
  }
  if (!permissions.http.some((pattern) => hostMatches(pattern, url))) {
    const declared = permissions.http.join(", ") || "none";
    return `host "${url.host}" is not in the workflow's permissions.http (declared: ${declared})`;
  }
  if (!policy.allowHosts.some((pattern) => hostMatches(pattern, url))) {
    const allowed = policy.allowHosts.join(", ") || "none";
    return `host "${url.host}" is not allowed by the operator (capabilities.http.allowHosts: ${allowed})`;
  }
  return undefined;
}

/**
 * Shows a URL in an error message without credentials or query string.
 *
 * @param url The URL.
 * @returns `scheme://host/path`, with `?…` when there was a query, at most 200 characters.
 */
export function displayUrl(url: URL): string {
  const text = `${url.protocol}//${url.host}${url.pathname}${url.search ? "?…" : ""}`;
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

/**
 * Creates the `http.fetch` provider.
 *
 * @param options HTTP client and DNS resolver.
 * @returns The provider.
 */
export function createHttpFetchProvider(
  { fetch = globalThis.fetch, resolveDns = denoResolveDns }: HttpFetchProviderOptions = {},
): CapabilityProvider<HttpFetchArgs, HttpResponse> {
  return {
    name: "http.fetch",
    args: HttpFetchArgsSchema,
    permitted(permissions, policy, args) {
      const url = new URL(args.url);
      const denial = checkHttpTarget(url, permissions, policy.http);
      return denial === undefined ? true : `Cannot fetch "${displayUrl(url)}": ${denial}`;
    },
    summarize(args) {
      return { host: URL.parse(args.url)?.host ?? "", method: args.init?.method ?? "GET" };
    },
    handle: (args, context) => fetchChecked(args, context, fetch, resolveDns),
  };
}

async function fetchChecked(
  args: HttpFetchArgs,
  context: ProviderContext,
  fetch: typeof globalThis.fetch,
  resolveDns: ResolveDns,
): Promise<HttpResponse> {
  const policy = context.policy.http;
  const timeout = AbortSignal.timeout(policy.timeoutMs);
  const signal = AbortSignal.any([context.signal, timeout]);
  const first = new URL(args.url);
  let url = first;
  let method: string = args.init?.method ?? "GET";
  let body = args.init?.body;
  const headers = new Headers(args.init?.headers);
  let prefix = `Cannot fetch "${displayUrl(first)}"`;
  try {
    for (let hop = 0;; hop++) {
      await checkHop(url, prefix, context, resolveDns, signal);
      const response = await fetch(url, {
        method,
        headers,
        body: body ?? null,
        redirect: "manual",
        signal,
      });
      const location = response.headers.get("location");
      if (REDIRECT_STATUSES.has(response.status) && location !== null) {
        await response.body?.cancel();
        if (hop >= policy.maxRedirects) {
          throw context.error(
            "failed",
            `${prefix}: more than ${policy.maxRedirects} redirects (capabilities.http.maxRedirects)`,
          );
        }
        const next = URL.parse(location, url);
        if (!next) throw context.error("failed", `${prefix}: the redirect target is not a URL`);
        if (response.status === 303 || (response.status <= 302 && method === "POST")) {
          method = "GET";
          body = undefined;
          headers.delete("content-type");
        }
        if (next.origin !== url.origin) CROSS_ORIGIN_DROPPED.forEach((h) => headers.delete(h));
        url = next;
        prefix = `Cannot fetch "${displayUrl(first)}" (redirected to "${displayUrl(url)}")`;
        continue;
      }
      const bytes = await readCapped(response, policy.maxResponseBytes);
      if (!bytes) {
        throw context.error(
          "failed",
          `${prefix}: the response body exceeds ${policy.maxResponseBytes} bytes (capabilities.http.maxResponseBytes)`,
        );
      }
      return {
        status: response.status,
        headers: headerRecord(response.headers),
        body: decode(bytes),
      };
    }
  } catch (error) {
    if (error instanceof CapabilityError) throw error;
    const signals = {
      timeout,
      deadline: context.signal,
      timeoutMs: policy.timeoutMs,
      setting: "capabilities.http.timeoutMs",
    };
    throw context.error("failed", `${prefix}: ${describeFetchFailure(error, signals)}`, error);
  }
}

async function checkHop(
  url: URL,
  prefix: string,
  context: ProviderContext,
  resolveDns: ResolveDns,
  signal: AbortSignal,
): Promise<void> {
  const denial = checkHttpTarget(url, context.permissions, context.policy.http);
  if (denial !== undefined) throw context.error("not_permitted", `${prefix}: ${denial}`);
  const host = bareHost(url.hostname);
  if (isMetadataName(host)) {
    throw context.error(
      "not_permitted",
      `${prefix}: host "${host}" is a cloud metadata endpoint and is never allowed`,
    );
  }
  let addresses: string[];
  try {
    addresses = await resolveHost(host, resolveDns, signal);
  } catch (error) {
    if (signal.aborted) throw error;
    throw context.error("failed", `${prefix}: host "${host}" did not resolve`, error);
  }
  const allowed = context.policy.http.allowPrivateNetworks;
  for (const address of addresses) {
    const verdict = checkAddress(address, allowed);
    if (verdict.allowed) continue;
    const subject = isIP(host)
      ? `address ${address}`
      : `host "${host}" resolves to ${address}, which`;
    const state = verdict.metadata
      ? "is a cloud metadata endpoint and is never allowed"
      : `is in ${verdict.range} (allowed: ${allowed.join(", ") || "none"})`;
    throw context.error("not_permitted", `${prefix}: ${subject} ${state}`);
  }
}

function headerRecord(headers: Headers): Record<string, string> {
  const merged = new Map<string, string>();
  for (const [name, value] of headers) {
    const previous = merged.get(name);
    merged.set(name, previous === undefined ? value : `${previous}, ${value}`);
  }
  return Object.fromEntries(merged);
}

function decode(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

function denoResolveDns(
  query: string,
  recordType: "A" | "AAAA",
  options?: { signal?: AbortSignal },
): Promise<string[]> {
  return recordType === "A"
    ? Deno.resolveDns(query, "A", options)
    : Deno.resolveDns(query, "AAAA", options);
}
