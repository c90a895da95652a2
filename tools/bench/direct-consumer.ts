/**
 * The direct Kinesis consumer baseline: what a competent developer writes
 * without Sparkless, doing the same work. One process reads every shard with
 * GetRecords (each shard at most 5 calls a second, the service's limit),
 * adds each page's word counts to the running totals as soon as it has it,
 * slides the window every interval (the baselines' WordCountState), and
 * checkpoints as often as Sparkless does (every checkpoint interval): the
 * keys changed since the last checkpoint, packed and compressed into pages
 * by lib/checkpoint/pages.ts, written with BatchWriteItem to a state table,
 * then its shard positions with one PutItem.
 *
 * It runs in this process against the producer's records, with metered
 * clients, so its requests, CPU time and latency stand beside Sparkless's.
 * Its state is durable only at its checkpoints; Sparkless's batch is
 * recoverable by replay as soon as it completes.
 */
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, type KinesisClient } from "@aws-sdk/client-kinesis";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { createClients, type AwsClients } from "../../lib/aws/engine.js";
import { createTables } from "../../lib/aws/dynamodb/tables.js";
import { sleep } from "../../lib/core/clock.js";
import { batchWrite, pad, ttlIn, DAY_S } from "../../lib/aws/dynamodb/util.js";
import { packPages, type Section } from "../../lib/checkpoint/pages.js";
import { awsClientConfig } from "../../lib/local/engines.js";
import { ensureStream } from "../../lib/local/runtime.js";
import { countBatch, WordCountState } from "./baselines.js";
import { checkpointIntervalMs } from "./workload.js";
import type { Endpoints } from "./cluster.js";
import type { CommitBlock } from "./latency.js";
import { Meter, type MeterCounts } from "../../lib/observability/metering.js";

/** A shard allows 5 GetRecords calls a second. */
const MIN_CALL_GAP_MS = 200;
const decoder = new TextDecoder();

export interface DirectConsumerOptions {
  endpoints: Endpoints;
  /** Names its tables and checkpoint items. */
  name: string;
  stream: string;
  shards: number;
  intervalMs: number;
}

export class DirectConsumer {
  readonly meter = new Meter();
  readonly state = new WordCountState();
  /** Each applied GetRecords page: what it committed, for the latency figures. */
  readonly commits: CommitBlock[] = [];
  recordsApplied = 0;
  checkpoints = 0;
  checkpointBytes = 0;
  private readonly clients: AwsClients;
  private readonly tables: { meta: string; state: string };
  private readonly stop = new AbortController();
  private readonly positions = new Map<string, string>();
  private tick = new Map<string, number>();
  private readonly changedTotals = new Set<string>();
  private readonly changedWindow = new Set<string>();
  private loops: Promise<void>[] = [];

  constructor(private readonly o: DirectConsumerOptions) {
    this.clients = createClients({
      region: "us-east-1",
      endpoints: o.endpoints,
      credentials: awsClientConfig(o.endpoints.dynamodb, "us-east-1").credentials,
    });
    this.tables = { meta: `sparkless-${o.name}-meta`, state: `sparkless-${o.name}-state` };
  }

  /** Creates its tables and the stream (not metered: deployment), then meters everything it sends. */
  async prepare(): Promise<void> {
    await createTables(this.clients.dynamodb, this.tables);
    await ensureStream(this.clients.kinesis, this.o.stream, this.o.shards);
    this.meter.attachAll(this.clients);
  }

  /** Starts reading every shard, sliding the window every interval and checkpointing every checkpoint interval. */
  start(): void {
    const kinesis = this.clients.kinesis;
    this.loops.push(
      (async () => {
        const shards = (await kinesis.send(new ListShardsCommand({ StreamName: this.o.stream }))).Shards ?? [];
        await Promise.all(shards.map((s) => this.readShard(kinesis, s.ShardId!)));
      })(),
    );
    this.loops.push(this.clockLoop());
  }

  private async readShard(kinesis: KinesisClient, shardId: string): Promise<void> {
    let it = (await kinesis.send(new GetShardIteratorCommand({ StreamName: this.o.stream, ShardId: shardId, ShardIteratorType: "TRIM_HORIZON" })))
      .ShardIterator;
    while (it && !this.stop.signal.aborted) {
      const called = performance.now();
      const res = await kinesis.send(new GetRecordsCommand({ ShardIterator: it, Limit: 10_000 }));
      const records = res.Records ?? [];
      if (records.length) {
        const counts = countBatch(records.map((r) => decoder.decode(r.Data)));
        this.state.addTotals(counts);
        for (const [w, n] of counts) {
          this.tick.set(w, (this.tick.get(w) ?? 0) + n);
          this.changedTotals.add(w);
        }
        const after = this.positions.get(shardId);
        const endAt = records[records.length - 1]!.SequenceNumber!;
        this.positions.set(shardId, endAt);
        this.recordsApplied += records.length;
        this.commits.push({ shardId, ...(after ? { after } : {}), endAt, at: Date.now() });
      }
      it = res.NextShardIterator;
      // Behind: read on at the shard's limit of 5 calls a second; caught up: the same pace.
      await sleep(Math.max(0, MIN_CALL_GAP_MS - (performance.now() - called)));
    }
  }

  /** Every interval boundary: slide the window; every checkpoint interval: checkpoint. */
  private async clockLoop(): Promise<void> {
    const interval = this.o.intervalMs;
    const every = checkpointIntervalMs(interval);
    while (!this.stop.signal.aborted) {
      const next = (Math.floor(Date.now() / interval) + 1) * interval;
      await sleep(next - Date.now());
      const counts = this.tick;
      this.tick = new Map();
      const out = this.state.slideWindow(counts);
      for (const w of counts.keys()) this.changedWindow.add(w);
      for (const w of out?.keys() ?? []) this.changedWindow.add(w);
      if (next % every === 0) await this.checkpoint(next);
    }
  }

  private async checkpoint(time: number): Promise<void> {
    const section = (partition: number, keys: Set<string>, m: Map<string, number>): Section => {
      const ks = [...keys];
      return { partition, keys: ks, values: ks.map((k) => m.get(k)), removes: [] };
    };
    const pages = packPages([section(0, this.changedTotals, this.state.totals), section(1, this.changedWindow, this.state.window)]);
    this.changedTotals.clear();
    this.changedWindow.clear();
    const key = `${time}`;
    const ttl = ttlIn(7 * DAY_S);
    await batchWrite(
      this.clients.doc,
      this.tables.state,
      pages.map((d, i) => ({ PutRequest: { Item: { pk: `${this.o.name}#ck#${key}#${i}`, sk: "p", d, ttl } } })),
    );
    await this.clients.doc.send(
      new PutCommand({
        TableName: this.tables.meta,
        Item: {
          pk: `${this.o.name}#ckpt`,
          sk: pad(time),
          e: JSON.stringify({ pages: pages.length, positions: Object.fromEntries(this.positions) }),
          ttl,
        },
      }),
    );
    this.checkpoints++;
    this.checkpointBytes += pages.reduce((n, p) => n + p.length, 0);
  }

  counts(): MeterCounts {
    return this.meter.snapshot();
  }

  async close(): Promise<void> {
    this.stop.abort();
    await Promise.allSettled(this.loops);
    for (const c of [this.clients.dynamodb, this.clients.kinesis, this.clients.sqs, this.clients.s3]) c.destroy();
  }
}
