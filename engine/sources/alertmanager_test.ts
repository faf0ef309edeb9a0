import assert from "node:assert/strict";
import { type Issue, IssueSchema } from "@cano/sdk";
import {
  type AlertmanagerSourceOptions,
  DEFAULT_SEVERITY_MAP,
  INVALID_PAYLOAD_MESSAGE,
  labelsFingerprint,
  parseAlertmanagerPayload,
  silenceUrl,
  type SourceError,
} from "./alertmanager.ts";

const EXAMPLES = new URL("../../examples/alerts/", import.meta.url);
const NOW = Date.parse("2026-03-01T10:30:00.000Z");

function readExample(name: string): Record<string, unknown> {
  return JSON.parse(Deno.readTextFileSync(new URL(name, EXAMPLES)));
}

function fixed(options: AlertmanagerSourceOptions = {}): AlertmanagerSourceOptions {
  let n = 0;
  return { now: () => NOW, newId: () => `id-${++n}`, ...options };
}

function parseOk(body: unknown, options: AlertmanagerSourceOptions = {}): Issue[] {
  const result = parseAlertmanagerPayload(body, fixed(options));
  if (!result.ok) assert.fail(`expected ok, got ${JSON.stringify(result.error)}`);
  for (const issue of result.issues) IssueSchema.parse(issue);
  return result.issues;
}

function parseError(body: unknown): SourceError {
  const result = parseAlertmanagerPayload(body);
  if (result.ok) assert.fail("expected the payload to be rejected");
  assert.equal(result.error.message, INVALID_PAYLOAD_MESSAGE);
  return result.error;
}

function payload(
  alert: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    externalURL: "http://alertmanager:9093",
    alerts: [{
      status: "firing",
      labels: { alertname: "TestAlert" },
      annotations: {},
      startsAt: "2026-03-01T10:00:00Z",
      endsAt: "0001-01-01T00:00:00Z",
      ...alert,
    }],
    ...extra,
  };
}

function one(alert: Record<string, unknown>, options: AlertmanagerSourceOptions = {}): Issue {
  const [issue] = parseOk(payload(alert), options);
  assert.ok(issue);
  return issue;
}

Deno.test("parseAlertmanagerPayload() splits a grouped payload into one issue per alert", () => {
  const body = readExample("crashloop_group.json");
  const issues = parseOk(body);
  assert.equal(issues.length, 2);
  assert.deepEqual(issues.map((i) => i.fingerprint), ["3f2a9c1b7d4e8a60", "a81c03e5f9b27d44"]);
  assert.deepEqual(issues.map((i) => i.id), ["id-1", "id-2"]);
  assert.deepEqual(issues.map((i) => i.subject?.name), [
    "api-7c9d8b6f5-x2kqp",
    "worker-5d7f9c8b4-abcde",
  ]);
});

Deno.test("parseAlertmanagerPayload() takes the status of each alert, not the group", () => {
  const body = readExample("crashloop_group.json");
  assert.equal(body["status"], "firing");
  const issues = parseOk(body);
  assert.deepEqual(issues.map((i) => i.status), ["firing", "resolved"]);
  assert.equal(issues[0]?.endsAt, undefined);
  assert.equal(issues[1]?.endsAt, "2026-03-01T10:20:34.512Z");
});

