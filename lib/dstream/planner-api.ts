/**
 * What a DStream sees while its RDD for a batch is being planned. The batch
 * planner (`scheduler/planner.ts`) implements it; operator files depend only
 * on this interface, never on the planner itself.
 */
import type { Time } from "../core/duration.js";
import type { Partitioner } from "../core/keys.js";
import type { LeafRDD, RDD } from "../rdd/rdd.js";
import type { RDDScope, TaskContext } from "../rdd/scope.js";
import type { BlockDescriptor } from "../storage/interfaces.js";
import type { DStream } from "./dstream.js";

export interface Planner extends RDDScope {
  /** The batch being planned. */
  readonly time: Time;
  /** The zero time of the context: the first batch is zeroTime + batchInterval. */
  readonly zeroTime: Time;
  getOrCompute<T>(stream: DStream<T>, time: Time): Promise<RDD<T> | undefined>;
  /**
   * Makes a stateful stream's state after batch `time` readable in this batch (from memory, a
   * checkpoint, or by computing the stream at `time`); false when the stream has no result then.
   */
  stateAt(stream: DStream<unknown>, time: Time): Promise<boolean>;
  /** The input blocks recorded for an input stream at a batch time. */
  blocksFor(streamId: string, time: Time): Promise<BlockDescriptor[]>;
  parallelize<T>(data: readonly T[], numSlices: number): RDD<T>;
  emptyRDD<T>(): RDD<T>;
  /**
   * A leaf RDD whose partitions are read by `read`. `local`: it reads the coordinator's memory, so
   * only the coordinator can compute it.
   */
  leaf<T>(
    numPartitions: number,
    read: (p: number, tc: TaskContext, emit: (x: T) => void, leaf: LeafRDD<T>) => Promise<void>,
    partitioner?: Partitioner,
    label?: string,
    local?: boolean,
  ): RDD<T>;
}
