/**
 * HTML rendering of an Issue for the email destination: every value escaped, tables as
 * HTML tables, JSON, logs and diffs in `<pre>`, links as anchors, images as inline
 * `cid:` attachments and files as attachments. Inline styles only: mail clients drop
 * `<style>` blocks and scripts.
 *
 * @module
 */
import type { Block, Issue } from "@cano/sdk";
import { jsonLineDiff } from "./_text.ts";

/** Lines of a text file shown inline before the rest is left to the attachment. */
export const EMAIL_PREVIEW_LINES = 20;

/** An attachment of the mail: a file block, or an image shown inline by `cid`. */
export interface EmailAttachment {
  /** File name shown by the mail client. */
  filename: string;
  /** MIME type. */
  contentType: string;
  /** Content, base64. */
  contentBase64: string;
  /** Content-ID (without brackets) for inline images. */
  cid?: string;
}

/** The HTML body and the attachments it refers to. */
export interface EmailHtml {
  /** A complete HTML document. */
  html: string;
  /** Attachments in block order. */
  attachments: EmailAttachment[];
}

const COLORS = { firing: "#E01E5A", resolved: "#2EB67D" } as const;
const CELL = 'style="border:1px solid #ccc;padding:4px 8px;text-align:left"';
const PRE = 'style="background:#f6f8fa;padding:8px;overflow:auto;font-size:12px"';

/**
 * Renders an Issue as an HTML mail body.
 *
 * @param issue The issue.
 * @param cidDomain Domain part of the inline images' Content-IDs (the sender's domain).
 * @returns The HTML document and its attachments.
 * @example A table becomes an HTML table and markup in values is escaped
 * ```ts
 * import { renderIssueHtml } from "./_email_html.ts";
 * import { IssueSchema, table } from "@cano/sdk";
 * import assert from "node:assert/strict";
 *
 * const issue = IssueSchema.parse({
 *   id: "1", fingerprint: "f1", aggregationKey: "Oom", type: "alert", source: "prometheus",
 *   title: "<b>Pod</b> OOMKilled", severity: "HIGH", status: "firing",
 *   startsAt: "2026-03-01T10:00:00Z", createdAt: "2026-03-01T10:00:01Z",
 *   enrichments: [{ workflow: "oom", blocks: [table(["container"], [["api"]])] }],
 * });
 * const { html } = renderIssueHtml(issue, "example.com");
 * assert.match(html, /&lt;b&gt;Pod&lt;\/b&gt; OOMKilled/);
 * assert.match(html, /<td [^>]*>api<\/td>/);
 * ```
 */
export function renderIssueHtml(issue: Issue, cidDomain: string): EmailHtml {
  const attachments: EmailAttachment[] = [];
  const out: string[] = [];
  const color = COLORS[issue.status];
  out.push(
    `<h2 style="color:${color};margin:0 0 8px">[${issue.status.toUpperCase()}] ${
      escapeHtml(issue.severity)
    } ${escapeHtml(issue.title)}</h2>`,
  );
  const rows: [string, string][] = [];
  if (issue.subject) {
    const s = issue.subject;
    const where = [
      s.namespace && `namespace ${s.namespace}`,
      s.container && `container ${s.container}`,
      s.node && `node ${s.node}`,
    ].filter(Boolean).join(", ");
    rows.push(["Subject", `${s.kind}/${s.name}${where ? ` (${where})` : ""}`]);
  }
  rows.push([
    "Source",
    [issue.source, issue.type, issue.cluster && `cluster ${issue.cluster}`]
      .filter(Boolean).join(", "),
  ]);
  rows.push(["Started", issue.startsAt]);
  if (issue.endsAt) rows.push(["Ended", issue.endsAt]);
  rows.push(["Fingerprint", issue.fingerprint]);
  const labels = Object.keys(issue.labels).sort().map((k) => `${k}=${issue.labels[k]}`);
  if (labels.length > 0) rows.push(["Labels", labels.join(", ")]);
  out.push(
    `<table style="border-collapse:collapse">${
      rows.map(([k, v]) =>
        `<tr><th ${CELL}>${escapeHtml(k)}</th><td ${CELL}>${escapeHtml(v)}</td></tr>`
      )
        .join("")
    }</table>`,
  );
  if (issue.description) out.push(paragraph(issue.description));
  if (issue.links.length > 0) out.push(linkList(issue.links));
  for (const enrichment of issue.enrichments) {
    const heading = enrichment.title
      ? `${enrichment.title} (${enrichment.workflow})`
      : enrichment.workflow;
    out.push(`<h3>${escapeHtml(heading)}</h3>`);
    for (const block of enrichment.blocks) out.push(blockHtml(block, attachments, cidDomain));
  }
  const body = out.join("\n");
  return {
    html: `<!DOCTYPE html>\n<html><body style="font-family:sans-serif">\n${body}\n</body></html>`,
    attachments,
  };
}

