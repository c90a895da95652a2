/**
 * DynamoDB implementations of the storage interfaces (lib/storage/interfaces.ts).
 *
 * Three tables, all with key schema pk (S, HASH) + sk (S, RANGE), PAY_PER_REQUEST, TTL on `ttl`:
 *
 *  meta   batch log, task completions and claims, quarantine
 *  data   shuffle output and materialized blocks, chunked (records can be many MB)
 *  state  versioned keyed state
 *
 * Item layouts (times are zero-padded to 16 digits in sort keys so they sort as numbers;
 * free-form ids (app, stream, shuffle, operator) are URI-encoded so a `#` in them cannot collide):
 *
 *  meta  pk `${app}#batch`                 sk time16      time, status, n_<field> (numbers), e_<field> (codec text)
 *        pk `${app}#done#${time}#${stage}` sk "done"      parts (number set), ttl
 *        pk `${app}#claim#${time}#${stage}` sk part10     owner, until, ttl
 *        pk `${app}#quarantine`            sk time16#wall16#seq   r (codec text)
 *  data  pk `${app}#sh#${time}#${shuffle}#${map}`  sk "h" (header: g = generation, c = chunk count per reduce partition)
 *                                                   sk `c#${g}#${reduce8}#${chunk6}`  d (binary, <= 300 KB)
 *        pk `${app}#shidx#${time}`                  sk `${shuffle}#${map10}`  p (the data pk; for deleteBatch)
 *        pk `${app}#blk#${stream}#${time}#${part}`  same header + chunks as shuffle (one slot)
 *        pk `${app}#blkidx#${stream}`               sk `${time16}#${part10}`  p (for deleteBefore)
 *  state pk `${app}#${operator}#${partition}`  sk `=${canonical(key)}` (`#${sha256}` past 900 bytes)
 *        k (codec key), t/v/u current version (v absent = removed), pt/pv/pu/pd previous version (pd = removed), ttl on tombstones
 *
 * TTL (`ttl`, epoch seconds) is a backstop only, never what makes data invisible: done/claim items and
 * shuffle items get now + 7 days, state tombstones now + 7 days; batch records, blocks and live state none.
 *
 * Limits: a batch record, a state key's two versions, and a quarantined record must each fit one
 * 400 KB item (quarantined records are truncated to fit; the others fail with DynamoDB's ValidationException).
 */
import { createHash, randomUUID } from "node:crypto";
import {
  CreateTableCommand, DescribeTableCommand, DynamoDBClient, UpdateTimeToLiveCommand, type DynamoDBClientConfig,
} from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand, BatchWriteCommand, DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand,
  UpdateCommand, type QueryCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { decode, encode } from "../core/codec.js";
import { canonical } from "../core/keys.js";
import type {
  BatchLog, BatchRecord, BatchStatus, BlockStore, QuarantinedRecord, QuarantineStore, ShuffleStore, StateEntry,
  StateStore, TaskCompletion,
} from "../storage/interfaces.js";

// ---------------------------------------------------------------------------------------------
// tables

export interface TableNames { meta: string; data: string; state: string }

/** A DynamoDB client and the document client the stores take (undefined attributes are dropped, never sent). */
export function createDynamoClients(config: DynamoDBClientConfig): { client: DynamoDBClient; doc: DynamoDBDocumentClient } {
  const client = new DynamoDBClient(config);
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  return { client, doc };
}

function errorName(error: unknown): string {
  return (error as { name?: string } | null)?.name ?? "";
}
function isConditionFailed(error: unknown): boolean {
  return errorName(error) === "ConditionalCheckFailedException";
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Creates the three tables (idempotent) and waits until they are ACTIVE; enables TTL where the engine supports it. */
export async function createTables(client: DynamoDBClient, names: TableNames): Promise<void> {
  await Promise.all([names.meta, names.data, names.state].map(async (TableName) => {
    try {
      await client.send(new CreateTableCommand({
        TableName,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }, { AttributeName: "sk", AttributeType: "S" }],
        KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, { AttributeName: "sk", KeyType: "RANGE" }],
      }));
    } catch (error) {
      if (errorName(error) !== "ResourceInUseException") throw error;
    }
    for (let i = 0; ; i++) {
      const d = await client.send(new DescribeTableCommand({ TableName }));
      if (d.Table?.TableStatus === "ACTIVE") break;
      if (i > 600) throw new Error(`DynamoDB table ${TableName} did not become ACTIVE`);
      await sleep(Math.min(100 * (i + 1), 2_000));
    }
    try {
      await client.send(new UpdateTimeToLiveCommand({
        TableName, TimeToLiveSpecification: { AttributeName: "ttl", Enabled: true },
      }));
    } catch {
      // Already enabled (ValidationException), or an engine without TTL: TTL is only a backstop here.
    }
  }));
}

