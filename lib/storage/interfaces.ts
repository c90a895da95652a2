/**
 * The narrow interfaces between the engine and the outside world.
 *
 * The core (DStream graph, planner, job generator, state semantics) talks
 * only to these. `memory.ts` implements every one in process; `lib/aws/`
 * implements them over DynamoDB, SQS, S3 and Kinesis. They fall in three
 * groups:
 *
 * - **what must survive** (the batch log, checkpoints, the per-key state
 *   backend, the quarantine, the coordinator's lease): durable, written with
 *   conditions so two coordinators can never both win;
 * - **what fans a large batch out** (task and result queues, task claims,
 *   blobs): used only by batches too large for one process;
 * - **where input comes from** (stream sources).
 *
 * Every write is idempotent for the same arguments, because any of them may
 * be retried after a lost response.
 */

import type { BatchRequests, RequestMeter } from "../observability/cost.js";

// ---------------------------------------------------------------------------------------------
// input

/** Where one partition of an input batch comes from. Opaque to the core; each source knows its own. */
export interface BlockDescriptor {
  /** Which source reads it: "memory", "kinesis", ... */
  readonly source: string;
  /** Records in the block, when the source counted them while fixing it. */
  readonly count?: number;
  readonly [field: string]: unknown;
}

/** Reads the records of input blocks. */
export interface StreamSource {
  readonly name: string;
  read(block: BlockDescriptor): Promise<unknown[]>;
}

/**
 * How many records (and bytes) the coordinator may still keep in memory while it fixes a batch's
 * blocks. A source that reads records to fix its blocks hands them over with the blocks while the
 * budget lasts, so a batch run in process reads each record once; past the budget it only counts.
 */
export interface RecordBudget {
  records: number;
  bytes: number;
  /** Set by the source that ran out: the batch is too large for one process. */
  exhausted: boolean;
}

/** What a source returns for one batch: its blocks, its position after them, and the records it kept. */
export interface Allocation {
  readonly blocks: BlockDescriptor[];
  readonly state: unknown;
  /** `records[i]` holds block i's records when they were kept within the budget. */
  readonly records?: (unknown[] | undefined)[];
}

/** A source whose blocks the coordinator fixes by position (Kinesis). */
export interface ReplayableSource extends StreamSource {
  /** Fixes one batch's blocks of `stream` from the position after the previous batch. */
  allocate(stream: string, previous: unknown, options: { maxRecordsPerShard?: number; budget?: RecordBudget }): Promise<Allocation>;
  /** Between boundaries: reads ahead what the next `allocate` from `previous` will take, so fixing it reads only the tail. */
  readAhead?(stream: string, previous: unknown): Promise<void>;
}

/** One object of a listing (S3 ListObjectsV2's `Contents`). */
export interface ObjectInfo {
  readonly key: string;
  /** The ETag as the store returns it, quotes included: what a conditional read names. */
  readonly etag: string;
  readonly size: number;
  /** LastModified in milliseconds since the epoch, on the store's clock (S3 lists it to the second). */
  readonly lastModified: number;
}

/** One page of a listing, and the token of the next page when there is one. */
export interface ObjectPage {
  readonly objects: readonly ObjectInfo[];
  readonly next?: string;
}

/**
 * What file inputs (`textFileStream("s3://bucket/prefix/")`) need of a bucket: S3's ListObjectsV2 and a
 * GetObject conditional on the ETag, on AWS and the local engines; a map in memory. Read-only, and
 * narrower than ObjectStore (outputs): an input lists with each object's ETag and LastModified, page by
 * page, and never reads other bytes than the ones its batch recorded. The method names differ from
 * ObjectStore's so that one class may serve both.
 */
export interface ObjectLister {
  /** One page (at most `maxKeys`, S3's 1,000) of the objects directly under `prefix` (delimiter "/"), in key order. */
  listPage(bucket: string, prefix: string, options?: { readonly continuationToken?: string; readonly maxKeys?: number }): Promise<ObjectPage>;
  /** The object's bytes while its ETag is still `etag` (If-Match); "changed" or "missing" otherwise. */
  getIfMatch(bucket: string, key: string, etag: string): Promise<Uint8Array | "changed" | "missing">;
}

// ---------------------------------------------------------------------------------------------
// the batch log

export type BatchStatus = "running" | "completed" | "failed";

/** What the record of a batch says about the batch logged before it, which had completed by then. */
export interface CompletionNote {
  readonly time: number;
  readonly completedAt: number;
  readonly startedAt?: number;
  readonly quarantinedRecords?: number;
  /** The requests the coordinator made for the batch (see BatchRecord.requests). */
  readonly requests?: BatchRequests;
}

