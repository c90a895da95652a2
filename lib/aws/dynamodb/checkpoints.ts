/**
 * Checkpoints on AWS: manifests on the meta table, pages on the state table (the default) or in S3.
 *
 *  meta   pk `${app}#ckpt`                     sk time16   the manifest (`e`: codec text), written last and
 *                                                          conditionally: the commit; `ttl` = written + retention
 *  state  pk `${app}#ck#${key}#${page}`         sk "p"      one page (`d`: ≤ 350 KB compressed); `ttl` likewise
 *
 * Each page is its own partition key, so a checkpoint of many pages spreads over DynamoDB's partitions
 * instead of queueing on one. DynamoDB bills a page write by the KB of compressed state; S3 (`S3Pages`)
 * bills one PUT per stream checkpoint whatever its size, which is cheaper once checkpoints run to
 * megabytes (see docs/benchmarks.md). Pages left by a checkpoint whose manifest was never committed
 * are named by no manifest and expire with the TTL: nothing is deleted by request, since DynamoDB bills
 * a delete by the KB too.
 */
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { decode, encode } from "../../core/codec.js";
import { MissingDataError } from "../../core/errors.js";
import type { CheckpointManifest, CheckpointStore } from "../../storage/interfaces.js";
import { BATCH_RETENTION_S } from "./batch-log.js";
import { batchGet, batchWrite, id, lastItem, pad, putIfAbsent, queryAll, ttlIn } from "./util.js";

/** Where checkpoint pages go. */
export interface PageStore {
  write(key: string, pages: readonly Uint8Array[]): Promise<void>;
  read(key: string, count: number): Promise<Uint8Array[]>;
}

/** Pages as items of the state table, one partition key each. */
export class DynamoPages implements PageStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly app: string,
  ) {}
  private pk(key: string, page: number) {
    return `${id(this.app)}#ck#${key}#${page}`;
  }
  async write(key: string, pages: readonly Uint8Array[]): Promise<void> {
    const ttl = ttlIn(BATCH_RETENTION_S);
    await batchWrite(
      this.doc,
      this.table,
      pages.map((d, i) => ({ PutRequest: { Item: { pk: this.pk(key, i), sk: "p", d, ttl } } })),
      4,
    );
  }
  async read(key: string, count: number): Promise<Uint8Array[]> {
    const items = await batchGet(
      this.doc,
      this.table,
      Array.from({ length: count }, (_, i) => ({ pk: this.pk(key, i), sk: "p" })),
    );
    const byPk = new Map(items.map((i) => [i.pk as string, i.d as Uint8Array]));
    return Array.from({ length: count }, (_, i) => {
      const d = byPk.get(this.pk(key, i));
      if (!d)
        throw new MissingDataError(`Checkpoint page ${i} of ${key} is missing from ${this.table}: it expired, or the checkpoint was never complete.`);
      return d;
    });
  }
}

export class DynamoCheckpointStore implements CheckpointStore {
  private readonly pk: string;
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    app: string,
    private readonly pages: PageStore,
  ) {
    this.pk = `${id(app)}#ckpt`;
  }
  writePages(key: string, pages: readonly Uint8Array[]): Promise<void> {
    return this.pages.write(key, pages);
  }
  readPages(key: string, count: number): Promise<Uint8Array[]> {
    return this.pages.read(key, count);
  }

  commit(manifest: CheckpointManifest): Promise<boolean> {
    return putIfAbsent(this.doc, this.table, { pk: this.pk, sk: pad(manifest.time), e: encode(manifest), ttl: ttlIn(BATCH_RETENTION_S) });
  }

  async latest(atOrBefore?: number): Promise<CheckpointManifest | undefined> {
    const item = await lastItem(
      this.doc,
      this.table,
      this.pk,
      atOrBefore === undefined ? undefined : { op: "<=", sk: pad(Math.max(0, Math.floor(atOrBefore))) },
    );
    return item ? decode<CheckpointManifest>(item.e as string) : undefined;
  }

  async between(from: number, to: number): Promise<CheckpointManifest[]> {
    const a = Math.max(0, Math.ceil(from));
    const b = Math.floor(to);
    // An empty interval: DynamoDB refuses a BETWEEN whose upper bound is below its lower one.
    if (b < a) return [];
    const items = await queryAll(this.doc, {
      TableName: this.table,
      KeyConditionExpression: "pk = :pk AND sk BETWEEN :a AND :b",
      ExpressionAttributeValues: { ":pk": this.pk, ":a": pad(a), ":b": pad(b) },
    });
    return items.map((i) => decode<CheckpointManifest>(i.e as string));
  }
}
