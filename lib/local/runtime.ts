/**
 * The local world: the app's coordinator and workers over Kinesis, SQS and
 * DynamoDB on this machine, with no Docker and no AWS account.
 *
 * `prepareLocal` starts the embedded engines (or uses the endpoint given,
 * e.g. LocalStack) and creates the stream(s), queues and tables.
 * `runLocal` then runs the coordinator on the batch clock in this process,
 * as the schedule would, and a pool of worker processes fed from SQS, as the
 * event source mapping would; an optional producer feeds a text file.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { CreateStreamCommand, DescribeStreamSummaryCommand, PutRecordsCommand, type KinesisClient } from "@aws-sdk/client-kinesis";
import { loadApp, type AppDefinition } from "../app/app.js";
import { createAwsEngine, engineConfigToEnv, type AwsEngine, type AwsEngineConfig } from "../aws/engine.js";
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { createTables } from "../aws/dynamodb/tables.js";
import { createQueues } from "../aws/sqs.js";
import { runCoordinator } from "../runtime/coordinator.js";
import { StreamingContext } from "../streaming/context.js";
import { startEmbeddedEngines, type EmbeddedEngines } from "./engines.js";
import { serveLocalUi } from "../ui/local.js";
import type { UiServer } from "../ui/server.js";

const LOCAL_CREDENTIALS = { accessKeyId: "sparklesslocal", secretAccessKey: "sparklesslocal" };

export interface LocalEnvironment {
  readonly config: AwsEngineConfig;
  readonly engine: AwsEngine;
  readonly engines?: EmbeddedEngines;
  stop(): Promise<void>;
}

export interface PrepareOptions {
  app: string;
  /** One endpoint for every service (LocalStack); nothing is started. */
  endpoint?: string;
  /** Engines already started by this process (shared by several runs); nothing is started. */
  endpoints?: { kinesis: string; dynamodb: string; sqs: string; s3: string };
  /** Where checkpoint pages go. @default "dynamodb" */
  checkpointStore?: "dynamodb" | "s3";
  region?: string;
  /** Suffix for table and queue names, so several runs can share engines. @default "" */
  suffix?: string;
  visibilityTimeoutS?: number;
  maxReceiveCount?: number;
  log?: (line: string) => void;
}

export async function prepareLocal(options: PrepareOptions): Promise<LocalEnvironment> {
  const region = options.region ?? "us-east-1";
  const engines = options.endpoint || options.endpoints ? undefined : await startEmbeddedEngines({ log: options.log });
  const endpoints = options.endpoints ?? (options.endpoint
    ? { kinesis: options.endpoint, dynamodb: options.endpoint, sqs: options.endpoint, s3: options.endpoint }
    : { kinesis: engines!.kinesis, dynamodb: engines!.dynamodb, sqs: engines!.sqs, s3: engines!.s3 });
  const base = `sparkless-${options.app}${options.suffix ?? ""}`;
  const tables = { meta: `${base}-meta`, state: `${base}-state` };
  const bucket = base.toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 63);
  const bootstrap: AwsEngineConfig = {
    app: options.app, region, tables, bucket, taskQueueUrl: "pending", resultQueueUrl: "pending", endpoints, credentials: LOCAL_CREDENTIALS,
    ...(options.checkpointStore ? { checkpointStore: options.checkpointStore } : {}),
  };
  const probe = createAwsEngine(bootstrap);
  try {
    await createTables(probe.clients.dynamodb, tables);
    const { tasksUrl, resultsUrl } = await createQueues(probe.clients.sqs, { tasks: `${base}-tasks`, dlq: `${base}-tasks-dlq`, results: `${base}-results` }, {
      visibilityTimeoutS: options.visibilityTimeoutS ?? 30, maxReceiveCount: options.maxReceiveCount ?? 10,
    });
    await createBucket(probe, bucket);
    const config: AwsEngineConfig = { ...bootstrap, taskQueueUrl: tasksUrl, resultQueueUrl: resultsUrl };
    const engine = createAwsEngine(config);
    return {
      config, engine, engines,
      async stop() { await engine.close?.(); await engines?.stop(); },
    };
  } finally {
    await probe.close?.();
  }
}

