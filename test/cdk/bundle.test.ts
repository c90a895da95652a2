/**
 * `cdk synth` as CI and users run it (the pinned CLI, cdk.json, cdk/app.ts with cdk-nag), offline, and
 * the two bundles it writes, run the way Lambda runs them: copied out of the repository (so nothing
 * can be resolved from node_modules), imported by plain Node, their `handler` invoked against the
 * embedded engines (Kinesis, DynamoDB Local, fauxqs for SQS and S3). Each function gets the environment
 * the synthesized template gives it, with every table, bucket and queue reference replaced by the local
 * resource `prepareLocal` created.
 *
 * Two invocations of the coordinator, as the schedule makes them (with the payload the template's
 * EventBridge Scheduler schedule sends): the first runs the demo's batches
 * itself (the default "auto" execution, small batches); the second, a cold start with
 * SPARKLESS_CONFIG={"execution":{"mode":"fan-out"}}, restores the state from the first one's checkpoint
 * and fans its batches out, while this file plays Lambda's SQS event source mapping: it receives the
 * task messages the coordinator sends, invokes the worker bundle with them as an SQS event, and deletes
 * the messages not reported in `batchItemFailures`.
 */
import { execFile, spawn } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmbeddedEngines, type EmbeddedEngines } from "../../lib/local/engines.js";
import { ensureStream, prepareLocal, type LocalEnvironment } from "../../lib/local/runtime.js";
import type { BatchRecord } from "../../lib/storage/interfaces.js";
import { ROOT } from "./support.js";

const run = promisify(execFile);
const CREDENTIALS = { accessKeyId: "sparklesslocal", secretAccessKey: "sparklesslocal" };

/** Imports a bundle with plain Node and invokes its handler once, as a Lambda runtime would. */
const DRIVER = `
import { pathToFileURL } from "node:url";
const [bundle, event, remainingMs] = process.argv.slice(2);
const { handler } = await import(pathToFileURL(bundle).href);
const start = Date.now();
const context = { awsRequestId: "req-" + process.pid, functionName: "test", getRemainingTimeInMillis: () => Number(remainingMs) - (Date.now() - start) };
const result = await handler(JSON.parse(event), context);
process.stdout.write("\\n@@RESULT " + JSON.stringify(result) + "\\n");
process.exit(0);
`;

/** What the schedule sends the coordinator: its target's Input in the synthesized template (set in beforeAll). */
let scheduledEvent: unknown;

type Fn = "coordinator" | "worker";
interface Invocation {
  result: unknown;
  stdout: string;
}
interface TemplateResource {
  Type: string;
  Properties: Record<string, any>;
}

let work: string;
let synthOutput = "";
let template: { Resources: Record<string, TemplateResource> };
let engines: EmbeddedEngines;
let local: LocalEnvironment;
/** Each function's environment: the template's variables, resolved, plus the local endpoints. */
const envOf: Partial<Record<Fn, Record<string, string>>> = {};

function invoke(fn: Fn, event: unknown, remainingMs: number, extraEnv: Record<string, string> = {}): Promise<Invocation> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(work, "driver.mjs"), path.join(work, fn, "index.mjs"), JSON.stringify(event), String(remainingMs)],
      {
        cwd: work,
        env: { ...envOf[fn], ...extraEnv },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), remainingMs + 60_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      const line = stdout.split("\n").find((l) => l.startsWith("@@RESULT "));
      if (code !== 0 || !line) reject(new Error(`${fn} exited ${code}:\n${stderr}\n${stdout}`));
      else resolve({ result: JSON.parse(line.slice("@@RESULT ".length)), stdout });
    });
  });
}

