/**
 * updateStateByKey: Spark's StateDStream.
 *
 * The state at batch T is the cogroup of the batch's new values with the
 * state after T - slide, with `update(values, state)` applied to every key
 * that has either. Returning `undefined` removes the key. Before the first
 * batch the previous state is the initial state, if one was given.
 *
 * The state lives in the state store, partitioned by the stream's
 * partitioner and versioned by batch time. A task that runs twice (a retry,
 * a duplicate delivery) reads the same previous version and writes the same
 * new one, so the state is exactly-once.
 */
import type { Time } from "../core/duration.js";
import { canonical, type Partitioner } from "../core/keys.js";
import { CoGroupedRDD, NarrowDependency, RDD, type Emit } from "../rdd/rdd.js";
import type { TaskContext } from "../rdd/scope.js";
import type { StateEntry } from "../storage/interfaces.js";
import type { DStream, DStreamSpec } from "./dstream.js";
import type { Planner } from "./planner-api.js";
import { faultPoint, faultsEnabled } from "../testing/faults.js";

type Pair<K, V> = readonly [K, V];

export interface UpdateStateOptions<K, S> {
  /** Partitions of the state. @default the context's defaultParallelism */
  numPartitions?: number | Partitioner;
  /** State the keys start from, before the first batch. */
  initialState?: Iterable<Pair<K, S>> | RDD<Pair<K, S>>;
  /** Spark's name for `initialState`. */
  initialRDD?: Iterable<Pair<K, S>> | RDD<Pair<K, S>>;
}

export function toRDD<T>(data: Iterable<T> | RDD<T>, planner: Planner): RDD<T> {
  return data instanceof RDD ? data : planner.parallelize([...data], planner.defaultParallelism);
}

/** The state after one batch: cogroup(new values, previous state) with the update function applied. */
class StateUpdateRDD<K, V, S> extends RDD<[K, S]> {
  readonly numPartitions: number;
  override readonly partitioner: Partitioner;
  private readonly grouped: CoGroupedRDD<K>;
  constructor(
    planner: Planner,
    data: RDD<Pair<K, V>>,
    prev: RDD<Pair<K, S>>,
    private readonly update: (values: V[], state: S | undefined) => S | undefined,
    partitioner: Partitioner,
    private readonly time: number,
    /** False when the previous state is the initial state, which is not in the store yet. */
    private readonly prevIsStored: boolean,
  ) {
    super(planner, []);
    this.grouped = new CoGroupedRDD<K>(planner, [data, prev] as RDD<Pair<K, unknown>>[], partitioner);
    this.deps.push(new NarrowDependency(this.grouped as RDD<unknown>));
    this.partitioner = partitioner;
    this.numPartitions = partitioner.numPartitions;
  }
  async run(p: number, tc: TaskContext, emit: Emit<[K, S]>): Promise<void> {
    await this.grouped.run(p, tc, ([k, [vs, ss]]) => {
      const s = this.update(vs as V[], ss!.length ? (ss![0] as S) : undefined);
      if (s !== undefined) emit([k, s]);
    });
  }
  /** The new state of partition p as changes against the previous one. */
  async changes(p: number, tc: TaskContext): Promise<{ puts: StateEntry[]; removes: unknown[] }> {
    const puts: StateEntry[] = [];
    const removes: unknown[] = [];
    await this.grouped.run(p, tc, ([k, [vs, ss]]) => {
      const had = ss!.length > 0;
      const prev = had ? (ss![0] as S) : undefined;
      // Taken before the call: an update function may change its state object in place.
      const before = had && typeof prev === "object" && prev !== null ? canonical(prev) : undefined;
      const s = this.update(vs as V[], prev);
      if (s === undefined) {
        if (had) removes.push(k);
        return;
      }
      // Only changed keys are written: a key with no new values usually keeps its state, and costs nothing.
      const unchanged = had && this.prevIsStored && (before !== undefined ? typeof s === "object" && s !== null && canonical(s) === before : Object.is(s, prev));
      if (!unchanged) puts.push({ key: k, value: s, updatedAt: this.time });
    });
    return { puts, removes };
  }
}

/**
 * Commits a state partition's changes. With faults injected, half of the
 * changes are committed first and a crash may fall in between: the chaos
 * suite's "mid-state write", which a retry at the same time must repair.
 */
export async function commitState(tc: TaskContext, operatorId: string, p: number, time: number, puts: StateEntry[], removes: unknown[]): Promise<void> {
  if (faultsEnabled() && puts.length > 1) {
    await tc.services.state.commit(operatorId, p, time, puts.slice(0, puts.length >> 1), []);
    await faultPoint("worker.mid-state-write");
  }
  await tc.services.state.commit(operatorId, p, time, puts, removes);
}

export function stateSpec<K, V, S>(
  parent: DStream<Pair<K, V>>,
  update: (values: V[], state: S | undefined) => S | undefined,
  partitioner: Partitioner,
  initial: Iterable<Pair<K, S>> | RDD<Pair<K, S>> | undefined,
): DStreamSpec<[K, S]> {
  return {
    kind: "updateStateByKey",
    parents: [parent],
    mustPersist: true,
    partitioner,
    compute: async (time: Time, planner, self) => {
      const prevStored = await planner.getOrCompute(self, time.minus(self.slideDuration));
      const prev = prevStored ?? (initial ? toRDD(initial, planner) : undefined);
      const data = await planner.getOrCompute(parent, time);
      if (!prev && !data) return undefined;
      return new StateUpdateRDD<K, V, S>(
        planner, data ?? planner.emptyRDD(), (prev ?? planner.emptyRDD()) as RDD<Pair<K, S>>, update, partitioner, time.milliseconds,
        prevStored !== undefined,
      );
    },
    materialize: async (rdd, p, tc, time, self) => {
      const { puts, removes } = await (rdd as StateUpdateRDD<K, V, S>).changes(p, tc);
      await commitState(tc, self.id, p, time, puts, removes);
    },
    readStored: async (time, p, tc, emit, self) => {
      for (const e of await tc.services.state.scan(self.id, p, time)) emit([e.key as K, e.value as S]);
    },
  };
}
