/**
 * Kinesis blocks are fixed by sequence number, whatever the records' arrival timestamps say: Kinesis
 * does not promise that ApproximateArrivalTimestamp increases along a shard ("records in a shard or
 * across a stream might have time stamps that are out of order"). An SDK middleware here stamps every
 * record GetRecords returns with a random time, out of order; consecutive batches still neither lose
 * nor repeat a record, the records a coordinator kept while fixing a block are exactly the block's
 * records when read again, and the budget switches the coordinator to counting once it runs out.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { KinesisSource, type KinesisBlock, type KinesisRecord } from "../../lib/aws/kinesis.js";
import { sharedEngines, stopSharedEngines } from "../../lib/local/run-batches-local.js";
import { ensureStream, prepareLocal, type LocalEnvironment } from "../../lib/local/runtime.js";
import type { RecordBudget } from "../../lib/storage/interfaces.js";

let env: LocalEnvironment;
beforeAll(async () => {
  env = await prepareLocal({ app: `blocks${process.pid}`, endpoints: await sharedEngines() });
  // Arrival timestamps at random, out of order along every shard.
  let seed = 12345;
  const rand = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  env.engine.clients.kinesis.middlewareStack.add(
    (next) => async (args) => {
      const r = await next(args);
      const out = r.output as { Records?: { ApproximateArrivalTimestamp?: Date }[] } | undefined;
      for (const rec of out?.Records ?? []) rec.ApproximateArrivalTimestamp = new Date(Date.now() - Math.floor(rand() * 3_600_000));
      return r;
    },
    { step: "initialize", name: "shuffledArrivalTimes" },
  );
}, 120_000);
afterAll(async () => {
  await env.engine.close?.();
  await stopSharedEngines();
}, 60_000);

async function put(stream: string, texts: string[]): Promise<void> {
  const res = await env.engine.clients.kinesis.send(
    new PutRecordsCommand({
      StreamName: stream,
      Records: texts.map((t, i) => ({ Data: Buffer.from(t), PartitionKey: `k${i}-${t}` })),
    }),
  );
  expect(res.FailedRecordCount ?? 0).toBe(0);
}
const text = (r: KinesisRecord) => Buffer.from(r.data).toString();

describe("blocks by sequence number", () => {
  it("with arrival timestamps out of order, consecutive batches neither lose nor repeat a record", async () => {
    const stream = `blocks-order-${process.pid}`;
    await ensureStream(env.engine.clients.kinesis, stream, 2);
    const source = new KinesisSource(env.engine.clients.kinesis);
    const seen: string[] = [];
    let state: unknown;
    const sent: string[] = [];
    for (let b = 0; b < 6; b++) {
      const batch = Array.from({ length: 7 + b }, (_, i) => `r${b}-${i}`);
      await put(stream, batch);
      sent.push(...batch);
      const a = await source.allocate(stream, state, {});
      state = a.state;
      for (const block of a.blocks) seen.push(...(await source.read(block)).map(text));
      expect(a.blocks.reduce((n, x) => n + (x.count ?? 0), 0)).toBe(batch.length);
    }
    expect(seen.sort()).toEqual(sent.sort());
  });

  it("the records kept while fixing a block are the block's records read again; past the budget they are only counted", async () => {
    const stream = `blocks-budget-${process.pid}`;
    await ensureStream(env.engine.clients.kinesis, stream, 1);
    const source = new KinesisSource(env.engine.clients.kinesis);
    await put(
      stream,
      Array.from({ length: 30 }, (_, i) => `x${i}`),
    );
    const roomy: RecordBudget = { records: 100, bytes: 1 << 20, exhausted: false };
    const a = await source.allocate(stream, undefined, { budget: roomy });
    expect(roomy.exhausted).toBe(false);
    expect(a.records![0]!.map((r) => text(r as KinesisRecord))).toEqual((await source.read(a.blocks[0]!)).map(text));
    expect(roomy.records).toBe(70);
    await put(
      stream,
      Array.from({ length: 30 }, (_, i) => `y${i}`),
    );
    const tight: RecordBudget = { records: 10, bytes: 1 << 20, exhausted: false };
    const b = await source.allocate(stream, a.state, { budget: tight });
    expect(tight.exhausted).toBe(true);
    expect(b.records![0]).toBeUndefined();
    const block = b.blocks[0] as KinesisBlock;
    expect(block.count).toBe(30);
    expect((await source.read(block)).map(text)).toEqual(Array.from({ length: 30 }, (_, i) => `y${i}`));
  });

  it("a per-shard cap leaves the rest for the next batch, in order", async () => {
    const stream = `blocks-cap-${process.pid}`;
    await ensureStream(env.engine.clients.kinesis, stream, 1);
    const source = new KinesisSource(env.engine.clients.kinesis);
    await put(
      stream,
      Array.from({ length: 25 }, (_, i) => `c${String(i).padStart(2, "0")}`),
    );
    const first = await source.allocate(stream, undefined, { maxRecordsPerShard: 10 });
    const second = await source.allocate(stream, first.state, { maxRecordsPerShard: 10 });
    const third = await source.allocate(stream, second.state, { maxRecordsPerShard: 10 });
    const texts = async (a: typeof first) => (await source.read(a.blocks[0]!)).map(text);
    expect(await texts(first)).toEqual(Array.from({ length: 10 }, (_, i) => `c${String(i).padStart(2, "0")}`));
    expect(await texts(second)).toEqual(Array.from({ length: 10 }, (_, i) => `c${String(i + 10).padStart(2, "0")}`));
    expect(await texts(third)).toEqual(Array.from({ length: 5 }, (_, i) => `c${String(i + 20).padStart(2, "0")}`));
  });
});
