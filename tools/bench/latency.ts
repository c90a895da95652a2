/**
 * Record → committed latency, and the batch timeline figures of a run.
 *
 * The producer logs when it put each record and where Kinesis placed it
 * (shard, sequence number). A consumer commits records in blocks: a
 * Sparkless batch commits its blocks (per shard, the sequence range
 * `(after, endAt]`) when it completes, since its record is durable then and
 * its state in memory and recoverable by replay; the direct consumer commits
 * each GetRecords page when it has applied it. A record's latency is its
 * block's commit time minus its put time.
 *
 * Also the AWS model of the same latency, from the calls a batch makes one
 * after another (counted in the run) and typical AWS latencies (stated as
 * assumptions).
 */
import { readFileSync } from "node:fs";
import type { KinesisBlock } from "../../lib/aws/kinesis.js";
import type { BatchRecord } from "../../lib/storage/interfaces.js";
import type { PutLogLine } from "./producer-process.js";
import { max, percentile } from "./stats.js";

/** Records of one shard committed together: the sequence range (after, endAt], at `at` (epoch ms). */
export interface CommitBlock {
  shardId: string;
  after?: string;
  endAt: string;
  at: number;
}

export interface LatencyFigures {
  records: number;
  /** Records put but never committed during the run. */
  uncommitted: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export function readPutLog(path: string): PutLogLine[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as PutLogLine);
}

/** The blocks a completed batch committed. */
export function batchBlocks(batches: readonly BatchRecord[]): CommitBlock[] {
  const out: CommitBlock[] = [];
  for (const b of batches) {
    if (b.status !== "completed" || b.completedAt === undefined) continue;
    for (const blocks of Object.values(b.blocks)) {
      for (const blk of blocks as KinesisBlock[]) {
        if (blk.source !== "kinesis" || !blk.endAt || blk.count === 0) continue;
        out.push({ shardId: blk.shardId, ...(blk.after ? { after: blk.after } : {}), endAt: blk.endAt, at: b.completedAt });
      }
    }
  }
  return out;
}

/** Each put record's latency to the block that committed it. */
export function latencies(puts: readonly PutLogLine[], blocks: readonly CommitBlock[]): { samples: number[]; figures: LatencyFigures } {
  const byShard = new Map<string, { end: bigint; at: number }[]>();
  for (const b of blocks) {
    let l = byShard.get(b.shardId);
    if (!l) byShard.set(b.shardId, (l = []));
    l.push({ end: BigInt(b.endAt), at: b.at });
  }
  for (const l of byShard.values()) l.sort((x, y) => (x.end < y.end ? -1 : x.end > y.end ? 1 : 0));
  const samples: number[] = [];
  let uncommitted = 0;
  let records = 0;
  for (const line of puts) {
    for (const [shard, sequence] of line.r) {
      records++;
      const l = byShard.get(shard);
      const seq = BigInt(sequence);
      // The first block (in shard order) that ends at or after the record holds it.
      let lo = 0,
        hi = l ? l.length : 0;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (l![mid]!.end < seq) lo = mid + 1;
        else hi = mid;
      }
      if (!l || lo >= l.length) {
        uncommitted++;
        continue;
      }
      samples.push(l[lo]!.at - line.t);
    }
  }
  return {
    samples,
    figures: { records, uncommitted, p50Ms: percentile(samples, 50), p99Ms: percentile(samples, 99), maxMs: max(samples) },
  };
}

/** The batch timeline of a run: Spark's streaming UI figures (processing over the batches with input, if any). */
export interface Timeline {
  batches: number;
  nonEmptyBatches: number;
  fannedOut: number;
  records: number;
  processingP50Ms: number;
  processingP99Ms: number;
  schedulingDelayP50Ms: number;
  schedulingDelayP99Ms: number;
  totalDelayP50Ms: number;
  /** Median scheduling delay of the first and of the last third of the batches: a growing lag shows as a rise. */
  schedulingDelayFirstThirdMs: number;
  schedulingDelayLastThirdMs: number;
}

export function timeline(batches: readonly BatchRecord[]): Timeline {
  const done = batches.filter((b) => b.status === "completed" && b.startedAt !== undefined && b.completedAt !== undefined);
  const busy = done.filter((b) => (b.inputRecords ?? 0) > 0);
  // Processing and total delay over the batches with input; at rest, over the empty ones.
  const timed = busy.length ? busy : done;
  const proc = timed.map((b) => b.completedAt! - b.startedAt!);
  const sched = done.map((b) => b.startedAt! - b.time);
  const third = Math.max(1, Math.floor(sched.length / 3));
  return {
    batches: done.length,
    nonEmptyBatches: busy.length,
    fannedOut: busy.filter((b) => b.mode === "fan-out").length,
    records: busy.reduce((n, b) => n + (b.inputRecords ?? 0), 0),
    processingP50Ms: percentile(proc, 50),
    processingP99Ms: percentile(proc, 99),
    schedulingDelayP50Ms: percentile(sched, 50),
    schedulingDelayP99Ms: percentile(sched, 99),
    totalDelayP50Ms: percentile(
      timed.map((b) => b.completedAt! - b.time),
      50,
    ),
    schedulingDelayFirstThirdMs: percentile(sched.slice(0, third), 50),
    schedulingDelayLastThirdMs: percentile(sched.slice(-third), 50),
  };
}

// ---- the AWS model --------------------------------------------------------------------------

/** Typical AWS latencies the model assumes (p50, p99), in ms. Assumptions, not measurements. */
export const AWS_LATENCY = {
  /** Kinesis put-to-get delay: a record put is readable by GetRecords after this (AWS: "typically less than 1 second"). */
  putToGet: { p50: 200, p99: 1000 },
  /** One GetRecords call on a shard, in the same region. */
  getRecords: { p50: 25, p99: 100 },
  /** One DynamoDB PutItem (the batch record), in the same region. */
  putItem: { p50: 8, p99: 30 },
} as const;

export interface LatencyModel {
  /** Calls on a batch's critical path, per batch, as counted in the run. */
  getRecordsPerBatch: number;
  putItemsPerBatch: number;
  /** The coordinator's CPU per batch at its Lambda memory (this machine's CPU ms × 1769 / memory MB). */
  computeMs: number;
  p50Ms: number;
  p99Ms: number;
}

/**
 * Record → committed on AWS, modelled: a record waits for the next boundary (half an interval on
 * average, nearly all of it at p99) plus the put-to-get delay; then the batch reads its shards (all
 * at once, `getRecordsPerBatch` pages one after another on each), writes its record, and runs.
 */
export function awsLatencyModel(intervalMs: number, getRecordsPerBatch: number, putItemsPerBatch: number, computeMs: number): LatencyModel {
  const a = AWS_LATENCY;
  const p50 = intervalMs / 2 + a.putToGet.p50 + getRecordsPerBatch * a.getRecords.p50 + putItemsPerBatch * a.putItem.p50 + computeMs;
  const p99 = intervalMs * 0.99 + a.putToGet.p99 + getRecordsPerBatch * a.getRecords.p99 + putItemsPerBatch * a.putItem.p99 + computeMs * 1.5;
  return { getRecordsPerBatch, putItemsPerBatch, computeMs, p50Ms: Math.round(p50), p99Ms: Math.round(p99) };
}
