/**
 * RDD: one batch's dataset, lazy and partitioned, as in Spark.
 *
 * An RDD is a node in a lineage graph. Narrow transformations (map, filter,
 * flatMap, mapValues...) are pipelined: computing a partition pushes each
 * element through the chain of functions with no intermediate arrays. Keyed
 * operations hash-partition their data through a `ShuffleDependency`; the
 * planner cuts stages there. Actions (`collect`, `count`, `take`...) are
 * async and compute in the calling process.
 *
 * Element shapes follow the Spark programming guide with plain values:
 * pairs are `[key, value]` arrays, `groupByKey` gives `[key, values[]]`,
 * `join` gives `[key, [v, w]]` with `undefined` for a missing side, and
 * `cogroup` gives `[key, [vs[], ws[]]]`.
 *
 * What Spark's driver computes with a job of its own before a stage can run
 * (the sort's range bounds, zipWithIndex's partition offsets) is a stage of
 * its own here, planned before the stages that need it: a small shuffle
 * whose every reduce partition holds every map partition's summary (see
 * `PartitionSummaries`). So it also works when the stages run on workers.
 */
import { IllegalStateError, InvalidArgumentError, describe, requireFunction, requirePositiveInt } from "../core/errors.js";
import { HashPartitioner, keyId, type KeyId, type Partitioner } from "../core/keys.js";
import {
  computeFractionForSampleSize,
  mixSeed,
  randomizeInPlace,
  requireFraction,
  Reservoir,
  SeededRandom,
  stringSeed,
  type ElementSampler,
  elementSampler,
} from "./random.js";
import { RangePartitioner, sketchSizes, type KeySketch } from "./range-partitioner.js";
import { bucketFunction, evenBuckets, requireBuckets, StatCounter } from "./stats.js";
import { textOutputFor } from "./text-file.js";
import { formatElement } from "../core/format.js";
import { outputActionsFor, taskContextFor, valueAction, type RDDScope, type TaskContext } from "./scope.js";
import { sparkContextOf, type SparkContext } from "../streaming/shared-variables.js";

export type Emit<T> = (x: T) => void;

/**
 * Partitions that foreachPartition, foreach and saveAsTextFile compute at once in this process.
 * Their work is mostly waiting (a part's PUT to S3), and each holds one partition in memory.
 */
export const PARTITION_CONCURRENCY = 8;
type Pair<K, V> = readonly [K, V];

export interface Aggregator<V, C> {
  createCombiner(v: V): C;
  mergeValue(c: C, v: V): C;
  mergeCombiners(a: C, b: C): C;
}

export class NarrowDependency {
  readonly kind = "narrow";
  constructor(readonly rdd: RDD<unknown>) {}
}

/** Stops a shared map-side pass (ShuffleDependency.computeTogether) at a value that is an object. */
const SHARED_OBJECT = Symbol("shared object");

export class ShuffleDependency<K, V, C> {
  readonly kind = "shuffle";
  constructor(
    readonly shuffleId: string,
    readonly rdd: RDD<Pair<K, V>>,
    readonly partitioner: Partitioner,
    readonly aggregator?: Aggregator<V, C>,
    readonly mapSideCombine = false,
    /**
     * The reduce side groups values by key (cogroup): each map task then sends `[key, values[]]`
     * groups, grouped as it goes, rather than one pair per value. A pair is dropped as soon as its
     * value is in its key's group, so none outlives the map task's loop, and a key is hashed once.
     */
    readonly grouped = false,
  ) {}

  /** Runs map partition `m` and buckets its records by reduce partition (combined per key if asked). */
  async computeBuckets(m: number, tc: TaskContext): Promise<unknown[][]> {
    return (await ShuffleDependency.computeTogether([this as ShuffleDependency<unknown, unknown, unknown>], m, tc))[0]!;
  }

  /** Whether this shuffle's map side can share one pass over its RDD with other shuffles' (`computeTogether`). */
  get fusable(): boolean {
    return !(this.partitioner as { prepare?: unknown }).prepare;
  }

  /**
   * The map side of several shuffles of the same RDD in one pass: partition `m` of the RDD is computed
   * once and each pair goes to every shuffle's buckets, as if each had computed the partition itself.
   * Two shuffles of one stream in one batch (the running totals and the window of a word count) read
   * and split their input once. One pass is only equivalent while no shuffle can see another's change
   * to a value (a reduce function that changes its first argument in place): the pass stops at the
   * first value that is an object and every shuffle computes the partition on its own.
   *
   * A key is looked up once per pair for all the shuffles: the pass numbers the keys it meets (their
   * slots), and each shuffle's writer keeps what it holds for a key at the key's slot.
   */
  static async computeTogether(deps: readonly ShuffleDependency<unknown, unknown, unknown>[], m: number, tc: TaskContext): Promise<unknown[][][]> {
    // A range partitioner reads its bounds (computed from a sketch stage) before the first key is bucketed.
    for (const d of deps) await (d.partitioner as Partitioner & { prepare?: (tc: TaskContext, m: number) => Promise<void> }).prepare?.(tc, m);
    const shared = deps.length > 1;
    const writers = deps.map((d) => d.writer());
    const slots = new Map<KeyId, number>();
    try {
      await (deps[0]!.rdd as RDD<Pair<unknown, unknown>>).run(m, tc, (kv) => {
        const v = kv[1];
        if (shared && typeof v === "object" && v !== null) throw SHARED_OBJECT;
        const id = keyId(kv[0]);
        const s = slots.get(id);
        if (s === undefined) {
          slots.set(id, slots.size);
          for (let i = 0; i < writers.length; i++) writers[i]!.add(slots.size - 1, kv);
        } else for (let i = 0; i < writers.length; i++) writers[i]!.merge(s, kv);
      });
      return writers.map((w) => w.finish());
    } catch (e) {
      if (e !== SHARED_OBJECT) throw e;
      const out: unknown[][][] = [];
      for (const d of deps) out.push(await d.computeBuckets(m, tc));
      return out;
    }
  }

  /**
   * Where one map task's pairs go: combined per key, grouped per key, or one by one, by reduce
   * partition. `add` takes the first pair of a key (its slot is new), `merge` every later one. A key's
   * partition is computed once, when it is first met; entries keep first-seen order in each bucket.
   */
  private writer(): ShuffleWriter {
    const n = this.partitioner.numPartitions;
    const part = this.partitioner;
    const agg = this.aggregator;
    const buckets: unknown[][] = Array.from({ length: n }, () => []);
    const finish = () => buckets;
    if (agg && this.mapSideCombine) {
      const entries: [K, C][] = [];
      const { createCombiner, mergeValue } = agg;
      return {
        add: (s, kv) => {
          const e: [K, C] = [kv[0] as K, createCombiner(kv[1] as V)];
          entries[s] = e;
          buckets[part.getPartition(kv[0])]!.push(e);
        },
        merge: (s, kv) => {
          const e = entries[s]!;
          e[1] = mergeValue(e[1], kv[1] as V);
        },
        finish,
      };
    }
    if (this.grouped) {
      const groups: ValueGroup[] = [];
      return {
        add: (s, kv) => {
          const g = new ValueGroup(kv[0], kv[1]);
          groups[s] = g;
          buckets[part.getPartition(kv[0])]!.push(g.entry);
        },
        merge: (s, kv) => groups[s]!.push(kv[1]),
        finish: () => {
          for (const g of groups) g.materialize();
          return buckets;
        },
      };
    }
    const partOf: number[] = [];
    return {
      add: (s, kv) => {
        const q = part.getPartition(kv[0]);
        partOf[s] = q;
        buckets[q]!.push(kv);
      },
      merge: (s, kv) => {
        buckets[partOf[s]!]!.push(kv);
      },
      finish,
    };
  }
}

/** One map task's writer for one shuffle (see ShuffleDependency.writer). */
interface ShuffleWriter {
  add(slot: number, kv: Pair<unknown, unknown>): void;
  merge(slot: number, kv: Pair<unknown, unknown>): void;
  finish(): unknown[][];
}

/**
 * A key's values in a grouped shuffle's map task, as `entry` = `[key, values]` in its bucket. While
 * every value so far is the same value (`Object.is`: a word count's 1s), only how many are counted,
 * and the array is built once at the end: the same array, without a push per value.
 */
class ValueGroup {
  readonly entry: [unknown, unknown[]];
  private run: unknown;
  private n = 1;
  constructor(key: unknown, first: unknown) {
    this.entry = [key, []];
    this.run = first;
  }
  push(v: unknown): void {
    if (this.n > 0) {
      if (Object.is(v, this.run)) {
        this.n++;
        return;
      }
      this.materialize();
    }
    this.entry[1].push(v);
  }
  /** Writes the counted run of equal values into the entry's array (once; later values are pushed). */
  materialize(): void {
    if (this.n === 0) return;
    this.entry[1] = new Array<unknown>(this.n).fill(this.run);
    this.n = 0;
    this.run = undefined;
  }
}

export type Dependency = NarrowDependency | ShuffleDependency<unknown, unknown, unknown>;