// ---------------------------------------------------------------------------------------------
// helpers

function pad(n: number, width = 16): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`expected a non-negative integer, got ${n}`);
  return String(n).padStart(width, "0");
}
const id = (s: string) => encodeURIComponent(s);
const DAY_S = 86_400;
const ttlIn = (seconds: number) => Math.floor(Date.now() / 1000) + seconds;

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

type Item = Record<string, unknown>;
type Key = { pk: string; sk: string };

/** Every item of a query, following LastEvaluatedKey; stops once `limit` items are collected. */
async function queryAll(doc: DynamoDBDocumentClient, input: QueryCommandInput, limit?: number): Promise<Item[]> {
  const out: Item[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const r = await doc.send(new QueryCommand({
      ConsistentRead: true,
      ...input,
      ...(limit !== undefined ? { Limit: limit - out.length } : {}),
      ...(start ? { ExclusiveStartKey: start } : {}),
    }));
    out.push(...(r.Items ?? []));
    start = r.LastEvaluatedKey;
  } while (start && (limit === undefined || out.length < limit));
  return out;
}

const MAX_BATCH_ATTEMPTS = 12;
const backoff = (attempt: number) => sleep(Math.min(25 * 2 ** attempt, 2_000) * (0.5 + Math.random() / 2));

type WriteRequest = { PutRequest: { Item: Item } } | { DeleteRequest: { Key: Key } };

/** BatchWriteItem in groups of 25, retrying UnprocessedItems with backoff. */
async function batchWrite(doc: DynamoDBDocumentClient, table: string, requests: WriteRequest[], concurrency = 4): Promise<void> {
  const groups: WriteRequest[][] = [];
  for (let i = 0; i < requests.length; i += 25) groups.push(requests.slice(i, i + 25));
  await mapLimit(groups, concurrency, async (group) => {
    let pending = group;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= MAX_BATCH_ATTEMPTS) throw new Error(`BatchWriteItem on ${table}: ${pending.length} items still unprocessed after ${attempt} attempts`);
      if (attempt > 0) await backoff(attempt);
      const r = await doc.send(new BatchWriteCommand({ RequestItems: { [table]: pending as never } }));
      pending = (r.UnprocessedItems?.[table] ?? []) as WriteRequest[];
    }
  });
}

/** BatchGetItem (consistent) in groups of 100, retrying UnprocessedKeys; returns the items found. */
async function batchGet(doc: DynamoDBDocumentClient, table: string, keys: Key[]): Promise<Item[]> {
  const groups: Key[][] = [];
  for (let i = 0; i < keys.length; i += 100) groups.push(keys.slice(i, i + 100));
  const results = await mapLimit(groups, 4, async (group) => {
    const found: Item[] = [];
    let pending: Key[] = group;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= MAX_BATCH_ATTEMPTS) throw new Error(`BatchGetItem on ${table}: ${pending.length} keys still unprocessed after ${attempt} attempts`);
      if (attempt > 0) await backoff(attempt);
      const r = await doc.send(new BatchGetCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: true } } }));
      found.push(...(r.Responses?.[table] ?? []));
      pending = (r.UnprocessedKeys?.[table]?.Keys ?? []) as Key[];
    }
    return found;
  });
  return results.flat();
}

/** Deletes every item of a partition key (query keys only, then batch deletes). */
async function deletePartition(doc: DynamoDBDocumentClient, table: string, pk: string): Promise<void> {
  const items = await queryAll(doc, {
    TableName: table, KeyConditionExpression: "pk = :pk", ExpressionAttributeValues: { ":pk": pk },
    ProjectionExpression: "pk, sk",
  });
  await batchWrite(doc, table, items.map((i) => ({ DeleteRequest: { Key: { pk: i.pk as string, sk: i.sk as string } } })));
}

// ---------------------------------------------------------------------------------------------
// batch log

/** Numbers DynamoDB can hold exactly as N; anything else is stored as codec text. */
function storableNumber(v: unknown): v is number {
  if (typeof v !== "number" || !Number.isFinite(v) || Object.is(v, -0)) return false;
  const a = Math.abs(v);
  return a === 0 || (a < 1e125 && a > 1e-129);
}

class Expr {
  names: Record<string, string> = {};
  values: Record<string, unknown> = {};
  private n = 0;
  name(attr: string): string {
    for (const [k, v] of Object.entries(this.names)) if (v === attr) return k;
    const k = `#a${this.n++}`;
    this.names[k] = attr;
    return k;
  }
  value(v: unknown): string {
    const k = `:v${this.n++}`;
    this.values[k] = v;
    return k;
  }
}

const TASK_TTL_S = 7 * DAY_S;

