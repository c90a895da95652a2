// KPL de-aggregation (lib/sources/kinesis/kpl.ts), checked against the reference implementation:
// awslabs/kinesis-aggregation's node package `aws-kinesis-agg` (a devDependency), whose aggregator must
// write the same bytes as ours and whose de-aggregator (and protobuf schema, through protobufjs) must
// read ours. Plus byte fixtures built by hand, with their protobuf encoding worked out in comments,
// for what the reference cannot build: unknown fields, groups, tags, tables after the records, and
// every kind of corruption.
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { CorruptRecordError, InvalidArgumentError, SparklessError } from "../../lib/core/errors.js";
import { aggregate, deaggregate, isAggregated, type UserRecord, type UserRecordInput } from "../../lib/sources/kinesis/kpl.js";

// ---------------------------------------------------------------------------------------------
// The reference, loaded as the CommonJS package it is.

interface RefUserRecord {
  partitionKey: string;
  explicitPartitionKey?: string;
  subSequenceNumber: number;
  data: string;
}
interface RefAggregator {
  addUserRecord(record: { partitionKey: string; explicitHashKey?: string; data: Buffer }): void;
  checkIfUserRecordFits(record: { partitionKey: string; explicitHashKey?: string; data: Buffer }): boolean;
  build(): { partitionKey: string; data: Buffer } | undefined;
}
interface RefDecodedRecord {
  partition_key_index: unknown;
  explicit_hash_key_index: unknown;
  data: Uint8Array;
}
const require = createRequire(import.meta.url);
const ref = require("aws-kinesis-agg") as {
  RecordAggregator: new () => RefAggregator;
  deaggregateSync(
    record: { data: string; sequenceNumber: string; partitionKey: string },
    computeChecksums: boolean,
    done: (err: Error | null | undefined, records?: RefUserRecord[]) => void,
  ): void;
};
const refSchema = require("aws-kinesis-agg/lib/common.js") as {
  AggregatedRecord: { decode(bytes: Uint8Array): { records: RefDecodedRecord[] } };
};

/** The reference aggregator's bytes for `records`. */
function refAggregate(records: readonly UserRecordInput[]): Uint8Array {
  const aggregator = new ref.RecordAggregator();
  for (const r of records) {
    aggregator.addUserRecord({
      partitionKey: r.partitionKey,
      ...(r.explicitHashKey !== undefined ? { explicitHashKey: r.explicitHashKey } : {}),
      data: Buffer.from(r.data),
    });
  }
  return new Uint8Array(aggregator.build()!.data);
}

/**
 * The reference de-aggregator's user records, digest checked, in our shape. The reference reports an
 * explicit hash key for every record once the table has one (protobufjs gives an absent optional
 * field its default, 0), so whether a record has one is read from the reference's own protobuf
 * schema: protobufjs sets own properties only for the fields present.
 */
function refDeaggregate(bytes: Uint8Array): UserRecord[] {
  let result: RefUserRecord[] | undefined;
  let error: Error | null | undefined;
  ref.deaggregateSync({ data: Buffer.from(bytes).toString("base64"), sequenceNumber: "1", partitionKey: "outer" }, true, (err, records) => {
    error = err;
    result = records;
  });
  if (error) throw error;
  const decoded = refSchema.AggregatedRecord.decode(bytes.subarray(4, bytes.length - 16)).records;
  return result!.map((r, i) => ({
    partitionKey: r.partitionKey,
    ...(Object.prototype.hasOwnProperty.call(decoded[i], "explicit_hash_key_index") ? { explicitHashKey: r.explicitPartitionKey! } : {}),
    data: new Uint8Array(Buffer.from(r.data, "base64")),
    subSequenceNumber: r.subSequenceNumber,
  }));
}

// ---------------------------------------------------------------------------------------------
// Helpers

