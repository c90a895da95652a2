/**
 * Kinesis as a replayable source: how the coordinator fixes each batch's
 * blocks, and how anyone reads exactly those records again.
 *
 * Every block is fixed by sequence number. For each batch the coordinator
 * reads each readable shard from where the previous batch ended, up to what
 * the shard holds now (or a per-shard cap), and records the block as the
 * range `(after, endAt]` with its record count. Nothing depends on arrival
 * timestamps, which Kinesis does not promise to be in order along a shard.
 * The records the coordinator read are handed over with the blocks while
 * they fit its budget, so a batch run in the coordinator reads each record
 * once; workers, and a coordinator recovering, read the range again.
 *
 * Shards can split and merge: a shard is read to its end (GetRecords returns
 * no next iterator) before its children are read, so no record is lost or
 * read twice across a resharding, and a key's records keep their order.
 *
 * Iterators are kept between batches (they live five minutes), so a shard
 * costs one GetRecords call per batch while it keeps up.
 */
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  type GetRecordsCommandOutput,
  type GetShardIteratorCommandInput,
  type Shard,
  type _Record,
} from "@aws-sdk/client-kinesis";
import { MissingDataError } from "../core/errors.js";
import { mapLimit } from "../core/concurrency.js";
import type { Allocation, BlockDescriptor, RecordBudget, ReplayableSource } from "../storage/interfaces.js";

/** A record as read from Kinesis, before decoding. */
export interface KinesisRecord {
  readonly data: Uint8Array;
  readonly partitionKey: string;
  readonly sequenceNumber: string;
  readonly shardId: string;
  readonly stream: string;
  readonly arrivalMs?: number;
}

export interface KinesisBlock extends BlockDescriptor {
  readonly source: "kinesis";
  readonly stream: string;
  readonly shardId: string;
  /** Read after this sequence number; absent: from the shard's start (TRIM_HORIZON). */
  readonly after?: string;
  /** The last sequence number in the block, inclusive; absent for an empty block. */
  readonly endAt?: string;
  /** Records in the block. */
  readonly count: number;
}

interface ShardPosition {
  last?: string;
  finished?: boolean;
}
/** What a Kinesis input stream remembers between batches. */
export interface KinesisInputState {
  shards: Record<string, ShardPosition>;
}

export interface AllocateOptions {
  /** Most records a shard contributes to one batch; the rest waits for later batches. @default 100000 */
  maxRecordsPerShard?: number;
  /** What the caller may keep in memory of the records read; past it, records are only counted. */
  budget?: RecordBudget;
}

const GET_RECORDS_LIMIT = 10_000;
/** GetRecords calls per shard per batch while the shard is behind (5 a second is a shard's limit). */
const MAX_CALLS_PER_SHARD = 50;
/**
 * Reading ahead starts once a batch took at least this many records from one shard: below it, the
 * boundary's read is short anyway, and every GetRecords counts against the shard's 5 reads a second,
 * which all of the stream's consumers share.
 */
const READ_AHEAD_MIN_RECORDS = 1000;
/** Most bytes the read-ahead keeps, all shards together; past it, the next boundary reads the rest. */
const READ_AHEAD_BYTES = 32 * 2 ** 20;

/** Records of one shard read ahead of a boundary: from just after `after`, in order; `ended`: the shard closed after them. */
interface ReadAhead {
  readonly after: string | undefined;
  readonly records: _Record[];
  bytes: number;
  ended: boolean;
}

/** Shards a batch reads at once while it fixes its blocks. */
const SHARD_READ_CONCURRENCY = 16;
/** Shard iterators expire after 5 minutes; one kept longer than this is not used. */
const ITERATOR_TTL_MS = 4 * 60_000;
/** How long the shard list is trusted before it is listed again (a split shows up within this). */
const SHARD_LIST_TTL_MS = 10_000;

const cmpSeq = (a: string, b: string) => {
  const x = BigInt(a),
    y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
};