async function putLines(lines: string[]): Promise<void> {
  await local.engine.clients.kinesis.send(
    new PutRecordsCommand({
      StreamName: "words",
      Records: lines.map((l, i) => ({ Data: Buffer.from(l), PartitionKey: `k${i}` })),
    }),
  );
}

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), "sparkless-bundle-"));
  const cdkOut = path.join(work, "cdk.out");
  const synth = run(path.join(ROOT, "node_modules/.bin/cdk"), ["synth", "--no-notices", "--quiet", "--output", cdkOut], {
    cwd: ROOT,
    env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: "true", CI: "true" },
    maxBuffer: 64 * 1024 * 1024,
    timeout: 150_000,
  }).then(({ stdout, stderr }) => {
    synthOutput = stdout + stderr;
  });
  const started = startEmbeddedEngines();
  await Promise.all([synth, started]);
  engines = await started;

  template = JSON.parse(readFileSync(path.join(cdkOut, "Sparkless-wordcount.template.json"), "utf8"));
  const fns = Object.entries(template.Resources).filter(([, r]) => r.Type === "AWS::Lambda::Function");
  for (const [id, r] of fns) {
    const asset = path.join(cdkOut, `asset.${String(r.Properties.Code.S3Key).replace(/\.zip$/, "")}`);
    cpSync(asset, path.join(work, /Coordinator/.test(id) ? "coordinator" : "worker"), { recursive: true });
  }
  writeFileSync(path.join(work, "driver.mjs"), DRIVER);
  const schedules = Object.values(template.Resources).filter((r) => r.Type === "AWS::Scheduler::Schedule");
  scheduledEvent = JSON.parse(String(schedules[0]?.Properties.Target.Input ?? "null"));

  // The stream, tables, queues and bucket the stack creates, on the embedded engines.
  local = await prepareLocal({
    app: "wordcount",
    suffix: "-bundle",
    visibilityTimeoutS: 180,
    maxReceiveCount: 10,
    endpoints: { kinesis: engines.kinesis, dynamodb: engines.dynamodb, sqs: engines.sqs, s3: engines.s3 },
  });
  await ensureStream(local.engine.clients.kinesis, "words", 1);

  // Each function's variables, references resolved to the local resources by the construct's logical ids.
  const c = local.config;
  const resources: [RegExp, string][] = [
    [/^AppMetaTable[0-9A-F]{8}$/, c.tables.meta],
    [/^AppStateTable[0-9A-F]{8}$/, c.tables.state],
    [/^AppBucket[0-9A-F]{8}$/, c.bucket],
    [/^AppTaskQueue[0-9A-F]{8}$/, c.taskQueueUrl],
    [/^AppResultQueue[0-9A-F]{8}$/, c.resultQueueUrl],
  ];
  for (const [id, r] of fns) {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "",
      HOME: work,
      AWS_REGION: engines.region,
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      SPARKLESS_KINESIS_ENDPOINT: engines.kinesis,
      SPARKLESS_DYNAMODB_ENDPOINT: engines.dynamodb,
      SPARKLESS_SQS_ENDPOINT: engines.sqs,
      SPARKLESS_S3_ENDPOINT: engines.s3,
    };
    for (const [name, value] of Object.entries(r.Properties.Environment.Variables as Record<string, string | { Ref: string }>)) {
      env[name] = typeof value === "string" ? value : (resources.find(([pattern]) => pattern.test(value.Ref))?.[1] ?? `unresolved ${value.Ref}`);
    }
    envOf[/Coordinator/.test(id) ? "coordinator" : "worker"] = env;
  }
}, 240_000);