const MAGIC = Buffer.from("f3899ac2", "hex");
const utf8 = new TextEncoder();
const bytes = (s: string): Uint8Array => utf8.encode(s);
const fromHex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ""), "hex"));

/** A Kinesis record's data for a protobuf message given in hex: magic bytes, message, MD5 of the message. */
function seal(messageHex: string): Uint8Array {
  const message = fromHex(messageHex);
  return new Uint8Array(Buffer.concat([MAGIC, message, createHash("md5").update(message).digest()]));
}

/** A user record with its bytes in hex: toEqual on megabytes of Uint8Array is slow, on a string it is not. */
type Viewed = Omit<UserRecord, "data"> & { data: string };

function view(records: readonly UserRecord[]): Viewed[] {
  return records.map((r) => ({ ...r, data: Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength).toString("hex") }));
}

/** The user records we expect for `inputs`, in order. */
function expected(inputs: readonly UserRecordInput[]): Viewed[] {
  return view(
    inputs.map((r, i) => ({
      partitionKey: r.partitionKey,
      ...(r.explicitHashKey !== undefined ? { explicitHashKey: r.explicitHashKey } : {}),
      data: r.data,
      subSequenceNumber: i,
    })),
  );
}

function corruption(data: Uint8Array): CorruptRecordError {
  try {
    deaggregate(data);
  } catch (e) {
    expect(e).toBeInstanceOf(CorruptRecordError);
    expect(e).toBeInstanceOf(SparklessError);
    expect((e as Error).name).toBe("CorruptRecordError");
    return e as CorruptRecordError;
  }
  throw new Error("deaggregate accepted a corrupt aggregate");
}

