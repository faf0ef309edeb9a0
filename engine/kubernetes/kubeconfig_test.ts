import assert from "node:assert/strict";
import { startKubeApiServer } from "../../tests/_kube_api_server.ts";
import { makeTestCerts } from "../../tests/_kube_certs.ts";
import type { KubeList } from "./api.ts";
import { createKubeClient } from "./client.ts";
import { loadKubeConfig } from "./kubeconfig.ts";

async function tempDir(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "cano-kubeconfig-" });
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${dir}/${name}`, text);
  }
  return dir;
}

function kubeconfig(
  { server = "https://127.0.0.1:6443", cluster = {}, user = {}, namespace, name = "dev" }: {
    server?: string;
    cluster?: Record<string, unknown>;
    user?: Record<string, unknown>;
    namespace?: string;
    name?: string;
  },
): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    "current-context": name,
    contexts: [{
      name,
      context: { cluster: name, user: name, ...(namespace ? { namespace } : {}) },
    }],
    clusters: [{ name, cluster: { server, ...cluster } }],
    users: [{ name, user }],
  });
}

Deno.test("loadKubeConfig() returns undefined without a service account or KUBECONFIG", async () => {
  assert.equal(await loadKubeConfig({ env: {}, serviceAccountDir: "/nonexistent" }), undefined);
  assert.equal(
    await loadKubeConfig({
      env: { KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "443" },
      serviceAccountDir: "/nonexistent",
    }),
    undefined,
  );
  await assert.rejects(
    loadKubeConfig({ env: {}, inCluster: true, serviceAccountDir: "/nonexistent" }),
    /^Error: Cannot load in-cluster config: /,
  );
});

Deno.test("loadKubeConfig() uses the service account in a pod and re-reads a rotated token", async () => {
  const dir = await tempDir({ token: "first\n", "ca.crt": "PEM", namespace: "cano" });
  try {
    let clock = 0;
    const connection = await loadKubeConfig({
      env: {
        KUBERNETES_SERVICE_HOST: "10.96.0.1",
        KUBERNETES_SERVICE_PORT: "443",
        KUBECONFIG: "/ignored",
      },
      serviceAccountDir: dir,
      tokenRefreshMs: 60_000,
      now: () => clock,
    });
    assert.equal(connection?.server, "https://10.96.0.1:443");
    assert.equal(connection?.namespace, "cano");
    assert.equal(connection?.source, "in-cluster");
    assert.deepEqual(connection?.tls, { caCerts: ["PEM"] });
    assert.deepEqual(await connection!.headers(), { authorization: "Bearer first" });
    await Deno.writeTextFile(`${dir}/token`, "second");
    clock = 30_000;
    assert.deepEqual(await connection!.headers(), { authorization: "Bearer first" });
    clock = 60_000;
    assert.deepEqual(await connection!.headers(), { authorization: "Bearer second" });
    await Deno.remove(`${dir}/token`);
    clock = 200_000;
    assert.deepEqual(await connection!.headers(), { authorization: "Bearer second" });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadKubeConfig() brackets an IPv6 service host", async () => {
  const dir = await tempDir({ token: "t" });
  try {
    const connection = await loadKubeConfig({
      env: { KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "6443" },
      serviceAccountDir: dir,
    });
    assert.equal(connection?.server, "https://[fd00::1]:6443");
    assert.deepEqual(connection?.tls, {});
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadKubeConfig() reads CA and client certificates and reaches a TLS API server", async () => {
  const certs = await makeTestCerts();
  try {
    await using server = await startKubeApiServer({
      token: "abc",
      tls: { cert: certs.serverCert, key: certs.serverKey },
    });
    server.apply({ apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: "shop" } });
    const dir = await tempDir({
      config: kubeconfig({
        server: server.url,
        cluster: { "certificate-authority-data": btoa(certs.ca) },
        user: {
          "client-certificate-data": btoa(certs.clientCert),
          "client-key-data": btoa(certs.clientKey),
          token: "abc",
        },
        namespace: "shop",
      }),
    });
    const connection = await loadKubeConfig({ env: { KUBECONFIG: `${dir}/config` } });
    assert.ok(connection);
    assert.equal(connection.tls.caCerts?.[0], certs.ca);
    assert.equal(connection.tls.cert, certs.clientCert);
    assert.equal(connection.tls.key, certs.clientKey);
    assert.equal(connection.namespace, "shop");
    assert.equal(connection.source, `${dir}/config`);
    using api = createKubeClient(connection);
    const pods = await api.request<KubeList>("GET", "/api/v1/namespaces/shop/pods");
    assert.equal(pods.items[0]?.metadata?.name, "p");
    await Deno.remove(dir, { recursive: true });
  } finally {
    await certs.remove();
  }
});

Deno.test("loadKubeConfig() resolves file paths next to the kubeconfig and re-reads token files", async () => {
  const dir = await tempDir({ "ca.pem": "CA-PEM", token: "one" });
  await Deno.writeTextFile(
    `${dir}/config`,
    kubeconfig({
      cluster: { "certificate-authority": "ca.pem", "insecure-skip-tls-verify": true },
      user: { "token-file": `${dir}/token` },
    }),
  );
  try {
    let clock = 0;
    const connection = await loadKubeConfig({
      env: { KUBECONFIG: `${dir}/config` },
      tokenRefreshMs: 1000,
      now: () => clock,
    });
    assert.deepEqual(connection?.tls, { caCerts: ["CA-PEM"], insecureSkipVerify: true });
    assert.equal((await connection!.headers()).authorization, "Bearer one");
    await Deno.writeTextFile(`${dir}/token`, "two");
    clock = 1000;
    assert.equal((await connection!.headers()).authorization, "Bearer two");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadKubeConfig() sends basic auth, impersonation and exec plugin tokens", async () => {
  const dir = await tempDir({
    basic: kubeconfig({ user: { username: "admin", password: "pw", as: "jane" } }),
    exec: kubeconfig({
      user: {
        exec: {
          apiVersion: "client.authentication.k8s.io/v1",
          command: "sh",
          args: [
            "-c",
            `echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"from-exec"}}'`,
          ],
          interactiveMode: "Never",
        },
      },
    }),
  });
  try {
    const basic = await loadKubeConfig({ env: { KUBECONFIG: `${dir}/basic` } });
    assert.deepEqual(await basic!.headers(), {
      authorization: `Basic ${btoa("admin:pw")}`,
      "impersonate-user": "jane",
    });
    const exec = await loadKubeConfig({ env: { KUBECONFIG: `${dir}/exec` } });
    assert.equal((await exec!.headers()).authorization, "Bearer from-exec");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadKubeConfig() merges KUBECONFIG files, the first file winning", async () => {
  const dir = await tempDir({
    a: JSON.stringify({ apiVersion: "v1", kind: "Config", "current-context": "prod" }),
    b: kubeconfig({ name: "prod", server: "https://prod:6443", user: { token: "p" } }),
    c: kubeconfig({ name: "prod", server: "https://other:6443" }),
  });
  try {
    const connection = await loadKubeConfig({
      env: { KUBECONFIG: `${dir}/a:${dir}/b:${dir}/c` },
    });
    assert.equal(connection?.server, "https://prod:6443");
    assert.equal((await connection!.headers()).authorization, "Bearer p");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadKubeConfig() throws a clear error for a missing or unusable kubeconfig", async () => {
  await assert.rejects(
    loadKubeConfig({ env: { KUBECONFIG: "/nonexistent/config" } }),
    /^Error: Cannot load kubeconfig from \/nonexistent\/config: /,
  );
  const dir = await tempDir({
    config: JSON.stringify({ apiVersion: "v1", kind: "Config", "current-context": "nope" }),
  });
  try {
    await assert.rejects(
      loadKubeConfig({ env: { KUBECONFIG: `${dir}/config` } }),
      /current context "nope" names no cluster/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
