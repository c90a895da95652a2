/**
 * The batch log on the meta table.
 *
 * Items (times zero-padded to 16 digits in sort keys, so they sort as numbers):
 *
 *  pk `${app}#app`    sk "info"   the app's zero time, interval and graph fingerprint (no TTL: the app's identity)
 *  pk `${app}#batch`  sk time16   one batch record: `time`, `status`, and every other field as
 *                                 `n_<field>` (a number) or `e_<field>` (codec text); `ttl` = written + retention
 *
 * A record is written once, conditionally (the write-ahead log: two coordinators cannot both write
 * batch T), and updated only to fail or retry it, or to note its completion at a hand-over; otherwise a
 * batch's completion rides in the next record (`e_previous`). Reads fetch one record past what they
 * return, to apply that note (see storage/batch-log.ts). A typical record is well under 1 KB: one write
 * unit per batch.
 */
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { decode, encode } from "../../core/codec.js";
import { recordAt, withCompletions } from "../../storage/batch-log.js";
import type { AppInfo, BatchLog, BatchRecord, BatchStatus } from "../../storage/interfaces.js";
import { DAY_S, Expr, id, isConditionFailed, lastItem, pad, putIfAbsent, queryAll, storableNumber, ttlIn, type Item, type Key } from "./util.js";

/** How long batch records are kept (TTL); checkpoints are written every few seconds, so recovery reads only the last minutes. */
export const BATCH_RETENTION_S = 7 * DAY_S;

export class DynamoBatchLog implements BatchLog {
  private readonly batchPk: string;
  private readonly appKey: Key;
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    app: string,
  ) {
    this.batchPk = `${id(app)}#batch`;
    this.appKey = { pk: `${id(app)}#app`, sk: "info" };
  }
  private batchKey(time: number): Key {
    return { pk: this.batchPk, sk: pad(time) };
  }

  async getApp(): Promise<AppInfo | undefined> {
    const r = await this.doc.send(new GetCommand({ TableName: this.table, Key: this.appKey, ConsistentRead: true }));
    return r.Item ? (decode(r.Item.e as string) as AppInfo) : undefined;
  }
  async createApp(info: AppInfo): Promise<AppInfo> {
    if (await putIfAbsent(this.doc, this.table, { ...this.appKey, e: encode(info) })) return info;
    return (await this.getApp())!;
  }
  async updateApp(info: AppInfo): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.table, Item: { ...this.appKey, e: encode(info) } }));
  }

  private static fieldAttributes(fields: Record<string, unknown>): { set: Record<string, unknown>; remove: string[] } {
    const set: Record<string, unknown> = {};
    const remove: string[] = [];
    for (const [f, v] of Object.entries(fields)) {
      if (f === "time") continue;
      if (f === "status") {
        set.status = v;
        continue;
      }
      if (v === undefined) {
        remove.push(`n_${f}`, `e_${f}`);
        continue;
      }
      if (storableNumber(v)) {
        set[`n_${f}`] = v;
        remove.push(`e_${f}`);
      } else {
        set[`e_${f}`] = encode(v);
        remove.push(`n_${f}`);
      }
    }
    return { set, remove };
  }

  private static toRecord(item: Item): BatchRecord {
    const rec: Record<string, unknown> = { time: item.time, status: item.status };
    for (const [a, v] of Object.entries(item)) if (a.startsWith("e_")) rec[a.slice(2)] = decode(v as string);
    for (const [a, v] of Object.entries(item)) if (a.startsWith("n_")) rec[a.slice(2)] = Number(v);
    return rec as unknown as BatchRecord;
  }

  async createBatch(record: BatchRecord): Promise<boolean> {
    const { set } = DynamoBatchLog.fieldAttributes(record as unknown as Record<string, unknown>);
    return putIfAbsent(this.doc, this.table, { ...this.batchKey(record.time), time: record.time, ...set, ttl: ttlIn(BATCH_RETENTION_S) });
  }

  /** Stored records from `time` on, at most `limit` (and one more, to resolve the last one's completion). */
  private async from(time: number, limit?: number): Promise<BatchRecord[]> {
    const items = await queryAll(
      this.doc,
      {
        TableName: this.table,
        KeyConditionExpression: "pk = :pk AND sk >= :from",
        ExpressionAttributeValues: { ":pk": this.batchPk, ":from": pad(Math.max(0, Math.ceil(time))) },
      },
      limit === undefined ? undefined : limit + 1,
    );
    return items.map(DynamoBatchLog.toRecord);
  }

  async getBatch(time: number): Promise<BatchRecord | undefined> {
    const [r, next] = await this.from(time, 1);
    return r && recordAt(time, withCompletions([r], next)[0]);
  }

  async updateBatch(time: number, expected: BatchStatus, patch: Partial<BatchRecord>): Promise<boolean> {
    const { set, remove } = DynamoBatchLog.fieldAttributes(patch as Record<string, unknown>);
    const x = new Expr();
    const sets = Object.entries(set).map(([a, v]) => `${x.name(a)} = ${x.value(v)}`);
    const removes = remove.map((a) => x.name(a));
    const cond = `${x.name("status")} = ${x.value(expected)}`;
    if (sets.length === 0 && removes.length === 0) return (await this.getBatch(time))?.status === expected;
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: this.batchKey(time),
          UpdateExpression: [sets.length ? `SET ${sets.join(", ")}` : "", removes.length ? `REMOVE ${removes.join(", ")}` : ""].join(" ").trim(),
          ConditionExpression: cond,
          ExpressionAttributeNames: x.names,
          ExpressionAttributeValues: x.values,
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  async latestBatch(beforeTime?: number): Promise<BatchRecord | undefined> {
    const item = await lastItem(
      this.doc,
      this.table,
      this.batchPk,
      beforeTime === undefined ? undefined : { op: "<", sk: pad(Math.max(0, Math.ceil(beforeTime))) },
    );
    if (!item) return undefined;
    const latest = DynamoBatchLog.toRecord(item);
    if (beforeTime === undefined) return latest;
    const [next] = await this.from(latest.time + 1, 0);
    return withCompletions([latest], next)[0];
  }

  async listBatches(options: { fromTime?: number; limit?: number } = {}): Promise<BatchRecord[]> {
    if (options.limit !== undefined && options.limit <= 0) return [];
    const all = await this.from(options.fromTime ?? 0, options.limit);
    const out = options.limit === undefined ? all : all.slice(0, options.limit);
    return withCompletions(out, all[out.length]);
  }
}
