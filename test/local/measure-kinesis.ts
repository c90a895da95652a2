/**
 * Measures the local Kinesis engines (and the start-up time of all engines).
 * Not a test: run by hand, `npx tsx test/local/measure-kinesis.ts [kinesalite|kinesis-local ...]`.
 * Numbers are in docs/local-engines.md.
 */
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  MergeShardsCommand,
  PutRecordsCommand,
  SplitShardCommand,
  type Shard,
} from "@aws-sdk/client-kinesis";
import { awsClientConfig, startEmbeddedEngines, type KinesisEngine } from "../../lib/local/engines.js";

const engines = (process.argv.slice(2).length ? process.argv.slice(2) : ["kinesalite", "kinesis-local"]) as KinesisEngine[];
const BATCH = 500;
const payload = (i: number) => new TextEncoder().encode(JSON.stringify({ i, word: `word-${i % 97}`, pad: "x".repeat(60) }));

async function waitActive(client: KinesisClient, name: string): Promise<void> {
  for (;;) {
    const s = await client.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    if (s.StreamDescriptionSummary?.StreamStatus === "ACTIVE") return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function putBatch(client: KinesisClient, name: string, from: number): Promise<number> {
  const t0 = performance.now();
  const out = await client.send(
    new PutRecordsCommand({
      StreamName: name,
      Records: Array.from({ length: BATCH }, (_, k) => ({ Data: payload(from + k), PartitionKey: `k${from + k}` })),
    }),
  );
  if (out.FailedRecordCount) throw new Error(`${out.FailedRecordCount} records failed`);
  return performance.now() - t0;
}

function stats(ms: number[]): string {
  const sorted = [...ms].sort((a, b) => a - b);
  const avg = ms.reduce((a, b) => a + b, 0) / ms.length;
  return `avg ${avg.toFixed(0)} ms, p50 ${sorted[Math.floor(ms.length / 2)]!.toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms`;
}

function shardLine(s: Shard): string {
  return `${s.ShardId} parent=${s.ParentShardId ?? "-"} adjParent=${s.AdjacentParentShardId ?? "-"} end=${s.SequenceNumberRange?.EndingSequenceNumber ? "yes" : "-"} hash=${s.HashKeyRange?.StartingHashKey?.slice(0, 6)}..${s.HashKeyRange?.EndingHashKey?.slice(0, 6)}`;
}

for (const engine of engines) {
  console.log(`\n=== ${engine}`);
  const t0 = performance.now();
  const e = await startEmbeddedEngines({ kinesisEngine: engine });
  console.log(`startup: all ${Math.round(performance.now() - t0)} ms`, e.startupMs);
  const client = new KinesisClient(awsClientConfig(e.kinesis, e.region));
  try {
    const name = "bench";
    await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: 4 }));
    await waitActive(client, name);

    // fill to ~10k records, one batch at a time
    const fill: number[] = [];
    let n = 0;
    for (; n < 10_000; n += BATCH) fill.push(await putBatch(client, name, n));
    console.log(`PutRecords x500, filling 0..10k sequentially: first ${fill[0]!.toFixed(0)} ms, ${stats(fill)}`);

    // on a stream holding 10k records: sequential, then 8 in flight
    const seq: number[] = [];
    for (let k = 0; k < 6; k++, n += BATCH) seq.push(await putBatch(client, name, n));
    console.log(
      `PutRecords x500 on 10k stream, sequential: ${stats(seq)} => ${((BATCH * 1000) / (seq.reduce((a, b) => a + b) / seq.length)).toFixed(0)} records/s`,
    );
    const tp = performance.now();
    const par = await Promise.all(Array.from({ length: 8 }, (_, k) => putBatch(client, name, n + k * BATCH)));
    n += 8 * BATCH;
    const parMs = performance.now() - tp;
    console.log(
      `PutRecords x500 on ~13k stream, 8 in flight: ${stats(par)}, wall ${parMs.toFixed(0)} ms => ${((8 * BATCH * 1000) / parMs).toFixed(0)} records/s`,
    );

    // GetRecords: read every shard from TRIM_HORIZON
    const shards = (await client.send(new ListShardsCommand({ StreamName: name }))).Shards ?? [];
    const tg = performance.now();
    let read = 0;
    let calls = 0;
    for (const s of shards) {
      let it = (await client.send(new GetShardIteratorCommand({ StreamName: name, ShardId: s.ShardId!, ShardIteratorType: "TRIM_HORIZON" })))
        .ShardIterator;
      for (;;) {
        const r = await client.send(new GetRecordsCommand({ ShardIterator: it!, Limit: 10_000 }));
        calls++;
        read += r.Records?.length ?? 0;
        if (!r.Records?.length || (r.MillisBehindLatest === 0 && (r.Records?.length ?? 0) < 10_000)) break;
        it = r.NextShardIterator;
      }
    }
    const gMs = performance.now() - tg;
    console.log(`GetRecords: ${read} records in ${calls} calls, ${gMs.toFixed(0)} ms => ${((read * 1000) / gMs).toFixed(0)} records/s`);

    // resharding
    try {
      const s0 = shards[0]!;
      const start = BigInt(s0.HashKeyRange!.StartingHashKey!);
      const end = BigInt(s0.HashKeyRange!.EndingHashKey!);
      await client.send(new SplitShardCommand({ StreamName: name, ShardToSplit: s0.ShardId!, NewStartingHashKey: ((start + end) / 2n).toString() }));
      await waitActive(client, name);
      const after = (await client.send(new ListShardsCommand({ StreamName: name }))).Shards ?? [];
      console.log(`SplitShard ok; ListShards:\n  ${after.map(shardLine).join("\n  ")}`);
      const children = after.filter((s) => s.ParentShardId === s0.ShardId);
      if (children.length === 2) {
        await client.send(
          new MergeShardsCommand({ StreamName: name, ShardToMerge: children[0]!.ShardId!, AdjacentShardToMerge: children[1]!.ShardId! }),
        );
        await waitActive(client, name);
        const merged = (await client.send(new ListShardsCommand({ StreamName: name }))).Shards ?? [];
        console.log(`MergeShards ok; ListShards:\n  ${merged.map(shardLine).join("\n  ")}`);
      }
      // GetRecords on the closed parent: records, then NextShardIterator null at the end?
      let it = (await client.send(new GetShardIteratorCommand({ StreamName: name, ShardId: s0.ShardId!, ShardIteratorType: "TRIM_HORIZON" })))
        .ShardIterator;
      let total = 0;
      for (let k = 0; k < 20 && it; k++) {
        const r = await client.send(new GetRecordsCommand({ ShardIterator: it, Limit: 10_000 }));
        total += r.Records?.length ?? 0;
        it = r.NextShardIterator;
        if (!it)
          console.log(
            `closed parent shard: ${total} records, then NextShardIterator absent after ${k + 1} calls; ChildShards=${JSON.stringify(r.ChildShards?.map((c) => c.ShardId))}`,
          );
      }
      if (it) console.log(`closed parent shard: ${total} records, NextShardIterator still present after 20 calls`);
    } catch (error) {
      console.log(`resharding failed: ${(error as Error).name}: ${(error as Error).message}`);
    }
  } finally {
    client.destroy();
    await e.stop();
  }
}
