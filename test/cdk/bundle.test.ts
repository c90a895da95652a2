/**
 * `cdk synth` as CI and users run it (the pinned CLI, cdk.json, cdk/app.ts with cdk-nag), offline, and
 * the two bundles it writes, run the way Lambda runs them: copied out of the repository (so nothing
 * can be resolved from node_modules), imported by plain Node, their `handler` invoked with a scheduled
 * event (coordinator) and with SQS events built from the task queue (worker), against the embedded
 * engines. The environment comes from the synthesized template, with each table and queue reference
 * replaced by the local resource's name.
 */
import { execFile, spawn } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAwsEngine, type AwsEngine } from "../../lib/aws/engine.js";
import { createTables } from "../../lib/aws/dynamodb.js";
import { createQueues } from "../../lib/aws/sqs.js";
import { startEmbeddedEngines, type EmbeddedEngines } from "../../lib/local/engines.js";
import { ensureStream } from "../../lib/local/runtime.js";
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

interface Invocation { result: unknown; stdout: string }

let work: string;
let cdkOut: string;
let synthOutput = "";
let template: { Resources: Record<string, { Type: string; Properties: Record<string, any> }> };
let engines: EmbeddedEngines;
let engine: AwsEngine;
let env: Record<string, string>;

function invoke(fn: "coordinator" | "worker", event: unknown, remainingMs: number): Promise<Invocation> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(work, "driver.mjs"), path.join(work, fn, "index.mjs"), JSON.stringify(event), String(remainingMs)], {
      cwd: work, env, stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on("data", (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      const line = stdout.split("\n").find((l) => l.startsWith("@@RESULT "));
      if (code !== 0 || !line) reject(new Error(`${fn} exited ${code}:\n${stderr}\n${stdout}`));
      else resolve({ result: JSON.parse(line.slice("@@RESULT ".length)), stdout });
    });
  });
}

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), "sparkless-bundle-"));
  cdkOut = path.join(work, "cdk.out");
  const synth = run(path.join(ROOT, "node_modules/.bin/cdk"), ["synth", "--no-notices", "--quiet", "--output", cdkOut], {
    cwd: ROOT, env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: "true", CI: "true" }, maxBuffer: 64 * 1024 * 1024, timeout: 150_000,
  }).then(({ stdout, stderr }) => { synthOutput = stdout + stderr; });
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

  // The stream, tables and queues the stack creates, on the embedded engines.
  const tables = { meta: "bundle-meta", data: "bundle-data", state: "bundle-state" };
  const boot = createAwsEngine({
    app: "wordcount", region: engines.region, tables, taskQueueUrl: "pending", credentials: CREDENTIALS,
    endpoints: { kinesis: engines.kinesis, dynamodb: engines.dynamodb, sqs: engines.sqs },
  });
  await createTables(boot.clients.dynamodb, tables);
  await ensureStream(boot.clients.kinesis, "words", 1);
  const { tasksUrl } = await createQueues(boot.clients.sqs, { tasks: "bundle-tasks", dlq: "bundle-tasks-dlq" }, { visibilityTimeoutS: 180, maxReceiveCount: 10 });
  await boot.close?.();
  engine = createAwsEngine({ ...boot.config, taskQueueUrl: tasksUrl });

  // The template's variables, references resolved to the local resources.
  const local: Record<string, string> = { MetaTable: tables.meta, DataTable: tables.data, StateTable: tables.state, TaskQueue: tasksUrl };
  const [, coordinator] = fns.find(([id]) => /Coordinator/.test(id))!;
  const vars = coordinator.Properties.Environment.Variables as Record<string, string | { Ref: string }>;
  env = {
    PATH: process.env.PATH ?? "", HOME: work, AWS_REGION: engines.region,
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    SPARKLESS_KINESIS_ENDPOINT: engines.kinesis, SPARKLESS_DYNAMODB_ENDPOINT: engines.dynamodb, SPARKLESS_SQS_ENDPOINT: engines.sqs,
  };
  for (const [name, value] of Object.entries(vars)) {
    if (typeof value === "string") env[name] = value;
    else env[name] = Object.entries(local).find(([k]) => value.Ref.includes(k))?.[1] ?? `unresolved ${value.Ref}`;
  }
  await engine.clients.kinesis.send(new PutRecordsCommand({
    StreamName: "words", Records: ["to be or not to be", "to see"].map((l, i) => ({ Data: Buffer.from(l), PartitionKey: `k${i}` })),
  }));
}, 180_000);