/** What `rdd.context` offers inside `transform`: making RDDs from local data. */
export class RDDContext {
  constructor(readonly scope: RDDScope) {}
  /** An RDD of `data` cut into `numSlices` contiguous slices, as Spark's `parallelize`. */
  parallelize<T>(data: Iterable<T>, numSlices = this.scope.defaultParallelism): RDD<T> {
    return new ParallelRDD(this.scope, [...data], requirePositiveInt("numSlices", numSlices));
  }
  makeRDD<T>(data: Iterable<T>, numSlices?: number): RDD<T> {
    return this.parallelize(data, numSlices);
  }
  emptyRDD<T>(): RDD<T> {
    return new ParallelRDD<T>(this.scope, [], 0);
  }
  /** The union of RDDs: `union([a, b])` (Scala's Seq, PySpark's list) or `union(a, b, c)`. */
  union<T>(rdds: RDD<T>[]): RDD<T>;
  union<T>(...rdds: RDD<T>[]): RDD<T>;
  union<T>(...args: (RDD<T> | RDD<T>[])[]): RDD<T> {
    const rdds = args.length === 1 && Array.isArray(args[0]) ? args[0] : (args as RDD<T>[]);
    for (const r of rdds) {
      if (!(r instanceof RDD))
        throw new InvalidArgumentError(`Expected union's arguments to be RDDs (or one array of RDDs), got \`${describe(r)}\`.`);
    }
    return unionOf(this.scope, rdds);
  }
}

/**
 * Where the RDDs being created come from, while a DStream computes its RDD for
 * a batch: the stream, the batch time, and a count of the RDDs created so far.
 */
interface Origin {
  readonly key: number;
  readonly time: number;
  next: number;
}
let currentOrigin: Origin | undefined;

/**
 * Runs `f` (a DStream's synchronous transformation of its parents' RDDs at `time`) with the RDDs it
 * creates numbered from 0 under `streamId@time`. Default sampling seeds derive from that number,
 * not from the plan's RDD ids, which depend on what else the plan computed first: a batch
 * recomputed inside a later batch's plan (a coordinator recovering a window's inputs) then samples
 * exactly the elements it sampled the first time.
 */
export function withRDDOrigin<R>(streamId: string, time: number, f: () => R): R {
  const saved = currentOrigin;
  currentOrigin = { key: stringSeed(streamId), time, next: 0 };
  try {
    return f();
  } finally {
    currentOrigin = saved;
  }
}

export abstract class RDD<T> {
  readonly id: number;
  private _name?: string;
  /** Parents; filled in by the constructor of each node type. */
  readonly deps: Dependency[];
  /** Stream, batch time and position of this RDD in the computation that created it (see withRDDOrigin). */
  private readonly origin: readonly [number, number, number] | undefined;
  constructor(
    readonly scope: RDDScope,
    deps: Dependency[],
  ) {
    this.id = scope.nextRddId();
    this.deps = deps;
    this.origin = currentOrigin ? [currentOrigin.key, currentOrigin.time, currentOrigin.next++] : undefined;
  }
  abstract readonly numPartitions: number;
  /** Set when the data is hash-partitioned by key; keyed operations with the same partitioner need no shuffle. */
  readonly partitioner: Partitioner | undefined = undefined;
  /** Pushes every element of partition `p` into `emit`. */
  abstract run(p: number, tc: TaskContext, emit: Emit<T>): Promise<void>;
  /**
   * The partitions of the narrow parents that computing partition `p` reads: partition `p` of each
   * (pipelined operations, zip, a union of co-partitioned parents), unless the node maps them itself.
   */
  narrowParents(p: number): [RDD<unknown>, number][] {
    const out: [RDD<unknown>, number][] = [];
    for (const d of this.deps) if (d.kind === "narrow") out.push([d.rdd, p]);
    return out;
  }

  get context(): RDDContext {
    return new RDDContext(this.scope);
  }
  /** Spark's `rdd.sparkContext`: the app's `ssc.sparkContext`, for broadcasts and accumulators inside `transform` and `foreachRDD`. */
  get sparkContext(): SparkContext {
    const graph = (this.scope as { readonly graph?: object }).graph;
    const sc = graph && sparkContextOf(graph);
    if (!sc) throw new IllegalStateError(`${this.name} belongs to no StreamingContext's batch, so it has no sparkContext. Use ssc.sparkContext.`);
    return sc;
  }
  /**
   * The seed of a sampling operation given no seed: a function of the batch and of this RDD's place in
   * the computation that made it (the DStream, its batch time, the RDD's position), so every run of
   * the batch, on any process, and a recomputation of it in a later batch's plan, draw the same
   * sample. `salt` tells apart the seeds of different operations on one RDD.
   */
  protected defaultSeed(salt: number): number {
    return this.origin ? mixSeed(...this.origin, salt) : mixSeed(this.scope.batchTime, this.id, salt);
  }
  get name(): string {
    return this._name ?? `${this.constructor.name}[${this.id}]`;
  }
  setName(name: string): this {
    this._name = name;
    return this;
  }
  getNumPartitions(): number {
    return this.numPartitions;
  }

  // ---- narrow transformations -------------------------------------------------------------

  map<U extends [unknown, unknown] | {} | null | undefined>(f: (x: T) => U): RDD<U> {
    requireFunction("f", f);
    return new PipeRDD<T, U>(this, (emit) => (x) => emit(f(x)), false);
  }
  flatMap<U>(f: (x: T) => Iterable<U>): RDD<U> {
    requireFunction("f", f);
    return new PipeRDD<T, U>(
      this,
      (emit) => (x) => {
        const ys = f(x);
        // An array (what most functions return) by index: faster than its iterator, and it allocates nothing.
        if (Array.isArray(ys)) for (let i = 0; i < ys.length; i++) emit(ys[i] as U);
        else for (const y of ys) emit(y);
      },
      false,
    );
  }
  filter(f: (x: T) => boolean): RDD<T> {
    requireFunction("f", f);
    return new PipeRDD<T, T>(
      this,
      (emit) => (x) => {
        if (f(x)) emit(x);
      },
      true,
    );
  }
  mapPartitions<U>(f: (items: T[], partitionIndex: number) => Iterable<U>, preservesPartitioning = false): RDD<U> {
    requireFunction("f", f);
    return new BufferedRDD<T, U>(this, f, preservesPartitioning);
  }
  mapPartitionsWithIndex<U>(f: (partitionIndex: number, items: T[]) => Iterable<U>, preservesPartitioning = false): RDD<U> {
    requireFunction("f", f);
    return new BufferedRDD<T, U>(this, (items, p) => f(p, items), preservesPartitioning);
  }
  glom(): RDD<T[]> {
    return new BufferedRDD<T, T[]>(this, (items) => [items], false);
  }
  keyBy<K>(f: (x: T) => K): RDD<[K, T]> {
    return this.map((x) => [f(x), x] as [K, T]);
  }
  union(...others: RDD<T>[]): RDD<T> {
    return unionOf(this.scope, [this, ...others]);
  }

  /**
   * Pairs each element with an id: the k-th partition's elements get k, n + k, 2n + k, ... (n
   * partitions), so ids are unique but not contiguous. Needs no extra stage (Spark's zipWithUniqueId).
   */
  zipWithUniqueId(): RDD<[T, number]> {
    const n = this.numPartitions;
    return new BufferedRDD<T, [T, number]>(this, (items, k) => items.map((x, i) => [x, i * n + k] as [T, number]), false);
  }
  /**
   * Pairs each element with its index: partition order first, then order within the partition, as
   * Spark's zipWithIndex. With more than one partition the element counts of the partitions are
   * computed first, by a stage of their own (Spark runs a job for them).
   */
  zipWithIndex(): RDD<[T, number]> {
    return new ZippedWithIndexRDD(this);
  }
  /**
   * Pairs the i-th element of each partition with the i-th element of the same partition of `other`.
   * Both RDDs must have the same number of partitions and the same number of elements in each (one
   * made by a map of the other, say), as in Spark.
   */
  zip<U>(other: RDD<U>): RDD<[T, U]> {
    if (!(other instanceof RDD)) throw new InvalidArgumentError(`Expected zip's \`other\` to be an RDD, got \`${describe(other)}\`.`);
    if (this.numPartitions !== other.numPartitions) {
      throw new InvalidArgumentError(
        `Can't zip RDDs with unequal numbers of partitions: ${this.numPartitions} and ${other.numPartitions}. zip pairs partition by partition: make one RDD from the other with narrow operations (map), or use zipWithIndex and join.`,
      );
    }
    return new ZippedPartitionsRDD(this, other);
  }
  /** Every pair `[a, b]` of an element of this RDD and one of `other`: n1 × n2 partitions, as Spark's CartesianRDD. */
  cartesian<U>(other: RDD<U>): RDD<[T, U]> {
    if (!(other instanceof RDD)) throw new InvalidArgumentError(`Expected cartesian's \`other\` to be an RDD, got \`${describe(other)}\`.`);
    return new CartesianRDD(this, other);
  }
  /**
   * A random sample: without replacement each element is kept with probability `fraction` (in
   * [0, 1]); with replacement each appears Poisson(`fraction`) times. The size is not exact.
   *
   * Deterministic: each partition draws from a generator seeded by `seed` and its index. Without a
   * seed, the seed derives from the batch and this RDD's place in it (see `defaultSeed`), so a batch
   * that runs again, or is recomputed later, samples the same elements. The generator is not Spark's
   * XORShiftRandom: a given seed picks a different sample than Spark would.
   */
  sample(withReplacement: boolean, fraction: number, seed?: number): RDD<T> {
    requireFraction(withReplacement, fraction);
    return new SampledRDD(this, (p, base) => elementSampler(withReplacement, fraction, new SeededRandom(mixSeed(base, p))), seed, 1);
  }
  /**
   * Splits the RDD at random into one RDD per weight, in proportion to the weights (normalized if
   * they do not sum to 1). Every element lands in exactly one split: each partition draws one number
   * per element from a generator seeded by `seed` and the partition, the same draws in every split
   * (Spark's BernoulliCellSampler). Deterministic, as `sample`.
   */
  randomSplit(weights: number[], seed?: number): RDD<T>[] {
    if (!Array.isArray(weights) || weights.length === 0 || !weights.every((w) => typeof w === "number" && w >= 0)) {
      throw new InvalidArgumentError(`Expected \`weights\` to be non-negative numbers, got \`${describe(weights)}\`.`);
    }
    const sum = weights.reduce((a, b) => a + b, 0);
    if (!(sum > 0)) throw new InvalidArgumentError(`Expected the sum of \`weights\` to be positive, got [${weights.join(", ")}].`);
    const cum = [0];
    for (const w of weights) cum.push(cum[cum.length - 1]! + w / sum);
    // The last bound is exactly 1, so rounding in the running sum never drops an element.
    cum[cum.length - 1] = 1;
    const base = seed ?? this.defaultSeed(2);
    return weights.map((_, i) => {
      const lb = cum[i]!;
      const ub = cum[i + 1]!;
      return new SampledRDD<T>(
        this,
        (p) => {
          const rng = new SeededRandom(mixSeed(base, p));
          return (x, emit) => {
            const u = rng.nextDouble();
            if (u >= lb && u < ub) emit(x);
          };
        },
        base,
        2,
      );
    });
  }
  /** Groups the elements by `f`: `[key, elements[]]`, hash-partitioned (Spark's groupBy, a groupByKey of `[f(x), x]`). */
  groupBy<K>(f: (x: T) => K, numPartitionsOrPartitioner?: number | Partitioner): RDD<[K, T[]]> {
    requireFunction("f", f);
    return this.map((x) => [f(x), x] as [K, T]).groupByKey(numPartitionsOrPartitioner);
  }

