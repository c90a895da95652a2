/**
 * Quarantined records on the meta table, each kept whole. A Kinesis record goes up to 10 MiB and a
 * DynamoDB item holds 400 KB, so a large record's bytes are cut into chunks, each an item of its own:
 *
 *   `${app}#quarantine`        / entry key           the entry: coordinates, operator, error (`r`, codec
 *                                                     text), the record's size (`n`), SHA-256 (`h`), chunk
 *                                                     count (`c`) and first bytes (`p`); the bytes
 *                                                     themselves (`d`, binary) when they fit the item
 *   `${app}#quarantine#data`   / entry key#0000 ...   chunk i of a larger record's bytes (`d`)
 *
 * Entry keys sort by batch time, then (records without coordinates) by the wall-clock time and
 * sequence of the put; a record with coordinates (stream, shard, sequence number, and the sub-sequence
 * number of a user record of a KPL aggregate) has one key per operator that rejected it, so a
 * retried task rewrites its entry, and its chunks, with the same bytes. Chunks are written before
 * their entry: a listed entry's chunks were all written (a put that dies in between leaves chunks no
 * entry names, which its retry writes again). A read checks the size and SHA-256 the entry holds, so a
 * chunk missing or changed fails with a QuarantineDataError instead of giving back other bytes.
 *
 * Why not S3: the bucket's lifecycle rules expire objects (shuffle data after a day), and
 * `sparkless quarantine` reads the meta table alone. A 10 MiB record costs about 30 writes once.
 *
 * Entries written by versions before this one hold the whole record in `r`: Kinesis bytes as base64
 * (read back exactly), or, past 300 KB, a text cut short (`[truncated: N bytes] ...`) that no longer
 * holds the record; those are listed with `unrecoverable` set and refused by `read`.
 */
