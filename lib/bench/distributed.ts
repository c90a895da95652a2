/**
 * Scenarios 2 and 3, and the measured runs behind the cost figures (4).
 *
 * 2. The same records preloaded in the embedded Kinesis (4 shards), processed
 *    (a) by one process reading every shard with GetRecords and counting the
 *    words in memory: the floor of the I/O path; (b) by the full coordinator,
 *    SQS and worker-process path with 1, 2 and 4 workers, timed from the
 *    coordinator's start to the moment the completed batches hold every record.
 * 3. Empty and 1-record batches through the full path: batch time → completed.
 * 4. A sustained run at a fixed input rate, and the requests of an idle
 *    coordinator invocation, for the cost model.
 */
import { parseDuration } from "../core/duration.js";
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, PutRecordsCommand, type KinesisClient } from "@aws-sdk/client-kinesis";
import { createClients, type AwsEngineConfig } from "../aws/engine.js";
import { awsClientConfig } from "../local/engines.js";
import { ensureStream } from "../local/runtime.js";
import { runCoordinator } from "../runtime/coordinator.js";
import { feed } from "../producer/feed.js";
import type { BatchRecord } from "../storage/interfaces.js";
import { KinesisClient as Kinesis } from "@aws-sdk/client-kinesis";
import { generateLines, median, percentile } from "./data.js";
import { FullPath, completedRecords, type Endpoints } from "./full-path.js";
import { Meter, mergeCounts, subtractCounts, type MeterCounts } from "./metering.js";

export function kinesisClient(endpoints: Endpoints): KinesisClient {
  return new Kinesis(awsClientConfig(endpoints.kinesis, "us-east-1"));
}

/** Puts `lines` into `stream` with PutRecords (500 a request, 4 in flight). */
export async function preload(kinesis: KinesisClient, stream: string, lines: readonly string[]): Promise<{ ms: number }> {
  const t0 = performance.now();
  const result = await feed({ client: kinesis, stream, records: lines, concurrency: 4, describeStream: false });
  if (result.sent !== lines.length) throw new Error(`preload sent ${result.sent} of ${lines.length} records`);
  return { ms: performance.now() - t0 };
}

/** (a) One process reads every shard (concurrently) from TRIM_HORIZON with GetRecords and counts the words in memory. */
export async function directConsumer(kinesis: KinesisClient, stream: string): Promise<{ records: number; words: number; ms: number }> {
  const t0 = performance.now();
  const shards = (await kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
  const counts = new Map<string, number>();
  let records = 0;
  await Promise.all(shards.map(async (sh) => {
    let it = (await kinesis.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: sh.ShardId!, ShardIteratorType: "TRIM_HORIZON" }))).ShardIterator;
    const decoder = new TextDecoder();
    while (it) {
      const res = await kinesis.send(new GetRecordsCommand({ ShardIterator: it, Limit: 10_000 }));
      const rs = res.Records ?? [];
      for (const r of rs) {
        records++;
        for (const w of decoder.decode(r.Data).split(" ")) counts.set(w, (counts.get(w) ?? 0) + 1);
      }
      if (rs.length === 0 && (res.MillisBehindLatest ?? 0) === 0) break;
      it = res.NextShardIterator;
    }
  }));
  let words = 0;
  for (const v of counts.values()) words += v;
  return { records, words, ms: performance.now() - t0 };
}

export interface FullPathRun {
  readonly workers: number;
  readonly ms: number;
  readonly records: number;
  readonly recordsPerSecond: number;
  readonly batches: number;
  /** recordsPerSecond / the direct consumer's. */
  readonly ratioToDirect: number;
  readonly counts: MeterCounts;
}

export interface ThroughputResult {
  readonly records: number;
  readonly shards: number;
  readonly preloadMs: number;
  readonly preloadRecordsPerSecond: number;
  readonly direct: { runsMs: number[]; medianMs: number; recordsPerSecond: number };
  readonly fullPath: FullPathRun[];
}

