/**
 * The batch planner: compiles the DStream graph at one batch time into
 * stages, as Spark's JobGenerator and DAGScheduler do together.
 *
 * Planning is deterministic: given the graph, the batch time, the batch's
 * recorded input blocks and the set of stream results the coordinator had
 * in memory, every process gets the same RDDs, ids and stages. The
 * coordinator plans each batch; a worker plans it again, from the same
 * inputs, to find the stage and partition its task names.
 *
 * Stages, in the order they run:
 * - a **shuffle** stage per shuffle dependency: one task per map partition,
 *   each runs its pipelined narrow operations and buckets its output;
 * - a **materialize** stage per persisted stream result (state, window
 *   inputs, `persist()`): one task per partition, keeps the result in the
 *   coordinator's memory so later stages and batches read it;
 * - an **output** stage per output operation (print, foreachRDD,
 *   saveAsTextFiles), run with the batch's RDD.
 *
 * A persisted stream's result at an earlier time is read from memory when
 * the coordinator still holds it, loaded from a checkpoint when one holds it,
 * and otherwise recomputed from its lineage: the recorded input blocks of
 * that earlier batch, and the stream's own earlier result, recursively, down
 * to a checkpoint. That recursion is how a coordinator that starts cold
 * recovers: Spark's recomputation from checkpointed RDDs and the write-ahead
 * log, done lazily, for exactly what the batch needs.
 */
import { Time } from "../core/duration.js";
import { MissingDataError, NonDeterministicPlanError, RecordFailedError, RecordProcessingError, recordKey } from "../core/errors.js";
import { HashPartitioner, type Partitioner } from "../core/keys.js";
import type { DStream } from "../dstream/dstream.js";
import { defaultRecordErrorPolicy, recordErrorPolicyOf, type RecordErrorPolicy } from "../dstream/record-errors.js";
import type { Planner } from "../dstream/planner-api.js";
import { LeafRDD, ParallelRDD, ShuffleDependency, type Emit, type RDD } from "../rdd/rdd.js";
import { TaskContext, type ExecutorServices } from "../rdd/scope.js";
import type { BatchRecord, BlockDescriptor, OutputActionRef } from "../storage/interfaces.js";
import type { StoredInfo } from "./block-manager.js";
import { OutputReached, ReplayOutputActions } from "./output-actions.js";
import { currentBatchSharedVariables } from "../streaming/shared-variables.js";

type AnyDep = ShuffleDependency<unknown, unknown, unknown>;
/** Beyond this many poison records in one task, the task fails: something other than a bad record is wrong. */
const MAX_POISON_RECORDS_PER_TASK = 100;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export type Stage =
  | {
      readonly kind: "shuffle";
      readonly index: number;
      readonly id: string;
      readonly numTasks: number;
      readonly dep: AnyDep;
      readonly remote: boolean;
    }
  | {
      readonly kind: "materialize";
      readonly index: number;
      readonly id: string;
      readonly numTasks: number;
      readonly stream: DStream<unknown>;
      readonly rdd: RDD<unknown>;
      readonly time: number;
    }
  | {
      readonly kind: "output";
      readonly index: number;
      readonly id: string;
      readonly numTasks: number;
      readonly stream: DStream<unknown>;
      readonly rdd: RDD<unknown>;
    };

/** What the planner needs from the DStream graph. */
export interface PlannableGraph {
  readonly zeroTime: Time;
  readonly defaultParallelism: number;
  /** Every stream in creation order (parents before children). */
  readonly streams: readonly DStream<unknown>[];
  readonly outputs: readonly DStream<unknown>[];
  /** Streams reachable from an output, in creation order. */
  readonly reachable: ReadonlySet<DStream<unknown>>;
}

/** Where the planner finds what earlier batches left. */
export interface PlanContext {
  readonly services: ExecutorServices;
  readonly loadBatch: (time: number) => Promise<BatchRecord | undefined>;
  /** Loads a stream's checkpointed result at `time` into memory, if a checkpoint holds it (the coordinator). */
  readonly recover?: (stream: DStream<unknown>, time: number) => Promise<StoredInfo | undefined>;
  /**
   * A worker has no memory of stored results: it plans as stored exactly the results the coordinator
   * read from memory (`id@time` → partitions), so both get the same stages.
   */
  readonly storedHints?: ReadonlyMap<string, StoredInfo>;
}

