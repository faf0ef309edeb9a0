import assert from "node:assert/strict";
import {
  diff,
  divider,
  file,
  header,
  image,
  type Issue,
  IssueSchema,
  json,
  links,
  list,
  markdown,
  table,
} from "@cano/sdk";
import { jsonLineDiff, renderBlockText, renderIssueText } from "./_text.ts";

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3, 4, 5, 6]);

const ISSUE: Issue = IssueSchema.parse({
  id: "7d0c",
  fingerprint: "3f2a9c1b7d4e8a60",
  aggregationKey: "KubePodCrashLooping",
  cluster: "prod-eu",
  type: "alert",
  source: "prometheus",
  title: "Pod is crash looping",
  severity: "MEDIUM",
  status: "firing",
  description: "Pod shop/api-1 restarted 5 times\nin 10 minutes.",
  subject: { kind: "Pod", name: "api-1", namespace: "shop", container: "api", node: "node-a" },
  labels: { pod: "api-1", alertname: "KubePodCrashLooping", namespace: "shop" },
  startsAt: "2026-03-01T10:12:04.512Z",
  createdAt: "2026-03-01T10:12:05Z",
  links: [{ title: "Runbook", url: "https://runbooks.example.com/crashloop" }],
  enrichments: [
    {
      title: "Resources",
      workflow: "oom-context",
      blocks: [
        table(["container", "request", "limit"], [["api", "256Mi", "512Mi"], [
          "sidecar-proxy",
          "64Mi",
          "128Mi",
        ]], { title: "Memory" }),
        list(["first", "second"], { ordered: true }),
        json({ restarts: 5, reasons: ["OOMKilled"] }),
      ],
    },
    {
      workflow: "crash-loop-logs",
      blocks: [
        header("Logs"),
        file("previous.log", Array.from({ length: 12 }, (_, i) => `line ${i + 1}`).join("\n")),
        file("core.bin", new Uint8Array(3000)),
        image("graph.png", PNG, "memory graph"),
        divider(),
        markdown("*bold* text"),
        diff({ replicas: 2, image: "api:1" }, { image: "api:1", replicas: 3 }),
        links([{ title: "Grafana", url: "https://grafana.example.com/d/1" }]),
      ],
    },
  ],
});

Deno.test("renderIssueText() renders every part of an issue, stably", () => {
  const expected = `[FIRING] MEDIUM Pod is crash looping
Subject:     Pod shop/api-1 (container api, node node-a)
Source:      prometheus, alert, cluster prod-eu
Started:     2026-03-01T10:12:04.512Z
Fingerprint: 3f2a9c1b7d4e8a60
Labels:      alertname=KubePodCrashLooping, namespace=shop, pod=api-1

Pod shop/api-1 restarted 5 times
in 10 minutes.

Links:
  - Runbook: https://runbooks.example.com/crashloop

## Resources (oom-context)
Memory
container      request  limit
-------------  -------  -----
api            256Mi    512Mi
sidecar-proxy  64Mi     128Mi

1. first
2. second

{
  "restarts": 5,
  "reasons": [
    "OOMKilled"
  ]
}

## crash-loop-logs
### Logs

File previous.log (text/plain, 86 B, 12 lines):
  line 1
  line 2
  line 3
  line 4
  line 5
  line 6
  line 7
  line 8
  line 9
  line 10
  … 2 more lines

File core.bin (text/plain, 2.9 KiB, binary)

Image graph.png (10 B): memory graph

---

*bold* text

  {
    "image": "api:1",
-   "replicas": 2
+   "replicas": 3
  }

- Grafana: https://grafana.example.com/d/1`;
  assert.equal(renderIssueText(ISSUE), expected);
  assert.equal(renderIssueText(structuredClone(ISSUE)), expected);
});

Deno.test("renderIssueText() aligns table cells by code points, without trailing spaces", () => {
  const lines = renderBlockText(
    table(["name", "zone", "ready"], [["ünïcode-node", "eu-1a", "True"], ["n2", "", "False"]]),
  );
  assert.deepEqual(lines, [
    "name          zone   ready",
    "------------  -----  -----",
    "ünïcode-node  eu-1a  True",
    "n2                   False",
  ]);
  const column = (line: string, text: string) => [...line].indexOf(text[0]!, 12);
  assert.equal(column(lines[2]!, "True"), column(lines[0]!, "ready"));
  assert.ok(lines.every((l) => l === l.trimEnd()));
});

Deno.test("renderIssueText() uses ANSI colours only when asked", () => {
  assert.ok(!renderIssueText(ISSUE).includes("\x1b"));
  const colored = renderIssueText(ISSUE, { color: true });
  assert.ok(colored.startsWith("\x1b[31m[FIRING]\x1b[0m \x1b[33mMEDIUM\x1b[0m"));
  assert.ok(colored.includes('\x1b[31m-   "replicas": 2\x1b[0m'));
});

Deno.test("renderIssueText() replaces control characters from alert data", () => {
  const issue = { ...ISSUE, title: "evil\x1b]0;pwned\x07title", enrichments: [] };
  const first = renderIssueText(issue).split("\n")[0]!;
  assert.equal(first, "[FIRING] MEDIUM evil\uFFFD]0;pwned\uFFFDtitle");
});

Deno.test("renderBlockText() previews base64 text files and summarises long lines", () => {
  const data = btoa(`${"x".repeat(250)}\nsecond`);
  const lines = renderBlockText({
    type: "file",
    name: "a.json",
    contentType: "application/json",
    encoding: "base64",
    data,
  });
  assert.equal(lines[0], "File a.json (application/json, 257 B, 2 lines):");
  assert.equal(lines[1], `  ${"x".repeat(200)}…`);
  assert.equal(lines[2], "  second");
});

Deno.test("jsonLineDiff() keeps three lines of context and collapses the rest", () => {
  const before = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i + 10}`, i]));
  const after = { ...before, k15: "changed" };
  assert.deepEqual(jsonLineDiff(before, after), [
    "  …",
    '    "k12": 2,',
    '    "k13": 3,',
    '    "k14": 4,',
    '-   "k15": 5,',
    '+   "k15": "changed",',
    '    "k16": 6,',
    '    "k17": 7,',
    '    "k18": 8,',
    "  …",
  ]);
  assert.deepEqual(jsonLineDiff({ a: 1 }, { a: 1 }), ["  (no changes)"]);
  assert.deepEqual(jsonLineDiff(undefined, [1]), ["- undefined", "+ [", "+   1", "+ ]"]);
});
