/**
 * The job generator: Spark's JobGenerator and ReceivedBlockTracker for one
 * app, run by the coordinator. It owns the batch clock's work for each
 * batch, in order:
 *
 * 1. **Fix the blocks.** Every input stream fixes its blocks from where the
 *    previous batch ended (Kinesis by sequence number, reading the records
 *    once and keeping them while they fit).
 * 2. **Write the batch record** (the write-ahead log) before anything of the
 *    batch runs, with the completion note of the batch before. A batch with
 *    no input is not written at once: a run of empty batches shares one
 *    record, written when the run ends, at a checkpoint or at a hand-over.
 * 3. **Run it**: in this process, every stage in memory, when it fits;
 *    otherwise the stages that read only input and shuffle data fan out to
 *    workers (see FanOut), and the rest runs here. Spark's StreamingListener
 *    events are raised here (lib/streaming/listener.ts), and the accumulator
 *    updates of every accepted task merged (lib/streaming/shared-variables.ts).
 * 4. **Complete it**: drop what no later batch reads, and checkpoint the
 *    state when a stream's checkpoint is due.
 *
 * State and stored results live in this process's memory (the BlockCache);
 * a coordinator that starts cold rebuilds what a batch needs from the latest
 * checkpoint and the batch records after it (see the planner), and re-runs
 * the batch that was running when its predecessor stopped.
 */
import { randomUUID } from "node:crypto";
import { Checkpointer, LeadershipLostError, type CheckpointerOptions, type CheckpointStats } from "../checkpoint/checkpointer.js";
import { sleep, type Clock } from "../core/clock.js";
import { Time } from "../core/duration.js";
import { IllegalStateError, TaskFailedError } from "../core/errors.js";
import { canonical } from "../core/keys.js";
import type { CompletedBatch, DStream } from "../dstream/dstream.js";
import { TaskContext, type ExecutorServices, type OutputActions } from "../rdd/scope.js";
import { RequestTally } from "../observability/cost.js";
import { recordAt } from "../storage/batch-log.js";
import { batchInfo, type BatchInfo, type OutputOperationInfo, type StreamInputInfo } from "../streaming/listener.js";
import { BatchSharedVariables, mergeTaskAccumulators } from "../streaming/shared-variables.js";
import type { BatchRecord, BlockDescriptor, CompletionNote, EngineServices, RecordBudget, StreamSource } from "../storage/interfaces.js";
import type { DStreamGraph } from "../streaming/graph.js";
import { BlockCache, MemoryShuffles } from "./block-manager.js";
import { FanOut, type FanOutOptions } from "./fan-out.js";
import { DriverOutputActions } from "./output-actions.js";
import { BatchPlan, type Stage } from "./planner.js";

/** The in-process limit in records before the coordinator has measured batches of that size. */
const DEFAULT_IN_PROCESS_RECORDS = 20_000;
/** How long a fanned-out batch's measured throughput counts in deciding where batches run. */
const FAN_RATE_TTL_MS = 5 * 60_000;

/** Where a batch runs. */
export interface ExecutionOptions {
  /**
   * "auto": in the coordinator unless the batch is larger than the limits below; "in-process": always
   * in the coordinator; "fan-out": every stage that can run on workers does (for users who want that
   * shape always). @default "auto"
   */
  mode?: "auto" | "in-process" | "fan-out";
  /**
   * Most input records a batch may have to run in the coordinator. @default the records the
   * coordinator processed in half a batch interval in its recent batches, at least 1,000 (20,000 before
   * it has measured batches of at least a quarter of that size); none while fanned-out batches have
   * lately been slower than running in process (their throughput measured within the last 5 minutes):
   * fanning out would only fall further behind, so only `maxInProcessBytes` sends a batch out then
   */
  maxInProcessRecords?: number;
  /** Most input bytes the coordinator keeps in memory for one batch. @default 64 MiB */
  maxInProcessBytes?: number;
}

