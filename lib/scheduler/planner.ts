/**
 * The batch planner: compiles the DStream graph at one batch time into
 * stages, as Spark's JobGenerator and DAGScheduler do together.
 *
 * Planning is deterministic: given the graph, the batch time and the batch's
 * recorded input blocks, every process gets the same RDDs, ids and stages.
 * The coordinator plans a batch to record its stages; each worker plans it
 * again to find the stage and partition its task names.
 *
 * Stages, in the order they run:
 * - a **shuffle** stage per shuffle dependency: one task per map partition,
 *   each runs its pipelined narrow operations and writes bucketed output;
 * - a **materialize** stage per persisted DStream (state, window inputs,
 *   `persist()`): one task per partition, stores the batch's result so later
 *   stages and later batches read it instead of recomputing;
 * - an **output** stage per output operation: one task that runs the
 *   operation (print, foreachRDD, saveAsTextFiles) on the batch's RDD.
 */
import { Time } from "../core/duration.js";
import { MissingDataError, NonDeterministicPlanError, RecordProcessingError } from "../core/errors.js";
import { HashPartitioner, type Partitioner } from "../core/keys.js";
import type { DStream } from "../dstream/dstream.js";
import type { Planner } from "../dstream/planner-api.js";
import { LeafRDD, ParallelRDD, type Emit, type RDD, type ShuffleDependency } from "../rdd/rdd.js";
import { TaskContext } from "../rdd/scope.js";
import { faultPoint } from "../testing/faults.js";
import type { BatchRecord, BlockDescriptor, EngineServices, MaterializedInfo, StageSummary } from "../storage/interfaces.js";

type AnyDep = ShuffleDependency<unknown, unknown, unknown>;
/** Beyond this many poison records in one task, the task fails: something other than a bad record is wrong. */
const MAX_POISON_RECORDS_PER_TASK = 100;
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export type Stage =
  | { readonly kind: "shuffle"; readonly index: number; readonly id: string; readonly numTasks: number; readonly dep: AnyDep }
  | { readonly kind: "materialize"; readonly index: number; readonly id: string; readonly numTasks: number; readonly stream: DStream<unknown>; readonly rdd: RDD<unknown> }
  | { readonly kind: "output"; readonly index: number; readonly id: string; readonly numTasks: number; readonly stream: DStream<unknown>; readonly rdd: RDD<unknown> };

/** Tags the leaves a stage reads (through narrow dependencies) with the first stage that reads them. */
function markLeaves(rdd: RDD<unknown>, stage: number, seen: Set<RDD<unknown>>): void {
  if (seen.has(rdd)) return;
  seen.add(rdd);
  if (rdd instanceof LeafRDD && rdd.firstStage === undefined) rdd.firstStage = stage;
  for (const dep of rdd.deps) if (dep.kind === "narrow") markLeaves(dep.rdd, stage, seen);
}

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

export class BatchPlan implements Planner {
  readonly stages: Stage[] = [];
  readonly materialized: Record<string, MaterializedInfo> = {};
  readonly batchTime: number;
  readonly zeroTime: Time;
  readonly defaultParallelism: number;
  private rddIds = 0;
  private readonly planned = new Set<AnyDep>();
  private readonly generated = new Map<string, Promise<RDD<unknown> | undefined>>();
  private readonly visited = new Set<RDD<unknown>>();

  private constructor(
    readonly graph: PlannableGraph,
    readonly time: Time,
    private readonly blocks: Record<string, BlockDescriptor[]>,
    readonly services: EngineServices,
    private readonly loadBatch: (time: number) => Promise<BatchRecord | undefined>,
  ) {
    this.batchTime = time.milliseconds;
    this.zeroTime = graph.zeroTime;
    this.defaultParallelism = graph.defaultParallelism;
  }

