import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { file, image, IssueSchema, table } from "@cano/sdk";
import email, { type EmailConfig, EmailConfigSchema } from "./email.ts";
import { makeTestCerts } from "../../tests/_kube_certs.ts";

const SERVER_SCRIPT = fileURLToPath(new URL("../../tests/_smtp_server.py", import.meta.url));

/** What `tests/_smtp_server.py` stored for one accepted mail (parsed by Python's `email`). */
interface StoredMail {
  mailFrom: string;
  rcptTos: string[];
  auth: string | null;
  tls: boolean;
  contentType: string;
  headers: Record<string, string>;
  text: string | null;
  html: string | null;
  attachments: {
    filename: string | null;
    contentType: string;
    disposition: string | null;
    contentId: string | null;
    size: number;
    hex: string;
  }[];
}

/** A Python interpreter with aiosmtpd; fails (not skips) without one, as CI installs it. */
async function aiosmtpdPython(): Promise<string> {
  for (const python of ["python3", "/usr/bin/python3"]) {
    try {
      const { code } = await new Deno.Command(python, {
        args: ["-c", "import aiosmtpd"],
        stdout: "null",
        stderr: "null",
      }).output();
      if (code === 0) return python;
    } catch (_error) {
      // Not installed under this name: try the next.
    }
  }
  throw new Error(
    "Cannot run the SMTP tests: no python3 with aiosmtpd (apt-get install -y python3-aiosmtpd)",
  );
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Starts the real SMTP server on `port`, storing mails in a new directory. */
async function startSmtp(port: number, args: string[] = []) {
  const dir = await Deno.makeTempDir({ prefix: "cano-smtp-" });
  const child = new Deno.Command(await aiosmtpdPython(), {
    args: [SERVER_SCRIPT, "--port", String(port), "--out", dir, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("READY")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`Cannot start the SMTP server: it exited (${seen})`);
    seen += value;
  }
  return {
    port,
    async mails(): Promise<StoredMail[]> {
      const names = [];
      for await (const entry of Deno.readDir(dir)) {
        if (entry.name.endsWith(".json")) names.push(entry.name);
      }
      return await Promise.all(
        names.sort().map(async (n) => JSON.parse(await Deno.readTextFile(`${dir}/${n}`))),
      );
    },
    async [Symbol.asyncDispose]() {
      await child.stdin.close();
      await reader.cancel();
      await child.status;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function config(port: number, extra: Record<string, unknown> = {}): EmailConfig {
  return EmailConfigSchema.parse({
    name: "ops-mail",
    type: "email",
    host: "127.0.0.1",
    port,
    from: "cano@alerts.example.com",
    to: ["oncall@example.com", "sre@example.com"],
    cc: ["lead@example.com"],
    timeoutMs: 5000,
    ...extra,
  });
}

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);

function issue(id: string, status: "firing" | "resolved" = "firing") {
  return IssueSchema.parse({
    id,
    fingerprint: "3f2a9c1b",
    aggregationKey: "KubePodOOMKilled",
    type: "alert",
    source: "prometheus",
    title: "Pod <api-1> OOMKilled",
    severity: "HIGH",
    status,
    startsAt: "2026-03-01T10:00:00Z",
    createdAt: "2026-03-01T10:00:01Z",
    links: [{ title: "Runbook", url: "https://runbooks.example.com/oom" }],
    enrichments: [{
      title: "Resources",
      workflow: "oom-context",
      blocks: [
        table(["container", "limit"], [["api", "512Mi"]]),
        file("previous.log", "line 1\nline 2"),
        image("memory.png", PNG, "memory graph"),
      ],
    }],
  });
}

Deno.test("email.send() delivers text and HTML parts, attachments and an inline image", async () => {
  await using server = await startSmtp(freePort());
  const cfg = config(server.port);
  const [payload] = email.render(issue("i1"), cfg);
  const result = await email.send(payload!, cfg, {});
  assert.deepEqual(result, {
    ok: true,
    thread: { messageId: "<cano-3f2a9c1b@alerts.example.com>" },
  });
  const [mail, ...more] = await server.mails();
  assert.equal(more.length, 0);
  assert.equal(mail!.mailFrom, "cano@alerts.example.com");
  assert.deepEqual(mail!.rcptTos, ["oncall@example.com", "sre@example.com", "lead@example.com"]);
  assert.equal(mail!.headers["subject"], "[FIRING] HIGH Pod <api-1> OOMKilled");
  assert.equal(mail!.headers["message-id"], "<cano-3f2a9c1b@alerts.example.com>");
  assert.equal(mail!.headers["cc"], "lead@example.com");
  assert.equal(mail!.headers["in-reply-to"], undefined);
  assert.match(mail!.text!, /^\[FIRING\] HIGH Pod <api-1> OOMKilled/);
  assert.match(mail!.text!, /api {8}512Mi/);
  assert.match(mail!.html!, /Pod &lt;api-1&gt; OOMKilled/);
  assert.match(mail!.html!, /<td [^>]*>512Mi<\/td>/);
  assert.match(mail!.html!, /<a href="https:\/\/runbooks\.example\.com\/oom">Runbook<\/a>/);
  const log = mail!.attachments.find((a) => a.filename === "previous.log");
  assert.equal(log?.disposition, "attachment");
  assert.equal(log?.size, "line 1\nline 2".length);
  const png = mail!.attachments.find((a) => a.filename === "memory.png");
  assert.equal(png?.contentType, "image/png");
  assert.equal(png?.hex, Array.from(PNG, (b) => b.toString(16).padStart(2, "0")).join(""));
  const cid = png?.contentId?.replace(/^<|>$/g, "");
  assert.ok(cid && mail!.html!.includes(`src="cid:${cid}"`), mail!.html!);
});

Deno.test("email.send() threads repeats and the resolution under the first Message-ID", async () => {
  await using server = await startSmtp(freePort());
  const cfg = config(server.port);
  const first = await email.send(email.render(issue("i1"), cfg)[0]!, cfg, {});
  assert.ok(first.ok && first.thread);
  const repeat = await email.send(email.render(issue("i2"), cfg)[0]!, cfg, {
    thread: first.thread,
  });
  const resolved = await email.send(email.render(issue("i3", "resolved"), cfg)[0]!, cfg, {
    thread: first.thread,
  });
  assert.deepEqual(repeat, first);
  assert.deepEqual(resolved, first);
  const mails = await server.mails();
  const root = "<cano-3f2a9c1b@alerts.example.com>";
  assert.deepEqual(mails.map((m) => [m.headers["message-id"], m.headers["in-reply-to"]]), [
    [root, undefined],
    ["<cano-3f2a9c1b-i2@alerts.example.com>", root],
    ["<cano-3f2a9c1b-i3@alerts.example.com>", root],
  ]);
  assert.equal(mails[2]!.headers["references"], root);
  assert.equal(mails[2]!.headers["subject"], "[RESOLVED] HIGH Pod <api-1> OOMKilled");
});

Deno.test("email.send() retries while the server is down, then delivers", async () => {
  const port = freePort();
  const cfg = config(port);
  const [payload] = email.render(issue("i1"), cfg);
  const down = await email.send(payload!, cfg, {});
  assert.ok(!down.ok && down.retryable, JSON.stringify(down));
  assert.match(down.reason, /^Cannot send to email "ops-mail": .*(ECONNREFUSED|refused)/i);
  await using server = await startSmtp(port);
  assert.equal((await email.send(payload!, cfg, {})).ok, true);
  assert.equal((await server.mails()).length, 1);
});

Deno.test("email.send() classifies 550 as permanent and 451 as retryable", async () => {
  await using server = await startSmtp(freePort());
  const [payload] = email.render(issue("i1"), config(server.port));
  const unknown = await email.send(
    payload!,
    config(server.port, { to: ["unknown@example.com"], cc: [] }),
    {},
  );
  assert.ok(!unknown.ok && !unknown.retryable, JSON.stringify(unknown));
  assert.match(unknown.reason, /550 5\.1\.1 User unknown/);
  const busy = await email.send(
    payload!,
    config(server.port, { to: ["busy@example.com"], cc: [] }),
    {},
  );
  assert.ok(!busy.ok && busy.retryable, JSON.stringify(busy));
  assert.match(busy.reason, /451/);
  const partly = await email.send(
    payload!,
    config(server.port, { to: ["unknown@example.com", "oncall@example.com"], cc: [] }),
    {},
  );
  assert.equal(partly.ok, true);
  assert.deepEqual((await server.mails()).map((m) => m.rcptTos), [["oncall@example.com"]]);
});

Deno.test("email.send() authenticates over STARTTLS and reports a 535 without the password", async () => {
  const certs = await makeTestCerts();
  try {
    await using server = await startSmtp(freePort(), [
      "--auth",
      "cano:right-password",
      "--cert",
      `${certs.dir}/server.crt`,
      "--key",
      `${certs.dir}/server.key`,
      "--require-starttls",
    ]);
    const base = { username: "cano", requireTls: true, ca: certs.ca };
    const [payload] = email.render(issue("i1"), config(server.port));
    const ok = await email.send(
      payload!,
      config(server.port, { ...base, password: "right-password" }),
      {},
    );
    assert.equal(ok.ok, true, JSON.stringify(ok));
    const wrong = config(server.port, { ...base, password: "wrong-password" });
    const denied = await email.send(payload!, wrong, {});
    assert.ok(!denied.ok && !denied.retryable, JSON.stringify(denied));
    assert.match(denied.reason, /535/);
    assert.ok(!denied.reason.includes("wrong-password"));
    assert.ok(!JSON.stringify(email.describe(payload!, wrong)).includes("wrong-password"));
    const [mail] = await server.mails();
    assert.equal(mail!.auth, "cano");
    assert.equal(mail!.tls, true);
  } finally {
    await certs.remove();
  }
});

Deno.test("email.send() refuses a server without STARTTLS when TLS is required", async () => {
  await using server = await startSmtp(freePort());
  const cfg = config(server.port, { requireTls: true });
  const result = await email.send(email.render(issue("i1"), cfg)[0]!, cfg, {});
  assert.ok(!result.ok && !result.retryable, JSON.stringify(result));
  assert.equal((await server.mails()).length, 0);
});

Deno.test("email.send() speaks implicit TLS", async () => {
  const certs = await makeTestCerts();
  try {
    await using server = await startSmtp(freePort(), [
      "--cert",
      `${certs.dir}/server.crt`,
      "--key",
      `${certs.dir}/server.key`,
      "--implicit-tls",
    ]);
    const cfg = config(server.port, { secure: true, ca: certs.ca });
    const result = await email.send(email.render(issue("i1"), cfg)[0]!, cfg, {});
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.equal((await server.mails())[0]?.tls, true);
  } finally {
    await certs.remove();
  }
});

function describeText(cfg: EmailConfig): string {
  const described = email.describe(email.render(issue("i1"), cfg)[0]!, cfg);
  assert.ok("output" in described);
  return described.output;
}

Deno.test("EmailConfigSchema defaults TLS by port and host, and pairs username with password", () => {
  const remote = config(587, { host: "smtp.example.com" });
  assert.equal(remote.requireTls, undefined);
  const described = describeText(remote);
  assert.match(described, /smtp\.example\.com:587 \(STARTTLS required\)/);
  const local = config(25);
  assert.match(
    describeText(local),
    /STARTTLS when offered/,
  );
  const implicit = config(465, { host: "smtp.example.com" });
  assert.match(
    describeText(implicit),
    /implicit TLS/,
  );
  const lonely = EmailConfigSchema.safeParse({ ...config(25), username: "cano" });
  assert.deepEqual(lonely.error?.issues.map((i) => i.message), [
    "Email username and password must be given together",
  ]);
});

Deno.test("email.render() keeps control characters out of the subject", () => {
  const cfg = config(25, { subject: "{status}: {title} in {cluster}" });
  const bad = { ...issue("i1"), title: "a\r\nBcc: evil@example.com", cluster: "prod" };
  assert.equal(email.render(bad, cfg)[0]!.subject, "FIRING: a Bcc: evil@example.com in prod");
});
