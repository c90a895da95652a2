/**
 * updateStateByKey: Spark's StateDStream.
 *
 * The state at batch T is the cogroup of the batch's new values with the
 * state after T - slide, with `update(values, state)` applied to every key
 * that has either. Returning `undefined` removes the key. Before the first
 * batch the previous state is the initial state, if one was given.
 *
 * Two backends keep it:
 * - **memory** (the default): each partition is a StateMap in the
 *   coordinator's memory, rebuilt every batch and checkpointed every
 *   checkpoint interval; the keys whose state changed are what the next
 *   checkpoint writes. A state object is copied before the update function
 *   sees it, so a function that mutates its state in place cannot change
 *   the previous version.
 * - **dynamodb**: one item per key in the per-key store, versioned by batch
 *   time, read whole every batch (Spark calls the function for every key) and
 *   written for the keys that changed.
 */
import type { Time } from "../core/duration.js";
import { MissingDataError } from "../core/errors.js";
import { canonical, keyId, type KeyId, type Partitioner } from "../core/keys.js";
import { CoGroupedRDD, NarrowDependency, RDD, type Emit } from "../rdd/rdd.js";
import type { TaskContext } from "../rdd/scope.js";
import { StateMap } from "../state/state-map.js";
import type { StateEntry } from "../storage/interfaces.js";
import type { DStream, DStreamSpec, StateBackend } from "./dstream.js";
import type { Planner } from "./planner-api.js";

type Pair<K, V> = readonly [K, V];

export interface UpdateStateOptions<K, S> {
  /** Partitions of the state. @default the context's defaultParallelism */
  numPartitions?: number | Partitioner;
  /** State the keys start from, before the first batch. */
  initialState?: Iterable<Pair<K, S>> | RDD<Pair<K, S>>;
  /** Spark's name for `initialState`. */
  initialRDD?: Iterable<Pair<K, S>> | RDD<Pair<K, S>>;
  /**
   * Where the state lives: "memory" (the coordinator's memory, checkpointed) or "dynamodb" (one item
   * per key). @default the app's `stateBackend`, "memory"
   */
  stateBackend?: StateBackend;
}

export function toRDD<T>(data: Iterable<T> | RDD<T>, planner: Planner): RDD<T> {
  return data instanceof RDD ? data : planner.parallelize([...data], planner.defaultParallelism);
}

/** A copy of a state value a user function may change in place. */
export function detach<S>(value: S): S {
  return value !== null && typeof value === "object" ? structuredClone(value) : value;
}

/** Whether an update left a state unchanged: the same primitive, or an object with the same content. */
function sameState(before: unknown, beforeText: string | undefined, after: unknown): boolean {
  if (beforeText !== undefined) return after !== null && typeof after === "object" && canonical(after) === beforeText;
  return Object.is(before, after);
}

/** The state after one batch: cogroup(new values, previous state) with the update function applied. */
class StateUpdateRDD<K, V, S> extends RDD<[K, S]> {
  readonly numPartitions: number;
  override readonly partitioner: Partitioner;
  /** The batch's values grouped by key, and (before the first stored state) the initial state. */
  private readonly grouped: CoGroupedRDD<K>;
  constructor(
    planner: Planner,
    data: RDD<Pair<K, V>>,
    /** The previous state: stored (read from memory or the per-key store), or the initial state. */
    prev: RDD<Pair<K, S>>,
    private readonly update: (values: V[], state: S | undefined) => S | undefined,
    partitioner: Partitioner,
    private readonly time: number,
    /** The time of the stored previous state; undefined when `prev` is the initial state. */
    readonly prevTime: number | undefined,
  ) {
    super(planner, []);
    this.grouped = new CoGroupedRDD<K>(planner, [data, prev] as RDD<Pair<K, unknown>>[], partitioner);
    this.deps.push(new NarrowDependency(this.grouped as RDD<unknown>));
    this.partitioner = partitioner;
    this.numPartitions = partitioner.numPartitions;
  }
  async run(p: number, tc: TaskContext, emit: Emit<[K, S]>): Promise<void> {
    for (const { key, entry } of (await this.changes(p, tc, false)).values()) if (entry) emit([key as K, entry.value as S]);
  }

  /**
   * The new state of partition `p`, key by key: each key's new entry (undefined when removed), and,
   * through `changed`, which of them differ from the previous state. `all`: every key, or only the
   * changed ones.
   */
  async changes(
    p: number,
    tc: TaskContext,
    all: boolean,
    changed?: Map<KeyId, unknown>,
  ): Promise<Map<KeyId, { key: unknown; entry: StateEntry | undefined }>> {
    const out = new Map<KeyId, { key: unknown; entry: StateEntry | undefined }>();
    await this.grouped.run(p, tc, ([k, [vs, ss]]) => {
      const had = ss!.length > 0;
      const prev = had ? (ss![0] as S) : undefined;
      // Taken before the call: an update function may change its state object in place.
      const before = had && typeof prev === "object" && prev !== null ? canonical(prev) : undefined;
      const s = this.update(vs as V[], prev);
      const id = keyId(k);
      const same = had && this.prevTime !== undefined && s !== undefined && sameState(prev, before, s);
      if (!same && (s !== undefined || had)) changed?.set(id, k);
      if (s === undefined) {
        if (had) out.set(id, { key: k, entry: undefined });
        return;
      }
      if (all || !same) out.set(id, { key: k, entry: { key: k, value: s, updatedAt: this.time } });
    });
    return out;
  }

