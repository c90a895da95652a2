// The real path on the embedded engines: Kinesis → the coordinator's job generator (batch log and
// checkpoints in DynamoDB), and for fanned-out batches SQS task and result messages → Worker.handle.
import { ListShardsCommand, SplitShardCommand, type Shard } from "@aws-sdk/client-kinesis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineApp } from "../../lib/app/app.js";
import { Seconds } from "../../lib/core/duration.js";
import type { KinesisBlock, KinesisInputState } from "../../lib/aws/kinesis.js";
import type { EmbeddedEngines } from "../../lib/local/engines.js";
import { ensureStream } from "../../lib/local/runtime.js";
import { sharedEngines, stopSharedEngines } from "../../lib/local/run-batches-local.js";
import type { BatchRecord } from "../../lib/storage/interfaces.js";
import {
  byKey,
  corpusLines,
  duplicatingQueue,
  putRecords,
  sleep,
  splitWords,
  startHarness,
  sumCounts,
  wordCounts,
  type PutResult,
} from "./helpers.js";

let engines: EmbeddedEngines;
let corpus: string[];

beforeAll(async () => {
  engines = await sharedEngines();
  corpus = corpusLines(1200, 7);
}, 120_000);
afterAll(stopSharedEngines, 60_000);

const sortedEntries = (m: Map<string, number>) => byKey([...m.entries()]);
const inputBlocks = (r: BatchRecord): KinesisBlock[] => Object.values(r.blocks)[0] as KinesisBlock[];

