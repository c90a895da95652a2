/**
 * mapWithState: Spark's StateSpec, State, MapWithStateDStream and
 * InternalMapWithStateDStream.
 *
 * For each record of a batch, in order, the mapping function gets the key,
 * the value and the key's `State`, and returns a mapped element. Only keys
 * with data are touched, unlike updateStateByKey. With a timeout, a key that
 * saw no data for the timeout is given one last call with no value and
 * `state.isTimingOut()` true, then removed. As in Spark, timed-out keys are
 * found by a full scan of the state, which runs on the internal stream's
 * checkpoint batches (every 10 batch slides unless `checkpoint(interval)`
 * says otherwise).
 */
import { Duration, Time } from "../core/duration.js";
import {
  IllegalStateError,
  InvalidArgumentError,
  MissingDataError,
  NoSuchElementError,
  describe,
  requireFunction,
  requirePositiveInt,
} from "../core/errors.js";
import { HashPartitioner, keyId, type KeyId, type Partitioner } from "../core/keys.js";
import { NarrowDependency, RDD, ShuffledRDD } from "../rdd/rdd.js";
import type { TaskContext } from "../rdd/scope.js";
import { StateMap, type MappedWithState } from "../state/state-map.js";
import type { StateEntry } from "../storage/interfaces.js";
import { requireStateBackend, type DStream, type DStreamSpec, type StateBackend } from "./dstream.js";
import type { Planner } from "./planner-api.js";
import { detach, toRDD } from "./state.js";

type Pair<K, V> = readonly [K, V];

/** Spark's default: the internal state stream checkpoints (and scans for timeouts) every 10 slides. */
export const DEFAULT_CHECKPOINT_DURATION_MULTIPLIER = 10;

/** A key's state, handed to the mapping function of mapWithState. */
export class State<S> {
  private defined = false;
  private value: S | undefined;
  private updated = false;
  private removed = false;
  private timingOut = false;

  /** @internal */
  wrap(value: S | undefined, exists: boolean, timingOut = false): this {
    this.value = value;
    this.defined = exists;
    this.updated = false;
    this.removed = false;
    this.timingOut = timingOut;
    return this;
  }
  exists(): boolean {
    return this.defined;
  }
  get(): S {
    if (!this.defined) throw new NoSuchElementError("State is not set: the key has no state. Check state.exists() or use state.getOption().");
    return this.value as S;
  }
  getOption(): S | undefined {
    return this.defined ? this.value : undefined;
  }
  update(newState: S): void {
    if (this.removed) throw new IllegalStateError("Cannot update the state after it has been removed.");
    if (this.timingOut)
      throw new IllegalStateError("Cannot update the state that is timing out: it is being removed. Return a final mapped value instead.");
    this.value = newState;
    this.defined = true;
    this.updated = true;
  }
  remove(): void {
    if (this.timingOut) throw new IllegalStateError("Cannot remove the state that is timing out: it is removed already.");
    if (this.removed) throw new IllegalStateError("Cannot remove the state that has already been removed.");
    this.defined = false;
    this.updated = false;
    this.removed = true;
  }
  isTimingOut(): boolean {
    return this.timingOut;
  }
  /** @internal */ isRemoved(): boolean {
    return this.removed;
  }
  /** @internal */ isUpdated(): boolean {
    return this.updated;
  }
}

type FullMappingFunction<K, V, S, M> = (time: Time, key: K, value: V | undefined, state: State<S>) => M | undefined;

/** Spark's StateSpec: the mapping function and its options. */
export class StateSpec<K, V, S, M> {
  private _timeout: Duration | undefined;
  private _numPartitions: number | Partitioner | undefined;
  private _initialState: Iterable<Pair<K, S>> | RDD<Pair<K, S>> | undefined;
  private constructor(readonly fn: FullMappingFunction<K, V, S, M>) {}

