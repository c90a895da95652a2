// KPL aggregates through kinesisStream on the real path (kinesalite, the coordinator's job generator,
// DynamoDB Local's quarantine, SQS and the worker handler for fanned-out batches): aggregates built
// with the reference aggregator (awslabs/kinesis-aggregation's `aws-kinesis-agg`, a devDependency)
// come out as exactly their user records, each with its own partition key and sub-sequence number; a
// corrupt aggregate is quarantined whole and the batch goes on; a user function that throws on one
// user record sets aside that user record alone, and a replay puts back its bytes, not the aggregate.
import { ListShardsCommand } from "@aws-sdk/client-kinesis";
import { createHash } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineApp } from "../../lib/app/app.js";
import { quarantineCommand } from "../../lib/cli/ops.js";
import { registerLocalRun } from "../../lib/cli/target.js";
import { Seconds } from "../../lib/core/duration.js";
import type { EmbeddedEngines } from "../../lib/local/engines.js";
import { sharedEngines, stopSharedEngines } from "../../lib/local/run-batches-local.js";
import type { RawRecord } from "../../lib/sources/kinesis/input.js";
import { recordKey } from "../../lib/core/errors.js";
import type { QuarantineStore } from "../../lib/storage/interfaces.js";
import { MemoryQuarantine } from "../../lib/storage/memory.js";
import { putRecord, startHarness } from "../integration/helpers.js";

interface RefAggregator {
  addUserRecord(record: { partitionKey: string; explicitHashKey?: string; data: Buffer }): void;
  build(): { partitionKey: string; data: Buffer } | undefined;
}
const require = createRequire(import.meta.url);
const ref = require("aws-kinesis-agg") as { RecordAggregator: new () => RefAggregator };

/** The reference aggregator's record for some user records: the bytes and the partition key to put it with. */
function refAggregate(records: readonly { key: string; text: string; hashKey?: string }[]): { data: Uint8Array; partitionKey: string } {
  const aggregator = new ref.RecordAggregator();
  for (const r of records)
    aggregator.addUserRecord({ partitionKey: r.key, data: Buffer.from(r.text), ...(r.hashKey !== undefined ? { explicitHashKey: r.hashKey } : {}) });
  const built = aggregator.build()!;
  return { data: new Uint8Array(built.data), partitionKey: built.partitionKey };
}

/** What the test app sees of a record: its text, keys and coordinates. */
interface Seen {
  text: string;
  key: string;
  seq: string;
  sub?: number;
}
const seenOf = (r: RawRecord): Seen => ({
  text: Buffer.from(r.data).toString("utf8"),
  key: r.partitionKey,
  seq: r.sequenceNumber,
  ...(r.subSequenceNumber !== undefined ? { sub: r.subSequenceNumber } : {}),
});

let engines: EmbeddedEngines;
beforeAll(async () => {
  engines = await sharedEngines();
}, 120_000);
afterAll(stopSharedEngines, 60_000);

