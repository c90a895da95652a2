/**
 * Seeded randomness for the RDD operations that sample: `sample`,
 * `takeSample`, `randomSplit` and the range partitioner's sketch of keys.
 *
 * Sampling must be a function of its seed. A batch's tasks run again (a
 * retried task, a coordinator that recovers and recomputes a batch from its
 * lineage, a worker that plans the batch again), and every run must pick the
 * same elements, or a rerun batch would give a different output and a window
 * would mix two different samples of one batch. So every draw comes from
 * `SeededRandom`, a xoshiro128** generator seeded through SplitMix32, never
 * from `Math.random()`. The sequences are not bit-identical to Spark's
 * `XORShiftRandom`: the same seed selects a different (equally random) sample
 * than Spark would, and tests check properties, not Spark's exact picks.
 *
 * The samplers follow Spark's `RandomSampler`s: Bernoulli (each element with
 * probability `fraction`), Poisson (each element `Poisson(fraction)` times),
 * and the Bernoulli cell sampler of `randomSplit` (an element lands in the
 * split whose range holds its draw).
 */
import { InvalidArgumentError, describe } from "../core/errors.js";

/** A 32-bit avalanche (MurmurHash3's finalizer). */
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The low and high 32-bit words of an integer seed up to 2^53 in magnitude (negatives wrap as in two's complement). */
function words(n: number): [number, number] {
  const i = Math.trunc(n);
  return [i >>> 0, Math.floor(i / 2 ** 32) >>> 0];
}

/** Java's String.hashCode, to turn a name into a seed part. */
export function stringSeed(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/**
 * A seed made of several integers (a seed and a partition index, a batch time and an RDD's
 * position), as a non-negative integer below 2^53. Equal parts give equal seeds in every process.
 */
export function mixSeed(...parts: readonly number[]): number {
  let a = 0x9e3779b9;
  let b = 0x7f4a7c15;
  for (const p of parts) {
    const [lo, hi] = words(p);
    a = fmix32(a ^ lo);
    b = fmix32(b ^ hi ^ a);
    a = fmix32(a + Math.imul(b, 0x27d4eb2d));
  }
  return (a >>> 0) * 2 ** 21 + (b >>> 11);
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * A deterministic pseudo-random generator (xoshiro128**). Not Spark's XORShiftRandom: the same
 * seed gives a different sequence than in Spark.
 */
export class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    if (typeof seed !== "number" || !Number.isFinite(seed)) {
      throw new InvalidArgumentError(`Expected \`seed\` to be a finite number, got \`${describe(seed)}\`.`);
    }
    const [lo, hi] = words(seed);
    // SplitMix32 over the seed's two words fills the state; an all-zero state cannot occur in practice but is guarded.
    let s = fmix32(lo ^ 0x6a09e667) ^ fmix32(hi ^ 0xbb67ae85);
    const next = () => {
      s = (s + 0x9e3779b9) | 0;
      return fmix32(s);
    };
    this.a = next();
    this.b = next();
    this.c = next();
    this.d = next();
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** A uniform double in [0, 1), with 53 random bits. */
  nextDouble(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A uniform integer in [0, bound). */
  nextInt(bound: number): number {
    return Math.floor(this.nextDouble() * bound);
  }

  /** A draw of Poisson(mean): Knuth's method, in steps of at most 30 so that e^-mean stays well above 0. */
  nextPoisson(mean: number): number {
    let k = 0;
    for (let remaining = mean; remaining > 0; remaining -= 30) {
      const limit = Math.exp(-Math.min(remaining, 30));
      let p = this.nextDouble();
      while (p > limit) {
        k++;
        p *= this.nextDouble();
      }
    }
    return k;
  }
}

/** Spark's `sample` argument checks: a fraction >= 0, and at most 1 without replacement. */
export function requireFraction(withReplacement: boolean, fraction: unknown): number {
  if (typeof fraction !== "number" || Number.isNaN(fraction) || fraction < 0) {
    throw new InvalidArgumentError(`Expected \`fraction\` to be a number >= 0, got \`${describe(fraction)}\`.`);
  }
  if (!withReplacement && fraction > 1) {
    throw new InvalidArgumentError(
      `Expected \`fraction\` to be in [0, 1] when sampling without replacement, got ${fraction}. Use sample(true, fraction) to draw elements more than once.`,
    );
  }
  return fraction;
}

/** Passes an element on zero or more times. */
export type ElementSampler = <T>(x: T, emit: (x: T) => void) => void;

/**
 * One partition's sampler: without replacement each element is kept with probability `fraction`
 * (Spark's BernoulliSampler); with replacement each is emitted Poisson(`fraction`) times (Spark's
 * PoissonSampler). Element order is kept.
 */
export function elementSampler(withReplacement: boolean, fraction: number, rng: SeededRandom): ElementSampler {
  if (fraction <= 0) return () => undefined;
  if (!withReplacement) {
    if (fraction >= 1) return (x, emit) => emit(x);
    return (x, emit) => {
      if (rng.nextDouble() < fraction) emit(x);
    };
  }
  return (x, emit) => {
    for (let n = rng.nextPoisson(fraction); n > 0; n--) emit(x);
  };
}

/**
 * Spark's SamplingUtils.reservoirSampleAndCount: a uniform sample of at most `k` elements, and how
 * many elements there were.
 */
export class Reservoir<T> {
  readonly sample: T[] = [];
  count = 0;
  constructor(
    private readonly k: number,
    private readonly rng: SeededRandom,
  ) {}
  add(x: T): void {
    this.count++;
    if (this.sample.length < this.k) {
      this.sample.push(x);
      return;
    }
    // The count-th element replaces a reservoir slot with probability k / count.
    const i = Math.floor(this.rng.nextDouble() * this.count);
    if (i < this.k) this.sample[i] = x;
  }
}

/** Spark's Utils.randomizeInPlace: a Fisher–Yates shuffle from the end. */
export function randomizeInPlace<T>(arr: T[], rng: SeededRandom): T[] {
  for (let i = arr.length - 1; i >= 1; i--) {
    const j = rng.nextInt(i + 1);
    const t = arr[j]!;
    arr[j] = arr[i]!;
    arr[i] = t;
  }
  return arr;
}

/**
 * Spark's SamplingUtils.computeFractionForSampleSize: a sampling rate that yields at least `num`
 * of `total` elements with high probability (PoissonBounds with replacement, BinomialBounds with
 * delta 1e-4 without).
 */
export function computeFractionForSampleSize(num: number, total: number, withReplacement: boolean): number {
  if (withReplacement) {
    const numStd = num < 6 ? 12 : num < 16 ? 9 : 6;
    return Math.max(num + numStd * Math.sqrt(num), 1e-10) / total;
  }
  const fraction = num / total;
  const gamma = -Math.log(1e-4) / total;
  return Math.min(1, Math.max(1e-10, fraction + gamma + Math.sqrt(gamma * gamma + 2 * gamma * fraction)));
}
