/**
 * Checkpoints of the coordinator's state, as Spark's data checkpoints and
 * Flink's incremental snapshots: every stream that reads its own past
 * (updateStateByKey, mapWithState, reduceByKeyAndWindow with an inverse)
 * or was given `checkpoint(interval)` is written to the checkpoint store
 * every interval (and at a hand-over), and read back only when a
 * coordinator starts cold.
 *
 * A checkpoint of a stream is a **delta**, the keys changed or removed since
 * its previous checkpoint, or now and then a **full** copy: when the chain of
 * deltas since the last full copy grows past twice its size, past
 * `maxChain` links, or older than `fullEveryMs`. Recovery reads the full copy
 * and applies the deltas in order, so it reads at most about three times
 * the state.
 *
 * Protocol (each step proved in test/checkpoint): pages are written under a
 * key unique to this writer, then the manifest, conditionally; a crash
 * between leaves pages no manifest names, which the store's TTL removes. The
 * keys changed since the last checkpoint are forgotten only once the
 * manifest is committed, so a failed checkpoint is retried whole.
 */
import { randomUUID } from "node:crypto";
import type { Clock } from "../core/clock.js";
import { encode } from "../core/codec.js";
import { IllegalStateError, MissingDataError } from "../core/errors.js";
import { keyId, type KeyId } from "../core/keys.js";
import type { DStream } from "../dstream/dstream.js";
import type { BlockCache, StoredInfo } from "../scheduler/block-manager.js";
import { StateMap, type MappedWithState } from "../state/state-map.js";
import type { CheckpointManifest, CheckpointStore, StateEntry, StreamCheckpoint } from "../storage/interfaces.js";
import { PAGE_CODEC, packPages, unpackPages, type Section } from "./pages.js";

export interface CheckpointerOptions {
  /** Deltas after a full copy before the next full copy. @default 30 */
  maxChain?: number;
  /** A full copy at least this often (wall clock), so a chain never outlives the store's TTL. @default 12 h */
  fullEveryMs?: number;
}

/** Another coordinator committed a checkpoint or a batch record this one was about to: it no longer leads the app. */
export class LeadershipLostError extends IllegalStateError {}

/** What a checkpoint wrote, for metrics and the benchmark. */
export interface CheckpointStats {
  readonly time: number;
  readonly streams: number;
  readonly pages: number;
  readonly bytes: number;
  readonly entries: number;
  readonly full: number;
}

interface StreamMemory {
  latest: StreamCheckpoint;
  /** Pair streams: each key's encoded value as the latest checkpoint holds it, per partition. */
  tracker?: Map<number, Map<KeyId, [unknown, string]>>;
}

export class Checkpointer {
  private readonly memory = new Map<string, StreamMemory>();
  private index: Promise<Map<string, Map<number, StreamCheckpoint>>> | undefined;
  private readonly maxChain: number;
  private readonly fullEveryMs: number;
  /** The latest manifest this process knows of: the next one names every stream's latest checkpoint. */
  private lastManifest: CheckpointManifest | undefined;

  constructor(
    private readonly streams: readonly DStream<unknown>[],
    private readonly zeroTime: number,
    private readonly store: CheckpointStore,
    private readonly cache: BlockCache,
    private readonly writer: string,
    private readonly clock: Clock,
    options: CheckpointerOptions = {},
  ) {
    this.maxChain = options.maxChain ?? 30;
    this.fullEveryMs = options.fullEveryMs ?? 12 * 3600_000;
  }

  /** Whether any stream's checkpoint is due after batch `time`. */
  due(time: number): boolean {
    return time > this.zeroTime && this.streams.some((s) => (time - this.zeroTime) % s.checkpointInterval!.milliseconds === 0);
  }

  /** The latest manifest time this process knows (written or read). */
  get latestTime(): number | undefined {
    return this.lastManifest?.time;
  }