describe("kinesisStream de-aggregates KPL records", () => {
  it("aggregates from the reference aggregator, mixed with plain records, come out as exactly their user records, in order", async () => {
    const stream = "kpl-mixed-in";
    const seen = new Map<number, Seen[]>();
    const raw = new Map<number, Uint8Array[]>();
    const app = defineApp({ name: "kpl-mixed", batchInterval: Seconds(1) }, (ssc) => {
      ssc.kinesisStream(stream, { decode: seenOf }).foreachRDD(async (rdd, time) => {
        seen.set(time.milliseconds, await rdd.collect());
      });
      // The same records with `deaggregate: false`: every Kinesis record's bytes as they are.
      ssc.kinesisStream(stream, { deaggregate: false, decode: (r) => r.data }).foreachRDD(async (rdd, time) => {
        raw.set(time.milliseconds, await rdd.collect());
      });
    });
    const h = await startHarness(engines, app, { streams: { [stream]: 1 } });
    try {
      const a = refAggregate([
        { key: "alpha", text: "a0" },
        { key: "beta", text: "a1" },
        { key: "alpha", text: "a2" },
      ]);
      const b = refAggregate([
        { key: "gamma", text: "b0" },
        { key: "delta", text: "" },
      ]);
      const p1 = await putRecord(h.kinesis, stream, "plain one", "p1");
      const pa = await putRecord(h.kinesis, stream, a.data, a.partitionKey);
      const p2 = await putRecord(h.kinesis, stream, "plain two", "p2");
      const pb = await putRecord(h.kinesis, stream, b.data, b.partitionKey);
      const r = await h.nextBatch();
      expect(r.status, r.error).toBe("completed");
      expect(seen.get(r.time)).toEqual([
        { text: "plain one", key: "p1", seq: p1.sequenceNumber },
        { text: "a0", key: "alpha", seq: pa.sequenceNumber, sub: 0 },
        { text: "a1", key: "beta", seq: pa.sequenceNumber, sub: 1 },
        { text: "a2", key: "alpha", seq: pa.sequenceNumber, sub: 2 },
        { text: "plain two", key: "p2", seq: p2.sequenceNumber },
        { text: "b0", key: "gamma", seq: pb.sequenceNumber, sub: 0 },
        { text: "", key: "delta", seq: pb.sequenceNumber, sub: 1 },
      ]);
      expect(raw.get(r.time)!.map((d) => Buffer.from(d))).toEqual([
        Buffer.from("plain one"),
        Buffer.from(a.data),
        Buffer.from("plain two"),
        Buffer.from(b.data),
      ]);
      // The batch counts Kinesis records, as the source counted them when it fixed the blocks (an aggregate once),
      // for each of the two inputs that read the stream.
      expect(r.inputRecords).toBe(2 * 4);
      expect(await h.env.engine.quarantine.list()).toEqual([]);
    } finally {
      await h.stop();
    }
  });

  it("a corrupt aggregate (digest or protobuf) is quarantined whole with its coordinates and error; the rest of the batch is processed", async () => {
    const stream = "kpl-corrupt-in";
    const seen = new Map<number, string[]>();
    const app = defineApp({ name: "kpl-corrupt", batchInterval: Seconds(1) }, (ssc) => {
      ssc.kinesisStream(stream).foreachRDD(async (rdd, time) => {
        seen.set(time.milliseconds, await rdd.collect());
      });
    });
    const h = await startHarness(engines, app, { streams: { [stream]: 1 } });
    try {
      const good = refAggregate([
        { key: "k1", text: "g0" },
        { key: "k2", text: "g1" },
      ]);
      // A byte of the protobuf message changed after the producer wrote it: the MD5 at the end no longer matches.
      const flipped = refAggregate([
        { key: "k1", text: "lost0" },
        { key: "k1", text: "lost1" },
      ]).data.slice();
      flipped[8] ^= 0xff;
      // A message that is not protobuf (field 3, length-delimited, says 100 bytes follow; 2 do), with a matching MD5.
      const message = Uint8Array.from([0x1a, 0x64, 0x01, 0x02]);
      const malformed = Buffer.concat([Buffer.from([0xf3, 0x89, 0x9a, 0xc2]), message, createHash("md5").update(message).digest()]);

      await putRecord(h.kinesis, stream, "before");
      const bad1 = await putRecord(h.kinesis, stream, flipped, "k1");
      await putRecord(h.kinesis, stream, good.data, good.partitionKey);
      const bad2 = await putRecord(h.kinesis, stream, malformed, "km");
      await putRecord(h.kinesis, stream, "after");
      const r = await h.nextBatch();
      expect(r.status, r.error).toBe("completed");
      expect(seen.get(r.time)).toEqual(["before", "g0", "g1", "after"]);
      expect(r.quarantinedRecords).toBe(2);

      const q = await h.env.engine.quarantine.list();
      expect(q).toHaveLength(2);
      const e1 = q.find((e) => e.sequenceNumber === bad1.sequenceNumber)!;
      const e2 = q.find((e) => e.sequenceNumber === bad2.sequenceNumber)!;
      expect(e1).toMatchObject({ stream, shard: bad1.shardId, partitionKey: "k1", batchTime: r.time, size: flipped.byteLength });
      expect(e1.subSequenceNumber).toBeUndefined();
      expect(e1.error).toMatch(/CorruptRecordError \(digest-mismatch/);
      expect(Buffer.from(await h.env.engine.quarantine.read(e1)).equals(Buffer.from(flipped))).toBe(true);
      expect(e2).toMatchObject({ stream, shard: bad2.shardId, partitionKey: "km", size: malformed.byteLength });
      expect(e2.error).toMatch(/CorruptRecordError \((truncated|malformed)/);
      expect(Buffer.from(await h.env.engine.quarantine.read(e2)).equals(malformed)).toBe(true);

      // Nothing is read twice or quarantined again in the next batch.
      await putRecord(h.kinesis, stream, "next");
      const r2 = await h.nextBatch();
      expect(seen.get(r2.time)).toEqual(["next"]);
      expect(await h.env.engine.quarantine.list()).toHaveLength(2);
    } finally {
      await h.stop();
    }
  });

  it("a user function throwing on user records of an aggregate (fanned out) sets aside those user records alone, by sub-sequence number; replay puts back their bytes", async () => {
    const name = `kpl-poison${process.pid}`;
    const stream = `${name}-in`;
    const seen = new Map<number, [string, number][]>();
    const app = defineApp({ name, batchInterval: Seconds(1), maxTaskAttempts: 2 }, (ssc) => {
      ssc
        .kinesisStream(stream)
        .map((w) => {
          if (w.startsWith("boom")) throw new Error(`cannot handle ${w}`);
          return w;
        })
        .map((w): [string, number] => [w, 1])
        .reduceByKey((x, y) => x + y)
        .foreachRDD(async (rdd, time) => {
          seen.set(
            time.milliseconds,
            (await rdd.collect()).sort((x, y) => (x[0] < y[0] ? -1 : 1)),
          );
        });
    });
    // Every stage on the workers: the input is read, and the record excluded, by the worker handler.
    // Two shards: u3's explicit hash key sends it to the shard its partition key does not hash to.
    const h = await startHarness(engines, app, { streams: { [stream]: 2 }, execution: { mode: "fan-out" } });
    const cwd = mkdtempSync(path.join(tmpdir(), "sparkless-kpl-poison-"));
    const unregister = registerLocalRun(
      {
        app: name,
        pid: process.pid,
        endpoints: { kinesis: engines.kinesis, dynamodb: engines.dynamodb, sqs: engines.sqs },
        streams: [stream],
        startedAt: Date.now(),
      },
      cwd,
    );
    let out = "";
    const io = {
      stdout: {
        write: (t: string) => {
          out += t;
          return true;
        },
      },
      stderr: { write: () => true },
      stdin: new PassThrough(),
      env: {},
      cwd,
    };
    // The shard "u3" hashes to (MD5 of the key, as a 128-bit number), and a hash key in the other half.
    const u3Hash = BigInt(`0x${createHash("md5").update("u3").digest("hex")}`);
    const u3HashKey = u3Hash < 2n ** 127n ? String(2n ** 128n - 1n) : "0";
    try {
      const agg = refAggregate([
        { key: "u0", text: "fine" },
        { key: "u1", text: "boom one" },
        { key: "u2", text: "also fine" },
        { key: "u3", text: "boom two", hashKey: u3HashKey },
        { key: "u4", text: "fine" },
      ]);
      await putRecord(h.kinesis, stream, "plain");
      const put = await putRecord(h.kinesis, stream, agg.data, agg.partitionKey);
      const r = await h.nextBatch();
      expect(r.status, r.error).toBe("completed");
      expect(r.mode).toBe("fan-out");
      expect(seen.get(r.time)).toEqual([
        ["also fine", 1],
        ["fine", 2],
        ["plain", 1],
      ]);
      expect(r.quarantinedRecords).toBe(2);

      const q = (await h.env.engine.quarantine.list()).sort((x, y) => (x.subSequenceNumber ?? -1) - (y.subSequenceNumber ?? -1));
      expect(q.map((e) => [e.sequenceNumber, e.subSequenceNumber, e.partitionKey, e.size])).toEqual([
        [put.sequenceNumber, 1, "u1", "boom one".length],
        [put.sequenceNumber, 3, "u3", "boom two".length],
      ]);
      expect(q[0]).toMatchObject({ stream, shard: put.shardId, batchTime: r.time });
      expect(q.map((e) => e.explicitHashKey)).toEqual([undefined, u3HashKey]);
      expect(q[0]!.error).toContain("cannot handle boom one");
      expect(Buffer.from(await h.env.engine.quarantine.read(q[0]!)).toString()).toBe("boom one");
      expect(Buffer.from(await h.env.engine.quarantine.read(q[1]!)).toString()).toBe("boom two");

      expect(await quarantineCommand(["--app", name], io)).toBe(0);
      expect(out).toContain(`sequence ${put.sequenceNumber}  sub-sequence 1 (a user record of a KPL aggregate)`);
      expect(out).toContain(`sub-sequence 3 (a user record of a KPL aggregate)  explicit hash key ${u3HashKey}`);

      // Replay: each user record goes back alone, as a plain record with its own key, and fails alone again.
      expect(await quarantineCommand(["replay", "--app", name], io)).toBe(0);
      expect(out).toContain("replayed 2 of 2 record(s)");
      const again = await h.nextBatch();
      expect(again.status, again.error).toBe("completed");
      expect(again.inputRecords).toBe(2);
      expect(again.quarantinedRecords).toBe(2);
      const replayed = (await h.env.engine.quarantine.list()).filter((e) => e.batchTime === again.time);
      expect(replayed.map((e) => `${e.partitionKey}:${e.subSequenceNumber}`).sort()).toEqual(["u1:undefined", "u3:undefined"]);
      // u3 went back to the shard its explicit hash key picks, not the one its partition key hashes to.
      const shards = (await h.kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards!;
      const shardOf = (hash: bigint) =>
        shards.find((s) => BigInt(s.HashKeyRange!.StartingHashKey!) <= hash && hash <= BigInt(s.HashKeyRange!.EndingHashKey!))!.ShardId;
      expect(replayed.find((e) => e.partitionKey === "u3")!.shard).toBe(shardOf(BigInt(u3HashKey)));
      expect(shardOf(BigInt(u3HashKey))).not.toBe(shardOf(u3Hash));
      expect((await Promise.all(replayed.map(async (e) => Buffer.from(await h.env.engine.quarantine.read(e)).toString()))).sort()).toEqual([
        "boom one",
        "boom two",
      ]);
    } finally {
      unregister();
      await h.stop();
    }
  });
});

describe("a user record of an aggregate has coordinates of its own", () => {
  it("recordKey adds the sub-sequence number, and leaves a record that is not an aggregate as it was", () => {
    expect(recordKey({ stream: "s", shard: "shardId-0", sequenceNumber: "49" })).toBe("s/shardId-0/49");
    expect(recordKey({ stream: "s", shard: "shardId-0", sequenceNumber: "49", subSequenceNumber: 0 })).toBe("s/shardId-0/49/0");
  });

  const stores: [string, () => Promise<{ store: QuarantineStore; stop(): Promise<void> }>][] = [
    ["in memory", async () => ({ store: new MemoryQuarantine(), stop: async () => undefined })],
    [
      "in DynamoDB",
      async () => {
        const h = await startHarness(
          engines,
          defineApp({ name: `kpl-store${process.pid}`, batchInterval: Seconds(1) }, (ssc) => {
            ssc.queueStream([]).print();
          }),
        );
        return { store: h.env.engine.quarantine, stop: () => h.stop() };
      },
    ],
  ];
  for (const [name, open] of stores) {
    it(`the quarantine ${name} keeps one entry per user record, and a retry replaces it`, async () => {
      const { store, stop } = await open();
      try {
        const at = { batchTime: 1000, stream: "s", shard: "shardId-0", sequenceNumber: "49", operator: "map-1", error: "boom" };
        await store.put({ ...at, subSequenceNumber: 1, partitionKey: "u1", data: Buffer.from("one") });
        await store.put({ ...at, subSequenceNumber: 3, partitionKey: "u3", data: Buffer.from("three") });
        await store.put({ ...at, subSequenceNumber: 1, partitionKey: "u1", data: Buffer.from("one") }); // a retried task
        await store.put({ ...at, partitionKey: "agg", data: Buffer.from("whole") }); // the aggregate itself, whole
        const entries = await store.list();
        expect(entries.map((e) => `${e.subSequenceNumber}:${e.partitionKey}`).sort()).toEqual(["1:u1", "3:u3", "undefined:agg"]);
        const bytes = await Promise.all(entries.map(async (e) => Buffer.from(await store.read(e)).toString()));
        expect(bytes.sort()).toEqual(["one", "three", "whole"]);
      } finally {
        await stop();
      }
    });
  }
});
