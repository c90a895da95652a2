/**
 * Quarantined records on the meta table under `${app}#quarantine`, sorted by batch time, then by the
 * wall-clock time and sequence of the put (memory lists in insertion order).
 */
import { randomUUID } from "node:crypto";
import { DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { decode, encode } from "../../core/codec.js";
import type { QuarantinedRecord, QuarantineStore } from "../../storage/interfaces.js";
import { id, pad, queryAll } from "./util.js";

/** Records larger than this (codec text) are kept with their `record` replaced by a truncated text form. */
const QUARANTINE_MAX_BYTES = 300 * 1024;
let quarantineSeq = 0;

export class DynamoQuarantine implements QuarantineStore {
  private readonly pk: string;
  constructor(private readonly doc: DynamoDBDocumentClient, private readonly table: string, app: string) {
    this.pk = `${id(app)}#quarantine`;
  }
  async put(record: QuarantinedRecord): Promise<void> {
    let r = encode(record);
    if (Buffer.byteLength(r, "utf8") > QUARANTINE_MAX_BYTES) {
      const text = r.slice(0, QUARANTINE_MAX_BYTES / 4);
      r = encode({ ...record, record: `[truncated: ${Buffer.byteLength(r, "utf8")} bytes] ${text}` });
    }
    // A record with coordinates has one entry per operator that rejected it: a retried task rewrites it, not adds one.
    const sk = record.shard !== undefined && record.sequenceNumber !== undefined
      ? `${pad(Math.max(0, Math.floor(record.batchTime)))}#r#${id(record.stream ?? "")}#${id(record.shard)}#${record.sequenceNumber}#${id(record.operator)}`
      : `${pad(Math.max(0, Math.floor(record.batchTime)))}#${pad(Date.now())}#${pad(++quarantineSeq, 10)}#${randomUUID().slice(0, 8)}`;
    await this.doc.send(new PutCommand({ TableName: this.table, Item: { pk: this.pk, sk, r } }));
  }
  async list(options: { limit?: number } = {}): Promise<QuarantinedRecord[]> {
    if (options.limit !== undefined && options.limit <= 0) return [];
    const items = await queryAll(this.doc, {
      TableName: this.table, KeyConditionExpression: "pk = :pk", ExpressionAttributeValues: { ":pk": this.pk },
    }, options.limit);
    return items.map((i) => decode<QuarantinedRecord>(i.r as string));
  }
}
