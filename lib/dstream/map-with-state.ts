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
import { IllegalStateError, InvalidArgumentError, NoSuchElementError, describe, requireFunction, requirePositiveInt } from "../core/errors.js";
import { HashPartitioner, keyId, type KeyId, type Partitioner } from "../core/keys.js";
import { NarrowDependency, RDD, ShuffledRDD, type Emit } from "../rdd/rdd.js";
import type { TaskContext } from "../rdd/scope.js";
import type { StateEntry } from "../storage/interfaces.js";
import type { DStream, DStreamSpec } from "./dstream.js";
import type { Planner } from "./planner-api.js";
import { commitState, toRDD } from "./state.js";

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
  exists(): boolean { return this.defined; }
  get(): S {
    if (!this.defined) throw new NoSuchElementError("State is not set: the key has no state. Check state.exists() or use state.getOption().");
    return this.value as S;
  }
  getOption(): S | undefined { return this.defined ? this.value : undefined; }
  update(newState: S): void {
    if (this.removed) throw new IllegalStateError("Cannot update the state after it has been removed.");
    if (this.timingOut) throw new IllegalStateError("Cannot update the state that is timing out: it is being removed. Return a final mapped value instead.");
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
  isTimingOut(): boolean { return this.timingOut; }
  /** @internal */ isRemoved(): boolean { return this.removed; }
  /** @internal */ isUpdated(): boolean { return this.updated; }
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
  private alwaysEmit(): this { this.emitAll = true; return this; }
  /** @internal Whether an `undefined` result is still an element (the 3-argument form). */
  get emitsUndefined(): boolean { return this.emitAll; }

  /** Removes the state of a key idle (no data) for this long. */
  timeout(idle: Duration): this {
    if (!(idle instanceof Duration) || idle.milliseconds <= 0) {
      throw new InvalidArgumentError(`Expected the StateSpec timeout to be a positive Duration, got \`${describe(idle)}\`. Use Seconds(n).`);
    }
    this._timeout = idle;
    return this;
  }
  numPartitions(n: number): this { this._numPartitions = requirePositiveInt("numPartitions", n); return this; }
  partitioner(p: Partitioner): this { this._numPartitions = p; return this; }
  initialState(data: Iterable<Pair<K, S>> | RDD<Pair<K, S>>): this { this._initialState = data; return this; }
  getTimeoutInterval(): Duration | undefined { return this._timeout; }
  getNumPartitions(): number | Partitioner | undefined { return this._numPartitions; }
  getInitialState(): Iterable<Pair<K, S>> | RDD<Pair<K, S>> | undefined { return this._initialState; }
}

/** The result of mapWithState: the mapped elements, plus the state as a stream. */
export type MapWithStateDStream<K, S, M> = DStream<M> & {
  /** The (key, state) pairs after each batch. */
  stateSnapshots(): DStream<[K, S]>;
};

interface Changes { puts: StateEntry[]; removes: unknown[]; mapped: unknown[] }