/** `id@time/partitions/hashPartitions`: a stored result as task messages carry it. */
export function encodeStored(key: string, info: StoredInfo): string {
  return `${key}/${info.partitions}/${info.hashPartitions ?? ""}`;
}
export function decodeStored(hints: readonly string[]): Map<string, StoredInfo> {
  return new Map(
    hints.map((h) => {
      const [key, partitions, hash] = h.split("/") as [string, string, string];
      return [key, { partitions: Number(partitions), ...(hash ? { hashPartitions: Number(hash) } : {}), origin: "computed" } satisfies StoredInfo];
    }),
  );
}

export class BatchPlan implements Planner {
  readonly stages: Stage[] = [];
  readonly batchTime: number;
  readonly zeroTime: Time;
  readonly defaultParallelism: number;
  readonly services: ExecutorServices;
  /** The stored results this plan reads (`id@time`), as workers must plan them. */
  readonly stored = new Map<string, StoredInfo>();
  private rddIds = 0;
  private readonly planned = new Set<AnyDep>();
  private readonly generated = new Map<string, Promise<RDD<unknown> | undefined>>();
  private readonly visited = new Set<RDD<unknown>>();

  private constructor(
    readonly graph: PlannableGraph,
    readonly time: Time,
    private readonly blocks: Record<string, BlockDescriptor[]>,
    private readonly context: PlanContext,
  ) {
    this.batchTime = time.milliseconds;
    this.zeroTime = graph.zeroTime;
    this.defaultParallelism = graph.defaultParallelism;
    this.services = context.services;
  }

  /** Plans batch `time` with its recorded input blocks. */
  static async create(graph: PlannableGraph, time: Time, blocks: Record<string, BlockDescriptor[]>, context: PlanContext): Promise<BatchPlan> {
    const plan = new BatchPlan(graph, time, blocks, context);
    // Persisted streams first, parents before children, so that a stream valid at this time is
    // materialized even when no output reads it now (a window's parent between two slides).
    for (const s of graph.streams) {
      if (s.isPersisted && graph.reachable.has(s)) await plan.getOrCompute(s, time);
    }
    for (const out of graph.outputs) {
      if (!out.isTimeValid(time)) continue;
      const rdd = await plan.getOrCompute(out.parents[0]!, time);
      if (!rdd) continue;
      plan.addShuffleStages(rdd);
      plan.addStage({ kind: "output", id: `output:${out.id}`, numTasks: 1, stream: out, rdd });
    }
    return plan;
  }

  /** The stored results as task messages carry them. */
  storedHints(): string[] {
    return [...this.stored].map(([k, info]) => encodeStored(k, info));
  }

  /**
   * Checks that this process planned stage `index` as the coordinator did; a difference means a
   * non-deterministic pipeline. An output action's tasks are counted by its RDD's partitions, which
   * the worker checks when its replay reaches the action (output-actions.ts).
   */
  verifyStage(index: number, id: string, numTasks: number, action = false): void {
    const mine = this.stages[index];
    if (!mine || mine.id !== id || (action ? mine.kind !== "output" : mine.numTasks !== numTasks)) {
      throw new NonDeterministicPlanError(
        `Batch ${this.batchTime} planned stage ${index} here as ${mine ? `${mine.id}×${mine.numTasks}` : "nothing"}, but the coordinator planned ${id}×${numTasks}. A transform() function or the app module must build the same graph every time: no randomness, clock reads or environment-dependent branches.`,
      );
    }
  }

  // ---- RDDScope ------------------------------------------------------------------------------

  nextRddId(): number {
    return ++this.rddIds;
  }
  isPlannedShuffle(dep: AnyDep): boolean {
    return this.planned.has(dep);
  }

  // ---- Planner -------------------------------------------------------------------------------

  getOrCompute<T>(stream: DStream<T>, time: Time): Promise<RDD<T> | undefined> {
    if (!stream.isTimeValid(time)) return Promise.resolve(undefined);
    const key = `${stream.id}@${time.milliseconds}`;
    let p = this.generated.get(key);
    if (!p) {
      p = this.generate(stream as DStream<unknown>, time);
      this.generated.set(key, p);
    }
    return p as Promise<RDD<T> | undefined>;
  }

  /**
   * Makes a stateful stream's state after batch `time` readable by this batch (mapWithState reads its
   * state apart from its mapped elements): from memory, a checkpoint, or by computing the stream at
   * `time`. Returns false when the stream has no result at `time` (before its first batch).
   */
  async stateAt(stream: DStream<unknown>, time: Time): Promise<boolean> {
    if (!stream.isTimeValid(time)) return false;
    if (await this.storedInfo(stream, time.milliseconds, true)) return true;
    return (await this.getOrCompute(stream, time)) !== undefined;
  }

