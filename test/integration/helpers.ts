// Helpers for the integration tests: an app driven batch by batch through the real path on the
// embedded engines: Kinesis → the coordinator's job generator (its batch log and checkpoints in
// DynamoDB) and, for fanned-out batches, SQS → the Lambda worker handler (fed as the event source
// mapping feeds it) → SQS results and S3, as lib/local/run-batches-local.ts drives it.
import { readFileSync } from "node:fs";
import { PutRecordCommand, PutRecordsCommand, type KinesisClient, type PutRecordsResultEntry } from "@aws-sdk/client-kinesis";
import { ManualClock } from "../../lib/core/clock.js";
import { TaskFailedError } from "../../lib/core/errors.js";
import type { AppDefinition } from "../../lib/app/app.js";
import type { AwsEngine } from "../../lib/aws/engine.js";
import type { EmbeddedEngines } from "../../lib/local/engines.js";
import { ensureStream, prepareLocal, type LocalEnvironment } from "../../lib/local/runtime.js";
import { runEventSourceMapping, Worker } from "../../lib/runtime/worker.js";
import type { ExecutionOptions, JobGenerator } from "../../lib/scheduler/job-generator.js";
import type { BatchRecord, TaskQueue } from "../../lib/storage/interfaces.js";
import { StreamingContext, type Engine } from "../../lib/streaming/context.js";

export { sleep } from "../support/engine.js";

export interface Harness {
  readonly env: LocalEnvironment;
  /** The engine the coordinator and the workers use (env.engine, or the decorated one). */
  readonly engine: Engine;
  readonly kinesis: KinesisClient;
  readonly clock: ManualClock;
  readonly ssc: StreamingContext;
  readonly generator: JobGenerator;
  readonly interval: number;
  /** Runs the next batch (time = k × interval) to its end; a failed batch comes back with status "failed". */
  nextBatch(): Promise<BatchRecord>;
  /** Stops the worker loops and closes the clients (the shared engines keep running). */
  stop(): Promise<void>;
}

export interface HarnessOptions {
  /** Kinesis streams to create (name → shards). */
  streams?: Record<string, number>;
  /** Wraps the AWS engine (e.g. a duplicating queue). */
  wrapEngine?: (engine: AwsEngine) => Engine;
  print?: (line: string) => void;
  /** Where batches run. @default the app's */
  execution?: ExecutionOptions;
  /** Concurrent worker loops. @default 2 */
  workerLoops?: number;
}

export async function startHarness(engines: EmbeddedEngines, app: AppDefinition, options: HarnessOptions = {}): Promise<Harness> {
  const env = await prepareLocal({ app: app.config.name, endpoints: engines, visibilityTimeoutS: 10, maxReceiveCount: 10 });
  const kinesis = env.engine.clients.kinesis;
  for (const [name, shards] of Object.entries(options.streams ?? {})) await ensureStream(kinesis, name, shards);
  const engine = options.wrapEngine ? options.wrapEngine(env.engine) : env.engine;
  const print = options.print ?? (() => undefined);
  const clock = new ManualClock(0);
  const ssc = new StreamingContext({
    batchInterval: app.config.batchInterval,
    clock,
    engine,
    appName: app.config.name,
    defaultParallelism: app.config.defaultParallelism,
    maxTaskAttempts: app.config.maxTaskAttempts,
    retryDelayMs: 0,
    print,
    execution: options.execution ?? app.config.execution,
    fanOut: { retryDelayMs: 0 },
  });
  app.build(ssc);
  const graph = ssc.prepare(0);
  await engine.batchLog.createApp({
    zeroTime: 0,
    batchIntervalMs: app.config.batchInterval.milliseconds,
    fingerprint: graph.fingerprint(),
    createdAt: 0,
  });
  const generator = ssc.newGenerator();
  const worker = new Worker(app, engine, { clock });
  const abort = new AbortController();
  const loops: Promise<void>[] = [];
  for (let w = 0; w < (options.workerLoops ?? 2); w++) loops.push(runEventSourceMapping(engine.tasks, worker, abort.signal));
  const interval = app.config.batchInterval.milliseconds;
  return {
    env,
    engine,
    kinesis,
    clock,
    ssc,
    generator,
    interval,
    async nextBatch() {
      const time = generator.nextTime;
      clock.setTime(time);
      try {
        return await generator.runBatch(time, abort.signal);
      } catch (e) {
        if (!(e instanceof TaskFailedError)) throw e;
        return (await engine.batchLog.getBatch(time)) ?? { time, blocks: {}, status: "failed", error: e.message, generatedAt: 0 };
      }
    },
    async stop() {
      abort.abort();
      await Promise.allSettled(loops);
      await env.engine.close?.();
    },
  };
}