Deno.test("parseAlertmanagerPayload() builds the complete issue of a crash-looping pod", () => {
  const body = readExample("crashloop_group.json");
  const alerts = body["alerts"] as Record<string, unknown>[];
  const [issue] = parseOk(body);
  const silenceFilter = '{alertname="KubePodCrashLooping", cluster="prod-eu-1", container="api", ' +
    'job="kube-state-metrics", namespace="shop", pod="api-7c9d8b6f5-x2kqp", ' +
    'prometheus="monitoring/kube-prometheus-stack-prometheus", reason="CrashLoopBackOff", ' +
    'severity="warning", uid="5b1f1f8e-3c1e-4d7a-9b2a-0f6a2b4c9d11"}';
  assert.deepEqual(issue, {
    id: "id-1",
    fingerprint: "3f2a9c1b7d4e8a60",
    aggregationKey: "KubePodCrashLooping",
    cluster: "prod-eu-1",
    type: "alert",
    source: "prometheus",
    title: "Pod is crash looping.",
    description:
      'Pod shop/api-7c9d8b6f5-x2kqp (api) is in waiting state (reason: "CrashLoopBackOff").',
    severity: "MEDIUM",
    status: "firing",
    subject: { kind: "Pod", name: "api-7c9d8b6f5-x2kqp", namespace: "shop", container: "api" },
    labels: (alerts[0] as { labels: Record<string, string> }).labels,
    annotations: (alerts[0] as { annotations: Record<string, string> }).annotations,
    startsAt: "2026-03-01T10:12:04.512Z",
    createdAt: "2026-03-01T10:30:00.000Z",
    links: [
      {
        title: "Prometheus",
        url:
          "http://prometheus.example.com/graph?g0.expr=max_over_time%28kube_pod_container_status_waiting_reason%7Breason%3D%22CrashLoopBackOff%22%7D%5B5m%5D%29+%3E%3D+1&g0.tab=1",
      },
      {
        title: "Runbook",
        url: "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubepodcrashlooping",
      },
      {
        title: "Silence",
        url: "http://alertmanager.example.com:9093/#/silences/new?filter=" +
          encodeURIComponent(silenceFilter),
      },
    ],
    enrichments: [],
    raw: {
      alert: alerts[0],
      receiver: "k8s-enricher",
      groupKey:
        '{}/{namespace=~"shop|payments"}:{alertname="KubePodCrashLooping", namespace="shop"}',
      externalURL: "http://alertmanager.example.com:9093",
      groupLabels: { alertname: "KubePodCrashLooping", namespace: "shop" },
    },
  });
});

Deno.test("parseAlertmanagerPayload() maps severity labels case-insensitively", () => {
  const expected: [string | undefined, string][] = [
    ["critical", "HIGH"],
    ["CRITICAL", "HIGH"],
    ["high", "HIGH"],
    ["error", "HIGH"],
    [" Warning ", "MEDIUM"],
    ["medium", "MEDIUM"],
    ["low", "LOW"],
    ["info", "INFO"],
    ["none", "INFO"],
    ["debug", "DEBUG"],
    ["p1", "INFO"],
    ["", "INFO"],
    [undefined, "INFO"],
  ];
  for (const [label, severity] of expected) {
    const labels = label === undefined ? { alertname: "A" } : { alertname: "A", severity: label };
    assert.equal(one({ labels }).severity, severity, `severity label ${label}`);
  }
});

Deno.test("parseAlertmanagerPayload() uses a custom severity map and default severity", () => {
  const custom = { severityMap: { P1: "HIGH", p2: "MEDIUM" }, defaultSeverity: "LOW" } as const;
  assert.equal(one({ labels: { alertname: "A", severity: "p1" } }, custom).severity, "HIGH");
  assert.equal(one({ labels: { alertname: "A", severity: "P2" } }, custom).severity, "MEDIUM");
  // The custom map replaces the default one.
  assert.equal(one({ labels: { alertname: "A", severity: "critical" } }, custom).severity, "LOW");
  assert.equal(one({ labels: { alertname: "A" } }, custom).severity, "LOW");
  const extended = { severityMap: { ...DEFAULT_SEVERITY_MAP, page: "HIGH" } } as const;
  assert.equal(one({ labels: { alertname: "A", severity: "page" } }, extended).severity, "HIGH");
  assert.equal(one({ labels: { alertname: "A", severity: "low" } }, extended).severity, "LOW");
});

Deno.test("parseAlertmanagerPayload() rejects a severity map with an unknown severity", () => {
  assert.throws(
    () =>
      parseAlertmanagerPayload(payload(), {
        severityMap: { critical: "high" as unknown as "HIGH" },
      }),
    { name: "RangeError", message: /severity map sends "critical" to "high"/ },
  );
  assert.throws(
    () => parseAlertmanagerPayload(payload(), { defaultSeverity: "WARN" as unknown as "LOW" }),
    RangeError,
  );
});

