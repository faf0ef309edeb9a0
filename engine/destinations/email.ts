/**
 * Mails Issues over SMTP as multipart/alternative (plain text + HTML), one thread per
 * fingerprint.
 *
 * SMTP goes through `nodemailer` (pinned in `deno.json`), which runs under Deno's Node
 * compatibility on `node:net`/`node:tls`: plain SMTP, STARTTLS, implicit TLS and AUTH
 * PLAIN/LOGIN are tested against a real aiosmtpd server in `email_test.ts`.
 *
 * ## Config
 * - `name`, `timeoutMs` (connection, greeting and each reply; default 30000), `rateLimit`.
 * - `type`: `"email"`.
 * - `host`, `port` (default 587).
 * - `secure`: implicit TLS from the first byte; defaults to true on port 465 (as Alertmanager).
 * - `requireTls`: refuse to send unless STARTTLS succeeds; defaults to true unless `host` is
 *   a loopback address (`localhost`, `127.0.0.0/8`, `::1`).
 * - `ca`: extra PEM certificates to trust (a private relay's CA).
 * - `username`, `password`: AUTH PLAIN/LOGIN; give the password as `${SMTP_PASSWORD}`. Never
 *   printed: dry-run and failure reasons show `***`.
 * - `from`, `to` (one or more), `cc`: addresses.
 * - `subject`: template with `{status}` (FIRING/RESOLVED), `{severity}`, `{title}`,
 *   `{cluster}`, `{namespace}` and `{fingerprint}`; default `[{status}] {severity} {title}`.
 *
 * ## Limits
 * Subjects are cut at {@linkcode EMAIL_SUBJECT_MAX_CHARS} characters (RFC 5322 advises lines
 * under 78; encoded words keep long subjects valid). Attachments (file blocks and inline
 * images) beyond {@linkcode EMAIL_MAX_ATTACHMENT_BYTES} in total are left out with a note,
 * below the 10 MB `SIZE` many relays announce. SMTP replies: 4xx and connection errors are
 * retryable; 5xx (550 unknown recipient, 535 authentication failed...) and a refused or
 * failed STARTTLS (no TLS offered, 454, untrusted certificate) are permanent: they need a
 * config or server fix. When only some recipients are refused the
 * mail still counts as sent, so the accepted ones do not get it twice.
 *
 * ## Threading
 * The first mail of a fingerprint carries the stable `Message-ID`
 * `<cano-<fingerprint>@<from domain>>` and `send` returns it as the thread state
 * `{ messageId }`. Repeats and the resolution get their own `Message-ID`
 * (`<cano-<fingerprint>-<issue id>@<from domain>>`) plus `In-Reply-To` and `References`
 * pointing at the root, so mail clients show one conversation per incident.
 *
 * ## Example payload
 * ```
 * From: cano@example.com
 * To: oncall@example.com
 * Subject: [FIRING] HIGH Pod OOMKilled
 * Message-ID: <cano-3f2a@example.com>
 * Content-Type: multipart/related (multipart/alternative: text/plain + text/html; inline images)
 * ```
 *
 * @example What dry-run prints
 * ```ts
 * import email, { EmailConfigSchema } from "./email.ts";
 * import { IssueSchema } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * const config = EmailConfigSchema.parse({
 *   name: "ops-mail", type: "email", host: "smtp.example.com", from: "cano@example.com",
 *   to: ["oncall@example.com"], username: "cano", password: "s3cret-pass",
 * });
 * const issue = IssueSchema.parse({
 *   id: "7d0c", fingerprint: "3f2a", aggregationKey: "Oom", type: "alert", source: "prometheus",
 *   title: "Pod OOMKilled", severity: "HIGH", status: "firing",
 *   startsAt: "2026-03-01T10:00:00Z", createdAt: "2026-03-01T10:00:01Z",
 * });
 * const [payload] = email.render(issue, config);
 * const described = email.describe(payload!, config);
 * assert.ok("output" in described);
 * assert.match(described.output, /^Subject: \[FIRING\] HIGH Pod OOMKilled$/m);
 * assert.match(described.output, /^Message-ID: <cano-3f2a@example\.com>$/m);
 * assert.ok(!described.output.includes("s3cret-pass"));
 * ```
 *
 * @module
 */
import { z } from "zod";
import type { Issue } from "@cano/sdk";
import nodemailerModule from "nodemailer";
import {
  defineDestination,
  destinationBaseShape,
  type SendOptions,
  type SendResult,
} from "./destination.ts";
import { describeError, failure, type HttpTarget } from "./_http.ts";
import { renderIssueText } from "./_text.ts";
import { type EmailAttachment, renderIssueHtml } from "./_email_html.ts";

/** Characters of the subject kept; the rest is cut with `…`. */
export const EMAIL_SUBJECT_MAX_CHARS = 200;
/** Total decoded bytes of attachments per mail. */
export const EMAIL_MAX_ATTACHMENT_BYTES = 8 * 1024 * 1024;

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|::1|\[::1\])$/i;