  /**
   * Checkpoints after batch `time`: the streams due then, or every stream (`all`, a hand-over).
   * Returns undefined when there was nothing to write.
   */
  async write(time: number, all: boolean): Promise<CheckpointStats | undefined> {
    if (this.lastManifest && this.lastManifest.time >= time) return undefined;
    await this.loadIndex();
    const written: Record<string, { entry: StreamCheckpoint; commit: () => void }> = {};
    let pages = 0;
    let bytes = 0;
    let entries = 0;
    let full = 0;
    for (const s of this.streams) {
      const streamTime = time - ((time - this.zeroTime) % s.slideDuration.milliseconds);
      if (streamTime <= this.zeroTime) continue;
      const dueNow = (time - this.zeroTime) % s.checkpointInterval!.milliseconds === 0 && streamTime === time;
      if (!all && !dueNow) continue;
      const mem = this.memory.get(s.id);
      if (mem && mem.latest.time >= streamTime) continue;
      const info = this.cache.info(s.id, streamTime);
      if (!info) continue; // not computed in this process (nothing new to save)
      const w = await this.writeStream(s, streamTime, info, mem);
      written[s.id] = w;
      pages += w.entry.pages;
      bytes += w.entry.bytes;
      entries += w.entry.entries;
      if (w.entry.kind === "full") full++;
    }
    if (Object.keys(written).length === 0) return undefined;
    const streams: Record<string, StreamCheckpoint> = {};
    for (const [id, m] of this.memory) streams[id] = m.latest;
    for (const [id, w] of Object.entries(written)) streams[id] = w.entry;
    const manifest: CheckpointManifest = { time, writer: this.writer, createdAt: this.clock.now(), streams };
    if (!(await this.store.commit(manifest))) {
      const other = await this.store.latest(time);
      if (other?.time === time && other.writer === this.writer) {
        // Our own commit, whose response was lost and retried.
      } else {
        throw new LeadershipLostError(`Another coordinator committed a checkpoint after batch ${time}: this one no longer leads the app and stops.`);
      }
    }
    for (const w of Object.values(written)) w.commit();
    this.lastManifest = manifest;
    return { time, streams: Object.keys(written).length, pages, bytes, entries, full };
  }

  private async writeStream(
    s: DStream<unknown>,
    time: number,
    info: StoredInfo,
    mem: StreamMemory | undefined,
  ): Promise<{ entry: StreamCheckpoint; commit: () => void }> {
    const values = Array.from({ length: info.partitions }, (_, p) => this.cache.get(s.id, time, p));
    const form = s.spec.storedForm;
    const prev = mem?.latest;
    const now = this.clock.now();
    const wantFull = !prev || prev.chainLength >= this.maxChain || now - prev.fullWrittenAt >= this.fullEveryMs;
    let sections: Section[];
    let kind: "full" | "delta";
    let commit: () => void;
    if (form === "state" || form === "mapped-state") {
      const maps = values.map((v) => (form === "state" ? (v as StateMap) : (v as MappedWithState).state));
      if (maps.some((m) => !(m instanceof StateMap)))
        throw new MissingDataError(`The state of ${s} at ${time} ms is not in memory: it cannot be checkpointed.`);
      const withTimes = form === "mapped-state";
      const delta = wantFull ? undefined : maps.map((m, p) => stateDelta(m, p, withTimes));
      kind = delta && !tooLong(prev!, delta) ? "delta" : "full";
      sections = kind === "delta" ? delta! : maps.map((m, p) => stateFull(m, p, withTimes));
      commit = () => {
        for (const m of maps) m.dirty = new Map();
      };
    } else if (s.partitioner) {
      const tracker = mem?.tracker;
      const current = values.map((v) => encodePairs(v as unknown[]));
      const delta = wantFull || !tracker ? undefined : current.map((c, p) => pairsDelta(c, tracker.get(p) ?? new Map(), p));
      kind = delta && !tooLong(prev!, delta) ? "delta" : "full";
      sections =
        kind === "delta"
          ? delta!
          : current.map((c, p) => ({ partition: p, keys: [...c.values()].map((e) => e[0]), values: [...c.values()].map((e) => e[2]), removes: [] }));
      commit = () => {
        this.memory.get(s.id)!.tracker = new Map(
          current.map((c, p) => [p, new Map([...c].map(([id, [k, enc]]) => [id, [k, enc] as [unknown, string]]))]),
        );
      };
    } else {
      kind = "full";
      sections = values.map((v, p) => ({ partition: p, items: v as unknown[] }));
      commit = () => undefined;
    }
    const pages = packPages(sections);
    const key = `${encodeURIComponent(s.id)}/${time}/${this.writer}/${randomUUID().slice(0, 8)}`;
    await this.store.writePages(key, pages);
    const bytes = pages.reduce((n, p) => n + p.length, 0);
    const full = kind === "full";
    const entry: StreamCheckpoint = {
      time,
      kind,
      ...(full ? {} : { base: prev!.time }),
      fullAt: full ? time : prev!.fullAt,
      key,
      pages: pages.length,
      codec: PAGE_CODEC,
      partitions: info.partitions,
      ...(info.hashPartitions ? { hashPartitions: info.hashPartitions } : {}),
      entries: sections.reduce((n, x) => n + ("items" in x ? x.items.length : x.keys.length + x.removes.length), 0),
      bytes,
      fullBytes: full ? bytes : prev!.fullBytes,
      chainBytes: full ? bytes : prev!.chainBytes + bytes,
      chainLength: full ? 0 : prev!.chainLength + 1,
      fullWrittenAt: full ? now : prev!.fullWrittenAt,
    };
    return {
      entry,
      commit: () => {
        const m = this.memory.get(s.id);
        if (m) m.latest = entry;
        else this.memory.set(s.id, { latest: entry });
        commit();
      },
    };
  }

