/**
 * The narrow storage and transport interfaces the engine runs on.
 *
 * The core (DStream graph, planner, tasks, state semantics) talks only to
 * these. `memory.ts` implements them in process; the AWS adapters implement
 * them over DynamoDB, SQS and Kinesis. Every write here is idempotent for the
 * same arguments, because any task may run twice (a retry, a duplicate SQS
 * delivery, a visibility timeout that expired under a slow worker).
 */

/** Where one partition of an input batch comes from. Opaque to the core; each input stream knows its own. */
export interface BlockDescriptor {
  /** Which source reads it: "memory", "kinesis", ... */
  readonly source: string;
  readonly [field: string]: unknown;
}

export type BatchStatus = "generated" | "running" | "completed" | "failed";

export interface MaterializedInfo {
  readonly partitions: number;
  /** Set when the stored data is hash-partitioned by key into this many partitions. */
  readonly hashPartitions?: number;
}

export interface StageSummary {
  /** Stable id within the batch, e.g. "0:shuffle-7". */
  readonly id: string;
  readonly numTasks: number;
}

/** The write-ahead record of one batch, written before any of its tasks is sent. */
export interface BatchRecord {
  readonly time: number;
  /** Input blocks per input stream id, fixed when the batch is generated. */
  readonly blocks: Record<string, BlockDescriptor[]>;
  /** Each input stream's position after this batch (Kinesis: the last sequence number read per shard). */
  readonly inputState?: Record<string, unknown>;
  /** The context's zero time: every process plans the batch from it. */
  readonly zeroTime?: number;
  /** The durable operations of the graph that generated the batch (see DStreamGraph.fingerprint). */
  readonly fingerprint?: readonly { readonly id: string; readonly kind: string; readonly partitions?: number; readonly input?: string }[];
  /** The planned stages, in the order they run. */
  readonly stages: StageSummary[];
  /** The DStreams materialized in this batch, read by later batches' windows and state. */
  readonly materialized: Record<string, MaterializedInfo>;
  status: BatchStatus;
  /** Wall-clock milliseconds (from the injected clock). */
  generatedAt: number;
  startedAt?: number;
  completedAt?: number;
  /** The stage whose tasks were sent last, and when: the batch's progress, for recovery. */
  currentStage?: number;
  stageSentAt?: number;
  /** How many times the batch was retried after failing (`sparkless retry`). */
  retries?: number;
  /** Records read from the input blocks. */
  inputRecords?: number;
  /** Distinct records quarantined in this batch (set when it completes). */
  quarantinedRecords?: number;
  error?: string;
}

export interface TaskCompletion {
  /** False when this (stage, partition) had already been recorded: a duplicate or retried task. */
  readonly first: boolean;
  /** How many distinct partitions of the stage are complete, this one included. */
  readonly completed: number;
}

/** The batch log: Spark's ReceivedBlockTracker write-ahead log plus job progress. */
export interface BatchLog {
  /** Creates the record; returns false (and changes nothing) if a record for this time exists. */
  createBatch(record: BatchRecord): Promise<boolean>;
  getBatch(time: number): Promise<BatchRecord | undefined>;
  /** Conditional update: applies `patch` only while the status is `expected`. */
  updateBatch(time: number, expected: BatchStatus, patch: Partial<BatchRecord>): Promise<boolean>;
  /** The latest batch before `beforeTime` (any batch if not given): one read, however long the history. */
  latestBatch(beforeTime?: number): Promise<BatchRecord | undefined>;
  /** Batches in time order, optionally from a time on. */
  listBatches(options?: { fromTime?: number; limit?: number }): Promise<BatchRecord[]>;
  /**
   * Claims a task before running it, so that two deliveries of one task do
   * not run at once. "claimed": run it; "busy": another attempt holds an
   * unexpired lease, try again later; "done": it already completed.
   */
  claimTask(time: number, stage: number, partition: number, owner: string, leaseUntil: number, now: number): Promise<"claimed" | "busy" | "done">;
  /**
   * Gives up a claim after a failed attempt, so a retry can claim the task at
   * once, and counts the failure: returns how many attempts of the task have
   * failed so far (redeliveries that did not fail do not count).
   */
  releaseTask(time: number, stage: number, partition: number, owner: string): Promise<number>;
  /** Records that one task finished, at most once per (time, stage, partition). */
  completeTask(time: number, stage: number, partition: number): Promise<TaskCompletion>;
  /** The partitions of a stage recorded complete so far. */
  completedTasks(time: number, stage: number): Promise<number[]>;
  /** Adds to the batch's counters (records read, records quarantined). */
  addCounters(time: number, counters: Record<string, number>): Promise<void>;
  deleteBatchesBefore(time: number): Promise<void>;
}

