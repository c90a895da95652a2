/**
 * Kinesis as a replayable source: how the coordinator fixes each batch's
 * blocks, and how workers read exactly those records again.
 *
 * For every batch the coordinator reads each readable shard from where the
 * previous batch ended (up to a per-shard cap) and records the block as a
 * sequence-number range `(start, endAt]` with its record count. Workers read
 * the range again; a re-run of the batch reads the same records. Positions
 * after each batch travel in the batch record (`inputState`), so they are
 * durable with the batch itself.
 *
 * Shards can split and merge: a shard is read to its end (GetRecords returns
 * no next iterator) before its children are read, so no record is lost or
 * read twice across a resharding.
 */
import {
  GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand,
  type GetShardIteratorCommandInput, type Shard, type _Record,
} from "@aws-sdk/client-kinesis";
import type { BlockDescriptor, StreamSource } from "../storage/interfaces.js";

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
  /** Records in the block, when the coordinator counted them (sequence-number blocks). */
  readonly count?: number;
  /** Time-bounded blocks: read from the first record that arrived at or after this time (epoch ms)... */
  readonly fromArrival?: number;
  /** ...up to, not including, the first record that arrived at or after this time. */
  readonly arrivalBefore?: number;
}

interface ShardPosition { last?: string; at?: number; finished?: boolean }
/** What a Kinesis input stream remembers between batches. */
export interface KinesisInputState { shards: Record<string, ShardPosition> }

export interface AllocateOptions {
  /** Most records a shard contributes to one batch; the rest waits for later batches. @default 100000 */
  maxRecordsPerShard?: number;
  /**
   * Bound the blocks by arrival time instead of counting them: the batch takes
   * every record that arrived before this time (epoch ms). The coordinator
   * then reads no records at all; workers stop at the first later arrival.
   * Used with a wall clock and no per-shard cap.
   */
  arrivalBefore?: number;
}

const GET_RECORDS_LIMIT = 10_000;
/** GetRecords calls the coordinator makes per shard per batch while the shard is behind. */
const MAX_CALLS_PER_SHARD = 50;

const cmpSeq = (a: string, b: string) => { const x = BigInt(a), y = BigInt(b); return x < y ? -1 : x > y ? 1 : 0; };

export class KinesisSource implements StreamSource {
  readonly name = "kinesis";
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

