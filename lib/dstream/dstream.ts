/**
 * DStream: a stream cut into batches, each batch an RDD, with Spark
 * Streaming's operations and semantics.
 *
 * A DStream owns its parents, its slide duration, and how it computes its
 * RDD for a batch time (its spec). Stateless operations are one RDD
 * transformation per batch; keyed operations hash-partition with
 * `HashPartitioner(numPartitions ?? defaultParallelism)` as Spark's
 * `PairDStreamFunctions` do; windows, state and outputs live in their own
 * files. Composite operations (count, countByWindow, reduceByKeyAndWindow
 * without an inverse, ...) are built from the primitives exactly as Spark
 * builds them, so their edge cases (an empty batch, keys leaving a window)
 * come out the same.
 */
import { Duration, Time } from "../core/duration.js";
import { IllegalStateError, InvalidArgumentError, InvalidGraphError, describe, requireFunction, requirePositiveInt } from "../core/errors.js";
import { HashPartitioner, type Partitioner } from "../core/keys.js";
import { RDD, unionOf, withRDDOrigin, type Emit } from "../rdd/rdd.js";
import { currentTaskContext, type TaskContext } from "../rdd/scope.js";
import type { SparkContext } from "../streaming/shared-variables.js";
import type { Allocation, BlockDescriptor, RecordBudget } from "../storage/interfaces.js";
import type { Planner } from "./planner-api.js";
import { StorageLevel } from "./storage-level.js";
import { outputSpec, printOutput, saveAsTextFilesOutput, type ForeachFunction } from "./output.js";
import { reducedWindowSpec, slice as sliceStream, windowSpec } from "./window.js";
import { stateSpec, type UpdateStateOptions } from "./state.js";
import { mapWithStateSpecs, type MapWithStateDStream, type StateSpec } from "./map-with-state.js";

type Pair<K, V> = readonly [K, V];
/** Inference helper: a callback returning `[a, b]` is typed as a tuple. */
type Elem = [unknown, unknown] | {} | null | undefined;

/**
 * The optional arguments of `reduceByKeyAndWindow` as one object: the TypeScript form of Spark's
 * named arguments (Scala) and keyword arguments (PySpark), e.g.
 * `reduceByKeyAndWindow(f, invF, Seconds(30), { filterFunc: ([, v]) => v > 0 })`.
 */
export interface ReduceByKeyAndWindowOptions<K, V> {
  /** How often the window is computed; a multiple of this stream's slide. @default this stream's slide duration */
  readonly slideDuration?: Duration;
  /** Partitions of the windowed stream, or its partitioner. @default the context's defaultParallelism */
  readonly numPartitions?: number | Partitioner;
  /** Scala's name for `numPartitions` given a Partitioner. */
  readonly partitioner?: Partitioner;
  /**
   * Inverse form only: keeps the `[key, value]` pairs it returns true for, after each incremental
   * update, so keys whose value fell back to the "zero" (a count of 0) leave the window.
   * @default none: such keys stay, as in Spark
   */
  readonly filterFunc?: (kv: [K, V]) => boolean;
}

const WINDOW_OPTION_KEYS = new Set(["slideDuration", "numPartitions", "partitioner", "filterFunc"]);

function isOptionsObject(x: unknown): x is ReduceByKeyAndWindowOptions<unknown, unknown> {
  return (
    typeof x === "object" && x !== null && !(x instanceof Duration) && !(x instanceof HashPartitioner) && !("getPartition" in x) && !Array.isArray(x)
  );
}

/** The minimum a DStream needs from its StreamingContext. */
export interface StreamingContextLike {
  readonly batchDuration: Duration;
  readonly defaultParallelism: number;
  /** The state backend of stateful operations that do not choose one. */
  readonly defaultStateBackend: StateBackend;
  /** Registers a new stream; throws if the context is started or stopped. */
  registerStream(stream: DStream<unknown>): string;
  registerOutput(stream: DStream<unknown>): void;
  /** Checks that `name` is free and the context not started; returns the new id. */
  renameStream(stream: DStream<unknown>, name: string): string;
  /** Where `print()` writes its lines. */
  printLine(line: string): void;
  /** Whether the context has started (or stopped): streams can no longer be configured. */
  readonly started: boolean;
  /** Spark's `sparkContext`: broadcast variables and accumulators (lib/streaming/shared-variables.ts). */
  readonly sparkContext: SparkContext;
}

/** A batch the app completed, as input streams see it (backpressure's rate estimator). */
export interface CompletedBatch {
  readonly time: number;
  readonly startedAt: number;
  readonly completedAt: number;
  readonly inputRecords: number;
}