/** Config of an email destination. */
export const EmailConfigSchema = z.strictObject({
  ...destinationBaseShape({ timeoutMs: 30_000 }),
  type: z.literal("email"),
  host: z.string().min(1).describe("SMTP server host name or address"),
  port: z.number().int().min(1).max(65_535).default(587).describe("SMTP port"),
  secure: z.boolean().optional().describe("Implicit TLS; unset means true on port 465"),
  requireTls: z.boolean().optional().describe(
    "Send only after STARTTLS; unset means true unless the host is loopback",
  ),
  ca: z.string().includes("-----BEGIN CERTIFICATE-----").optional()
    .describe("Extra PEM certificates to trust"),
  username: z.string().min(1).optional().describe("AUTH user name"),
  password: z.string().min(1).optional().describe("AUTH password; never logged"),
  from: z.email().describe("Sender address; its domain names the Message-IDs"),
  to: z.array(z.email()).min(1).describe("Recipients"),
  cc: z.array(z.email()).default([]).describe("Copy recipients"),
  subject: z.string().min(1).default("[{status}] {severity} {title}")
    .describe("Subject template: {status} {severity} {title} {cluster} {namespace} {fingerprint}"),
}).refine((c) => (c.username === undefined) === (c.password === undefined), {
  error: "Email username and password must be given together",
  path: ["password"],
});
/** Config of an email destination, defaults applied. */
export type EmailConfig = z.infer<typeof EmailConfigSchema>;

/** One mail, without the threading headers `send` adds from the thread state. */
export interface EmailPayload {
  /** Message-ID of the fingerprint's first mail: the thread root. */
  rootId: string;
  /** Message-ID of this mail when it is a reply (a root exists). */
  replyId: string;
  /** Subject line. */
  subject: string;
  /** Plain-text part. */
  text: string;
  /** HTML part. */
  html: string;
  /** File blocks and inline images. */
  attachments: EmailAttachment[];
}

/** The email destination. */
const email = defineDestination({
  type: "email",
  config: EmailConfigSchema,
  render: renderEmail,
  describe(payload: EmailPayload, config: EmailConfig): { output: string } {
    const headers = [
      `From: ${config.from}`,
      `To: ${config.to.join(", ")}`,
      ...(config.cc.length > 0 ? [`Cc: ${config.cc.join(", ")}`] : []),
      `Subject: ${payload.subject}`,
      `Message-ID: ${payload.rootId}`,
      `X-Cano-Reply: when ${payload.rootId} was sent before, Message-ID: ${payload.replyId}, ` +
      `In-Reply-To and References: ${payload.rootId}`,
      `SMTP: ${config.host}:${config.port} (${transportMode(config)}${
        config.username ? `, AUTH as ${config.username} with password ***` : ""
      })`,
      `Content-Type: ${payload.attachments.some((a) => a.cid) ? "multipart/related; " : ""}` +
      "multipart/alternative (text/plain, text/html)",
      ...payload.attachments.map((a) =>
        `Attachment: ${a.filename} (${a.contentType}, ${base64Bytes(a.contentBase64)} bytes${
          a.cid ? `, inline cid:${a.cid}` : ""
        })`
      ),
    ];
    return {
      output: `${
        headers.join("\n")
      }\n\n--- text/plain\n${payload.text}\n\n--- text/html\n${payload.html}`,
    };
  },
  send: sendEmail,
});

export default email;

/**
 * Renders the mail for an Issue: subject, text and HTML parts, attachments and the ids the
 * threading headers use.
 *
 * @param issue The issue.
 * @param config The destination config.
 * @returns One mail.
 */
function renderEmail(issue: Issue, config: EmailConfig): EmailPayload[] {
  const domain = config.from.slice(config.from.lastIndexOf("@") + 1);
  const fingerprint = idToken(issue.fingerprint);
  const { html, attachments } = renderIssueHtml(issue, domain);
  let kept = 0;
  const within = attachments.filter((a) =>
    (kept += base64Bytes(a.contentBase64)) <=
      EMAIL_MAX_ATTACHMENT_BYTES
  );
  const dropped = attachments.length - within.length;
  const note = dropped > 0
    ? `\n\n${dropped} attachment(s) left out: over ${EMAIL_MAX_ATTACHMENT_BYTES} bytes in total`
    : "";
  return [{
    rootId: `<cano-${fingerprint}@${domain}>`,
    replyId: `<cano-${fingerprint}-${idToken(issue.id)}@${domain}>`,
    subject: subjectOf(issue, config.subject),
    text: renderIssueText(issue) + note,
    html: dropped > 0 ? html.replace("</body>", `<p>${note.trim()}</p></body>`) : html,
    attachments: within,
  }];
}

