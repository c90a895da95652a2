/**
 * The coordinator's memory, as Spark's BlockManager is an executor's: the
 * results of persisted streams (state, window inputs, `persist()`), kept for
 * as long as a later batch may read them, and the map output of the batch
 * running now. Nothing here is durable: what survives a process is the
 * batch log, the checkpoints and the replayable input, from which anything
 * missing here is recomputed (see the planner).
 *
 * Also the two shuffle stores a task reads from: the coordinator's
 * (`MemoryShuffles`, filled by local map tasks and by workers' results) and
 * a worker's (`TaskShuffles`, the inputs its task message carries).
 */
import { decode } from "../core/codec.js";
import { MissingDataError } from "../core/errors.js";
import type { BlobSlice, BlobStore, ShuffleInput } from "../storage/interfaces.js";

/** How a stored result of a stream at a time is partitioned, and where it came from. */
export interface StoredInfo {
  readonly partitions: number;
  /** Set when the stored data is hash-partitioned by key into this many partitions. */
  readonly hashPartitions?: number;
  /** "checkpoint": loaded from a checkpoint, holding the state but not a mapWithState's mapped elements. */
  readonly origin: "computed" | "checkpoint";
}

interface Entry {
  info: StoredInfo;
  parts: unknown[];
  filled: Set<number>;
}

export class BlockCache {
  private readonly data = new Map<string, Map<number, Entry>>();

  private entry(streamId: string, time: number): Entry | undefined {
    return this.data.get(streamId)?.get(time);
  }

  /** The stream's stored result at `time`, once every partition of it is stored. */
  info(streamId: string, time: number): StoredInfo | undefined {
    const e = this.entry(streamId, time);
    return e && e.filled.size >= e.info.partitions ? e.info : undefined;
  }
  /** Announces a result about to be stored (a materialize stage was planned for it). */
  expect(streamId: string, time: number, info: StoredInfo): void {
    const e = this.entry(streamId, time);
    if (e && e.info.partitions === info.partitions) return;
    let byTime = this.data.get(streamId);
    if (!byTime) this.data.set(streamId, (byTime = new Map()));
    byTime.set(time, { info, parts: [], filled: new Set() });
  }
  has(streamId: string, time: number, partition: number): boolean {
    return this.entry(streamId, time)?.filled.has(partition) ?? false;
  }
  put(streamId: string, time: number, partition: number, value: unknown): void {
    const e = this.entry(streamId, time);
    if (!e) throw new MissingDataError(`No stored result of ${streamId} at ${time} ms was expected; plan its materialize stage first.`);
    e.parts[partition] = value;
    e.filled.add(partition);
  }
  get(streamId: string, time: number, partition: number): unknown {
    const e = this.entry(streamId, time);
    if (!e?.filled.has(partition)) {
      throw new MissingDataError(
        `Partition ${partition} of ${streamId} at ${time} ms is not in the coordinator's memory; the batch that needs it must recompute it.`,
      );
    }
    return e.parts[partition];
  }
  /** Moves a stored partition to another time (mapWithState advancing its state in place). */
  delete(streamId: string, time: number): void {
    this.data.get(streamId)?.delete(time);
  }
  /** Drops a stream's results older than `time`. */
  evictBefore(streamId: string, time: number): void {
    const byTime = this.data.get(streamId);
    if (!byTime) return;
    for (const t of byTime.keys()) if (t < time) byTime.delete(t);
  }
  /** The times a stream has complete results for, ascending. */
  times(streamId: string): number[] {
    return [...(this.data.get(streamId)?.keys() ?? [])].filter((t) => this.info(streamId, t)).sort((a, b) => a - b);
  }
  clear(): void {
    this.data.clear();
  }
  /** (stream, time) pairs held, for tests and the memory figures of the benchmark. */
  get size(): number {
    let n = 0;
    for (const m of this.data.values()) n += m.size;
    return n;
  }
}

/** Where a reduce task finds its map outputs. */
export interface ShuffleStore {
  /** The chunks for one reduce partition, one per map partition, in map-partition order. */
  read(batchTime: number, shuffleId: string, reducePartition: number, numMapPartitions: number): Promise<unknown[][]>;
  write(batchTime: number, shuffleId: string, mapPartition: number, buckets: unknown[][]): Promise<void>;
}