/** What an input stream knows when it fixes a batch's blocks. */
export interface AllocationContext {
  /** What the coordinator may still keep in memory of the records it reads (see RecordBudget). */
  readonly budget: RecordBudget;
  /** Batches completed by this coordinator process, oldest first. */
  readonly completed: readonly CompletedBatch[];
}

/** The state backend of a stateful operation: "memory" (state in memory, checkpointed) or "dynamodb" (one item per key). */
export type StateBackend = "memory" | "dynamodb";

export interface DStreamSpec<T> {
  readonly kind: string;
  readonly parents: readonly DStream<any>[];
  /** Defaults to the first parent's slide duration (or the batch interval for an input). */
  readonly slideDuration?: Duration;
  compute(time: Time, planner: Planner, self: DStream<T>): Promise<RDD<T> | undefined>;
  /** How far back into its parents' past results this stream reads (a window's length). */
  readonly parentLookback?: Duration;
  /** The stream reads its own past results (state, incremental windows): always stored, and checkpointed. */
  readonly mustPersist?: boolean;
  /** `persist()` on this stream persists another one instead (a window persists its parent, as in Spark). */
  readonly persistTarget?: DStream<any>;
  /** Stores one partition of a result (in `tc.services.blocks`). Default: the partition's elements. */
  materialize?(rdd: RDD<T>, partition: number, tc: TaskContext, time: number, self: DStream<T>): Promise<void>;
  /** Reads one partition of a stored result. Default: the stored elements. */
  readStored?(time: number, partition: number, tc: TaskContext, emit: Emit<T>, self: DStream<T>): Promise<void>;
  /** The per-key backend keeps this stream's results durably, versioned by batch time: not in memory, not checkpointed. */
  readonly durableState?: boolean;
  /** What a stored partition is: a StateMap ("state"), mapWithState's elements and state ("mapped-state"), or its elements (default). */
  readonly storedForm?: "state" | "mapped-state";
  /** The spec's default checkpoint interval, as a multiple of its slide (mapWithState: 10, Spark's). */
  readonly checkpointSlides?: number;
  /**
   * For input streams: fixes the blocks of a batch. Runs once per batch, in the coordinator.
   * `previous` is the state this stream returned for the batch before (undefined at first).
   */
  allocateBlocks?(time: Time, previous: unknown, context: AllocationContext): Promise<BlockDescriptor[] | Allocation>;
  /**
   * For input streams: reads ahead, between boundaries, what the next `allocateBlocks` from `previous`
   * will take (Kinesis records), so the boundary's read is short. Never changes what a batch holds.
   */
  readAhead?(previous: unknown): Promise<void>;
  /** For input streams: the source and what it reads (a Kinesis stream's name), for upgrade checks and runtimes that create it. */
  readonly input?: { readonly source: string; readonly name: string };
  /** For output streams: what runs once per batch with the parent's RDD. */
  readonly output?: ForeachFunction<unknown>;
  /** The partitioner of every RDD the stream produces, when it is fixed (keyed operations). */
  readonly partitioner?: Partitioner;
}

export class DStream<T> {
  private _id: string;
  readonly kind: string;
  readonly parents: readonly DStream<any>[];
  readonly slideDuration: Duration;
  /** Set by StreamingContext.start(). */
  zeroTime: Time | undefined;
  /** How long results are kept for later batches; set when the context starts. */
  rememberDuration: Duration | undefined;
  /** Set by `checkpoint(interval)`. */
  checkpointDuration: Duration | undefined;
  /** How often the stream's result is checkpointed, for streams that are; set when the context starts. */
  checkpointInterval: Duration | undefined;
  private _storageLevel = StorageLevel.NONE;
  private _name: string | undefined;

  constructor(
    readonly ssc: StreamingContextLike,
    readonly spec: DStreamSpec<T>,
  ) {
    this.kind = spec.kind;
    this.parents = spec.parents;
    for (const p of spec.parents) {
      if (p.ssc !== ssc) {
        throw new InvalidGraphError(
          `Cannot combine DStreams of different StreamingContexts (${p} and a ${spec.kind}). Create every stream of a pipeline from one context.`,
        );
      }
    }
    this.slideDuration = spec.slideDuration ?? spec.parents[0]?.slideDuration ?? ssc.batchDuration;
    if (this.slideDuration.milliseconds <= 0) {
      throw new InvalidGraphError(`The slide duration of ${spec.kind} must be > 0, got ${this.slideDuration}.`);
    }
    this._id = ssc.registerStream(this as DStream<unknown>);
  }

  // ---- identity and configuration -----------------------------------------------------------

