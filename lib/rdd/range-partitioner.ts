/**
 * Spark's RangePartitioner: the partitioner of `sortByKey` and `sortBy`.
 *
 * Partition i holds the keys between bound i - 1 (exclusive) and bound i
 * (inclusive), so concatenating the partitions, each sorted, gives the sorted
 * RDD. The bounds come from a sketch of the keys: a reservoir sample of each
 * parent partition, with its element count (Spark's `RangePartitioner.sketch`).
 *
 * Spark's driver runs the sketch as a job of its own when the partitioner is
 * created. Here the sketch is a stage of its own, planned before the sort's
 * shuffle (see `RDD.sortByKey`): each map task of the shuffle reads every
 * partition's sketch and computes the same bounds from it before it buckets
 * anything. The samples are drawn with a seed fixed by the RDD, so every run
 * of every task finds the same bounds.
 */
import { IllegalStateError } from "../core/errors.js";
import type { Partitioner } from "../core/keys.js";
import type { TaskContext } from "./scope.js";

/** One parent partition's part of the sketch: how many keys it has, and a uniform sample of them. */
export interface KeySketch<K> {
  readonly partition: number;
  readonly count: number;
  readonly sample: K[];
}

/** Sample points per output partition, as Spark's `samplePointsPerPartitionHint`. */
const SAMPLE_POINTS_PER_PARTITION = 20;

/**
 * Spark's sample sizes: about 20 keys per output partition, at most a million, over-sampled 3 times
 * and spread over the parent's partitions.
 */
export function sketchSizes(partitions: number, parentPartitions: number): { sampleSize: number; perPartition: number } {
  const sampleSize = Math.min(SAMPLE_POINTS_PER_PARTITION * partitions, 1e6);
  return { sampleSize, perPartition: Math.ceil((3 * sampleSize) / Math.max(parentPartitions, 1)) };
}

/**
 * Spark's RangePartitioner.determineBounds: walks the weighted candidates in key order and places a
 * bound every `sum of weights / partitions`, skipping duplicate keys. Returns at most partitions - 1
 * bounds.
 */
export function determineBounds<K>(candidates: [K, number][], partitions: number, compare: (a: K, b: K) => number): K[] {
  const ordered = [...candidates].sort((a, b) => compare(a[0], b[0]));
  let sumWeights = 0;
  for (const c of ordered) sumWeights += c[1];
  const step = sumWeights / partitions;
  let cumWeight = 0;
  let target = step;
  const bounds: K[] = [];
  let j = 0;
  let hasPrevious = false;
  let previous: K | undefined;
  for (let i = 0; i < ordered.length && j < partitions - 1; i++) {
    const [key, weight] = ordered[i]!;
    cumWeight += weight;
    if (cumWeight >= target && (!hasPrevious || compare(key, previous as K) > 0)) {
      bounds.push(key);
      target += step;
      j++;
      previous = key;
      hasPrevious = true;
    }
  }
  return bounds;
}

/**
 * The bounds for `partitions` output partitions from every parent partition's sketch. Each sampled
 * key weighs its partition's count over its sample size (one over its sampling probability).
 * Spark also re-samples a partition much larger than the average; here its sample keeps the larger
 * weight instead, so the bounds stay correct and only the balance may be a little worse.
 */
export function boundsFromSketches<K>(sketches: readonly KeySketch<K>[], partitions: number, compare: (a: K, b: K) => number): K[] {
  const candidates: [K, number][] = [];
  for (const s of sketches) {
    if (s.sample.length === 0) continue;
    // Spark keeps the weight as a Float.
    const weight = Math.fround(s.count / s.sample.length);
    for (const k of s.sample) candidates.push([k, weight]);
  }
  if (candidates.length === 0) return [];
  return determineBounds(candidates, Math.min(partitions, candidates.length), compare);
}

export class RangePartitioner<K = unknown> implements Partitioner {
  private bounds: K[] | undefined;
  private preparing: Promise<void> | undefined;

  /**
   * @param numPartitions the partitions of the sorted RDD. Unlike Spark's, where there are only as
   *   many partitions as the sketch finds distinct bounds for (plus one), the count is fixed when the
   *   batch is planned, before any key is seen: the partitions past the last bound stay empty.
   * @param readSketches reads every parent partition's sketch, from map task `m`'s point of view;
   *   absent when there is nothing to sample (one partition, or an empty parent): every key goes to
   *   partition 0.
   */
  constructor(
    readonly numPartitions: number,
    readonly ascending: boolean,
    private readonly compare: (a: K, b: K) => number,
    private readonly readSketches?: (tc: TaskContext, mapPartition: number) => Promise<KeySketch<K>[]>,
  ) {
    if (!readSketches || numPartitions <= 1) this.bounds = [];
  }

  /** Computes the bounds (once per process) before map task `mapPartition` buckets its keys. */
  prepare(tc: TaskContext, mapPartition: number): Promise<void> {
    if (this.bounds) return Promise.resolve();
    this.preparing ??= (async () => {
      const sketches = await this.readSketches!(tc, mapPartition);
      this.bounds = boundsFromSketches(sketches, this.numPartitions, this.compare);
    })().catch((e: unknown) => {
      this.preparing = undefined;
      throw e;
    });
    return this.preparing;
  }

  /** The range bounds, once prepared. */
  get rangeBounds(): readonly K[] | undefined {
    return this.bounds;
  }

  getPartition(key: unknown): number {
    const bounds = this.bounds;
    if (!bounds)
      throw new IllegalStateError("RangePartitioner.getPartition called before its bounds were computed: a shuffle must call prepare() first.");
    // The first bound >= key (binary search; Spark searches linearly below 128 bounds, with the same result).
    let lo = 0;
    let hi = bounds.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.compare(key as K, bounds[mid]!) > 0) lo = mid + 1;
      else hi = mid;
    }
    return this.ascending ? lo : bounds.length - lo;
  }

  /** Equal only to itself: its bounds are not known when the batch is planned. */
  equals(other: Partitioner | undefined): boolean {
    return other === this;
  }
}
