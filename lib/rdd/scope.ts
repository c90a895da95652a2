/**
 * The per-batch scope that RDDs are planned and computed in, and the task
 * context that computes one partition.
 *
 * A scope belongs to one batch time. Every process that plans that batch
 * (the coordinator, each worker) builds the same RDDs in the same order, so
 * RDD ids and shuffle ids agree across processes. A shuffle whose map stage
 * was planned is read from the shuffle store; a shuffle created later (inside
 * a `foreachRDD` action, say) is computed in the process that asks for it.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { BlockCache, ShuffleStore } from "../scheduler/block-manager.js";
import type { ObjectStore, QuarantinedRecord, QuarantineStore, StateStore, StreamSource } from "../storage/interfaces.js";
import type { RDD, ShuffleDependency } from "./rdd.js";

/** What a task reads and writes while it computes a partition. */
export interface ExecutorServices {
  /** Map outputs of this batch's planned shuffles. */
  readonly shuffles: ShuffleStore;
  /** The coordinator's memory of stored stream results (absent in a worker, whose tasks never read it). */
  readonly blocks: BlockCache;
  /** The per-key state backend (`stateBackend: "dynamodb"`). */
  readonly state: StateStore;
  readonly quarantine: QuarantineStore;
  readonly sources: ReadonlyMap<string, StreamSource>;
  /** Where outputs to `s3://` paths go (saveAsTextFile); absent on engines without one. */
  readonly objects?: ObjectStore;
}

export interface RDDScope {
  readonly batchTime: number;
  readonly defaultParallelism: number;
  readonly services: ExecutorServices;
  nextRddId(): number;
  isPlannedShuffle(dep: ShuffleDependency<unknown, unknown, unknown>): boolean;
  /** Input records quarantined in this batch, by `recordKey` (lib/core/errors.ts): inputs skip them. */
  readonly excludedRecords?: Set<string>;
}

/** What a task's accumulator buffer needs of an accumulator (AccumulatorV2, lib/streaming/shared-variables.ts). */
export interface BufferedAccumulator {
  readonly id: string;
  /** A zero-valued copy: the task's own partial value. */
  copyAndReset(): BufferedAccumulator;
  copy(): BufferedAccumulator;
  /** Adds another copy's value into this one (the driver's merge). */
  mergeFrom(other: BufferedAccumulator): void;
}

/**
 * A task's accumulator updates, as Spark's executors keep them: every accumulator the task adds to
 * gets a zero-valued copy here, and the copies reach the driver only with the task's accepted result
 * (in process: when the task completes; fanned out: in its TaskResult). A failed attempt's buffer is
 * dropped with it, so a task's updates count once however often it runs.
 */
export class AccumulatorUpdates {
  private partials = new Map<string, { readonly accumulator: BufferedAccumulator; readonly partial: BufferedAccumulator }>();
  /**
   * Set for an output stage's task, which runs the output function (Spark's driver code): reading an
   * accumulator there gives the driver's value plus what this task added so far.
   */
  driverSide = false;

  /** The task's own copy of `acc`, created at the first update. */
  partial<A extends BufferedAccumulator>(acc: A): A {
    let e = this.partials.get(acc.id);
    if (!e) {
      e = { accumulator: acc, partial: acc.copyAndReset() };
      this.partials.set(acc.id, e);
    }
    return e.partial as A;
  }
  /** The task's copy of `acc`, if the task added to it. */
  peek<A extends BufferedAccumulator>(acc: A): A | undefined {
    return this.partials.get(acc.id)?.partial as A | undefined;
  }
  entries(): { readonly accumulator: BufferedAccumulator; readonly partial: BufferedAccumulator }[] {
    return [...this.partials.values()];
  }
  get size(): number {
    return this.partials.size;
  }
  /** A copy of the buffer as it is now, for `restore` (a task run again without a poison record). */
  mark(): Map<string, { readonly accumulator: BufferedAccumulator; readonly partial: BufferedAccumulator }> {
    return new Map([...this.partials].map(([id, e]) => [id, { accumulator: e.accumulator, partial: e.partial.copy() }]));
  }
  /** Puts the buffer back as it was at `mark` (copied again: a mark can be restored more than once). */
  restore(mark: Map<string, { readonly accumulator: BufferedAccumulator; readonly partial: BufferedAccumulator }>): void {
    this.partials = new Map([...mark].map(([id, e]) => [id, { accumulator: e.accumulator, partial: e.partial.copy() }]));
  }
}

/**
 * Where the per-partition actions (foreachPartition, foreach, saveAsTextFile) of an output
 * operation's function run, when it is not simply here (lib/scheduler/output-actions.ts): on
 * workers, one task per partition, in a fanned-out batch; or, in a worker, only the partition its
 * task names.
 */