  get storageLevel(): StorageLevel {
    return this._storageLevel;
  }
  /**
   * The stream's stable id: where its state, stored results and input positions are kept.
   * Assigned from creation order (`updateStateByKey-5`), or the name given to `setName`.
   */
  get id(): string {
    return this._id;
  }
  get name(): string {
    return this._name ?? this._id;
  }
  /**
   * Names the stream; the name becomes its id. Name the stateful operations
   * (and inputs) of an app you will upgrade: their state then survives code
   * changes that add or remove other operations before them.
   */
  setName(name: string): this {
    if (typeof name !== "string" || !/^[a-zA-Z0-9_.-]{1,64}$/.test(name)) {
      throw new InvalidArgumentError(`Expected a stream name of 1 to 64 characters [a-zA-Z0-9_.-], got \`${describe(name)}\`.`);
    }
    this._id = this.ssc.renameStream(this as DStream<unknown>, name);
    this._name = name;
    return this;
  }
  context(): StreamingContextLike {
    return this.ssc;
  }
  toString(): string {
    return `${this.kind} [${this.id}]`;
  }
  get isPersisted(): boolean {
    return this.spec.mustPersist === true || this._storageLevel !== StorageLevel.NONE;
  }
  get partitioner(): Partitioner | undefined {
    return this.spec.partitioner;
  }

  /** Materializes each batch's result once (see StorageLevel for what the levels mean here). */
  persist(level: StorageLevel = StorageLevel.MEMORY_ONLY_SER): this {
    if (this.zeroTime || this.ssc.started) {
      throw new IllegalStateError(
        `Cannot change the storage level of ${this} after the streaming context has started. Call persist() before start().`,
      );
    }
    if (this.spec.persistTarget) {
      this.spec.persistTarget.persist(level);
      return this;
    }
    this._storageLevel = level;
    return this;
  }
  cache(): this {
    return this.persist(StorageLevel.MEMORY_ONLY_SER);
  }

  /** Spark's data checkpoint interval: how often this stream's result is saved. Must be a multiple of the slide. */
  checkpoint(interval: Duration): this {
    if (this.zeroTime || this.ssc.started)
      throw new IllegalStateError(`Cannot set the checkpoint interval of ${this} after the streaming context has started.`);
    if (interval instanceof Duration && interval.less(this.slideDuration)) {
      throw new InvalidGraphError(
        `The checkpoint interval for ${this} has been set to ${interval} which is lower than its slide time (${this.slideDuration}). Please set it to at least ${this.slideDuration}.`,
      );
    }
    if (!(interval instanceof Duration) || !interval.isMultipleOf(this.slideDuration)) {
      throw new InvalidGraphError(
        `The checkpoint interval for ${this} has been set to ${describe(interval?.toString?.() ?? interval)} which is not a multiple of its slide time (${this.slideDuration}). Please set it to a multiple of ${this.slideDuration}.`,
      );
    }
    this.persist(this._storageLevel === StorageLevel.NONE ? StorageLevel.MEMORY_ONLY_SER : this._storageLevel);
    this.checkpointDuration = interval;
    return this;
  }

  /** Whether this stream generates an RDD at `time`: after the zero time, on a slide boundary. */
  isTimeValid(time: Time): boolean {
    if (!this.zeroTime) throw new IllegalStateError(`${this} has not been initialized: start the StreamingContext first.`);
    return time.greater(this.zeroTime) && time.since(this.zeroTime).isMultipleOf(this.slideDuration);
  }

  // ---- building blocks ----------------------------------------------------------------------

  private make<U>(spec: DStreamSpec<U>): DStream<U> {
    return new DStream<U>(this.ssc, spec);
  }

  /** A stream whose RDD at each time is `f` of this stream's RDD. */
  private derive<U>(kind: string, f: (rdd: RDD<T>, time: Time) => RDD<U>, partitioner?: Partitioner): DStream<U> {
    return this.make<U>({
      kind,
      parents: [this],
      partitioner,
      compute: async (time, planner, self) => {
        const rdd = await planner.getOrCompute(this, time);
        return rdd && withRDDOrigin(self.id, time.milliseconds, () => f(rdd, time));
      },
    });
  }

  private partitionerFor(numPartitions?: number | Partitioner): HashPartitioner {
    if (numPartitions instanceof HashPartitioner) return numPartitions;
    return new HashPartitioner(numPartitions === undefined ? this.ssc.defaultParallelism : requirePositiveInt("numPartitions", numPartitions));
  }

  // ---- stateless transformations ------------------------------------------------------------

