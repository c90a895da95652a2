/**
 * In-process implementations of the storage and transport interfaces.
 *
 * They keep the same contracts as the DynamoDB/SQS/Kinesis adapters
 * (conditional batch transitions, at-most-once task completion, versioned
 * state, at-least-once queue delivery), so the engine behaves the same on
 * both; they simply keep everything in maps.
 */
import { keyId, type KeyId } from "../core/keys.js";
import type {
  LeaseStore,
  BatchLog, BatchRecord, BatchStatus, BlockDescriptor, BlockStore, EngineServices, QuarantinedRecord,
  QuarantineStore, ReceivedTask, ShuffleStore, StateEntry, StateStore, StreamSource, TaskCompletion,
  TaskMessage, TaskQueue,
} from "./interfaces.js";

export class MemoryBatchLog implements BatchLog {
  private readonly batches = new Map<number, BatchRecord>();
  private readonly done = new Map<string, Set<number>>();
  private readonly listeners = new Set<(record: BatchRecord) => void>();

  /** Called after every change to a batch record; used by in-process waiters. */
  onChange(listener: (record: BatchRecord) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  private emit(record: BatchRecord): void {
    for (const l of [...this.listeners]) l(structuredClone(record));
  }
  async createBatch(record: BatchRecord): Promise<boolean> {
    if (this.batches.has(record.time)) return false;
    this.batches.set(record.time, structuredClone(record));
    this.emit(record);
    return true;
  }
  async getBatch(time: number): Promise<BatchRecord | undefined> {
    const r = this.batches.get(time);
    return r && structuredClone(r);
  }
  async updateBatch(time: number, expected: BatchStatus, patch: Partial<BatchRecord>): Promise<boolean> {
    const r = this.batches.get(time);
    if (!r || r.status !== expected) return false;
    Object.assign(r, structuredClone(patch));
    this.emit(r);
    return true;
  }
  async latestBatch(beforeTime = Infinity): Promise<BatchRecord | undefined> {
    let best: BatchRecord | undefined;
    for (const b of this.batches.values()) if (b.time < beforeTime && (!best || b.time > best.time)) best = b;
    return best && structuredClone(best);
  }
  async listBatches(options: { fromTime?: number; limit?: number } = {}): Promise<BatchRecord[]> {
    const out = [...this.batches.values()]
      .filter((b) => options.fromTime === undefined || b.time >= options.fromTime)
      .sort((a, b) => a.time - b.time);
    return structuredClone(options.limit === undefined ? out : out.slice(0, options.limit));
  }
  private readonly claims = new Map<string, { owner: string; until: number }>();
  async claimTask(time: number, stage: number, partition: number, owner: string, leaseUntil: number, now: number): Promise<"claimed" | "busy" | "done"> {
    if (this.done.get(`${time}/${stage}`)?.has(partition)) return "done";
    const key = `${time}/${stage}/${partition}`;
    const c = this.claims.get(key);
    if (c && c.owner !== owner && c.until > now) return "busy";
    this.claims.set(key, { owner, until: leaseUntil });
    return "claimed";
  }
  private readonly failures = new Map<string, number>();
  async releaseTask(time: number, stage: number, partition: number, owner: string): Promise<number> {
    const key = `${time}/${stage}/${partition}`;
    if (this.claims.get(key)?.owner === owner) this.claims.delete(key);
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    return n;
  }
  async completeTask(time: number, stage: number, partition: number): Promise<TaskCompletion> {
    const key = `${time}/${stage}`;
    let set = this.done.get(key);
    if (!set) this.done.set(key, (set = new Set()));
    const first = !set.has(partition);
    set.add(partition);
    return { first, completed: set.size };
  }
  async completedTasks(time: number, stage: number): Promise<number[]> {
    return [...(this.done.get(`${time}/${stage}`) ?? [])].sort((a, b) => a - b);
  }
  async addCounters(time: number, counters: Record<string, number>): Promise<void> {
    const r = this.batches.get(time) as unknown as Record<string, number> | undefined;
    if (!r) return;
    for (const [k, v] of Object.entries(counters)) r[k] = (r[k] ?? 0) + v;
  }
  async deleteBatchesBefore(time: number): Promise<void> {
    for (const t of this.batches.keys()) if (t < time) this.batches.delete(t);
    for (const k of this.done.keys()) if (Number(k.split("/")[0]) < time) this.done.delete(k);
    for (const k of this.claims.keys()) if (Number(k.split("/")[0]) < time) this.claims.delete(k);
    for (const k of this.failures.keys()) if (Number(k.split("/")[0]) < time) this.failures.delete(k);
  }
}

export class MemoryShuffleStore implements ShuffleStore {
  private readonly data = new Map<string, unknown[][]>();
  async write(batchTime: number, shuffleId: string, mapPartition: number, buckets: unknown[][]): Promise<void> {
    this.data.set(`${batchTime}/${shuffleId}/${mapPartition}`, buckets);
  }
  async read(batchTime: number, shuffleId: string, reducePartition: number, numMapPartitions: number): Promise<unknown[][]> {
    const out: unknown[][] = [];
    for (let m = 0; m < numMapPartitions; m++) {
      const buckets = this.data.get(`${batchTime}/${shuffleId}/${m}`);
      if (!buckets) throw new Error(`shuffle output missing: batch ${batchTime}, shuffle ${shuffleId}, map partition ${m}`);
      out.push(buckets[reducePartition] ?? []);
    }
    return out;
  }
  async deleteBatch(batchTime: number): Promise<void> {
    const prefix = `${batchTime}/`;
    for (const k of this.data.keys()) if (k.startsWith(prefix)) this.data.delete(k);
  }
  get size(): number { return this.data.size; }
}

export class MemoryBlockStore implements BlockStore {
  private readonly data = new Map<string, Map<number, unknown[][]>>();
  async put(streamId: string, time: number, partition: number, records: unknown[]): Promise<void> {
    let byTime = this.data.get(streamId);
    if (!byTime) this.data.set(streamId, (byTime = new Map()));
    let parts = byTime.get(time);
    if (!parts) byTime.set(time, (parts = []));
    parts[partition] = records;
  }
  async get(streamId: string, time: number, partition: number): Promise<unknown[] | undefined> {
    return this.data.get(streamId)?.get(time)?.[partition];
  }
  async deleteBefore(streamId: string, time: number): Promise<void> {
    const byTime = this.data.get(streamId);
    if (!byTime) return;
    for (const t of byTime.keys()) if (t < time) byTime.delete(t);
  }
  /** How many (stream, time) entries are held; used by tests of cleanup. */
  count(streamId: string): number { return this.data.get(streamId)?.size ?? 0; }
}

interface Version { time: number; entry: StateEntry | undefined }

/** State is copied in and out, as a serializing store would, so a function that mutates its state object in place cannot change a stored version. */
function copy(e: StateEntry): StateEntry {
  return e.value !== null && typeof e.value === "object" ? { ...e, value: structuredClone(e.value) } : e;
}

/**
 * Per key, the versions written by the last batches. A commit at T replaces
 * any version at T or later (a retry) and keeps one version older than T, so
 * reads as of T - slide still see the state T started from.
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
      // A version after `time` means this is a late attempt of an already completed batch: keep the later version.
      if ((m.get(id) ?? []).some((v) => v.time > time)) return;
      const older = (m.get(id) ?? []).filter((v) => v.time < time);
      const kept = older.length ? [older[older.length - 1]!] : [];
      if (!entry && kept.length === 0) { m.delete(id); return; }
      m.set(id, [...kept, { time, entry }]);
    };
    for (const e of puts) write(e.key, copy(e));
    for (const k of removes) write(k, undefined);
  }
  /** Number of keys with any stored version in a partition, removed ones included until compacted. */
  keyCount(operatorId: string, partition: number): number { return this.part(operatorId, partition).size; }
}

