/**
 * Finds the cluster to talk to and its credentials: the pod's service account when Cano
 * runs in a cluster, else the `KUBECONFIG` file(s); with neither, Kubernetes features are
 * off (`undefined`, no error).
 *
 * The one module that imports `@kubernetes/client-node`, and only for what it does well:
 * parsing kubeconfig files and their auth (current context, CA, client certificates,
 * bearer tokens, token files, `exec` and `auth-provider` plugins). Requests go through
 * Deno's `fetch` (`client.ts`).
 *
 * @example A kubeconfig with a bearer token
 * ```ts
 * import { loadKubeConfig } from "./kubeconfig.ts";
 * import assert from "node:assert/strict";
 *
 * const file = await Deno.makeTempFile({ suffix: ".yaml" });
 * await Deno.writeTextFile(file, `
 * apiVersion: v1
 * kind: Config
 * current-context: dev
 * contexts: [{ name: dev, context: { cluster: dev, user: dev, namespace: shop } }]
 * clusters: [{ name: dev, cluster: { server: "https://127.0.0.1:6443" } }]
 * users: [{ name: dev, user: { token: abc } }]
 * `);
 * const connection = await loadKubeConfig({ env: { KUBECONFIG: file } });
 * assert.equal(connection?.server, "https://127.0.0.1:6443");
 * assert.equal(connection?.namespace, "shop");
 * assert.equal((await connection!.headers()).authorization, "Bearer abc");
 * assert.equal(await loadKubeConfig({ env: {} }), undefined);
 * await Deno.remove(file);
 * ```
 *
 * @module
 */
import { KubeConfig } from "@kubernetes/client-node";

/** TLS material of a connection (PEM strings). */
export interface KubeTls {
  /** Extra CA certificates. */
  caCerts?: string[];
  /** Client certificate chain. */
  cert?: string;
  /** Client private key. */
  key?: string;
  /** The kubeconfig asks to skip verification (Deno's fetch cannot; the client warns). */
  insecureSkipVerify?: boolean;
}

/** Where the API server is and how to authenticate to it. */
export interface KubeConnection {
  /** API server URL, e.g. `https://10.96.0.1:443`. */
  server: string;
  /** Request headers (authorization); re-read as tokens rotate. */
  headers(): Promise<Record<string, string>>;
  /** TLS material. */
  tls: KubeTls;
  /** Namespace of the service account or of the kubeconfig context. */
  namespace?: string;
  /** Where the connection came from: `in-cluster` or the kubeconfig path. */
  source?: string;
  /** HTTP(S) proxy of the cluster entry. */
  proxyUrl?: string;
}

/** Options of {@linkcode loadKubeConfig}. */
export interface LoadKubeConfigOptions {
  /** Environment to read. @default Deno.env.toObject() */
  env?: Record<string, string | undefined>;
  /** Use the service account: true forces it, false skips it. @default detected */
  inCluster?: boolean;
  /** Service account directory. @default "/var/run/secrets/kubernetes.io/serviceaccount" */
  serviceAccountDir?: string;
  /** How long a token read from a file is reused. @default 60000 */
  tokenRefreshMs?: number;
  /** Clock. @default Date.now */
  now?: () => number;
}

