/**
 * Statistics over RDDs of numbers: Spark's StatCounter and the bucket
 * lookups of DoubleRDDFunctions.histogram.
 */
import { InvalidArgumentError } from "../core/errors.js";

/**
 * Spark's StatCounter: count, mean and variance of a set of numbers, kept in a
 * numerically robust way (Welford's update, Chan's merge), and mergeable, so
 * each partition computes its own and the results are merged. Field names are
 * Spark's; they are getters, as Scala's parameterless methods are.
 */
export class StatCounter {
  private n = 0;
  private mu = 0;
  /** The sum of squared deviations from the mean. */
  private m2 = 0;
  private maxValue = Number.NEGATIVE_INFINITY;
  private minValue = Number.POSITIVE_INFINITY;

  constructor(values: Iterable<number> = []) {
    for (const v of values) this.merge(v);
  }

  /** Adds a value, or merges another StatCounter into this one. Returns this. */
  merge(value: number | StatCounter): this {
    if (value instanceof StatCounter) return this.mergeStats(value);
    const delta = value - this.mu;
    this.n += 1;
    this.mu += delta / this.n;
    this.m2 += delta * (value - this.mu);
    this.maxValue = Math.max(this.maxValue, value);
    this.minValue = Math.min(this.minValue, value);
    return this;
  }

  private mergeStats(other: StatCounter): this {
    if (other === this) return this.mergeStats(other.copy());
    if (this.n === 0) {
      this.mu = other.mu;
      this.m2 = other.m2;
      this.n = other.n;
      this.maxValue = other.maxValue;
      this.minValue = other.minValue;
    } else if (other.n !== 0) {
      const delta = other.mu - this.mu;
      const n = this.n;
      const m = other.n;
      // Spark's choice of formula keeps precision when one side is much larger than the other.
      if (m * 10 < n) this.mu = this.mu + (delta * m) / (n + m);
      else if (n * 10 < m) this.mu = other.mu - (delta * n) / (n + m);
      else this.mu = (this.mu * n + other.mu * m) / (n + m);
      this.m2 += other.m2 + (delta * delta * n * m) / (n + m);
      this.n += m;
      this.maxValue = Math.max(this.maxValue, other.maxValue);
      this.minValue = Math.min(this.minValue, other.minValue);
    }
    return this;
  }

  copy(): StatCounter {
    const c = new StatCounter();
    c.n = this.n;
    c.mu = this.mu;
    c.m2 = this.m2;
    c.maxValue = this.maxValue;
    c.minValue = this.minValue;
    return c;
  }

  get count(): number {
    return this.n;
  }
  /** 0 when empty, as Spark's. */
  get mean(): number {
    return this.mu;
  }
  get sum(): number {
    return this.n * this.mu;
  }
  /** -Infinity when empty. */
  get max(): number {
    return this.maxValue;
  }
  /** Infinity when empty. */
  get min(): number {
    return this.minValue;
  }
  /** The population variance (divides by N); NaN when empty. */
  get variance(): number {
    return this.popVariance;
  }
  get popVariance(): number {
    return this.n === 0 ? Number.NaN : this.m2 / this.n;
  }
  /** The sample variance (divides by N - 1); NaN for fewer than 2 values. */
  get sampleVariance(): number {
    return this.n <= 1 ? Number.NaN : this.m2 / (this.n - 1);
  }
  /** The population standard deviation. */
  get stdev(): number {
    return this.popStdev;
  }
  get popStdev(): number {
    return Math.sqrt(this.popVariance);
  }
  get sampleStdev(): number {
    return Math.sqrt(this.sampleVariance);
  }

  /** Spark's format: `(count: 3, mean: 2.000000, stdev: 0.816497, max: 3.000000, min: 1.000000)`. */
  toString(): string {
    const f = (x: number) => (Number.isFinite(x) ? x.toFixed(6) : Number.isNaN(x) ? "NaN" : x > 0 ? "Infinity" : "-Infinity");
    return `(count: ${this.n}, mean: ${f(this.mean)}, stdev: ${f(this.stdev)}, max: ${f(this.max)}, min: ${f(this.min)})`;
  }

