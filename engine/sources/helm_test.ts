import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { IssueSchema } from "@cano/sdk";
import { k8sFixture } from "../../tests/fixtures/k8s/load.ts";
import {
  encodeRelease,
  helmRelease,
  releaseSecret,
} from "../../tests/fixtures/k8s/make_helm_release.ts";
import type { KubeObject } from "../kubernetes/api.ts";
import { decodeHelmRelease, detectHelmReleaseIssues } from "./helm.ts";

const FORBIDDEN = ["s3cr3t-from-values", "kubectl get secret", "apiVersion: v1"];

function withStatus(secret: KubeObject, status: string): KubeObject {
  const copy = structuredClone(secret);
  copy.metadata!.labels!["status"] = status;
  return copy;
}

Deno.test("decodeHelmRelease() decodes a real-format release Secret (base64 twice, gzip)", () => {
  const secret = k8sFixture("helm_release_failed");
  assert.match(
    Buffer.from(String((secret["data"] as { release: string }).release), "base64").toString(),
    /^H4sIAAAAAAAC\//,
  );
  const summary = decodeHelmRelease(secret);
  assert.deepEqual(summary, {
    name: "shop",
    namespace: "shop",
    revision: 7,
    status: "failed",
    description:
      'Upgrade "shop" failed: context deadline exceeded: resource Deployment/shop/api not ready. status: InProgress, message: Available: 2/3',
    chart: "shop",
    chartVersion: "1.9.0",
    appVersion: "2.15.0",
    chartHome: "https://charts.example.com/shop",
    firstDeployed: "2025-11-02T12:00:00.184377+00:00",
    lastDeployed: "2026-03-01T10:45:00.512304+00:00",
  });
});

Deno.test("decodeHelmRelease() reads the ConfigMap driver (base64 once) and plain JSON", () => {
  const release = helmRelease({
    revision: 2,
    status: "deployed",
    description: "Upgrade complete",
    lastDeployed: "2026-03-01T10:00:00Z",
  });
  assert.equal(decodeHelmRelease({ data: { release: encodeRelease(release) } }).revision, 2);
  const plain = Buffer.from(Buffer.from(JSON.stringify(release)).toString("base64")).toString(
    "base64",
  );
  assert.equal(decodeHelmRelease({ data: { release: plain } }).status, "deployed");
  assert.throws(
    () => decodeHelmRelease({ data: {} }),
    /Cannot decode Helm release: data.release is missing/,
  );
  assert.throws(
    () => decodeHelmRelease({ data: { release: "bm9wZQ==" } }),
    /neither gzip nor JSON/,
  );
});

Deno.test("detectHelmReleaseIssues() reports a failed revision without values, notes or manifest", () => {
  const failed = k8sFixture("helm_release_failed");
  const issues = detectHelmReleaseIssues(withStatus(failed, "pending-upgrade"), failed, {
    cluster: "prod-eu",
    now: () => Date.parse("2026-03-01T10:50:01Z"),
  });
  assert.equal(issues.length, 1);
  const issue = IssueSchema.parse(issues[0]);
  assert.equal(issue.source, "helm");
  assert.equal(issue.aggregationKey, "helm_release_failed");
  assert.equal(issue.severity, "HIGH");
  assert.equal(
    issue.title,
    'Helm release shop/shop revision 7 failed (chart shop-1.9.0): Upgrade "shop" failed: context deadline exceeded: resource Deployment/shop/api not ready. status: InProgress, message: Available: 2/3',
  );
  assert.deepEqual(issue.subject, { kind: "HelmRelease", name: "shop", namespace: "shop" });
  assert.equal(issue.labels["chart_version"], "1.9.0");
  assert.equal(issue.labels["app_version"], "2.15.0");
  assert.equal(issue.labels["revision"], "7");
  assert.deepEqual(issue.links, [{ title: "Chart home", url: "https://charts.example.com/shop" }]);
  const text = JSON.stringify(issue);
  for (const forbidden of FORBIDDEN) assert.ok(!text.includes(forbidden), forbidden);
  assert.deepEqual(detectHelmReleaseIssues(failed, structuredClone(failed)), []);
});

Deno.test("detectHelmReleaseIssues() skips a revision that failed before the watch started", () => {
  const failed = k8sFixture("helm_release_failed");
  assert.deepEqual(
    detectHelmReleaseIssues(undefined, failed, { since: Date.parse("2026-03-01T11:00:00Z") }),
    [],
  );
  assert.equal(
    detectHelmReleaseIssues(undefined, failed, { since: Date.parse("2026-03-01T10:40:00Z") })
      .length,
    1,
  );
});

Deno.test("detectHelmReleaseIssues() resolves the failure when a later revision is deployed", () => {
  const failed = k8sFixture("helm_release_failed");
  const [firing] = detectHelmReleaseIssues(withStatus(failed, "pending-upgrade"), failed);
  const next = releaseSecret(
    helmRelease({
      revision: 8,
      status: "deployed",
      description: "Upgrade complete",
      lastDeployed: "2026-03-01T11:00:00Z",
    }),
    { createdAt: 1772362800, modifiedAt: 1772362900 },
  ) as KubeObject;
  const [resolved] = detectHelmReleaseIssues(withStatus(next, "pending-upgrade"), next);
  assert.equal(resolved?.status, "resolved");
  assert.equal(resolved?.fingerprint, firing?.fingerprint);
});

Deno.test("detectHelmReleaseIssues() reports a release stuck in pending-upgrade past the threshold", () => {
  const pending = k8sFixture("helm_release_pending");
  const options = { pendingAfterMs: 900_000 };
  assert.deepEqual(
    detectHelmReleaseIssues(undefined, pending, {
      ...options,
      now: () => Date.parse("2026-03-01T11:10:00Z"),
    }),
    [],
  );
  const [firing] = detectHelmReleaseIssues(pending, pending, {
    ...options,
    previousAt: Date.parse("2026-03-01T11:10:00Z"),
    now: () => Date.parse("2026-03-01T11:16:00Z"),
  });
  assert.equal(firing?.aggregationKey, "helm_release_pending");
  assert.equal(firing?.title, "Helm release shop/shop revision 8 has been pending-upgrade for 16m");
  const issues = detectHelmReleaseIssues(pending, withStatus(pending, "deployed"), {
    ...options,
    previousAt: Date.parse("2026-03-01T11:16:00Z"),
    now: () => Date.parse("2026-03-01T11:17:00Z"),
  });
  assert.deepEqual(
    issues.map((i) => [i.aggregationKey, i.status]),
    [["helm_release_failed", "resolved"], ["helm_release_pending", "resolved"]],
    "a deployed revision also resolves an earlier failure (the runner drops it if none is open)",
  );
  assert.equal(issues[1]?.fingerprint, firing?.fingerprint);
});

Deno.test("detectHelmReleaseIssues() still reports a failed release whose payload is corrupt", () => {
  const failed = k8sFixture("helm_release_failed");
  (failed["data"] as { release: string }).release = "bm9wZQ==";
  const [issue] = detectHelmReleaseIssues(withStatus(failed, "pending-upgrade"), failed);
  assert.equal(issue?.subject?.name, "shop");
  assert.equal(issue?.labels["revision"], "7");
  assert.match(issue?.description ?? "", /could not be decoded/);
});