interface QueuedMessage { task: TaskMessage; receipt: string; receiveCount: number; visibleAt: number }

/** An at-least-once queue with visibility timeouts, like SQS. */
export class MemoryTaskQueue implements TaskQueue {
  private messages: QueuedMessage[] = [];
  private inFlight = new Map<string, QueuedMessage>();
  private waiters = new Set<() => void>();
  private seq = 0;
  constructor(private readonly visibilityTimeoutMs = 30_000) {}

  async send(tasks: TaskMessage[]): Promise<void> {
    for (const task of tasks) {
      this.messages.push({ task: { ...task }, receipt: "", receiveCount: 0, visibleAt: 0 });
    }
    this.wake();
  }
  private wake(): void {
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w();
  }
  private take(max: number): ReceivedTask[] {
    const now = Date.now();
    for (const [r, m] of this.inFlight) {
      if (m.visibleAt <= now) { this.inFlight.delete(r); this.messages.push(m); }
    }
    const out: ReceivedTask[] = [];
    const rest: QueuedMessage[] = [];
    for (const m of this.messages) {
      if (out.length < max && m.visibleAt <= now) {
        m.receiveCount++;
        m.receipt = `r${++this.seq}`;
        m.visibleAt = now + this.visibilityTimeoutMs;
        this.inFlight.set(m.receipt, m);
        out.push({ task: m.task, receipt: m.receipt, receiveCount: m.receiveCount });
      } else rest.push(m);
    }
    this.messages = rest;
    return out;
  }
  async receive(options: { max: number; waitMs: number; signal?: AbortSignal }): Promise<ReceivedTask[]> {
    const deadline = Date.now() + options.waitMs;
    for (;;) {
      const got = this.take(options.max);
      if (got.length || Date.now() >= deadline || options.signal?.aborted) return got;
      await new Promise<void>((resolve) => {
        const done = () => { clearTimeout(timer); this.waiters.delete(done); options.signal?.removeEventListener("abort", done); resolve(); };
        const nextVisible = Math.min(deadline, ...this.messages.map((m) => m.visibleAt), ...[...this.inFlight.values()].map((m) => m.visibleAt));
        const timer = setTimeout(done, Math.max(1, nextVisible - Date.now()));
        this.waiters.add(done);
        options.signal?.addEventListener("abort", done, { once: true });
      });
    }
  }
  async ack(receipt: string): Promise<void> { this.inFlight.delete(receipt); }
  async ackMany(receipts: string[]): Promise<void> { for (const r of receipts) this.inFlight.delete(r); }
  async release(receipt: string, delayMs: number): Promise<void> {
    const m = this.inFlight.get(receipt);
    if (!m) return;
    this.inFlight.delete(receipt);
    m.visibleAt = Date.now() + delayMs;
    this.messages.push(m);
    if (delayMs <= 0) this.wake();
    else setTimeout(() => this.wake(), delayMs).unref?.();
  }
  /** Messages waiting or in flight. */
  get depth(): number { return this.messages.length + this.inFlight.size; }
}