/** Map-side output of a shuffle, one chunk per (map partition, reduce partition). */
export interface ShuffleStore {
  /** Writes every bucket of one map task; `buckets[r]` holds the records for reduce partition r. */
  write(batchTime: number, shuffleId: string, mapPartition: number, buckets: unknown[][]): Promise<void>;
  /** The chunks for one reduce partition, one per map partition in map-partition order. */
  read(batchTime: number, shuffleId: string, reducePartition: number, numMapPartitions: number): Promise<unknown[][]>;
  deleteBatch(batchTime: number): Promise<void>;
}

/** Materialized DStream output (persist/cache, window inputs), one array per (stream, time, partition). */
export interface BlockStore {
  put(streamId: string, time: number, partition: number, records: unknown[]): Promise<void>;
  get(streamId: string, time: number, partition: number): Promise<unknown[] | undefined>;
  deleteBefore(streamId: string, time: number): Promise<void>;
}

/** One key's state, with the batch time at which it last changed or saw data. */
export interface StateEntry {
  readonly key: unknown;
  readonly value: unknown;
  readonly updatedAt: number;
}

/**
 * Versioned keyed state for updateStateByKey and mapWithState.
 *
 * A commit at batch time T never hides what a read "as of" an earlier time
 * sees, so a retried task for T reads exactly the state its first attempt
 * read, even when that attempt had written half of T's changes.
 */
export interface StateStore {
  /** Every entry of one partition as it stood after batch `asOf`. */
  scan(operatorId: string, partition: number, asOf: number): Promise<StateEntry[]>;
  /** The entries for some keys as they stood after batch `asOf`; absent keys are left out. */
  getMany(operatorId: string, partition: number, keys: unknown[], asOf: number): Promise<StateEntry[]>;
  /** Writes the changes batch `time` made to one partition. Idempotent for the same time and changes. */
  commit(operatorId: string, partition: number, time: number, puts: StateEntry[], removes: unknown[]): Promise<void>;
}

/** One unit of work: a partition of a stage of a batch. */
export interface TaskMessage {
  readonly batchTime: number;
  readonly stage: number;
  readonly partition: number;
}

export interface ReceivedTask {
  readonly task: TaskMessage;
  readonly receipt: string;
  /** How many times this message has been received, this time included (SQS ApproximateReceiveCount). */
  readonly receiveCount: number;
}

/** The task queue: SQS in AWS, an in-process queue in memory. At-least-once delivery. */
export interface TaskQueue {
  send(tasks: TaskMessage[]): Promise<void>;
  receive(options: { max: number; waitMs: number; signal?: AbortSignal }): Promise<ReceivedTask[]>;
  /** The task is done: delete the message. */
  ack(receipt: string): Promise<void>;
  /** Deletes several messages (SQS: DeleteMessageBatch, as the event source mapping does). */
  ackMany(receipts: string[]): Promise<void>;
  /** The task failed: make it visible again after `delayMs`. */
  release(receipt: string, delayMs: number): Promise<void>;
}

/** Reads the records of input blocks. */
export interface StreamSource {
  readonly name: string;
  read(block: BlockDescriptor): Promise<unknown[]>;
}

/** A source whose blocks the coordinator fixes by position (Kinesis). */
export interface ReplayableSource extends StreamSource {
  /** Fixes one batch's blocks of `stream` from the positions after the previous batch. */
  allocate(stream: string, previous: unknown, options: { maxRecordsPerShard?: number; arrivalBefore?: number }): Promise<{ blocks: BlockDescriptor[]; state: unknown }>;
}

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
  readonly operator: string;
  readonly error: string;
  readonly record: unknown;
}

export interface QuarantineStore {
  /** Keeps a record; a record with coordinates has one entry per (batch, record, operator), so a retry replaces it. */
  put(record: QuarantinedRecord): Promise<void>;
  /** How many entries a batch has. */
  count(batchTime: number): Promise<number>;
  list(options?: { limit?: number }): Promise<QuarantinedRecord[]>;
}

/** Everything a batch needs from the outside world. */
export interface EngineServices {
  readonly batchLog: BatchLog;
  readonly shuffles: ShuffleStore;
  readonly blocks: BlockStore;
  readonly state: StateStore;
  readonly queue: TaskQueue;
  readonly quarantine: QuarantineStore;
  readonly sources: ReadonlyMap<string, StreamSource>;
  readonly lease?: LeaseStore;
}