  map<U extends Elem>(f: (x: T) => U): DStream<U> {
    requireFunction("map function", f);
    return this.derive("map", (r) => r.map(f));
  }
  flatMap<U>(f: (x: T) => Iterable<U>): DStream<U> {
    requireFunction("flatMap function", f);
    return this.derive("flatMap", (r) => r.flatMap(f));
  }
  filter(f: (x: T) => boolean): DStream<T> {
    requireFunction("filter function", f);
    return this.derive("filter", (r) => r.filter(f));
  }
  mapPartitions<U>(f: (items: T[], partitionIndex: number) => Iterable<U>, preservePartitioning = false): DStream<U> {
    requireFunction("mapPartitions function", f);
    return this.derive("mapPartitions", (r) => r.mapPartitions(f, preservePartitioning));
  }
  glom(): DStream<T[]> {
    return this.derive("glom", (r) => r.glom());
  }
  repartition(numPartitions: number): DStream<T> {
    requirePositiveInt("numPartitions", numPartitions);
    return this.derive("repartition", (r) => r.repartition(numPartitions));
  }
  union(...others: DStream<T>[]): DStream<T> {
    return unionStreams(this.ssc, [this, ...others]);
  }

  /** The number of elements in each batch: one number per batch, 0 for an empty batch. */
  count(): DStream<number> {
    return this.map((_) => [null, 1] as [null, number])
      .transform((rdd) => rdd.union(rdd.context.parallelize([[null, 0] as [null, number]], 1)))
      .reduceByKey((a, b) => a + b)
      .map((kv) => kv[1]);
  }
  /** The reduction of each batch; an empty batch yields no element. */
  reduce(f: (a: T, b: T) => T): DStream<T> {
    requireFunction("reduce function", f);
    return this.map((x) => [null, x] as [null, T])
      .reduceByKey(f, 1)
      .map((kv) => kv[1]);
  }
  countByValue(numPartitions?: number): DStream<[T, number]> {
    return this.map((x) => [x, 1] as [T, number]).reduceByKey((a, b) => a + b, numPartitions);
  }
  transform<U>(f: (rdd: RDD<T>, time: Time) => RDD<U>): DStream<U> {
    requireFunction("transform function", f);
    return this.derive("transform", (r, t) => checkTransformResult(f(r, t), "transform"));
  }
  transformWith<U, V>(other: DStream<U>, f: (rdd1: RDD<T>, rdd2: RDD<U>, time: Time) => RDD<V>): DStream<V> {
    requireFunction("transformWith function", f);
    return transformStreams<V>(this.ssc, [this, other], (rdds, t) => f(rdds[0] as RDD<T>, rdds[1] as RDD<U>, t), "transformWith");
  }

  // ---- pair transformations (PairDStreamFunctions) ------------------------------------------

  mapValues<K, V, U extends Elem>(this: DStream<Pair<K, V>>, f: (v: V) => U): DStream<[K, U]> {
    requireFunction("mapValues function", f);
    return (this as DStream<Pair<K, V>>).derive("mapValues", (r) => r.mapValues(f));
  }
  flatMapValues<K, V, U>(this: DStream<Pair<K, V>>, f: (v: V) => Iterable<U>): DStream<[K, U]> {
    requireFunction("flatMapValues function", f);
    return this.derive("flatMapValues", (r) => r.flatMapValues(f));
  }
  combineByKey<K, V, C>(
    this: DStream<Pair<K, V>>,
    createCombiner: (v: V) => C,
    mergeValue: (c: C, v: V) => C,
    mergeCombiners: (a: C, b: C) => C,
    numPartitions?: number | Partitioner,
    mapSideCombine = true,
  ): DStream<[K, C]> {
    const part = this.partitionerFor(numPartitions);
    return this.derive("combineByKey", (r) => r.combineByKey(createCombiner, mergeValue, mergeCombiners, part, mapSideCombine), part);
  }
  reduceByKey<K, V>(this: DStream<Pair<K, V>>, f: (a: V, b: V) => V, numPartitions?: number | Partitioner): DStream<[K, V]> {
    requireFunction("reduceByKey function", f);
    const part = this.partitionerFor(numPartitions);
    return this.derive("reduceByKey", (r) => r.reduceByKey(f, part), part);
  }
  groupByKey<K, V>(this: DStream<Pair<K, V>>, numPartitions?: number | Partitioner): DStream<[K, V[]]> {
    const part = this.partitionerFor(numPartitions);
    return this.derive("groupByKey", (r) => r.groupByKey(part), part);
  }
  cogroup<K, V, W>(this: DStream<Pair<K, V>>, other: DStream<Pair<K, W>>, numPartitions?: number | Partitioner): DStream<[K, [V[], W[]]]> {
    const part = this.partitionerFor(numPartitions);
    return this.transformWith(other, (a, b) => a.cogroup(b, part));
  }
  join<K, V, W>(this: DStream<Pair<K, V>>, other: DStream<Pair<K, W>>, numPartitions?: number | Partitioner): DStream<[K, [V, W]]> {
    const part = this.partitionerFor(numPartitions);
    return this.transformWith(other, (a, b) => a.join(b, part));
  }
  leftOuterJoin<K, V, W>(
    this: DStream<Pair<K, V>>,
    other: DStream<Pair<K, W>>,
    numPartitions?: number | Partitioner,
  ): DStream<[K, [V, W | undefined]]> {
    const part = this.partitionerFor(numPartitions);
    return this.transformWith(other, (a, b) => a.leftOuterJoin(b, part));
  }
  rightOuterJoin<K, V, W>(
    this: DStream<Pair<K, V>>,
    other: DStream<Pair<K, W>>,
    numPartitions?: number | Partitioner,
  ): DStream<[K, [V | undefined, W]]> {
    const part = this.partitionerFor(numPartitions);
    return this.transformWith(other, (a, b) => a.rightOuterJoin(b, part));
  }
  fullOuterJoin<K, V, W>(
    this: DStream<Pair<K, V>>,
    other: DStream<Pair<K, W>>,
    numPartitions?: number | Partitioner,
  ): DStream<[K, [V | undefined, W | undefined]]> {
    const part = this.partitionerFor(numPartitions);
    return this.transformWith(other, (a, b) => a.fullOuterJoin(b, part));
  }