  /** A stored result of `stream` at `t` this plan may read, noting it for workers; undefined: it must be computed. */
  private async storedInfo(stream: DStream<unknown>, t: number, stateOnly: boolean): Promise<StoredInfo | undefined> {
    const key = `${stream.id}@${t}`;
    const known = this.stored.get(key);
    if (known) return known;
    let info: StoredInfo | undefined;
    if (this.context.storedHints) {
      info = this.context.storedHints.get(key);
    } else {
      // The current batch's own result is in memory only if an earlier attempt of this batch stored it.
      info = this.services.blocks.info(stream.id, t) ?? (t < this.batchTime ? await this.context.recover?.(stream, t) : undefined);
      // A checkpoint of mapWithState holds its state, not the elements it mapped.
      if (info?.origin === "checkpoint" && !stateOnly && stream.spec.storedForm === "mapped-state") info = undefined;
    }
    if (info) this.stored.set(key, info);
    return info;
  }

  private async generate(stream: DStream<unknown>, time: Time): Promise<RDD<unknown> | undefined> {
    const t = time.milliseconds;
    if (stream.spec.durableState && t < this.batchTime) {
      // The per-key backend keeps every stream result durably, versioned by batch time.
      const part = stream.partitioner!;
      return this.storedLeaf(stream, t, part.numPartitions, part);
    }
    if (stream.isPersisted) {
      const info = await this.storedInfo(stream, t, false);
      if (info) {
        const part = stream.partitioner ?? (info.hashPartitions ? new HashPartitioner(info.hashPartitions) : undefined);
        return this.storedLeaf(stream, t, info.partitions, part);
      }
    }
    const rdd = await stream.spec.compute(time, this, stream);
    if (!rdd || !stream.isPersisted) return rdd;
    // Materialize once, then let every reader read the stored result.
    this.addShuffleStages(rdd);
    const id = t === this.batchTime ? `materialize:${stream.id}` : `materialize:${stream.id}@${t}`;
    this.addStage({ kind: "materialize", id, numTasks: rdd.numPartitions, stream, rdd, time: t });
    const part = stream.partitioner ?? rdd.partitioner;
    const info: StoredInfo = { partitions: rdd.numPartitions, ...(part ? { hashPartitions: part.numPartitions } : {}), origin: "computed" };
    if (!this.context.storedHints) this.services.blocks.expect(stream.id, t, info);
    return this.storedLeaf(stream, t, rdd.numPartitions, part);
  }

  private storedLeaf(stream: DStream<unknown>, time: number, partitions: number, partitioner: Partitioner | undefined): RDD<unknown> {
    const read = stream.spec.readStored
      ? (p: number, tc: TaskContext, emit: Emit<unknown>) => stream.spec.readStored!(time, p, tc, emit, stream)
      : async (p: number, tc: TaskContext, emit: Emit<unknown>) => {
          for (const x of tc.services.blocks.get(stream.id, time, p) as unknown[]) emit(x);
        };
    return new LeafRDD(this, partitions, read, partitioner, `${stream.id}@${time}`, true);
  }

  async blocksFor(streamId: string, time: Time): Promise<BlockDescriptor[]> {
    if (time.equals(this.time)) return this.blocks[streamId] ?? [];
    const rec = await this.context.loadBatch(time.milliseconds);
    if (!rec) {
      throw new MissingDataError(
        `No batch record at ${time}: the input blocks of ${streamId} for that batch are gone, so its results cannot be recomputed. Raise ssc.remember(), or check the batch log's retention.`,
      );
    }
    return rec.blocks[streamId] ?? [];
  }

  parallelize<T>(data: readonly T[], numSlices: number): RDD<T> {
    return new ParallelRDD(this, data, numSlices);
  }
  emptyRDD<T>(): RDD<T> {
    return new ParallelRDD<T>(this, [], 0);
  }
  leaf<T>(
    numPartitions: number,
    read: (p: number, tc: TaskContext, emit: Emit<T>, leaf: LeafRDD<T>) => Promise<void>,
    partitioner?: Partitioner,
    label?: string,
    local = false,
  ): RDD<T> {
    return new LeafRDD<T>(this, numPartitions, read, partitioner, label, local);
  }

  // ---- stages --------------------------------------------------------------------------------