export interface OutputActions {
  /**
   * A per-partition action on `rdd`, the next one the function calls: run on the workers, or with
   * `runHere` (every partition in this process), or, replaying in a worker, skipped or run for the
   * task's partition with `runPartition`. `mayLeave`: false for an action whose effect must stay in
   * this process (saveAsTextFile to a local directory).
   */
  perPartition(rdd: RDD<unknown>, runPartition: (p: number) => Promise<void>, runHere: () => Promise<void>, mayLeave: boolean): Promise<void>;
  /** An action that returns a value (collect, count, isEmpty...): `compute` gives its value (a worker's replay returns the coordinator's). */
  value<R>(compute: () => Promise<R>): Promise<R>;
  /** The function read what a worker's replay cannot see (an accumulator's driver value): its later actions stay here. */
  driverRead(): void;
  /** In a worker: the function runs again only to reach its task's action, so driver-side steps (saveAsTextFile's marker) are skipped. */
  readonly replaying: boolean;
  /** The run of the output function these actions belong to: it numbers the shared variables the function creates. */
  readonly run: number;
  /** The same, for the function run again from its start (a rerun without a poison record); this run's tasks are abandoned. */
  restart(): OutputActions;
}

export class TaskContext {
  /** Set for an output stage's task whose per-partition actions may run elsewhere. */
  outputActions?: OutputActions;
  private readonly localShuffles = new Map<ShuffleDependency<unknown, unknown, unknown>, Promise<unknown[][][]>>();
  /** Counters this task adds to its batch. */
  readonly counters: Record<string, number>;
  /** Records this task put in quarantine (`stream/shard/sequence[:subSequence]/operator`), counted once per batch. */
  readonly quarantined: Set<string>;

  /** Accumulator updates this task made, merged on the driver when its result is accepted. */
  readonly accumulators: AccumulatorUpdates;

  constructor(
    readonly scope: RDDScope,
    readonly partitionLabel = "local",
    counters: Record<string, number> = {},
    readonly stage?: number,
    quarantined: Set<string> = new Set(),
    accumulators: AccumulatorUpdates = new AccumulatorUpdates(),
  ) {
    this.counters = counters;
    this.quarantined = quarantined;
    this.accumulators = accumulators;
  }

  get batchTime(): number {
    return this.scope.batchTime;
  }
  get services(): ExecutorServices {
    return this.scope.services;
  }

  count(name: string, n = 1): void {
    this.counters[name] = (this.counters[name] ?? 0) + n;
  }

  /** Keeps a record aside with its coordinates. */
  async quarantine(record: Omit<QuarantinedRecord, "batchTime">): Promise<void> {
    await this.services.quarantine.put({ ...record, batchTime: this.batchTime });
    const sub = record.subSequenceNumber !== undefined ? `:${record.subSequenceNumber}` : "";
    this.quarantined.add(`${record.stream ?? ""}/${record.shard ?? ""}/${record.sequenceNumber ?? ""}${sub}/${record.operator}`);
  }

  /** Runs `f` with this context as the one RDD actions inside it use (an output stage's `collect`, say). */
  runAs<T>(f: () => Promise<T>): Promise<T> {
    return currentTask.run(this, f);
  }

  /** The chunks of one reduce partition, one per map partition, in map-partition order. */
  async readShuffle(dep: ShuffleDependency<unknown, unknown, unknown>, reducePartition: number): Promise<unknown[][]> {
    if (this.scope.isPlannedShuffle(dep)) {
      return this.services.shuffles.read(this.batchTime, dep.shuffleId, reducePartition, dep.rdd.numPartitions);
    }
    let all = this.localShuffles.get(dep);
    if (!all) {
      all = (async () => {
        const out: unknown[][][] = [];
        for (let m = 0; m < dep.rdd.numPartitions; m++) out.push(await dep.computeBuckets(m, this));
        return out;
      })();
      this.localShuffles.set(dep, all);
    }
    return (await all).map((buckets) => buckets[reducePartition] ?? []);
  }
}

const currentTask = new AsyncLocalStorage<TaskContext>();

/** The task context of the running task (an output operation's, say), if any. */
export function currentTaskContext(): TaskContext | undefined {
  return currentTask.getStore();
}

/** The task context of the running task, if an action runs inside one; else a fresh one for `scope`. */
export function taskContextFor(scope: RDDScope): TaskContext {
  const tc = currentTask.getStore();
  return tc && tc.scope === scope ? tc : new TaskContext(scope);
}

/** Set while an action that returns a value computes: the actions it calls (isEmpty's take) are its own, not the function's. */
const insideValueAction = new AsyncLocalStorage<true>();

/** The running output function's OutputActions, for an action it calls itself (not one another action calls). */
export function outputActionsFor(scope: RDDScope): OutputActions | undefined {
  const tc = currentTask.getStore();
  return tc && tc.scope === scope && !insideValueAction.getStore() ? tc.outputActions : undefined;
}

/** Runs an action that returns a value: through the running output function's OutputActions, if any. */
export function valueAction<R>(scope: RDDScope, compute: () => Promise<R>): Promise<R> {
  const actions = outputActionsFor(scope);
  return actions ? actions.value(() => insideValueAction.run(true, compute)) : compute();
}