  /**
   * Keeps a state per key across batches. `update(values, state)` is called
   * for every key that has state or new values; returning `undefined`
   * removes the key.
   */
  updateStateByKey<K, V, S>(
    this: DStream<Pair<K, V>>,
    update: (values: V[], state: S | undefined) => S | undefined,
    numPartitionsOrOptions?: number | Partitioner | UpdateStateOptions<K, S>,
    initialState?: Iterable<Pair<K, S>> | RDD<Pair<K, S>>,
  ): DStream<[K, S]> {
    requireFunction("updateStateByKey function", update);
    const options: UpdateStateOptions<K, S> =
      typeof numPartitionsOrOptions === "object" && !(numPartitionsOrOptions instanceof HashPartitioner)
        ? numPartitionsOrOptions
        : { numPartitions: numPartitionsOrOptions as number | undefined, initialState };
    const part = this.partitionerFor(options.numPartitions);
    const backend = requireStateBackend(options.stateBackend ?? this.ssc.defaultStateBackend);
    return this.make(stateSpec(this, update, part, options.initialState ?? options.initialRDD, backend));
  }

  mapWithState<K, V, S, M>(this: DStream<Pair<K, V>>, spec: StateSpec<K, V, S, M>): MapWithStateDStream<K, S, M> {
    return mapWithStateSpecs(this, spec, (s) => this.make(s), this.ssc.defaultParallelism, this.ssc.defaultStateBackend);
  }

  // ---- windows ------------------------------------------------------------------------------