/** One batch of mapWithState over one partition: reads touched (or, on scan batches, all) keys' state. */
class MapWithStateRDD<K, V, S, M> extends RDD<M> {
  readonly numPartitions: number;
  constructor(
    planner: Planner,
    private readonly data: RDD<Pair<K, V>>,
    private readonly spec: StateSpec<K, V, S, M>,
    private readonly operatorId: string,
    private readonly time: Time,
    private readonly prevTime: number | undefined,
    private readonly initial: RDD<Pair<K, S>> | undefined,
    private readonly fullScan: boolean,
    partitioner: Partitioner,
  ) {
    super(planner, [new NarrowDependency(data as RDD<unknown>), ...(initial ? [new NarrowDependency(initial as RDD<unknown>)] : [])]);
    this.numPartitions = partitioner.numPartitions;
  }
  async run(p: number, tc: TaskContext, emit: Emit<M>): Promise<void> {
    for (const m of (await this.changes(p, tc)).mapped) emit(m as M);
  }
  async changes(p: number, tc: TaskContext): Promise<Changes> {
    const records: Pair<K, V>[] = [];
    await this.data.run(p, tc, (kv) => { records.push(kv); });
    const t = this.time.milliseconds;
    const states = new Map<KeyId, { key: K; value: S; updatedAt: number }>();
    const firstBatch = this.prevTime === undefined;
    if (firstBatch) {
      if (this.initial) await this.initial.run(p, tc, (kv) => { states.set(keyId(kv[0]), { key: kv[0], value: kv[1], updatedAt: t }); });
    } else {
      const entries = this.fullScan
        ? await tc.services.state.scan(this.operatorId, p, this.prevTime!)
        : await tc.services.state.getMany(this.operatorId, p, records.map((kv) => kv[0]), this.prevTime!);
      for (const e of entries) states.set(keyId(e.key), { key: e.key as K, value: e.value as S, updatedAt: e.updatedAt });
    }
    // Per touched key: its new entry, or undefined when removed.
    const changed = new Map<KeyId, { key: unknown; entry: StateEntry | undefined }>();
    if (firstBatch) for (const [id, e] of states) changed.set(id, { key: e.key, entry: e });
    const mapped: unknown[] = [];
    const state = new State<S>();
    const timeout = this.spec.getTimeoutInterval();
    const emitUndefined = this.spec.emitsUndefined;
    const out = (m: M | undefined) => { if (m !== undefined || emitUndefined) mapped.push(m); };
    for (const [key, value] of records) {
      const id = keyId(key);
      const cur = states.get(id);
      state.wrap(cur?.value, cur !== undefined);
      const result = this.spec.fn(this.time, key, value, state);
      if (state.isRemoved()) {
        states.delete(id);
        changed.set(id, { key, entry: undefined });
      } else if (state.isUpdated() || (state.exists() && timeout)) {
        const e = { key, value: state.get(), updatedAt: t };
        states.set(id, e);
        changed.set(id, { key, entry: e });
      }
      out(result);
    }
    if (this.fullScan && timeout) {
      const threshold = t - timeout.milliseconds;
      for (const [id, e] of [...states]) {
        if (e.updatedAt >= threshold) continue;
        state.wrap(e.value, true, true);
        out(this.spec.fn(this.time, e.key, undefined, state));
        states.delete(id);
        changed.set(id, { key: e.key, entry: undefined });
      }
    }
    const puts: StateEntry[] = [];
    const removes: unknown[] = [];
    for (const { key, entry } of changed.values()) {
      if (entry) puts.push(entry);
      else removes.push(key);
    }
    return { puts, removes, mapped };
  }
}

export function mapWithStateSpecs<K, V, S, M>(
  parent: DStream<Pair<K, V>>,
  spec: StateSpec<K, V, S, M>,
  make: <T>(s: DStreamSpec<T>) => DStream<T>,
  defaultParallelism: number,
): MapWithStateDStream<K, S, M> {
  if (!(spec instanceof StateSpec)) {
    throw new InvalidArgumentError(`Expected mapWithState to get a StateSpec, got \`${describe(spec)}\`. Use StateSpec.function((key, value, state) => ...).`);
  }
  const n = spec.getNumPartitions();
  const partitioner = n instanceof HashPartitioner ? n : new HashPartitioner(n ?? defaultParallelism);
  const internal: DStream<M> = make<M>({
    kind: "mapWithState",
    parents: [parent],
    mustPersist: true,
    partitioner,
    compute: async (time, planner, self) => {
      const data = (await planner.getOrCompute(parent, time)) ?? planner.emptyRDD<Pair<K, V>>();
      const partitioned = new ShuffledRDD<K, V, V>(data, partitioner) as unknown as RDD<Pair<K, V>>;
      const prevTime = time.minus(self.slideDuration);
      const first = !prevTime.greater(planner.zeroTime);
      const initialData = spec.getInitialState();
      const initial = first && initialData
        ? (new ShuffledRDD<K, S, S>(toRDD(initialData, planner), partitioner) as unknown as RDD<Pair<K, S>>)
        : undefined;
      const every = self.checkpointDuration ?? self.slideDuration.times(DEFAULT_CHECKPOINT_DURATION_MULTIPLIER);
      const fullScan = time.since(planner.zeroTime).isMultipleOf(every);
      return new MapWithStateRDD<K, V, S, M>(
        planner, partitioned, spec, self.id, time, first ? undefined : prevTime.milliseconds, initial, fullScan, partitioner,
      );
    },
    materialize: async (rdd, p, tc, time, self) => {
      const { puts, removes, mapped } = await (rdd as MapWithStateRDD<K, V, S, M>).changes(p, tc);
      // Mapped data first: a retry after the state commit still rewrites the same mapped data.
      await tc.services.blocks.put(self.id, time, p, mapped);
      await commitState(tc, self.id, p, time, puts, removes);
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
        return planner.leaf<[K, S]>(partitioner.numPartitions, async (p, tc, emit) => {
          for (const e of await tc.services.state.scan(internal.id, p, time.milliseconds)) emit([e.key as K, e.value as S]);
        }, partitioner, `stateSnapshots@${time}`);
      },
    }));
  return Object.assign(internal, { stateSnapshots: snapshots }) as MapWithStateDStream<K, S, M>;
}