  // ---- wide transformations ---------------------------------------------------------------

  /** Round-robin redistribution into `numPartitions` partitions, through a shuffle (Spark's `coalesce(n, shuffle = true)`). */
  repartition(numPartitions: number): RDD<T> {
    const n = requirePositiveInt("numPartitions", numPartitions);
    const positioned = new BufferedRDD<T, [number, T]>(
      this,
      (items, index) => {
        // Spark starts each partition at a pseudo-random position; a fixed function of the index keeps it deterministic.
        let position = index % n;
        return items.map((t) => [++position, t] as [number, T]);
      },
      false,
    );
    return new ShuffledRDD<number, T, T>(positioned, new HashPartitioner(n)).map((kv) => kv[1]);
  }
  coalesce(numPartitions: number, shuffle = false): RDD<T> {
    const n = requirePositiveInt("numPartitions", numPartitions);
    if (shuffle || n >= this.numPartitions) return shuffle ? this.repartition(n) : this;
    return new CoalescedRDD(this, n);
  }
  distinct(numPartitions?: number): RDD<T> {
    return this.map((x) => [x, null] as [T, null])
      .reduceByKey((a) => a, numPartitions)
      .map((kv) => kv[0]);
  }
  /**
   * Sorts by `f`: Spark's `keyBy(f).sortByKey(ascending, numPartitions).values()`, range-partitioned
   * into `numPartitions` (default: this RDD's partition count) sorted partitions.
   */
  sortBy<K>(f: (x: T) => K, ascending = true, numPartitions?: number): RDD<T> {
    requireFunction("f", f);
    return this.keyBy(f).sortByKey(ascending, numPartitions).values();
  }
  intersection(other: RDD<T>, numPartitions?: number): RDD<T> {
    return this.map((x) => [x, null] as [T, null])
      .cogroup(
        other.map((x) => [x, null] as [T, null]),
        numPartitions,
      )
      .filter((kv) => kv[1][0].length > 0 && kv[1][1].length > 0)
      .map((kv) => kv[0]);
  }
  subtract(other: RDD<T>, numPartitions?: number): RDD<T> {
    return this.map((x) => [x, null] as [T, null])
      .subtractByKey(
        other.map((x) => [x, null] as [T, null]),
        numPartitions,
      )
      .map((kv) => kv[0]);
  }

  // ---- pair transformations ---------------------------------------------------------------

  mapValues<K, V, U>(this: RDD<Pair<K, V>>, f: (v: V) => U): RDD<[K, U]> {
    requireFunction("f", f);
    return new PipeRDD<Pair<K, V>, [K, U]>(this, (emit) => (kv) => emit([kv[0], f(kv[1])]), true);
  }
  flatMapValues<K, V, U>(this: RDD<Pair<K, V>>, f: (v: V) => Iterable<U>): RDD<[K, U]> {
    requireFunction("f", f);
    return new PipeRDD<Pair<K, V>, [K, U]>(
      this,
      (emit) => (kv) => {
        for (const u of f(kv[1])) emit([kv[0], u]);
      },
      true,
    );
  }
  keys<K, V>(this: RDD<Pair<K, V>>): RDD<K> {
    return new PipeRDD<Pair<K, V>, K>(this, (emit) => (kv) => emit(kv[0]), false);
  }
  values<K, V>(this: RDD<Pair<K, V>>): RDD<V> {
    return new PipeRDD<Pair<K, V>, V>(this, (emit) => (kv) => emit(kv[1]), false);
  }