afterAll(async () => {
  await engine?.close?.();
  await engines?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("npx cdk synth", () => {
  it("synthesizes the demo offline, with no cdk-nag finding", () => {
    expect(template.Resources).toBeDefined();
    expect(synthOutput).not.toMatch(/AwsSolutions-/);
    expect(Object.values(template.Resources).filter((r) => r.Type === "AWS::Lambda::Function")).toHaveLength(2);
  });

  it("gives every variable the handlers read a value", () => {
    for (const name of ["SPARKLESS_APP", "SPARKLESS_META_TABLE", "SPARKLESS_DATA_TABLE", "SPARKLESS_STATE_TABLE", "SPARKLESS_TASK_QUEUE_URL", "SPARKLESS_CONFIG"]) {
      expect(env[name], name).toBeTruthy();
      expect(env[name]).not.toMatch(/^unresolved/);
    }
  });
});

describe("the bundled handlers", () => {
  const generated: number[] = [];

  it("coordinator: a scheduled event takes the lease and generates batches", async () => {
    const event = {
      version: "0", id: "test", "detail-type": "Scheduled Event", source: "aws.events", account: "123456789012",
      time: new Date().toISOString(), region: "us-east-1", resources: ["arn:aws:events:us-east-1:123456789012:rule/test"], detail: {},
    };
    // 7 s left, a 2 s interval: the handler stops at 7 s − max(3 s, 2 intervals) = 3 s.
    const { result } = await invoke("coordinator", event, 7_000);
    expect(result).toMatchObject({ leader: true });
    expect((result as { generated: number }).generated).toBeGreaterThanOrEqual(1);
    generated.push(...(await engine.batchLog.listBatches()).map((b) => b.time));
    expect(generated.length).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it("worker: SQS events from the task queue run every task of the generated batches, with no item failures", async () => {
    const failures: unknown[] = [];
    let printed = "";
    for (let round = 0; round < 40; round++) {
      const batches = await engine.batchLog.listBatches();
      if (batches.length >= generated.length && batches.every((b) => b.status === "completed")) break;
      const r = await engine.clients.sqs.send(new ReceiveMessageCommand({
        QueueUrl: env.SPARKLESS_TASK_QUEUE_URL, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageSystemAttributeNames: ["ApproximateReceiveCount"],
      }));
      const messages = r.Messages ?? [];
      if (messages.length === 0) continue;
      const event = {
        Records: messages.map((m) => ({
          messageId: m.MessageId!, receiptHandle: m.ReceiptHandle!, body: m.Body!, eventSource: "aws:sqs",
          attributes: { ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? "1" },
        })),
      };
      const { result, stdout } = await invoke("worker", event, 30_000);
      printed += stdout;
      const itemFailures = (result as { batchItemFailures: { itemIdentifier: string }[] }).batchItemFailures;
      failures.push(...itemFailures);
      // What Lambda's event source mapping does: delete the messages not reported as failures.
      const failed = new Set(itemFailures.map((f) => f.itemIdentifier));
      const done = event.Records.filter((m) => !failed.has(m.messageId));
      if (done.length) {
        await engine.clients.sqs.send(new DeleteMessageBatchCommand({
          QueueUrl: env.SPARKLESS_TASK_QUEUE_URL, Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.receiptHandle })),
        }));
      }
    }
    expect(failures).toEqual([]);
    const batches = await engine.batchLog.listBatches();
    expect(batches.map((b) => b.status)).toEqual(batches.map(() => "completed"));
    expect(batches.reduce((n, b) => n + (b.inputRecords ?? 0), 0)).toBe(2);
    // the demo's output: running word counts, most frequent first
    expect(printed).toContain("(to,3)");
    expect(printed).toContain("(be,2)");
  }, 120_000);
});