  /**
   * `(key, value, state) => mapped`, or Spark's 4-argument form
   * `(time, key, value, state) => mapped | undefined`, where undefined emits nothing.
   */
  static function<K, V, S, M>(f: (key: K, value: V | undefined, state: State<S>) => M): StateSpec<K, V, S, M>;
  static function<K, V, S, M>(f: (time: Time, key: K, value: V | undefined, state: State<S>) => M | undefined): StateSpec<K, V, S, M>;
  static function<K, V, S, M>(f: (...args: never[]) => unknown): StateSpec<K, V, S, M> {
    requireFunction("StateSpec mapping function", f);
    if (f.length >= 4) return new StateSpec<K, V, S, M>(f as unknown as FullMappingFunction<K, V, S, M>);
    const g = f as unknown as (key: K, value: V | undefined, state: State<S>) => M;
    return new StateSpec<K, V, S, M>((_t, k, v, s) => g(k, v, s)).alwaysEmit();
  }
  private emitAll = false;
  private alwaysEmit(): this {
    this.emitAll = true;
    return this;
  }
  /** @internal Whether an `undefined` result is still an element (the 3-argument form). */
  get emitsUndefined(): boolean {
    return this.emitAll;
  }

  /** Removes the state of a key idle (no data) for this long. */
  timeout(idle: Duration): this {
    if (!(idle instanceof Duration) || idle.milliseconds <= 0) {
      throw new InvalidArgumentError(`Expected the StateSpec timeout to be a positive Duration, got \`${describe(idle)}\`. Use Seconds(n).`);
    }
    this._timeout = idle;
    return this;
  }
  numPartitions(n: number): this {
    this._numPartitions = requirePositiveInt("numPartitions", n);
    return this;
  }
  partitioner(p: Partitioner): this {
    this._numPartitions = p;
    return this;
  }
  initialState(data: Iterable<Pair<K, S>> | RDD<Pair<K, S>>): this {
    this._initialState = data;
    return this;
  }
  /**
   * Where the state lives: "memory" (the coordinator's memory, checkpointed) or "dynamodb" (one item
   * per key, read only for the keys with data: for very large, sparse state). @default the app's
   */
  stateBackend(backend: StateBackend): this {
    this._backend = requireStateBackend(backend);
    return this;
  }
  private _backend: StateBackend | undefined;
  getStateBackend(): StateBackend | undefined {
    return this._backend;
  }
  getTimeoutInterval(): Duration | undefined {
    return this._timeout;
  }
  getNumPartitions(): number | Partitioner | undefined {
    return this._numPartitions;
  }
  getInitialState(): Iterable<Pair<K, S>> | RDD<Pair<K, S>> | undefined {
    return this._initialState;
  }
}

/** The result of mapWithState: the mapped elements, plus the state as a stream. */
export type MapWithStateDStream<K, S, M> = DStream<M> & {
  /** The (key, state) pairs after each batch. */
  stateSnapshots(): DStream<[K, S]>;
};

type Changes = Map<KeyId, { key: unknown; entry: StateEntry | undefined }>;

/**
 * One batch of mapWithState over one partition. It reads the state of the
 * keys with data (and, on full-scan batches, every key, for timeouts), and
 * returns the mapped elements and the changed keys; the caller stores both.
 */
class MapWithStateRDD<K, V, S, M> extends RDD<M> {
  readonly numPartitions: number;
  constructor(
    planner: Planner,
    private readonly data: RDD<Pair<K, V>>,
    private readonly spec: StateSpec<K, V, S, M>,
    private readonly time: Time,
    /** The time of the previous state; undefined on the first batch (the initial state). */
    readonly prevTime: number | undefined,
    private readonly initial: RDD<Pair<K, S>> | undefined,
    private readonly fullScan: boolean,
    partitioner: Partitioner,
  ) {
    super(planner, [new NarrowDependency(data as RDD<unknown>), ...(initial ? [new NarrowDependency(initial as RDD<unknown>)] : [])]);
    this.numPartitions = partitioner.numPartitions;
  }
  async run(): Promise<void> {
    throw new IllegalStateError("mapWithState's result is read from its stored partitions, never recomputed in place.");
  }

  /** The initial state of partition `p` (the first batch). */
  async initialState(p: number, tc: TaskContext): Promise<StateMap> {
    const state = new StateMap(new Map(), new Map(), this.time.milliseconds);
    const t = this.time.milliseconds;
    if (this.initial) {
      await this.initial.run(p, tc, (kv) => {
        const id = keyId(kv[0]);
        state.entries.set(id, { key: kv[0], value: kv[1], updatedAt: t });
        state.dirty.set(id, kv[0]);
      });
    }
    return state;
  }