afterAll(async () => {
  await local?.stop();
  await engines?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("npx cdk synth", () => {
  it("synthesizes the demo offline, with no cdk-nag finding", () => {
    expect(template.Resources).toBeDefined();
    expect(synthOutput).not.toMatch(/AwsSolutions-/);
    const count = (type: string) => Object.values(template.Resources).filter((r) => r.Type === type).length;
    expect([count("AWS::Lambda::Function"), count("AWS::DynamoDB::Table"), count("AWS::SQS::Queue"), count("AWS::S3::Bucket")]).toEqual([2, 2, 4, 2]);
  });

  it("invokes the coordinator from one EventBridge Scheduler schedule, with a payload naming it", () => {
    expect(Object.values(template.Resources).filter((r) => r.Type === "AWS::Events::Rule")).toEqual([]);
    expect(scheduledEvent).toEqual({ source: "sparkless.schedule", app: "wordcount" });
  });

  it("leaves the demo's tables deletable with the stack (retain=false), and creates every alarm", () => {
    const tables = Object.values(template.Resources).filter((r) => r.Type === "AWS::DynamoDB::Table");
    expect(tables.map((t) => t.Properties.DeletionProtectionEnabled)).toEqual([false, false]);
    expect(Object.values(template.Resources).filter((r) => r.Type === "AWS::CloudWatch::Alarm")).toHaveLength(9);
  });

  it("gives every variable the handlers read a value, resolved to a local resource", () => {
    const names = [
      "SPARKLESS_APP",
      "SPARKLESS_META_TABLE",
      "SPARKLESS_STATE_TABLE",
      "SPARKLESS_BUCKET",
      "SPARKLESS_TASK_QUEUE_URL",
      "SPARKLESS_RESULT_QUEUE_URL",
      "SPARKLESS_CHECKPOINT_STORE",
      "SPARKLESS_CONFIG",
    ];
    for (const fn of ["coordinator", "worker"] as const) {
      for (const name of names) {
        expect(envOf[fn]![name], `${fn} ${name}`).toBeTruthy();
        expect(envOf[fn]![name]).not.toMatch(/^unresolved/);
      }
    }
    expect(envOf.coordinator!.SPARKLESS_BUCKET).toBe(local.config.bucket);
    expect(envOf.coordinator!.SPARKLESS_RESULT_QUEUE_URL).toBe(local.config.resultQueueUrl);
    expect(envOf.coordinator!.SPARKLESS_CHECKPOINT_STORE).toBe("dynamodb");
    expect(envOf.coordinator!.SPARKLESS_WORKER_TIMEOUT_MS).toBe("30000");
  });
});

describe("the bundled handlers", () => {
  let firstRun: BatchRecord[] = [];

  it("coordinator: a scheduled event takes the lease and runs the word count's batches itself", async () => {
    await putLines(["to be or not to be", "to see"]);
    // 7 s left, a 2 s interval: the handler stops at 7 s − max(3 s, 2 intervals) = 3 s.
    const { result, stdout } = await invoke("coordinator", scheduledEvent, 7_000);
    expect(result).toMatchObject({ leader: true });
    expect((result as { batches: number }).batches).toBeGreaterThanOrEqual(1);
    expect((result as { failed?: unknown }).failed).toBeUndefined();
    firstRun = await local.engine.batchLog.listBatches();
    expect(firstRun.length).toBeGreaterThanOrEqual(1);
    expect(firstRun.map((b) => b.status)).toEqual(firstRun.map(() => "completed"));
    expect(firstRun.every((b) => b.mode !== "fan-out")).toBe(true);
    expect(firstRun.reduce((n, b) => n + (b.inputRecords ?? 0), 0)).toBe(2);
    // the demo's output: running word counts, most frequent first
    expect(stdout).toContain("(to,3)");
    expect(stdout).toContain("(be,2)");
  }, 120_000);

  it("worker: runs the task messages of a fanned-out batch, delivered as an SQS event, and the coordinator finishes the batch", async () => {
    expect(firstRun.length).toBeGreaterThanOrEqual(1);
    const fanOut = { SPARKLESS_CONFIG: JSON.stringify({ execution: { mode: "fan-out" } }) };
    await putLines(["to see or not"]);
    let coordinatorDone = false;
    const coordinator = invoke("coordinator", scheduledEvent, 8_000, fanOut).finally(() => {
      coordinatorDone = true;
    });
    coordinator.catch(() => undefined);

    // Lambda's SQS event source mapping, while the coordinator waits for the results.
    const tasksUrl = envOf.worker!.SPARKLESS_TASK_QUEUE_URL!;
    const failures: unknown[] = [];
    let delivered = 0;
    let invocations = 0;
    while (!coordinatorDone) {
      const r = await local.engine.clients.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: tasksUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          MessageSystemAttributeNames: ["ApproximateReceiveCount"],
        }),
      );
      const messages = r.Messages ?? [];
      if (messages.length === 0) continue;
      const event = {
        Records: messages.map((m) => ({
          messageId: m.MessageId!,
          receiptHandle: m.ReceiptHandle!,
          body: m.Body!,
          eventSource: "aws:sqs",
          eventSourceARN: "arn:aws:sqs:us-east-1:123456789012:tasks",
          attributes: { ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? "1" },
        })),
      };
      const { result } = await invoke("worker", event, 30_000, fanOut);
      invocations++;
      delivered += messages.length;
      const itemFailures = (result as { batchItemFailures: { itemIdentifier: string }[] }).batchItemFailures;
      failures.push(...itemFailures);
      const failed = new Set(itemFailures.map((f) => f.itemIdentifier));
      const done = event.Records.filter((m) => !failed.has(m.messageId));
      if (done.length) {
        await local.engine.clients.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: tasksUrl,
            Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.receiptHandle })),
          }),
        );
      }
    }
    const { result, stdout } = await coordinator;
    expect(result).toMatchObject({ leader: true });
    expect((result as { failed?: unknown }).failed).toBeUndefined();
    expect(invocations).toBeGreaterThanOrEqual(1);
    expect(delivered).toBeGreaterThanOrEqual(1);
    expect(failures).toEqual([]);

    const after = (await local.engine.batchLog.listBatches()).filter((b) => b.time > firstRun[firstRun.length - 1]!.time);
    expect(after.length).toBeGreaterThanOrEqual(1);
    expect(after.map((b) => b.status)).toEqual(after.map(() => "completed"));
    expect(after.filter((b) => b.mode === "fan-out").length).toBeGreaterThanOrEqual(1);
    expect(after.reduce((n, b) => n + (b.inputRecords ?? 0), 0)).toBe(1);
    // A cold coordinator: the counts continue from the first invocation's checkpoint, updated by the workers' tasks.
    expect(stdout).toContain("(to,4)");
    expect(stdout).toContain("(see,2)");
  }, 180_000);
});
