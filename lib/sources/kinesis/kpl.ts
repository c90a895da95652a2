/**
 * KPL de-aggregation: splits a Kinesis record written by the Kinesis Producer Library (KPL), or by a
 * compatible aggregator, back into the user records it carries; and `aggregate`, which builds such a
 * record. This module owns the byte format and nothing else: no AWS SDK, no I/O.
 *
 * ## The format
 *
 * The KPL packs many user records into one Kinesis record to save on per-record costs
 * (awslabs/amazon-kinesis-producer, `aggregation-format.md`):
 *
 * ```text
 * 0             4                  N                    N+16
 * +-------------+==================+--------------------+
 * | F3 89 9A C2 | protobuf message | MD5 of the message |
 * +-------------+==================+--------------------+
 * ```
 *
 * The protobuf message is proto2:
 *
 * ```proto
 * message AggregatedRecord {
 *   repeated string partition_key_table     = 1;
 *   repeated string explicit_hash_key_table = 2;
 *   repeated Record records                 = 3;
 * }
 * message Record {
 *   required uint64 partition_key_index     = 1;  // into partition_key_table, from 0
 *   optional uint64 explicit_hash_key_index = 2;  // into explicit_hash_key_table, from 0
 *   required bytes  data                    = 3;
 *   repeated Tag    tags                    = 4;  // not used by the KPL or the KCL
 * }
 * message Tag { required string key = 1; optional string value = 2; }
 * ```
 *
 * Keys are stored once in the tables and referred to by index, so many user records with the same
 * key cost a few bytes each. The decoder here is a small protobuf reader: fields it does not know are
 * skipped by their wire type (varint, 64-bit, length-delimited, group, 32-bit), so a message written
 * by a newer producer with extra fields still decodes. A known field with another wire type than the
 * schema's, or a required field that is missing, is an error.
 *
 * ## Coordinates: (shard, sequenceNumber, subSequenceNumber)
 *
 * Kinesis gives a sequence number to the Kinesis record, not to the user records inside it: every
 * user record of an aggregate shares its sequence number. The sub-sequence number is the user
 * record's index in `records` (0, 1, 2, ...), fixed by the producer when it wrote the aggregate, so
 * reading the same record again gives the same numbers. (shard, sequenceNumber, subSequenceNumber)
 * therefore names one user record exactly, and orders the user records of a shard: a checkpoint or a
 * quarantine entry can point inside an aggregate, as the KCL's extended sequence numbers do. A record
 * that is not an aggregate is its own single user record, with sub-sequence number 0.
 *
 * ## Where this differs from the KCL (amazon-kinesis-client, `AggregatorUtil.deaggregate`)
 *
 * - A record is an aggregate when it starts with the magic bytes and has more than 16 bytes after
 *   them, as in the KCL and the reference Go de-aggregator. A shorter record is passed through.
 * - The KCL passes a record whose digest does not match, or whose message does not parse, through as
 *   if it were not aggregated, and logs a key index past its table. Here those throw a
 *   `CorruptRecordError` (its `reason` says which), so corruption is seen; a caller who wants the
 *   KCL's behaviour catches it and uses the record's bytes as they are.
 * - The KCL can drop the user records of an aggregate whose hash keys fall outside the shard's range
 *   (possible after a reshard). Every user record is returned here; the caller has the shard's range.
 */
import { createHash } from "node:crypto";
import { CorruptRecordError, InvalidArgumentError, describe, type CorruptRecordReason } from "../../core/errors.js";

/** The four bytes an aggregate starts with. */
const MAGIC = [0xf3, 0x89, 0x9a, 0xc2] as const;
const DIGEST_BYTES = 16;
/** The largest Kinesis record (its data and partition key together). */
const KINESIS_MAX_RECORD_BYTES = 1024 * 1024;
/** 2^128 - 1: explicit hash keys are decimal numbers in [0, 2^128 - 1]. */
const MAX_HASH_KEY = (1n << 128n) - 1n;