export class KinesisSource implements ReplayableSource {
  readonly name = "kinesis";
  /** Per stream/shard: the iterator positioned after `after` (the last sequence number read). */
  private readonly iterators = new Map<string, { after: string | undefined; iterator: string; at: number }>();
  private readonly shardLists = new Map<string, { shards: Shard[]; at: number }>();
  /** Per stream/shard: records read ahead of the next boundary (`readAhead`), which `allocate` takes first. */
  private readonly readAheads = new Map<string, ReadAhead>();
  /** Per stream: the most records one shard gave the latest batch. */
  private readonly largestBlock = new Map<string, number>();
  constructor(readonly client: KinesisClient) {}

  async listShards(stream: string): Promise<Shard[]> {
    const shards: Shard[] = [];
    let token: string | undefined;
    do {
      const res = await this.client.send(new ListShardsCommand(token ? { NextToken: token } : { StreamName: stream }));
      shards.push(...(res.Shards ?? []));
      token = res.NextToken;
    } while (token);
    return shards.sort((a, b) => (a.ShardId! < b.ShardId! ? -1 : 1));
  }

  private async shardsOf(stream: string, refresh: boolean): Promise<Shard[]> {
    const cached = this.shardLists.get(stream);
    if (cached && !refresh && Date.now() - cached.at < SHARD_LIST_TTL_MS) return cached.shards;
    const shards = await this.listShards(stream);
    this.shardLists.set(stream, { shards, at: Date.now() });
    return shards;
  }