import { createHash, randomUUID } from "node:crypto";
import { DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { decode, encode } from "../../core/codec.js";
import type { QuarantinedRecord, QuarantineEntry, QuarantineStore } from "../../storage/interfaces.js";
import { keptError, QUARANTINE_HEAD_BYTES, refused } from "../../storage/quarantine.js";
import { mapLimit } from "../../core/concurrency.js";
import { id, pad, queryAll, type Item } from "./util.js";

/** Bytes kept in the entry's own item; larger records go in chunks. (An item holds 400 KB, keys and `r` included.) */
const INLINE_BYTES = 300 * 1024;
/** Bytes per chunk item. */
const CHUNK_BYTES = 350 * 1024;
/** The entry format with `n`, `h`, `c`; entries without `v` are from older versions. */
const FORMAT = 2;
const TRUNCATED = /^\[truncated: (\d+) bytes\] /;

let quarantineSeq = 0;

/** What `r` holds: the entry without its bytes. */
type Meta = Omit<QuarantinedRecord, "data" | "record">;

export class DynamoQuarantine implements QuarantineStore {
  private readonly pk: string;
  private readonly dataPk: string;
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    app: string,
  ) {
    this.pk = `${id(app)}#quarantine`;
    this.dataPk = `${id(app)}#quarantine#data`;
  }

  async put(record: QuarantinedRecord): Promise<void> {
    // A record with coordinates has one entry per operator that rejected it: a retried task rewrites it, not adds one.
    // A user record of a KPL aggregate adds its sub-sequence number (`.000003`), so the user records of one aggregate
    // have an entry each, in their order; a record without one keeps the key older versions wrote.
    const sub = record.subSequenceNumber !== undefined ? `.${pad(record.subSequenceNumber, 6)}` : "";
    const sk =
      record.shard !== undefined && record.sequenceNumber !== undefined
        ? `${pad(Math.max(0, Math.floor(record.batchTime)))}#r#${id(record.stream ?? "")}#${id(record.shard)}#${record.sequenceNumber}${sub}#${id(record.operator)}`
        : `${pad(Math.max(0, Math.floor(record.batchTime)))}#${pad(Date.now())}#${pad(++quarantineSeq, 10)}#${randomUUID().slice(0, 8)}`;
    const { data, record: value, ...rest } = record;
    const meta: Meta = { ...rest, error: keptError(rest.error) };
    // The payload: the record's bytes, or a value that is not bytes as codec text (kind "c").
    const payload = data ?? (value !== undefined ? Buffer.from(encode(value), "utf8") : undefined);
    const item: Item = { pk: this.pk, sk, v: FORMAT, r: encode(meta) };
    if (payload) {
      item.k = data ? "b" : "c";
      item.n = payload.byteLength;
      item.h = sha256(payload);
      if (payload.byteLength <= INLINE_BYTES) {
        item.d = payload;
        item.c = 0;
      } else {
        const chunks: Uint8Array[] = [];
        for (let at = 0; at < payload.byteLength; at += CHUNK_BYTES) chunks.push(payload.subarray(at, at + CHUNK_BYTES));
        await mapLimit(chunks, 4, (d, i) =>
          this.doc.send(new PutCommand({ TableName: this.table, Item: { pk: this.dataPk, sk: chunkKey(sk, i), d } })),
        );
        item.c = chunks.length;
        item.p = payload.subarray(0, QUARANTINE_HEAD_BYTES);
      }
    }
    await this.doc.send(new PutCommand({ TableName: this.table, Item: item }));
  }

  async list(options: { limit?: number } = {}): Promise<QuarantineEntry[]> {
    if (options.limit !== undefined && options.limit <= 0) return [];
    const items = await queryAll(
      this.doc,
      {
        TableName: this.table,
        KeyConditionExpression: "pk = :pk",
        ExpressionAttributeValues: { ":pk": this.pk },
      },
      options.limit,
    );
    const out: QuarantineEntry[] = [];
    for (const item of items) out.push(await this.entryOf(item));
    return out;
  }

  async read(entry: QuarantineEntry): Promise<Uint8Array> {
    const got = await this.doc.send(new GetCommand({ TableName: this.table, Key: { pk: this.pk, sk: entry.id }, ConsistentRead: true }));
    if (!got.Item)
      throw refused(entry, "not in the quarantine any more", "its entry is not in the meta table any more (deleted by `sparkless reset`?)");
    const item = got.Item as Item;
    if (item.v === undefined) {
      const old = this.oldEntry(item);
      if (old.bytes) return old.bytes;
      if (old.entry.unrecoverable) throw refused(old.entry, "cut short by an older version", old.entry.unrecoverable, "");
      throw refused(entry, "not bytes", "it is a record of an in-memory input: its value is the entry's `record`");
    }
    if (item.k !== "b") throw refused(entry, "not bytes", "it is a record of an in-memory input: its value is the entry's `record`");
    return this.payload(item, entry);
  }

  /** The bytes an entry item stands for, inline or from its chunks, checked against its size and SHA-256. */
  private async payload(item: Item, entry: Omit<QuarantineEntry, "id"> & { id: string }): Promise<Uint8Array> {
    const size = item.n as number;
    const chunks = item.c as number;
    let bytes: Uint8Array;
    if (!chunks) {
      bytes = asBytes(item.d);
    } else {
      const sk = item.sk as string;
      const found = await queryAll(this.doc, {
        TableName: this.table,
        KeyConditionExpression: "pk = :pk AND sk BETWEEN :a AND :b",
        ExpressionAttributeValues: { ":pk": this.dataPk, ":a": chunkKey(sk, 0), ":b": chunkKey(sk, chunks - 1) },
      });
      const byKey = new Map(found.map((c) => [c.sk as string, asBytes(c.d)]));
      const parts: Uint8Array[] = [];
      for (let i = 0; i < chunks; i++) {
        const part = byKey.get(chunkKey(sk, i));
        if (!part) throw refused(entry, "a chunk is missing", `chunk ${i + 1} of ${chunks} of its ${size} bytes is not in the meta table`);
        parts.push(part);
      }
      bytes = Buffer.concat(parts);
    }
    if (bytes.byteLength !== size || sha256(bytes) !== item.h) {
      throw refused(
        entry,
        "does not match its checksum",
        `${bytes.byteLength} bytes were read back, which do not match the ${size} bytes and SHA-256 stored with the entry`,
      );
    }
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private async entryOf(item: Item): Promise<QuarantineEntry> {
    if (item.v === undefined) return this.oldEntry(item).entry;
    const meta = decode<Meta>(item.r as string);
    const entry: QuarantineEntry = { ...meta, id: item.sk as string };
    if (item.k === "c") {
      // A value that is not bytes comes back as the value (these are rare and small: in-memory inputs).
      const text = Buffer.from(await this.payload(item, entry)).toString("utf8");
      return { ...entry, record: decode(text) };
    }
    if (item.k !== "b") return entry;
    const head = item.p !== undefined ? asBytes(item.p) : asBytes(item.d).subarray(0, QUARANTINE_HEAD_BYTES);
    return { ...entry, size: item.n as number, head: Uint8Array.from(head) };
  }

  /** An entry an older version wrote: the whole record in `r`, Kinesis bytes as base64, or cut short. */
  private oldEntry(item: Item): { entry: QuarantineEntry; bytes?: Uint8Array } {
    const old = decode<Meta & { record?: unknown }>(item.r as string);
    const { record, ...meta } = old;
    const entry: QuarantineEntry = { ...meta, id: item.sk as string };
    const cut = typeof record === "string" ? TRUNCATED.exec(record) : null;
    if (cut) {
      const where = meta.stream && meta.shard && meta.sequenceNumber ? ` (${meta.stream}/${meta.shard}/${meta.sequenceNumber})` : "";
      return {
        entry: {
          ...entry,
          unrecoverable:
            `an older version of Sparkless kept only the start of its entry (${cut[1]} bytes, over its 300 KB limit), ` +
            `so the record's bytes are not in the quarantine. Read the record from its stream${where} while the stream still retains it`,
        },
      };
    }
    // Older Kinesis entries hold the record's bytes as base64 (records with coordinates come from Kinesis).
    if (typeof record === "string" && meta.sequenceNumber !== undefined) {
      const bytes = new Uint8Array(Buffer.from(record, "base64"));
      return { entry: { ...entry, size: bytes.byteLength, head: bytes.slice(0, QUARANTINE_HEAD_BYTES) }, bytes };
    }
    return { entry: { ...entry, record } };
  }
}

const chunkKey = (sk: string, i: number) => `${sk}#${pad(i, 4)}`;
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const asBytes = (v: unknown): Uint8Array => (v instanceof Uint8Array ? v : new Uint8Array());