/**
 * The write-ahead record of one batch: its input blocks, written before any
 * of the batch runs, so that every re-run reads exactly the same input.
 *
 * A run of empty batches shares one record: the record at time T with
 * `emptyFrom = F` stands for the batches F, F + interval, ..., T - interval,
 * each empty (with the blocks `emptyBlocks`) and completed, besides batch T
 * itself. The completion of a batch is written with the record after it
 * (`previous`), or by an update at a checkpoint or a hand-over.
 */
export interface BatchRecord {
  readonly time: number;
  /** Input blocks per input stream id, fixed before the batch runs. */
  readonly blocks: Record<string, BlockDescriptor[]>;
  /** Each input stream's position after this batch. */
  readonly inputState?: Record<string, unknown>;
  status: BatchStatus;
  /** Wall-clock milliseconds (from the injected clock) when the record was written. */
  generatedAt: number;
  startedAt?: number;
  completedAt?: number;
  /** Records read from the input blocks. */
  inputRecords?: number;
  /** Distinct records quarantined in this batch. */
  quarantinedRecords?: number;
  /** "fan-out": some stages ran on workers; otherwise the coordinator ran the whole batch. */
  mode?: "in-process" | "fan-out";
  /** How many times the batch was retried after failing (`sparkless retry`). */
  retries?: number;
  error?: string;
  /** The coordinator process that wrote the record (a warm coordinator checks it is still the latest writer). */
  writer?: string;
  /** The batches from this time to `time - interval` were empty and completed (see above). */
  emptyFrom?: number;
  emptyBlocks?: Record<string, BlockDescriptor[]>;
  /** The previous record's batch completed before this one was written. */
  previous?: CompletionNote;
  /**
   * The requests the coordinator made since the record before, priced (lib/observability/cost.ts):
   * this batch's, or the whole empty run's for a record that stands for one. Set when the engine has a meter.
   */
  requests?: BatchRequests;
  /** Set on records made up for a batch of an empty run (never stored). */
  readonly empty?: boolean;
}

/** What every process of an app must agree on, written once when the app first starts. */
export interface AppInfo {
  /** The context's zero time: every batch time is zeroTime + k × interval. */
  readonly zeroTime: number;
  readonly batchIntervalMs: number;
  /** The durable operations of the graph (see DStreamGraph.fingerprint), checked on every start. */
  readonly fingerprint: readonly { readonly id: string; readonly kind: string; readonly partitions?: number; readonly input?: string }[];
  readonly createdAt: number;
}

/**
 * The batch log: Spark's ReceivedBlockTracker write-ahead log. Reads return
 * records with their completion applied (a record completed by a later
 * record's `previous` note reads as completed) and expand empty runs.
 */
export interface BatchLog {
  getApp(): Promise<AppInfo | undefined>;
  /** Writes the app's info unless it exists; returns what is stored. */
  createApp(info: AppInfo): Promise<AppInfo>;
  /** Replaces the fingerprint after an accepted upgrade. */
  updateApp(info: AppInfo): Promise<void>;
  /** Creates the record; returns false (and changes nothing) if a record for this time exists. */
  createBatch(record: BatchRecord): Promise<boolean>;
  /** The record of batch `time`, or one made up from the empty run that covers it. */
  getBatch(time: number): Promise<BatchRecord | undefined>;
  /** Conditional update: applies `patch` only while the status is `expected`. */
  updateBatch(time: number, expected: BatchStatus, patch: Partial<BatchRecord>): Promise<boolean>;
  /** The latest record before `beforeTime` (any, if not given): one read, however long the history. */
  latestBatch(beforeTime?: number): Promise<BatchRecord | undefined>;
  /** Records in time order from `fromTime` on, empty runs left as they are stored (`emptyFrom`). */
  listBatches(options?: { fromTime?: number; limit?: number }): Promise<BatchRecord[]>;
}

// ---------------------------------------------------------------------------------------------
// checkpoints