  window(windowDuration: Duration, slideDuration: Duration = this.slideDuration): DStream<T> {
    return this.make(windowSpec(this, windowDuration, slideDuration));
  }
  reduceByWindow(f: (a: T, b: T) => T, windowDuration: Duration, slideDuration?: Duration): DStream<T>;
  reduceByWindow(f: (a: T, b: T) => T, invF: (a: T, b: T) => T, windowDuration: Duration, slideDuration: Duration): DStream<T>;
  reduceByWindow(f: (a: T, b: T) => T, a: ((a: T, b: T) => T) | Duration, b?: Duration, c?: Duration): DStream<T> {
    requireFunction("reduce function", f);
    if (typeof a === "function") {
      return this.map((x) => [1, x] as [number, T])
        .reduceByKeyAndWindow(f, a, b!, c ?? this.slideDuration, 1)
        .map((kv) => kv[1]);
    }
    return this.reduce(f)
      .window(a, b ?? this.slideDuration)
      .reduce(f);
  }
  countByWindow(windowDuration: Duration, slideDuration: Duration = this.slideDuration): DStream<number> {
    return this.map((_) => 1).reduceByWindow(
      (a, b) => a + b,
      (a, b) => a - b,
      windowDuration,
      slideDuration,
    );
  }
  countByValueAndWindow(windowDuration: Duration, slideDuration: Duration = this.slideDuration, numPartitions?: number): DStream<[T, number]> {
    return this.map((x) => [x, 1] as [T, number]).reduceByKeyAndWindow(
      (a, b) => a + b,
      (a, b) => a - b,
      windowDuration,
      slideDuration,
      numPartitions,
      (kv) => kv[1] !== 0,
    );
  }
  groupByKeyAndWindow<K, V>(
    this: DStream<Pair<K, V>>,
    windowDuration: Duration,
    slideDuration: Duration = this.slideDuration,
    numPartitions?: number | Partitioner,
  ): DStream<[K, V[]]> {
    const part = this.partitionerFor(numPartitions);
    return this.groupByKey(part)
      .window(windowDuration, slideDuration)
      .combineByKey<K, V[], V[]>(
        (vs) => [...vs],
        (buf, vs) => {
          for (const v of vs) buf.push(v);
          return buf;
        },
        (a, b) => {
          for (const v of b) a.push(v);
          return a;
        },
        part,
      );
  }
  /**
   * Spark's reduceByKeyAndWindow, in all of Scala's and PySpark's forms:
   * - `(f, windowDuration, slideDuration?, numPartitions | partitioner?)`: reduces every batch in the
   *   window each time;
   * - `(f, invF, windowDuration, slideDuration?, numPartitions | partitioner?, filterFunc?)`: the
   *   incremental form, which adds the batches entering the window and removes, with `invF`, the
   *   ones leaving it; `filterFunc` drops pairs after each update;
   * - `invF` given as `null` or `undefined` selects the first form, as PySpark's `None` does;
   * - `filterFunc` may also stand where `numPartitions` does (`(f, invF, w, s, filterFunc)`, Spark's
   *   named or keyword use), and the optional arguments may be one options object, at the slide's
   *   position or after it: `(f, invF, w, { slideDuration, numPartitions, filterFunc })`.
   */
  reduceByKeyAndWindow<K, V>(
    this: DStream<Pair<K, V>>,
    f: (a: V, b: V) => V,
    windowDuration: Duration,
    slideDuration?: Duration,
    numPartitions?: number | Partitioner,
  ): DStream<[K, V]>;
  reduceByKeyAndWindow<K, V>(
    this: DStream<Pair<K, V>>,
    f: (a: V, b: V) => V,
    windowDuration: Duration,
    options: Omit<ReduceByKeyAndWindowOptions<K, V>, "filterFunc">,
  ): DStream<[K, V]>;
  reduceByKeyAndWindow<K, V>(
    this: DStream<Pair<K, V>>,
    f: (a: V, b: V) => V,
    invF: ((a: V, b: V) => V) | null | undefined,
    windowDuration: Duration,
    slideDuration?: Duration,
    numPartitions?: number | Partitioner,
    filterFunc?: (kv: [K, V]) => boolean,
  ): DStream<[K, V]>;
  reduceByKeyAndWindow<K, V>(
    this: DStream<Pair<K, V>>,
    f: (a: V, b: V) => V,
    invF: ((a: V, b: V) => V) | null | undefined,
    windowDuration: Duration,
    slideDuration: Duration | undefined,
    filterFunc: (kv: [K, V]) => boolean,
  ): DStream<[K, V]>;
  reduceByKeyAndWindow<K, V>(
    this: DStream<Pair<K, V>>,
    f: (a: V, b: V) => V,
    invF: ((a: V, b: V) => V) | null | undefined,
    windowDuration: Duration,
    options: ReduceByKeyAndWindowOptions<K, V>,
  ): DStream<[K, V]>;
  reduceByKeyAndWindow<K, V>(
    this: DStream<Pair<K, V>>,
    f: (a: V, b: V) => V,
    invF: ((a: V, b: V) => V) | null | undefined,
    windowDuration: Duration,
    slideDuration: Duration | undefined,
    options: Omit<ReduceByKeyAndWindowOptions<K, V>, "slideDuration">,
  ): DStream<[K, V]>;
  reduceByKeyAndWindow<K, V>(this: DStream<Pair<K, V>>, f: (a: V, b: V) => V, ...rest: unknown[]): DStream<[K, V]> {
    requireFunction("reduce function", f);
    const op = "reduceByKeyAndWindow";
    let invF: ((a: V, b: V) => V) | undefined;
    let args: unknown[];
    if (rest[0] instanceof Duration) {
      args = rest;
    } else if (typeof rest[0] === "function" || rest[0] === null || rest[0] === undefined) {
      invF = (rest[0] ?? undefined) as ((a: V, b: V) => V) | undefined;
      args = rest.slice(1);
    } else {
      throw new InvalidArgumentError(
        `Expected the second argument of ${op} to be the inverse reduce function, null, or the window Duration, got \`${describe(rest[0])}\`.`,
      );
    }
    const [window, ...more] = args;
    if (!(window instanceof Duration))
      throw new InvalidArgumentError(`Expected the window duration of ${op} to be a Duration, got \`${describe(window)}\`. Use Seconds(n).`);
    let slide: Duration | undefined;
    let numPartitions: number | Partitioner | undefined;
    let filterFunc: ((kv: [K, V]) => boolean) | undefined;
    const apply = (o: ReduceByKeyAndWindowOptions<K, V>) => {
      for (const k of Object.keys(o)) {
        if (!WINDOW_OPTION_KEYS.has(k)) {
          throw new InvalidArgumentError(
            `Unknown option \`${k}\` of ${op}; the options are slideDuration, numPartitions (or partitioner) and filterFunc.`,
          );
        }
      }
      const twice = (name: string) => new InvalidArgumentError(`${op} got ${name} twice: as an argument and as an option. Give it once.`);
      if (o.slideDuration !== undefined) {
        if (slide !== undefined) throw twice("the slide duration");
        if (!(o.slideDuration instanceof Duration))
          throw new InvalidArgumentError(`Expected the \`slideDuration\` option of ${op} to be a Duration, got \`${describe(o.slideDuration)}\`.`);
        slide = o.slideDuration;
      }
      if (o.numPartitions !== undefined && o.partitioner !== undefined) {
        throw new InvalidArgumentError(`${op} got both \`numPartitions\` and \`partitioner\`; give one.`);
      }
      const n = o.numPartitions ?? o.partitioner;
      if (n !== undefined) {
        if (numPartitions !== undefined) throw twice("the partitions");
        numPartitions = n;
      }
      if (o.filterFunc !== undefined) {
        if (filterFunc !== undefined) throw twice("filterFunc");
        requireFunction("filterFunc", o.filterFunc);
        filterFunc = o.filterFunc;
      }
    };
    // Positions after the window: slide, numPartitions (or filterFunc), filterFunc; an options object ends the list.
    for (let i = 0; i < more.length; i++) {
      const a = more[i];
      if (a === undefined) continue;
      if (isOptionsObject(a)) {
        if (i < more.length - 1) throw new InvalidArgumentError(`The options object of ${op} must be its last argument.`);
        apply(a as ReduceByKeyAndWindowOptions<K, V>);
      } else if (i === 0 && a instanceof Duration) {
        slide = a;
      } else if (i === 1 && (typeof a === "number" || a instanceof HashPartitioner)) {
        numPartitions = a;
      } else if ((i === 1 || i === 2) && typeof a === "function" && !(i === 2 && filterFunc)) {
        filterFunc = a as (kv: [K, V]) => boolean;
      } else {
        const names = ["slideDuration (a Duration)", "numPartitions (a number or Partitioner) or filterFunc", "filterFunc (a function)"];
        throw new InvalidArgumentError(
          `Expected ${names[i] ?? "no more arguments"} at argument ${invF === undefined && rest[0] instanceof Duration ? i + 3 : i + 4} of ${op}, got \`${describe(a)}\`.`,
        );
      }
    }
    const slideDuration = slide ?? this.slideDuration;
    const part = this.partitionerFor(numPartitions);
    if (invF) return this.make(reducedWindowSpec(this, f, invF, filterFunc, window, slideDuration, part));
    if (filterFunc) {
      throw new InvalidArgumentError(
        `${op}'s filterFunc applies to the incremental form only (with an inverse function), as in Spark; PySpark ignores it without one. Filter the windowed stream with .filter() instead.`,
      );
    }
    return this.reduceByKey(f, part).window(window, slideDuration).reduceByKey(f, part);
  }