Deno.test("parseAlertmanagerPayload() does not read the scrape job label as a Job", () => {
  const onlyScrapeJob = one({
    labels: { alertname: "TargetDown", job: "node-exporter", namespace: "monitoring" },
  });
  assert.deepEqual(onlyScrapeJob.subject, {
    kind: "Namespace",
    name: "monitoring",
    namespace: "monitoring",
  });
  const [job] = parseOk(readExample("job_failed_resolved.json"));
  assert.deepEqual(job?.subject, {
    kind: "Job",
    name: "nightly-backup-29512340",
    namespace: "ops",
  });
  const noSubject = one({ labels: { alertname: "Watchdog", job: "prometheus" } });
  assert.equal("subject" in noSubject, false);
});

Deno.test("parseAlertmanagerPayload() drops the zero endsAt of firing alerts", () => {
  assert.equal("endsAt" in one({ endsAt: "0001-01-01T00:00:00Z" }), false);
  // A hand-written sender may put a real endsAt on a firing alert: it is not resolved yet.
  assert.equal("endsAt" in one({ endsAt: "2026-03-01T11:00:00Z" }), false);
  assert.equal("endsAt" in one({ status: "resolved", endsAt: "0001-01-01T00:00:00Z" }), false);
  assert.equal("endsAt" in one({ status: "resolved", endsAt: "not a time" }), false);
  assert.equal("endsAt" in one({ status: "resolved", endsAt: undefined }), false);
  assert.equal(
    one({ status: "resolved", endsAt: "2026-03-01T10:20:34.123456789+01:00" }).endsAt,
    "2026-03-01T10:20:34.123456789+01:00",
  );
});

Deno.test("parseAlertmanagerPayload() builds links and skips URLs that do not parse", () => {
  const issue = one({
    labels: { alertname: "A", namespace: "shop" },
    annotations: {
      runbook_url: "javascript:alert(1)",
      dashboard_url: "https://grafana.example.com/d/abc?var-ns=shop",
    },
    generatorURL: "not a url",
  });
  assert.deepEqual(issue.links, [
    { title: "Dashboard", url: "https://grafana.example.com/d/abc?var-ns=shop" },
    {
      title: "Silence",
      url:
        "http://alertmanager:9093/#/silences/new?filter=%7Balertname%3D%22A%22%2C%20namespace%3D%22shop%22%7D",
    },
  ]);
  const [noExternal] = parseOk(payload({ generatorURL: "" }, { externalURL: "alertmanager:9093" }));
  assert.deepEqual(noExternal?.links, []);
  const [missingExternal] = parseOk(payload({}, { externalURL: undefined }));
  assert.deepEqual(missingExternal?.links, []);
});

Deno.test("silenceUrl() quotes values and label names that need it", () => {
  const url = silenceUrl("https://am.example.com/alertmanager/", {
    zone: "a",
    "app.kubernetes.io/name": "api",
    alertname: 'Say "hi"',
    path: "C:\\tmp",
  });
  assert.equal(
    url,
    "https://am.example.com/alertmanager/#/silences/new?filter=" +
      encodeURIComponent(
        '{alertname="Say \\"hi\\"", "app.kubernetes.io/name"="api", path="C:\\\\tmp", zone="a"}',
      ),
  );
  assert.equal(silenceUrl("", { alertname: "A" }), undefined);
  assert.equal(silenceUrl("ftp://am", { alertname: "A" }), undefined);
});

Deno.test("parseAlertmanagerPayload() falls back for title and description", () => {
  const fromMessage = one({ annotations: { message: "Disk is full" } });
  assert.equal(fromMessage.title, "Disk is full");
  assert.equal(fromMessage.description, "Disk is full");
  const bare = one({ annotations: undefined });
  assert.equal(bare.title, "TestAlert");
  assert.equal("description" in bare, false);
  assert.deepEqual(bare.annotations, {});
  const emptySummary = one({ annotations: { summary: " ", description: "Details" } });
  assert.equal(emptySummary.title, "TestAlert");
  assert.equal(emptySummary.description, "Details");
});