  /**
   * Maps partition `p`'s records in order against the state, read through `lookup` (the previous
   * state, or the per-key store) and, on full-scan batches, `all` (every entry, for timeouts).
   */
  async compute(
    p: number,
    tc: TaskContext,
    lookup: (keys: unknown[]) => Promise<Map<KeyId, StateEntry>>,
    all: () => Promise<Iterable<StateEntry>>,
  ): Promise<{ mapped: unknown[]; changes: Changes }> {
    const records: Pair<K, V>[] = [];
    await this.data.run(p, tc, (kv) => {
      records.push(kv);
    });
    const t = this.time.milliseconds;
    const current = await lookup(records.map((kv) => kv[0]));
    const changes: Changes = new Map();
    const valueOf = (id: KeyId) => (changes.has(id) ? changes.get(id)!.entry : current.get(id));
    const mapped: unknown[] = [];
    const state = new State<S>();
    const timeout = this.spec.getTimeoutInterval();
    const emitUndefined = this.spec.emitsUndefined;
    const out = (m: M | undefined) => {
      if (m !== undefined || emitUndefined) mapped.push(m);
    };
    for (const [key, value] of records) {
      const id = keyId(key);
      const cur = valueOf(id);
      // A copy: the function may change its state object in place before (or without) update().
      state.wrap(cur ? detach(cur.value as S) : undefined, cur !== undefined);
      const result = this.spec.fn(this.time, key, value, state);
      if (state.isRemoved()) {
        changes.set(id, { key, entry: undefined });
      } else if (state.isUpdated() || (state.exists() && timeout)) {
        changes.set(id, { key, entry: { key, value: state.get(), updatedAt: t } });
      }
      out(result);
    }
    if (this.fullScan && timeout) {
      const threshold = t - timeout.milliseconds;
      const expired: StateEntry[] = [];
      for (const e of await all()) {
        const id = keyId(e.key);
        const now = changes.has(id) ? changes.get(id)!.entry : e;
        if (now && now.updatedAt < threshold) expired.push(now);
      }
      for (const e of expired) {
        state.wrap(detach(e.value as S), true, true);
        out(this.spec.fn(this.time, e.key as K, undefined, state));
        changes.set(keyId(e.key), { key: e.key, entry: undefined });
      }
    }
    return { mapped, changes };
  }
}