/** One stream's part of a checkpoint: where its pages are, and the chain of deltas it belongs to. */
export interface StreamCheckpoint {
  /** The stream's batch time the data is the result of (a multiple of its slide). */
  readonly time: number;
  /** "full": every entry; "delta": the entries changed or removed since the checkpoint at `base`. */
  readonly kind: "full" | "delta";
  /** Delta only: the stream time of the stream's previous checkpoint, which this one applies to. */
  readonly base?: number;
  /** The stream time of the full checkpoint this chain starts from (this one's, when full). */
  readonly fullAt: number;
  /** Where the pages are (a key the page store understands) and how many. */
  readonly key: string;
  readonly pages: number;
  /** How the pages are compressed (lib/checkpoint/pages.ts); absent on pages written before codecs were named: raw deflate. */
  readonly codec?: "brotli" | "deflate-raw";
  readonly partitions: number;
  readonly hashPartitions?: number;
  /** Entries written (puts and removes), and compressed bytes. */
  readonly entries: number;
  readonly bytes: number;
  /** Compressed bytes of the chain's full checkpoint and of its deltas, this one included. */
  readonly fullBytes: number;
  readonly chainBytes: number;
  readonly chainLength: number;
  /** Wall-clock time the chain's full checkpoint was written. */
  readonly fullWrittenAt: number;
}

/**
 * A committed checkpoint, taken after batch `time` completed (so it also says batch `time` completed).
 * It names every checkpointed stream's latest checkpoint, written now or earlier, so the latest
 * manifest alone says where recovery starts.
 */
export interface CheckpointManifest {
  readonly time: number;
  readonly writer: string;
  readonly createdAt: number;
  readonly streams: Record<string, StreamCheckpoint>;
}

/**
 * Checkpoints: pages of packed, compressed state entries, and the manifests
 * that commit them. Pages are written first under a key unique to the writer;
 * the manifest is written last with a condition, so a checkpoint is either
 * whole and visible or invisible, and of two coordinators only one commits.
 */
export interface CheckpointStore {
  writePages(key: string, pages: readonly Uint8Array[]): Promise<void>;
  readPages(key: string, count: number): Promise<Uint8Array[]>;
  /** Commits a checkpoint; false when one exists for this time already (another writer won). */
  commit(manifest: CheckpointManifest): Promise<boolean>;
  /** The latest manifest at or before `time` (any, if not given). */
  latest(atOrBefore?: number): Promise<CheckpointManifest | undefined>;
  /** Manifests with times in [from, to], in time order. */
  between(from: number, to: number): Promise<CheckpointManifest[]>;
}

// ---------------------------------------------------------------------------------------------
// the per-key state backend (opt-in)

/** One key's state, with the batch time at which it last changed or saw data. */
export interface StateEntry {
  readonly key: unknown;
  readonly value: unknown;
  readonly updatedAt: number;
}

/**
 * Versioned keyed state, one item per key: the opt-in backend
 * (`stateBackend: "dynamodb"`) for very large, sparse mapWithState state.
 * A commit at batch time T never hides what a read "as of" an earlier time
 * sees, so a re-run of T reads exactly the state its first attempt read.
 */
