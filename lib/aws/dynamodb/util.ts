/**
 * What every DynamoDB store here shares: key encoding (zero-padded times, URI-encoded ids), TTL, and the
 * batched reads and writes with their retries of unprocessed items.
 */
import { mapLimit } from "../../core/concurrency.js";
import { BatchGetCommand, BatchWriteCommand, DynamoDBDocumentClient, PutCommand, QueryCommand, type QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import { sleep } from "../../core/clock.js";
import { InvalidArgumentError, MissingDataError } from "../../core/errors.js";

export function errorName(error: unknown): string {
  return (error as { name?: string } | null)?.name ?? "";
}
export function isConditionFailed(error: unknown): boolean {
  return errorName(error) === "ConditionalCheckFailedException";
}

export function pad(n: number, width = 16): string {
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`Expected a non-negative whole number, got ${n}.`);
  return String(n).padStart(width, "0");
}
export const id = (s: string) => encodeURIComponent(s);
export const DAY_S = 86_400;
export const ttlIn = (seconds: number) => Math.floor(Date.now() / 1000) + seconds;

export type Item = Record<string, unknown>;
export type Key = { pk: string; sk: string };

/** Every item of a query, following LastEvaluatedKey; stops once `limit` items are collected. */
export async function queryAll(doc: DynamoDBDocumentClient, input: QueryCommandInput, limit?: number): Promise<Item[]> {
  const out: Item[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const r = await doc.send(
      new QueryCommand({
        ConsistentRead: true,
        ...input,
        ...(limit !== undefined ? { Limit: limit - out.length } : {}),
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    out.push(...(r.Items ?? []));
    start = r.LastEvaluatedKey;
  } while (start && (limit === undefined || out.length < limit));
  return out;
}

export const MAX_BATCH_ATTEMPTS = 12;
export const backoff = (attempt: number) => sleep(Math.min(25 * 2 ** attempt, 2_000) * (0.5 + Math.random() / 2));

export type WriteRequest = { PutRequest: { Item: Item } } | { DeleteRequest: { Key: Key } };

/** BatchWriteItem in groups of 25, retrying UnprocessedItems with backoff. */
export async function batchWrite(doc: DynamoDBDocumentClient, table: string, requests: WriteRequest[], concurrency = 4): Promise<void> {
  const groups: WriteRequest[][] = [];
  for (let i = 0; i < requests.length; i += 25) groups.push(requests.slice(i, i + 25));
  await mapLimit(groups, concurrency, async (group) => {
    let pending = group;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= MAX_BATCH_ATTEMPTS)
        throw new MissingDataError(`BatchWriteItem on ${table}: ${pending.length} items still unprocessed after ${attempt} attempts`);
      if (attempt > 0) await backoff(attempt);
      const r = await doc.send(new BatchWriteCommand({ RequestItems: { [table]: pending as never } }));
      pending = (r.UnprocessedItems?.[table] ?? []) as WriteRequest[];
    }
  });
}

/** BatchGetItem (consistent) in groups of 100, retrying UnprocessedKeys; returns the items found. */
export async function batchGet(doc: DynamoDBDocumentClient, table: string, keys: Key[]): Promise<Item[]> {
  const groups: Key[][] = [];
  for (let i = 0; i < keys.length; i += 100) groups.push(keys.slice(i, i + 100));
  const results = await mapLimit(groups, 4, async (group) => {
    const found: Item[] = [];
    let pending: Key[] = group;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= MAX_BATCH_ATTEMPTS)
        throw new MissingDataError(`BatchGetItem on ${table}: ${pending.length} keys still unprocessed after ${attempt} attempts`);
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
export async function deletePartition(doc: DynamoDBDocumentClient, table: string, pk: string): Promise<void> {
  const items = await queryAll(doc, {
    TableName: table,
    KeyConditionExpression: "pk = :pk",
    ExpressionAttributeValues: { ":pk": pk },
    ProjectionExpression: "pk, sk",
  });
  await batchWrite(
    doc,
    table,
    items.map((i) => ({ DeleteRequest: { Key: { pk: i.pk as string, sk: i.sk as string } } })),
  );
}

/** Numbers DynamoDB can hold exactly as N; anything else is stored as codec text. */
export function storableNumber(v: unknown): v is number {
  if (typeof v !== "number" || !Number.isFinite(v) || Object.is(v, -0)) return false;
  const a = Math.abs(v);
  return a === 0 || (a < 1e125 && a > 1e-129);
}

/** Builds expression attribute names and values. */
export class Expr {
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

/** Puts an item unless one with its key exists; false when one did (the write changed nothing). */
export async function putIfAbsent(doc: DynamoDBDocumentClient, table: string, item: Item): Promise<boolean> {
  try {
    await doc.send(new PutCommand({ TableName: table, Item: item, ConditionExpression: "attribute_not_exists(pk)" }));
    return true;
  } catch (error) {
    if (isConditionFailed(error)) return false;
    throw error;
  }
}

/** The item of partition `pk` with the greatest sort key, or the greatest below (`<`) or at most (`<=`) `bound.sk`. */
export async function lastItem(
  doc: DynamoDBDocumentClient,
  table: string,
  pk: string,
  bound?: { op: "<" | "<="; sk: string },
): Promise<Item | undefined> {
  const r = await doc.send(
    new QueryCommand({
      TableName: table,
      ConsistentRead: true,
      ScanIndexForward: false,
      Limit: 1,
      KeyConditionExpression: bound ? `pk = :pk AND sk ${bound.op} :sk` : "pk = :pk",
      ExpressionAttributeValues: bound ? { ":pk": pk, ":sk": bound.sk } : { ":pk": pk },
    }),
  );
  return r.Items?.[0];
}