/**
 * The batch log on the meta table. A batch record is one item: `time` and `status` as attributes,
 * every other field as `n_<field>` (a number, so addCounters can ADD to it atomically) or
 * `e_<field>` (codec text: blocks, stages, materialized, error, ...). updateBatch SETs only the patched
 * fields under the condition `status = expected`, so concurrent counters are never lost.
 *
 * Task completions are a number set per (time, stage), added to with `ADD` under
 * `NOT contains(parts, p)`: at most one call per partition sees `first`, and exactly one call sees the
 * final count. Claims are one item per task with a lease. deleteBatchesBefore deletes the batch
 * items and, using each record's stage count, its completion and claim items; completion or claim
 * items of times that have no batch record are left to TTL (7 days).
 */
export class DynamoBatchLog implements BatchLog {
  private readonly batchPk: string;
  constructor(private readonly doc: DynamoDBDocumentClient, private readonly table: string, private readonly app: string) {
    this.batchPk = `${id(app)}#batch`;
  }
  private donePk(time: number, stage: number) { return `${id(this.app)}#done#${time}#${stage}`; }
  private claimPk(time: number, stage: number) { return `${id(this.app)}#claim#${time}#${stage}`; }
  private batchKey(time: number): Key { return { pk: this.batchPk, sk: pad(time) }; }

  private static fieldAttributes(fields: Record<string, unknown>): { set: Record<string, unknown>; remove: string[] } {
    const set: Record<string, unknown> = {};
    const remove: string[] = [];
    for (const [f, v] of Object.entries(fields)) {
      if (f === "time") continue;
      if (f === "status") { set.status = v; continue; }
      if (storableNumber(v)) { set[`n_${f}`] = v; remove.push(`e_${f}`); }
      else { set[`e_${f}`] = encode(v); remove.push(`n_${f}`); }
    }
    return { set, remove };
  }

  private static toRecord(item: Item): BatchRecord {
    const rec: Record<string, unknown> = { time: item.time, status: item.status };
    for (const [a, v] of Object.entries(item)) if (a.startsWith("e_")) rec[a.slice(2)] = decode(v as string);
    // numbers last: a counter added to a field that held undefined/null wins, as `(r[k] ?? 0) + v` does in memory
    for (const [a, v] of Object.entries(item)) if (a.startsWith("n_")) rec[a.slice(2)] = Number(v);
    return rec as unknown as BatchRecord;
  }