/** Protobuf wire types. */
const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const START_GROUP = 3;
const END_GROUP = 4;
const FIXED32 = 5;

const FIX =
  "The record starts with the KPL magic bytes but is not a valid KPL aggregate: it was changed after the producer wrote it, " +
  "or its producer does not follow the KPL aggregation format. Quarantine the Kinesis record whole, " +
  "or fix the producer (a KPL, or an aggregator checked against awslabs/kinesis-aggregation).";

/** One user record of an aggregate. */
export interface UserRecord {
  /** The user record's partition key (not the Kinesis record's, which the KPL takes from one of its user records). */
  readonly partitionKey: string;
  /** The user record's explicit hash key, a decimal number in [0, 2^128 - 1], when its producer gave one. */
  readonly explicitHashKey?: string;
  /** The user record's bytes: a copy, independent of the aggregate's buffer. */
  readonly data: Uint8Array;
  /** The index of the user record in its aggregate, from 0 (see the module's TSDoc). */
  readonly subSequenceNumber: number;
}

/** A user record to put into an aggregate. */
export interface UserRecordInput {
  /** 1 to 256 characters (counted in UTF-16 code units). */
  readonly partitionKey: string;
  /** A decimal number in [0, 2^128 - 1]: the hash key that places the record, instead of the partition key's MD5. */
  readonly explicitHashKey?: string;
  /** The bytes; may be empty. */
  readonly data: Uint8Array;
}

export interface AggregateOptions {
  /**
   * The most bytes the aggregate (magic bytes, message and digest) may have. Kinesis counts the data
   * and the partition key of a record against its 1 MiB limit, so leave room for the partition key
   * the aggregate is put with.
   * @default 1048576 (1 MiB)
   */
  readonly maxBytes?: number;
}

/** The enclosing Kinesis record's keys, handed back for a record that is not an aggregate. */
export interface OuterKeys {
  /** @default "" */
  readonly partitionKey?: string;
  /** @default undefined */
  readonly explicitHashKey?: string;
}

/**
 * Whether `data` is a KPL aggregate: it starts with the magic bytes F3 89 9A C2 and has more than the
 * 16-byte digest after them. Says nothing about whether the aggregate is intact: `deaggregate` checks that.
 */
export function isAggregated(data: Uint8Array): boolean {
  if (data.length <= MAGIC.length + DIGEST_BYTES) return false;
  for (let i = 0; i < MAGIC.length; i++) if (data[i] !== MAGIC[i]) return false;
  return true;
}

/**
 * The user records of a Kinesis record's data, in order, each with its sub-sequence number.
 *
 * A record that is not an aggregate (see `isAggregated`) comes back unchanged as its own single user
 * record: the same `data` (not a copy), sub-sequence number 0, and the keys of `outer`, which the
 * caller passes from the Kinesis record.
 *
 * @throws CorruptRecordError when the record is an aggregate but its digest does not match its
 * message (`reason` "digest-mismatch"), the message is cut short ("truncated"), malformed
 * ("malformed"), or a user record's key index is past its key table ("key-index-out-of-range").
 * `offset` is the byte of `data` where the problem was found.
 */
