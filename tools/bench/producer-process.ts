/**
 * The bench's producer, in a process of its own so that its CPU time never
 * counts as the coordinator's: puts the workload's records into a Kinesis
 * stream with PutRecords (at most 500 a call), either at a fixed rate (every
 * 100 ms it sends what the rate owes so far) or as fast as it can (a
 * preload). Records Kinesis refuses are sent again.
 *
 * For the latency figures it writes, for every PutRecords call, the time the
 * call was made and the shard and sequence number of each record (JSON lines
 * in a file the bench reads): a record's batch is the batch whose block of
 * that shard holds the sequence number.
 */
import "../../lib/local/quiet.js";
import { createWriteStream } from "node:fs";
import { KinesisClient, PutRecordsCommand, type PutRecordsRequestEntry } from "@aws-sdk/client-kinesis";
import { sleep } from "../../lib/core/clock.js";
import { awsClientConfig } from "../../lib/local/engines.js";
import { scaleKey } from "./bench-app.js";
import { serveBench } from "./children.js";
import { Meter } from "../../lib/observability/metering.js";
import { lineGenerator, rng } from "./workload.js";

/** One PutRecords call in the producer's log: when it was made, and where each record went. */
export interface PutLogLine {
  t: number;
  r: [shard: string, sequence: string][];
}

export interface ProduceRequest {
  endpoint: string;
  stream: string;
  /** "rate": `ratePerSecond` for `seconds`; "preload": `records` as fast as possible. */
  mode: "rate" | "preload";
  ratePerSecond?: number;
  seconds?: number;
  records?: number;
  /** "lines": the word count's lines; "keys": keys of the scale scenario, drawn uniformly from `keySpace`. */
  kind: "lines" | "keys";
  keySpace?: number;
  seed: number;
  /** Where the put log goes; none when absent. */
  logPath?: string;
}

export interface ProduceResult {
  sent: number;
  ms: number;
  calls: number;
  retried: number;
}

const meter = new Meter();
const clients = new Map<string, KinesisClient>();
let partitionKey = 0;

function client(endpoint: string): KinesisClient {
  let c = clients.get(endpoint);
  if (!c) {
    c = new KinesisClient(awsClientConfig(endpoint, "us-east-1"));
    meter.attach(c, "Kinesis");
    clients.set(endpoint, c);
  }
  return c;
}

function source(r: ProduceRequest): () => string {
  if (r.kind === "lines") return lineGenerator({ seed: r.seed });
  const random = rng(r.seed);
  const space = r.keySpace ?? 1;
  return () => scaleKey(Math.floor(random() * space));
}

async function produce(r: ProduceRequest): Promise<ProduceResult> {
  const kinesis = client(r.endpoint);
  const next = source(r);
  const log = r.logPath ? createWriteStream(r.logPath) : undefined;
  let sent = 0,
    calls = 0,
    retried = 0;
  /** One PutRecords call of up to 500 records, then again for any record Kinesis refused. */
  const put = async (entries: PutRecordsRequestEntry[]): Promise<void> => {
    let pending = entries;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) {
        retried += pending.length;
        await sleep(Math.min(50 * 2 ** attempt, 1000));
      }
      const t = Date.now();
      calls++;
      const res = await kinesis.send(new PutRecordsCommand({ StreamName: r.stream, Records: pending }));
      const failed: PutRecordsRequestEntry[] = [];
      const placed: [string, string][] = [];
      (res.Records ?? []).forEach((x, i) => {
        if (x.ErrorCode) failed.push(pending[i]!);
        else placed.push([x.ShardId!, x.SequenceNumber!]);
      });
      sent += placed.length;
      log?.write(JSON.stringify({ t, r: placed } satisfies PutLogLine) + "\n");
      pending = failed;
    }
  };
  const entries = (n: number): PutRecordsRequestEntry[] =>
    Array.from({ length: n }, () => ({ Data: Buffer.from(next()), PartitionKey: String(++partitionKey) }));
  /** Sends n records in calls of at most 500, `concurrency` calls at a time. */
  const send = async (n: number, concurrency: number): Promise<void> => {
    const chunks: number[] = [];
    for (let left = n; left > 0; left -= 500) chunks.push(Math.min(500, left));
    let i = 0;
    await Promise.all(
      Array.from({ length: Math.min(concurrency, chunks.length) }, async () => {
        for (let c = i++; c < chunks.length; c = i++) await put(entries(chunks[c]!));
      }),
    );
  };
  const started = performance.now();
  if (r.mode === "preload") {
    // As fast as the engine takes them, 4 calls in flight.
    await send(r.records ?? 0, 4);
  } else {
    const rate = r.ratePerSecond ?? 0;
    const total = Math.round(rate * (r.seconds ?? 0));
    let owed = 0;
    // Every 100 ms, what the rate owes by now; the calls run in the background (a slow call does not
    // shift the clock), at most 16 ticks' worth in flight.
    const inFlight: Promise<void>[] = [];
    for (let tick = 1; owed < total; tick++) {
      await sleep(Math.max(0, started + tick * 100 - performance.now()));
      const due = Math.min(total, Math.floor((rate * (performance.now() - started)) / 1000));
      if (due > owed) inFlight.push(send(due - owed, 8));
      owed = Math.max(owed, due);
      if (inFlight.length > 16) await inFlight.shift();
    }
    await Promise.all(inFlight);
  }
  const ms = performance.now() - started;
  await new Promise<void>((resolve) => (log ? log.end(resolve) : resolve()));
  return { sent, ms: Math.round(ms), calls, retried };
}

serveBench(
  {
    produce: (m) => produce(m as unknown as ProduceRequest),
    counts: () => meter.snapshot(),
    reset: () => {
      meter.reset();
      return true;
    },
  },
  { pid: process.pid },
  () => {
    for (const c of clients.values()) c.destroy();
  },
);