describe("Kinesis → coordinator (→ SQS → workers) → DynamoDB", () => {
  it("word count over a 4-shard stream: records spread over the shards, final state equals the corpus counts", async () => {
    const stream = "kp-wc-words";
    const outputs = new Map<number, [string, number][]>();
    const app = defineApp({ name: "kp-wc", batchInterval: Seconds(1) }, (ssc) => {
      ssc
        .kinesisStream(stream)
        .flatMap(splitWords)
        .map((w): [string, number] => [w, 1])
        .updateStateByKey(sumCounts)
        .foreachRDD(async (rdd, time) => {
          outputs.set(time.milliseconds, byKey(await rdd.collect()));
        });
    });
    const h = await startHarness(engines, app, { streams: { [stream]: 4 } });
    try {
      const batches = [corpus.slice(0, 120), corpus.slice(120, 240), corpus.slice(240, 360)];
      const records: BatchRecord[] = [];
      for (let b = 0; b < batches.length; b++) {
        await putRecords(h.kinesis, stream, batches[b]!, (i) => `line-${b}-${i}`);
        const r = await h.nextBatch();
        expect(r.status, r.error).toBe("completed");
        records.push(r);
        // the state after each batch is the count of everything so far
        expect(outputs.get(r.time)).toEqual(sortedEntries(wordCounts(batches.slice(0, b + 1).flat())));
      }
      for (const [b, r] of records.entries()) {
        const blocks = inputBlocks(r);
        expect(blocks).toHaveLength(4);
        expect(new Set(blocks.map((x) => x.shardId)).size).toBe(4);
        expect(blocks.reduce((n, x) => n + (x.count ?? 0), 0)).toBe(batches[b]!.length);
        expect(r.inputRecords).toBe(batches[b]!.length);
        // 120 different partition keys land on every shard
        expect(blocks.filter((x) => (x.count ?? 0) > 0).length).toBe(4);
      }
      expect(outputs.get(records[2]!.time)).toEqual(sortedEntries(wordCounts(batches.flat())));
    } finally {
      await h.stop();
    }
  });

  it("a shard split during the run: every record is counted exactly once, children are read only after the parent is finished", async () => {
    const stream = "kp-split-lines";
    const ids = new Map<number, string[]>();
    const states = new Map<number, [string, number][]>();
    const cap = 15;
    const app = defineApp({ name: "kp-split", batchInterval: Seconds(1) }, (ssc) => {
      const lines = ssc.kinesisStream(stream, {
        maxRecordsPerShard: cap,
        decode: (r) => ({ id: `${r.shardId}/${r.sequenceNumber}`, line: new TextDecoder().decode(r.data) }),
      });
      lines
        .map((x) => x.id)
        .foreachRDD(async (rdd, time) => {
          ids.set(time.milliseconds, await rdd.collect());
        });
      lines
        .flatMap((x) => splitWords(x.line))
        .map((w): [string, number] => [w, 1])
        .updateStateByKey(sumCounts)
        .foreachRDD(async (rdd, time) => {
          states.set(time.milliseconds, byKey(await rdd.collect()));
        });
    });
    const h = await startHarness(engines, app, { streams: { [stream]: 2 } });
    try {
      const put: PutResult[] = [];
      const lines = corpus.slice(400, 600);
      let next = 0;
      const take = (n: number) => lines.slice(next, (next += n));
      const records: BatchRecord[] = [];
      const run = async () => {
        const r = await h.nextBatch();
        expect(r.status, r.error).toBe("completed");
        records.push(r);
        return r;
      };

      put.push(...(await putRecords(h.kinesis, stream, take(50), (i) => `a${i}`)));
      await run();
      put.push(...(await putRecords(h.kinesis, stream, take(20), (i) => `b${i}`)));
      await run();

      // Split the shard with the most records: 70 records over 2 shards, so it has at least 35,
      // and two batches of at most 15 leave some of its records unread when it is split.
      const perShard = new Map<string, number>();
      for (const p of put) perShard.set(p.shardId, (perShard.get(p.shardId) ?? 0) + 1);
      const [parentId, parentCount] = [...perShard.entries()].sort((a, b) => b[1] - a[1])[0]!;
      expect(parentCount).toBeGreaterThan(2 * cap);
      const before = (await h.kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards!;
      const parent = before.find((s) => s.ShardId === parentId)!;
      const lo = BigInt(parent.HashKeyRange!.StartingHashKey!);
      const hi = BigInt(parent.HashKeyRange!.EndingHashKey!);
      await h.kinesis.send(
        new SplitShardCommand({ StreamName: stream, ShardToSplit: parentId, NewStartingHashKey: ((lo + hi) / 2n + 1n).toString() }),
      );
      await ensureStream(h.kinesis, stream, 2); // waits until ACTIVE again
      const after: Shard[] = (await h.kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards!;
      const children = after.filter((s) => s.ParentShardId === parentId).map((s) => s.ShardId!);
      expect(children).toHaveLength(2);
      const splitAfter = records[records.length - 1]!.time;

      const postSplit = await putRecords(h.kinesis, stream, take(90), (i) => `c${i}`);
      put.push(...postSplit);
      // the records put after the split went to the children (and the other original shard), not the closed parent
      expect(postSplit.some((p) => p.shardId === parentId)).toBe(false);
      expect(postSplit.filter((p) => children.includes(p.shardId)).length).toBeGreaterThan(0);

      const readCount = () => [...ids.values()].reduce((n, x) => n + x.length, 0);
      for (let i = 0; i < 20 && readCount() < put.length; i++) await run();
      const last = await run(); // one more: nothing is left, nothing is read again
      expect(ids.get(last.time)).toEqual([]);

      // exactly once: the records read are exactly the records put
      const readIds = [...ids.values()].flat().sort();
      expect(readIds).toEqual(put.map((p) => `${p.shardId}/${p.sequenceNumber}`).sort());
      expect(states.get(last.time)).toEqual(sortedEntries(wordCounts(put.map((p) => p.data))));
      const total = records.reduce((n, r) => n + (r.inputRecords ?? 0), 0);
      expect(total).toBe(put.length);

      // blocks of each shard are contiguous: each starts where that shard's previous block ended
      const lastSeen = new Map<string, string | undefined>();
      for (const r of records) {
        for (const b of inputBlocks(r)) {
          expect(b.after, `block of ${b.shardId} in batch ${r.time}`).toBe(lastSeen.get(b.shardId));
          if (b.endAt) lastSeen.set(b.shardId, b.endAt);
        }
      }

      // lineage: the parent is finished in some batch's inputState; its records are all read by then,
      // and no child block appears before it
      const inputId = Object.keys(records[0]!.blocks)[0]!;
      const finishedAt = records.find(
        (r) => (r.inputState?.[inputId] as { kinesis?: KinesisInputState } | undefined)?.kinesis?.shards[parentId]?.finished,
      )?.time;
      expect(finishedAt, "the parent shard is never marked finished").toBeDefined();
      const parentReadAfterSplit = records.filter(
        (r) => r.time > splitAfter && inputBlocks(r).some((b) => b.shardId === parentId && (b.count ?? 0) > 0),
      );
      expect(parentReadAfterSplit.length, "the parent still had records when it was split").toBeGreaterThan(0);
      for (const r of records) {
        const shards = inputBlocks(r).map((b) => b.shardId);
        const readShards = new Set((ids.get(r.time) ?? []).map((id) => id.split("/")[0]));
        if (shards.some((s) => children.includes(s)) || [...readShards].some((s) => children.includes(s!))) {
          expect(r.time, `a child shard was read in batch ${r.time}, before the parent was finished`).toBeGreaterThanOrEqual(finishedAt!);
          expect(r.time).toBeGreaterThan(splitAfter);
        }
        if (r.time > finishedAt!) expect(shards).not.toContain(parentId);
        if (readShards.has(parentId)) expect(r.time).toBeLessThanOrEqual(finishedAt!);
      }
      const childRecords = [...ids.values()].flat().filter((id) => children.includes(id.split("/")[0]!));
      expect(childRecords.length).toBe(postSplit.filter((p) => children.includes(p.shardId)).length);
    } finally {
      await h.stop();
    }
  });

  it("two input streams joined: each batch's output is the join of that batch's records", async () => {
    type A = { k: string; v: number };
    type B = { k: string; w: string };
    const sa = "kp-join-a";
    const sb = "kp-join-b";
    const outputs = new Map<number, [string, [number, string]][]>();
    const app = defineApp({ name: "kp-join", batchInterval: Seconds(1) }, (ssc) => {
      const a = ssc.kinesisStream<A>(sa, { decode: "json" }).map((x): [string, number] => [x.k, x.v]);
      const b = ssc.kinesisStream<B>(sb, { decode: "json" }).map((x): [string, string] => [x.k, x.w]);
      a.join(b).foreachRDD(async (rdd, time) => {
        outputs.set(time.milliseconds, byKey(await rdd.collect()));
      });
    });
    const h = await startHarness(engines, app, { streams: { [sa]: 2, [sb]: 2 } });
    try {
      const inputs: [A[], B[]][] = [
        [
          [
            { k: "x", v: 1 },
            { k: "y", v: 2 },
            { k: "x", v: 3 },
            { k: "only-a", v: 9 },
          ],
          [
            { k: "x", w: "p" },
            { k: "y", w: "q" },
            { k: "y", w: "r" },
            { k: "only-b", w: "z" },
          ],
        ],
        [[], [{ k: "x", w: "s" }]],
        [
          [
            { k: "k1", v: 10 },
            { k: "k2", v: 20 },
            { k: "k3", v: 30 },
          ],
          [
            { k: "k3", w: "c" },
            { k: "k1", w: "a" },
            { k: "k4", w: "d" },
          ],
        ],
      ];
      for (const [as, bs] of inputs) {
        await putRecords(
          h.kinesis,
          sa,
          as.map((x) => JSON.stringify(x)),
          (i) => `a${i}`,
        );
        await putRecords(
          h.kinesis,
          sb,
          bs.map((x) => JSON.stringify(x)),
          (i) => `b${i}`,
        );
        const r = await h.nextBatch();
        expect(r.status, r.error).toBe("completed");
        const expected: [string, [number, string]][] = [];
        for (const x of as) for (const y of bs) if (x.k === y.k) expected.push([x.k, [x.v, y.w]]);
        expect(outputs.get(r.time)).toEqual(byKey(expected));
        expect(r.inputRecords).toBe(as.length + bs.length);
      }
      expect(outputs.get(1000)).toHaveLength(4); // x: 2 × 1, y: 1 × 2, nothing for only-a/only-b
    } finally {
      await h.stop();
    }
  });

  it("every task message delivered twice: the state and every output equal a run without duplicates", async () => {
    const batches = [corpus.slice(700, 730), corpus.slice(730, 760), corpus.slice(760, 790), corpus.slice(790, 820)];
    const run = async (name: string, duplicate: boolean) => {
      const stream = `${name}-words`;
      const printed: string[] = [];
      const collected = new Map<number, [string, number][]>();
      const app = defineApp({ name, batchInterval: Seconds(1) }, (ssc) => {
        const counts = ssc
          .kinesisStream(stream)
          .flatMap(splitWords)
          .map((w): [string, number] => [w, 1])
          .updateStateByKey(sumCounts);
        counts.transform((rdd) => rdd.sortBy((kv) => kv[0])).print(8);
        counts.foreachRDD(async (rdd, time) => {
          if (collected.has(time.milliseconds)) throw new Error(`foreachRDD ran twice for batch ${time.milliseconds}`);
          collected.set(time.milliseconds, byKey(await rdd.collect()));
        });
      });
      let dup: ReturnType<typeof duplicatingQueue> | undefined;
      const h = await startHarness(engines, app, {
        streams: { [stream]: 2 },
        print: (l) => printed.push(l),
        wrapEngine: duplicate ? (e) => ({ ...e, tasks: (dup = duplicatingQueue(e.tasks)) }) : undefined,
        execution: { mode: "fan-out" },
      });
      try {
        const records: BatchRecord[] = [];
        for (const [b, lines] of batches.entries()) {
          await putRecords(h.kinesis, stream, lines, (i) => `p${b}-${i}`);
          const r = await h.nextBatch();
          expect(r.status, r.error).toBe("completed");
          records.push(r);
        }
        // let the late duplicates of the last batch's tasks arrive and be dropped
        if (dup) for (let i = 0; i < 100 && [...dup.received.values()].some((n) => n < 2); i++) await sleep(50);
        return { printed, collected, records, dup };
      } finally {
        await h.stop();
      }
    };
    const plain = await run("kp-nodup", false);
    const dupd = await run("kp-dup", true);

    // the duplicates really were delivered
    expect(dupd.dup!.sent).toBeGreaterThan(0);
    expect(dupd.dup!.received.size).toBe(dupd.dup!.sent);
    expect([...dupd.dup!.received.values()].every((n) => n >= 2)).toBe(true);

    expect([...dupd.collected.keys()]).toEqual([1000, 2000, 3000, 4000]);
    expect(dupd.collected).toEqual(plain.collected);
    expect(dupd.printed).toEqual(plain.printed);
    expect(plain.printed.filter((l) => /^Time: \d+ ms$/.test(l))).toEqual(["Time: 1000 ms", "Time: 2000 ms", "Time: 3000 ms", "Time: 4000 ms"]);
    expect(dupd.records.map((r) => r.inputRecords)).toEqual(plain.records.map((r) => r.inputRecords));
    expect(dupd.collected.get(4000)).toEqual(sortedEntries(wordCounts(batches.flat())));
  });
});
