/**
 * The per-key state backend (`stateBackend: "dynamodb"`) on the state table: one item per key, for
 * very large, sparse mapWithState state (Flink's RocksDB backend plays this role). It costs a read per
 * key with data and a write per changed key, every batch; the default backend (state in memory,
 * checkpointed) costs write units per KB of changed state, every checkpoint interval.
 *
 * Items: pk `${app}#${operator}#${partition}`, sk `=${canonical(key)}` (`#${sha256}` past 900 bytes).
 */
import { createHash } from "node:crypto";
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { decode, encode } from "../../core/codec.js";
import { canonical } from "../../core/keys.js";
import type { StateEntry, StateStore } from "../../storage/interfaces.js";
import { mapLimit } from "../../core/concurrency.js";
import { DAY_S, batchGet, id, isConditionFailed, queryAll, ttlIn, type Item } from "./util.js";

const STATE_TOMBSTONE_TTL_S = 7 * DAY_S;
const STATE_CONCURRENCY = 16;

interface StateItem {
  pk: string;
  sk: string;
  k: string;
  t: number;
  v?: string;
  u?: number;
  pt?: number;
  pv?: string;
  pu?: number;
  pd?: boolean;
  ttl?: number;
}
interface Version {
  time: number;
  entry: { v: string; u: number } | undefined;
}

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
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly app: string,
  ) {}
  private pk(operatorId: string, partition: number) {
    return `${id(this.app)}#${id(operatorId)}#${partition}`;
  }

  async scan(operatorId: string, partition: number, asOf: number): Promise<StateEntry[]> {
    const items = await queryAll(this.doc, {
      TableName: this.table,
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": this.pk(operatorId, partition) },
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
    const items = await batchGet(
      this.doc,
      this.table,
      unique.map((sk) => ({ pk, sk })),
    );
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

  private async writeKey(
    pk: string,
    sk: string,
    time: number,
    key: unknown,
    entry: StateEntry | undefined,
    item: StateItem | undefined,
  ): Promise<void> {
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
    if (entry) {
      next.v = encode(entry.value);
      next.u = entry.updatedAt;
    } else next.ttl = ttlIn(STATE_TOMBSTONE_TTL_S);
    if (kept) {
      next.pt = kept.time;
      if (kept.entry) {
        next.pv = kept.entry.v;
        next.pu = kept.entry.u;
      } else next.pd = true;
    }
    await this.doc.send(new PutCommand({ TableName: this.table, Item: next as unknown as Item, ...condition }));
  }
}