  async createBatch(record: BatchRecord): Promise<boolean> {
    const { set } = DynamoBatchLog.fieldAttributes(record as unknown as Record<string, unknown>);
    try {
      await this.doc.send(new PutCommand({
        TableName: this.table,
        Item: { ...this.batchKey(record.time), time: record.time, ...set },
        ConditionExpression: "attribute_not_exists(pk)",
      }));
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  async getBatch(time: number): Promise<BatchRecord | undefined> {
    const r = await this.doc.send(new GetCommand({ TableName: this.table, Key: this.batchKey(time), ConsistentRead: true }));
    return r.Item ? DynamoBatchLog.toRecord(r.Item) : undefined;
  }

  async updateBatch(time: number, expected: BatchStatus, patch: Partial<BatchRecord>): Promise<boolean> {
    const { set, remove } = DynamoBatchLog.fieldAttributes(patch as Record<string, unknown>);
    if (Object.keys(set).length === 0) {
      const r = await this.getBatch(time);
      return r?.status === expected;
    }
    const x = new Expr();
    const sets = Object.entries(set).map(([a, v]) => `${x.name(a)} = ${x.value(v)}`);
    const removes = remove.map((a) => x.name(a));
    const cond = `${x.name("status")} = ${x.value(expected)}`;
    try {
      await this.doc.send(new UpdateCommand({
        TableName: this.table, Key: this.batchKey(time),
        UpdateExpression: `SET ${sets.join(", ")}${removes.length ? ` REMOVE ${removes.join(", ")}` : ""}`,
        ConditionExpression: cond,
        ExpressionAttributeNames: x.names, ExpressionAttributeValues: x.values,
      }));
      return true;
    } catch (error) {
      if (isConditionFailed(error)) return false;
      throw error;
    }
  }

  async latestBatch(beforeTime?: number): Promise<BatchRecord | undefined> {
    const r = await this.doc.send(new QueryCommand({
      TableName: this.table, ConsistentRead: true, ScanIndexForward: false, Limit: 1,
      KeyConditionExpression: beforeTime === undefined ? "pk = :pk" : "pk = :pk AND sk < :before",
      ExpressionAttributeValues: beforeTime === undefined ? { ":pk": this.batchPk } : { ":pk": this.batchPk, ":before": pad(Math.max(0, Math.ceil(beforeTime))) },
    }));
    const item = r.Items?.[0];
    return item ? DynamoBatchLog.toRecord(item) : undefined;
  }
  async listBatches(options: { fromTime?: number; limit?: number } = {}): Promise<BatchRecord[]> {
    if (options.limit !== undefined && options.limit <= 0) return [];
    const from = Math.max(0, Math.ceil(options.fromTime ?? 0));
    const items = await queryAll(this.doc, {
      TableName: this.table,
      KeyConditionExpression: "pk = :pk AND sk >= :from",
      ExpressionAttributeValues: { ":pk": this.batchPk, ":from": pad(from) },
    }, options.limit);
    return items.map(DynamoBatchLog.toRecord);
  }

  async completedTasks(time: number, stage: number): Promise<number[]> {
    return [...(await this.doneParts(time, stage))].map(Number).sort((a, b) => a - b);
  }
  private async doneParts(time: number, stage: number): Promise<Set<number>> {
    const r = await this.doc.send(new GetCommand({
      TableName: this.table, Key: { pk: this.donePk(time, stage), sk: "done" }, ConsistentRead: true,
    }));
    return (r.Item?.parts as Set<number> | undefined) ?? new Set();
  }

  async claimTask(time: number, stage: number, partition: number, owner: string, leaseUntil: number, now: number): Promise<"claimed" | "busy" | "done"> {
    if ((await this.doneParts(time, stage)).has(partition)) return "done";
    try {
      await this.doc.send(new PutCommand({
        TableName: this.table,
        Item: { pk: this.claimPk(time, stage), sk: pad(partition, 10), owner, until: leaseUntil, ttl: ttlIn(TASK_TTL_S) },
        ConditionExpression: "attribute_not_exists(pk) OR #owner = :owner OR #until <= :now",
        ExpressionAttributeNames: { "#owner": "owner", "#until": "until" },
        ExpressionAttributeValues: { ":owner": owner, ":now": now },
      }));
      return "claimed";
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      // the holder may have completed the task since we looked
      return (await this.doneParts(time, stage)).has(partition) ? "done" : "busy";
    }
  }

  async releaseTask(time: number, stage: number, partition: number, owner: string): Promise<number> {
    try {
      await this.doc.send(new DeleteCommand({
        TableName: this.table, Key: { pk: this.claimPk(time, stage), sk: pad(partition, 10) },
        ConditionExpression: "#owner = :owner",
        ExpressionAttributeNames: { "#owner": "owner" }, ExpressionAttributeValues: { ":owner": owner },
      }));
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
    }
    // Failed attempts are counted apart from the claim (which every claim overwrites); left to TTL.
    const r = await this.doc.send(new UpdateCommand({
      TableName: this.table, Key: { pk: `${this.claimPk(time, stage)}#failed`, sk: pad(partition, 10) },
      UpdateExpression: "ADD #n :one SET #ttl = :ttl",
      ExpressionAttributeNames: { "#n": "n", "#ttl": "ttl" }, ExpressionAttributeValues: { ":one": 1, ":ttl": ttlIn(TASK_TTL_S) },
      ReturnValues: "UPDATED_NEW",
    }));
    return Number(r.Attributes?.n ?? 1);
  }

  async completeTask(time: number, stage: number, partition: number): Promise<TaskCompletion> {
    try {
      const r = await this.doc.send(new UpdateCommand({
        TableName: this.table, Key: { pk: this.donePk(time, stage), sk: "done" },
        UpdateExpression: "ADD #parts :p SET #ttl = :ttl",
        ConditionExpression: "attribute_not_exists(#parts) OR NOT contains(#parts, :pn)",
        ExpressionAttributeNames: { "#parts": "parts", "#ttl": "ttl" },
        ExpressionAttributeValues: { ":p": new Set([partition]), ":pn": partition, ":ttl": ttlIn(TASK_TTL_S) },
        ReturnValues: "UPDATED_NEW",
      }));
      return { first: true, completed: (r.Attributes?.parts as Set<number>).size };
    } catch (error) {
      if (!isConditionFailed(error)) throw error;
      return { first: false, completed: (await this.doneParts(time, stage)).size };
    }
  }

  async addCounters(time: number, counters: Record<string, number>): Promise<void> {
    const entries = Object.entries(counters).filter(([f]) => f !== "time" && f !== "status");
    if (entries.length === 0) return;
    const x = new Expr();
    const adds = entries.map(([f, v]) => `${x.name(`n_${f}`)} ${x.value(v)}`);
    const removes = entries.map(([f]) => x.name(`e_${f}`));
    try {
      await this.doc.send(new UpdateCommand({
        TableName: this.table, Key: this.batchKey(time),
        UpdateExpression: `ADD ${adds.join(", ")} REMOVE ${removes.join(", ")}`,
        ConditionExpression: "attribute_exists(pk)",
        ExpressionAttributeNames: x.names, ExpressionAttributeValues: x.values,
      }));
    } catch (error) {
      if (!isConditionFailed(error)) throw error; // no record: nothing to count, as in memory
    }
  }

  async deleteBatchesBefore(time: number): Promise<void> {
    if (time <= 0) return;
    const items = await queryAll(this.doc, {
      TableName: this.table,
      KeyConditionExpression: "pk = :pk AND sk < :to",
      ExpressionAttributeValues: { ":pk": this.batchPk, ":to": pad(Math.ceil(time)) },
      ProjectionExpression: "pk, sk, #time, e_stages",
      ExpressionAttributeNames: { "#time": "time" },
    });
    await mapLimit(items, 4, async (item) => {
      const t = Number(item.time);
      const stages = item.e_stages === undefined ? 0 : (decode(item.e_stages as string) as unknown[]).length;
      const deletes: WriteRequest[] = [];
      for (let s = 0; s < stages; s++) {
        deletes.push({ DeleteRequest: { Key: { pk: this.donePk(t, s), sk: "done" } } });
      }
      await batchWrite(this.doc, this.table, deletes);
      for (let s = 0; s < stages; s++) await deletePartition(this.doc, this.table, this.claimPk(t, s));
      await this.doc.send(new DeleteCommand({ TableName: this.table, Key: { pk: item.pk as string, sk: item.sk as string } }));
    });
  }
}

// ---------------------------------------------------------------------------------------------
// chunked objects (shuffle output and blocks)

/** Bytes of codec text per chunk item: under the 400 KB item limit with room for keys and attributes. */
export const CHUNK_BYTES = 300 * 1024;
/** Shuffle output lives for one batch; TTL only removes what a crashed deleteBatch left behind. Blocks get no TTL (a window may read them for long). */
const SHUFFLE_TTL_S = 7 * DAY_S;

interface Header { g: string; c: number[] }

/**
 * One object = a header item (sk "h") naming a generation and the chunk count of each slot, plus the
 * chunk items of that generation. A write puts the new generation's chunks first and the header last,
 * then deletes the previous generation's chunks; a reader follows the header, so it sees either the
 * old or the new object, never a mix, and a rewrite with fewer chunks leaves nothing stale visible.
 * A reader that lost a race with that cleanup (fewer chunks than the header says) re-reads the header.
 */
class ChunkedObjects {
  /** `ttlS`: seconds until TTL may remove the items (a backstop for leaks); undefined: never. */
  constructor(private readonly doc: DynamoDBDocumentClient, private readonly table: string, private readonly ttlS: number | undefined) {}

  private static chunkPrefix(g: string, slot: number) { return `c#${g}#${pad(slot, 8)}#`; }

  async header(pk: string): Promise<Header | undefined> {
    const r = await this.doc.send(new GetCommand({ TableName: this.table, Key: { pk, sk: "h" }, ConsistentRead: true }));
    return r.Item ? { g: r.Item.g as string, c: r.Item.c as number[] } : undefined;
  }

  async headers(pks: string[]): Promise<Map<string, Header>> {
    const items = await batchGet(this.doc, this.table, pks.map((pk) => ({ pk, sk: "h" })));
    return new Map(items.map((i) => [i.pk as string, { g: i.g as string, c: i.c as number[] }]));
  }

  async write(pk: string, slots: readonly (readonly unknown[] | undefined)[]): Promise<void> {
    const old = await this.header(pk);
    const g = `${Date.now().toString(36)}${randomUUID().slice(0, 8)}`;
    const ttl = this.ttlS === undefined ? {} : { ttl: ttlIn(this.ttlS) };
    const counts: number[] = [];
    const puts: WriteRequest[] = [];
    slots.forEach((records, slot) => {
      if (!records || records.length === 0) { counts.push(0); return; }
      const bytes = Buffer.from(encode(records), "utf8");
      const n = Math.ceil(bytes.length / CHUNK_BYTES);
      counts.push(n);
      for (let i = 0; i < n; i++) {
        puts.push({ PutRequest: { Item: {
          pk, sk: `${ChunkedObjects.chunkPrefix(g, slot)}${pad(i, 6)}`,
          d: new Uint8Array(bytes.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES)), ...ttl,
        } } });
      }
    });
    // a BatchWriteItem request is at most 16 MB: 25 chunks of 300 KB is 7.5 MB
    await batchWrite(this.doc, this.table, puts);
    await this.doc.send(new PutCommand({ TableName: this.table, Item: { pk, sk: "h", g, c: counts, ...ttl } }));
    if (old && old.g !== g) await this.deleteGeneration(pk, old.g).catch(() => undefined); // TTL catches a failure here
  }

  private async deleteGeneration(pk: string, g: string): Promise<void> {
    const items = await queryAll(this.doc, {
      TableName: this.table, KeyConditionExpression: "pk = :pk AND begins_with(sk, :p)",
      ExpressionAttributeValues: { ":pk": pk, ":p": `c#${g}#` }, ProjectionExpression: "pk, sk",
    });
    await batchWrite(this.doc, this.table, items.map((i) => ({ DeleteRequest: { Key: { pk, sk: i.sk as string } } })));
  }

  /** The records of one slot, or undefined when the object does not exist. */
  async read(pk: string, slot: number, known?: Header): Promise<unknown[] | undefined> {
    let header = known;
    for (let attempt = 0; attempt < 5; attempt++) {
      if (attempt > 0 || header === undefined) header = await this.header(pk);
      if (!header) return undefined;
      const n = header.c[slot] ?? 0;
      if (n === 0) return [];
      const items = await queryAll(this.doc, {
        TableName: this.table, KeyConditionExpression: "pk = :pk AND begins_with(sk, :p)",
        ExpressionAttributeValues: { ":pk": pk, ":p": ChunkedObjects.chunkPrefix(header.g, slot) },
      });
      if (items.length >= n) {
        const parts = items.slice(0, n).map((i) => i.d as Uint8Array);
        return decode<unknown[]>(Buffer.concat(parts).toString("utf8"));
      }
      await backoff(attempt);
    }
    throw new Error(`chunks of ${pk} slot ${slot} kept changing or are missing (a concurrent rewrite or delete?)`);
  }

  /** Deletes the header first (so the object is gone for readers at once), then everything else. */
  async delete(pk: string): Promise<void> {
    await this.doc.send(new DeleteCommand({ TableName: this.table, Key: { pk, sk: "h" } }));
    await deletePartition(this.doc, this.table, pk);
  }
}

/**
 * Shuffle output on the data table, one chunked object per map task (a slot per reduce partition).
 * An index item per (batch, shuffle, map partition) under `${app}#shidx#${time}` lets deleteBatch find
 * and really delete every object of a batch (header first, so reads fail at once as in memory).
 */
export class DynamoShuffleStore implements ShuffleStore {
  private readonly objects: ChunkedObjects;
  constructor(private readonly doc: DynamoDBDocumentClient, private readonly table: string, private readonly app: string) {
    this.objects = new ChunkedObjects(doc, table, SHUFFLE_TTL_S);
  }
  private pk(batchTime: number, shuffleId: string, map: number) { return `${id(this.app)}#sh#${batchTime}#${id(shuffleId)}#${map}`; }
  private indexPk(batchTime: number) { return `${id(this.app)}#shidx#${batchTime}`; }