  /** Plans batch `time` with its recorded input blocks. */
  static async create(
    graph: PlannableGraph, time: Time, blocks: Record<string, BlockDescriptor[]>, services: EngineServices,
    loadBatch: (time: number) => Promise<BatchRecord | undefined>,
  ): Promise<BatchPlan> {
    const plan = new BatchPlan(graph, time, blocks, services, loadBatch);
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

  summary(): StageSummary[] { return this.stages.map((s) => ({ id: s.id, numTasks: s.numTasks })); }

  /** Checks that this process planned the batch as the record says; a difference means a non-deterministic pipeline. */
  verify(record: BatchRecord): void {
    const mine = this.summary();
    const same = mine.length === record.stages.length && mine.every((s, i) => s.id === record.stages[i]!.id && s.numTasks === record.stages[i]!.numTasks);
    if (!same) {
      throw new NonDeterministicPlanError(
        `Batch ${record.time} planned differently here (${mine.map((s) => `${s.id}×${s.numTasks}`).join(", ")}) than when it was generated (${record.stages.map((s) => `${s.id}×${s.numTasks}`).join(", ")}). A transform() function or the app module must build the same graph every time: no randomness, clock reads or environment-dependent branches.`,
      );
    }
  }

  // ---- RDDScope ------------------------------------------------------------------------------

  nextRddId(): number { return ++this.rddIds; }
  isPlannedShuffle(dep: AnyDep): boolean { return this.planned.has(dep); }

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

  private async generate(stream: DStream<unknown>, time: Time): Promise<RDD<unknown> | undefined> {
    if (stream.isPersisted && time.less(this.time)) {
      const rec = await this.loadBatch(time.milliseconds);
      const info = rec?.materialized[stream.id];
      if (!info) {
        throw new MissingDataError(
          `The result of ${stream} at ${time} was not materialized (batch record ${rec ? "has no entry for it" : "is missing"}); batch ${this.time} needs it. It may have expired: raise ssc.remember() or check that batch ${time} completed.`,
        );
      }
      const part = stream.partitioner ?? (info.hashPartitions ? new HashPartitioner(info.hashPartitions) : undefined);
      return this.stored(stream, time, info.partitions, part);
    }
    const rdd = await stream.spec.compute(time, this, stream);
    if (!rdd || !stream.isPersisted) return rdd;
    // Materialize once, then let every reader read the stored result.
    this.addShuffleStages(rdd);
    this.addStage({ kind: "materialize", id: `materialize:${stream.id}`, numTasks: rdd.numPartitions, stream, rdd });
    const part = stream.partitioner ?? rdd.partitioner;
    this.materialized[stream.id] = part ? { partitions: rdd.numPartitions, hashPartitions: part.numPartitions } : { partitions: rdd.numPartitions };
    return this.stored(stream, time, rdd.numPartitions, part);
  }

  private stored(stream: DStream<unknown>, time: Time, partitions: number, partitioner: Partitioner | undefined): RDD<unknown> {
    const t = time.milliseconds;
    const read = stream.spec.readStored
      ? (p: number, tc: TaskContext, emit: Emit<unknown>) => stream.spec.readStored!(t, p, tc, emit, stream)
      : async (p: number, tc: TaskContext, emit: Emit<unknown>) => {
          const items = await tc.services.blocks.get(stream.id, t, p);
          if (!items) throw new MissingDataError(`Stored partition ${p} of ${stream} at ${t} ms is missing from the block store.`);
          for (const x of items) emit(x);
        };
    return new LeafRDD(this, partitions, read, partitioner, `${stream.id}@${t}`);
  }

  async blocksFor(streamId: string, time: Time): Promise<BlockDescriptor[]> {
    if (time.equals(this.time)) return this.blocks[streamId] ?? [];
    const rec = await this.loadBatch(time.milliseconds);
    if (!rec) throw new MissingDataError(`No batch record at ${time}: the input blocks of ${streamId} for that batch are gone. Raise ssc.remember() to keep them longer.`);
    return rec.blocks[streamId] ?? [];
  }

  parallelize<T>(data: readonly T[], numSlices: number): RDD<T> { return new ParallelRDD(this, data, numSlices); }
  emptyRDD<T>(): RDD<T> { return new ParallelRDD<T>(this, [], 0); }
  leaf<T>(numPartitions: number, read: (p: number, tc: TaskContext, emit: Emit<T>, leaf: LeafRDD<T>) => Promise<void>, partitioner?: Partitioner, label?: string): RDD<T> {
    return new LeafRDD<T>(this, numPartitions, read, partitioner, label);
  }

  // ---- stages --------------------------------------------------------------------------------

  private addStage(stage: DistributiveOmit<Stage, "index">): void {
    const index = this.stages.length;
    this.stages.push({ ...stage, index, id: `${index}:${stage.id}` } as Stage);
    markLeaves(stage.kind === "shuffle" ? stage.dep.rdd : stage.rdd, index, new Set());
  }

  /** Adds a stage for every shuffle under `rdd` not planned yet, parents first. */
  private addShuffleStages(rdd: RDD<unknown>): void {
    if (this.visited.has(rdd)) return;
    this.visited.add(rdd);
    for (const dep of rdd.deps) {
      this.addShuffleStages(dep.rdd as RDD<unknown>);
      if (dep.kind === "shuffle" && !this.planned.has(dep)) {
        this.planned.add(dep);
        this.addStage({ kind: "shuffle", id: dep.shuffleId, numTasks: dep.rdd.numPartitions, dep });
      }
    }
  }

  // ---- running a task ------------------------------------------------------------------------

  readonly excludedRecords = new Set<string>();

  /**
   * Runs one partition of one stage. A user function that throws on an input
   * record is a poison record: it is quarantined with its coordinates and the
   * task runs again from the start without it, so what the record produced
   * before the failure is not kept either. Deterministic functions make every
   * attempt exclude the same records.
   */
  async runTask(stageIndex: number, partition: number, tc: TaskContext): Promise<void> {
    for (let excluded = 0; ; excluded++) {
      try {
        return await this.runTaskOnce(stageIndex, partition, tc);
      } catch (e) {
        if (!(e instanceof RecordProcessingError) || excluded >= MAX_POISON_RECORDS_PER_TASK) throw e;
        const c = e.coordinates;
        this.excludedRecords.add(`${c.stream}/${c.shard}/${c.sequenceNumber}`);
        const cause = e.cause instanceof Error ? e.cause : undefined;
        await tc.quarantine({
          stream: c.stream, shard: c.shard, sequenceNumber: c.sequenceNumber, operator: e.operator ?? "?",
          error: cause ? `${cause.name}: ${cause.message}` : e.message, record: e.record,
        });
        tc = new TaskContext(this, tc.partitionLabel, tc.counters, tc.stage);
      }
    }
  }

  private async runTaskOnce(stageIndex: number, partition: number, tc: TaskContext): Promise<void> {
    const stage = this.stages[stageIndex];
    if (!stage) throw new NonDeterministicPlanError(`Batch ${this.batchTime} has no stage ${stageIndex}; it has ${this.stages.length}.`);
    switch (stage.kind) {
      case "shuffle": {
        const buckets = await stage.dep.computeBuckets(partition, tc);
        await faultPoint("worker.mid-shuffle-write");
        await this.services.shuffles.write(this.batchTime, stage.dep.shuffleId, partition, buckets);
        return;
      }
      case "materialize": {
        const spec = stage.stream.spec;
        if (spec.materialize) {
          await spec.materialize(stage.rdd, partition, tc, this.batchTime, stage.stream);
        } else {
          const items: unknown[] = [];
          await stage.rdd.run(partition, tc, (x) => { items.push(x); });
          await this.services.blocks.put(stage.stream.id, this.batchTime, partition, items);
        }
        return;
      }
      case "output":
        // Actions inside the output function count into this task (records read, quarantined).
        await tc.runAs(async () => stage.stream.spec.output!(stage.rdd, this.time));
        return;
    }
  }
}