  /**
   * Spark's slice: the RDDs this stream generates at every slide boundary from `fromTime` to `toTime`,
   * both included (a time off the boundaries is floored to one, and times not after the start are
   * skipped, as in Spark). Results the stream keeps (persisted, a window's inputs) are read from
   * memory; others are computed again from their batches' recorded input, as Spark's getOrCompute does.
   *
   * A Sparkless RDD belongs to the plan of a running batch, so `slice` is async and works while a batch
   * runs: call it inside `foreachRDD` (Spark's users call it on the driver). A persisted result that
   * is no longer kept cannot be read: keep it longer with `ssc.remember(duration)`.
   */
  slice(interval: { readonly beginTime: Time; readonly endTime: Time }): Promise<RDD<T>[]>;
  slice(fromTime: Time, toTime: Time): Promise<RDD<T>[]>;
  async slice(a: Time | { readonly beginTime: Time; readonly endTime: Time }, b?: Time): Promise<RDD<T>[]> {
    const [from, to] = a instanceof Time ? [a, b] : [a?.beginTime, a?.endTime];
    if (!(from instanceof Time) || !(to instanceof Time)) {
      throw new InvalidArgumentError(
        `Expected slice(fromTime, toTime) with two Times, or slice({ beginTime, endTime }), got \`${describe(a)}\`${b === undefined ? "" : ` and \`${describe(b)}\``}.`,
      );
    }
    if (!this.zeroTime)
      throw new IllegalStateError(`${this} has not been initialized: slice() reads the RDDs of a started context. Call it inside foreachRDD.`);
    const scope = currentTaskContext()?.scope as (Planner & { readonly stages?: readonly unknown[] }) | undefined;
    if (!scope || typeof scope.getOrCompute !== "function") {
      throw new IllegalStateError(
        `slice() of ${this} was called outside a batch. Its RDDs belong to a batch's plan: call it inside foreachRDD((rdd, time) => ...), which runs while the batch does.`,
      );
    }
    const planned = scope.stages?.length;
    const rdds = await sliceStream(this, from, to, scope);
    if (planned !== undefined && scope.stages!.length !== planned) {
      throw new IllegalStateError(
        `slice(${from}, ${to}) of ${this} needs a persisted result that is no longer kept in memory. Keep results longer with ssc.remember(duration) before start().`,
      );
    }
    return rdds;
  }

  // ---- output operations --------------------------------------------------------------------

  /** Runs `f` once per batch with the batch's RDD and time, in the driver task of the batch. */
  foreachRDD(f: ForeachFunction<T>): void {
    requireFunction("foreachRDD function", f);
    const out = this.make(outputSpec(this, f as ForeachFunction<unknown>, "foreachRDD"));
    this.ssc.registerOutput(out as DStream<unknown>);
  }
  /** Prints the first `num` elements of every batch, in Spark's format. */
  print(num = 10): void {
    requirePositiveInt("num", num);
    const out = this.make(
      outputSpec(
        this,
        printOutput(num, (l) => this.ssc.printLine(l)),
        "print",
      ),
    );
    this.ssc.registerOutput(out as DStream<unknown>);
  }
  /** Writes each batch to `prefix-<TIME_IN_MS>.suffix`, one element per line. */
  saveAsTextFiles(prefix: string, suffix?: string): void {
    if (typeof prefix !== "string" || prefix === "")
      throw new InvalidArgumentError(`Expected \`prefix\` to be a non-empty path, got \`${describe(prefix)}\`.`);
    const out = this.make(outputSpec(this, saveAsTextFilesOutput(prefix, suffix), "saveAsTextFiles"));
    this.ssc.registerOutput(out as DStream<unknown>);
  }
}