  async write(batchTime: number, shuffleId: string, mapPartition: number, buckets: unknown[][]): Promise<void> {
    const pk = this.pk(batchTime, shuffleId, mapPartition);
    await this.doc.send(new PutCommand({
      TableName: this.table,
      Item: { pk: this.indexPk(batchTime), sk: `${id(shuffleId)}#${pad(mapPartition, 10)}`, p: pk, ttl: ttlIn(SHUFFLE_TTL_S) },
    }));
    await this.objects.write(pk, buckets);
  }

  async read(batchTime: number, shuffleId: string, reducePartition: number, numMapPartitions: number): Promise<unknown[][]> {
    const pks = Array.from({ length: numMapPartitions }, (_, m) => this.pk(batchTime, shuffleId, m));
    const headers = await this.objects.headers(pks);
    const missing = pks.findIndex((pk) => !headers.has(pk));
    if (missing >= 0) throw new Error(`shuffle output missing: batch ${batchTime}, shuffle ${shuffleId}, map partition ${missing}`);
    return mapLimit(pks, 8, async (pk, m) => {
      const records = await this.objects.read(pk, reducePartition, headers.get(pk));
      if (!records) throw new Error(`shuffle output missing: batch ${batchTime}, shuffle ${shuffleId}, map partition ${m}`);
      return records;
    });
  }

