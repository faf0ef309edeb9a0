/**
 * Checks Atlassian Document Format (ADF) documents the way Jira Cloud does for rich-text
 * fields, for the local Jira API: `doc` version 1, known node types only where the ADF
 * schema allows them, known marks (`link` with an `href`, `code` only with `link`), no
 * marks in code blocks, non-empty text nodes, heading level 1–6, non-empty lists, tables,
 * rows and cells, list items starting with a paragraph, and at most 32,767 characters of
 * JSON per field.
 *
 * @module
 */

const MAX_FIELD = 32_767;
const INLINE = ["text", "hardBreak"];
const BLOCK = [
  "paragraph",
  "heading",
  "bulletList",
  "orderedList",
  "codeBlock",
  "table",
  "rule",
  "blockquote",
];
/** Child types each node type allows; undefined children mean no `content` at all. */
const CHILDREN: Record<string, string[] | undefined> = {
  doc: BLOCK,
  paragraph: INLINE,
  heading: INLINE,
  blockquote: ["paragraph", "bulletList", "orderedList", "codeBlock"],
  bulletList: ["listItem"],
  orderedList: ["listItem"],
  listItem: ["paragraph", "bulletList", "orderedList", "codeBlock"],
  codeBlock: ["text"],
  table: ["tableRow"],
  tableRow: ["tableHeader", "tableCell"],
  tableHeader: ["paragraph", "heading", "bulletList", "orderedList", "codeBlock", "rule"],
  tableCell: ["paragraph", "heading", "bulletList", "orderedList", "codeBlock", "rule"],
  rule: undefined,
  hardBreak: undefined,
  text: undefined,
};
/** Types whose `content` must hold at least one node. */
const NON_EMPTY = [
  "bulletList",
  "orderedList",
  "listItem",
  "table",
  "tableRow",
  "tableHeader",
  "tableCell",
  "blockquote",
];
const MARKS = ["strong", "em", "code", "link", "strike", "underline"];

/**
 * Checks an ADF document as Jira Cloud does; returns the problems (empty when valid).
 *
 * @param doc The value sent as a rich-text field.
 * @param where Field name for messages.
 * @returns Problems, each with a path.
 */
export function checkAdf(doc: unknown, where: string): string[] {
  const problems: string[] = [];
  if (JSON.stringify(doc ?? null).length > MAX_FIELD) {
    problems.push(
      `${where}: The entered text is too long. It exceeds the allowed limit of 32,767 characters.`,
    );
  }
  const d = doc as Record<string, unknown> | undefined;
  if (!d || typeof d !== "object" || d.type !== "doc" || d.version !== 1) {
    return [
      ...problems,
      `${where}: Operation value must be an Atlassian Document (see the Atlassian Document Format)`,
    ];
  }
  const visit = (node: unknown, at: string, parent: string): void => {
    const n = node as Record<string, unknown>;
    if (!n || typeof n !== "object" || typeof n.type !== "string") {
      return void problems.push(`${at}: not a node`);
    }
    if (!(n.type in CHILDREN)) return void problems.push(`${at}: unknown node type "${n.type}"`);
    if (n.type !== "doc" && !(CHILDREN[parent] ?? []).includes(n.type)) {
      problems.push(`${at}: "${n.type}" is not allowed in "${parent}"`);
    }
    const allowed = [
      "type",
      "content",
      "attrs",
      ...(n.type === "text" ? ["text", "marks"] : []),
      ...(n.type === "doc" ? ["version"] : []),
    ];
    const extra = Object.keys(n).filter((k) => !allowed.includes(k));
    if (extra.length) problems.push(`${at}: unknown keys ${extra.join(", ")}`);
    if (n.type === "text") {
      if (typeof n.text !== "string" || n.text.length === 0) {
        problems.push(`${at}: text must be non-empty`);
      }
      checkMarks(n.marks, at, parent, problems);
    }
    if (n.type === "heading") {
      const level = (n.attrs as { level?: unknown } | undefined)?.level;
      if (typeof level !== "number" || level < 1 || level > 6) {
        problems.push(`${at}: heading level must be 1-6`);
      }
    }
    if (n.type === "codeBlock" && n.attrs !== undefined) {
      const language = (n.attrs as { language?: unknown }).language;
      if (language !== undefined && typeof language !== "string") {
        problems.push(`${at}: language must be a string`);
      }
    }
    const childTypes = CHILDREN[n.type];
    if (n.content === undefined) {
      if (NON_EMPTY.includes(n.type)) problems.push(`${at}: "${n.type}" needs content`);
      return;
    }
    if (childTypes === undefined) {
      return void problems.push(`${at}: "${n.type}" cannot have content`);
    }
    if (!Array.isArray(n.content)) return void problems.push(`${at}: content must be an array`);
    if (NON_EMPTY.includes(n.type) && n.content.length === 0) {
      problems.push(`${at}: "${n.type}" needs content`);
    }
    if (
      n.type === "listItem" && (n.content[0] as { type?: string } | undefined)?.type !== "paragraph"
    ) {
      problems.push(`${at}: listItem must start with a paragraph`);
    }
    n.content.forEach((child, i) => visit(child, `${at}/content/${i}`, n.type as string));
  };
  visit(d, where, "doc");
  return problems;
}

function checkMarks(marks: unknown, at: string, parent: string, problems: string[]): void {
  if (marks === undefined) return;
  if (!Array.isArray(marks)) return void problems.push(`${at}: marks must be an array`);
  if (parent === "codeBlock" && marks.length > 0) {
    problems.push(`${at}: code block text cannot have marks`);
  }
  const types = marks.map((m) => (m as { type?: unknown })?.type);
  for (const [i, mark] of marks.entries()) {
    const type = types[i];
    if (!MARKS.includes(String(type))) problems.push(`${at}/marks/${i}: unknown mark "${type}"`);
    if (type === "link") {
      const href = (mark as { attrs?: { href?: unknown } }).attrs?.href;
      if (typeof href !== "string" || !URL.canParse(href)) {
        problems.push(`${at}/marks/${i}: link needs an href`);
      }
    }
  }
  if (types.includes("code") && types.some((t) => t !== "code" && t !== "link")) {
    problems.push(`${at}: code mark combines only with link`);
  }
}