function subjectOf(issue: Issue, template: string): string {
  const values: Record<string, string> = {
    status: issue.status.toUpperCase(),
    severity: issue.severity,
    title: issue.title,
    cluster: issue.cluster ?? "",
    namespace: issue.subject?.namespace ?? issue.labels.namespace ?? "",
    fingerprint: issue.fingerprint,
  };
  const subject = template.replace(/\{(\w+)\}/g, (all, key: string) => values[key] ?? all)
    // deno-lint-ignore no-control-regex -- header injection: no control characters.
    .replace(/[\x00-\x1f\x7f]+/g, " ").trim();
  const chars = [...subject];
  return chars.length > EMAIL_SUBJECT_MAX_CHARS
    ? `${chars.slice(0, EMAIL_SUBJECT_MAX_CHARS - 1).join("")}…`
    : subject;
}

/** Characters allowed in a Message-ID's left part as is; others are percent-encoded. */
function idToken(text: string): string {
  return text.replace(
    /[^A-Za-z0-9._-]/g,
    (c) =>
      [...new TextEncoder().encode(c)].map((b) => `=${b.toString(16).padStart(2, "0")}`).join(""),
  );
}

function base64Bytes(data: string): number {
  const padding = data.endsWith("==") ? 2 : data.endsWith("=") ? 1 : 0;
  return Math.floor((data.length * 3) / 4) - padding;
}

function isSecure(config: EmailConfig): boolean {
  return config.secure ?? config.port === 465;
}

function requiresTls(config: EmailConfig): boolean {
  return !isSecure(config) && (config.requireTls ?? !LOOPBACK.test(config.host));
}

function transportMode(config: EmailConfig): string {
  if (isSecure(config)) return "implicit TLS";
  return requiresTls(config) ? "STARTTLS required" : "STARTTLS when offered";
}

/** The part of nodemailer this module uses (the package ships no types). */
interface Mailer {
  createTransport(options: Record<string, unknown>): {
    sendMail(message: Record<string, unknown>): Promise<{ rejected: unknown[] }>;
    close(): void;
  };
}
const nodemailer = nodemailerModule as unknown as Mailer;

/** An error nodemailer raises: `code` (ECONNECTION, EAUTH...) and the SMTP reply, if any. */
interface SmtpError {
  code?: string;
  responseCode?: number;
  response?: string;
}

async function sendEmail(
  payload: EmailPayload,
  config: EmailConfig,
  options: SendOptions,
): Promise<SendResult> {
  const target: HttpTarget = {
    label: `email "${config.name}"`,
    timeoutMs: config.timeoutMs,
    secrets: config.password === undefined ? [] : [config.password],
  };
  const root = options.thread?.messageId;
  const transport = nodemailer.createTransport({
    host: config.host,
    port: config.port,
    secure: isSecure(config),
    requireTLS: requiresTls(config),
    connectionTimeout: config.timeoutMs,
    greetingTimeout: config.timeoutMs,
    socketTimeout: config.timeoutMs,
    disableFileAccess: true,
    disableUrlAccess: true,
    ...(config.username === undefined
      ? {}
      : { auth: { user: config.username, pass: config.password } }),
    ...(config.ca === undefined ? {} : { tls: { ca: config.ca } }),
  });
  const onAbort = () => transport.close();
  options.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    if (options.signal?.aborted) return failure(target, true, "aborted");
    await transport.sendMail({
      from: config.from,
      to: config.to,
      ...(config.cc.length > 0 ? { cc: config.cc } : {}),
      subject: payload.subject,
      text: payload.text,
      html: payload.html,
      messageId: root ? payload.replyId : payload.rootId,
      ...(root ? { inReplyTo: root, references: [root] } : {}),
      attachments: payload.attachments.map((a) => ({
        filename: a.filename,
        contentType: a.contentType,
        content: a.contentBase64,
        encoding: "base64",
        ...(a.cid ? { cid: a.cid } : {}),
      })),
    });
    return { ok: true, thread: { messageId: root ?? payload.rootId } };
  } catch (error) {
    if (options.signal?.aborted) return failure(target, true, "aborted");
    return classify(target, error as SmtpError & Error);
  } finally {
    options.signal?.removeEventListener("abort", onAbort);
    transport.close();
  }
}

/** 4xx and connection trouble are retryable; 5xx, TLS refusals and bad config are not. */
function classify(target: HttpTarget, error: SmtpError & Error): SendResult {
  const code = error.responseCode;
  const detail = describeError(error).replace(/\s+/g, " ");
  // A refused or failed STARTTLS (454 included) is a server or certificate setup to fix.
  if (error.code === "ETLS") return failure(target, false, detail);
  if (code !== undefined && code >= 400 && code < 500) return failure(target, true, detail);
  if (code !== undefined && code >= 500) return failure(target, false, detail);
  const permanent = ["EAUTH", "EENVELOPE", "EMESSAGE", "EREQUIRETLS"];
  return failure(target, !permanent.includes(error.code ?? ""), detail);
}