/** The coordinator's map outputs of the running batch, written by local map tasks and by workers' results. */
export class MemoryShuffles implements ShuffleStore {
  private readonly data = new Map<string, unknown[][]>();
  private readonly remote = new Map<string, { blob: string; offsets: readonly number[] }>();
  constructor(private readonly blobs?: BlobStore) {}
  async write(batchTime: number, shuffleId: string, mapPartition: number, buckets: unknown[][]): Promise<void> {
    this.data.set(`${batchTime}/${shuffleId}/${mapPartition}`, buckets);
  }
  /** A worker's map output left in a blob (too large to travel inline): read on demand, by byte range. */
  writeRemote(batchTime: number, shuffleId: string, mapPartition: number, blob: string, offsets: readonly number[]): void {
    this.remote.set(`${batchTime}/${shuffleId}/${mapPartition}`, { blob, offsets });
  }
  /** Whether map partition `m` of a shuffle has output here. */
  has(batchTime: number, shuffleId: string, m: number): boolean {
    const k = `${batchTime}/${shuffleId}/${m}`;
    return this.data.has(k) || this.remote.has(k);
  }
  /** What a worker's reduce task needs: the chunks inline, or slices of the map outputs' blobs. */
  inputFor(batchTime: number, shuffleId: string, reducePartition: number, numMapPartitions: number): ShuffleInput {
    const parts: (unknown[] | BlobSlice)[] = [];
    for (let m = 0; m < numMapPartitions; m++) {
      const r = this.remote.get(`${batchTime}/${shuffleId}/${m}`);
      parts.push(
        r
          ? { key: r.blob, start: r.offsets[reducePartition]!, end: r.offsets[reducePartition + 1]! }
          : (this.local(batchTime, shuffleId, m)[reducePartition] ?? []),
      );
    }
    return { parts };
  }
  private local(batchTime: number, shuffleId: string, m: number): unknown[][] {
    const b = this.data.get(`${batchTime}/${shuffleId}/${m}`);
    if (!b) throw new MissingDataError(`Shuffle output missing: batch ${batchTime}, shuffle ${shuffleId}, map partition ${m}.`);
    return b;
  }
  async read(batchTime: number, shuffleId: string, reducePartition: number, numMapPartitions: number): Promise<unknown[][]> {
    const out: unknown[][] = [];
    for (let m = 0; m < numMapPartitions; m++) {
      const r = this.remote.get(`${batchTime}/${shuffleId}/${m}`);
      if (r) out.push(await readSlice(this.blobs, { key: r.blob, start: r.offsets[reducePartition]!, end: r.offsets[reducePartition + 1]! }));
      else out.push(this.local(batchTime, shuffleId, m)[reducePartition] ?? []);
    }
    return out;
  }
  /** Drops a batch's map outputs (its shuffles are read only within the batch). */
  deleteBatch(batchTime: number): void {
    const prefix = `${batchTime}/`;
    for (const k of this.data.keys()) if (k.startsWith(prefix)) this.data.delete(k);
    for (const k of this.remote.keys()) if (k.startsWith(prefix)) this.remote.delete(k);
  }
}

async function readSlice(blobs: BlobStore | undefined, s: { key: string; start: number; end: number }): Promise<unknown[]> {
  if (s.end <= s.start) return [];
  if (!blobs) throw new MissingDataError(`Shuffle data in blob ${s.key} but no blob store is configured.`);
  return decode<unknown[]>(Buffer.from(await blobs.get(s.key, [s.start, s.end])).toString("utf8"));
}

/** A task message's key for the data of reduce partition `partition` of shuffle `shuffleId` (a task may read several of one shuffle: a union, a coalesce). */
export const shuffleInputKey = (shuffleId: string, partition: number): string => `${shuffleId}#${partition}`;

/** A worker's shuffle reads: the inputs its task message carries, by shuffle id and reduce partition. */
export class TaskShuffles implements ShuffleStore {
  constructor(
    private readonly inputs: Readonly<Record<string, ShuffleInput>>,
    private readonly blobs: BlobStore,
  ) {}
  async read(batchTime: number, shuffleId: string, reducePartition: number, numMapPartitions: number): Promise<unknown[][]> {
    const input = this.inputs[shuffleInputKey(shuffleId, reducePartition)];
    if (!input) {
      throw new MissingDataError(`The task message carries no input for partition ${reducePartition} of shuffle ${shuffleId} of batch ${batchTime}.`);
    }
    if (input.parts.length !== numMapPartitions) {
      throw new MissingDataError(
        `The task message carries ${input.parts.length} map outputs for shuffle ${shuffleId} of batch ${batchTime}; the plan has ${numMapPartitions}.`,
      );
    }
    return Promise.all(input.parts.map((p) => (Array.isArray(p) ? p : readSlice(this.blobs, p))));
  }
  async write(): Promise<void> {
    throw new MissingDataError("A worker task does not keep map output locally; it returns it in its result.");
  }
}