  combineByKey<K, V, C>(
    this: RDD<Pair<K, V>>,
    createCombiner: (v: V) => C,
    mergeValue: (c: C, v: V) => C,
    mergeCombiners: (a: C, b: C) => C,
    numPartitionsOrPartitioner?: number | Partitioner,
    mapSideCombine = true,
  ): RDD<[K, C]> {
    requireFunction("createCombiner", createCombiner);
    requireFunction("mergeValue", mergeValue);
    requireFunction("mergeCombiners", mergeCombiners);
    const partitioner = this.resolvePartitioner(numPartitionsOrPartitioner);
    const agg: Aggregator<V, C> = { createCombiner, mergeValue, mergeCombiners };
    if (partitioner.equals(this.partitioner)) {
      // Already partitioned this way: combine inside each partition, no shuffle (Spark does the same).
      return new BufferedRDD<Pair<K, V>, [K, C]>(
        this,
        (items) => {
          const m = new Map<KeyId, [K, C]>();
          for (const kv of items) {
            const id = keyId(kv[0]);
            const e = m.get(id);
            if (e) e[1] = mergeValue(e[1], kv[1]);
            else m.set(id, [kv[0], createCombiner(kv[1])]);
          }
          return m.values();
        },
        true,
      );
    }
    return new ShuffledRDD<K, V, C>(this, partitioner, agg, mapSideCombine) as unknown as RDD<[K, C]>;
  }
  reduceByKey<K, V>(this: RDD<Pair<K, V>>, f: (a: V, b: V) => V, numPartitionsOrPartitioner?: number | Partitioner): RDD<[K, V]> {
    requireFunction("f", f);
    return this.combineByKey((v) => v, f, f, numPartitionsOrPartitioner);
  }
  foldByKey<K, V>(this: RDD<Pair<K, V>>, zero: V, f: (a: V, b: V) => V, numPartitions?: number): RDD<[K, V]> {
    return this.combineByKey((v) => f(structuredCloneSafe(zero), v), f, f, numPartitions);
  }
  aggregateByKey<K, V, U>(this: RDD<Pair<K, V>>, zero: U, seqOp: (u: U, v: V) => U, combOp: (a: U, b: U) => U, numPartitions?: number): RDD<[K, U]> {
    return this.combineByKey((v) => seqOp(structuredCloneSafe(zero), v), seqOp, combOp, numPartitions);
  }
  groupByKey<K, V>(this: RDD<Pair<K, V>>, numPartitionsOrPartitioner?: number | Partitioner): RDD<[K, V[]]> {
    // As in Spark, no map-side combine: it would not shrink the data.
    return this.combineByKey<K, V, V[]>(
      (v) => [v],
      (c, v) => {
        c.push(v);
        return c;
      },
      (a, b) => {
        for (const v of b) a.push(v);
        return a;
      },
      numPartitionsOrPartitioner,
      false,
    );
  }
  partitionBy<K, V>(this: RDD<Pair<K, V>>, numPartitionsOrPartitioner: number | Partitioner): RDD<[K, V]> {
    const partitioner = this.resolvePartitioner(numPartitionsOrPartitioner);
    if (partitioner.equals(this.partitioner)) return this as unknown as RDD<[K, V]>;
    return new ShuffledRDD<K, V, V>(this, partitioner) as unknown as RDD<[K, V]>;
  }
  cogroup<K, V, W>(this: RDD<Pair<K, V>>, other: RDD<Pair<K, W>>, numPartitionsOrPartitioner?: number | Partitioner): RDD<[K, [V[], W[]]]>;
  cogroup<K, V, W1, W2>(
    this: RDD<Pair<K, V>>,
    other1: RDD<Pair<K, W1>>,
    other2: RDD<Pair<K, W2>>,
    numPartitionsOrPartitioner?: number | Partitioner,
  ): RDD<[K, [V[], W1[], W2[]]]>;
  cogroup(this: RDD<Pair<unknown, unknown>>, ...args: unknown[]): RDD<[unknown, unknown[][]]> {
    const others = args.filter((a): a is RDD<Pair<unknown, unknown>> => a instanceof RDD);
    const last = args[args.length - 1];
    const n = last instanceof RDD ? undefined : (last as number | Partitioner | undefined);
    const rdds = [this, ...others];
    const partitioner = resolveCogroupPartitioner(this.scope, rdds, n);
    return new CoGroupedRDD(this.scope, rdds, partitioner);
  }
  join<K, V, W>(this: RDD<Pair<K, V>>, other: RDD<Pair<K, W>>, numPartitions?: number | Partitioner): RDD<[K, [V, W]]> {
    return this.cogroup(other, numPartitions).flatMapValues(([vs, ws]) => {
      const out: [V, W][] = [];
      for (const v of vs) for (const w of ws) out.push([v, w]);
      return out;
    });
  }
  leftOuterJoin<K, V, W>(this: RDD<Pair<K, V>>, other: RDD<Pair<K, W>>, numPartitions?: number | Partitioner): RDD<[K, [V, W | undefined]]> {
    return this.cogroup(other, numPartitions).flatMapValues(([vs, ws]) => {
      const out: [V, W | undefined][] = [];
      if (ws.length === 0) for (const v of vs) out.push([v, undefined]);
      else for (const v of vs) for (const w of ws) out.push([v, w]);
      return out;
    });
  }
  rightOuterJoin<K, V, W>(this: RDD<Pair<K, V>>, other: RDD<Pair<K, W>>, numPartitions?: number | Partitioner): RDD<[K, [V | undefined, W]]> {
    return this.cogroup(other, numPartitions).flatMapValues(([vs, ws]) => {
      const out: [V | undefined, W][] = [];
      if (vs.length === 0) for (const w of ws) out.push([undefined, w]);
      else for (const v of vs) for (const w of ws) out.push([v, w]);
      return out;
    });
  }
  fullOuterJoin<K, V, W>(
    this: RDD<Pair<K, V>>,
    other: RDD<Pair<K, W>>,
    numPartitions?: number | Partitioner,
  ): RDD<[K, [V | undefined, W | undefined]]> {
    return this.cogroup(other, numPartitions).flatMapValues(([vs, ws]) => {
      const out: [V | undefined, W | undefined][] = [];
      if (vs.length === 0) for (const w of ws) out.push([undefined, w]);
      else if (ws.length === 0) for (const v of vs) out.push([v, undefined]);
      else for (const v of vs) for (const w of ws) out.push([v, w]);
      return out;
    });
  }
  subtractByKey<K, V, W>(this: RDD<Pair<K, V>>, other: RDD<Pair<K, W>>, numPartitions?: number): RDD<[K, V]> {
    return this.cogroup(other, numPartitions).flatMap(([k, [vs, ws]]) => (ws.length ? [] : vs.map((v) => [k, v] as [K, V])));
  }
  /**
   * Sorts by key into `numPartitions` (default: this RDD's partition count) partitions, as Spark's
   * sortByKey: a RangePartitioner puts each key range in one partition, in order, and each partition
   * is sorted, so concatenating the partitions gives the sorted RDD. The range bounds come from a
   * sample of the keys taken by a stage of its own before the shuffle (Spark's sketch job). Keys
   * compare as `compareValues` does (numbers numerically, strings by code unit, arrays element by
   * element), on `keyfunc(key)` when given (PySpark's `keyfunc`). Equal keys keep their order.
   *
   * The sorted RDD has exactly `numPartitions` partitions (Spark's may have fewer when there are few
   * distinct keys): the ones past the last range bound are empty.
   */
  sortByKey<K, V>(this: RDD<Pair<K, V>>, ascending = true, numPartitions?: number, keyfunc?: (key: K) => unknown): RDD<[K, V]> {
    if (typeof ascending !== "boolean") throw new InvalidArgumentError(`Expected \`ascending\` to be a boolean, got \`${describe(ascending)}\`.`);
    if (keyfunc !== undefined) requireFunction("keyfunc", keyfunc);
    const n = numPartitions === undefined ? Math.max(this.numPartitions, 1) : requirePositiveInt("numPartitions", numPartitions);
    const compare = keyfunc ? (a: K, b: K) => compareValues(keyfunc(a), keyfunc(b)) : (a: K, b: K) => compareValues(a, b);
    let source: RDD<Pair<K, V>> = this;
    let readSketches: ((tc: TaskContext, m: number) => Promise<KeySketch<K>[]>) | undefined;
    if (n > 1 && this.numPartitions > 0) {
      const { perPartition } = sketchSizes(n, this.numPartitions);
      const seed = this.defaultSeed(3);
      const sketch = new PartitionSummaries<KeySketch<K>>(this as RDD<unknown>, this.numPartitions, async (p, tc) => {
        const reservoir = new Reservoir<K>(perPartition, new SeededRandom(mixSeed(seed, p)));
        await this.run(p, tc, (kv) => reservoir.add(kv[0]));
        return { partition: p, count: reservoir.count, sample: reservoir.sample };
      });
      // The shuffle's map side reads the sketch: it depends on it, so it is planned (and sent to workers) first.
      source = new WithSideInputsRDD(this, [sketch.dep!]);
      readSketches = (tc, m) => sketch.read(tc, m);
    }
    const partitioner = new RangePartitioner<K>(n, ascending, compare, readSketches);
    const shuffled = new ShuffledRDD<K, V, V>(source, partitioner);
    const sign = ascending ? 1 : -1;
    // Spark's ShuffledRDD with a key ordering sorts each reduce partition; the sort is stable.
    return new BufferedRDD<[K, V], [K, V]>(shuffled, (items) => items.sort((a, b) => sign * compare(a[0], b[0])), false);
  }

  protected resolvePartitioner(n?: number | Partitioner): Partitioner {
    if (n instanceof HashPartitioner) return n;
    if (n === undefined) return this.partitioner ?? new HashPartitioner(this.scope.defaultParallelism);
    return new HashPartitioner(requirePositiveInt("numPartitions", n));
  }

  // ---- actions (async, computed in this process) -------------------------------------------

  /** Folds each partition on its own, in partition order, as Spark's one task per partition does before the driver merges. */
  protected async foldPartitions<S>(init: (p: number) => S, step: (acc: S, x: T) => S): Promise<S[]> {
    const tc = taskContextFor(this.scope);
    const out: S[] = [];
    for (let p = 0; p < this.numPartitions; p++) {
      let acc = init(p);
      await this.run(p, tc, (x) => {
        acc = step(acc, x);
      });
      out.push(acc);
    }
    return out;
  }