Deno.test("parseAlertmanagerPayload() takes the cluster from the label, then the option", () => {
  const labelled = { labels: { alertname: "A", cluster: "prod-eu-1" } };
  assert.equal(one(labelled, { cluster: "fallback" }).cluster, "prod-eu-1");
  assert.equal(one({}, { cluster: "fallback" }).cluster, "fallback");
  assert.equal("cluster" in one({}), false);
});

Deno.test("labelsFingerprint() matches the Prometheus label set fingerprint", () => {
  // Test vectors of prometheus/common model/signature_test.go.
  assert.equal(labelsFingerprint({}), 14695981039346656037n.toString(16));
  assert.equal(
    labelsFingerprint({ name: "garland, briggs", fear: "love is not enough" }),
    5799056148416392346n.toString(16).padStart(16, "0"),
  );
  assert.equal(
    labelsFingerprint({ "first-label": "first-label-value" }),
    5146282821936882169n.toString(16).padStart(16, "0"),
  );
  assert.equal(
    labelsFingerprint({
      "first-label": "first-label-value",
      "second-label": "second-label-value",
      "third-label": "third-label-value",
    }),
    13843036195897128121n.toString(16).padStart(16, "0"),
  );
});

Deno.test("parseAlertmanagerPayload() computes a stable fingerprint when none is sent", () => {
  const a = one({ labels: { alertname: "A", pod: "api-0", namespace: "shop" } });
  const b = one({ labels: { namespace: "shop", pod: "api-0", alertname: "A" }, fingerprint: "" });
  const c = one({ labels: { alertname: "A", pod: "api-1", namespace: "shop" } });
  assert.match(a.fingerprint, /^[0-9a-f]{16}$/);
  assert.equal(a.fingerprint, b.fingerprint);
  assert.notEqual(a.fingerprint, c.fingerprint);
  assert.equal(
    a.fingerprint,
    labelsFingerprint({ alertname: "A", pod: "api-0", namespace: "shop" }),
  );
});

Deno.test("parseAlertmanagerPayload() accepts unknown fields and keeps them in raw", () => {
  const [issue] = parseOk(
    payload({ silencedBy: [], extra: { nested: true } }, {
      notification_reason: "first notification",
      routeLabels: { team: "a" },
      futureField: 42,
      receiver: "team\\.x",
    }),
  );
  const raw = issue?.raw as { alert: Record<string, unknown>; receiver: string };
  assert.deepEqual(raw.alert["extra"], { nested: true });
  assert.equal(raw.receiver, "team\\.x");
  assert.equal("groupKey" in raw, false);
  assert.equal("groupLabels" in raw, false);
});

Deno.test("parseAlertmanagerPayload() copies labels instead of sharing them", () => {
  const body = payload({ labels: { alertname: "A", pod: "p" } });
  const [issue] = parseOk(body);
  issue!.labels["pod"] = "changed";
  const alerts = body["alerts"] as { labels: Record<string, string> }[];
  assert.equal(alerts[0]?.labels["pod"], "p");
});

Deno.test("parseAlertmanagerPayload() uses crypto.randomUUID and Date.now by default", () => {
  const before = Date.now();
  const result = parseAlertmanagerPayload(readExample("crashloop_group.json"));
  assert.ok(result.ok);
  const [a, b] = result.issues;
  assert.match(a!.id, /^[0-9a-f-]{36}$/);
  assert.notEqual(a!.id, b!.id);
  assert.ok(Date.parse(a!.createdAt) >= before);
});

Deno.test("parseAlertmanagerPayload() reports a missing alertname with its path", () => {
  const error = parseError(payload({ labels: { severity: "warning" } }));
  assert.deepEqual(error.issues.map((i) => i.path), ["alerts[0].labels.alertname"]);
  const empty = parseError(payload({ labels: { alertname: "" } }));
  assert.deepEqual(empty.issues.map((i) => i.path), ["alerts[0].labels.alertname"]);
});