export interface JobGeneratorOptions {
  /** Identifies this process in batch records and checkpoints. @default a random id */
  writer?: string;
  execution?: ExecutionOptions;
  /** Attempts per task before its batch fails (Spark's spark.task.maxFailures). @default 4 */
  maxTaskAttempts?: number;
  /** Delay before a failed task runs again, doubled on every attempt. @default 50 */
  retryDelayMs?: number;
  checkpoint?: CheckpointerOptions;
  fanOut?: FanOutOptions;
  /** A run of empty batches is written at the latest this long after it started (batch time). @default 60000 */
  maxEmptyRunMs?: number;
}

export interface GeneratorListener {
  /** The batch is recorded and about to run (Spark's onBatchSubmitted; see lib/streaming/listener.ts). */
  onBatchSubmitted?(info: BatchInfo): void;
  onBatchStarted?(info: BatchInfo): void;
  onOutputOperationStarted?(info: OutputOperationInfo): void;
  onOutputOperationCompleted?(info: OutputOperationInfo): void;
  onBatchCompleted?(record: BatchRecord, info: BatchInfo): void;
  onBatchFailed?(record: BatchRecord, error: TaskFailedError): void;
  onCheckpoint?(stats: CheckpointStats): void;
}

interface EmptyRun {
  from: number;
  to: number;
  blocks: Record<string, BlockDescriptor[]>;
  shape: string;
}

const RECENT_BATCHES = 100;

export class JobGenerator {
  readonly cache = new BlockCache();
  readonly writer: string;
  readonly checkpointer: Checkpointer;
  private readonly shuffles: MemoryShuffles;
  private readonly fanOut: FanOut;
  private readonly listeners = new Set<GeneratorListener>();
  private readonly interval: number;
  private readonly zero: number;
  private readonly maxTaskAttempts: number;
  private readonly retryDelayMs: number;
  private readonly maxEmptyRunMs: number;
  /** Input positions after the latest batch. */
  private lastInput: Record<string, unknown> = {};
  /** The latest batch this process ran or found in the log. */
  private lastTime: number;
  /** The latest record in the log, as far as this process knows. */
  private lastRecordTime: number | undefined;
  private emptyRun: EmptyRun | undefined;
  /** The completion of the latest recorded batch, to go into the next record. */
  private note: CompletionNote | undefined;
  private readonly recent: CompletedBatch[] = [];
  /** Records of recent batches, so recomputing them does not read the log. */
  private readonly records = new Map<number, BatchRecord>();
  /** In-process processing rate: records per millisecond, smoothed; and the size of the batches it was measured on, smoothed. */
  private rate: number | undefined;
  private rateRecords = 0;
  /** Fanned-out batches' throughput (records per millisecond of the whole batch, smoothed), and when last measured. */
  private fanRate: { rate: number; at: number } | undefined;
  private failedBatch: BatchRecord | undefined;
  /** The requests this process made since the last record that carries them (engines with a meter). */
  private readonly tally: RequestTally | undefined;
  /** The batch time up to which requests were tallied. */
  private tallied: number;

  constructor(
    readonly graph: DStreamGraph,
    readonly engine: EngineServices,
    readonly clock: Clock,
    private readonly options: JobGeneratorOptions = {},
  ) {
    this.writer = options.writer ?? `c-${randomUUID().slice(0, 8)}`;
    this.interval = graph.batchDuration.milliseconds;
    this.zero = graph.zeroTime.milliseconds;
    this.lastTime = this.zero;
    this.maxTaskAttempts = options.maxTaskAttempts ?? 4;
    this.retryDelayMs = options.retryDelayMs ?? 50;
    this.maxEmptyRunMs = options.maxEmptyRunMs ?? 60_000;
    this.tally = engine.meter ? new RequestTally(engine.meter) : undefined;
    this.tallied = this.zero;
    this.shuffles = new MemoryShuffles(engine.blobs);
    this.checkpointer = new Checkpointer(graph.checkpointed, this.zero, engine.checkpoints, this.cache, this.writer, clock, options.checkpoint);
    this.fanOut = new FanOut(engine, clock, { maxTaskAttempts: this.maxTaskAttempts, ...options.fanOut });
  }

