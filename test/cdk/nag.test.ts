/**
 * cdk-nag's AwsSolutions pack on the construct, bundled as `cdk synth` bundles it: zero findings,
 * errors and warnings alike, and every acknowledgement (there are none today) carries a reason.
 * The same synthesis proves the esbuild alias: the bundles contain the fixture module, not the demo
 * that tsconfig's `paths` would give.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Annotations, Match } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks } from "cdk-nag";
import { synth } from "./support.js";

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
    for (const rule of ["AwsSolutions-IAM5", "AwsSolutions-IAM4", "AwsSolutions-SQS4", "AwsSolutions-DDB3", "AwsSolutions-KDS1", "AwsSolutions-L1"]) {
      expect(report).toMatch(new RegExp(`"${rule}",[^\\n]*,"Compliant"`));
    }
    expect(report).not.toMatch(/"Non-Compliant"/);
  });

  it("acknowledges only the documented rules, each with a reason", () => {
    const suppressions: { id: string; reason: string }[] = [];
    for (const resource of Object.values(template.toJSON().Resources as Record<string, { Metadata?: { cdk_nag?: { rules_to_suppress?: { id: string; reason: string }[] } } }>)) {
      suppressions.push(...(resource.Metadata?.cdk_nag?.rules_to_suppress ?? []));
    }
    for (const s of suppressions) expect(s.reason.length, `reason for ${s.id}`).toBeGreaterThanOrEqual(20);
    expect([...new Set(suppressions.map((s) => s.id))].sort()).toEqual([...ACKNOWLEDGED].sort());
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
