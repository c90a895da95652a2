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
  env.engine.clients.kinesis.middlewareStack.add(
    (next, context) => async (args) => {
      const r = await next(args);
      if (context.commandName === "GetRecordsCommand") {
        getRecordsCalls++;
        recordsFetched += (r.output as { Records?: unknown[] }).Records?.length ?? 0;
      }
      return r;
    },
    { step: "initialize", name: "countGetRecords" },
  );
}, 120_000);
let getRecordsCalls = 0;
let recordsFetched = 0;
afterAll(async () => {
  await env.engine.close?.();
  await stopSharedEngines();
}, 60_000);

/** Puts `texts` in order, 500 to a PutRecords call (its limit). */
async function put(stream: string, texts: string[]): Promise<void> {
  for (let from = 0; from < texts.length; from += 500) {
    const res = await env.engine.clients.kinesis.send(
      new PutRecordsCommand({
        StreamName: stream,
        Records: texts.slice(from, from + 500).map((t, i) => ({ Data: Buffer.from(t), PartitionKey: `k${from + i}-${t}` })),
      }),
    );
    expect(res.FailedRecordCount ?? 0).toBe(0);
  }
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

describe("reading ahead between boundaries", () => {
  const texts = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag}${String(i).padStart(4, "0")}`);
  const kept = (a: { records?: (unknown[] | undefined)[] }) => a.records!.map((rs) => rs!.map((r) => text(r as KinesisRecord)));
  const roomy = (): RecordBudget => ({ records: 1e6, bytes: 1 << 26, exhausted: false });

  /** A stream with one shard whose first batch took 1,200 records, so its source reads ahead from then on. */
  async function busyStream(name: string): Promise<{ stream: string; source: KinesisSource; state: unknown }> {
    const stream = `${name}-${process.pid}`;
    await ensureStream(env.engine.clients.kinesis, stream, 1);
    const source = new KinesisSource(env.engine.clients.kinesis);
    await put(stream, texts(1200, "a"));
    const first = await source.allocate(stream, undefined, {});
    expect(first.blocks[0]!.count).toBe(1200);
    return { stream, source, state: first.state };
  }

  it("a batch fixed after reading ahead holds exactly what it holds without, and its boundary reads only the tail", async () => {
    const { stream, source, state } = await busyStream("ahead-same");
    await put(stream, texts(700, "b"));
    await source.readAhead(stream, state);
    await put(stream, texts(300, "c"));
    const [calls, fetched] = [getRecordsCalls, recordsFetched];
    const ahead = await source.allocate(stream, state, { budget: roomy() });
    // The 700 came from the read-ahead; the boundary made one call, for the 300 since.
    expect(getRecordsCalls - calls).toBe(1);
    expect(recordsFetched - fetched).toBe(300);
    const fresh = await new KinesisSource(env.engine.clients.kinesis).allocate(stream, state, { budget: roomy() });
    expect(ahead.blocks).toEqual(fresh.blocks);
    expect(ahead.state).toEqual(fresh.state);
    expect(kept(ahead)).toEqual([[...texts(700, "b"), ...texts(300, "c")]]);
    expect((await source.read(ahead.blocks[0]!)).map(text)).toEqual(kept(ahead)[0]);
  });

  it("records read ahead of a position the batch does not start from are dropped", async () => {
    const { stream, source, state } = await busyStream("ahead-moved");
    await put(stream, texts(400, "b"));
    const next = await new KinesisSource(env.engine.clients.kinesis).allocate(stream, state, {});
    await put(stream, texts(50, "c"));
    // Read ahead from the first batch's end; the next batch starts after the 400 (another coordinator ran it).
    await source.readAhead(stream, state);
    const moved = await source.allocate(stream, next.state, { budget: roomy() });
    expect(kept(moved)).toEqual([texts(50, "c")]);
    // And from the first batch's end again, the read-ahead being gone, everything since.
    const again = await source.allocate(stream, state, { budget: roomy() });
    expect(kept(again)).toEqual([[...texts(400, "b"), ...texts(50, "c")]]);
  });

  it("a cap smaller than what was read ahead takes the first records and leaves the rest, in order, for the next batch", async () => {
    const { stream, source, state } = await busyStream("ahead-cap");
    await put(stream, texts(800, "b"));
    await source.readAhead(stream, state);
    const capped = await source.allocate(stream, state, { maxRecordsPerShard: 300, budget: roomy() });
    expect(kept(capped)).toEqual([texts(800, "b").slice(0, 300)]);
    const fetched = recordsFetched;
    const rest = await source.allocate(stream, capped.state, { budget: roomy() });
    expect(kept(rest)).toEqual([texts(800, "b").slice(300)]);
    // The 500 left were read ahead already: the boundary's one read found nothing new.
    expect(recordsFetched - fetched).toBe(0);
  });

  it("a shard whose batches are small is not read ahead", async () => {
    const stream = `ahead-idle-${process.pid}`;
    await ensureStream(env.engine.clients.kinesis, stream, 1);
    const source = new KinesisSource(env.engine.clients.kinesis);
    await put(stream, texts(20, "a"));
    const first = await source.allocate(stream, undefined, {});
    const calls = getRecordsCalls;
    await source.readAhead(stream, first.state);
    expect(getRecordsCalls - calls).toBe(0);
  });
});