export interface StateStore {
  /** Every entry of one partition as it stood after batch `asOf`. */
  scan(operatorId: string, partition: number, asOf: number): Promise<StateEntry[]>;
  /** The entries for some keys as they stood after batch `asOf`; absent keys are left out. */
  getMany(operatorId: string, partition: number, keys: unknown[], asOf: number): Promise<StateEntry[]>;
  /** Writes the changes batch `time` made to one partition. Idempotent for the same time and changes. */
  commit(operatorId: string, partition: number, time: number, puts: StateEntry[], removes: unknown[]): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// fan-out: queues, claims, blobs

/** A slice of a blob: bytes [start, end). */
export interface BlobSlice {
  readonly key: string;
  readonly start: number;
  readonly end: number;
}

/** The map outputs one reduce partition reads, one per map partition in order: inline, or a slice of a blob. */
export interface ShuffleInput {
  readonly parts: readonly (unknown[] | BlobSlice)[];
}

/** One unit of work sent to a worker: one partition of one stage of one batch, driven by run `runId`. */
export interface TaskMessage {
  readonly batchTime: number;
  /** The coordinator's run of the batch: results of another run are ignored. */
  readonly runId: string;
  readonly stage: number;
  /** The stage's id and task count, as the coordinator planned them: the worker checks its own plan against them. */
  readonly stageId: string;
  readonly numTasks: number;
  readonly partition: number;
  readonly attempt: number;
  /** Streams (`id@time`) the coordinator read from memory or a checkpoint when it planned the batch. */
  readonly stored: readonly string[];
  /** The shuffle data the task reads, by shuffle id and reduce partition (`shuffleInputKey`, lib/scheduler/block-manager.ts). */
  readonly inputs?: Readonly<Record<string, ShuffleInput>>;
  /** Set when the task is one partition of a per-partition action inside output stage `stage`. */
  readonly action?: OutputActionRef;
  /** An action's task: the broadcasts its output function created before it, which the worker reads from the blob store. */
  readonly broadcasts?: readonly string[];
  /** An action's task: the values the output function's earlier actions returned (primitives), which its replay returns. */
  readonly values?: readonly unknown[];
}

/**
 * A per-partition action (foreachPartition, foreach, saveAsTextFile) inside an output operation: the
 * `index`-th action its function calls, in that function's `run` (each time the coordinator runs the
 * output function, its actions are sent under a new run, so a rerun never meets the claims of the last).
 */
export interface OutputActionRef {
  readonly index: number;
  readonly run: number;
}

/** A map task's output: one bucket per reduce partition, inline or in one blob with bucket offsets. */
export type TaskOutput = { readonly buckets: unknown[][] } | { readonly blob: string; readonly offsets: readonly number[] };

/**
 * A task's update of one accumulator (lib/streaming/shared-variables.ts): the state of the task's own
 * copy, as data. The coordinator merges the updates of the first result it accepts per task only.
 */
export interface AccumulatorUpdate {
  readonly id: string;
  readonly update: unknown;
}

/** What a worker reports for one task. */
export type TaskResult = {
  readonly batchTime: number;
  readonly runId: string;
  readonly stage: number;
  readonly action?: OutputActionRef;
  readonly partition: number;
  readonly attempt: number;
  readonly worker: string;
} & (
  | {
      readonly ok: true;
      readonly output?: TaskOutput;
      readonly counters: Record<string, number>;
      readonly quarantined: readonly string[];
      /** The task's accumulator updates, when it made any. */
      readonly accumulators?: readonly AccumulatorUpdate[];
    }
  | { readonly ok: false; readonly error: string }
);

export interface Received<T> {
  readonly body: T;
  readonly receipt: string;
  /** How many times this message has been received, this time included (SQS ApproximateReceiveCount). */
  readonly receiveCount: number;
}

/** An at-least-once queue with visibility timeouts: SQS on AWS, an in-process queue in memory. */
export interface MessageQueue<T> {
  send(messages: T[]): Promise<void>;
  receive(options: { max: number; waitMs: number; signal?: AbortSignal }): Promise<Received<T>[]>;
  /** Deletes messages (SQS: DeleteMessageBatch). */
  ackMany(receipts: string[]): Promise<void>;
  /** Makes a message visible again after `delayMs`. */
  release(receipt: string, delayMs: number): Promise<void>;
}

export type TaskQueue = MessageQueue<TaskMessage>;
export type ResultQueue = MessageQueue<TaskResult>;

/** Names one task of one run of a batch. */
export interface TaskKey {
  readonly batchTime: number;
  readonly runId: string;
  readonly stage: number;
  readonly action?: OutputActionRef;
  readonly partition: number;
}

/** A task's stage as claims name it: `3`, or `3.0.1` for run 1's action 0 of output stage 3. */
export const taskStageKey = (t: Pick<TaskKey, "stage" | "action">): string =>
  t.action ? `${t.stage}.${t.action.run}.${t.action.index}` : `${t.stage}`;

export interface ClaimState {
  readonly owner?: string;
  readonly until?: number;
  readonly done: boolean;
}

/**
 * Task claims: a lease a worker holds while it runs a task and renews while
 * it runs, so two deliveries of one task never run at once, and a task whose
 * worker died (its claim no longer renewed) is known to be free within
 * seconds, not after the queue's visibility timeout.
 */
export interface TaskClaims {
  /** "claimed": run it; "busy": another worker holds an unexpired claim; "done": it finished. */
  claim(task: TaskKey, owner: string, until: number, now: number): Promise<"claimed" | "busy" | "done">;
  /** Extends a claim this owner holds; false when it is no longer this owner's. */
  renew(task: TaskKey, owner: string, until: number): Promise<boolean>;
  /** Marks the task done. */
  finish(task: TaskKey, owner: string): Promise<void>;
  /** The claims of some tasks (absent: never claimed). */
  inspect(tasks: readonly TaskKey[]): Promise<Map<string, ClaimState>>;
}

/** Large shuffle data: S3 on AWS (TTL by a lifecycle rule), a map in memory. */
export interface BlobStore {
  put(key: string, body: Uint8Array): Promise<void>;
  /** The whole blob, or bytes [start, end). */
  get(key: string, range?: readonly [number, number]): Promise<Uint8Array>;
}

// ---------------------------------------------------------------------------------------------
// outputs

/**
 * Objects in the user's buckets, where outputs with an `s3://bucket/key` path go (saveAsTextFiles,
 * saveAsTextFile): S3 on AWS and on the local engines, a map in memory. Unlike BlobStore, the bucket
 * is the caller's, so it is given on every call. A put replaces the whole object at once (S3's
 * PutObject), which is what makes a rerun of a batch safe (see lib/rdd/text-file.ts).
 */
export interface ObjectStore {
  put(bucket: string, key: string, body: Uint8Array): Promise<void>;
  /** The object's bytes, or undefined when there is none. */
  get(bucket: string, key: string): Promise<Uint8Array | undefined>;
  /** Deletes the objects; a missing one is not an error. */
  delete(bucket: string, keys: readonly string[]): Promise<void>;
  /** Every key that starts with `prefix`, in key order. */
  list(bucket: string, prefix: string): Promise<string[]>;
}

// ---------------------------------------------------------------------------------------------
// the rest

/** The coordinator's lease: one coordinator drives an app at a time. */
export interface LeaseStore {
  /** Takes or renews the lease until `until`; false while another owner holds an unexpired lease. */
  acquire(owner: string, until: number, now: number): Promise<boolean>;
  release(owner: string): Promise<void>;
}

/** A record that could not be decoded or made a user function throw, kept with its coordinates. */
export interface QuarantinedRecord {
  readonly batchTime: number;
  readonly stream?: string;
  readonly shard?: string;
  readonly sequenceNumber?: string;
  /**
   * For a user record of a KPL aggregate: its index in the aggregate (the aggregate's user records
   * share its sequence number). `data` and `partitionKey` are then the user record's own, so a replay
   * puts back that user record alone. Absent for a record that is not an aggregate, and for an
   * aggregate quarantined whole (corrupt: its user records cannot be recovered).
   */
  readonly subSequenceNumber?: number;
  /** The record's partition key in its stream, so a replay routes it as it was routed. */
  readonly partitionKey?: string;
  /**
   * A KPL user record's explicit hash key, when its producer gave one: it chose the record's shard
   * instead of the partition key, and a replay routes the record with it again.
   */
  readonly explicitHashKey?: string;
  readonly operator: string;
  /** Why it was set aside (kept to its first 8,000 characters: see lib/storage/quarantine.ts). */
  readonly error: string;
  /**
   * The record's exact bytes (a Kinesis record's data, up to Kinesis' 10 MiB): kept whole and
   * binary-safe, and what `sparkless quarantine replay` puts back.
   */
  readonly data?: Uint8Array;
  /** A record that is not bytes (an element of an in-memory input), kept as the codec writes it. */
  readonly record?: unknown;
}

/** One quarantined record as `list` returns it: everything but its bytes, which `read` gives back. */
export interface QuarantineEntry extends Omit<QuarantinedRecord, "data"> {
  /** Names the entry to `read` (opaque). */
  readonly id: string;
  /** How many bytes the record has (absent for a record that is not bytes). */
  readonly size?: number;
  /** The record's first bytes, at most QUARANTINE_HEAD_BYTES (lib/storage/quarantine.ts). */
  readonly head?: Uint8Array;
  /**
   * Set when the exact bytes cannot be given back, saying why (an entry an older version stored cut
   * short); `read` then fails with a QuarantineDataError.
   */
  readonly unrecoverable?: string;
}

/**
 * Records set aside. Each record is kept whole, whatever its size (Kinesis records go up to 10 MiB):
 * `read` gives back exactly the bytes `put` was given, or fails with a QuarantineDataError saying why
 * it cannot; it never returns other bytes.
 */
export interface QuarantineStore {
  /** Keeps a record; a record with coordinates has one entry per (batch, record, sub-record, operator), so a retry replaces it. */
  put(record: QuarantinedRecord): Promise<void>;
  /** The entries in batch-time order, without their bytes. */
  list(options?: { limit?: number }): Promise<QuarantineEntry[]>;
  /** The exact bytes of an entry that has bytes (`size` set). */
  read(entry: QuarantineEntry): Promise<Uint8Array>;
}

/** Everything an app needs from the outside world. */
export interface EngineServices {
  readonly batchLog: BatchLog;
  readonly checkpoints: CheckpointStore;
  readonly state: StateStore;
  readonly quarantine: QuarantineStore;
  readonly sources: ReadonlyMap<string, StreamSource>;
  readonly lease?: LeaseStore;
  readonly tasks: TaskQueue;
  readonly results: ResultQueue;
  readonly claims: TaskClaims;
  readonly blobs: BlobStore;
  /** Where `s3://` outputs go. Absent: an output to an `s3://` path fails with an IllegalStateError. */
  readonly objects?: ObjectStore;
  /** Counts the requests this process sends (AWS engines), for the per-batch cost. */
  readonly meter?: RequestMeter;
}