/** Scenario 2. */
export async function runThroughput(endpoints: Endpoints, o: { records: number; shards: number; workers: number[]; directRepeats: number; log: (l: string) => void }): Promise<ThroughputResult> {
  const kinesis = kinesisClient(endpoints);
  const stream = "bench-throughput";
  await ensureStream(kinesis, stream, o.shards);
  const lines = generateLines({ records: o.records, wordsPerLine: 8, vocabulary: 10_000, seed: 7 });
  const { ms: preloadMs } = await preload(kinesis, stream, lines);
  o.log(`  preloaded ${o.records} records into ${o.shards} shards in ${(preloadMs / 1000).toFixed(1)} s`);
  const directRuns: number[] = [];
  for (let i = 0; i < o.directRepeats; i++) {
    const d = await directConsumer(kinesis, stream);
    if (d.records !== o.records || d.words !== o.records * 8) throw new Error(`the direct consumer read ${d.records} records (${d.words} words), expected ${o.records}`);
    directRuns.push(d.ms);
    o.log(`  direct consumer: ${d.ms.toFixed(0)} ms`);
  }
  const directMs = median(directRuns);
  const directRate = o.records / (directMs / 1000);
  const fullPath: FullPathRun[] = [];
  for (const n of o.workers) {
    const run = await FullPath.start({ endpoints, name: `benchtp${n}w${Date.now() % 100000}`, stream, workers: n, batchInterval: "1s", defaultParallelism: 4 });
    const t0 = performance.now();
    run.startCoordinator();
    let batches: BatchRecord[];
    try {
      batches = await run.waitFor((b) => completedRecords(b) >= o.records, 300_000);
    } catch (e) {
      await run.stop();
      throw e;
    }
    const ms = performance.now() - t0;
    const counts = await run.stop();
    const records = completedRecords(batches);
    const rate = records / (ms / 1000);
    fullPath.push({ workers: n, ms: Math.round(ms), records, recordsPerSecond: Math.round(rate), batches: batches.filter((b) => b.status === "completed" && (b.inputRecords ?? 0) > 0).length, ratioToDirect: rate / directRate, counts });
    o.log(`  full path, ${n} worker(s): ${ms.toFixed(0)} ms (${records} records)`);
  }
  kinesis.destroy();
  return {
    records: o.records, shards: o.shards, preloadMs: Math.round(preloadMs), preloadRecordsPerSecond: Math.round(o.records / (preloadMs / 1000)),
    direct: { runsMs: directRuns.map(Math.round), medianMs: Math.round(directMs), recordsPerSecond: Math.round(directRate) }, fullPath,
  };
}

export interface OverheadResult {
  readonly kind: "empty" | "one-record";
  readonly batches: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly samplesMs: number[];
  /** Median batch time → running (generation, the start, the wait for earlier batches). */
  readonly p50SchedulingDelayMs: number;
  /** Median running → completed (the tasks, through SQS, the workers and DynamoDB). */
  readonly p50ProcessingMs: number;
  readonly counts: MeterCounts;
  /** Batches covered by `counts` (the whole run, warm-up included). */
  readonly batchesMetered: number;
}

/**
 * Scenario 3: `batches` measured batches at a 1 s interval (after 2 warm-up
 * batches), empty or with one record put 150 ms after each boundary.
 */
export async function runOverhead(endpoints: Endpoints, o: { kind: "empty" | "one-record"; batches: number; workers: number; log: (l: string) => void }): Promise<OverheadResult> {
  const kinesis = kinesisClient(endpoints);
  const stream = `bench-idle-${o.kind}`;
  await ensureStream(kinesis, stream, 1);
  const run = await FullPath.start({ endpoints, name: `benchoh${o.kind === "empty" ? "e" : "o"}${Date.now() % 100000}`, stream, workers: o.workers, batchInterval: "1s", defaultParallelism: 2 });
  const warmup = 2;
  let producer: NodeJS.Timeout | undefined;
  let put = 0;
  if (o.kind === "one-record") {
    const tick = () => {
      void kinesis.send(new PutRecordsCommand({ StreamName: stream, Records: [{ Data: Buffer.from(`one record ${put}`), PartitionKey: "k" }] })).then(() => { put++; }, () => undefined);
    };
    // One record 150 ms after every second boundary, so each batch (records that arrived before T − 500 ms) holds one.
    setTimeout(() => { tick(); producer = setInterval(tick, 1000); }, 1150 - (Date.now() % 1000));
  }
  run.startCoordinator();
  let batches: BatchRecord[];
  try {
    batches = await run.waitFor((b) => b.filter((x) => x.status === "completed").length >= warmup + o.batches + 1, 60_000 + o.batches * 3000);
  } catch (e) {
    await run.stop();
    throw e;
  } finally {
    if (producer) clearInterval(producer);
  }
  const counts = await run.stop();
  kinesis.destroy();
  const completed = batches.filter((b) => b.status === "completed" && b.completedAt !== undefined).sort((a, b) => a.time - b.time);
  let measured = completed.slice(warmup, warmup + o.batches);
  if (o.kind === "one-record") measured = completed.filter((b) => (b.inputRecords ?? 0) === 1).slice(0, o.batches);
  const samples = measured.map((b) => b.completedAt! - b.time);
  o.log(`  ${o.kind} batches: p50 ${percentile(samples, 50)} ms, p99 ${percentile(samples, 99)} ms (${samples.length} batches)`);
  return {
    kind: o.kind, batches: samples.length, p50Ms: percentile(samples, 50), p99Ms: percentile(samples, 99), maxMs: Math.max(...samples),
    samplesMs: samples, counts, batchesMetered: completed.length,
    p50SchedulingDelayMs: percentile(measured.map((b) => (b.startedAt ?? b.time) - b.time), 50),
    p50ProcessingMs: percentile(measured.map((b) => b.completedAt! - (b.startedAt ?? b.time)), 50),
  };
}

export interface SustainedResult {
  readonly ratePerSecond: number;
  /** The batch interval of the run. */
  readonly intervalMs: number;
  readonly seconds: number;
  readonly shards: number;
  readonly workers: number;
  readonly recordsSent: number;
  readonly recordsCompleted: number;
  readonly batches: number;
  /** Everything the coordinator and workers sent, plus the producer's PutRecords. */
  readonly counts: MeterCounts;
  readonly p50TotalDelayMs: number;
  /** The metered window: the coordinator's start to the workers' stop. */
  readonly wallMs: number;
}