  /** Runs `f` over each partition's elements, in partition order. */
  protected async eachPartition(f: (items: T[], p: number) => void | boolean | Promise<void | boolean>): Promise<void> {
    const tc = taskContextFor(this.scope);
    for (let p = 0; p < this.numPartitions; p++) {
      const items: T[] = [];
      await this.run(p, tc, (x) => {
        items.push(x);
      });
      if ((await f(items, p)) === false) return;
    }
  }
  async collect(): Promise<T[]> {
    const out: T[] = [];
    await this.eachPartition((items) => {
      for (const x of items) out.push(x);
    });
    return out;
  }
  async collectPartitions(): Promise<T[][]> {
    const out: T[][] = [];
    await this.eachPartition((items) => {
      out.push(items);
    });
    return out;
  }
  async count(): Promise<number> {
    let n = 0;
    const tc = taskContextFor(this.scope);
    for (let p = 0; p < this.numPartitions; p++)
      await this.run(p, tc, () => {
        n++;
      });
    return n;
  }
  async take(num: number): Promise<T[]> {
    const out: T[] = [];
    if (num <= 0) return out;
    await this.eachPartition((items) => {
      for (const x of items) {
        if (out.length >= num) break;
        out.push(x);
      }
      return out.length < num;
    });
    return out;
  }
  async first(): Promise<T> {
    const [x] = await this.take(1);
    if (x === undefined && (await this.isEmpty()))
      throw new InvalidArgumentError("first() on an empty RDD: the batch has no elements. Check isEmpty() first.");
    return x as T;
  }
  async isEmpty(): Promise<boolean> {
    return (await this.take(1)).length === 0;
  }
  async reduce(f: (a: T, b: T) => T): Promise<T> {
    const all = await this.collect();
    if (all.length === 0)
      throw new InvalidArgumentError("reduce() on an empty RDD: the batch has no elements. Use fold() with a zero value, or check isEmpty() first.");
    return all.reduce(f);
  }
  /**
   * Spark's fold: each partition folds its elements onto its own copy of `zero`, then the partition
   * results are folded onto another copy, in partition order. `zero` must be neutral for `f` (a
   * non-neutral zero counts once per partition, plus once, as in Spark).
   */
  async fold(zero: T, f: (a: T, b: T) => T): Promise<T> {
    requireFunction("f", f);
    const parts = await this.foldPartitions(() => structuredCloneSafe(zero), f);
    return parts.reduce(f, structuredCloneSafe(zero));
  }
  /**
   * Spark's aggregate: `seqOp` folds each partition's elements onto a copy of `zero`, then `combOp`
   * merges the partition results onto another copy, in partition order. Both may modify and return
   * their first argument.
   */
  async aggregate<U>(zero: U, seqOp: (acc: U, x: T) => U, combOp: (a: U, b: U) => U): Promise<U> {
    requireFunction("seqOp", seqOp);
    requireFunction("combOp", combOp);
    const parts = await this.foldPartitions(() => structuredCloneSafe(zero), seqOp);
    return parts.reduce(combOp, structuredCloneSafe(zero));
  }
  /**
   * Spark's treeAggregate: aggregate, with the partition results combined in a tree of about `depth`
   * levels (groups of `ceil(n^(1/depth))`, at least 2) instead of all at once. The result is the same
   * as `aggregate`'s for an associative `combOp`. Here actions run in one process, so the tree saves
   * no time; it keeps Spark's order of combination.
   */
  async treeAggregate<U>(zero: U, seqOp: (acc: U, x: T) => U, combOp: (a: U, b: U) => U, depth = 2): Promise<U> {
    requireFunction("seqOp", seqOp);
    requireFunction("combOp", combOp);
    requireDepth(depth);
    if (this.numPartitions === 0) return structuredCloneSafe(zero);
    const parts = await this.foldPartitions(() => structuredCloneSafe(zero), seqOp);
    return treeCombine(parts, combOp, () => structuredCloneSafe(zero), depth);
  }
  /** Spark's treeReduce: reduce, with the partition results combined as treeAggregate does. Throws on an empty RDD. */
  async treeReduce(f: (a: T, b: T) => T, depth = 2): Promise<T> {
    requireFunction("f", f);
    requireDepth(depth);
    type Opt = { value: T } | undefined;
    const parts = await this.foldPartitions<Opt>(
      () => undefined,
      (acc, x) => (acc ? { value: f(acc.value, x) } : { value: x }),
    );
    const op = (a: Opt, b: Opt): Opt => (a && b ? { value: f(a.value, b.value) } : (a ?? b));
    const result = this.numPartitions === 0 ? undefined : treeCombine<Opt>(parts, op, () => undefined, depth);
    if (!result)
      throw new InvalidArgumentError(
        "treeReduce() on an empty RDD: the batch has no elements. Use treeAggregate() with a zero value, or check isEmpty() first.",
      );
    return result.value;
  }
  /** The sum of the elements (Spark's `fold(0)(_ + _)`): 0 for an empty RDD. */
  async sum(this: RDD<number>): Promise<number> {
    return this.fold(0, (a, b) => a + b);
  }
  /** The largest element by `compare` (default `compareValues`), as Spark's `reduce(ord.max)`. Throws on an empty RDD. */
  async max(compare: (a: T, b: T) => number = compareValues): Promise<T> {
    return this.reduce((a, b) => (compare(a, b) >= 0 ? a : b));
  }
  /** The smallest element by `compare` (default `compareValues`), as Spark's `reduce(ord.min)`. Throws on an empty RDD. */
  async min(compare: (a: T, b: T) => number = compareValues): Promise<T> {
    return this.reduce((a, b) => (compare(a, b) <= 0 ? a : b));
  }
  /**
   * Count, mean, sum, min, max and variances in one pass: a StatCounter per partition, merged
   * (Spark's `stats()`). An RDD with partitions but no elements gives count 0 and mean 0, as Spark's;
   * an RDD with no partitions throws, as Spark's `reduce` does.
   */
  async stats(this: RDD<number>): Promise<StatCounter> {
    if (this.numPartitions === 0)
      throw new InvalidArgumentError("stats() on an RDD with no partitions: there is nothing to count. Check getNumPartitions() first.");
    const parts = await this.foldPartitions(
      () => new StatCounter(),
      (c, x) => c.merge(x),
    );
    return parts.reduce((a, b) => a.merge(b));
  }
  /** `stats().mean`. */
  async mean(this: RDD<number>): Promise<number> {
    return (await this.stats()).mean;
  }
  /** `stats().variance`: the population variance. */
  async variance(this: RDD<number>): Promise<number> {
    return (await this.stats()).variance;
  }
  /** `stats().stdev`: the population standard deviation. */
  async stdev(this: RDD<number>): Promise<number> {
    return (await this.stats()).stdev;
  }
  /** `stats().sampleVariance` (divides by N - 1). */
  async sampleVariance(this: RDD<number>): Promise<number> {
    return (await this.stats()).sampleVariance;
  }
  /** `stats().sampleStdev` (divides by N - 1). */
  async sampleStdev(this: RDD<number>): Promise<number> {
    return (await this.stats()).sampleStdev;
  }
  /**
   * Spark's histogram. With a bucket count: `bucketCount` evenly spaced buckets between the minimum and
   * the maximum, returned as `[buckets, counts]` (one bucket `[min, min]` when all elements are equal;
   * throws on an empty RDD or one with NaN or infinite elements). With boundaries: the counts per
   * bucket, each bucket open on the right except the last, which is closed (`[1, 10, 20, 50]` means
   * `[1, 10) [10, 20) [20, 50]`); elements outside are not counted; `evenBuckets` picks the
   * constant-time lookup for evenly spaced boundaries. Boundaries must be sorted.
   */
  async histogram(this: RDD<number>, bucketCount: number): Promise<[number[], number[]]>;
  async histogram(this: RDD<number>, buckets: number[], evenBuckets?: boolean): Promise<number[]>;
  async histogram(this: RDD<number>, arg: number | number[], even = false): Promise<[number[], number[]] | number[]> {
    if (typeof arg === "number") {
      const bucketCount = requirePositiveInt("bucketCount", arg, "Or pass an array of bucket boundaries.");
      const parts = await this.foldPartitions<[number, number]>(
        () => [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY],
        (mm, e) => [Math.max(mm[0], e), Math.min(mm[1], e)],
      );
      if (parts.length === 0)
        throw new InvalidArgumentError("histogram() on an RDD with no partitions: there is no minimum or maximum to space buckets between.");
      let max = Number.NEGATIVE_INFINITY;
      let min = Number.POSITIVE_INFINITY;
      for (const [a, b] of parts) {
        max = Math.max(max, a);
        min = Math.min(min, b);
      }
      if (!Number.isFinite(min) || !Number.isFinite(max)) {
        throw new InvalidArgumentError(
          "histogram(bucketCount) on either an empty RDD or an RDD containing +/-Infinity or NaN: evenly spaced buckets need a finite minimum and maximum. Pass the bucket boundaries instead.",
        );
      }
      const buckets = evenBuckets(min, max, bucketCount);
      return [buckets, await this.histogram(buckets, true)];
    }
    const buckets = requireBuckets(arg);
    const bucketOf = bucketFunction(buckets, even);
    const parts = await this.foldPartitions(
      () => new Array<number>(buckets.length - 1).fill(0),
      (counts, e) => {
        const b = bucketOf(e);
        if (b >= 0) counts[b]!++;
        return counts;
      },
    );
    const total = new Array<number>(buckets.length - 1).fill(0);
    for (const c of parts) for (let i = 0; i < total.length; i++) total[i]! += c[i]!;
    return total;
  }
  /**
   * Spark's takeSample: `num` elements drawn at random (fewer only if the RDD has fewer and
   * `withReplacement` is false), in random order. It counts the elements, samples with a fraction
   * that yields at least `num` with high probability (again, with new seeds, in the rare case it did
   * not), shuffles the sample and keeps `num`. Deterministic given `seed`; without one, the seed
   * derives from the batch and this RDD, as `sample`'s.
   */
  async takeSample(withReplacement: boolean, num: number, seed?: number): Promise<T[]> {
    if (typeof num !== "number" || !Number.isInteger(num) || num < 0) {
      throw new InvalidArgumentError(`Expected \`num\` to be a whole number >= 0, got \`${describe(num)}\`.`);
    }
    if (num === 0) return [];
    const initialCount = await this.count();
    if (initialCount === 0) return [];
    const rng = new SeededRandom(seed ?? this.defaultSeed(4));
    if (!withReplacement && num >= initialCount) return randomizeInPlace(await this.collect(), rng);
    const fraction = computeFractionForSampleSize(num, initialCount, withReplacement);
    let samples: T[];
    do {
      const round = rng.nextUint32();
      samples = [];
      const tc = taskContextFor(this.scope);
      for (let p = 0; p < this.numPartitions; p++) {
        const sampler: ElementSampler = elementSampler(withReplacement, fraction, new SeededRandom(mixSeed(round, p)));
        await this.run(p, tc, (x) =>
          sampler(x, (y) => {
            samples.push(y);
          }),
        );
      }
    } while (samples.length < num);
    return randomizeInPlace(samples, rng).slice(0, num);
  }
  /**
   * Writes the RDD as text, one element per line (formatted as `print` formats it), to a local
   * directory or under `s3://bucket/key` (the engine's object store): one `part-00000`,
   * `part-00001`, ... per partition, then an empty `_SUCCESS` (see text-file.ts). Each partition's
   * computation writes its own part, several at once, or one task per partition on the workers in a
   * fanned-out batch (see foreachPartition). Running the batch again rewrites the same parts, removes
   * those past the new partition count and writes `_SUCCESS` last, so a reader that waits for
   * `_SUCCESS` never sees a half-written or doubled batch.
   */
  async saveAsTextFile(path: string, format: (x: T) => string = formatElement): Promise<void> {
    const out = textOutputFor(path, this.scope.services.objects);
    // A worker that runs one part replays the output function to here: the marker is the coordinator's.
    const driver = !outputActionsFor(this.scope)?.replaying;
    if (driver) await out.start();
    // Parts in a local directory are written where the directory is: by this process.
    await this.eachPartitionTask((items, p) => out.writePart(p, items.map(format)), out.shared);
    if (driver) await out.finish(this.numPartitions);
  }
  /** Calls `f` on every element; partitions run as foreachPartition runs them, elements of one in order. */
  async foreach(f: (x: T) => void | Promise<void>): Promise<void> {
    await this.foreachPartition(async (items) => {
      for (const x of items) await f(x);
    });
  }
  /**
   * Computes each partition and calls `f` with its elements, as Spark's one task per partition does.
   * In an output operation of a fanned-out batch, each partition is one task on the workers, when
   * the RDD reads nothing only the coordinator holds (state, stored results) and no action that
   * returns an array or an object came before it in the function (lib/scheduler/output-actions.ts). Otherwise
   * here, up to PARTITION_CONCURRENCY partitions at a time, so what `f` awaits (a write) overlaps.
   * On a failure no new partition starts, those running finish, and the first error is thrown.
   */
  async foreachPartition(f: (items: T[], partitionIndex: number) => void | Promise<void>): Promise<void> {
    await this.eachPartitionTask(f, true);
  }
  /** foreachPartition's work: through the output function's OutputActions when there is one; `mayLeave`: the workers may run it. */
  private async eachPartitionTask(f: (items: T[], partitionIndex: number) => void | Promise<void>, mayLeave: boolean): Promise<void> {
    const tc = taskContextFor(this.scope);
    const one = async (p: number): Promise<void> => {
      const items: T[] = [];
      await this.run(p, tc, (x) => {
        items.push(x);
      });
      await f(items, p);
    };
    const actions = outputActionsFor(this.scope);
    if (actions) await actions.perPartition(this as RDD<unknown>, one, () => this.partitionsHere(one), mayLeave);
    else await this.partitionsHere(one);
  }
  /** Every partition through `one`, PARTITION_CONCURRENCY at a time. */
  private async partitionsHere(one: (p: number) => Promise<void>): Promise<void> {
    let next = 0;
    let failure: { error: unknown } | undefined;
    const lane = async (): Promise<void> => {
      while (!failure && next < this.numPartitions) {
        try {
          await one(next++);
        } catch (error) {
          failure ??= { error };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARTITION_CONCURRENCY, this.numPartitions) }, lane));
    if (failure) throw failure.error;
  }
  async countByValue(): Promise<Map<T, number>> {
    const m = new Map<KeyId, [T, number]>();
    await this.eachPartition((items) => {
      for (const x of items) {
        const id = keyId(x);
        const e = m.get(id);
        if (e) e[1]++;
        else m.set(id, [x, 1]);
      }
    });
    return new Map([...m.values()]);
  }
  async countByKey<K, V>(this: RDD<Pair<K, V>>): Promise<Map<K, number>> {
    return this.keys().countByValue();
  }
  async collectAsMap<K, V>(this: RDD<Pair<K, V>>): Promise<Map<K, V>> {
    return new Map((await this.collect()).map((kv) => [kv[0], kv[1]] as [K, V]));
  }
  async lookup<K, V>(this: RDD<Pair<K, V>>, key: K): Promise<V[]> {
    const id = keyId(key);
    return (await this.collect()).filter((kv) => keyId(kv[0]) === id).map((kv) => kv[1]);
  }
  async top(num: number, compare: (a: T, b: T) => number = compareValues): Promise<T[]> {
    return (await this.collect()).sort((a, b) => compare(b, a)).slice(0, num);
  }
  async takeOrdered(num: number, compare: (a: T, b: T) => number = compareValues): Promise<T[]> {
    return (await this.collect()).sort(compare).slice(0, num);
  }
  toString(): string {
    return this.name;
  }
}

