/**
 * Shared set-up for the CDK tests: a stack holding one SparklessApp for the fixture app module.
 * Bundling is skipped unless asked for (`bundle: true`): template assertions do not need the code.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll } from "vitest";
import { App, Aspects, Duration, Stack, type IAspect } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { SparklessApp, type SparklessAppProps } from "../../cdk/sparkless-app.js";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const FIXTURE_ENTRY = path.join(ROOT, "test/cdk/fixtures/fixture-app.ts");
/** The fixture with checkpointStore "s3". */
export const S3_FIXTURE_ENTRY = path.join(ROOT, "test/cdk/fixtures/fixture-s3-app.ts");
/** The fixture reading the streams "a" and "b". */
export const TWO_STREAMS_FIXTURE_ENTRY = path.join(ROOT, "test/cdk/fixtures/fixture-two-streams-app.ts");
/** A module that throws at import without FIXTURE_REQUIRED_TABLE. */
export const BROKEN_FIXTURE_ENTRY = path.join(ROOT, "test/cdk/fixtures/fixture-broken-app.ts");

/** The props cdk/app.ts would read from the fixture module. */
export const FIXTURE_PROPS: SparklessAppProps = {
  entry: FIXTURE_ENTRY,
  appName: "cdkfixture",
  batchInterval: Duration.seconds(1),
  maxTaskAttempts: 3,
  inputStreams: [{ streamName: "fixture-lines" }],
};

/** Every synthesis of a test file writes under one temporary folder, removed after the file's tests. */
let scratch: string | undefined;
function scratchDir(): string {
  // afterAll registered inside a describe runs when that describe ends: start a new folder after it.
  if (!scratch || !existsSync(scratch)) {
    const dir = mkdtempSync(path.join(os.tmpdir(), "sparkless-cdk-test-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    scratch = dir;
  }
  return mkdtempSync(path.join(scratch, "out-"));
}

/** A scope in a throw-away app, for imported resources. */
export const scope = (): Stack => new Stack(new App({ outdir: scratchDir() }));

export interface Synth {
  readonly app: App;
  readonly stack: Stack;
  readonly construct: SparklessApp;
  readonly template: Template;
}

/**
 * A stack "Test" with one SparklessApp "App" for the fixture, with `overrides` on FIXTURE_PROPS. Pass a
 * function to build overrides in the stack itself (a bucket of the same stack, say).
 */
export function synth(
  overrides: Partial<SparklessAppProps> | ((stack: Stack) => Partial<SparklessAppProps>) = {},
  options: { bundle?: boolean; outdir?: string; aspects?: IAspect[] } = {},
): Synth {
  const app = new App({
    outdir: options.outdir ?? scratchDir(),
    // An empty list skips bundling for every stack (assets become placeholders).
    context: options.bundle ? {} : { "aws:cdk:bundling-stacks": [] },
  });
  const stack = new Stack(app, "Test");
  const construct = new SparklessApp(stack, "App", { ...FIXTURE_PROPS, ...(typeof overrides === "function" ? overrides(stack) : overrides) });
  for (const aspect of options.aspects ?? []) Aspects.of(app).add(aspect);
  return { app, stack, construct, template: Template.fromStack(stack) };
}

/** Statements of every inline and managed policy in the template, with the logical id of their role. */
export function policyStatements(template: Template): { role: string; statement: Record<string, unknown> }[] {
  const out: { role: string; statement: Record<string, unknown> }[] = [];
  for (const [id, role] of Object.entries(template.findResources("AWS::IAM::Role"))) {
    for (const policy of (role.Properties?.Policies ?? []) as { PolicyDocument: { Statement: Record<string, unknown>[] } }[]) {
      for (const statement of policy.PolicyDocument.Statement) out.push({ role: id, statement });
    }
  }
  for (const [id, policy] of Object.entries(template.findResources("AWS::IAM::Policy"))) {
    for (const statement of policy.Properties.PolicyDocument.Statement as Record<string, unknown>[]) out.push({ role: id, statement });
  }
  for (const [id, policy] of Object.entries(template.findResources("AWS::IAM::ManagedPolicy"))) {
    for (const statement of policy.Properties.PolicyDocument.Statement as Record<string, unknown>[]) out.push({ role: id, statement });
  }
  return out;
}

export const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