  private async iterator(stream: string, shardId: string, after: string | undefined): Promise<string | undefined> {
    const input: GetShardIteratorCommandInput = after
      ? { StreamName: stream, ShardId: shardId, ShardIteratorType: "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber: after }
      : { StreamName: stream, ShardId: shardId, ShardIteratorType: "TRIM_HORIZON" };
    return (await this.client.send(new GetShardIteratorCommand(input))).ShardIterator;
  }

  /** GetRecords from just after `after`, with the iterator kept from the last call when it is still good. */
  private async getRecords(stream: string, shardId: string, after: string | undefined, limit: number): Promise<GetRecordsCommandOutput> {
    const key = `${stream}/${shardId}`;
    const kept = this.iterators.get(key);
    let it = kept && kept.after === after && Date.now() - kept.at < ITERATOR_TTL_MS ? kept.iterator : undefined;
    for (let attempt = 0; ; attempt++) {
      it ??= await this.iterator(stream, shardId, after);
      try {
        const res = await this.client.send(new GetRecordsCommand({ ShardIterator: it, Limit: limit }));
        const records = res.Records ?? [];
        const last = records.length ? records[records.length - 1]!.SequenceNumber : after;
        if (res.NextShardIterator) this.iterators.set(key, { after: last, iterator: res.NextShardIterator, at: Date.now() });
        else this.iterators.delete(key);
        return res;
      } catch (e) {
        if ((e as Error).name !== "ExpiredIteratorException" || attempt > 0) throw e;
        it = undefined;
      }
    }
  }

  /**
   * Reads ahead between boundaries: one GetRecords for every open shard, from where the next batch
   * starts (`previous`, the state the last `allocate` returned) or from where the last read-ahead
   * stopped, and keeps the records for the next `allocate`. The next batch's blocks are still fixed at
   * its boundary, to each shard's tip, but that read then fetches only the records that came since.
   * Records read ahead of a position the next batch does not start from (another coordinator moved
   * the app on) are dropped. Errors are left to the boundary's read, which retries them.
   */
  async readAhead(stream: string, previous: unknown): Promise<void> {
    if ((this.largestBlock.get(stream) ?? 0) < READ_AHEAD_MIN_RECORDS) return;
    const prev = (previous as KinesisInputState | undefined)?.shards ?? {};
    const open = readableShards(await this.shardsOf(stream, false), prev);
    // What was read ahead of shards no longer open (closed, or gone from the list) is never taken: drop it.
    const openKeys = new Set(open.map((s) => `${stream}/${s.ShardId!}`));
    for (const key of this.readAheads.keys()) if (key.startsWith(`${stream}/`) && !openKeys.has(key)) this.readAheads.delete(key);
    let held = 0;
    for (const r of this.readAheads.values()) held += r.bytes;
    await mapLimit(open, SHARD_READ_CONCURRENCY, async (shard) => {
      const key = `${stream}/${shard.ShardId!}`;
      const after = prev[shard.ShardId!]?.last;
      let ahead = this.readAheads.get(key);
      if (!ahead || ahead.after !== after) {
        if (ahead) held -= ahead.bytes;
        ahead = { after, records: [], bytes: 0, ended: false };
        this.readAheads.set(key, ahead);
      }
      if (ahead.ended || held >= READ_AHEAD_BYTES) return;
      const from = ahead.records.length ? ahead.records[ahead.records.length - 1]!.SequenceNumber : after;
      const res = await this.getRecords(stream, shard.ShardId!, from, GET_RECORDS_LIMIT).catch(() => undefined);
      if (!res) return;
      for (const r of res.Records ?? []) {
        ahead.records.push(r);
        const bytes = r.Data?.length ?? 0;
        ahead.bytes += bytes;
        held += bytes;
      }
      if (!res.NextShardIterator) ahead.ended = true;
    });
  }

  /** Fixes the blocks of one batch for one stream, and the positions after it. */
  async allocate(stream: string, previous: unknown, options: AllocateOptions = {}): Promise<Allocation> {
    const prev = previous as KinesisInputState | undefined;
    const cap = options.maxRecordsPerShard ?? 100_000;
    let shards = await this.shardsOf(stream, false);
    const known = new Set(shards.map((s) => s.ShardId!));
    // A shard we were reading is gone from the cached list, or a closed one finished: list again.
    if (Object.keys(prev?.shards ?? {}).some((id) => !known.has(id) && !prev!.shards[id]!.finished)) shards = await this.shardsOf(stream, true);
    const state: KinesisInputState = { shards: { ...(prev?.shards ?? {}) } };
    const blocks: KinesisBlock[] = [];
    const records: (unknown[] | undefined)[] = [];
    let endedOne = false;
    // Parents sort before their children only by chance; loop until no shard becomes readable.
    let progressed = true;
    const done = new Set<string>();
    while (progressed) {
      const readable = readableShards(shards, state.shards).filter((s) => !done.has(s.ShardId!));
      progressed = readable.length > 0;
      // The shards of one pass are read at once (the batch waits for the slowest, not for their sum),
      // and their blocks are added in the list's order.
      const reads = await mapLimit(readable, SHARD_READ_CONCURRENCY, (s) =>
        this.scan(stream, s.ShardId!, state.shards[s.ShardId!]?.last, cap, options.budget),
      );
      for (const [i, shard] of readable.entries()) {
        const id = shard.ShardId!;
        done.add(id);
        const pos = state.shards[id] ?? {};
        const read = reads[i]!;
        if (read.finished) endedOne = true;
        state.shards[id] = read.last ? { last: read.last, finished: read.finished } : { ...pos, finished: read.finished };
        // Every readable shard is a partition of the batch, even when it has no new records.
        blocks.push({
          source: "kinesis",
          stream,
          shardId: id,
          ...(pos.last ? { after: pos.last } : {}),
          ...(read.last ? { endAt: read.last } : {}),
          count: read.count,
        });
        records.push(read.records);
      }
    }
    if (endedOne) this.shardLists.delete(stream); // its children may be new: list them next time
    this.largestBlock.set(stream, Math.max(0, ...blocks.map((b) => b.count ?? 0)));
    return { blocks, state, records };
  }

  /**
   * Reads a shard from after `after` to where it is now (or to the cap). Keeps the records while the
   * budget lasts; past it, only counts them (and drops what it kept, so the batch's records are all
   * read again by whoever runs it).
   */
  private async scan(
    stream: string,
    shardId: string,
    after: string | undefined,
    cap: number,
    budget: RecordBudget | undefined,
  ): Promise<{ count: number; last?: string; finished: boolean; records?: KinesisRecord[] }> {
    let count = 0;
    let last = after;
    let kept: KinesisRecord[] | undefined = budget && !budget.exhausted ? [] : undefined;
    const take = (r: _Record) => {
      count++;
      last = r.SequenceNumber;
      if (!kept) return;
      const bytes = r.Data?.length ?? 0;
      if (budget!.exhausted || budget!.records < 1 || budget!.bytes < bytes) {
        budget!.exhausted = true;
        kept = undefined;
      } else {
        budget!.records--;
        budget!.bytes -= bytes;
        kept.push(toRecord(r, stream, shardId));
      }
    };
    const end = (finished: boolean) => ({ count, ...(last !== after ? { last } : {}), finished, ...(kept ? { records: kept } : {}) });
    // Records read ahead from this very position first; what the cap leaves stays read ahead for the next batch.
    const key = `${stream}/${shardId}`;
    const ahead = this.readAheads.get(key);
    this.readAheads.delete(key);
    if (ahead && ahead.after === after && ahead.records.length) {
      const n = Math.min(cap, ahead.records.length);
      for (let i = 0; i < n; i++) take(ahead.records[i]!);
      if (n < ahead.records.length) {
        const rest = ahead.records.slice(n);
        this.readAheads.set(key, { after: last, records: rest, bytes: rest.reduce((b, r) => b + (r.Data?.length ?? 0), 0), ended: ahead.ended });
        return end(false);
      }
      if (ahead.ended) return end(true);
    }
    for (let call = 0; call < MAX_CALLS_PER_SHARD && count < cap; call++) {
      const limit = Math.min(GET_RECORDS_LIMIT, cap - count);
      const res = await this.getRecords(stream, shardId, last, limit);
      const rs = res.Records ?? [];
      for (const r of rs) take(r);
      if (!res.NextShardIterator) return end(true);
      // Caught up: the call stopped short of its limit at the shard's tip. (An empty page while
      // behind is not the end: GetRecords may return one and then more.)
      if ((res.MillisBehindLatest ?? 0) === 0 && rs.length < limit) break;
    }
    return end(false);
  }

  /** Reads exactly the records of a block. */
  async read(block: BlockDescriptor): Promise<KinesisRecord[]> {
    const b = block as KinesisBlock;
    const out: KinesisRecord[] = [];
    if (b.count === 0 || !b.endAt) return out;
    const endAt = b.endAt;
    let it = await this.iterator(b.stream, b.shardId, b.after);
    while (it && out.length < b.count) {
      const res = await this.client.send(new GetRecordsCommand({ ShardIterator: it, Limit: Math.min(GET_RECORDS_LIMIT, b.count - out.length) }));
      for (const r of res.Records ?? []) {
        if (cmpSeq(r.SequenceNumber!, endAt) > 0) break;
        out.push(toRecord(r, b.stream, b.shardId));
        if (r.SequenceNumber === endAt) return out;
      }
      it = res.NextShardIterator;
    }
    if (out.length < b.count) {
      throw new MissingDataError(
        `Kinesis block ${b.stream}/${b.shardId} after ${b.after ?? "TRIM_HORIZON"} to ${b.endAt} held ${b.count} records when it was fixed, but only ${out.length} can be read now: the records expired from the stream (its retention) before the batch could be recomputed. Raise the stream's retention, or reset the app.`,
      );
    }
    return out;
  }
}

/**
 * The shards to read now, from their positions: those not finished whose parents are finished (read to
 * their end) or gone from the list. A child shard is read only after its parents.
 */
function readableShards(shards: readonly Shard[], positions: Readonly<Record<string, ShardPosition>>): Shard[] {
  const ids = new Set(shards.map((s) => s.ShardId!));
  const finished = (id: string | undefined) => !id || !ids.has(id) || positions[id]?.finished === true;
  return shards.filter((s) => !positions[s.ShardId!]?.finished && finished(s.ParentShardId) && finished(s.AdjacentParentShardId));
}

function toRecord(r: _Record, stream: string, shardId: string): KinesisRecord {
  return {
    data: r.Data ?? new Uint8Array(),
    partitionKey: r.PartitionKey ?? "",
    sequenceNumber: r.SequenceNumber!,
    shardId,
    stream,
    arrivalMs: r.ApproximateArrivalTimestamp?.getTime(),
  };
}