function requireDepth(depth: unknown): void {
  if (typeof depth !== "number" || !Number.isInteger(depth) || depth < 1) {
    throw new InvalidArgumentError(`Expected \`depth\` to be a whole number >= 1, got \`${describe(depth)}\`.`);
  }
}

/**
 * Spark's treeAggregate combination of partition results: while it pays (more than scale + n/scale
 * results), result i joins group i mod (n / scale), each group folded onto a copy of the zero; then
 * everything is folded onto a last copy of the zero.
 */
function treeCombine<U>(parts: U[], combOp: (a: U, b: U) => U, zero: () => U, depth: number): U {
  let level = parts;
  let n = level.length;
  const scale = Math.max(Math.ceil(Math.pow(n, 1 / depth)), 2);
  while (n > scale + Math.floor(n / scale)) {
    n = Math.floor(n / scale);
    const groups = Array.from({ length: n }, zero);
    level.forEach((u, i) => {
      groups[i % n] = combOp(groups[i % n]!, u);
    });
    level = groups;
  }
  return level.reduce(combOp, zero());
}

function structuredCloneSafe<T>(v: T): T {
  return v !== null && typeof v === "object" ? structuredClone(v) : v;
}

/** Orders numbers numerically, strings by code unit, arrays element by element, as Scala's default orderings do. */
export function compareValues(a: unknown, b: unknown): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const c = compareValues(a[i], b[i]);
      if (c !== 0) return c;
    }
    return a.length - b.length;
  }
  const sa = typeof a === "string" ? a : String(a);
  const sb = typeof b === "string" ? b : String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

function resolveCogroupPartitioner(scope: RDDScope, rdds: RDD<unknown>[], n?: number | Partitioner): Partitioner {
  if (n instanceof HashPartitioner) return n;
  if (n !== undefined) return new HashPartitioner(requirePositiveInt("numPartitions", n));
  // Spark's defaultPartitioner: reuse a parent's partitioner when one has it.
  const existing = rdds.map((r) => r.partitioner).find((p) => p !== undefined);
  return existing ?? new HashPartitioner(scope.defaultParallelism);
}

export function unionOf<T>(scope: RDDScope, rdds: RDD<T>[]): RDD<T> {
  if (rdds.length === 0) return new ParallelRDD<T>(scope, [], 0);
  if (rdds.length === 1) return rdds[0]!;
  const p0 = rdds[0]!.partitioner;
  if (p0 && rdds.every((r) => p0.equals(r.partitioner))) return new PartitionerAwareUnionRDD(scope, rdds, p0);
  return new UnionRDD(scope, rdds);
}

/**
 * Every action that returns a value. Inside an output function they go through its OutputActions
 * (`valueAction`), which a worker's replay of the function to a per-partition action answers with the
 * coordinator's values (lib/scheduler/output-actions.ts); an action another one calls is not counted.
 */
const VALUE_ACTIONS = [
  "collect",
  "collectPartitions",
  "count",
  "take",
  "first",
  "isEmpty",
  "reduce",
  "fold",
  "aggregate",
  "treeAggregate",
  "treeReduce",
  "sum",
  "max",
  "min",
  "stats",
  "mean",
  "variance",
  "stdev",
  "sampleVariance",
  "sampleStdev",
  "histogram",
  "takeSample",
  "countByValue",
  "countByKey",
  "collectAsMap",
  "lookup",
  "top",
  "takeOrdered",
] as const satisfies readonly (keyof RDD<unknown>)[];
for (const name of VALUE_ACTIONS) {
  const compute = RDD.prototype[name] as (this: RDD<unknown>, ...args: unknown[]) => Promise<unknown>;
  Object.defineProperty(RDD.prototype, name, {
    value: function (this: RDD<unknown>, ...args: unknown[]) {
      return valueAction(this.scope, () => compute.apply(this, args));
    },
    writable: true,
    configurable: true,
  });
}

// ---- RDD node types ------------------------------------------------------------------------

/** A narrow, element-wise operation, pipelined with its parent. */
export class PipeRDD<T, U> extends RDD<U> {
  override readonly partitioner: Partitioner | undefined;
  readonly numPartitions: number;
  constructor(
    readonly parent: RDD<T>,
    private readonly op: (emit: Emit<U>) => Emit<T>,
    preservesPartitioning: boolean,
  ) {
    super(parent.scope, [new NarrowDependency(parent as RDD<unknown>)]);
    this.numPartitions = parent.numPartitions;
    this.partitioner = preservesPartitioning ? parent.partitioner : undefined;
  }
  run(p: number, tc: TaskContext, emit: Emit<U>): Promise<void> {
    return this.parent.run(p, tc, this.op(emit));
  }
}