  /**
   * The memory backend's update of partition `p`, from the previous StateMap: the function is called
   * for every key with new values or state, keys with new values first, as the cogroup orders them.
   */
  async updateMap(p: number, tc: TaskContext, prev: StateMap): Promise<StateMap> {
    const groups = new Map<KeyId, [K, V[][]]>();
    await this.grouped.groupParent(
      0,
      p,
      tc,
      groups,
      (k): [K, V[][]] => [k, [[]]],
      (g) => g[1],
      0,
    );
    const entries = new Map<KeyId, StateEntry>();
    const dirty = new Map(prev.dirty);
    const apply = (id: KeyId, key: unknown, values: V[], had: StateEntry | undefined) => {
      const prevValue = had?.value as S | undefined;
      const before = had && typeof prevValue === "object" && prevValue !== null ? canonical(prevValue) : undefined;
      const s = this.update(values, had ? detach(prevValue) : undefined);
      if (s === undefined) {
        if (had) dirty.set(id, key);
        return;
      }
      if (had && sameState(prevValue, before, s)) {
        entries.set(id, had);
        return;
      }
      entries.set(id, { key, value: s, updatedAt: this.time });
      dirty.set(id, key);
    };
    for (const [id, [key, [values]]] of groups) apply(id, key, values!, prev.entries.get(id));
    for (const [id, e] of prev.entries) if (!groups.has(id)) apply(id, e.key, [], e);
    return new StateMap(entries, dirty, this.time);
  }
}

export function stateSpec<K, V, S>(
  parent: DStream<Pair<K, V>>,
  update: (values: V[], state: S | undefined) => S | undefined,
  partitioner: Partitioner,
  initial: Iterable<Pair<K, S>> | RDD<Pair<K, S>> | undefined,
  backend: StateBackend,
): DStreamSpec<[K, S]> {
  const durable = backend === "dynamodb";
  return {
    kind: "updateStateByKey",
    parents: [parent],
    mustPersist: true,
    partitioner,
    ...(durable ? { durableState: true } : { storedForm: "state" as const }),
    compute: async (time: Time, planner, self) => {
      const prevTime = time.minus(self.slideDuration);
      const prevStored = await planner.getOrCompute(self, prevTime);
      const prev = prevStored ?? (initial ? toRDD(initial, planner) : undefined);
      const data = await planner.getOrCompute(parent, time);
      if (!prev && !data) return undefined;
      return new StateUpdateRDD<K, V, S>(
        planner,
        data ?? planner.emptyRDD(),
        (prev ?? planner.emptyRDD()) as RDD<Pair<K, S>>,
        update,
        partitioner,
        time.milliseconds,
        prevStored ? prevTime.milliseconds : undefined,
      );
    },
    materialize: async (rdd, p, tc, time, self) => {
      const r = rdd as StateUpdateRDD<K, V, S>;
      if (durable) {
        const changes = await r.changes(p, tc, false);
        const puts: StateEntry[] = [];
        const removes: unknown[] = [];
        for (const { key, entry } of changes.values()) {
          if (entry) puts.push(entry);
          else removes.push(key);
        }
        await tc.services.state.commit(self.id, p, time, puts, removes);
        return;
      }
      const prevTime = r.prevTime;
      let state: StateMap;
      if (prevTime !== undefined) {
        const prev = tc.services.blocks.get(self.id, prevTime, p);
        if (!(prev instanceof StateMap)) throw new MissingDataError(`The state of ${self} at ${prevTime} ms (partition ${p}) is not in memory.`);
        state = await r.updateMap(p, tc, prev);
      } else {
        // The first batch: the initial state (not stored yet) goes through the cogroup, and every key is new.
        const dirty = new Map<KeyId, unknown>();
        const all = await r.changes(p, tc, true, dirty);
        const entries = new Map<KeyId, StateEntry>();
        for (const [id, { entry }] of all) if (entry) entries.set(id, entry);
        for (const [id, e] of entries) dirty.set(id, e.key);
        state = new StateMap(entries, dirty, time);
      }
      tc.services.blocks.put(self.id, time, p, state);
    },
    readStored: async (time, p, tc, emit, self) => {
      if (durable) {
        for (const e of await tc.services.state.scan(self.id, p, time)) emit([e.key as K, e.value as S]);
        return;
      }
      const state = tc.services.blocks.get(self.id, time, p) as StateMap;
      for (const e of state.entries.values()) emit([e.key as K, e.value as S]);
    },
  };
}
