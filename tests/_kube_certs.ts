/**
 * A throwaway CA, a server certificate for 127.0.0.1 and a client certificate, made with
 * `openssl` in a temporary directory (as `reference/k8s-goaway/make-certs.sh` does: rustls
 * rejects a self-signed certificate used as its own CA).
 *
 * @module
 */

/** PEM files and texts of a test PKI. */
export interface TestCerts {
  /** The directory holding the files. */
  dir: string;
  /** CA certificate (PEM). */
  ca: string;
  /** Server certificate for 127.0.0.1 and localhost (PEM). */
  serverCert: string;
  /** Server key (PEM). */
  serverKey: string;
  /** Client certificate, CN `cano` (PEM). */
  clientCert: string;
  /** Client key (PEM). */
  clientKey: string;
  /** Removes the directory. */
  remove(): Promise<void>;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command("openssl", {
    args,
    cwd: dir,
    stdout: "null",
    stderr: "piped",
  })
    .output();
  if (code !== 0) {
    throw new Error(`Cannot run openssl ${args[0]}: ${new TextDecoder().decode(stderr).trim()}`);
  }
}

/**
 * Makes the certificates.
 *
 * @returns Their texts and directory.
 * @throws {Error} When openssl fails.
 */
export async function makeTestCerts(): Promise<TestCerts> {
  const dir = await Deno.makeTempDir({ prefix: "cano-k8s-certs-" });
  await openssl(dir, [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "3",
    "-subj",
    "/CN=cano-test-ca",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  const leaf = async (name: string, cn: string, ext: string) => {
    await openssl(dir, [
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      `/CN=${cn}`,
    ]);
    await Deno.writeTextFile(`${dir}/${name}.ext`, ext);
    await openssl(dir, [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${name}.crt`,
      "-days",
      "3",
      "-extfile",
      `${name}.ext`,
    ]);
  };
  await leaf(
    "server",
    "127.0.0.1",
    "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
  );
  await leaf(
    "client",
    "cano",
    "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n",
  );
  const read = (file: string) => Deno.readTextFile(`${dir}/${file}`);
  return {
    dir,
    ca: await read("ca.crt"),
    serverCert: await read("server.crt"),
    serverKey: await read("server.key"),
    clientCert: await read("client.crt"),
    clientKey: await read("client.key"),
    remove: () => Deno.remove(dir, { recursive: true }),
  };
}