/** A narrow operation that needs the whole partition (mapPartitions, glom). */
export class BufferedRDD<T, U> extends RDD<U> {
  override readonly partitioner: Partitioner | undefined;
  readonly numPartitions: number;
  constructor(
    readonly parent: RDD<T>,
    private readonly f: (items: T[], p: number) => Iterable<U>,
    preservesPartitioning: boolean,
  ) {
    super(parent.scope, [new NarrowDependency(parent as RDD<unknown>)]);
    this.numPartitions = parent.numPartitions;
    this.partitioner = preservesPartitioning ? parent.partitioner : undefined;
  }
  async run(p: number, tc: TaskContext, emit: Emit<U>): Promise<void> {
    const items: T[] = [];
    await this.parent.run(p, tc, (x) => {
      items.push(x);
    });
    for (const y of this.f(items, p)) emit(y);
  }
}

/** Local data cut into contiguous slices, with Spark's `parallelize` slice bounds. */
export class ParallelRDD<T> extends RDD<T> {
  constructor(
    scope: RDDScope,
    readonly data: readonly T[],
    readonly numPartitions: number,
  ) {
    super(scope, []);
  }
  async run(p: number, _tc: TaskContext, emit: Emit<T>): Promise<void> {
    const [start, end] = sliceBounds(this.data.length, this.numPartitions, p);
    for (let i = start; i < end; i++) emit(this.data[i]!);
  }
}

/** Spark's ParallelCollectionRDD.slice positions: partition i holds [i*n/k, (i+1)*n/k). */
export function sliceBounds(length: number, numSlices: number, i: number): [number, number] {
  return [Math.floor((i * length) / numSlices), Math.floor(((i + 1) * length) / numSlices)];
}

/** A leaf whose partitions are read from outside: input blocks, stored DStream data, state. */
export class LeafRDD<T> extends RDD<T> {
  override readonly partitioner: Partitioner | undefined;
  constructor(
    scope: RDDScope,
    readonly numPartitions: number,
    private readonly read: (p: number, tc: TaskContext, emit: Emit<T>, leaf: LeafRDD<T>) => Promise<void>,
    partitioner?: Partitioner,
    label?: string,
    /** Reads the coordinator's memory (stored results, state): only the coordinator can compute it. */
    readonly local = false,
  ) {
    super(scope, []);
    this.partitioner = partitioner;
    if (label) this.setName(label);
  }
  run(p: number, tc: TaskContext, emit: Emit<T>): Promise<void> {
    return this.read(p, tc, emit, this);
  }
}

export class UnionRDD<T> extends RDD<T> {
  readonly numPartitions: number;
  private readonly offsets: number[] = [];
  constructor(
    scope: RDDScope,
    readonly parents: RDD<T>[],
  ) {
    super(
      scope,
      parents.map((r) => new NarrowDependency(r as RDD<unknown>)),
    );
    let n = 0;
    for (const r of parents) {
      this.offsets.push(n);
      n += r.numPartitions;
    }
    this.numPartitions = n;
  }
  run(p: number, tc: TaskContext, emit: Emit<T>): Promise<void> {
    let i = this.parents.length - 1;
    while (this.offsets[i]! > p) i--;
    return this.parents[i]!.run(p - this.offsets[i]!, tc, emit);
  }
  override narrowParents(p: number): [RDD<unknown>, number][] {
    let i = this.parents.length - 1;
    while (this.offsets[i]! > p) i--;
    return [[this.parents[i] as RDD<unknown>, p - this.offsets[i]!]];
  }
}

/** The union of RDDs that share a partitioner: partition p is every parent's partition p, in parent order. */
export class PartitionerAwareUnionRDD<T> extends RDD<T> {
  readonly numPartitions: number;
  override readonly partitioner: Partitioner;
  constructor(
    scope: RDDScope,
    readonly parents: RDD<T>[],
    partitioner: Partitioner,
  ) {
    super(
      scope,
      parents.map((r) => new NarrowDependency(r as RDD<unknown>)),
    );
    this.partitioner = partitioner;
    this.numPartitions = partitioner.numPartitions;
  }
  async run(p: number, tc: TaskContext, emit: Emit<T>): Promise<void> {
    for (const r of this.parents) await r.run(p, tc, emit);
  }
}

/** Merges neighbouring partitions without a shuffle. */
export class CoalescedRDD<T> extends RDD<T> {
  constructor(
    readonly parent: RDD<T>,
    readonly numPartitions: number,
  ) {
    super(parent.scope, [new NarrowDependency(parent as RDD<unknown>)]);
  }
  async run(p: number, tc: TaskContext, emit: Emit<T>): Promise<void> {
    const [start, end] = sliceBounds(this.parent.numPartitions, this.numPartitions, p);
    for (let i = start; i < end; i++) await this.parent.run(i, tc, emit);
  }
  override narrowParents(p: number): [RDD<unknown>, number][] {
    const [start, end] = sliceBounds(this.parent.numPartitions, this.numPartitions, p);
    const out: [RDD<unknown>, number][] = [];
    for (let i = start; i < end; i++) out.push([this.parent as RDD<unknown>, i]);
    return out;
  }
}

/** The reduce side of a shuffle: reads its partition's chunks and merges them by key. */
export class ShuffledRDD<K, V, C> extends RDD<[K, C]> {
  readonly numPartitions: number;
  override readonly partitioner: Partitioner;
  readonly dep: ShuffleDependency<K, V, C>;
  readonly aggregator: Aggregator<V, C> | undefined;
  readonly mapSideCombine: boolean;
  constructor(parent: RDD<Pair<K, V>>, partitioner: Partitioner, aggregator?: Aggregator<V, C>, mapSideCombine = false) {
    super(parent.scope, []);
    this.aggregator = aggregator;
    this.mapSideCombine = mapSideCombine;
    this.dep = new ShuffleDependency<K, V, C>(`shuffle-${this.id}`, parent, partitioner, aggregator, mapSideCombine);
    this.deps.push(this.dep as unknown as Dependency);
    this.partitioner = partitioner;
    this.numPartitions = partitioner.numPartitions;
  }
  async run(p: number, tc: TaskContext, emit: Emit<[K, C]>): Promise<void> {
    const chunks = (await tc.readShuffle(this.dep as unknown as ShuffleDependency<unknown, unknown, unknown>, p)) as Pair<K, unknown>[][];
    const agg = this.aggregator;
    if (!agg) {
      for (const chunk of chunks) for (const kv of chunk) emit(kv as unknown as [K, C]);
      return;
    }
    const m = new Map<KeyId, [K, C]>();
    if (this.mapSideCombine) {
      const merge = agg.mergeCombiners;
      for (const chunk of chunks)
        for (const kc of chunk) {
          const id = keyId(kc[0]);
          const e = m.get(id);
          if (e) e[1] = merge(e[1], kc[1] as C);
          else m.set(id, [kc[0], kc[1] as C]);
        }
    } else {
      const { createCombiner, mergeValue } = agg;
      for (const chunk of chunks)
        for (const kv of chunk) {
          const id = keyId(kv[0]);
          const e = m.get(id);
          if (e) e[1] = mergeValue(e[1], kv[1] as V);
          else m.set(id, [kv[0], createCombiner(kv[1] as V)]);
        }
    }
    for (const e of m.values()) emit(e);
  }
}

/**
 * Groups the values of several pair RDDs by key. A parent already
 * partitioned with the target partitioner is read narrowly; the others are
 * shuffled. Keys come out in first-seen order, parents in order.
 */
export class CoGroupedRDD<K> extends RDD<[K, unknown[][]]> {
  readonly numPartitions: number;
  override readonly partitioner: Partitioner;
  private readonly sources: (RDD<Pair<K, unknown>> | ShuffleDependency<K, unknown, unknown> | null)[];
  readonly parents: RDD<Pair<K, unknown>>[];
  constructor(scope: RDDScope, parents: RDD<Pair<K, unknown>>[], partitioner: Partitioner) {
    super(scope, []);
    this.parents = parents;
    // A parent with no partitions contributes nothing and needs no shuffle stage.
    this.sources = parents.map((r, i) =>
      r.numPartitions === 0
        ? null
        : partitioner.equals(r.partitioner)
          ? r
          : new ShuffleDependency<K, unknown, unknown>(`shuffle-${this.id}-${i}`, r, partitioner, undefined, false, true),
    );
    for (const s of this.sources) {
      if (s) this.deps.push(s instanceof RDD ? new NarrowDependency(s as RDD<unknown>) : (s as unknown as Dependency));
    }
    this.partitioner = partitioner;
    this.numPartitions = partitioner.numPartitions;
  }
  /**
   * Parent `i`'s values in partition `p` grouped by key, into `groups` (first-seen key order): read
   * narrowly and grouped here, or read from its shuffle as the map tasks grouped them. `slot` picks
   * where a group keeps parent `i`'s values. A group's array is never one of the shuffle's own, which
   * a retried task reads again.
   */
  async groupParent<G>(
    i: number,
    p: number,
    tc: TaskContext,
    groups: Map<KeyId, G>,
    create: (key: K) => G,
    slot: (g: G) => unknown[][],
    index: number,
  ): Promise<void> {
    const s = this.sources[i];
    if (!s) return;
    if (s instanceof RDD) {
      await s.run(p, tc, (kv) => {
        const id = keyId(kv[0]);
        let g = groups.get(id);
        if (!g) {
          g = create(kv[0]);
          groups.set(id, g);
        }
        slot(g)[index]!.push(kv[1]);
      });
      return;
    }
    for (const chunk of await tc.readShuffle(s as unknown as ShuffleDependency<unknown, unknown, unknown>, p)) {
      for (const [k, vs] of chunk as [K, unknown[]][]) {
        const id = keyId(k);
        let g = groups.get(id);
        if (!g) {
          g = create(k);
          groups.set(id, g);
        }
        const into = slot(g);
        const mine = into[index]!;
        if (mine.length === 0) into[index] = vs.slice();
        else for (let x = 0; x < vs.length; x++) mine.push(vs[x]);
      }
    }
  }
  async run(p: number, tc: TaskContext, emit: Emit<[K, unknown[][]]>): Promise<void> {
    const n = this.sources.length;
    const groups = new Map<KeyId, [K, unknown[][]]>();
    const create = (k: K): [K, unknown[][]] => {
      const lists: unknown[][] = [];
      for (let i = 0; i < n; i++) lists.push([]);
      return [k, lists];
    };
    const slot = (g: [K, unknown[][]]) => g[1];
    for (let i = 0; i < n; i++) await this.groupParent(i, p, tc, groups, create, slot, i);
    for (const e of groups.values()) emit(e);
  }
}