async function createBucket(engine: AwsEngine, bucket: string): Promise<void> {
  try {
    await engine.clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (e) {
    if (!/BucketAlreadyOwnedByYou|BucketAlreadyExists/.test((e as Error).name)) throw e;
  }
}

/** The Kinesis streams an app reads, found by building its graph once. */
export function kinesisStreamsOf(app: AppDefinition): string[] {
  const ssc = new StreamingContext({ batchInterval: app.config.batchInterval, print: () => undefined });
  app.build(ssc);
  return [...new Set(ssc.graph.inputs.filter((s) => s.spec.input?.source === "kinesis").map((s) => s.spec.input!.name))];
}

export async function ensureStream(kinesis: KinesisClient, name: string, shards: number): Promise<void> {
  try {
    await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  } catch (e) {
    if ((e as Error).name !== "ResourceInUseException") throw e;
  }
  for (let i = 0; i < 200; i++) {
    const s = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    if (s.StreamDescriptionSummary?.StreamStatus === "ACTIVE") return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Kinesis stream ${name} did not become ACTIVE.`);
}

/** Puts text lines into a stream at a steady rate, looping over the file, until stopped. */
export function startProducer(kinesis: KinesisClient, stream: string, file: string, linesPerSecond: number): { stop(): void; sent(): number } {
  const lines = readFileSync(file, "utf8").split(/(?<=[.!?;:])\s+|\n+/).map((l) => l.trim()).filter(Boolean);
  let next = 0;
  let sent = 0;
  let stopped = false;
  const tickMs = 200;
  const perTick = Math.max(1, Math.round((linesPerSecond * tickMs) / 1000));
  const timer = setInterval(() => {
    if (stopped) return;
    const batch = Array.from({ length: perTick }, () => lines[next++ % lines.length]!);
    void kinesis.send(new PutRecordsCommand({
      StreamName: stream,
      Records: batch.map((l, i) => ({ Data: Buffer.from(l), PartitionKey: `k${(next + i) % 64}` })),
    })).then(() => { sent += batch.length; }, () => undefined);
  }, tickMs);
  return { stop() { stopped = true; clearInterval(timer); }, sent: () => sent };
}

export interface LocalRunOptions {
  /** Path of the app module. */
  appPath: string;
  /** Overrides the app's batch interval, e.g. "1s". */
  batchInterval?: string;
  /** Worker processes. @default 2 */
  workers?: number;
  /** Stop after this many completed batches (exit 0). */
  batches?: number;
  /** Stop after this long (ms). */
  durationMs?: number;
  /** Engines already running (LocalStack): nothing is started. */
  endpoint?: string;
  /** Shards of each stream created. @default 2 */
  shards?: number;
  /** Feed a text file into the app's (first) stream. */
  feed?: { file: string; linesPerSecond?: number };
  log?: (line: string) => void;
  signal?: AbortSignal;
  /** Log level of this run and its worker processes (SPARKLESS_LOG_LEVEL). */
  logLevel?: string;
  /** The dashboard, on a free port unless given; false: none. */
  ui?: false | { port?: number };
}

const tsxLoader = (): string => createRequire(import.meta.url).resolve("tsx");

export async function runLocal(options: LocalRunOptions): Promise<{ completed: number }> {
  const log = options.log ?? ((l: string) => process.stderr.write(l + "\n"));
  if (options.batchInterval) process.env.SPARKLESS_CONFIG = JSON.stringify({ ...JSON.parse(process.env.SPARKLESS_CONFIG ?? "{}"), batchInterval: options.batchInterval });
  const app = await loadApp(options.appPath);
  const env = await prepareLocal({
    app: app.config.name, endpoint: options.endpoint, checkpointStore: app.config.checkpointStore,
    log: (l) => { if (/ready|error|fail/i.test(l)) log(`  ${l}`); },
  });
  if (options.logLevel) process.env.SPARKLESS_LOG_LEVEL = options.logLevel;
  const workers: ChildProcess[] = [];
  let ui: UiServer | undefined;
  let producer: ReturnType<typeof startProducer> | undefined;
  const stop = new AbortController();
  options.signal?.addEventListener("abort", () => stop.abort(), { once: true });
  try {
    const streams = kinesisStreamsOf(app);
    for (const s of streams) await ensureStream(env.engine.clients.kinesis, s, options.shards ?? 2);
    const e = env.config.endpoints!;
    log(`sparkless local: app "${app.config.name}", batch interval ${app.config.batchInterval}, streams ${streams.join(", ") || "(none)"}`);
    log(`  Kinesis  ${e.kinesis}\n  DynamoDB ${e.dynamodb}\n  SQS      ${e.sqs}`);
    log(`  feed it: AWS_ENDPOINT_URL=${e.kinesis} aws kinesis put-record --stream-name ${streams[0] ?? "NAME"} --partition-key k --data ...`);
    if (options.ui !== false) {
      ui = await serveLocalUi({ app, batchLog: env.engine.batchLog, endpoints: { kinesis: e.kinesis!, dynamodb: e.dynamodb!, sqs: e.sqs!, s3: e.s3! }, streams, port: options.ui?.port });
      log(`  dashboard ${ui.url}\n  then, in this directory: sparkless feed --stream ${streams[0] ?? "NAME"} FILE   and   sparkless status`);
    }
    const childEnv = { ...process.env, ...engineConfigToEnv(env.config), SPARKLESS_APP_PATH: options.appPath };
    const workerMain = fileURLToPath(new URL("./worker-process.ts", import.meta.url));
    for (let i = 0; i < (options.workers ?? 2); i++) {
      workers.push(spawn(process.execPath, ["--import", tsxLoader(), workerMain], { env: childEnv, stdio: ["ignore", "inherit", "inherit"] }));
    }
    if (options.feed && streams[0]) producer = startProducer(env.engine.clients.kinesis, streams[0], options.feed.file, options.feed.linesPerSecond ?? 20);

    // The schedule: a coordinator invocation a minute, each looping on the batch clock until its deadline.
    let completed = 0;
    let failure: Error | undefined;
    if (options.durationMs) setTimeout(() => stop.abort(), options.durationMs).unref();
    while (!stop.signal.aborted) {
      const r = await runCoordinator(app, env.engine, {
        deadline: Date.now() + 55_000, signal: stop.signal, print: (l) => process.stdout.write(l + "\n"),
        onBatchCompleted: () => { if (++completed >= (options.batches ?? Infinity)) stop.abort(); },
      });
      if (r.failed) {
        failure = r.failed;
        log(`a batch failed: ${r.failed.message}`);
        break;
      }
      if (!r.leader) await new Promise((res) => setTimeout(res, 1000));
    }
    producer?.stop();
    if (failure) throw failure;
    return { completed };
  } finally {
    producer?.stop();
    await Promise.all(workers.map((w) => new Promise<void>((resolve) => {
      if (w.exitCode !== null) return resolve();
      w.once("exit", () => resolve());
      w.kill("SIGTERM");
      setTimeout(() => { w.kill("SIGKILL"); resolve(); }, 3000).unref();
    })));
    await ui?.close();
    await env.stop();
  }
}