export function deaggregate(data: Uint8Array, outer: OuterKeys = {}): UserRecord[] {
  if (!(data instanceof Uint8Array)) {
    throw new InvalidArgumentError(`Expected \`data\` to be a Uint8Array (a Kinesis record's data), got \`${describe(data)}\`.`);
  }
  if (!isAggregated(data)) {
    return [
      {
        partitionKey: outer.partitionKey ?? "",
        ...(outer.explicitHashKey !== undefined ? { explicitHashKey: outer.explicitHashKey } : {}),
        data,
        subSequenceNumber: 0,
      },
    ];
  }

  const messageEnd = data.length - DIGEST_BYTES;
  const expected = data.subarray(messageEnd);
  const actual = md5(data.subarray(MAGIC.length, messageEnd));
  if (!bytesEqual(expected, actual)) {
    throw corrupt(
      "digest-mismatch",
      `The MD5 digest in the last ${DIGEST_BYTES} bytes of the aggregate (${hex(expected)}, at offset ${messageEnd}) ` +
        `does not match the MD5 of its protobuf message, bytes ${MAGIC.length}..${messageEnd - 1} (${hex(actual)}).`,
      messageEnd,
    );
  }

  const message = readAggregatedRecord(new Reader(data, MAGIC.length, messageEnd));
  return message.records.map((r, i) => {
    const partitionKey = lookUp(message.partitionKeys, r.partitionKeyIndex, "partition_key_index", "partition key", i, r.offset);
    const explicitHashKey =
      r.explicitHashKeyIndex === undefined
        ? undefined
        : lookUp(message.explicitHashKeys, r.explicitHashKeyIndex, "explicit_hash_key_index", "explicit hash key", i, r.offset);
    return {
      partitionKey,
      ...(explicitHashKey !== undefined ? { explicitHashKey } : {}),
      data: data.slice(r.dataStart, r.dataEnd),
      subSequenceNumber: i,
    };
  });
}

/**
 * A KPL aggregate of `records`, in their order: the bytes to put as one Kinesis record's data. Each
 * distinct key is stored once, in the order first seen. The output is byte for byte what the node
 * package of awslabs/kinesis-aggregation (`aws-kinesis-agg` 4.2.8) writes, except where that package
 * is wrong: it lists keys that are small decimal numbers ("2", "10") in numeric order in its tables
 * while its records index them in first-seen order, so it mixes such keys up.
 *
 * Put the aggregate with a partition key (or explicit hash key) that lands in the shard owning its user
 * records' keys, such as the first user record's: the KCL can drop user records that lie outside the
 * shard the aggregate was put into.
 */