/** Input blocks held in memory: the test input stream and queueStream put their batches here. */
export class MemorySource implements StreamSource {
  readonly name = "memory";
  private readonly blocks = new Map<string, unknown[]>();
  private seq = 0;
  add(records: unknown[]): BlockDescriptor {
    const id = `m${++this.seq}`;
    this.blocks.set(id, records);
    return { source: this.name, id, count: records.length };
  }
  async read(block: BlockDescriptor): Promise<unknown[]> {
    const r = this.blocks.get(block.id as string);
    if (!r) throw new Error(`memory block ${String(block.id)} not found`);
    return r;
  }
}

export class MemoryQuarantine implements QuarantineStore {
  readonly records: QuarantinedRecord[] = [];
  async put(record: QuarantinedRecord): Promise<void> {
    // One entry per (record, operator): a retried task replaces its entry rather than adding one.
    const same = (r: QuarantinedRecord) => record.sequenceNumber !== undefined && r.batchTime === record.batchTime && r.stream === record.stream
      && r.shard === record.shard && r.sequenceNumber === record.sequenceNumber && r.operator === record.operator;
    const i = this.records.findIndex(same);
    if (i >= 0) this.records[i] = record;
    else this.records.push(record);
  }
  async count(batchTime: number): Promise<number> { return this.records.filter((r) => r.batchTime === batchTime).length; }
  async list(options: { limit?: number } = {}): Promise<QuarantinedRecord[]> {
    return this.records.slice(0, options.limit ?? this.records.length);
  }
}

export class MemoryLease implements LeaseStore {
  private holder: { owner: string; until: number } | undefined;
  async acquire(owner: string, until: number, now: number): Promise<boolean> {
    if (this.holder && this.holder.owner !== owner && this.holder.until > now) return false;
    this.holder = { owner, until };
    return true;
  }
  async release(owner: string): Promise<void> { if (this.holder?.owner === owner) this.holder = undefined; }
}

export class MemoryEngineServices implements EngineServices {
  readonly lease = new MemoryLease();
  readonly batchLog = new MemoryBatchLog();
  readonly shuffles = new MemoryShuffleStore();
  readonly blocks = new MemoryBlockStore();
  readonly state = new MemoryStateStore();
  readonly queue: MemoryTaskQueue;
  readonly quarantine = new MemoryQuarantine();
  readonly memorySource = new MemorySource();
  readonly sources: ReadonlyMap<string, StreamSource>;
  constructor(options: { visibilityTimeoutMs?: number } = {}) {
    this.queue = new MemoryTaskQueue(options.visibilityTimeoutMs);
    this.sources = new Map<string, StreamSource>([["memory", this.memorySource]]);
  }
}