/**
 * A per-partition summary of an RDD (its element count, a sample of its keys)
 * that every task of a later stage needs whole, as Spark's driver-side jobs
 * hand theirs to the tasks (zipWithIndex's counts, the range partitioner's
 * sketch). It runs as a shuffle stage of its own, planned before the stages
 * that read it: map task m summarizes partition m and sends the summary to
 * each of `readers` reduce partitions, so reader r finds every summary in its
 * partition r, through the shuffle store and task messages like any shuffle's
 * data. The RDD that reads it lists `dep` among its dependencies.
 */
export class PartitionSummaries<S> {
  /** Absent when there is no reader. */
  readonly dep: ShuffleDependency<number, [number, S], never> | undefined;

  constructor(rdd: RDD<unknown>, readers: number, summarize: (p: number, tc: TaskContext) => Promise<S>) {
    if (readers === 0) {
      this.dep = undefined;
      return;
    }
    const summaries = new SummaryRDD<S>(rdd, readers, summarize);
    this.dep = new ShuffleDependency<number, [number, S], never>(`shuffle-${summaries.id}`, summaries, new HashPartitioner(readers));
  }

  /** Every partition's summary, in partition order, as reader `reader` sees them. */
  async read(tc: TaskContext, reader: number): Promise<S[]> {
    if (!this.dep) return [];
    const chunks = await tc.readShuffle(this.dep as unknown as ShuffleDependency<unknown, unknown, unknown>, reader);
    const all: [number, S][] = [];
    for (const chunk of chunks) for (const kv of chunk as Pair<number, [number, S]>[]) all.push(kv[1]);
    return all.sort((a, b) => a[0] - b[0]).map((e) => e[1]);
  }
}

/** The map side of PartitionSummaries: partition p's summary, once for each reader (key r goes to reduce partition r). */
class SummaryRDD<S> extends RDD<Pair<number, [number, S]>> {
  readonly numPartitions: number;
  constructor(
    readonly parent: RDD<unknown>,
    private readonly readers: number,
    private readonly summarize: (p: number, tc: TaskContext) => Promise<S>,
  ) {
    super(parent.scope, [new NarrowDependency(parent)]);
    this.numPartitions = parent.numPartitions;
  }
  async run(p: number, tc: TaskContext, emit: Emit<Pair<number, [number, S]>>): Promise<void> {
    const summary = await this.summarize(p, tc);
    for (let r = 0; r < this.readers; r++) emit([r, [p, summary]]);
  }
}

/** The parent's partitions unchanged, plus shuffles its readers consult on the side (the sort's sketch): planned, and sent to workers, with it. */
export class WithSideInputsRDD<T> extends RDD<T> {
  readonly numPartitions: number;
  override readonly partitioner: Partitioner | undefined;
  constructor(
    readonly parent: RDD<T>,
    side: ShuffleDependency<unknown, unknown, unknown>[],
  ) {
    super(parent.scope, [new NarrowDependency(parent as RDD<unknown>), ...(side as unknown as Dependency[])]);
    this.numPartitions = parent.numPartitions;
    this.partitioner = parent.partitioner;
  }
  run(p: number, tc: TaskContext, emit: Emit<T>): Promise<void> {
    return this.parent.run(p, tc, emit);
  }
}

/** Spark's ZippedWithIndexRDD: partition p starts at the element count of the partitions before it. */
export class ZippedWithIndexRDD<T> extends RDD<[T, number]> {
  readonly numPartitions: number;
  private readonly counts: PartitionSummaries<number> | undefined;
  constructor(readonly parent: RDD<T>) {
    super(parent.scope, [new NarrowDependency(parent as RDD<unknown>)]);
    this.numPartitions = parent.numPartitions;
    // With one partition (or none) every index is known; Spark skips its counting job too.
    if (parent.numPartitions > 1) {
      this.counts = new PartitionSummaries<number>(parent as RDD<unknown>, parent.numPartitions, async (p, tc) => {
        let n = 0;
        await parent.run(p, tc, () => {
          n++;
        });
        return n;
      });
      this.deps.push(this.counts.dep as unknown as Dependency);
    }
  }
  async run(p: number, tc: TaskContext, emit: Emit<[T, number]>): Promise<void> {
    let index = 0;
    if (this.counts && p > 0) {
      const counts = await this.counts.read(tc, p);
      for (let i = 0; i < p; i++) index += counts[i]!;
    }
    await this.parent.run(p, tc, (x) => emit([x, index++]));
  }
}

/** Spark's zip: the i-th elements of partition p of both parents, paired. */
export class ZippedPartitionsRDD<T, U> extends RDD<[T, U]> {
  readonly numPartitions: number;
  constructor(
    readonly left: RDD<T>,
    readonly right: RDD<U>,
  ) {
    super(left.scope, [new NarrowDependency(left as RDD<unknown>), new NarrowDependency(right as RDD<unknown>)]);
    this.numPartitions = left.numPartitions;
  }
  async run(p: number, tc: TaskContext, emit: Emit<[T, U]>): Promise<void> {
    const xs: T[] = [];
    const ys: U[] = [];
    await this.left.run(p, tc, (x) => {
      xs.push(x);
    });
    await this.right.run(p, tc, (y) => {
      ys.push(y);
    });
    if (xs.length !== ys.length) {
      throw new InvalidArgumentError(
        `Can only zip RDDs with same number of elements in each partition: partition ${p} has ${xs.length} and ${ys.length}. Make one RDD from the other with map (not filter or flatMap), or use zipWithIndex and join.`,
      );
    }
    for (let i = 0; i < xs.length; i++) emit([xs[i]!, ys[i]!]);
  }
}

/** Spark's CartesianRDD: partition i × n2 + j pairs partition i of the first parent with partition j of the second. */
export class CartesianRDD<T, U> extends RDD<[T, U]> {
  readonly numPartitions: number;
  constructor(
    readonly left: RDD<T>,
    readonly right: RDD<U>,
  ) {
    super(left.scope, [new NarrowDependency(left as RDD<unknown>), new NarrowDependency(right as RDD<unknown>)]);
    this.numPartitions = left.numPartitions * right.numPartitions;
  }
  async run(p: number, tc: TaskContext, emit: Emit<[T, U]>): Promise<void> {
    const n2 = this.right.numPartitions;
    const ys: U[] = [];
    await this.right.run(p % n2, tc, (y) => {
      ys.push(y);
    });
    await this.left.run(Math.floor(p / n2), tc, (x) => {
      for (const y of ys) emit([x, y]);
    });
  }
  override narrowParents(p: number): [RDD<unknown>, number][] {
    const n2 = this.right.numPartitions;
    return [
      [this.left as RDD<unknown>, Math.floor(p / n2)],
      [this.right as RDD<unknown>, p % n2],
    ];
  }
}

/**
 * Spark's PartitionwiseSampledRDD: each partition passes its elements through a sampler made for
 * it from the RDD's seed (the given one, or the default one, fixed when the RDD is created). Keeps
 * the parent's partitioning.
 */
export class SampledRDD<T> extends RDD<T> {
  readonly numPartitions: number;
  override readonly partitioner: Partitioner | undefined;
  readonly seed: number;
  constructor(
    readonly parent: RDD<T>,
    private readonly samplerFor: (p: number, seed: number) => ElementSampler,
    seed: number | undefined,
    salt: number,
  ) {
    super(parent.scope, [new NarrowDependency(parent as RDD<unknown>)]);
    if (seed !== undefined && (typeof seed !== "number" || !Number.isFinite(seed))) {
      throw new InvalidArgumentError(`Expected \`seed\` to be a finite number, got \`${describe(seed)}\`.`);
    }
    this.numPartitions = parent.numPartitions;
    this.partitioner = parent.partitioner;
    this.seed = seed ?? this.defaultSeed(salt);
  }
  run(p: number, tc: TaskContext, emit: Emit<T>): Promise<void> {
    const sampler = this.samplerFor(p, this.seed);
    return this.parent.run(p, tc, (x) => sampler(x, emit));
  }
}