  private addStage(stage: DistributiveOmit<Stage, "index" | "remote"> & { remote?: boolean }): void {
    const index = this.stages.length;
    this.stages.push({ ...stage, index, id: `${index}:${stage.id}` } as Stage);
  }

  /** Adds a stage for every shuffle under `rdd` not planned yet, parents first. */
  private addShuffleStages(rdd: RDD<unknown>): void {
    if (this.visited.has(rdd)) return;
    this.visited.add(rdd);
    for (const dep of rdd.deps) {
      this.addShuffleStages(dep.rdd as RDD<unknown>);
      if (dep.kind === "shuffle" && !this.planned.has(dep)) {
        this.planned.add(dep);
        this.addStage({ kind: "shuffle", id: dep.shuffleId, numTasks: dep.rdd.numPartitions, dep, remote: !readsLocal(dep.rdd, new Set()) });
      }
    }
  }

  // ---- running a task ------------------------------------------------------------------------

  readonly excludedRecords = new Set<string>();

  /**
   * Runs one partition of one stage. A user function that throws on an input
   * record (a RecordProcessingError) is handled by the input's `onRecordError`
   * policy. "quarantine": the record is a poison record, quarantined with its
   * coordinates, and the task runs again from the start without it, so what
   * the record produced before the failure is not kept either, its counts
   * included: the rerun counts from where the task started, and each record is
   * counted once. Deterministic functions make every attempt exclude the same
   * records. "fail": the task fails with a RecordFailedError, and the caller
   * tries it again up to maxTaskAttempts before failing the batch, as Spark does.
   * Returns the buckets of a shuffle stage.
   */
  async runTask(stageIndex: number, partition: number, tc: TaskContext): Promise<unknown[][] | undefined> {
    return this.withReruns(tc, (t) => this.runTaskOnce(stageIndex, partition, t));
  }

  /**
   * A worker's task of a per-partition action inside output stage `stageIndex`: runs the output
   * function again until it reaches the action, which computes partition `partition` only, its
   * earlier actions returning `values`, the coordinator's (lib/scheduler/output-actions.ts). Poison
   * records are handled as for any task.
   */
  async runOutputAction(
    stageIndex: number,
    action: OutputActionRef,
    partition: number,
    numTasks: number,
    values: readonly unknown[],
    tc: TaskContext,
  ): Promise<void> {
    const stage = this.stages[stageIndex];
    if (stage?.kind !== "output") throw new NonDeterministicPlanError(`Batch ${this.batchTime}'s stage ${stageIndex} is not an output stage.`);
    tc.outputActions = new ReplayOutputActions(stage.id, action, partition, numTasks, values);
    await this.withReruns(tc, async (t) => {
      const replay = t.outputActions as ReplayOutputActions;
      currentBatchSharedVariables()?.startOutput(stage.index, action.run);
      try {
        await t.runAs(async () => stage.stream.spec.output!(stage.rdd, this.time));
      } catch (e) {
        if (!(e instanceof OutputReached)) throw e;
      }
      if (!replay.reached) {
        throw new NonDeterministicPlanError(
          `Output ${stage.id} of batch ${this.batchTime} returned here before its per-partition action ${action.index}, which the coordinator sent to the workers. An output function must call the same actions every time it runs with the same batch.`,
        );
      }
    });
  }

  /**
   * The shuffle stages after shuffle stage `stageIndex` whose map side can share its pass over their
   * common RDD (ShuffleDependency.computeTogether), among those `eligible` allows.
   */
  fusableWith(stageIndex: number, eligible: (stage: Stage) => boolean): number[] {
    const stage = this.stages[stageIndex];
    if (stage?.kind !== "shuffle" || !stage.dep.fusable) return [];
    return this.stages
      .filter((s) => s.index > stageIndex && s.kind === "shuffle" && s.dep.rdd === stage.dep.rdd && s.dep.fusable && eligible(s))
      .map((s) => s.index);
  }

  /** Runs partition `partition` of several shuffle stages of the same RDD in one pass (see fusableWith). */
  async runShufflesTogether(stageIndexes: readonly number[], partition: number, tc: TaskContext): Promise<unknown[][][]> {
    const deps = stageIndexes.map((i) => {
      const s = this.stages[i];
      if (s?.kind !== "shuffle") throw new NonDeterministicPlanError(`Batch ${this.batchTime}'s stage ${i} is not a shuffle stage.`);
      return s.dep;
    });
    return this.withReruns(tc, (t) => ShuffleDependency.computeTogether(deps, partition, t));
  }

