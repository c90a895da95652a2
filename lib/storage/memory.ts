/**
 * In-process twins of the storage and transport interfaces.
 *
 * They keep the contracts of the DynamoDB, SQS and S3 adapters (conditional
 * batch records and manifests, versioned per-key state, at-least-once
 * queues with visibility timeouts on the injected clock, claims with
 * leases), so the one runtime behaves the same over either; they keep
 * everything in maps.
 */
import { SystemClock, type Clock } from "../core/clock.js";
import { MissingDataError } from "../core/errors.js";
import { keyId, type KeyId } from "../core/keys.js";
import { recordAt, withCompletions } from "./batch-log.js";
import type {
  AppInfo,
  BatchLog,
  BatchRecord,
  BatchStatus,
  BlobStore,
  BlockDescriptor,
  CheckpointManifest,
  CheckpointStore,
  ClaimState,
  EngineServices,
  LeaseStore,
  MessageQueue,
  ObjectStore,
  QuarantinedRecord,
  QuarantineEntry,
  QuarantineStore,
  Received,
  ResultQueue,
  StateEntry,
  StateStore,
  StreamSource,
  TaskClaims,
  TaskKey,
  TaskMessage,
  TaskQueue,
  TaskResult,
} from "./interfaces.js";
import { taskStageKey } from "./interfaces.js";
import { keptError, QUARANTINE_HEAD_BYTES, refused } from "./quarantine.js";
import { FileStreamSource, S3_FILES } from "../sources/s3/file-source.js";
import { MemoryObjects } from "../sources/s3/memory-objects.js";

export class MemoryBatchLog implements BatchLog {
  private readonly batches = new Map<number, BatchRecord>();
  private app: AppInfo | undefined;
  private readonly listeners = new Set<(record: BatchRecord) => void>();