/** mulberry32: reproducible random inputs. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBytes(random: () => number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * 256);
  return out;
}

const MAX_HASH_KEY = "340282366920938463463374607431768211455"; // 2^128 - 1

// ---------------------------------------------------------------------------------------------

describe("a fixture from the reference, worked out by hand", () => {
  // What aws-kinesis-agg 4.2.8 wrote for [{ "a", data "hi" }, { "ü€😀", explicit hash key "123", no data }]:
  //   0a 01 61                         field 1 (partition_key_table), length 1: "a"
  //   0a 09 c3bc e282ac f09f9880       field 1, length 9: "ü€😀" in UTF-8 (2 + 3 + 4 bytes)
  //   12 03 31 32 33                   field 2 (explicit_hash_key_table), length 3: "123"
  //   1a 06                            field 3 (records), length 6: user record 0
  //     08 00                            field 1 (partition_key_index, varint) = 0
  //     1a 02 68 69                      field 3 (data), length 2: "hi"
  //   1a 06                            field 3, length 6: user record 1
  //     08 01                            partition_key_index = 1
  //     10 00                            field 2 (explicit_hash_key_index, varint) = 0
  //     1a 00                            data, length 0
  // then the MD5 of those 36 bytes.
  const message = "0a0161 0a09c3bce282acf09f9880 1203313233 1a06 0800 1a026869 1a06 0801 1000 1a00";
  const digest = "45221b5a6390ab53ed145dee8edc1f8c";
  const inputs: UserRecordInput[] = [
    { partitionKey: "a", data: bytes("hi") },
    { partitionKey: "ü€😀", explicitHashKey: "123", data: new Uint8Array(0) },
  ];

  it("is what aggregate writes, byte for byte, and what the installed reference writes", () => {
    const fixture = fromHex(`f3899ac2 ${message} ${digest}`);
    expect(Buffer.from(aggregate(inputs)).toString("hex")).toBe(Buffer.from(fixture).toString("hex"));
    expect(Buffer.from(refAggregate(inputs)).toString("hex")).toBe(Buffer.from(fixture).toString("hex"));
  });

  it("decodes to its two user records, the second with an explicit hash key and no data", () => {
    const records = deaggregate(fromHex(`f3899ac2 ${message} ${digest}`));
    expect(view(records)).toEqual(expected(inputs));
    expect(records[0]).not.toHaveProperty("explicitHashKey");
    expect(records[1]!.data.length).toBe(0);
  });
});

describe("against the reference implementation (aws-kinesis-agg)", () => {
  it("random aggregates: our bytes equal the reference's, and each side decodes the other's", () => {
    const random = prng(11);
    const keys = ["a", "user-42", "ключ", "鍵", "🔑🔑", "e\u0301", "x".repeat(256), "4294967295"];
    // No key that is a JavaScript array index (a decimal below 2^32 - 1): the reference writes those
    // out of order (see the next test). 4294967295 = 2^32 - 1 is just past them.
    const hashKeys = ["4294967295", "99999999999", "170141183460469231731687303715884105728", MAX_HASH_KEY];
    for (let round = 0; round < 200; round++) {
      const inputs: UserRecordInput[] = Array.from({ length: 1 + Math.floor(random() * 20) }, () => ({
        partitionKey: keys[Math.floor(random() * keys.length)]!,
        ...(random() < 0.4 ? { explicitHashKey: hashKeys[Math.floor(random() * hashKeys.length)]! } : {}),
        data: randomBytes(random, random() < 0.1 ? 0 : Math.floor(random() * 300)),
      }));
      const ours = aggregate(inputs);
      const theirs = refAggregate(inputs);
      expect(Buffer.from(ours).equals(Buffer.from(theirs)), `round ${round}`).toBe(true);
      expect(view(deaggregate(theirs))).toEqual(expected(inputs));
      expect(view(refDeaggregate(ours))).toEqual(expected(inputs));
    }
  });

  it("keys that look like small numbers keep their first-seen order, and the reference reads them right", () => {
    // aws-kinesis-agg 4.2.8 builds its key tables with Object.keys, which lists array-index keys
    // ("10", "2", "0") in numeric order before the others, while its records hold first-seen indexes:
    // its own aggregate of [pk "10", pk "2"] reads back with the two keys swapped. Ours are in
    // first-seen order, as the KPL writes them, so only the decoders are compared here.
    const inputs: UserRecordInput[] = [
      { partitionKey: "10", explicitHashKey: "170141183460469231731687303715884105728", data: bytes("first") },
      { partitionKey: "2", explicitHashKey: "1", data: bytes("second") },
      { partitionKey: "user", explicitHashKey: "0", data: bytes("third") },
      { partitionKey: "10", data: bytes("fourth") },
    ];
    const ours = aggregate(inputs);
    // Tables: 0a 02 3130 ("10"), 0a 01 32 ("2"), 0a 04 75736572 ("user"), then 12 27 <39 digits>, 12 01 31, 12 01 30.
    expect(Buffer.from(ours.subarray(4, 19)).toString("hex")).toBe("0a0231300a01320a0475736572" + "1227");
    expect(view(deaggregate(ours))).toEqual(expected(inputs));
    expect(view(refDeaggregate(ours))).toEqual(expected(inputs));

    const random = prng(5);
    const numeric = ["0", "1", "2", "10", "123", "4294967294", "a"];
    for (let round = 0; round < 50; round++) {
      const more: UserRecordInput[] = Array.from({ length: 1 + Math.floor(random() * 10) }, () => ({
        partitionKey: numeric[Math.floor(random() * numeric.length)]!,
        ...(random() < 0.5 ? { explicitHashKey: numeric[Math.floor(random() * (numeric.length - 1))]! } : {}),
        data: randomBytes(random, Math.floor(random() * 20)),
      }));
      expect(view(deaggregate(aggregate(more))), `round ${round}`).toEqual(expected(more));
      expect(view(refDeaggregate(aggregate(more))), `round ${round}`).toEqual(expected(more));
    }
  });

  it("stores each distinct key once, in the order first seen", () => {
    const inputs = ["b", "a", "b", "b", "a"].map((k) => ({ partitionKey: k, data: bytes(k) }));
    const ours = aggregate(inputs);
    // Tables: 0a 01 62 ("b"), 0a 01 61 ("a"); then records 1a 05 08 <index> 1a 01 <byte>.
    expect(Buffer.from(ours.subarray(4, 10)).toString("hex")).toBe("0a01620a0161");
    expect(Buffer.from(ours).equals(Buffer.from(refAggregate(inputs)))).toBe(true);
    expect(deaggregate(ours).map((r) => r.partitionKey)).toEqual(["b", "a", "b", "b", "a"]);
  });

  it("unicode partition keys travel as UTF-8, whatever their length in UTF-16", () => {
    const keys = ["é", "日本語のキー", "🙂", "Ω≈ç√∫"];
    const inputs = keys.map((partitionKey, i) => ({ partitionKey, data: bytes(String(i)) }));
    const ours = aggregate(inputs);
    // "é" is U+00E9: two bytes C3 A9, under field 1 with length 2.
    expect(Buffer.from(ours.subarray(4, 8)).toString("hex")).toBe("0a02c3a9");
    expect(deaggregate(ours).map((r) => r.partitionKey)).toEqual(keys);
    expect(refDeaggregate(ours).map((r) => r.partitionKey)).toEqual(keys);
  });

  it("an aggregate of about 1 MB (1000 records of 1000 bytes) matches the reference and decodes both ways", () => {
    const random = prng(7);
    const inputs: UserRecordInput[] = Array.from({ length: 1000 }, (_, i) => ({
      partitionKey: `pk-${i % 97}`,
      ...(i % 3 === 0 ? { explicitHashKey: String(BigInt(i) * 340282366920938463463374607431768211n) } : {}),
      data: randomBytes(random, 1000),
    }));
    const ours = aggregate(inputs);
    expect(ours.length).toBeGreaterThan(1_000_000);
    expect(ours.length).toBeLessThanOrEqual(1024 * 1024);
    expect(Buffer.from(ours).equals(Buffer.from(refAggregate(inputs)))).toBe(true);
    const records = deaggregate(ours);
    expect(records).toHaveLength(1000);
    expect(records[999]!.subSequenceNumber).toBe(999);
    expect(view(records)).toEqual(expected(inputs));
    expect(view(refDeaggregate(ours))).toEqual(expected(inputs));
  });

  it("one user record of 1,048,543 bytes makes an aggregate of exactly 1 MiB: the most both sides allow", () => {
    // 0a 01 6b (3) + 1a <3-byte length> (4) + record [08 00 1a <3-byte length> data] (d + 6) = d + 13;
    // with 4 magic and 16 digest bytes, d + 33 = 1,048,576.
    const big = { partitionKey: "k", data: randomBytes(prng(3), 1_048_543) };
    const ours = aggregate([big]);
    expect(ours.length).toBe(1024 * 1024);
    expect(Buffer.from(ours).equals(Buffer.from(refAggregate([big])))).toBe(true);
    expect(view(deaggregate(ours))).toEqual(expected([big]));
    expect(new ref.RecordAggregator().checkIfUserRecordFits({ partitionKey: "k", data: Buffer.from(big.data) })).toBe(true);

    const tooBig = { partitionKey: "k", data: new Uint8Array(1_048_544) };
    expect(() => aggregate([tooBig])).toThrow(/1048577 bytes, more than `maxBytes` \(1048576\)\. Split the records/);
    expect(new ref.RecordAggregator().checkIfUserRecordFits({ partitionKey: "k", data: Buffer.from(tooBig.data) })).toBe(false);
  });

  it("the reference also rejects our aggregate once a byte of it is changed", () => {
    const data = aggregate([{ partitionKey: "a", data: bytes("payload") }]);
    data[data.length - 3] ^= 0x01; // a byte of "payload"
    expect(() => refDeaggregate(data)).toThrow(/Invalid record checksum/);
    expect(corruption(data).reason).toBe("digest-mismatch");
  });
});

describe("deaggregate", () => {
  it("gives sub-sequence numbers 0, 1, 2, ... in the order of the records", () => {
    const inputs = Array.from({ length: 5 }, (_, i) => ({ partitionKey: "same", data: bytes(`r${i}`) }));
    const records = deaggregate(aggregate(inputs));
    expect(records.map((r) => r.subSequenceNumber)).toEqual([0, 1, 2, 3, 4]);
    expect(records.map((r) => new TextDecoder().decode(r.data))).toEqual(["r0", "r1", "r2", "r3", "r4"]);
  });

  it("copies each user record's bytes out of the aggregate", () => {
    const data = aggregate([{ partitionKey: "a", data: bytes("abc") }]);
    const [record] = deaggregate(data);
    data.fill(0);
    expect(new TextDecoder().decode(record!.data)).toBe("abc");
    expect(record!.data.buffer).not.toBe(data.buffer);
  });

  it("skips fields it does not know, of every wire type, and reads tables that come after the records", () => {
    // A message a newer producer could write; every field number, wire type and length worked out:
    //   1a 0f                  field 3 (records), length 15: user record 0
    //     08 01                  partition_key_index = 1
    //     10 00                  explicit_hash_key_index = 0
    //     1a 02 68 69            data "hi"
    //     22 05 0a 01 6b 12 00   field 4 (tags), length 5: Tag { key "k" (0a 01 6b), value "" (12 00) }
    //   78 ac 02               field 15, wire type 0 (key 15 << 3 | 0 = 0x78): varint 300
    //   49 0102030405060708    field 9, wire type 1 (0x49): 8 bytes
    //   55 deadbeef            field 10, wire type 5 (0x55): 4 bytes
    //   5a 03 616263           field 11, wire type 2 (0x5a): 3 bytes
    //   63 08 07 64            field 12, a group: start (12 << 3 | 3 = 0x63), field 1 = 7 inside, end (0x64)
    //   a0 01 01               field 20, wire type 0: a two-byte key (160 = a0 01), varint 1
    //   0a 01 61               partition_key_table[0] = "a"
    //   0a 02 c3a9             partition_key_table[1] = "é"
    //   12 03 313233           explicit_hash_key_table[0] = "123"
    //   1a 06                  user record 1, length 6:
    //     08 00                  partition_key_index = 0
    //     1a 00                  data, empty
    //     28 05                  field 5, wire type 0 (0x28), inside the Record: varint 5
    const data = seal(`
      1a0f 0801 1000 1a026869 22050a016b1200
      78ac02 490102030405060708 55deadbeef 5a03616263 63080764 a00101
      0a0161 0a02c3a9 1203313233
      1a06 0800 1a00 2805`);
    const want = expected([
      { partitionKey: "é", explicitHashKey: "123", data: bytes("hi") },
      { partitionKey: "a", data: new Uint8Array(0) },
    ]);
    expect(view(deaggregate(data))).toEqual(want);
    expect(view(refDeaggregate(data))).toEqual(want); // protobufjs reads it the same way
  });

  it("keeps the last value of a field given twice, as protobuf parsers do", () => {
    // 0a 01 61, 0a 01 62: keys "a", "b"; record: 08 00, 08 01 (index 0 then 1), 1a 01 78 ("x"), 1a 01 79 ("y").
    const data = seal("0a0161 0a0162 1a0a 0800 0801 1a0178 1a0179");
    expect(view(deaggregate(data))).toEqual(expected([{ partitionKey: "b", data: bytes("y") }]));
    expect(view(refDeaggregate(data))).toEqual(expected([{ partitionKey: "b", data: bytes("y") }]));
  });

  it("an aggregate of no user records gives none", () => {
    // A message with only a key table: 0a 01 61.
    expect(deaggregate(seal("0a0161"))).toEqual([]);
  });
});

describe("records that are not aggregates pass through unchanged", () => {
  it("plain bytes come back as the same bytes, sub-sequence number 0, with the Kinesis record's keys", () => {
    const data = bytes("just a line of text");
    expect(isAggregated(data)).toBe(false);
    const records = deaggregate(data, { partitionKey: "outer", explicitHashKey: "7" });
    expect(records).toEqual([{ partitionKey: "outer", explicitHashKey: "7", data, subSequenceNumber: 0 }]);
    expect(records[0]!.data).toBe(data);
    expect(deaggregate(data)[0]).toEqual({ partitionKey: "", data, subSequenceNumber: 0 });
  });

  it("an empty record, a record with three of the four magic bytes, and one with another first byte are not aggregates", () => {
    const good = aggregate([{ partitionKey: "a", data: bytes("x") }]);
    expect(isAggregated(good)).toBe(true);
    expect(isAggregated(new Uint8Array(0))).toBe(false);
    for (const at of [0, 1, 2, 3]) {
      const changed = good.slice();
      changed[at] ^= 0xff;
      expect(isAggregated(changed), `magic byte ${at} changed`).toBe(false);
      expect(deaggregate(changed)[0]!.data).toBe(changed);
    }
  });

  it("the magic bytes with no more than a digest after them are not an aggregate, as in the KCL", () => {
    const twenty = seal(""); // magic + MD5 of nothing: 20 bytes
    expect(twenty.length).toBe(20);
    expect(isAggregated(twenty)).toBe(false);
    expect(deaggregate(twenty, { partitionKey: "p" })).toEqual([{ partitionKey: "p", data: twenty, subSequenceNumber: 0 }]);
    expect(isAggregated(twenty.subarray(0, 10))).toBe(false);
    expect(isAggregated(seal("0a0161"))).toBe(true);
  });

  it("rejects data that is not bytes", () => {
    expect(() => deaggregate("f3899ac2" as unknown as Uint8Array)).toThrow(InvalidArgumentError);
    expect(() => deaggregate("f3899ac2" as unknown as Uint8Array)).toThrow(/Expected `data` to be a Uint8Array/);
  });
});

describe("corrupt aggregates throw CorruptRecordError", () => {
  const good = aggregate([
    { partitionKey: "a", data: bytes("first") },
    { partitionKey: "b", explicitHashKey: "99", data: bytes("second") },
  ]);

  it("a changed digest: names both digests, the offset and the fix", () => {
    const data = good.slice();
    data[data.length - 1] ^= 0x80;
    const e = corruption(data);
    expect(e.reason).toBe("digest-mismatch");
    expect(e.offset).toBe(data.length - 16);
    expect(e.message).toContain(Buffer.from(data.subarray(data.length - 16)).toString("hex"));
    expect(e.message).toContain(
      createHash("md5")
        .update(data.subarray(4, data.length - 16))
        .digest("hex"),
    );
    expect(e.message).toMatch(/Quarantine the Kinesis record whole/);
  });

  it("a changed byte in the message is a digest mismatch", () => {
    const data = good.slice();
    data[10] ^= 0x01;
    expect(corruption(data).reason).toBe("digest-mismatch");
  });

  it("a record cut short is a digest mismatch: its last 16 bytes are no longer the digest", () => {
    expect(corruption(good.subarray(0, good.length - 5)).reason).toBe("digest-mismatch");
    expect(corruption(good.subarray(0, 30)).reason).toBe("digest-mismatch");
  });

  it("a message cut short with a digest that matches: the length that runs past the end", () => {
    // `good`'s message: 0a0161 0a0162 12023939 (offsets 4-13), 1a09 0800 1a05 "first" (14-24), then
    // 1a0c 0801 1000 1a06 "second" (25-38). Without its last byte and sealed again with the MD5 of what
    // is left, user record 1, whose length is at offset 26, declares one byte more than remains.
    const message = Buffer.from(good.subarray(4, good.length - 16 - 1)).toString("hex");
    const e = corruption(seal(message));
    expect(e.reason).toBe("truncated");
    expect(e.message).toMatch(
      /User record 1 at offset 26 declares 12 bytes, but only 11 remain in the aggregate's protobuf message, which ends at offset 38\./,
    );
    expect(() => refDeaggregate(seal(message))).toThrow(); // the reference fails too
  });

  it("a varint cut short names its offset", () => {
    // 78 80: field 15 (varint) whose value's first byte says more follows, at the end of the message.
    let e = corruption(seal("0a0161 7880"));
    expect(e.reason).toBe("truncated");
    expect(e.offset).toBe(8);
    expect(e.message).toMatch(/The varint of unknown field 15 at offset 8 is cut short: the aggregate's protobuf message ends at offset 9/);
    // Inside a user record: 1a 02 (offset 4) 08 80: partition_key_index's varint at offset 7 runs past the record's end.
    e = corruption(seal("1a02 0880"));
    expect(e.reason).toBe("truncated");
    expect(e.offset).toBe(7);
    expect(e.message).toMatch(/partition_key_index of user record 0 at offset 7 is cut short: user record 0 ends at offset 8/);
  });

  it("a partition key index out of the table names the index and the table's size", () => {
    // 0a 01 61: one key; 1a 04 08 01 1a 00: a user record with partition_key_index 1.
    const e = corruption(seal("0a0161 1a04 0801 1a00"));
    expect(e.reason).toBe("key-index-out-of-range");
    expect(e.offset).toBe(7);
    expect(e.message).toMatch(/User record 0 \(offset 7\) has partition_key_index 1, but the partition key table has 1 entry \(indexes 0 to 0\)/);
  });

  it("an explicit hash key index with no explicit hash key table", () => {
    // 1a 06 08 00 10 00 1a 00: explicit_hash_key_index 0, and no field 2 in the message.
    const e = corruption(seal("0a0161 1a06 0800 1000 1a00"));
    expect(e.reason).toBe("key-index-out-of-range");
    expect(e.message).toMatch(/has explicit_hash_key_index 0, but the explicit hash key table has 0 entries\./);
  });

  it("a huge index (a 10-byte varint, 2^63) is out of range, not a wrapped small number", () => {
    const e = corruption(seal("0a0161 1a0d 08 80808080808080808001 1a00"));
    expect(e.reason).toBe("key-index-out-of-range");
    expect(e.message).toMatch(/partition_key_index 9223372036854776000/);
  });

  it("a user record without data or without a partition key index, as the reference also refuses", () => {
    // 1a 02 08 00: partition_key_index only.
    let e = corruption(seal("0a0161 1a02 0800"));
    expect(e.reason).toBe("malformed");
    expect(e.message).toMatch(/User record 0 \(offset 7\) has no data \(field 3\), which the format requires/);
    expect(() => refDeaggregate(seal("0a0161 1a02 0800"))).toThrow(/missing required 'data'/);
    // 1a 02 1a 00: data only.
    e = corruption(seal("0a0161 1a02 1a00"));
    expect(e.message).toMatch(/has no partition_key_index \(field 1\)/);
  });

  it("malformed protobuf: wrong wire type, unknown wire type, overlong varint, field 0, stray or open groups", () => {
    const cases: [string, string, RegExp][] = [
      // 08 01: field 1 (partition_key_table) as a varint.
      [
        "0801",
        "malformed",
        /Field 1 \(partition_key_table\) of AggregatedRecord at offset 4 has wire type 0; the format gives it wire type 2 \(length-delimited\)/,
      ],
      // 1a 02 0a 00 inside a record: partition_key_index (field 1) as length-delimited.
      ["1a02 0a00", "malformed", /Field 1 \(partition_key_index\) of Record \(user record 0\) at offset 6 has wire type 2/],
      // 7f: field 15, wire type 7.
      ["7f", "malformed", /Field 15 at offset 4 has wire type 7; protobuf's wire types are 0 to 5/],
      // 78 then eleven varint bytes.
      ["78 ffffffffffffffffffff 01", "malformed", /The varint of unknown field 15 at offset 5 is longer than 10 bytes/],
      // 00: field key 0.
      ["0000", "malformed", /names field 0/],
      // 64: end group of field 12 with none open.
      ["64", "malformed", /end-group key of field 12 at offset 4 closes no open group/],
      // 63 08 07: start group of field 12, never ended.
      ["630807", "truncated", /group of field 12 at offset 4 has no end-group key/],
      // 63 6c: start group 12, end group 13.
      ["636c", "malformed", /closes field 13, but the open group is field 12/],
      // 49 01 02: field 9, 64-bit, with 2 of its 8 bytes.
      ["490102", "truncated", /The 64-bit field 9 at offset 4 is cut short/],
      // 55 01: field 10, 32-bit, with 1 of its 4 bytes.
      ["5501", "truncated", /The 32-bit field 10 at offset 4 is cut short/],
    ];
    for (const [message, reason, pattern] of cases) {
      const e = corruption(seal(message));
      expect(e.reason, message).toBe(reason);
      expect(e.message, message).toMatch(pattern);
      expect(e.message, message).toMatch(/Quarantine the Kinesis record whole/);
    }
  });
});

describe("aggregate", () => {
  it("round-trips through deaggregate", () => {
    const inputs: UserRecordInput[] = [
      { partitionKey: "k".repeat(256), data: bytes("long key") },
      { partitionKey: "z", explicitHashKey: "0", data: new Uint8Array(0) },
      { partitionKey: "z", explicitHashKey: MAX_HASH_KEY, data: new Uint8Array([0, 255, 0xf3, 0x89, 0x9a, 0xc2]) },
    ];
    expect(view(deaggregate(aggregate(inputs)))).toEqual(expected(inputs));
  });

  it("names the bad argument, what is allowed and the fix", () => {
    const ok = { partitionKey: "a", data: bytes("x") };
    expect(() => aggregate([])).toThrow(/Expected `records` to be a non-empty array/);
    expect(() => aggregate([{ ...ok, partitionKey: "" }])).toThrow(
      /`records\[0\]\.partitionKey` to be a string of 1 to 256 characters, got `""` \(0 characters\)/,
    );
    expect(() => aggregate([ok, { ...ok, partitionKey: "p".repeat(257) }])).toThrow(/`records\[1\]\.partitionKey`.*\(257 characters\)/);
    expect(() => aggregate([{ ...ok, explicitHashKey: "abc" }])).toThrow(/decimal number from 0 to 2\^128 - 1/);
    expect(() => aggregate([{ ...ok, explicitHashKey: "-1" }])).toThrow(InvalidArgumentError);
    expect(() => aggregate([{ ...ok, explicitHashKey: "340282366920938463463374607431768211456" }])).toThrow(
      /got `"340282366920938463463374607431768211456"`/,
    );
    expect(() => aggregate([{ ...ok, data: "x" as unknown as Uint8Array }])).toThrow(
      /`records\[0\]\.data` to be a Uint8Array, got `"x"`\. Encode strings first/,
    );
    expect(() => aggregate([ok], { maxBytes: 0 })).toThrow(/`maxBytes` to be a whole number >= 21, got `0`/);
    // 0a 01 61 + 1a 05 08 00 1a 01 78: a 10-byte message, 30 bytes with magic and digest.
    expect(() => aggregate([ok], { maxBytes: 29 })).toThrow(/would be 30 bytes, more than `maxBytes` \(29\)/);
    expect(aggregate([ok], { maxBytes: 30 })).toHaveLength(30);
  });
});
