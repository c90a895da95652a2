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
 */
import { InvalidArgumentError, requireFunction, requirePositiveInt } from "../core/errors.js";
import { HashPartitioner, keyId, type KeyId, type Partitioner } from "../core/keys.js";
import { taskContextFor, type RDDScope, type TaskContext } from "./scope.js";

export type Emit<T> = (x: T) => void;
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

export class ShuffleDependency<K, V, C> {
  readonly kind = "shuffle";
  constructor(
    readonly shuffleId: string,
    readonly rdd: RDD<Pair<K, V>>,
    readonly partitioner: Partitioner,
    readonly aggregator?: Aggregator<V, C>,
    readonly mapSideCombine = false,
  ) {}

  /** Runs map partition `m` and buckets its records by reduce partition (combined per key if asked). */
  async computeBuckets(m: number, tc: TaskContext): Promise<unknown[][]> {
    const n = this.partitioner.numPartitions;
    const part = this.partitioner;
    const agg = this.aggregator;
    if (agg && this.mapSideCombine) {
      const maps: Map<KeyId, [K, C]>[] = Array.from({ length: n }, () => new Map());
      const { createCombiner, mergeValue } = agg;
      await this.rdd.run(m, tc, (kv) => {
        const k = kv[0];
        const bucket = maps[part.getPartition(k)]!;
        const id = keyId(k);
        const e = bucket.get(id);
        if (e) e[1] = mergeValue(e[1], kv[1]);
        else bucket.set(id, [k, createCombiner(kv[1])]);
      });
      return maps.map((b) => [...b.values()]);
    }
    const buckets: unknown[][] = Array.from({ length: n }, () => []);
    await this.rdd.run(m, tc, (kv) => { buckets[part.getPartition(kv[0])]!.push(kv); });
    return buckets;
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
  makeRDD<T>(data: Iterable<T>, numSlices?: number): RDD<T> { return this.parallelize(data, numSlices); }
  emptyRDD<T>(): RDD<T> { return new ParallelRDD<T>(this.scope, [], 0); }
  union<T>(rdds: RDD<T>[]): RDD<T> { return unionOf(this.scope, rdds); }
}

export abstract class RDD<T> {
  readonly id: number;
  private _name?: string;
  /** Parents; filled in by the constructor of each node type. */
  readonly deps: Dependency[];
  constructor(readonly scope: RDDScope, deps: Dependency[]) {
    this.id = scope.nextRddId();
    this.deps = deps;
  }
  abstract readonly numPartitions: number;
  /** Set when the data is hash-partitioned by key; keyed operations with the same partitioner need no shuffle. */
  readonly partitioner: Partitioner | undefined = undefined;
  /** Pushes every element of partition `p` into `emit`. */
  abstract run(p: number, tc: TaskContext, emit: Emit<T>): Promise<void>;

  get context(): RDDContext { return new RDDContext(this.scope); }
  get name(): string { return this._name ?? `${this.constructor.name}[${this.id}]`; }
  setName(name: string): this { this._name = name; return this; }
  getNumPartitions(): number { return this.numPartitions; }

  // ---- narrow transformations -------------------------------------------------------------

  map<U extends [unknown, unknown] | {} | null | undefined>(f: (x: T) => U): RDD<U> {
    requireFunction("f", f);
    return new PipeRDD<T, U>(this, (emit) => (x) => emit(f(x)), false);
  }
  flatMap<U>(f: (x: T) => Iterable<U>): RDD<U> {
    requireFunction("f", f);
    return new PipeRDD<T, U>(this, (emit) => (x) => { for (const y of f(x)) emit(y); }, false);
  }
  filter(f: (x: T) => boolean): RDD<T> {
    requireFunction("f", f);
    return new PipeRDD<T, T>(this, (emit) => (x) => { if (f(x)) emit(x); }, true);
  }
  mapPartitions<U>(f: (items: T[], partitionIndex: number) => Iterable<U>, preservesPartitioning = false): RDD<U> {
    requireFunction("f", f);
    return new BufferedRDD<T, U>(this, f, preservesPartitioning);
  }
  mapPartitionsWithIndex<U>(f: (partitionIndex: number, items: T[]) => Iterable<U>, preservesPartitioning = false): RDD<U> {
    requireFunction("f", f);
    return new BufferedRDD<T, U>(this, (items, p) => f(p, items), preservesPartitioning);
  }
  glom(): RDD<T[]> { return new BufferedRDD<T, T[]>(this, (items) => [items], false); }
  keyBy<K>(f: (x: T) => K): RDD<[K, T]> { return this.map((x) => [f(x), x] as [K, T]); }
  union(...others: RDD<T>[]): RDD<T> { return unionOf(this.scope, [this, ...others]); }