Deno.test("parseAlertmanagerPayload() reports every wrong type with its path", () => {
  const error = parseError({
    alerts: [
      { status: "pending", labels: { alertname: "A", replicas: 3 }, startsAt: "yesterday" },
      { status: "firing", labels: { alertname: "B", "app.kubernetes.io/name": 1 } },
    ],
    truncatedAlerts: "0",
    groupLabels: [],
  });
  assert.deepEqual(error.issues.map((i) => i.path).sort(), [
    "alerts[0].labels.replicas",
    "alerts[0].startsAt",
    "alerts[0].status",
    'alerts[1].labels["app.kubernetes.io/name"]',
    "alerts[1].startsAt",
    "groupLabels",
    "truncatedAlerts",
  ]);
  const status = error.issues.find((i) => i.path === "alerts[0].status");
  assert.equal(status?.message, 'Expected "firing" or "resolved"');
  assert.deepEqual(parseError({ alerts: {} }).issues.map((i) => i.path), ["alerts"]);
});

Deno.test("parseAlertmanagerPayload() rejects a payload without alerts", () => {
  assert.deepEqual(parseError({ alerts: [] }).issues, [
    { path: "alerts", message: "Expected at least one alert" },
  ]);
  assert.deepEqual(parseError({ receiver: "x" }).issues.map((i) => i.path), ["alerts"]);
});

Deno.test("parseAlertmanagerPayload() rejects a body that is not an object without throwing", () => {
  for (const body of [null, undefined, "alerts", 42, true, [], [payload()]]) {
    const error = parseError(body);
    assert.equal(error.issues.length, 1, JSON.stringify(body));
    assert.equal(error.issues[0]?.path, "(root)");
  }
});

Deno.test("parseAlertmanagerPayload() parses every example payload", async () => {
  const expectations: Record<string, Partial<Issue>[]> = {
    "crashloop_group.json": [
      { status: "firing", severity: "MEDIUM" },
      { status: "resolved", severity: "MEDIUM" },
    ],
    "job_failed_resolved.json": [
      { status: "resolved", severity: "MEDIUM", endsAt: "2026-03-01T03:01:30.5Z" },
    ],
    "minimal_v027.json": [
      {
        status: "firing",
        severity: "MEDIUM",
        subject: { kind: "Deployment", name: "checkout", namespace: "payments" },
      },
    ],
    "node_not_ready.json": [
      {
        status: "firing",
        severity: "HIGH",
        subject: {
          kind: "Node",
          name: "ip-10-0-3-17.eu-west-1.compute.internal",
          node: "ip-10-0-3-17.eu-west-1.compute.internal",
        },
      },
    ],
    "oom_firing.json": [
      {
        status: "firing",
        severity: "MEDIUM",
        subject: { kind: "Pod", name: "api-7c9d8b6f5-x2kqp", namespace: "shop", container: "api" },
      },
    ],
  };
  const files: string[] = [];
  for await (const entry of Deno.readDir(EXAMPLES)) {
    if (entry.name.endsWith(".json")) files.push(entry.name);
  }
  assert.deepEqual(files.sort(), Object.keys(expectations).sort());
  for (const file of files) {
    const issues = parseOk(readExample(file));
    const expected = expectations[file]!;
    assert.equal(issues.length, expected.length, file);
    issues.forEach((issue, i) => {
      for (const [key, value] of Object.entries(expected[i]!)) {
        assert.deepEqual(issue[key as keyof Issue], value, `${file} alert ${i} ${key}`);
      }
      assert.ok(issue.links.some((l) => l.title === "Silence"), `${file} has a silence link`);
    });
  }
});

Deno.test("parseAlertmanagerPayload() keeps the dashboard link of the node example", () => {
  const [issue] = parseOk(readExample("node_not_ready.json"));
  assert.deepEqual(issue?.links.map((l) => l.title), [
    "Prometheus",
    "Runbook",
    "Dashboard",
    "Silence",
  ]);
  assert.equal(issue?.fingerprint, labelsFingerprint(issue!.labels));
});