export function requireStateBackend(backend: unknown): StateBackend {
  if (backend !== "memory" && backend !== "dynamodb") {
    throw new InvalidArgumentError(
      `Expected \`stateBackend\` to be "memory" or "dynamodb", got \`${describe(backend)}\`. "memory" keeps state in the coordinator's memory with checkpoints; "dynamodb" keeps one item per key.`,
    );
  }
  return backend;
}

function checkTransformResult<U>(rdd: RDD<U>, op: string): RDD<U> {
  if (!(rdd instanceof RDD)) {
    throw new InvalidArgumentError(
      `The ${op} function must return an RDD, got \`${describe(rdd)}\`. Return rdd.context.emptyRDD() to represent no element.`,
    );
  }
  return rdd;
}

function requireSameSlide(streams: readonly DStream<unknown>[], op: string): void {
  const slides = new Set(streams.map((s) => s.slideDuration.milliseconds));
  if (slides.size > 1) {
    throw new InvalidGraphError(
      `Some of the DStreams have different slide durations: ${op} of ${streams.map((s) => `${s} (${s.slideDuration})`).join(", ")}. Window them to one slide duration before combining.`,
    );
  }
}

/** Spark's UnionDStream. */
export function unionStreams<T>(ssc: StreamingContextLike, streams: DStream<T>[]): DStream<T> {
  if (streams.length === 0) throw new InvalidGraphError("union needs at least one DStream, got none.");
  requireSameSlide(streams as DStream<unknown>[], "union");
  return new DStream<T>(ssc, {
    kind: "union",
    parents: streams,
    compute: async (time, planner) => {
      const rdds: RDD<T>[] = [];
      for (const s of streams) {
        const r = await planner.getOrCompute(s, time);
        if (!r) throw new InvalidGraphError(`Could not generate RDD from a parent (${s}) for unifying at time ${time}.`);
        rdds.push(r);
      }
      return rdds.length ? unionOf(planner, rdds) : undefined;
    },
  });
}

/** Spark's TransformedDStream: `f` of every parent's RDD at the same time. */
export function transformStreams<U>(
  ssc: StreamingContextLike,
  streams: DStream<any>[],
  f: (rdds: RDD<unknown>[], time: Time) => RDD<U>,
  kind = "transform",
): DStream<U> {
  if (streams.length === 0) throw new InvalidGraphError("transform needs at least one DStream, got none.");
  requireSameSlide(streams as DStream<unknown>[], kind);
  return new DStream<U>(ssc, {
    kind,
    parents: streams,
    compute: async (time, planner, self) => {
      const rdds: RDD<unknown>[] = [];
      for (const s of streams) {
        const r = await planner.getOrCompute(s, time);
        if (!r) throw new InvalidGraphError(`Couldn't generate RDD from parent ${s} at time ${time}.`);
        rdds.push(r as RDD<unknown>);
      }
      return checkTransformResult(
        withRDDOrigin(self.id, time.milliseconds, () => f(rdds, time)),
        kind,
      );
    },
  });
}
