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
import type { EngineServices, QuarantinedRecord } from "../storage/interfaces.js";
import type { ShuffleDependency } from "./rdd.js";

export interface RDDScope {
  readonly batchTime: number;
  readonly defaultParallelism: number;
  readonly services: EngineServices;
  nextRddId(): number;
  isPlannedShuffle(dep: ShuffleDependency<unknown, unknown, unknown>): boolean;
  /** Input records (`stream/shard/sequence`) quarantined in this batch: inputs skip them. */
  readonly excludedRecords?: Set<string>;
}

export class TaskContext {
  private readonly localShuffles = new Map<ShuffleDependency<unknown, unknown, unknown>, Promise<unknown[][][]>>();
  /** Counters this task adds to its batch (records read, quarantined). */
  readonly counters: Record<string, number>;

  constructor(readonly scope: RDDScope, readonly partitionLabel = "local", counters: Record<string, number> = {}, readonly stage?: number) {
    this.counters = counters;
  }

  get batchTime(): number { return this.scope.batchTime; }
  get services(): EngineServices { return this.scope.services; }

  count(name: string, n = 1): void { this.counters[name] = (this.counters[name] ?? 0) + n; }

  /** Keeps a record aside with its coordinates; the batch counts its distinct entries when it completes. */
  async quarantine(record: Omit<QuarantinedRecord, "batchTime">): Promise<void> {
    await this.services.quarantine.put({ ...record, batchTime: this.batchTime });
  }

  /** Runs `f` with this context as the one RDD actions inside it use (an output stage's `collect`, say). */
  runAs<T>(f: () => Promise<T>): Promise<T> { return currentTask.run(this, f); }

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

/** The task context of the running task, if an action runs inside one; else a fresh one for `scope`. */
export function taskContextFor(scope: RDDScope): TaskContext {
  const tc = currentTask.getStore();
  return tc && tc.scope === scope ? tc : new TaskContext(scope);
}
