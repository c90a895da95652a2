/**
 * Time-bounded Kinesis blocks, used with a wall clock: the coordinator fixes a
 * batch without reading a record; workers read up to the first record that
 * arrived at or after the bound. Consecutive batches neither lose nor repeat
 * a record, across a shard split too.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DescribeStreamSummaryCommand, ListShardsCommand, PutRecordsCommand, SplitShardCommand } from "@aws-sdk/client-kinesis";
import { KinesisSource, type KinesisInputState, type KinesisRecord } from "../../lib/aws/kinesis.js";
import { sharedEngines, stopSharedEngines } from "../../lib/local/run-batches-local.js";
import { ensureStream, prepareLocal, type LocalEnvironment } from "../../lib/local/runtime.js";

let env: LocalEnvironment;
beforeAll(async () => { env = await prepareLocal({ app: `arrival${process.pid}`, endpoints: await sharedEngines() }); }, 120_000);
afterAll(async () => { await env.engine.close?.(); await stopSharedEngines(); }, 60_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function put(stream: string, texts: string[]): Promise<void> {
  const res = await env.engine.clients.kinesis.send(new PutRecordsCommand({
    StreamName: stream, Records: texts.map((t, i) => ({ Data: Buffer.from(t), PartitionKey: `k${i}-${t}` })),
  }));
  expect(res.FailedRecordCount ?? 0).toBe(0);
}

async function readBatch(source: KinesisSource, stream: string, prev: KinesisInputState | undefined, bound: number) {
  const { blocks, state } = await source.allocate(stream, prev, { arrivalBefore: bound });
  const records: KinesisRecord[] = [];
  for (const b of blocks) records.push(...(await source.read(b)));
  return { blocks, state, texts: records.map((r) => Buffer.from(r.data).toString()).sort() };
}

describe("time-bounded blocks", () => {
  it("cut the stream at arrival times, with no record lost or read twice", async () => {
    const stream = `arrival-a-${process.pid}`;
    await ensureStream(env.engine.clients.kinesis, stream, 2);
    const source = new KinesisSource(env.engine.clients.kinesis);
    await put(stream, ["a1", "a2", "a3", "a4", "a5"]);
    await sleep(30);
    const t1 = Date.now();
    await sleep(30);
    await put(stream, ["b1", "b2", "b3"]);
    await sleep(30);
    const t2 = Date.now();
    const first = await readBatch(source, stream, undefined, t1);
    expect(first.texts).toEqual(["a1", "a2", "a3", "a4", "a5"]);
    expect(first.blocks.every((b) => b.count === undefined && b.arrivalBefore === t1)).toBe(true);
    const second = await readBatch(source, stream, first.state, t2);
    expect(second.texts).toEqual(["b1", "b2", "b3"]);
    // The same block read again (a retry) gives the same records.
    const again = [];
    for (const b of second.blocks) again.push(...(await source.read(b)));
    expect(again.map((r) => Buffer.from(r.data).toString()).sort()).toEqual(["b1", "b2", "b3"]);
    const third = await readBatch(source, stream, second.state, Date.now());
    expect(third.texts).toEqual([]);
  });

  it("carry on across a shard split: parent records come before child records, and the closed parent is dropped", async () => {
    const stream = `arrival-s-${process.pid}`;
    const kinesis = env.engine.clients.kinesis;
    await ensureStream(kinesis, stream, 1);
    const source = new KinesisSource(kinesis);
    await put(stream, ["p1", "p2"]);
    await sleep(30);
    const t1 = Date.now();
    const first = await readBatch(source, stream, undefined, t1);
    expect(first.texts).toEqual(["p1", "p2"]);
    await put(stream, ["p3"]);
    const [parent] = (await kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards!;
    await kinesis.send(new SplitShardCommand({ StreamName: stream, ShardToSplit: parent!.ShardId!, NewStartingHashKey: (2n ** 127n).toString() }));
    for (let i = 0; i < 100; i++) {
      if ((await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: stream }))).StreamDescriptionSummary?.StreamStatus === "ACTIVE") break;
      await sleep(20);
    }
    await put(stream, ["c1", "c2", "c3", "c4"]);
    // Read batch after batch until every record is in (kinesalite may date a new shard's records up to a
    // second ahead, so children's records can fall in a later batch than a wall clock suggests).
    const seen: string[][] = [];
    let state = first.state;
    for (let i = 0; i < 40 && seen.flat().length < 5; i++) {
      await sleep(100);
      const b = await readBatch(source, stream, state, Date.now());
      seen.push(b.texts);
      state = b.state;
    }
    expect(seen.flat().sort()).toEqual(["c1", "c2", "c3", "c4", "p3"]);
    const batchOf = (t: string) => seen.findIndex((b) => b.includes(t));
    // The parent's last record never comes after a child's first.
    expect(batchOf("p3")).toBeLessThanOrEqual(Math.min(...["c1", "c2", "c3", "c4"].map(batchOf)));
    expect(state.shards[parent!.ShardId!]!.finished).toBe(true);
    await sleep(30);
    const last = await readBatch(source, stream, state, Date.now());
    expect(last.blocks.map((b) => b.shardId)).not.toContain(parent!.ShardId);
    expect(last.texts).toEqual([]);
  });
});