  // ---- wide transformations ---------------------------------------------------------------

  /** Round-robin redistribution into `numPartitions` partitions, through a shuffle (Spark's `coalesce(n, shuffle = true)`). */
  repartition(numPartitions: number): RDD<T> {
    const n = requirePositiveInt("numPartitions", numPartitions);
    const positioned = new BufferedRDD<T, [number, T]>(this, (items, index) => {
      // Spark starts each partition at a pseudo-random position; a fixed function of the index keeps it deterministic.
      let position = index % n;
      return items.map((t) => [++position, t] as [number, T]);
    }, false);
    return new ShuffledRDD<number, T, T>(positioned, new HashPartitioner(n)).map((kv) => kv[1]);
  }
  coalesce(numPartitions: number, shuffle = false): RDD<T> {
    const n = requirePositiveInt("numPartitions", numPartitions);
    if (shuffle || n >= this.numPartitions) return shuffle ? this.repartition(n) : this;
    return new CoalescedRDD(this, n);
  }
  distinct(numPartitions?: number): RDD<T> {
    return this.map((x) => [x, null] as [T, null]).reduceByKey((a) => a, numPartitions).map((kv) => kv[0]);
  }
  /** Sorts by `f` into one partition (Spark range-partitions; one sorted partition gives the same collected order). */
  sortBy<K>(f: (x: T) => K, ascending = true): RDD<T> {
    requireFunction("f", f);
    const sign = ascending ? 1 : -1;
    const one = new ShuffledRDD<number, T, T>(this.map((x) => [0, x] as [number, T]), new HashPartitioner(1));
    return new BufferedRDD<readonly [number, T], T>(one, (items) =>
      items.map((kv) => kv[1]).sort((a, b) => sign * compareValues(f(a), f(b))), false);
  }
  intersection(other: RDD<T>, numPartitions?: number): RDD<T> {
    return this.map((x) => [x, null] as [T, null])
      .cogroup(other.map((x) => [x, null] as [T, null]), numPartitions)
      .filter((kv) => kv[1][0].length > 0 && kv[1][1].length > 0)
      .map((kv) => kv[0]);
  }
  subtract(other: RDD<T>, numPartitions?: number): RDD<T> {
    return this.map((x) => [x, null] as [T, null]).subtractByKey(other.map((x) => [x, null] as [T, null]), numPartitions).map((kv) => kv[0]);
  }

  // ---- pair transformations ---------------------------------------------------------------