  async deleteBatch(batchTime: number): Promise<void> {
    const index = await queryAll(this.doc, {
      TableName: this.table, KeyConditionExpression: "pk = :pk", ExpressionAttributeValues: { ":pk": this.indexPk(batchTime) },
    });
    await mapLimit(index, 4, (i) => this.objects.delete(i.p as string));
    await batchWrite(this.doc, this.table, index.map((i) => ({ DeleteRequest: { Key: { pk: i.pk as string, sk: i.sk as string } } })));
  }
}

/**
 * Materialized blocks on the data table, one chunked object per (stream, time, partition), with an index
 * under `${app}#blkidx#${stream}` (sk time#partition) so deleteBefore can find and really delete them:
 * after it returns, get() of a deleted block is undefined, as in memory.
 */
export class DynamoBlockStore implements BlockStore {
  private readonly objects: ChunkedObjects;
  constructor(private readonly doc: DynamoDBDocumentClient, private readonly table: string, private readonly app: string) {
    this.objects = new ChunkedObjects(doc, table, undefined);
  }
  private pk(streamId: string, time: number, partition: number) { return `${id(this.app)}#blk#${id(streamId)}#${time}#${partition}`; }
  private indexPk(streamId: string) { return `${id(this.app)}#blkidx#${id(streamId)}`; }