  /** Called after every change to a batch record; used by tests that watch the log. */
  onChange(listener: (record: BatchRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  private emit(record: BatchRecord): void {
    for (const l of [...this.listeners]) l(structuredClone(record));
  }
  async getApp(): Promise<AppInfo | undefined> {
    return this.app && structuredClone(this.app);
  }
  async createApp(info: AppInfo): Promise<AppInfo> {
    this.app ??= structuredClone(info);
    return structuredClone(this.app);
  }
  async updateApp(info: AppInfo): Promise<void> {
    this.app = structuredClone(info);
  }

  async createBatch(record: BatchRecord): Promise<boolean> {
    if (this.batches.has(record.time)) return false;
    this.batches.set(record.time, structuredClone(record));
    this.emit(record);
    return true;
  }
  private sorted(): BatchRecord[] {
    return [...this.batches.values()].sort((a, b) => a.time - b.time);
  }
  private firstAtOrAfter(time: number): BatchRecord | undefined {
    let best: BatchRecord | undefined;
    for (const b of this.batches.values()) if (b.time >= time && (!best || b.time < best.time)) best = b;
    return best;
  }
  async getBatch(time: number): Promise<BatchRecord | undefined> {
    const r = this.firstAtOrAfter(time);
    const next = r && this.firstAtOrAfter(r.time + 1);
    const [resolved] = r ? withCompletions([r], next) : [];
    return structuredClone(recordAt(time, resolved));
  }
  async updateBatch(time: number, expected: BatchStatus, patch: Partial<BatchRecord>): Promise<boolean> {
    const r = this.batches.get(time);
    if (!r || r.status !== expected) return false;
    Object.assign(r, structuredClone(patch));
    this.emit(r);
    return true;
  }
  async latestBatch(beforeTime = Infinity): Promise<BatchRecord | undefined> {
    const all = this.sorted().filter((b) => b.time < beforeTime);
    const last = all[all.length - 1];
    if (!last) return undefined;
    return structuredClone(withCompletions([last], this.firstAtOrAfter(last.time + 1))[0]);
  }
  async listBatches(options: { fromTime?: number; limit?: number } = {}): Promise<BatchRecord[]> {
    const all = this.sorted();
    const from = all.filter((b) => options.fromTime === undefined || b.time >= options.fromTime);
    const out = options.limit === undefined ? from : from.slice(0, options.limit);
    const next = out.length ? this.firstAtOrAfter(out[out.length - 1]!.time + 1) : undefined;
    return structuredClone(withCompletions(out, next));
  }
  /** Every stored record (tests). */
  get size(): number {
    return this.batches.size;
  }
}

export class MemoryCheckpointStore implements CheckpointStore {
  private readonly pages = new Map<string, Uint8Array[]>();
  private readonly manifests = new Map<number, CheckpointManifest>();
  async writePages(key: string, pages: readonly Uint8Array[]): Promise<void> {
    this.pages.set(
      key,
      pages.map((p) => p.slice()),
    );
  }
  async readPages(key: string, count: number): Promise<Uint8Array[]> {
    const p = this.pages.get(key);
    if (!p || p.length < count) throw new MissingDataError(`Checkpoint pages ${key} are missing (${p?.length ?? 0} of ${count}).`);
    return p.slice(0, count);
  }
  async commit(manifest: CheckpointManifest): Promise<boolean> {
    if (this.manifests.has(manifest.time)) return false;
    this.manifests.set(manifest.time, structuredClone(manifest));
    return true;
  }
  async latest(atOrBefore = Infinity): Promise<CheckpointManifest | undefined> {
    let best: CheckpointManifest | undefined;
    for (const m of this.manifests.values()) if (m.time <= atOrBefore && (!best || m.time > best.time)) best = m;
    return best && structuredClone(best);
  }
  async between(from: number, to: number): Promise<CheckpointManifest[]> {
    return structuredClone([...this.manifests.values()].filter((m) => m.time >= from && m.time <= to).sort((a, b) => a.time - b.time));
  }
  /** Page bytes written so far (tests and benchmarks). */
  get pageBytes(): number {
    let n = 0;
    for (const ps of this.pages.values()) for (const p of ps) n += p.length;
    return n;
  }
}

interface Version {
  time: number;
  entry: StateEntry | undefined;
}

/** State is copied in and out, as a serializing store would, so a function that mutates its state object in place cannot change a stored version. */
function copy(e: StateEntry): StateEntry {
  return e.value !== null && typeof e.value === "object" ? { ...e, value: structuredClone(e.value) } : e;
}

/**
 * The per-key backend's twin. Per key, the versions written by the last
 * batches: a commit at T replaces any version at T (a re-run) and keeps one
 * version older than T, so reads as of T - slide still see the state T
 * started from; a version newer than T is never overwritten.
 */
export class MemoryStateStore implements StateStore {
  private readonly data = new Map<string, Map<KeyId, Version[]>>();
  private part(operatorId: string, partition: number): Map<KeyId, Version[]> {
    const k = `${operatorId}/${partition}`;
    let m = this.data.get(k);
    if (!m) this.data.set(k, (m = new Map()));
    return m;
  }
  private static at(versions: Version[], asOf: number): StateEntry | undefined {
    for (let i = versions.length - 1; i >= 0; i--) if (versions[i]!.time <= asOf) return versions[i]!.entry;
    return undefined;
  }
  async scan(operatorId: string, partition: number, asOf: number): Promise<StateEntry[]> {
    const out: StateEntry[] = [];
    for (const versions of this.part(operatorId, partition).values()) {
      const e = MemoryStateStore.at(versions, asOf);
      if (e) out.push(copy(e));
    }
    return out;
  }
  async getMany(operatorId: string, partition: number, keys: unknown[], asOf: number): Promise<StateEntry[]> {
    const m = this.part(operatorId, partition);
    const out: StateEntry[] = [];
    for (const key of keys) {
      const v = m.get(keyId(key));
      const e = v && MemoryStateStore.at(v, asOf);
      if (e) out.push(copy(e));
    }
    return out;
  }
  async commit(operatorId: string, partition: number, time: number, puts: StateEntry[], removes: unknown[]): Promise<void> {
    const m = this.part(operatorId, partition);
    const write = (key: unknown, entry: StateEntry | undefined) => {
      const id = keyId(key);
      if ((m.get(id) ?? []).some((v) => v.time > time)) return;
      const older = (m.get(id) ?? []).filter((v) => v.time < time);
      const kept = older.length ? [older[older.length - 1]!] : [];
      if (!entry && kept.length === 0) {
        m.delete(id);
        return;
      }
      m.set(id, [...kept, { time, entry }]);
    };
    for (const e of puts) write(e.key, copy(e));
    for (const k of removes) write(k, undefined);
  }
  /** Number of keys with any stored version in a partition, removed ones included until compacted. */
  keyCount(operatorId: string, partition: number): number {
    return this.part(operatorId, partition).size;
  }
}

interface Queued<T> {
  body: T;
  receipt: string;
  receiveCount: number;
  visibleAt: number;
}

/**
 * An at-least-once queue with visibility timeouts, like SQS. Visibility is
 * measured on the injected clock; `receive` waits in real time (at most
 * `waitMs`), woken by every send and release.
 */
export class MemoryQueue<T> implements MessageQueue<T> {
  private messages: Queued<T>[] = [];
  private inFlight = new Map<string, Queued<T>>();
  private waiters = new Set<() => void>();
  private seq = 0;
  private readonly clock: Clock;
  private readonly visibilityTimeoutMs: number;
  constructor(options: { visibilityTimeoutMs?: number; clock?: Clock } = {}) {
    this.visibilityTimeoutMs = options.visibilityTimeoutMs ?? 30_000;
    this.clock = options.clock ?? new SystemClock();
  }

  async send(messages: T[]): Promise<void> {
    for (const body of messages) this.messages.push({ body: structuredClone(body), receipt: "", receiveCount: 0, visibleAt: 0 });
    this.wake();
  }
  private wake(): void {
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w();
  }
  private take(max: number): Received<T>[] {
    const now = this.clock.now();
    for (const [r, m] of this.inFlight) {
      if (m.visibleAt <= now) {
        this.inFlight.delete(r);
        this.messages.push(m);
      }
    }
    const out: Received<T>[] = [];
    const rest: Queued<T>[] = [];
    for (const m of this.messages) {
      if (out.length < max && m.visibleAt <= now) {
        m.receiveCount++;
        m.receipt = `r${++this.seq}`;
        m.visibleAt = now + this.visibilityTimeoutMs;
        this.inFlight.set(m.receipt, m);
        out.push({ body: structuredClone(m.body), receipt: m.receipt, receiveCount: m.receiveCount });
      } else rest.push(m);
    }
    this.messages = rest;
    return out;
  }
  async receive(options: { max: number; waitMs: number; signal?: AbortSignal }): Promise<Received<T>[]> {
    const deadline = Date.now() + options.waitMs;
    for (;;) {
      const got = this.take(options.max);
      if (got.length || Date.now() >= deadline || options.signal?.aborted) return got;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.waiters.delete(done);
          options.signal?.removeEventListener("abort", done);
          resolve();
        };
        // Messages that become visible on the clock are noticed within 50 ms of real time.
        const timer = setTimeout(done, Math.max(1, Math.min(50, deadline - Date.now())));
        this.waiters.add(done);
        options.signal?.addEventListener("abort", done, { once: true });
      });
    }
  }
  async ackMany(receipts: string[]): Promise<void> {
    for (const r of receipts) this.inFlight.delete(r);
  }
  async release(receipt: string, delayMs: number): Promise<void> {
    const m = this.inFlight.get(receipt);
    if (!m) return;
    this.inFlight.delete(receipt);
    m.visibleAt = this.clock.now() + delayMs;
    this.messages.push(m);
    this.wake();
  }
  /** Messages waiting or in flight. */
  get depth(): number {
    return this.messages.length + this.inFlight.size;
  }
}