export function aggregate(records: readonly UserRecordInput[], options: AggregateOptions = {}): Uint8Array {
  const maxBytes = options.maxBytes ?? KINESIS_MAX_RECORD_BYTES;
  if (typeof maxBytes !== "number" || !Number.isInteger(maxBytes) || maxBytes < MAGIC.length + DIGEST_BYTES + 1) {
    throw new InvalidArgumentError(
      `Expected \`maxBytes\` to be a whole number >= ${MAGIC.length + DIGEST_BYTES + 1}, got \`${describe(maxBytes)}\`.`,
    );
  }
  if (!Array.isArray(records) || records.length === 0) {
    throw new InvalidArgumentError(
      `Expected \`records\` to be a non-empty array of user records, got \`${describe(records)}\`. An aggregate of no records would put an empty record.`,
    );
  }

  const utf8 = new TextEncoder();
  const partitionKeys = new Map<string, number>();
  const explicitHashKeys = new Map<string, number>();
  const encoded: { pk: number; ehk: number | undefined; data: Uint8Array; size: number }[] = [];
  records.forEach((record, i) => {
    checkUserRecord(record, i);
    const pk = indexOf(partitionKeys, record.partitionKey);
    const ehk = record.explicitHashKey === undefined ? undefined : indexOf(explicitHashKeys, record.explicitHashKey);
    const size = 1 + varintSize(pk) + (ehk === undefined ? 0 : 1 + varintSize(ehk)) + 1 + varintSize(record.data.length) + record.data.length;
    encoded.push({ pk, ehk, data: record.data, size });
  });
  const pkBytes = [...partitionKeys.keys()].map((k) => utf8.encode(k));
  const ehkBytes = [...explicitHashKeys.keys()].map((k) => utf8.encode(k));

  // Fields in number order, as protobuf encoders write them: byte-for-byte what the reference writes.
  let messageSize = 0;
  for (const b of [...pkBytes, ...ehkBytes]) messageSize += 1 + varintSize(b.length) + b.length;
  for (const r of encoded) messageSize += 1 + varintSize(r.size) + r.size;
  const total = MAGIC.length + messageSize + DIGEST_BYTES;
  if (total > maxBytes) {
    throw new InvalidArgumentError(
      `The aggregate of ${records.length} records would be ${total} bytes, more than \`maxBytes\` (${maxBytes}). ` +
        "Split the records into several aggregates, or put the largest records on their own.",
    );
  }

  const out = new Uint8Array(total);
  out.set(MAGIC, 0);
  let pos = MAGIC.length;
  const writeVarint = (value: number): void => {
    while (value >= 0x80) {
      out[pos++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    out[pos++] = value;
  };
  const writeBytes = (tag: number, bytes: Uint8Array): void => {
    out[pos++] = tag;
    writeVarint(bytes.length);
    out.set(bytes, pos);
    pos += bytes.length;
  };
  for (const b of pkBytes) writeBytes(tag(1, LENGTH_DELIMITED), b);
  for (const b of ehkBytes) writeBytes(tag(2, LENGTH_DELIMITED), b);
  for (const r of encoded) {
    out[pos++] = tag(3, LENGTH_DELIMITED);
    writeVarint(r.size);
    out[pos++] = tag(1, VARINT);
    writeVarint(r.pk);
    if (r.ehk !== undefined) {
      out[pos++] = tag(2, VARINT);
      writeVarint(r.ehk);
    }
    writeBytes(tag(3, LENGTH_DELIMITED), r.data);
  }
  out.set(md5(out.subarray(MAGIC.length, pos)), pos);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Decoding

interface RecordRef {
  /** Where the Record message starts in the Kinesis record's data, for error messages. */
  offset: number;
  partitionKeyIndex: number;
  explicitHashKeyIndex: number | undefined;
  dataStart: number;
  dataEnd: number;
}

interface AggregatedRecordRef {
  partitionKeys: string[];
  explicitHashKeys: string[];
  records: RecordRef[];
}

/** Lenient, as protobuf's own string decoding is for proto2: a bad UTF-8 sequence becomes U+FFFD. */
const utf8Decoder = new TextDecoder("utf-8");

/**
 * Reads protobuf fields between `pos` and `end` of the whole record's bytes, so that every offset it
 * reports is an offset into the Kinesis record's data.
 */
class Reader {
  constructor(
    readonly bytes: Uint8Array,
    public pos: number,
    readonly end: number,
    /** What the bytes up to `end` are, for error messages. */
    private readonly scope = "the aggregate's protobuf message",
  ) {}

  get done(): boolean {
    return this.pos >= this.end;
  }

  /** A varint as a number: exact up to 2^53, which is past any length or table index that fits in a record. */
  varint(what: string): number {
    const start = this.pos;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) {
        throw corrupt("truncated", `The varint ${what} at offset ${start} is cut short: ${this.scope} ends at offset ${this.end}.`, start);
      }
      const b = this.bytes[this.pos++]!;
      value += (b & 0x7f) * scale;
      if (b < 0x80) return value;
      scale *= 0x80;
    }
    throw corrupt("malformed", `The varint ${what} at offset ${start} is longer than 10 bytes, the most a 64-bit varint takes.`, start);
  }

  tag(): { field: number; wireType: number; offset: number } {
    const offset = this.pos;
    const key = this.varint("field key");
    const field = Math.floor(key / 8);
    if (field === 0) throw corrupt("malformed", `The field key at offset ${offset} names field 0, which protobuf does not allow.`, offset);
    return { field, wireType: key % 8, offset };
  }

  /** The bounds of a length-delimited field's content, checked against the end of the enclosing message. */
  lengthDelimited(what: string): { start: number; end: number } {
    const lengthAt = this.pos;
    const length = this.varint(`length of ${what}`);
    const start = this.pos;
    if (length > this.end - start) {
      throw corrupt(
        "truncated",
        `${capitalize(what)} at offset ${lengthAt} declares ${length} bytes, but only ${this.end - start} remain in ${this.scope}, which ends at offset ${this.end}.`,
        lengthAt,
      );
    }
    this.pos = start + length;
    return { start, end: this.pos };
  }

  /** Skips a field this decoder does not know, by its wire type. */
  skip(field: number, wireType: number, offset: number): void {
    switch (wireType) {
      case VARINT:
        this.varint(`of unknown field ${field}`);
        return;
      case FIXED64:
        this.fixed(8, field, offset);
        return;
      case LENGTH_DELIMITED:
        this.lengthDelimited(`unknown field ${field}`);
        return;
      case FIXED32:
        this.fixed(4, field, offset);
        return;
      case START_GROUP:
        for (;;) {
          if (this.done) {
            throw corrupt(
              "truncated",
              `The group of field ${field} at offset ${offset} has no end-group key before the end of ${this.scope} at offset ${this.end}.`,
              offset,
            );
          }
          const t = this.tag();
          if (t.wireType === END_GROUP) {
            if (t.field !== field) {
              throw corrupt(
                "malformed",
                `The end-group key at offset ${t.offset} closes field ${t.field}, but the open group is field ${field} (offset ${offset}).`,
                t.offset,
              );
            }
            return;
          }
          this.skip(t.field, t.wireType, t.offset);
        }
      case END_GROUP:
        throw corrupt("malformed", `The end-group key of field ${field} at offset ${offset} closes no open group.`, offset);
      default:
        throw corrupt("malformed", `Field ${field} at offset ${offset} has wire type ${wireType}; protobuf's wire types are 0 to 5.`, offset);
    }
  }

  private fixed(size: number, field: number, offset: number): void {
    if (this.end - this.pos < size) {
      throw corrupt(
        "truncated",
        `The ${size * 8}-bit field ${field} at offset ${offset} is cut short: ${this.scope} ends at offset ${this.end}.`,
        offset,
      );
    }
    this.pos += size;
  }
}

function readAggregatedRecord(reader: Reader): AggregatedRecordRef {
  const result: AggregatedRecordRef = { partitionKeys: [], explicitHashKeys: [], records: [] };
  // Tables may follow the records in the bytes (protobuf allows any field order): indexes are
  // resolved after the whole message is read.
  while (!reader.done) {
    const t = reader.tag();
    switch (t.field) {
      case 1: {
        expectWireType(t, LENGTH_DELIMITED, "partition_key_table", "AggregatedRecord");
        const s = reader.lengthDelimited("a partition key");
        result.partitionKeys.push(utf8Decoder.decode(reader.bytes.subarray(s.start, s.end)));
        break;
      }
      case 2: {
        expectWireType(t, LENGTH_DELIMITED, "explicit_hash_key_table", "AggregatedRecord");
        const s = reader.lengthDelimited("an explicit hash key");
        result.explicitHashKeys.push(utf8Decoder.decode(reader.bytes.subarray(s.start, s.end)));
        break;
      }
      case 3: {
        expectWireType(t, LENGTH_DELIMITED, "records", "AggregatedRecord");
        const index = result.records.length;
        const s = reader.lengthDelimited(`user record ${index}`);
        result.records.push(readRecord(new Reader(reader.bytes, s.start, s.end, `user record ${index}`), index, t.offset));
        break;
      }
      default:
        reader.skip(t.field, t.wireType, t.offset);
    }
  }
  return result;
}

function readRecord(reader: Reader, index: number, offset: number): RecordRef {
  let partitionKeyIndex: number | undefined;
  let explicitHashKeyIndex: number | undefined;
  let data: { start: number; end: number } | undefined;
  // A field given twice keeps its last value, as protobuf parsers do.
  while (!reader.done) {
    const t = reader.tag();
    switch (t.field) {
      case 1:
        expectWireType(t, VARINT, "partition_key_index", `Record (user record ${index})`);
        partitionKeyIndex = reader.varint(`partition_key_index of user record ${index}`);
        break;
      case 2:
        expectWireType(t, VARINT, "explicit_hash_key_index", `Record (user record ${index})`);
        explicitHashKeyIndex = reader.varint(`explicit_hash_key_index of user record ${index}`);
        break;
      case 3:
        expectWireType(t, LENGTH_DELIMITED, "data", `Record (user record ${index})`);
        data = reader.lengthDelimited(`the data of user record ${index}`);
        break;
      default:
        // Field 4, tags, is skipped too: neither the KPL nor the KCL uses it.
        reader.skip(t.field, t.wireType, t.offset);
    }
  }
  for (const [value, name] of [
    [partitionKeyIndex, "partition_key_index (field 1)"],
    [data, "data (field 3)"],
  ] as const) {
    if (value === undefined) {
      throw corrupt("malformed", `User record ${index} (offset ${offset}) has no ${name}, which the format requires.`, offset);
    }
  }
  return { offset, partitionKeyIndex: partitionKeyIndex!, explicitHashKeyIndex, dataStart: data!.start, dataEnd: data!.end };
}

function expectWireType(t: { field: number; wireType: number; offset: number }, wireType: number, name: string, message: string): void {
  if (t.wireType !== wireType) {
    throw corrupt(
      "malformed",
      `Field ${t.field} (${name}) of ${message} at offset ${t.offset} has wire type ${t.wireType}; the format gives it wire type ${wireType} (${WIRE_TYPE_NAMES[wireType]}).`,
      t.offset,
    );
  }
}

const WIRE_TYPE_NAMES = ["varint", "64-bit", "length-delimited", "start group", "end group", "32-bit"];

function lookUp(table: readonly string[], index: number, field: string, what: string, record: number, offset: number): string {
  if (index >= table.length) {
    throw corrupt(
      "key-index-out-of-range",
      `User record ${record} (offset ${offset}) has ${field} ${index}, but the ${what} table has ${table.length} ` +
        `entr${table.length === 1 ? "y" : "ies"}${table.length > 0 ? ` (indexes 0 to ${table.length - 1})` : ""}.`,
      offset,
    );
  }
  return table[index]!;
}

function corrupt(reason: CorruptRecordReason, what: string, offset: number | undefined): CorruptRecordError {
  return new CorruptRecordError(`Corrupt KPL aggregate: ${what} ${FIX}`, reason, offset);
}

// ---------------------------------------------------------------------------------------------
// Encoding

function checkUserRecord(record: UserRecordInput, i: number): void {
  if (record === null || typeof record !== "object") {
    throw new InvalidArgumentError(`Expected \`records[${i}]\` to be a user record ({ partitionKey, data }), got \`${describe(record)}\`.`);
  }
  const pk = record.partitionKey;
  if (typeof pk !== "string" || pk.length < 1 || pk.length > 256) {
    throw new InvalidArgumentError(
      `Expected \`records[${i}].partitionKey\` to be a string of 1 to 256 characters, got \`${describe(pk)}\`${typeof pk === "string" ? ` (${pk.length} characters)` : ""}.`,
    );
  }
  const ehk = record.explicitHashKey;
  if (ehk !== undefined && (typeof ehk !== "string" || !/^[0-9]{1,39}$/.test(ehk) || BigInt(ehk) > MAX_HASH_KEY)) {
    throw new InvalidArgumentError(
      `Expected \`records[${i}].explicitHashKey\` to be a decimal number from 0 to 2^128 - 1 (${MAX_HASH_KEY}), got \`${describe(ehk)}\`. Leave it out to place the record by its partition key.`,
    );
  }
  if (!(record.data instanceof Uint8Array)) {
    throw new InvalidArgumentError(
      `Expected \`records[${i}].data\` to be a Uint8Array, got \`${describe(record.data)}\`. Encode strings first, e.g. with TextEncoder.`,
    );
  }
}

function indexOf(table: Map<string, number>, key: string): number {
  let index = table.get(key);
  if (index === undefined) {
    index = table.size;
    table.set(key, index);
  }
  return index;
}

function tag(field: number, wireType: number): number {
  return (field << 3) | wireType;
}

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    size++;
  }
  return size;
}

// ---------------------------------------------------------------------------------------------

function md5(bytes: Uint8Array): Uint8Array {
  return createHash("md5").update(bytes).digest();
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