  async put(streamId: string, time: number, partition: number, records: unknown[]): Promise<void> {
    const pk = this.pk(streamId, time, partition);
    await this.doc.send(new PutCommand({
      TableName: this.table,
      Item: { pk: this.indexPk(streamId), sk: `${pad(time)}#${pad(partition, 10)}`, p: pk },
    }));
    await this.objects.write(pk, [records]);
  }

  async get(streamId: string, time: number, partition: number): Promise<unknown[] | undefined> {
    return this.objects.read(this.pk(streamId, time, partition), 0);
  }

  async deleteBefore(streamId: string, time: number): Promise<void> {
    if (time <= 0) return;
    const index = await queryAll(this.doc, {
      TableName: this.table, KeyConditionExpression: "pk = :pk AND sk < :to",
      ExpressionAttributeValues: { ":pk": this.indexPk(streamId), ":to": pad(Math.ceil(time)) },
    });
    await mapLimit(index, 4, (i) => this.objects.delete(i.p as string));
    await batchWrite(this.doc, this.table, index.map((i) => ({ DeleteRequest: { Key: { pk: i.pk as string, sk: i.sk as string } } })));
  }
}

// ---------------------------------------------------------------------------------------------
// state

const STATE_TOMBSTONE_TTL_S = 7 * DAY_S;
const STATE_CONCURRENCY = 16;

interface StateItem {
  pk: string; sk: string; k: string;
  t: number; v?: string; u?: number;
  pt?: number; pv?: string; pu?: number; pd?: boolean;
  ttl?: number;
}
interface Version { time: number; entry: { v: string; u: number } | undefined }

/** The sort key of a state key: its canonical form, or a hash of it past the 1 KB sort-key limit. */
function stateSk(key: unknown): string {
  const c = canonical(key);
  return Buffer.byteLength(c, "utf8") <= 900 ? `=${c}` : `#${createHash("sha256").update(c).digest("hex")}`;
}

function versionsOf(item: StateItem | undefined): Version[] {
  if (!item) return [];
  const out: Version[] = [];
  if (item.pt !== undefined) out.push({ time: item.pt, entry: item.pd ? undefined : { v: item.pv!, u: item.pu! } });
  out.push({ time: item.t, entry: item.v === undefined ? undefined : { v: item.v, u: item.u! } });
  return out;
}

function entryAsOf(item: StateItem, asOf: number): StateEntry | undefined {
  const versions = versionsOf(item);
  for (let i = versions.length - 1; i >= 0; i--) {
    const v = versions[i]!;
    if (v.time <= asOf) return v.entry && { key: decode(item.k), value: decode(v.entry.v), updatedAt: v.entry.u };
  }
  return undefined;
}

/**
 * Versioned state on the state table: each key keeps its latest version (t, v, u) and the one
 * before it (pt, pv, pu, pd), exactly the two versions MemoryStateStore keeps. A commit at T rewrites
 * each changed key from the versions older than T (so a retry at T, even after a half-written first
 * attempt, keeps the pre-T version and replaces the T one), guarded by a condition on the `t` it read;
 * a lost race re-reads and redoes that key. A removal with no older version deletes the item; other
 * removals leave a tombstone with a `ttl`, so it is really gone later.
 */
export class DynamoStateStore implements StateStore {
  constructor(private readonly doc: DynamoDBDocumentClient, private readonly table: string, private readonly app: string) {}
  private pk(operatorId: string, partition: number) { return `${id(this.app)}#${id(operatorId)}#${partition}`; }

  async scan(operatorId: string, partition: number, asOf: number): Promise<StateEntry[]> {
    const items = await queryAll(this.doc, {
      TableName: this.table, KeyConditionExpression: "pk = :pk", ExpressionAttributeValues: { ":pk": this.pk(operatorId, partition) },
    });
    const out: StateEntry[] = [];
    for (const item of items) {
      const e = entryAsOf(item as unknown as StateItem, asOf);
      if (e) out.push(e);
    }
    return out;
  }