  /** The fields as a plain object (PySpark's `asDict`, with Spark's population variance and stdev). */
  toJSON(): Record<string, number> {
    return {
      count: this.count,
      mean: this.mean,
      sum: this.sum,
      min: this.min,
      max: this.max,
      variance: this.variance,
      sampleVariance: this.sampleVariance,
      stdev: this.stdev,
      sampleStdev: this.sampleStdev,
    };
  }
}

/** Java's Double.compare: -0 before +0, NaN after everything and equal to itself. */
function compareDouble(a: number, b: number): number {
  if (a < b) return -1;
  if (a > b) return 1;
  const an = Number.isNaN(a);
  const bn = Number.isNaN(b);
  if (an || bn) return an === bn ? 0 : an ? 1 : -1;
  const az = Object.is(a, -0);
  const bz = Object.is(b, -0);
  return az === bz ? 0 : az ? -1 : 1;
}

/** java.util.Arrays.binarySearch(double[], key): the index of a match, or -(insertion point) - 1. */
function binarySearch(arr: readonly number[], key: number): number {
  let lo = 0;
  let hi = arr.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareDouble(arr[mid]!, key);
    if (c < 0) lo = mid + 1;
    else if (c > 0) hi = mid - 1;
    else return mid;
  }
  return -(lo + 1);
}

/** Checks a bucket array as Spark does: at least two boundaries. */
export function requireBuckets(buckets: unknown): number[] {
  if (!Array.isArray(buckets) || buckets.length < 2 || !buckets.every((b) => typeof b === "number")) {
    throw new InvalidArgumentError(
      `Expected \`buckets\` to be a sorted array of at least two numbers, got \`${Array.isArray(buckets) ? `[${buckets.join(", ")}]` : String(buckets)}\`. Pass a bucket count instead to have evenly spaced buckets computed.`,
    );
  }
  return buckets as number[];
}

/**
 * The bucket of `e`, or -1 for none, as Spark's DoubleRDDFunctions.histogram: buckets are open on the
 * right except the last, which is closed (`[1, 10) [10, 20) [20, 50]`). With `evenBuckets`, the
 * constant-time lookup for evenly spaced buckets; otherwise a binary search, in which a NaN last
 * boundary collects the NaN elements.
 */
export function bucketFunction(buckets: readonly number[], evenBuckets: boolean): (e: number) => number {
  if (evenBuckets) {
    const min = buckets[0]!;
    const max = buckets[buckets.length - 1]!;
    const count = buckets.length - 1;
    return (e) => {
      if (Number.isNaN(e) || e < min || e > max) return -1;
      // Scala's Double.toInt: NaN (max == min) is 0, and the ratio is >= 0 here so truncation is floor.
      const ratio = ((e - min) / (max - min)) * count;
      const bucket = Number.isNaN(ratio) ? 0 : Math.floor(ratio);
      // e == max lands in the last, closed, bucket.
      return Math.min(bucket, count - 1);
    };
  }
  return (e) => {
    const location = binarySearch(buckets, e);
    if (location < 0) {
      const insertionPoint = -location - 1;
      return insertionPoint > 0 && insertionPoint < buckets.length ? insertionPoint - 1 : -1;
    }
    return location < buckets.length - 1 ? location : location - 1;
  };
}

/**
 * Spark's evenly spaced boundaries for `histogram(bucketCount)`: `min + (s * span) / steps` for each
 * step, then `max`, or `[min, min]` when every element is equal.
 */
export function evenBuckets(min: number, max: number, bucketCount: number): number[] {
  if (min === max) return [min, min];
  const span = max - min;
  const out: number[] = [];
  for (let s = 0; s < bucketCount; s++) out.push(min + (s * span) / bucketCount);
  out.push(max);
  return out;
}