  addListener(l: GeneratorListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** The time of the next batch to run. */
  get nextTime(): number {
    return this.lastTime + this.interval;
  }
  /** The newest batch known completed (run here, or completed in the log when this process resumed). */
  get lastCompletedTime(): number | undefined {
    return this.lastCompleted;
  }
  private lastCompleted: number | undefined;
  /** The batch that failed and stops the app, if any. */
  get failed(): BatchRecord | undefined {
    return this.failedBatch;
  }

  // ---- starting --------------------------------------------------------------------------

  /**
   * Brings this process in line with the log when it starts (or starts leading again): a process that
   * wrote the latest record keeps its memory; any other forgets it, and re-runs the latest batch if
   * that batch was left running.
   */
  async resume(signal?: AbortSignal): Promise<void> {
    const latest = await this.engine.batchLog.latestBatch();
    // Still the latest writer, and nothing changed since (a retried batch was failed here): memory is good.
    if (
      latest &&
      latest.writer === this.writer &&
      latest.time === this.lastRecordTime &&
      (latest.status === "failed") === (this.failedBatch !== undefined)
    )
      return;
    this.forget();
    // Records at or before the zero time belong to an earlier run of the app on the same engine.
    if (!latest || latest.time <= this.zero) return;
    this.lastTime = latest.time;
    this.lastRecordTime = latest.time;
    this.lastInput = latest.inputState ?? {};
    this.records.set(latest.time, latest);
    if (latest.status === "failed") {
      this.failedBatch = latest;
      return;
    }
    if (latest.status !== "running") {
      this.lastCompleted = latest.time;
      return;
    }
    // A checkpoint after a batch also says the batch completed.
    const manifest = await this.engine.checkpoints.latest();
    if (manifest && manifest.time >= latest.time && manifest.time > this.zero) {
      this.note = { time: latest.time, completedAt: manifest.createdAt };
      this.lastCompleted = latest.time;
      return;
    }
    // The batch was running when its coordinator stopped: run it again from its recorded blocks.
    // Its state comes from the latest checkpoint and the batches after it; its outputs run again.
    const done = await this.execute(latest, new Map(), latest.mode === "fan-out", signal);
    this.note = { time: done.time, completedAt: done.completedAt!, startedAt: done.startedAt };
  }

  /** Drops everything this process held in memory: another coordinator may have moved the app on. */
  private forget(): void {
    this.cache.clear();
    this.checkpointer.reset();
    this.records.clear();
    this.emptyRun = undefined;
    this.note = undefined;
    this.failedBatch = undefined;
    this.lastRecordTime = undefined;
    this.lastTime = this.zero;
    this.tallied = this.zero;
    this.lastCompleted = undefined;
    this.lastInput = {};
  }

  // ---- between batches -------------------------------------------------------------------

  /** Whether an input reads ahead between boundaries (Kinesis). */
  get readsAhead(): boolean {
    return this.graph.inputs.some((i) => i.spec.readAhead);
  }

  /**
   * Lets the inputs read ahead of the next boundary from where the next batch starts. Nothing of a batch
   * is decided here; an error is left to the boundary's read of the same records.
   */
  async readAhead(): Promise<void> {
    if (this.failedBatch) return;
    for (const input of this.graph.inputs) await input.spec.readAhead?.(this.lastInput[input.id]).catch(() => undefined);
  }

  // ---- one batch -------------------------------------------------------------------------

  /** Fixes, records and runs batch `time` (the next one), then checkpoints if due. */
  async runBatch(time: number, signal?: AbortSignal): Promise<BatchRecord> {
    if (this.failedBatch) throw this.failureError()!;
    if (time !== this.nextTime) throw new IllegalStateError(`Batch ${time} is not the next batch (${this.nextTime}).`);
    const maxBytes = this.options.execution?.maxInProcessBytes ?? 64 * 2 ** 20;
    const recordsLimit = this.fanOutSlower() ? Infinity : this.maxInProcessRecords();
    const budget: RecordBudget = { records: recordsLimit, bytes: maxBytes, exhausted: false };
    const blocks: Record<string, BlockDescriptor[]> = {};
    const inputState: Record<string, unknown> = {};
    const kept = new Map<string, unknown[]>();
    let inputRecords = 0;
    for (const input of this.graph.inputs) {
      const allocated = await input.spec.allocateBlocks!(new Time(time), this.lastInput[input.id], { budget, completed: this.recent });
      const a = Array.isArray(allocated) ? { blocks: allocated, state: undefined } : allocated;
      blocks[input.id] = a.blocks;
      if (!Array.isArray(allocated)) inputState[input.id] = a.state;
      a.blocks.forEach((b, i) => {
        inputRecords += b.count ?? 0;
        const records = "records" in a ? a.records?.[i] : undefined;
        if (records) kept.set(canonical(b), records);
      });
    }
    const empty = isEmpty({ inputRecords, blocks });
    // An empty batch has nothing to fan out; a batch past the budget does (unless told otherwise).
    const mode = this.options.execution?.mode ?? "auto";
    const tooLarge = budget.exhausted || inputRecords > recordsLimit;
    const fan = !empty && (mode === "fan-out" || (mode === "auto" && tooLarge));
    const record: BatchRecord = {
      time,
      blocks,
      inputState,
      status: "running",
      generatedAt: this.clock.now(),
      inputRecords,
      writer: this.writer,
      ...(fan ? { mode: "fan-out" as const } : {}),
    };
    if (empty) {
      await this.extendEmptyRun(time, blocks);
    } else {
      // The empty run before this batch, if any, is written with it: one record for all of them.
      const run = this.emptyRun;
      this.emptyRun = undefined;
      await this.writeRecord(run ? { ...record, emptyFrom: run.from, emptyBlocks: run.blocks } : record);
    }
    this.lastTime = time;
    this.lastInput = inputState;
    this.records.set(time, record);
    let done: BatchRecord;
    try {
      done = await this.execute(record, kept, fan, signal);
    } catch (e) {
      // The batch did not complete here: whoever runs the app next (this process too) must start from
      // the log, and run it again.
      if (!(e instanceof TaskFailedError)) this.lastRecordTime = undefined;
      throw e;
    }
    if (!empty) {
      const requests = done.requests;
      this.note = {
        time,
        completedAt: done.completedAt!,
        startedAt: done.startedAt,
        ...(done.quarantinedRecords ? { quarantinedRecords: done.quarantinedRecords } : {}),
        ...(requests ? { requests } : {}),
      };
    }
    if (this.checkpointer.due(time)) await this.checkpoint(time, false);
    else if (this.emptyRun && time - this.emptyRun.from >= this.maxEmptyRunMs) await this.flushEmptyRun();
    return done;
  }

  /** Batches since requests were last tallied (1 at the first one after a start: the start's own requests count with it). */
  private batchesSinceTally(time: number): number {
    return this.tallied > this.zero ? (time - this.tallied) / this.interval : 1;
  }

  /** Runs a recorded batch to completion: in process, or with its remote stages fanned out. */
  private async execute(record: BatchRecord, kept: Map<string, unknown[]>, fan: boolean, signal?: AbortSignal): Promise<BatchRecord> {
    const time = record.time;
    const outputs = new Map<number, OutputOperationInfo>();
    const info = this.batchInfoOf(record, outputs);
    for (const l of this.listeners) l.onBatchSubmitted?.(info({}));
    const startedAt = this.clock.now();
    for (const l of this.listeners) l.onBatchStarted?.(info({ processingStartTime: startedAt }));
    const quarantined = new Set<string>();
    const services = this.services(kept);
    const runId = randomUUID().slice(0, 12);
    // Broadcasts and accumulators created while this batch is planned and run (lib/streaming/shared-variables.ts).
    const shared = new BatchSharedVariables(time, "driver", runId, this.engine.blobs);
    try {
      await shared.run(async () => {
        const plan = await BatchPlan.create(this.graph, new Time(time), record.blocks, {
          services,
          loadBatch: (t) => this.loadBatch(t),
          recover: (s, t) => this.checkpointer.recover(s, t),
        });
        shared.planned();
        const remote = (stage: Stage) => fan && stage.kind === "shuffle" && stage.remote && stage.numTasks > 0;
        let outputRuns = 0;
        const nextOutputRun = () => outputRuns++;
        // Shuffle stages run here together with the later ones of the same RDD (one pass over it).
        const ranWith = new Set<number>();
        for (const stage of plan.stages) {
          if (ranWith.has(stage.index)) continue;
          if (remote(stage)) {
            // Workers plan the batch again and read the broadcasts its planning created from the blob store.
            await shared.publish();
            const r = await this.fanOut.runStage(plan, stage as Stage & { kind: "shuffle" }, runId, this.shuffles, signal);
            for (const q of r.quarantined) quarantined.add(q);
          } else {
            const together = plan.fusableWith(stage.index, (s) => !remote(s) && !ranWith.has(s.index));
            for (const i of together) ranWith.add(i);
            // In a fanned-out batch, an output function's per-partition actions go to the workers (output-actions.ts).
            const outputActions =
              fan && stage.kind === "output"
                ? (tc: TaskContext, attempt: AbortSignal) =>
                    new DriverOutputActions(async (rdd, action, values, abandon) => {
                      const broadcasts = await shared.publish(true);
                      const stop = AbortSignal.any(signal ? [signal, attempt, abandon] : [attempt, abandon]);
                      const r = await this.fanOut.runAction(
                        plan,
                        stage,
                        rdd,
                        action,
                        { broadcasts, values },
                        tc.accumulators,
                        runId,
                        this.shuffles,
                        stop,
                      );
                      for (const q of r.quarantined) quarantined.add(q);
                    }, nextOutputRun)
                : undefined;
            await this.runLocal(plan, stage, quarantined, together, outputs, outputActions);
          }
        }
      });
    } catch (e) {
      // What the batch stored so far stays: each stored partition is whole, and a run again reuses it.
      if (e instanceof TaskFailedError) await this.fail(record, e);
      throw e;
    } finally {
      this.shuffles.deleteBatch(time);
    }
    const completedAt = this.clock.now();
    const elapsed = completedAt - startedAt;
    if ((record.inputRecords ?? 0) > 0) this.measure(record.inputRecords!, elapsed, fan);
    this.evict(time);
    // The requests since the record before, for a batch with input: its own, with the empty run before it, lease
    // renewals and checkpoints (an empty batch's wait for the record that ends its run).
    const empty = isEmpty(record);
    const requests = empty ? undefined : this.tally?.take(this.batchesSinceTally(time));
    if (!empty) this.tallied = time;
    const done: BatchRecord = {
      ...record,
      status: "completed",
      startedAt,
      completedAt,
      ...(quarantined.size ? { quarantinedRecords: quarantined.size } : {}),
      ...(requests ? { requests } : {}),
    };
    this.lastCompleted = time;
    this.recent.push({ time, startedAt, completedAt, inputRecords: record.inputRecords ?? 0 });
    if (this.recent.length > RECENT_BATCHES) this.recent.shift();
    const completed = info({ processingStartTime: startedAt, processingEndTime: completedAt });
    for (const l of this.listeners) l.onBatchCompleted?.(done, completed);
    return done;
  }

  /** Spark's BatchInfo of a batch, as it stands: its inputs now, its times and output operations as given. */
  private batchInfoOf(record: BatchRecord, outputs: Map<number, OutputOperationInfo>) {
    const streamIdToInputInfo = new Map<string, StreamInputInfo>();
    let numRecords = 0;
    for (const input of this.graph.inputs) {
      const blocks = record.blocks[input.id] ?? [];
      const n = blocks.reduce((a, b) => a + (b.count ?? 0), 0);
      numRecords += n;
      streamIdToInputInfo.set(input.id, { inputStreamId: input.id, numRecords: n, metadata: { blocks: blocks.length } });
    }
    return (times: { processingStartTime?: number; processingEndTime?: number }): BatchInfo =>
      batchInfo({
        batchTime: new Time(record.time),
        streamIdToInputInfo,
        submissionTime: record.time,
        numRecords,
        outputOperationInfos: new Map(outputs),
        ...times,
      });
  }

  /** Runs every partition of a stage here, each with its attempts. */
  private async runLocal(
    plan: BatchPlan,
    stage: Stage,
    quarantined: Set<string>,
    together: readonly number[] = [],
    outputs?: Map<number, OutputOperationInfo>,
    /** An output task's OutputActions; `attempt` is aborted when the attempt fails, abandoning the tasks it still waits for. */
    outputActions?: (tc: TaskContext, attempt: AbortSignal) => OutputActions,
  ): Promise<void> {
    // An output operation's job (Spark's): its events around its one task, whatever its attempts.
    let op: OutputOperationInfo | undefined;
    if (stage.kind === "output") {
      const id = this.graph.outputs.indexOf(stage.stream);
      const parent = stage.stream.parents[0];
      op = {
        batchTime: new Time(plan.batchTime),
        id,
        name: stage.stream.kind,
        description: `${stage.stream.kind} of ${parent ? parent.id : stage.stream.id}`,
        startTime: this.clock.now(),
      };
      outputs?.set(id, op);
      for (const l of this.listeners) l.onOutputOperationStarted?.(op);
    }
    const ended = (failureReason?: string) => {
      if (!op) return;
      const endTime = this.clock.now();
      op = { ...op, endTime, duration: endTime - op.startTime!, ...(failureReason !== undefined ? { failureReason } : {}) };
      outputs?.set(op.id, op);
      for (const l of this.listeners) l.onOutputOperationCompleted?.(op);
    };
    for (let p = 0; p < stage.numTasks; p++) {
      for (let attempt = 1; ; attempt++) {
        const tc = new TaskContext(plan, `${stage.index}/${p}`, {}, stage.index, quarantined);
        // The output function is driver code: its accumulator reads see the driver's value.
        tc.accumulators.driverSide = stage.kind === "output";
        const attemptEnded = new AbortController();
        if (outputActions) tc.outputActions = outputActions(tc, attemptEnded.signal);
        try {
          if (stage.kind === "shuffle" && together.length) {
            const indexes = [stage.index, ...together];
            const all = await tc.runAs(() => plan.runShufflesTogether(indexes, p, tc));
            for (let i = 0; i < indexes.length; i++) {
              const s = plan.stages[indexes[i]!] as Stage & { kind: "shuffle" };
              await this.shuffles.write(plan.batchTime, s.dep.shuffleId, p, all[i]!);
            }
            // The task's result is accepted: its accumulator updates count, once.
            mergeTaskAccumulators(tc);
            break;
          }
          const buckets = await tc.runAs(() => plan.runTask(stage.index, p, tc));
          if (stage.kind === "shuffle") await this.shuffles.write(plan.batchTime, stage.dep.shuffleId, p, buckets!);
          mergeTaskAccumulators(tc);
          break;
        } catch (e) {
          attemptEnded.abort(e);
          if (attempt >= this.maxTaskAttempts) {
            const message = e instanceof Error ? e.message : String(e);
            ended(message);
            throw new TaskFailedError(
              `Task ${stage.id} partition ${p} of batch ${plan.batchTime} failed ${attempt} time(s); the batch has failed: ${message}`,
              plan.batchTime,
              stage.id,
              p,
              attempt,
              { cause: e },
            );
          }
          if (this.retryDelayMs > 0) await sleep(this.retryDelayMs * 2 ** (attempt - 1));
        }
      }
    }
    ended();
  }

  /** What tasks of this process read and write: memory, the per-key store, the quarantine, and input (kept records first). */
  private services(kept: Map<string, unknown[]>): ExecutorServices {
    const sources = new Map<string, StreamSource>();
    for (const [name, src] of this.engine.sources) {
      sources.set(name, {
        name,
        read: (b) => {
          const r = kept.get(canonical(b));
          return r ? Promise.resolve(r) : src.read(b);
        },
      });
    }
    return {
      shuffles: this.shuffles,
      blocks: this.cache,
      state: this.engine.state,
      quarantine: this.engine.quarantine,
      sources,
      ...(this.engine.objects ? { objects: this.engine.objects } : {}),
    };
  }

  /** A batch's record: from memory, the empty run not written yet, or the log. */
  private async loadBatch(time: number): Promise<BatchRecord | undefined> {
    const known = this.records.get(time);
    if (known) return known;
    const run = this.emptyRun;
    if (run && time >= run.from && time <= run.to)
      return recordAt(time, { time: run.to, blocks: run.blocks, emptyFrom: run.from, emptyBlocks: run.blocks, status: "completed", generatedAt: 0 });
    const r = await this.engine.batchLog.getBatch(time);
    if (r) this.records.set(time, r);
    return r;
  }

  /** Drops stored results no later batch reads, and records of batches older than any stored result. */
  private evict(time: number): void {
    let oldest = time;
    for (const s of this.graph.reachable) {
      const stream = s as DStream<unknown>;
      if (!stream.isPersisted || stream.spec.durableState) continue;
      const keepFrom = time - stream.rememberDuration!.milliseconds + 1;
      this.cache.evictBefore(stream.id, keepFrom);
      oldest = Math.min(oldest, keepFrom);
    }
    for (const t of this.records.keys()) if (t < oldest - this.interval) this.records.delete(t);
  }

  /** The in-process limit: what the coordinator processed in half an interval lately. */
  private maxInProcessRecords(): number {
    const set = this.options.execution?.maxInProcessRecords;
    if (set !== undefined) return set;
    if (this.rate === undefined) return DEFAULT_IN_PROCESS_RECORDS;
    const byRate = Math.max(1000, Math.floor(this.rate * this.interval * 0.5));
    // A rate measured on batches under a quarter of the size it allows says little about that size: a
    // batch's fixed cost (the update of every key of the state, say) dominates small batches, so 1,000
    // records in 50 ms does not mean 10,000 would take 500. The default stands until larger batches
    // are measured, or the rate allows more.
    return this.rateRecords * 4 >= byRate ? byRate : Math.max(byRate, DEFAULT_IN_PROCESS_RECORDS);
  }
  /**
   * Whether fanned-out batches have lately been no faster than the coordinator runs batches itself (the
   * engine's workers share its machine, or their cold starts outweigh their CPU). Fanning out again then
   * only falls further behind, each late batch larger and slower than the last. The measure expires after
   * 5 minutes, so a large batch fans out again and is measured again.
   */
  private fanOutSlower(): boolean {
    if (this.options.execution?.maxInProcessRecords !== undefined || this.rate === undefined || !this.fanRate) return false;
    if (this.clock.now() - this.fanRate.at > FAN_RATE_TTL_MS) return false;
    return this.fanRate.rate <= this.rate;
  }
  private measure(records: number, ms: number, fannedOut: boolean): void {
    if (records < 100) return;
    const r = records / Math.max(1, ms);
    if (fannedOut) {
      const fresh = this.fanRate && this.clock.now() - this.fanRate.at <= FAN_RATE_TTL_MS;
      this.fanRate = { rate: fresh ? 0.8 * this.fanRate!.rate + 0.2 * r : r, at: this.clock.now() };
      return;
    }
    this.rate = this.rate === undefined ? r : 0.8 * this.rate + 0.2 * r;
    this.rateRecords = this.rateRecords === 0 ? records : 0.8 * this.rateRecords + 0.2 * records;
  }

  // ---- the log ---------------------------------------------------------------------------

  private async writeRecord(record: BatchRecord): Promise<void> {
    const r: BatchRecord = { ...record, ...(this.note ? { previous: this.note } : {}) };
    await this.create(r);
    this.note = undefined;
  }

  /** Creates a record, conditionally: losing the race means another coordinator leads the app. */
  private async create(record: BatchRecord): Promise<void> {
    if (!(await this.engine.batchLog.createBatch(record))) {
      const stored = await this.engine.batchLog.getBatch(record.time);
      // Our own write whose response was lost and retried is fine; anyone else's is not.
      if (stored?.writer !== this.writer || stored.emptyFrom !== record.emptyFrom) {
        throw new LeadershipLostError(`Another coordinator wrote the record of batch ${record.time}: this one no longer leads the app and stops.`);
      }
    }
    this.lastRecordTime = record.time;
  }

  private async extendEmptyRun(time: number, blocks: Record<string, BlockDescriptor[]>): Promise<void> {
    const shape = canonical(blocks);
    if (this.emptyRun && this.emptyRun.shape === shape) {
      this.emptyRun.to = time;
      return;
    }
    // A different set of empty blocks (a shard split, say) starts a new run; the old one is written first.
    await this.flushEmptyRun();
    this.emptyRun = { from: time, to: time, blocks, shape };
  }

  /** Writes the pending run of empty batches as one completed record at its last time. */
  private async flushEmptyRun(): Promise<void> {
    const run = this.emptyRun;
    if (!run) return;
    const record: BatchRecord = {
      time: run.to,
      blocks: run.blocks,
      inputState: this.lastInput,
      status: "completed",
      generatedAt: this.clock.now(),
      inputRecords: 0,
      writer: this.writer,
      ...(run.from < run.to ? { emptyFrom: run.from, emptyBlocks: run.blocks } : {}),
      ...(this.note ? { previous: this.note } : {}),
    };
    const requests = this.tally?.take(this.batchesSinceTally(run.to));
    this.tallied = run.to;
    if (requests) record.requests = requests;
    await this.create(record);
    this.emptyRun = undefined;
    this.note = undefined;
    this.records.set(run.to, record);
  }

  private async fail(record: BatchRecord, error: TaskFailedError): Promise<void> {
    // An empty batch has no record yet: write it, so its failure is in the log.
    if (this.emptyRun?.to === record.time) await this.flushEmptyRun();
    const patch = { status: "failed" as const, error: error.message, completedAt: this.clock.now() };
    if (!(await this.engine.batchLog.updateBatch(record.time, "running", patch))) {
      await this.engine.batchLog.updateBatch(record.time, "completed", patch);
    }
    this.failedBatch = { ...record, ...patch };
    for (const l of this.listeners) l.onBatchFailed?.(this.failedBatch, error);
  }

  /** The error that stops the app while a batch is failed. */
  failureError(): TaskFailedError | undefined {
    const r = this.failedBatch;
    if (!r) return undefined;
    return new TaskFailedError(
      `Batch ${r.time} failed: ${r.error ?? "unknown error"}. Fix the cause, then run it again with \`sparkless retry\`.`,
      r.time,
      "?",
      0,
      0,
    );
  }

  // ---- checkpoints and hand-over ---------------------------------------------------------

  /** Checkpoints after batch `time` (the due streams, or all), writing the empty run first so the log covers it. */
  async checkpoint(time: number, all: boolean): Promise<CheckpointStats | undefined> {
    await this.flushEmptyRun();
    const stats = await this.checkpointer.write(time, all);
    // (The completion note stays for the next record: readers of the log do not read manifests.)
    if (stats) for (const l of this.listeners) l.onCheckpoint?.(stats);
    return stats;
  }

  /** Leaves the log complete for whoever runs the app next: the empty run written, every stream checkpointed. */
  async handOver(): Promise<void> {
    if (this.failedBatch || this.lastTime <= this.zero) return;
    await this.checkpoint(this.lastTime, true);
    if (this.note) {
      // Nothing to checkpoint (a stateless app): the latest batch's completion goes on its own record.
      const n = this.note;
      const patch = {
        status: "completed" as const,
        completedAt: n.completedAt,
        ...(n.startedAt ? { startedAt: n.startedAt } : {}),
        ...(n.requests ? { requests: n.requests } : {}),
      };
      if (await this.engine.batchLog.updateBatch(n.time, "running", patch)) this.note = undefined;
    }
  }
}

/** A batch without input: no record read, and every block counted empty while its blocks were fixed. */
function isEmpty(r: Pick<BatchRecord, "inputRecords" | "blocks">): boolean {
  return (r.inputRecords ?? 0) === 0 && Object.values(r.blocks).every((bs) => bs.every((b) => b.count === 0));
}