  private async fetch(pk: string, sks: string[]): Promise<Map<string, StateItem>> {
    const unique = [...new Set(sks)];
    const items = await batchGet(this.doc, this.table, unique.map((sk) => ({ pk, sk })));
    return new Map(items.map((i) => [i.sk as string, i as unknown as StateItem]));
  }

  async getMany(operatorId: string, partition: number, keys: unknown[], asOf: number): Promise<StateEntry[]> {
    if (keys.length === 0) return [];
    const sks = keys.map(stateSk);
    const items = await this.fetch(this.pk(operatorId, partition), sks);
    const out: StateEntry[] = [];
    for (const sk of sks) {
      const item = items.get(sk);
      const e = item && entryAsOf(item, asOf);
      if (e) out.push(e);
    }
    return out;
  }

  async commit(operatorId: string, partition: number, time: number, puts: StateEntry[], removes: unknown[]): Promise<void> {
    const pk = this.pk(operatorId, partition);
    // as in memory: puts first, then removes, so a key in both ends removed
    const changes = new Map<string, { key: unknown; entry: StateEntry | undefined }>();
    for (const e of puts) changes.set(stateSk(e.key), { key: e.key, entry: e });
    for (const k of removes) changes.set(stateSk(k), { key: k, entry: undefined });
    if (changes.size === 0) return;
    const existing = await this.fetch(pk, [...changes.keys()]);
    await mapLimit([...changes], STATE_CONCURRENCY, async ([sk, change]) => {
      let item = existing.get(sk);
      for (let attempt = 0; ; attempt++) {
        try {
          await this.writeKey(pk, sk, time, change.key, change.entry, item);
          return;
        } catch (error) {
          if (!isConditionFailed(error) || attempt >= 10) throw error;
          const r = await this.doc.send(new GetCommand({ TableName: this.table, Key: { pk, sk }, ConsistentRead: true }));
          item = r.Item as StateItem | undefined;
        }
      }
    });
  }

  private async writeKey(pk: string, sk: string, time: number, key: unknown, entry: StateEntry | undefined, item: StateItem | undefined): Promise<void> {
    // A later batch committed this key: this is a late attempt of batch `time` (a stalled worker whose
    // task was run again and whose batch completed since). Batches commit in order, so its version is
    // already stored and rewriting from the versions before `time` would drop the later one.
    if (item && item.t > time) return;
    const older = versionsOf(item).filter((v) => v.time < time);
    const kept = older[older.length - 1];
    const condition = item
      ? { ConditionExpression: "#t = :t", ExpressionAttributeNames: { "#t": "t" }, ExpressionAttributeValues: { ":t": item.t } }
      : { ConditionExpression: "attribute_not_exists(pk)" };
    if (!entry && !kept) {
      if (item) await this.doc.send(new DeleteCommand({ TableName: this.table, Key: { pk, sk }, ...condition }));
      return;
    }
    const next: StateItem = { pk, sk, k: encode(key), t: time };
    if (entry) { next.v = encode(entry.value); next.u = entry.updatedAt; }
    else next.ttl = ttlIn(STATE_TOMBSTONE_TTL_S);
    if (kept) {
      next.pt = kept.time;
      if (kept.entry) { next.pv = kept.entry.v; next.pu = kept.entry.u; }
      else next.pd = true;
    }
    await this.doc.send(new PutCommand({ TableName: this.table, Item: next as unknown as Item, ...condition }));
  }
}

// ---------------------------------------------------------------------------------------------
// quarantine

/** Records larger than this (codec text) are kept with their `record` replaced by a truncated text form. */
const QUARANTINE_MAX_BYTES = 300 * 1024;
let quarantineSeq = 0;

/**
 * Quarantined records on the meta table under `${app}#quarantine`, sorted by batch time, then by the
 * wall-clock time and sequence of the put (memory lists in insertion order).
 */
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
  async count(batchTime: number): Promise<number> {
    const prefix = `${pad(Math.max(0, Math.floor(batchTime)))}#`;
    let n = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const r = await this.doc.send(new QueryCommand({
        TableName: this.table, KeyConditionExpression: "pk = :pk AND begins_with(sk, :p)", Select: "COUNT",
        ExpressionAttributeValues: { ":pk": this.pk, ":p": prefix }, ExclusiveStartKey: start,
      }));
      n += r.Count ?? 0;
      start = r.LastEvaluatedKey;
    } while (start);
    return n;
  }
  async list(options: { limit?: number } = {}): Promise<QuarantinedRecord[]> {
    if (options.limit !== undefined && options.limit <= 0) return [];
    const items = await queryAll(this.doc, {
      TableName: this.table, KeyConditionExpression: "pk = :pk", ExpressionAttributeValues: { ":pk": this.pk },
    }, options.limit);
    return items.map((i) => decode<QuarantinedRecord>(i.r as string));
  }
}