  // ---- recovery --------------------------------------------------------------------------

  /** Reads the latest manifest and the chains it names, once: where recovery may start from. */
  private loadIndex(): Promise<Map<string, Map<number, StreamCheckpoint>>> {
    this.index ??= (async () => {
      const index = new Map<string, Map<number, StreamCheckpoint>>();
      const latest = await this.store.latest();
      // A manifest at or before the zero time belongs to an earlier run of the app on the same engine.
      if (!latest || latest.time <= this.zeroTime) return index;
      this.lastManifest ??= latest;
      const from = Math.min(...Object.values(latest.streams).map((e) => e.fullAt));
      for (const m of await this.store.between(from, latest.time)) {
        for (const [id, e] of Object.entries(m.streams)) {
          let byTime = index.get(id);
          if (!byTime) index.set(id, (byTime = new Map()));
          byTime.set(e.time, e);
        }
      }
      for (const [id, e] of Object.entries(latest.streams)) {
        if (!this.memory.has(id)) this.memory.set(id, { latest: e });
      }
      return index;
    })();
    this.index.catch(() => {
      this.index = undefined;
    });
    return this.index;
  }

  /**
   * Loads `stream`'s result at `time` into memory from the checkpoints, if one holds it: the chain's
   * full copy, then its deltas in order. Undefined when no checkpoint has that time.
   */
  async recover(stream: DStream<unknown>, time: number): Promise<StoredInfo | undefined> {
    const entry = (await this.loadIndex()).get(stream.id)?.get(time);
    if (!entry) return undefined;
    const chain: StreamCheckpoint[] = [];
    const byTime = (await this.loadIndex()).get(stream.id)!;
    for (let e: StreamCheckpoint | undefined = entry; e; e = e.kind === "delta" ? byTime.get(e.base!) : undefined) {
      chain.unshift(e);
      if (e.kind === "delta" && !byTime.has(e.base!)) {
        throw new MissingDataError(
          `The checkpoint chain of ${stream} is broken: the delta at ${e.time} ms applies to ${e.base} ms, which no manifest names.`,
        );
      }
    }
    const form = stream.spec.storedForm;
    const parts = Array.from({ length: entry.partitions }, () => new Map<KeyId, [unknown, unknown, number | undefined]>());
    const lists: unknown[][] = Array.from({ length: entry.partitions }, () => []);
    for (const e of chain) {
      for (const s of unpackPages(await this.store.readPages(e.key, e.pages), e.codec ?? "deflate-raw")) {
        if ("items" in s) {
          lists[s.partition]!.push(...s.items);
          continue;
        }
        const m = parts[s.partition]!;
        if (e.kind === "full" && s.keys.length === 0 && s.removes.length === 0) continue;
        s.keys.forEach((k, i) => m.set(keyId(k), [k, s.values[i], s.updated?.[i]]));
        for (const k of s.removes) m.delete(keyId(k));
      }
    }
    const info: StoredInfo = {
      partitions: entry.partitions,
      ...(entry.hashPartitions ? { hashPartitions: entry.hashPartitions } : {}),
      origin: "checkpoint",
    };
    this.cache.expect(stream.id, time, info);
    for (let p = 0; p < entry.partitions; p++) {
      const m = parts[p]!;
      let value: unknown;
      if (form === "state" || form === "mapped-state") {
        const entries = new Map<KeyId, StateEntry>();
        for (const [id, [k, v, u]] of m) entries.set(id, { key: k, value: v, updatedAt: u ?? time });
        const state = new StateMap(entries, new Map(), time);
        value = form === "state" ? state : ({ mapped: undefined, state } as unknown as MappedWithState);
      } else if (stream.partitioner) {
        value = [...m.values()].map(([k, v]) => [k, v]);
      } else {
        value = lists[p];
      }
      this.cache.put(stream.id, time, p, value);
    }
    const mem = this.memory.get(stream.id);
    if (mem && mem.latest.time === time && stream.partitioner && form === undefined) {
      mem.tracker = new Map(parts.map((m, p) => [p, new Map([...m].map(([id, [k, v]]) => [id, [k, encode(v)] as [unknown, string]]))]));
    }
    return info;
  }