/** Input blocks held in memory: the test input stream and queueStream put their batches here. */
export class MemorySource implements StreamSource {
  readonly name = "memory";
  private readonly blocks = new Map<string, unknown[]>();
  private seq = 0;
  add(records: unknown[]): BlockDescriptor {
    // Every empty block is the same block, so a run of empty batches has one shape (see JobGenerator).
    if (records.length === 0) return { source: this.name, id: "empty", count: 0 };
    const id = `m${++this.seq}`;
    this.blocks.set(id, records);
    return { source: this.name, id, count: records.length };
  }
  async read(block: BlockDescriptor): Promise<unknown[]> {
    if (block.id === "empty") return [];
    const r = this.blocks.get(block.id as string);
    if (!r)
      throw new MissingDataError(
        `The in-memory block ${String(block.id)} is gone: the in-memory engine keeps input only for the life of its process.`,
      );
    return r;
  }
}

export class MemoryQuarantine implements QuarantineStore {
  private readonly entries: { id: string; record: QuarantinedRecord }[] = [];
  private seq = 0;
  async put(record: QuarantinedRecord): Promise<void> {
    // The bytes are copied: a caller may reuse its buffer.
    const kept: QuarantinedRecord = { ...record, error: keptError(record.error), ...(record.data ? { data: record.data.slice() } : {}) };
    // One entry per (record, operator): a re-run replaces its entry rather than adding one.
    const same = (r: QuarantinedRecord) =>
      record.sequenceNumber !== undefined &&
      r.batchTime === record.batchTime &&
      r.stream === record.stream &&
      r.shard === record.shard &&
      r.sequenceNumber === record.sequenceNumber &&
      r.subSequenceNumber === record.subSequenceNumber &&
      r.operator === record.operator;
    const i = this.entries.findIndex((e) => same(e.record));
    if (i >= 0) this.entries[i] = { id: this.entries[i]!.id, record: kept };
    else this.entries.push({ id: `m${++this.seq}`, record: kept });
  }
  async list(options: { limit?: number } = {}): Promise<QuarantineEntry[]> {
    const ordered = [...this.entries].sort((a, b) => a.record.batchTime - b.record.batchTime);
    return ordered.slice(0, Math.max(0, options.limit ?? ordered.length)).map(({ id, record }) => {
      const { data, ...rest } = record;
      return data ? { ...rest, id, size: data.byteLength, head: data.slice(0, QUARANTINE_HEAD_BYTES) } : { ...rest, id };
    });
  }
  async read(entry: QuarantineEntry): Promise<Uint8Array> {
    const found = this.entries.find((e) => e.id === entry.id)?.record;
    if (!found) throw refused(entry, "not in the quarantine any more", "its entry is not in the quarantine any more");
    if (!found.data) throw refused(entry, "not bytes", "it is a record of an in-memory input: its value is the entry's `record`");
    return found.data.slice();
  }
}