/** A run at a steady input rate (1 s batches): the requests per second of the whole app, producer included. */
export async function runSustained(endpoints: Endpoints, o: { ratePerSecond: number; seconds: number; shards: number; workers: number; batchInterval?: string; log: (l: string) => void }): Promise<SustainedResult> {
  const batchInterval = o.batchInterval ?? "1s";
  const producerClients = createClients({ app: "x", region: "us-east-1", tables: { meta: "x", data: "x", state: "x" }, taskQueueUrl: "x", endpoints, credentials: { accessKeyId: "sparklesslocal", secretAccessKey: "sparklesslocal" } } satisfies AwsEngineConfig);
  const producerMeter = new Meter();
  producerMeter.attach(producerClients.kinesis, "Kinesis");
  const stream = `bench-sustained-${batchInterval}`;
  await ensureStream(producerClients.kinesis, stream, o.shards);
  const run = await FullPath.start({ endpoints, name: `benchsu${Date.now() % 100000}`, stream, workers: o.workers, batchInterval, defaultParallelism: 2 });
  const lines = generateLines({ records: o.ratePerSecond * o.seconds, wordsPerLine: 8, seed: 11 });
  const t0 = performance.now();
  run.startCoordinator();
  let sent: Awaited<ReturnType<typeof feed>>;
  let batches: BatchRecord[];
  try {
    sent = await feed({ client: producerClients.kinesis, stream, records: lines, ratePerSecond: o.ratePerSecond, describeStream: false });
    const expected = sent.sent;
    batches = await run.waitFor((b) => completedRecords(b) >= expected, 120_000);
  } catch (e) {
    await run.stop();
    throw e;
  }
  const counts = await run.stop();
  const wallMs = performance.now() - t0;
  const delays = batches.filter((b) => b.status === "completed" && (b.inputRecords ?? 0) > 0 && b.completedAt).map((b) => b.completedAt! - b.time);
  producerClients.kinesis.destroy(); producerClients.sqs.destroy(); producerClients.dynamodb.destroy();
  const all = mergeCounts([counts, producerMeter.snapshot()]);
  o.log(`  sustained ${o.ratePerSecond}/s for ${o.seconds} s at ${batchInterval} batches: ${completedRecords(batches)} records in ${batches.length} batches, total delay p50 ${percentile(delays, 50)} ms`);
  return {
    ratePerSecond: o.ratePerSecond, seconds: o.seconds, intervalMs: parseDuration(batchInterval).milliseconds, shards: o.shards, workers: o.workers, recordsSent: sent.sent, recordsCompleted: completedRecords(batches),
    batches: batches.filter((b) => b.status === "completed").length, counts: all, p50TotalDelayMs: percentile(delays, 50), wallMs: Math.round(wallMs),
  };
}

export interface MinuteInvocations {
  /** An invocation that generates the batch that is due (as every one does at a 1-minute interval): median ms. */
  readonly generatingMs: number;
  /** An invocation with nothing due: median ms, and its requests (per invocation). */
  readonly idleMs: number;
  readonly idleCounts: MeterCounts;
  readonly idleInvocations: number;
}

/**
 * Coordinator invocations of a 1-minute-interval app with the handler's
 * deadline (lib/runtime/handlers.ts: generate what is due, don't wait). The
 * first, on a new app, generates the due batch; the next ones find nothing due.
 */
export async function measureMinuteInvocations(endpoints: Endpoints, o: { repeats: number }): Promise<MinuteInvocations> {
  const kinesis = kinesisClient(endpoints);
  const stream = "bench-minute";
  await ensureStream(kinesis, stream, 1);
  kinesis.destroy();
  const run = await FullPath.start({ endpoints, name: `benchmin${Date.now() % 100000}`, stream, workers: 1, batchInterval: "60s", defaultParallelism: 2 });
  try {
    const generating: number[] = [];
    const idle: number[] = [];
    let before = run.meter.snapshot();
    for (let i = 0; i < o.repeats + 1; i++) {
      if (i === 1) {
        await run.waitFor((b) => b.some((x) => x.status === "completed"), 30_000);
        before = run.meter.snapshot();
      }
      const t0 = performance.now();
      const r = await runCoordinator(run.app, run.env.engine, { deadline: Date.now() });
      const ms = performance.now() - t0;
      if (i === 0) {
        if (r.generated !== 1) throw new Error(`the first 1-minute invocation generated ${r.generated} batches, expected 1`);
        generating.push(ms);
      } else {
        if (r.generated !== 0) throw new Error(`an idle 1-minute invocation generated ${r.generated} batches`);
        idle.push(ms);
      }
    }
    const idleCounts = subtractCounts(run.meter.snapshot(), before);
    return { generatingMs: median(generating), idleMs: median(idle), idleCounts, idleInvocations: idle.length };
  } finally {
    await run.stop();
  }
}