/** Where Kubernetes mounts a pod's service account. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

function cachedFile(
  read: () => Promise<string>,
  refreshMs: number,
  now: () => number,
): () => Promise<string> {
  let value: string | undefined;
  let readAt = -Infinity;
  return async () => {
    if (value === undefined || now() - readAt >= refreshMs) {
      try {
        value = await read();
        readAt = now();
      } catch (error) {
        if (value === undefined) throw error;
      }
    }
    return value;
  };
}

async function inClusterConnection(
  env: Record<string, string | undefined>,
  dir: string,
  refreshMs: number,
  now: () => number,
): Promise<KubeConnection | undefined> {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  const tokenPath = `${dir}/token`;
  if (!host || !port || await readIfExists(tokenPath) === undefined) return undefined;
  const ca = await readIfExists(`${dir}/ca.crt`);
  const namespace = (await readIfExists(`${dir}/namespace`))?.trim();
  const token = cachedFile(
    async () => (await Deno.readTextFile(tokenPath)).trim(),
    refreshMs,
    now,
  );
  const scheme = ["80", "8080", "8001"].includes(port) ? "http" : "https";
  return {
    server: `${scheme}://${host.includes(":") ? `[${host}]` : host}:${port}`,
    headers: async () => ({ authorization: `Bearer ${await token()}` }),
    tls: ca ? { caCerts: [ca] } : {},
    ...(namespace ? { namespace } : {}),
    source: "in-cluster",
  };
}

function parseKubeConfig(files: string[]): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(files[0]!);
  for (const file of files.slice(1)) {
    const more = new KubeConfig();
    more.loadFromFile(file);
    // kubectl's merge: the first file to set a value wins.
    for (const cluster of more.clusters) {
      if (!kc.clusters.some((c) => c.name === cluster.name)) kc.clusters.push(cluster);
    }
    for (const user of more.users) {
      if (!kc.users.some((u) => u.name === user.name)) kc.users.push(user);
    }
    for (const context of more.contexts) {
      if (!kc.contexts.some((c) => c.name === context.name)) kc.contexts.push(context);
    }
    if (!kc.currentContext && more.currentContext) kc.currentContext = more.currentContext;
  }
  return kc;
}

interface HttpsOptions {
  ca?: Uint8Array | string;
  cert?: Uint8Array | string;
  key?: Uint8Array | string;
  rejectUnauthorized?: boolean;
  auth?: string;
  headers?: Record<string, string>;
}

function pem(value: Uint8Array | string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return typeof value === "string" ? value : new TextDecoder().decode(value);
}

async function kubeConfigConnection(
  path: string,
  refreshMs: number,
  now: () => number,
): Promise<KubeConnection> {
  const files = path.split(":").filter(Boolean);
  let kc: KubeConfig;
  try {
    kc = parseKubeConfig(files);
  } catch (error) {
    throw new Error(`Cannot load kubeconfig from ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const cluster = kc.getCurrentCluster();
  const user = kc.getCurrentUser();
  if (!cluster) {
    throw new Error(
      `Cannot load kubeconfig from ${path}: current context "${kc.getCurrentContext()}" names no cluster`,
    );
  }
  const tlsOptions: HttpsOptions = {};
  await kc.applyToHTTPSOptions(tlsOptions as never);
  const ca = pem(tlsOptions.ca);
  const cert = pem(tlsOptions.cert);
  const key = pem(tlsOptions.key);
  const tls: KubeTls = {
    ...(ca ? { caCerts: [ca] } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    ...(tlsOptions.rejectUnauthorized === false ? { insecureSkipVerify: true } : {}),
  };
  // Plugins (exec, auth-provider) cache and refresh their own tokens; static tokens and
  // token files are re-read by parsing the files again now and then.
  const pluginAuth = Boolean(user?.exec || user?.authProvider);
  let current = kc;
  let parsedAt = now();
  const headers = async (): Promise<Record<string, string>> => {
    if (!pluginAuth && now() - parsedAt >= refreshMs) {
      try {
        current = parseKubeConfig(files);
        parsedAt = now();
      } catch {
        parsedAt = now(); // keep the last good credentials until the file is readable again
      }
    }
    const options: HttpsOptions = {};
    await current.applyToHTTPSOptions(options as never);
    const result: Record<string, string> = {};
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      result[name.toLowerCase()] = String(value);
    }
    if (options.auth && !result.authorization) {
      result.authorization = `Basic ${btoa(options.auth)}`;
    }
    const impersonate = current.getCurrentUser()?.impersonateUser;
    if (impersonate) result["impersonate-user"] = impersonate;
    return result;
  };
  const namespace = kc.getContextObject(kc.getCurrentContext())?.namespace;
  return {
    server: cluster.server,
    headers,
    tls,
    ...(namespace ? { namespace } : {}),
    source: path,
    ...(cluster.proxyUrl ? { proxyUrl: cluster.proxyUrl } : {}),
  };
}

/**
 * Finds the cluster connection: the service account in a pod, else `KUBECONFIG`.
 *
 * @param options Environment, in-cluster switch and directory, token refresh, clock.
 * @returns The connection, or `undefined` when neither is available (Kubernetes off).
 * @throws {Error} When `KUBECONFIG` names files that cannot be read or parsed, or
 *   `inCluster: true` is forced without a service account.
 */
export async function loadKubeConfig(
  {
    env = Deno.env.toObject(),
    inCluster,
    serviceAccountDir = SERVICE_ACCOUNT_DIR,
    tokenRefreshMs = 60_000,
    now = Date.now,
  }: LoadKubeConfigOptions = {},
): Promise<KubeConnection | undefined> {
  if (inCluster !== false) {
    const connection = await inClusterConnection(env, serviceAccountDir, tokenRefreshMs, now);
    if (connection) return connection;
    if (inCluster === true) {
      throw new Error(
        `Cannot load in-cluster config: KUBERNETES_SERVICE_HOST/PORT or ${serviceAccountDir}/token is missing`,
      );
    }
  }
  const path = env.KUBECONFIG?.trim();
  if (!path) return undefined;
  return await kubeConfigConnection(path, tokenRefreshMs, now);
}