export function mapWithStateSpecs<K, V, S, M>(
  parent: DStream<Pair<K, V>>,
  spec: StateSpec<K, V, S, M>,
  make: <T>(s: DStreamSpec<T>) => DStream<T>,
  defaultParallelism: number,
  defaultBackend: StateBackend,
): MapWithStateDStream<K, S, M> {
  if (!(spec instanceof StateSpec)) {
    throw new InvalidArgumentError(
      `Expected mapWithState to get a StateSpec, got \`${describe(spec)}\`. Use StateSpec.function((key, value, state) => ...).`,
    );
  }
  const n = spec.getNumPartitions();
  const partitioner = n instanceof HashPartitioner ? n : new HashPartitioner(n ?? defaultParallelism);
  const durable = requireStateBackend(spec.getStateBackend() ?? defaultBackend) === "dynamodb";
  const internal: DStream<M> = make<M>({
    kind: "mapWithState",
    parents: [parent],
    mustPersist: true,
    partitioner,
    checkpointSlides: DEFAULT_CHECKPOINT_DURATION_MULTIPLIER,
    // On the per-key backend the state is durable already: never checkpointed, read as of a batch time.
    ...(durable ? { durableState: true } : { storedForm: "mapped-state" as const }),
    compute: async (time, planner, self) => {
      const data = (await planner.getOrCompute(parent, time)) ?? planner.emptyRDD<Pair<K, V>>();
      const partitioned = new ShuffledRDD<K, V, V>(data, partitioner) as unknown as RDD<Pair<K, V>>;
      const prevTime = time.minus(self.slideDuration);
      const first = !prevTime.greater(planner.zeroTime);
      const initialData = spec.getInitialState();
      const initial =
        first && initialData ? (new ShuffledRDD<K, S, S>(toRDD(initialData, planner), partitioner) as unknown as RDD<Pair<K, S>>) : undefined;
      // The memory backend's state after the previous batch: from memory, a checkpoint, or recomputed.
      if (!first && !durable && !(await planner.stateAt(self as DStream<unknown>, prevTime))) {
        throw new MissingDataError(
          `The state of ${self} after ${prevTime} is not available, and the stream has no result then to recompute it from.`,
        );
      }
      const every = self.checkpointDuration ?? self.slideDuration.times(DEFAULT_CHECKPOINT_DURATION_MULTIPLIER);
      const fullScan = time.since(planner.zeroTime).isMultipleOf(every);
      return new MapWithStateRDD<K, V, S, M>(
        planner,
        partitioned,
        spec,
        time,
        first ? undefined : prevTime.milliseconds,
        initial,
        fullScan,
        partitioner,
      );
    },
    materialize: async (rdd, p, tc, time, self) => {
      const r = rdd as MapWithStateRDD<K, V, S, M>;
      const blocks = tc.services.blocks;
      if (durable) {
        const store = tc.services.state;
        const asOf = r.prevTime;
        const initial = asOf === undefined ? await r.initialState(p, tc) : undefined;
        const { mapped, changes } = await r.compute(
          p,
          tc,
          async (keys) => {
            if (initial) return initial.entries;
            const found = await store.getMany(self.id, p, keys, asOf!);
            return new Map(found.map((e) => [keyId(e.key), e]));
          },
          async () => (initial ? initial.entries.values() : store.scan(self.id, p, asOf!)),
        );
        const puts: StateEntry[] = [];
        const removes: unknown[] = [];
        if (initial) for (const [id, e] of initial.entries) if (!changes.has(id)) puts.push(e);
        for (const { key, entry } of changes.values()) {
          if (entry) puts.push(entry);
          else removes.push(key);
        }
        // Mapped data first: a re-run after the state commit still stores the same mapped data.
        blocks.put(self.id, time, p, { mapped, state: undefined });
        await store.commit(self.id, p, time, puts, removes);
        return;
      }
      let state: StateMap;
      let previous: MappedWithState | undefined;
      if (r.prevTime === undefined) {
        state = await r.initialState(p, tc);
      } else {
        previous = blocks.get(self.id, r.prevTime, p) as MappedWithState;
        if (!(previous?.state instanceof StateMap))
          throw new MissingDataError(`The state of ${self} at ${r.prevTime} ms (partition ${p}) is not in memory.`);
        state = previous.state;
      }
      const { mapped, changes } = await r.compute(
        p,
        tc,
        async () => state.entries,
        async () => state.entries.values(),
      );
      // Every change is computed before the state moves, so a failure above leaves the previous state whole.
      blocks.put(self.id, time, p, { mapped, state } satisfies MappedWithState);
      state.advance(time, changes);
      // The state object now stands at `time`; the previous batch keeps only its mapped elements.
      if (previous) blocks.put(self.id, r.prevTime!, p, { mapped: previous.mapped, state: undefined });
    },
    readStored: async (time, p, tc, emit) => {
      const stored = tc.services.blocks.get(internal.id, time, p) as MappedWithState;
      if (!stored.mapped)
        throw new MissingDataError(`The elements ${internal} mapped at ${time} ms are not in memory (a checkpoint holds its state only).`);
      for (const m of stored.mapped) emit(m as M);
    },
  });
  let snapshotStream: DStream<[K, S]> | undefined;
  const snapshots = (): DStream<[K, S]> =>
    (snapshotStream ??= make<[K, S]>({
      kind: "stateSnapshots",
      parents: [internal],
      partitioner,
      compute: async (time, planner) => {
        if (!(await planner.getOrCompute(internal, time))) return undefined;
        const t = time.milliseconds;
        return planner.leaf<[K, S]>(
          partitioner.numPartitions,
          async (p, tc, emit) => {
            if (durable) {
              for (const e of await tc.services.state.scan(internal.id, p, t)) emit([e.key as K, e.value as S]);
              return;
            }
            const state = (tc.services.blocks.get(internal.id, t, p) as MappedWithState).state;
            for (const e of state.entries.values()) emit([e.key as K, e.value as S]);
          },
          partitioner,
          `stateSnapshots@${t}`,
          true,
        );
      },
    }));
  return Object.assign(internal, { stateSnapshots: snapshots }) as MapWithStateDStream<K, S, M>;
}
