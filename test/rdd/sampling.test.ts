// sample, takeSample and randomSplit, ported from Apache Spark's RDDSuite.scala ("takeSample",
// "takeSample from an empty rdd", "randomSplit") and PartitionwiseSampledRDDSuite. Spark's tests check
// properties (sizes, ranges, distinctness), since the picks depend on the generator; ours is not
// Spark's XORShiftRandom, so the same properties are what can be checked. The takeSample data set is
// 1 to 10,000 instead of Spark's 1 to 1,000,000, to keep the test fast; the checks are the same.

import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../lib/index.js";
import { sparkContext, until } from "./helpers.js";

const distinct = <T>(xs: readonly T[]) => new Set(xs).size;

describe("RDD.sample", () => {
  it("without replacement: a subset in order, about fraction × n, the same for the same seed", async () => {
    const sc = sparkContext();
    const data = sc.parallelize(until(1, 1001), 4);
    const a = await data.sample(false, 0.3, 42).collect();
    expect(a.length).toBeGreaterThan(300 - 60); // sd ≈ 14.5
    expect(a.length).toBeLessThan(300 + 60);
    expect(distinct(a)).toBe(a.length);
    expect([...a].sort((x, y) => x - y)).toEqual(a); // order kept within and across partitions
    expect(await data.sample(false, 0.3, 42).collect()).toEqual(a);
    expect(await data.sample(false, 0.3, 43).collect()).not.toEqual(a);
  });

  it("fraction 0 gives nothing and 1 gives everything without replacement", async () => {
    const sc = sparkContext();
    const data = sc.parallelize(until(1, 101), 3);
    expect(await data.sample(false, 0, 1).collect()).toEqual([]);
    expect(await data.sample(false, 1, 1).collect()).toEqual(until(1, 101));
  });

  it("with replacement: elements repeat, about fraction × n in all (Poisson)", async () => {
    const sc = sparkContext();
    const data = sc.parallelize(until(1, 1001), 2);
    const s = await data.sample(true, 2.0, 7).collect();
    expect(s.length).toBeGreaterThan(2000 - 200); // sd ≈ 45
    expect(s.length).toBeLessThan(2000 + 200);
    expect(distinct(s)).toBeLessThan(s.length);
    expect(s.every((x) => x >= 1 && x <= 1000)).toBe(true);
  });

  it("Spark's argument checks: fraction >= 0, and <= 1 without replacement", () => {
    const sc = sparkContext();
    const data = sc.parallelize([1, 2, 3]);
    expect(() => data.sample(false, -0.1)).toThrow(InvalidArgumentError);
    expect(() => data.sample(false, 1.5)).toThrow(/\[0, 1\] when sampling without replacement, got 1.5/);
    expect(() => data.sample(true, 1.5)).not.toThrow();
  });

  it("without a seed, the sample derives from the batch and the RDD's place: the same plan gives the same sample, another batch another", async () => {
    const build = (batchTime: number) => sparkContext({ batchTime }).parallelize(until(1, 1001), 4).sample(false, 0.5);
    const a = await build(1000).collect();
    expect(await build(1000).collect()).toEqual(a);
    expect(await build(2000).collect()).not.toEqual(a);
  });
});

describe("RDD.takeSample (RDDSuite: takeSample)", () => {
  const n = 10_000;
  const data = () => sparkContext().parallelize(until(1, n + 1), 2);
  const inRange = (xs: number[]) => xs.every((x) => x >= 1 && x <= n);

  it("without replacement: exactly num distinct elements in [1, n]", async () => {
    const d = data();
    for (const num of [5, 20, 100]) {
      const sample = await d.takeSample(false, num);
      expect(sample.length).toBe(num);
      expect(distinct(sample)).toBe(num);
      expect(inRange(sample)).toBe(true);
    }
    for (let seed = 1; seed <= 5; seed++) {
      const sample = await d.takeSample(false, 20, seed);
      expect(sample.length).toBe(20);
      expect(distinct(sample)).toBe(20);
      expect(inRange(sample)).toBe(true);
      expect(await d.takeSample(false, 20, seed)).toEqual(sample);
    }
  });

  it("with replacement: exactly num elements, and fewer distinct than n when num >= n", async () => {
    const d = data();
    for (let seed = 1; seed <= 5; seed++) {
      const sample = await d.takeSample(true, 20, seed);
      expect(sample.length).toBe(20);
      expect(inRange(sample)).toBe(true);
    }
    const all = await d.takeSample(true, n);
    expect(all.length).toBe(n);
    expect(distinct(all)).toBeLessThan(n);
    const twice = await d.takeSample(true, 2 * n, 3);
    expect(twice.length).toBe(2 * n);
    expect(distinct(twice)).toBeLessThan(n);
  });

  it("without replacement and num >= count: every element, shuffled", async () => {
    const sc = sparkContext();
    const s = await sc.parallelize(until(1, 51), 3).takeSample(false, 100, 9);
    expect(s.length).toBe(50);
    expect([...s].sort((x, y) => x - y)).toEqual(until(1, 51));
    expect(s).not.toEqual(until(1, 51));
  });

  it("RDDSuite: takeSample from an empty rdd, and num = 0", async () => {
    const sc = sparkContext();
    expect(await sc.emptyRDD<number>().takeSample(false, 20, 1)).toEqual([]);
    expect(await sc.parallelize<number>([], 2).takeSample(true, 20, 1)).toEqual([]);
    expect(await sc.parallelize([1, 2, 3]).takeSample(false, 0)).toEqual([]);
    await expect(sc.parallelize([1, 2, 3]).takeSample(false, -1)).rejects.toThrow(/`num` to be a whole number >= 0/);
  });
});

describe("RDD.randomSplit (RDDSuite: randomSplit)", () => {
  it("600 elements split 1:2:3, for seeds 1 to 5: complete, disjoint, sizes within 50 of 100/200/300", async () => {
    const sc = sparkContext();
    const data = sc.parallelize(until(1, 601), 2);
    for (let seed = 1; seed <= 5; seed++) {
      const splits = data.randomSplit([1.0, 2.0, 3.0], seed);
      expect(splits.length).toBe(3);
      const parts = await Promise.all(splits.map((s) => s.collect()));
      expect(parts.flat().sort((x, y) => x - y)).toEqual(until(1, 601));
      const sizes = parts.map((p) => p.length);
      expect(Math.abs(sizes[0]! - 100)).toBeLessThan(50);
      expect(Math.abs(sizes[1]! - 200)).toBeLessThan(50);
      expect(Math.abs(sizes[2]! - 300)).toBeLessThan(50);
    }
  });

  it("without a seed the splits still partition the data; weights must be >= 0 with a positive sum", async () => {
    const sc = sparkContext();
    const data = sc.parallelize(until(0, 100), 3);
    const [a, b] = data.randomSplit([0.5, 0.5]);
    const all = [...(await a!.collect()), ...(await b!.collect())].sort((x, y) => x - y);
    expect(all).toEqual(until(0, 100));
    expect(() => data.randomSplit([1, -1])).toThrow(/non-negative/);
    expect(() => data.randomSplit([0, 0])).toThrow(/sum of `weights` to be positive/);
  });
});