  /** Forgets what this process knew of the store (a coordinator that lost its memory). */
  reset(): void {
    this.memory.clear();
    this.index = undefined;
    this.lastManifest = undefined;
  }
}

/** Whether a delta would make the chain worth replacing by a full copy: more than twice the full copy's bytes. */
function tooLong(prev: StreamCheckpoint, delta: Section[]): boolean {
  let n = 0;
  for (const s of delta) n += "items" in s ? s.items.length : s.keys.length + s.removes.length;
  // An estimate before compressing: ~12 bytes an entry, against the chain's compressed bytes.
  return prev.chainBytes + n * 12 > 2 * Math.max(prev.fullBytes, 1024);
}

function stateFull(m: StateMap, partition: number, withTimes: boolean): Section {
  const keys: unknown[] = [];
  const values: unknown[] = [];
  const updated: number[] = [];
  for (const e of m.entries.values()) {
    keys.push(e.key);
    values.push(e.value);
    updated.push(e.updatedAt);
  }
  return { partition, keys, values, ...(withTimes ? { updated } : {}), removes: [] };
}

function stateDelta(m: StateMap, partition: number, withTimes: boolean): Section {
  const keys: unknown[] = [];
  const values: unknown[] = [];
  const updated: number[] = [];
  const removes: unknown[] = [];
  for (const [id, key] of m.dirty) {
    const e = m.entries.get(id);
    if (e) {
      keys.push(e.key);
      values.push(e.value);
      updated.push(e.updatedAt);
    } else removes.push(key);
  }
  return { partition, keys, values, ...(withTimes ? { updated } : {}), removes };
}

/** A pair partition by key identity: the key, its value's encoding (to compare with the last checkpoint) and the value. */
type EncodedPairs = Map<KeyId, [key: unknown, encoded: string, value: unknown]>;

function encodePairs(items: unknown[]): EncodedPairs {
  const out: EncodedPairs = new Map();
  for (const kv of items) {
    const [k, v] = kv as [unknown, unknown];
    out.set(keyId(k), [k, encode(v), v]);
  }
  return out;
}

function pairsDelta(current: EncodedPairs, before: Map<KeyId, [unknown, string]>, partition: number): Section {
  const keys: unknown[] = [];
  const values: unknown[] = [];
  const removes: unknown[] = [];
  for (const [id, [k, enc, v]] of current) {
    if (before.get(id)?.[1] !== enc) {
      keys.push(k);
      values.push(v);
    }
  }
  for (const [id, [k]] of before) if (!current.has(id)) removes.push(k);
  return { partition, keys, values, removes };
}