  private async withReruns<R>(tc: TaskContext, run: (tc: TaskContext) => Promise<R>): Promise<R> {
    const counters = tc.counters;
    const atStart = { ...counters };
    // Accumulator updates are reset the same way: the rerun's updates count, the failed run's do not.
    const accumulators = tc.accumulators;
    const accumulatorsAtStart = accumulators.mark();
    for (let excluded = 0; ; excluded++) {
      try {
        return await run(tc);
      } catch (e) {
        if (!(e instanceof RecordProcessingError) || e instanceof RecordFailedError) throw e;
        // The input's policy decides: fail the task (and, after its attempts, the batch), or set the record aside.
        if (this.recordErrorPolicy(e) === "fail") throw RecordFailedError.of(e);
        if (excluded >= MAX_POISON_RECORDS_PER_TASK) throw e;
        const c = e.coordinates;
        this.excludedRecords.add(recordKey(c));
        const cause = e.cause instanceof Error ? e.cause : undefined;
        await tc.quarantine({
          stream: c.stream,
          shard: c.shard,
          sequenceNumber: c.sequenceNumber,
          ...(c.subSequenceNumber !== undefined ? { subSequenceNumber: c.subSequenceNumber } : {}),
          ...(c.partitionKey !== undefined ? { partitionKey: c.partitionKey } : {}),
          ...(c.explicitHashKey !== undefined ? { explicitHashKey: c.explicitHashKey } : {}),
          operator: e.operator ?? "?",
          error: cause ? `${cause.name}: ${cause.message}` : e.message,
          ...(e.data ? { data: e.data } : {}),
          ...(e.record !== undefined ? { record: e.record } : {}),
        });
        // The caller reads the counts from the object it passed in: reset it to the task's start, in place.
        for (const k of Object.keys(counters)) delete counters[k];
        Object.assign(counters, atStart);
        accumulators.restore(accumulatorsAtStart);
        const outputActions = tc.outputActions?.restart();
        tc = new TaskContext(this, tc.partitionLabel, counters, tc.stage, tc.quarantined, accumulators);
        if (outputActions) tc.outputActions = outputActions;
      }
    }
  }

  /**
   * The `onRecordError` policy of the input whose record failed: the error names the input as its
   * operator. An input not in the graph (a custom one) follows the app's default.
   */
  private recordErrorPolicy(e: RecordProcessingError): RecordErrorPolicy {
    const input = e.operator === undefined ? undefined : this.graph.streams.find((s) => s.id === e.operator);
    return input ? recordErrorPolicyOf(input) : defaultRecordErrorPolicy(this.graph.streams[0]?.ssc);
  }

  private async runTaskOnce(stageIndex: number, partition: number, tc: TaskContext): Promise<unknown[][] | undefined> {
    const stage = this.stages[stageIndex];
    if (!stage) throw new NonDeterministicPlanError(`Batch ${this.batchTime} has no stage ${stageIndex}; it has ${this.stages.length}.`);
    switch (stage.kind) {
      case "shuffle":
        return stage.dep.computeBuckets(partition, tc);
      case "materialize": {
        const blocks = this.services.blocks;
        // Done by an earlier attempt of this batch: a stored result is never computed twice.
        if (blocks.has(stage.stream.id, stage.time, partition)) return undefined;
        const spec = stage.stream.spec;
        if (spec.materialize) {
          await spec.materialize(stage.rdd, partition, tc, stage.time, stage.stream);
        } else {
          const items: unknown[] = [];
          await stage.rdd.run(partition, tc, (x) => {
            items.push(x);
          });
          blocks.put(stage.stream.id, stage.time, partition, items);
        }
        return undefined;
      }
      case "output":
        // Actions inside the output function count into this task (records quarantined).
        currentBatchSharedVariables()?.startOutput(stage.index, tc.outputActions?.run ?? 0);
        await tc.runAs(async () => stage.stream.spec.output!(stage.rdd, this.time));
        return undefined;
    }
  }
}

/** Whether an RDD's stage reads the coordinator's memory (through narrow dependencies). */
function readsLocal(rdd: RDD<unknown>, seen: Set<RDD<unknown>>): boolean {
  if (seen.has(rdd)) return false;
  seen.add(rdd);
  if (rdd instanceof LeafRDD && rdd.local) return true;
  return rdd.deps.some((d) => d.kind === "narrow" && readsLocal(d.rdd, seen));
}