  mapValues<K, V, U>(this: RDD<Pair<K, V>>, f: (v: V) => U): RDD<[K, U]> {
    requireFunction("f", f);
    return new PipeRDD<Pair<K, V>, [K, U]>(this, (emit) => (kv) => emit([kv[0], f(kv[1])]), true);
  }
  flatMapValues<K, V, U>(this: RDD<Pair<K, V>>, f: (v: V) => Iterable<U>): RDD<[K, U]> {
    requireFunction("f", f);
    return new PipeRDD<Pair<K, V>, [K, U]>(this, (emit) => (kv) => { for (const u of f(kv[1])) emit([kv[0], u]); }, true);
  }
  keys<K, V>(this: RDD<Pair<K, V>>): RDD<K> { return new PipeRDD<Pair<K, V>, K>(this, (emit) => (kv) => emit(kv[0]), false); }
  values<K, V>(this: RDD<Pair<K, V>>): RDD<V> { return new PipeRDD<Pair<K, V>, V>(this, (emit) => (kv) => emit(kv[1]), false); }

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
      return new BufferedRDD<Pair<K, V>, [K, C]>(this, (items) => {
        const m = new Map<KeyId, [K, C]>();
        for (const kv of items) {
          const id = keyId(kv[0]);
          const e = m.get(id);
          if (e) e[1] = mergeValue(e[1], kv[1]);
          else m.set(id, [kv[0], createCombiner(kv[1])]);
        }
        return m.values();
      }, true);
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
      (c, v) => { c.push(v); return c; },
      (a, b) => { for (const v of b) a.push(v); return a; },
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
  cogroup<K, V, W1, W2>(this: RDD<Pair<K, V>>, other1: RDD<Pair<K, W1>>, other2: RDD<Pair<K, W2>>, numPartitionsOrPartitioner?: number | Partitioner): RDD<[K, [V[], W1[], W2[]]]>;
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
  fullOuterJoin<K, V, W>(this: RDD<Pair<K, V>>, other: RDD<Pair<K, W>>, numPartitions?: number | Partitioner): RDD<[K, [V | undefined, W | undefined]]> {
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
  sortByKey<K, V>(this: RDD<Pair<K, V>>, ascending = true): RDD<[K, V]> {
    return this.sortBy((kv) => kv[0], ascending) as unknown as RDD<[K, V]>;
  }

  protected resolvePartitioner(n?: number | Partitioner): Partitioner {
    if (n instanceof HashPartitioner) return n;
    if (n === undefined) return this.partitioner ?? new HashPartitioner(this.scope.defaultParallelism);
    return new HashPartitioner(requirePositiveInt("numPartitions", n));
  }

  // ---- actions (async, computed in this process) -------------------------------------------

  /** Runs `f` over each partition's elements, in partition order. */
  protected async eachPartition(f: (items: T[], p: number) => void | boolean | Promise<void | boolean>): Promise<void> {
    const tc = taskContextFor(this.scope);
    for (let p = 0; p < this.numPartitions; p++) {
      const items: T[] = [];
      await this.run(p, tc, (x) => { items.push(x); });
      if ((await f(items, p)) === false) return;
    }
  }
  async collect(): Promise<T[]> {
    const out: T[] = [];
    await this.eachPartition((items) => { for (const x of items) out.push(x); });
    return out;
  }
  async collectPartitions(): Promise<T[][]> {
    const out: T[][] = [];
    await this.eachPartition((items) => { out.push(items); });
    return out;
  }
  async count(): Promise<number> {
    let n = 0;
    const tc = taskContextFor(this.scope);
    for (let p = 0; p < this.numPartitions; p++) await this.run(p, tc, () => { n++; });
    return n;
  }
  async take(num: number): Promise<T[]> {
    const out: T[] = [];
    if (num <= 0) return out;
    await this.eachPartition((items) => {
      for (const x of items) { if (out.length >= num) break; out.push(x); }
      return out.length < num;
    });
    return out;
  }
  async first(): Promise<T> {
    const [x] = await this.take(1);
    if (x === undefined && (await this.isEmpty())) throw new InvalidArgumentError("first() on an empty RDD: the batch has no elements. Check isEmpty() first.");
    return x as T;
  }
  async isEmpty(): Promise<boolean> { return (await this.take(1)).length === 0; }
  async reduce(f: (a: T, b: T) => T): Promise<T> {
    const all = await this.collect();
    if (all.length === 0) throw new InvalidArgumentError("reduce() on an empty RDD: the batch has no elements. Use fold() with a zero value, or check isEmpty() first.");
    return all.reduce(f);
  }
  async fold(zero: T, f: (a: T, b: T) => T): Promise<T> { return (await this.collect()).reduce(f, zero); }
  async foreach(f: (x: T) => void | Promise<void>): Promise<void> {
    await this.eachPartition(async (items) => { for (const x of items) await f(x); });
  }
  async foreachPartition(f: (items: T[], partitionIndex: number) => void | Promise<void>): Promise<void> {
    await this.eachPartition(async (items, p) => { await f(items, p); });
  }
  async countByValue(): Promise<Map<T, number>> {
    const m = new Map<KeyId, [T, number]>();
    await this.eachPartition((items) => {
      for (const x of items) { const id = keyId(x); const e = m.get(id); if (e) e[1]++; else m.set(id, [x, 1]); }
    });
    return new Map([...m.values()]);
  }
  async countByKey<K, V>(this: RDD<Pair<K, V>>): Promise<Map<K, number>> { return this.keys().countByValue(); }
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
  toString(): string { return this.name; }
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

// ---- RDD node types ------------------------------------------------------------------------

/** A narrow, element-wise operation, pipelined with its parent. */
export class PipeRDD<T, U> extends RDD<U> {
  override readonly partitioner: Partitioner | undefined;
  readonly numPartitions: number;
  constructor(readonly parent: RDD<T>, private readonly op: (emit: Emit<U>) => Emit<T>, preservesPartitioning: boolean) {
    super(parent.scope, [new NarrowDependency(parent as RDD<unknown>)]);
    this.numPartitions = parent.numPartitions;
    this.partitioner = preservesPartitioning ? parent.partitioner : undefined;
  }
  run(p: number, tc: TaskContext, emit: Emit<U>): Promise<void> { return this.parent.run(p, tc, this.op(emit)); }
}

/** A narrow operation that needs the whole partition (mapPartitions, glom). */
export class BufferedRDD<T, U> extends RDD<U> {
  override readonly partitioner: Partitioner | undefined;
  readonly numPartitions: number;
  constructor(readonly parent: RDD<T>, private readonly f: (items: T[], p: number) => Iterable<U>, preservesPartitioning: boolean) {
    super(parent.scope, [new NarrowDependency(parent as RDD<unknown>)]);
    this.numPartitions = parent.numPartitions;
    this.partitioner = preservesPartitioning ? parent.partitioner : undefined;
  }
  async run(p: number, tc: TaskContext, emit: Emit<U>): Promise<void> {
    const items: T[] = [];
    await this.parent.run(p, tc, (x) => { items.push(x); });
    for (const y of this.f(items, p)) emit(y);
  }
}

/** Local data cut into contiguous slices, with Spark's `parallelize` slice bounds. */
export class ParallelRDD<T> extends RDD<T> {
  constructor(scope: RDDScope, readonly data: readonly T[], readonly numPartitions: number) {
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
  run(p: number, tc: TaskContext, emit: Emit<T>): Promise<void> { return this.read(p, tc, emit, this); }
}

export class UnionRDD<T> extends RDD<T> {
  readonly numPartitions: number;
  private readonly offsets: number[] = [];
  constructor(scope: RDDScope, readonly parents: RDD<T>[]) {
    super(scope, parents.map((r) => new NarrowDependency(r as RDD<unknown>)));
    let n = 0;
    for (const r of parents) { this.offsets.push(n); n += r.numPartitions; }
    this.numPartitions = n;
  }
  run(p: number, tc: TaskContext, emit: Emit<T>): Promise<void> {
    let i = this.parents.length - 1;
    while (this.offsets[i]! > p) i--;
    return this.parents[i]!.run(p - this.offsets[i]!, tc, emit);
  }
}

/** The union of RDDs that share a partitioner: partition p is every parent's partition p, in parent order. */
export class PartitionerAwareUnionRDD<T> extends RDD<T> {
  readonly numPartitions: number;
  override readonly partitioner: Partitioner;
  constructor(scope: RDDScope, readonly parents: RDD<T>[], partitioner: Partitioner) {
    super(scope, parents.map((r) => new NarrowDependency(r as RDD<unknown>)));
    this.partitioner = partitioner;
    this.numPartitions = partitioner.numPartitions;
  }
  async run(p: number, tc: TaskContext, emit: Emit<T>): Promise<void> {
    for (const r of this.parents) await r.run(p, tc, emit);
  }
}

/** Merges neighbouring partitions without a shuffle. */
export class CoalescedRDD<T> extends RDD<T> {
  constructor(readonly parent: RDD<T>, readonly numPartitions: number) {
    super(parent.scope, [new NarrowDependency(parent as RDD<unknown>)]);
  }
  async run(p: number, tc: TaskContext, emit: Emit<T>): Promise<void> {
    const [start, end] = sliceBounds(this.parent.numPartitions, this.numPartitions, p);
    for (let i = start; i < end; i++) await this.parent.run(i, tc, emit);
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
      for (const chunk of chunks) for (const kc of chunk) {
        const id = keyId(kc[0]);
        const e = m.get(id);
        if (e) e[1] = merge(e[1], kc[1] as C);
        else m.set(id, [kc[0], kc[1] as C]);
      }
    } else {
      const { createCombiner, mergeValue } = agg;
      for (const chunk of chunks) for (const kv of chunk) {
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
      r.numPartitions === 0 ? null
        : partitioner.equals(r.partitioner) ? r
        : new ShuffleDependency<K, unknown, unknown>(`shuffle-${this.id}-${i}`, r, partitioner));
    for (const s of this.sources) {
      if (s) this.deps.push(s instanceof RDD ? new NarrowDependency(s as RDD<unknown>) : (s as unknown as Dependency));
    }
    this.partitioner = partitioner;
    this.numPartitions = partitioner.numPartitions;
  }
  /** The pairs parent `i` contributes to partition `p`, ungrouped (read narrowly or from its shuffle). */
  async runParent(i: number, p: number, tc: TaskContext, emit: Emit<Pair<K, unknown>>): Promise<void> {
    const s = this.sources[i];
    if (!s) return;
    if (s instanceof RDD) await s.run(p, tc, emit);
    else for (const chunk of await tc.readShuffle(s as unknown as ShuffleDependency<unknown, unknown, unknown>, p)) for (const kv of chunk) emit(kv as Pair<K, unknown>);
  }
  async run(p: number, tc: TaskContext, emit: Emit<[K, unknown[][]]>): Promise<void> {
    const n = this.sources.length;
    const groups = new Map<KeyId, [K, unknown[][]]>();
    for (let i = 0; i < n; i++) {
      const add = (kv: Pair<K, unknown>) => {
        const id = keyId(kv[0]);
        let e = groups.get(id);
        if (!e) { e = [kv[0], Array.from({ length: n }, () => [])]; groups.set(id, e); }
        e[1][i]!.push(kv[1]);
      };
      const s = this.sources[i]!;
      if (s === null) continue;
      if (s instanceof RDD) await s.run(p, tc, add);
      else for (const chunk of await tc.readShuffle(s as unknown as ShuffleDependency<unknown, unknown, unknown>, p)) for (const kv of chunk) add(kv as Pair<K, unknown>);
    }
    for (const e of groups.values()) emit(e);
  }
}