export interface PutResult {
  readonly data: string;
  readonly shardId: string;
  readonly sequenceNumber: string;
  readonly partitionKey: string;
}

/** Puts records (strings or bytes) with PutRecords, in chunks of 500; returns where each one went. */
export async function putRecords(
  kinesis: KinesisClient,
  stream: string,
  records: readonly (string | Uint8Array)[],
  partitionKey: (i: number) => string,
): Promise<PutResult[]> {
  const out: PutResult[] = [];
  for (let i = 0; i < records.length; i += 500) {
    const chunk = records.slice(i, i + 500);
    const keys = chunk.map((_, j) => partitionKey(i + j));
    const res = await kinesis.send(
      new PutRecordsCommand({
        StreamName: stream,
        Records: chunk.map((r, j) => ({ Data: typeof r === "string" ? Buffer.from(r) : r, PartitionKey: keys[j]! })),
      }),
    );
    if (res.FailedRecordCount) throw new Error(`PutRecords to ${stream}: ${res.FailedRecordCount} failed`);
    (res.Records ?? []).forEach((e: PutRecordsResultEntry, j) => {
      const d = chunk[j]!;
      out.push({
        data: typeof d === "string" ? d : Buffer.from(d).toString("base64"),
        shardId: e.ShardId!,
        sequenceNumber: e.SequenceNumber!,
        partitionKey: keys[j]!,
      });
    });
  }
  return out;
}

/** Puts one record with PutRecord; returns its shard and sequence number. */
export async function putRecord(
  kinesis: KinesisClient,
  stream: string,
  data: string | Uint8Array,
  partitionKey = "k",
): Promise<{ shardId: string; sequenceNumber: string }> {
  const r = await kinesis.send(
    new PutRecordCommand({ StreamName: stream, Data: typeof data === "string" ? Buffer.from(data) : data, PartitionKey: partitionKey }),
  );
  return { shardId: r.ShardId!, sequenceNumber: r.SequenceNumber! };
}

/** A task queue that sends every task message twice (an at-least-once queue at its worst), counting deliveries. */
export function duplicatingQueue(base: TaskQueue): TaskQueue & { readonly sent: number; readonly received: Map<string, number> } {
  let sent = 0;
  const received = new Map<string, number>();
  return {
    get sent() {
      return sent;
    },
    received,
    async send(tasks) {
      sent += tasks.length;
      await base.send([...tasks, ...tasks]);
    },
    async receive(options) {
      const got = await base.receive(options);
      for (const r of got) {
        const key = `${r.body.batchTime}/${r.body.stage}/${r.body.partition}`;
        received.set(key, (received.get(key) ?? 0) + 1);
      }
      return got;
    },
    ackMany: (receipts) => base.ackMany(receipts),
    release: (receipt, delayMs) => base.release(receipt, delayMs),
  };
}

/** Word counts of some lines, as the word-count apps compute them. */
export function wordCounts(lines: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of lines) for (const w of splitWords(l)) m.set(w, (m.get(w) ?? 0) + 1);
  return m;
}

export const splitWords = (line: string): string[] =>
  line
    .toLowerCase()
    .split(/[^a-z']+/)
    .filter((w) => w.length > 0);

export const sumCounts = (values: number[], state: number | undefined): number => values.reduce((a, b) => a + b, state ?? 0);

/** Sorts [key, value] pairs by key for comparison. */
export function byKey<T extends readonly [unknown, unknown]>(pairs: readonly T[]): T[] {
  return [...pairs].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : JSON.stringify(a) > JSON.stringify(b) ? 1 : 0));
}

/**
 * `n` lines of 3 to 12 words drawn (deterministically, from `seed`) from the demo text's vocabulary:
 * the demo text alone has only a few dozen sentences.
 */
export function corpusLines(n: number, seed = 1): string[] {
  const vocabulary = [...new Set(splitWords(readFileSync(new URL("../../examples/data/alice.txt", import.meta.url), "utf8")))].sort();
  let x = seed >>> 0 || 1;
  const rand = () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
  return Array.from({ length: n }, () => {
    const len = 3 + Math.floor(rand() * 10);
    // skewed towards the first words, so some words are frequent
    return Array.from({ length: len }, () => vocabulary[Math.floor(rand() ** 2 * vocabulary.length)]!).join(" ");
  });
}