function blockHtml(block: Block, attachments: EmailAttachment[], cidDomain: string): string {
  switch (block.type) {
    case "markdown":
      return paragraph(block.text);
    case "header":
      return `<h4>${escapeHtml(block.text)}</h4>`;
    case "divider":
      return "<hr>";
    case "list": {
      const tag = block.ordered ? "ol" : "ul";
      return `<${tag}>${block.items.map((i) => `<li>${escapeHtml(i)}</li>`).join("")}</${tag}>`;
    }
    case "table": {
      const head = block.headers.map((h) => `<th ${CELL}>${escapeHtml(h)}</th>`).join("");
      const body = block.rows.map((row) =>
        `<tr>${row.map((c) => `<td ${CELL}>${escapeHtml(c)}</td>`).join("")}</tr>`
      ).join("");
      const caption = block.title ? `<caption>${escapeHtml(block.title)}</caption>` : "";
      return `<table style="border-collapse:collapse">${caption}<tr>${head}</tr>${body}</table>`;
    }
    case "json":
      return pre(JSON.stringify(block.value, null, 2) ?? "undefined");
    case "diff":
      return pre(jsonLineDiff(block.before, block.after).join("\n"));
    case "file": {
      attachments.push({
        filename: block.name,
        contentType: block.contentType,
        contentBase64: block.encoding === "base64" ? block.data : utf8ToBase64(block.data),
      });
      const note = `<p>Attached: ${escapeHtml(block.name)}</p>`;
      if (block.encoding !== "utf8") return note;
      const lines = block.data.split("\n");
      const shown = lines.slice(-EMAIL_PREVIEW_LINES).join("\n");
      const more = lines.length > EMAIL_PREVIEW_LINES
        ? `<p>Last ${EMAIL_PREVIEW_LINES} of ${lines.length} lines; the whole file is attached.</p>`
        : "";
      return `${note}${more}${pre(shown)}`;
    }
    case "image": {
      const cid = `img${attachments.length + 1}.${safeToken(block.name)}@${cidDomain}`;
      attachments.push({
        filename: block.name,
        contentType: "image/png",
        contentBase64: block.png,
        cid,
      });
      return `<p><img src="cid:${escapeHtml(cid)}" alt="${escapeHtml(block.alt)}"></p>`;
    }
    case "links":
      return linkList(block.links);
  }
}

function paragraph(text: string): string {
  return `<p style="white-space:pre-wrap">${escapeHtml(text)}</p>`;
}

function pre(text: string): string {
  return `<pre ${PRE}>${escapeHtml(text)}</pre>`;
}

function linkList(links: readonly { title: string; url: string }[]): string {
  const items = links.filter((l) => /^https?:\/\//i.test(l.url))
    .map((l) => `<li><a href="${escapeHtml(l.url)}">${escapeHtml(l.title)}</a></li>`);
  return `<ul>${items.join("")}</ul>`;
}

/**
 * Escapes text for HTML element content and attribute values.
 *
 * @param text The text.
 * @returns The text with `&`, `<`, `>`, `"` and `'` escaped.
 * @example
 * ```ts
 * import { escapeHtml } from "./_email_html.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(escapeHtml(`<a href="x">'&'</a>`), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
 * ```
 */
export function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;").replaceAll("'", "&#39;");
}

function safeToken(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 40) || "image";
}

function utf8ToBase64(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}