  private async iterator(stream: string, shardId: string, after: string | undefined): Promise<string | undefined> {
    const input: GetShardIteratorCommandInput = after
      ? { StreamName: stream, ShardId: shardId, ShardIteratorType: "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber: after }
      : { StreamName: stream, ShardId: shardId, ShardIteratorType: "TRIM_HORIZON" };
    return (await this.client.send(new GetShardIteratorCommand(input))).ShardIterator;
  }

  /** Fixes the blocks of one batch for one stream, and the positions after it. */
  async allocate(stream: string, previous: KinesisInputState | undefined, options: AllocateOptions = {}): Promise<{ blocks: KinesisBlock[]; state: KinesisInputState }> {
    if (options.arrivalBefore !== undefined) return this.allocateByArrival(stream, previous, options.arrivalBefore);
    const cap = options.maxRecordsPerShard ?? 100_000;
    const shards = await this.listShards(stream);
    const known = new Set(shards.map((s) => s.ShardId!));
    const state: KinesisInputState = { shards: { ...(previous?.shards ?? {}) } };
    const blocks: KinesisBlock[] = [];
    const finished = (id: string | undefined) => !id || !known.has(id) || state.shards[id]?.finished === true;
    // Parents sort before their children only by chance; loop until no shard becomes readable.
    let progressed = true;
    const done = new Set<string>();
    while (progressed) {
      progressed = false;
      for (const shard of shards) {
        const id = shard.ShardId!;
        if (done.has(id) || state.shards[id]?.finished) continue;
        // A child shard is read only after its parents are read to their end.
        if (!finished(shard.ParentShardId) || !finished(shard.AdjacentParentShardId)) continue;
        done.add(id);
        progressed = true;
        const pos = state.shards[id] ?? {};
        const read = await this.scan(stream, id, pos, cap);
        state.shards[id] = read.last ? { last: read.last, finished: read.finished } : { ...pos, finished: read.finished };
        // Every readable shard is a partition of the batch, even when it has no new records, so a
        // batch has as many partitions as the stream has open shards (as the in-memory engine has slices).
        blocks.push({ source: "kinesis", stream, shardId: id, ...startOf(pos), ...(read.last ? { endAt: read.last } : {}), count: read.count });
      }
    }
    return { blocks, state };
  }

  /**
   * Time-bounded blocks: each readable shard's block is "from the previous
   * bound, up to records that arrived before `arrivalBefore`". Records of a
   * child shard all arrived after the split, so across batches they never come
   * before their parent's records; a closed shard is dropped once nothing in it
   * arrived at or after the bound.
   */
  private async allocateByArrival(stream: string, previous: KinesisInputState | undefined, arrivalBefore: number): Promise<{ blocks: KinesisBlock[]; state: KinesisInputState }> {
    const shards = await this.listShards(stream);
    const state: KinesisInputState = { shards: { ...(previous?.shards ?? {}) } };
    const blocks: KinesisBlock[] = [];
    for (const shard of shards) {
      const id = shard.ShardId!;
      const pos = state.shards[id] ?? {};
      if (pos.finished) continue;
      blocks.push({ source: "kinesis", stream, shardId: id, ...startOf(pos), arrivalBefore });
      let finished = false;
      if (shard.SequenceNumberRange?.EndingSequenceNumber) {
        const it = await this.iteratorAt(stream, id, { at: arrivalBefore });
        const res = it ? await this.client.send(new GetRecordsCommand({ ShardIterator: it, Limit: 1 })) : undefined;
        finished = !res || ((res.Records ?? []).length === 0 && !res.NextShardIterator);
      }
      state.shards[id] = { at: arrivalBefore, finished };
    }
    return { blocks, state };
  }

  private async iteratorAt(stream: string, shardId: string, pos: ShardPosition): Promise<string | undefined> {
    if (pos.last) return this.iterator(stream, shardId, pos.last);
    if (pos.at !== undefined) {
      return (await this.client.send(new GetShardIteratorCommand({
        StreamName: stream, ShardId: shardId, ShardIteratorType: "AT_TIMESTAMP", Timestamp: new Date(pos.at),
      }))).ShardIterator;
    }
    return this.iterator(stream, shardId, undefined);
  }

  /** Reads a shard from a position to where it is now (or to the cap), keeping only the count and the last sequence number. */
  private async scan(stream: string, shardId: string, from: ShardPosition, cap: number): Promise<{ count: number; last?: string; finished: boolean }> {
    let it = await this.iteratorAt(stream, shardId, from);
    let count = 0;
    let last: string | undefined;
    for (let call = 0; it && call < MAX_CALLS_PER_SHARD && count < cap; call++) {
      const res = await this.client.send(new GetRecordsCommand({ ShardIterator: it, Limit: Math.min(GET_RECORDS_LIMIT, cap - count) }));
      const records = res.Records ?? [];
      count += records.length;
      if (records.length) last = records[records.length - 1]!.SequenceNumber;
      if (!res.NextShardIterator) return { count, last, finished: true };
      it = res.NextShardIterator;
      if (records.length === 0 && (res.MillisBehindLatest ?? 0) === 0) break;
    }
    return { count, last, finished: false };
  }

  /** Reads a time-bounded block: from its start to the first record that arrived at or after its bound. */
  private async readByArrival(b: KinesisBlock): Promise<KinesisRecord[]> {
    const out: KinesisRecord[] = [];
    const bound = b.arrivalBefore!;
    let it = await this.iteratorAt(b.stream, b.shardId, { last: b.after, at: b.fromArrival });
    for (let empty = 0; it && empty < MAX_CALLS_PER_SHARD; ) {
      const res = await this.client.send(new GetRecordsCommand({ ShardIterator: it, Limit: GET_RECORDS_LIMIT }));
      const records = res.Records ?? [];
      for (const r of records) {
        if ((r.ApproximateArrivalTimestamp?.getTime() ?? 0) >= bound) return out;
        out.push(toRecord(r, b));
      }
      it = res.NextShardIterator;
      if (records.length === 0) {
        // Caught up: every record that arrived before the bound is visible by now (the bound lies in the past).
        if ((res.MillisBehindLatest ?? 0) === 0) return out;
        empty++;
      }
    }
    return out;
  }

  /** Reads exactly the records of a block. */
  async read(block: BlockDescriptor): Promise<KinesisRecord[]> {
    const b = block as KinesisBlock;
    if (b.arrivalBefore !== undefined) return this.readByArrival(b);
    const out: KinesisRecord[] = [];
    if (b.count === 0 || !b.endAt) return out;
    const endAt = b.endAt;
    const count = b.count ?? Infinity;
    let it = await this.iteratorAt(b.stream, b.shardId, { last: b.after, at: b.fromArrival });
    while (it && out.length < count) {
      const res = await this.client.send(new GetRecordsCommand({ ShardIterator: it, Limit: Math.min(GET_RECORDS_LIMIT, count - out.length) }));
      for (const r of res.Records ?? []) {
        if (cmpSeq(r.SequenceNumber!, endAt) > 0) return out;
        out.push(toRecord(r, b));
        if (r.SequenceNumber === endAt) return out;
      }
      it = res.NextShardIterator;
    }
    if (out.length < count) {
      throw new Error(`Kinesis block ${b.stream}/${b.shardId} after ${b.after ?? "TRIM_HORIZON"} to ${b.endAt} held ${b.count} records when fixed, but only ${out.length} can be read now: the records have expired from the stream (retention) before the batch ran.`);
    }
    return out;
  }
}

/** Where a block starts, from the position the previous batch left. */
function startOf(pos: ShardPosition): { after?: string; fromArrival?: number } {
  if (pos.last) return { after: pos.last };
  if (pos.at !== undefined) return { fromArrival: pos.at };
  return {};
}

function toRecord(r: _Record, b: KinesisBlock): KinesisRecord {
  return {
    data: r.Data ?? new Uint8Array(),
    partitionKey: r.PartitionKey ?? "",
    sequenceNumber: r.SequenceNumber!,
    shardId: b.shardId,
    stream: b.stream,
    arrivalMs: r.ApproximateArrivalTimestamp?.getTime(),
  };
}