export class MemoryLease implements LeaseStore {
  private holder: { owner: string; until: number } | undefined;
  async acquire(owner: string, until: number, now: number): Promise<boolean> {
    if (this.holder && this.holder.owner !== owner && this.holder.until > now) return false;
    this.holder = { owner, until };
    return true;
  }
  async release(owner: string): Promise<void> {
    if (this.holder?.owner === owner) this.holder = undefined;
  }
}

export const taskKeyId = (t: TaskKey): string => `${t.batchTime}/${t.runId}/${taskStageKey(t)}/${t.partition}`;

export class MemoryClaims implements TaskClaims {
  private readonly claims = new Map<string, { owner: string; until: number; done: boolean }>();
  async claim(task: TaskKey, owner: string, until: number, now: number): Promise<"claimed" | "busy" | "done"> {
    const c = this.claims.get(taskKeyId(task));
    if (c?.done) return "done";
    if (c && c.owner !== owner && c.until > now) return "busy";
    this.claims.set(taskKeyId(task), { owner, until, done: false });
    return "claimed";
  }
  async renew(task: TaskKey, owner: string, until: number): Promise<boolean> {
    const c = this.claims.get(taskKeyId(task));
    if (!c || c.owner !== owner || c.done) return false;
    c.until = until;
    return true;
  }
  async finish(task: TaskKey, owner: string): Promise<void> {
    this.claims.set(taskKeyId(task), { owner, until: 0, done: true });
  }
  async inspect(tasks: readonly TaskKey[]): Promise<Map<string, ClaimState>> {
    const out = new Map<string, ClaimState>();
    for (const t of tasks) {
      const c = this.claims.get(taskKeyId(t));
      if (c) out.set(taskKeyId(t), { ...c });
    }
    return out;
  }
}

export class MemoryBlobStore implements BlobStore {
  private readonly blobs = new Map<string, Uint8Array>();
  async put(key: string, body: Uint8Array): Promise<void> {
    this.blobs.set(key, body.slice());
  }
  async get(key: string, range?: readonly [number, number]): Promise<Uint8Array> {
    const b = this.blobs.get(key);
    if (!b) throw new MissingDataError(`Blob ${key} is missing.`);
    return range ? b.slice(range[0], range[1]) : b.slice();
  }
  get size(): number {
    return this.blobs.size;
  }
}

export interface MemoryEngineOptions {
  /** Visibility timeout of the task and result queues. @default 30000 */
  visibilityTimeoutMs?: number;
  /** The clock the queues measure visibility on. @default SystemClock */
  clock?: Clock;
  /**
   * Where `s3://` outputs go (saveAsTextFiles); give one to several engines to see their outputs together.
   * @default the engine's `files`, the buckets textFileStream reads: an output and an input of one bucket see each other, as on S3
   */
  objects?: ObjectStore;
}

/** Every interface in process: the engine of `new StreamingContext(...)` and `runBatches`. */
export class MemoryEngineServices implements EngineServices {
  readonly lease = new MemoryLease();
  readonly batchLog = new MemoryBatchLog();
  readonly checkpoints = new MemoryCheckpointStore();
  readonly state = new MemoryStateStore();
  readonly tasks: TaskQueue;
  readonly results: ResultQueue;
  readonly claims = new MemoryClaims();
  readonly blobs = new MemoryBlobStore();
  /** The user's buckets that `s3://` outputs write (see MemoryEngineOptions.objects). */
  readonly objects: ObjectStore;
  readonly quarantine = new MemoryQuarantine();
  readonly memorySource = new MemorySource();
  /** The buckets textFileStream reads ("s3files"): put objects here in tests, stamped by the engine's clock. */
  readonly files: MemoryObjects;
  readonly sources: ReadonlyMap<string, StreamSource>;
  constructor(options: MemoryEngineOptions = {}) {
    this.tasks = new MemoryQueue<TaskMessage>(options);
    this.results = new MemoryQueue<TaskResult>(options);
    this.files = new MemoryObjects({ clock: options.clock });
    this.sources = new Map<string, StreamSource>([
      ["memory", this.memorySource],
      [S3_FILES, new FileStreamSource(this.files)],
    ]);
    this.objects = options.objects ?? this.files;
  }
}
