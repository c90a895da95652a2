/**
 * cdk-nag's AwsSolutions pack on the construct, bundled as `cdk synth` bundles it: zero findings,
 * errors and warnings alike, and every acknowledgement (there are none today) carries a reason.
 * The same synthesis proves the esbuild alias: the bundles contain the fixture module, not the demo
 * that tsconfig's `paths` would give. With an existing bucket passed in, the one finding is the
 * documented one: the roles' object wildcard (AwsSolutions-IAM5). With `alarmEmail`, the created topic
 * is checked too (SNS3): zero findings.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Annotations, Match } from "aws-cdk-lib/assertions";
import * as s3 from "aws-cdk-lib/aws-s3";
import { AwsSolutionsChecks } from "cdk-nag";
import { scope, synth } from "./support.js";

/** Rule ids SparklessApp acknowledges (NagSuppressions), each with a reason in the template. None today. */
const ACKNOWLEDGED: string[] = [];

const outdir = mkdtempSync(path.join(os.tmpdir(), "sparkless-nag-"));
const { app, stack, template } = synth({}, { bundle: true, outdir, aspects: [new AwsSolutionsChecks({ verbose: true })] });
const assembly = app.synth();
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe("cdk-nag AwsSolutions", () => {
  it("reports no error", () => {
    expect(Annotations.fromStack(stack).findError("*", Match.stringLikeRegexp("AwsSolutions-"))).toEqual([]);
  });

  it("reports no warning", () => {
    expect(Annotations.fromStack(stack).findWarning("*", Match.stringLikeRegexp("AwsSolutions-"))).toEqual([]);
  });

  it("checked the resources that matter (the rules ran)", () => {
    const report = readFileSync(path.join(assembly.directory, "AwsSolutions--Test-NagReport.csv"), "utf8");
    for (const rule of [
      "AwsSolutions-IAM5",
      "AwsSolutions-IAM4",
      "AwsSolutions-SQS3",
      "AwsSolutions-SQS4",
      "AwsSolutions-DDB3",
      "AwsSolutions-KDS1",
      "AwsSolutions-L1",
      "AwsSolutions-S1",
      "AwsSolutions-S2",
      "AwsSolutions-S10",
    ]) {
      expect(report).toMatch(new RegExp(`"${rule}",[^\\n]*,"Compliant"`));
    }
    expect(report).not.toMatch(/"Non-Compliant"/);
  });

  it("acknowledges only the documented rules, each with a reason", () => {
    const suppressions: { id: string; reason: string }[] = [];
    for (const resource of Object.values(
      template.toJSON().Resources as Record<string, { Metadata?: { cdk_nag?: { rules_to_suppress?: { id: string; reason: string }[] } } }>,
    )) {
      suppressions.push(...(resource.Metadata?.cdk_nag?.rules_to_suppress ?? []));
    }
    for (const s of suppressions) expect(s.reason.length, `reason for ${s.id}`).toBeGreaterThanOrEqual(20);
    expect([...new Set(suppressions.map((s) => s.id))].sort()).toEqual([...ACKNOWLEDGED].sort());
  });
});

describe("cdk-nag with the alarm topic created for alarmEmail", () => {
  const { stack: withTopic, app: topicApp } = synth({ alarmEmail: "oncall@example.com" }, { aspects: [new AwsSolutionsChecks({ verbose: true })] });
  const topicAssembly = topicApp.synth();

  it("reports no error and no warning", () => {
    expect(Annotations.fromStack(withTopic).findError("*", Match.stringLikeRegexp("AwsSolutions-"))).toEqual([]);
    expect(Annotations.fromStack(withTopic).findWarning("*", Match.stringLikeRegexp("AwsSolutions-"))).toEqual([]);
  });

  it("checked the topic (SNS3: TLS only)", () => {
    const report = readFileSync(path.join(topicAssembly.directory, "AwsSolutions--Test-NagReport.csv"), "utf8");
    expect(report).toMatch(/"AwsSolutions-SNS3","Test\/App\/AlarmTopic\/Resource","Compliant"/);
    expect(report).not.toMatch(/"Non-Compliant"/);
  });
});

describe("cdk-nag with an existing bucket", () => {
  it("reports only AwsSolutions-IAM5, for the object wildcard the roles then hold", () => {
    const { stack: imported } = synth(
      { bucket: s3.Bucket.fromBucketName(scope(), "Existing", "shared-bucket") },
      { aspects: [new AwsSolutionsChecks()] },
    );
    const errors = Annotations.fromStack(imported).findError("*", Match.stringLikeRegexp("AwsSolutions-"));
    const rules = errors.map((e) => String(e.entry.data).match(/AwsSolutions-[A-Z0-9]+/)?.[0]);
    expect(new Set(rules)).toEqual(new Set(["AwsSolutions-IAM5"]));
    expect(errors.map((e) => String(e.entry.data)).join("\n")).toMatch(/shared-bucket\/cdkfixture\/shuffle\/\*/);
    expect(Annotations.fromStack(imported).findWarning("*", Match.stringLikeRegexp("AwsSolutions-"))).toEqual([]);
  });
});

describe("bundling", () => {
  const functions = Object.values(template.findResources("AWS::Lambda::Function"));
  const bundles = functions.map((f) => path.join(assembly.directory, `asset.${String(f.Properties.Code.S3Key).replace(/\.zip$/, "")}`, "index.mjs"));

  it("writes one ESM bundle per function", () => {
    expect(bundles).toHaveLength(2);
    for (const b of bundles) expect(existsSync(b), b).toBe(true);
  });

  it("bundles the app module given as `entry` (esbuild alias sparkless-app)", () => {
    for (const b of bundles) {
      const code = readFileSync(b, "utf8");
      expect(code).toContain("cdkfixture");
      expect(code).toContain("fixture-lines");
      expect(code).not.toContain('"wordcount"');
    }
  });
});
