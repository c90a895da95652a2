// Statistics and histograms of RDDs of numbers, ported from Apache Spark's
// core/src/test/scala/org/apache/spark/rdd/DoubleRDDSuite.scala (every histogram test, inputs and
// expected values as in Spark since SPARK-6480 fixed the evenly spaced lookup) and JavaAPISuite's javaDoubleRDD / javaDoubleRDDHistoGram (stats).
// Spark's `histogram(buckets)` and `histogram(buckets, true)` are the binary-search and the
// evenly-spaced lookups; both are checked where Spark checks both.

import { describe, expect, it } from "vitest";
import { InvalidArgumentError, StatCounter } from "../../lib/index.js";
import { sparkContext, until } from "./helpers.js";

const NaN_ = Number.NaN;
const Inf = Number.POSITIVE_INFINITY;

describe("DoubleRDDSuite: histogram with given buckets", () => {
  const sc = sparkContext();
  const both = async (data: number[], buckets: number[], expected: number[]) => {
    const rdd = sc.parallelize(data);
    expect(await rdd.histogram(buckets)).toEqual(expected);
    expect(await rdd.histogram(buckets, true)).toEqual(expected);
  };

  it("WorksOnEmpty", async () => {
    await both([], [0.0, 10.0], [0]);
    expect(await sc.emptyRDD<number>().histogram([0.0, 10.0])).toEqual([0]);
    expect(await sc.emptyRDD<number>().histogram([0.0, 10.0], true)).toEqual([0]);
  });
  it("WorksWithOutOfRangeWithOneBucket", () => both([10.01, -0.01], [0.0, 10.0], [0]));
  it("WorksInRangeWithOneBucket", () => both([1, 2, 3, 4], [0.0, 10.0], [4]));
  it("WorksInRangeWithOneBucketExactMatch", () => both([1, 2, 3, 4], [1.0, 4.0], [4]));
  it("WorksWithOutOfRangeWithTwoBuckets", () => both([10.01, -0.01], [0.0, 5.0, 10.0], [0, 0]));
  it("WorksWithOutOfRangeWithTwoUnEvenBuckets", async () => {
    expect(await sc.parallelize([10.01, -0.01]).histogram([0.0, 4.0, 10.0])).toEqual([0, 0]);
  });
  it("WorksInRangeWithTwoBuckets", () => both([1, 2, 3, 5, 6], [0.0, 5.0, 10.0], [3, 2]));
  it("WorksInRangeWithTwoBucketsAndNaN", () => both([1, 2, 3, 5, 6, NaN_], [0.0, 5.0, 10.0], [3, 2]));
  it("WorksInRangeWithTwoUnevenBuckets", async () => {
    expect(await sc.parallelize([1, 2, 3, 5, 6]).histogram([0.0, 5.0, 11.0])).toEqual([3, 2]);
  });
  it("WorksMixedRangeWithTwoUnevenBuckets", async () => {
    expect(await sc.parallelize([-0.01, 0.0, 1, 2, 3, 5, 6, 11.0, 11.01]).histogram([0.0, 5.0, 11.0])).toEqual([4, 3]);
  });
  it("WorksMixedRangeWithFourUnevenBuckets", async () => {
    const rdd = sc.parallelize([-0.01, 0.0, 1, 2, 3, 5, 6, 11.01, 12.0, 199.0, 200.0, 200.1]);
    expect(await rdd.histogram([0.0, 5.0, 11.0, 12.0, 200.0])).toEqual([4, 2, 1, 3]);
  });
  it("WorksMixedRangeWithUnevenBucketsAndNaN", async () => {
    const rdd = sc.parallelize([-0.01, 0.0, 1, 2, 3, 5, 6, 11.01, 12.0, 199.0, 200.0, 200.1, NaN_]);
    expect(await rdd.histogram([0.0, 5.0, 11.0, 12.0, 200.0])).toEqual([4, 2, 1, 3]);
  });
  it("WorksMixedRangeWithUnevenBucketsAndNaNAndNaNRange (a NaN last boundary collects the NaNs)", async () => {
    const rdd = sc.parallelize([-0.01, 0.0, 1, 2, 3, 5, 6, 11.01, 12.0, 199.0, 200.0, 200.1, NaN_]);
    expect(await rdd.histogram([0.0, 5.0, 11.0, 12.0, 200.0, NaN_])).toEqual([4, 2, 1, 2, 3]);
  });
  it("WorksMixedRangeWithUnevenBucketsAndNaNAndNaNRangeAndInfity", async () => {
    const rdd = sc.parallelize([-0.01, 0.0, 1, 2, 3, 5, 6, 11.01, 12.0, 199.0, 200.0, 200.1, Inf, -Inf, NaN_]);
    expect(await rdd.histogram([0.0, 5.0, 11.0, 12.0, 200.0, NaN_])).toEqual([4, 2, 1, 2, 4]);
  });
  it("WorksWithOutOfRangeWithInfiniteBuckets", async () => {
    expect(await sc.parallelize([10.01, -0.01, NaN_]).histogram([-Inf, 0.0, Inf])).toEqual([1, 1]);
  });
  it("ThrowsExceptionOnInvalidBucketArray", async () => {
    const rdd = sc.parallelize([1.0]);
    await expect(rdd.histogram([])).rejects.toThrow(InvalidArgumentError);
    await expect(rdd.histogram([1.0])).rejects.toThrow(/at least two numbers/);
  });
});

describe("DoubleRDDSuite: histogram with a bucket count", () => {
  const sc = sparkContext();

  it("WorksWithoutBucketsBasic", async () => {
    expect(await sc.parallelize([1, 2, 3, 4]).histogram(1)).toEqual([[1.0, 4.0], [4]]);
  });
  it("WorksWithoutBucketsBasicSingleElement", async () => {
    expect(await sc.parallelize([1]).histogram(1)).toEqual([[1.0, 1.0], [1]]);
  });
  it("WorksWithoutBucketsBasicNoRange", async () => {
    expect(await sc.parallelize([1, 1, 1, 1]).histogram(1)).toEqual([[1.0, 1.0], [4]]);
  });
  it("WorksWithoutBucketsBasicTwo", async () => {
    expect(await sc.parallelize([1, 2, 3, 4]).histogram(2)).toEqual([
      [1.0, 2.5, 4.0],
      [2, 2],
    ]);
  });
  it("WorksWithoutBucketsWithMoreRequestedThanElements", async () => {
    expect(await sc.parallelize([1, 2]).histogram(10)).toEqual([
      [1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 2.0],
      [1, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    ]);
  });
  it("WorksWithoutBucketsForLargerDatasets", async () => {
    expect(await sc.parallelize(until(6, 100)).histogram(8)).toEqual([
      [6.0, 17.625, 29.25, 40.875, 52.5, 64.125, 75.75, 87.375, 99.0],
      [12, 12, 11, 12, 12, 11, 12, 12],
    ]);
  });
  it("WorksWithoutBucketsWithIrrationalBucketEdges (as corrected by SPARK-6480)", async () => {
    const [buckets, counts] = await sc.parallelize(until(6, 100)).histogram(9);
    expect(counts).toEqual([11, 10, 10, 11, 10, 10, 11, 10, 11]);
    expect(buckets[0]).toBe(6.0);
    expect(buckets[9]).toBe(99.0);
  });
  it("SPARK-6480: the last bucket includes the maximum", async () => {
    expect((await sc.parallelize([1, 1, 1, 2, 3, 3]).histogram(3))[1]).toEqual([3, 1, 2]);
  });
  it("ThrowsExceptionOnInvalidRDDs (infinity, NaN, empty)", async () => {
    await expect(sc.parallelize([1, Inf]).histogram(1)).rejects.toThrow(/empty RDD or an RDD containing \+\/-Infinity or NaN/);
    await expect(sc.parallelize([1, NaN_]).histogram(1)).rejects.toThrow(InvalidArgumentError);
    await expect(sc.parallelize<number>([]).histogram(1)).rejects.toThrow(InvalidArgumentError);
  });
  it("JavaAPISuite: javaDoubleRDDHistoGram", async () => {
    const rdd = sc.parallelize([1.0, 2.0, 3.0, 4.0]);
    expect(await rdd.histogram(2)).toEqual([
      [1.0, 2.5, 4.0],
      [2, 2],
    ]);
    expect(await rdd.histogram([1.0, 2.5, 4.0])).toEqual([2, 2]);
  });
});

describe("stats, mean, variance, stdev (JavaAPISuite: javaDoubleRDD)", () => {
  it("1, 1, 2, 3, 5, 8", async () => {
    const rdd = sparkContext().parallelize([1.0, 1.0, 2.0, 3.0, 5.0, 8.0], 2);
    expect(await rdd.sum()).toBeCloseTo(20.0, 2);
    expect(await rdd.mean()).toBeCloseTo(3.3333, 2);
    expect(await rdd.variance()).toBeCloseTo(6.22222, 2);
    expect(await rdd.sampleVariance()).toBeCloseTo(7.46667, 2);
    expect(await rdd.stdev()).toBeCloseTo(2.49444, 2);
    expect(await rdd.sampleStdev()).toBeCloseTo(2.73252, 2);
    const stats = await rdd.stats();
    expect(stats.count).toBe(6);
    expect(stats.variance).toBeCloseTo(6.22222, 2);
    expect(stats.popVariance).toBe(stats.variance);
    expect(stats.popStdev).toBe(stats.stdev);
    expect(stats.max).toBe(8);
    expect(stats.min).toBe(1);
    expect(stats.sum).toBeCloseTo(20.0, 10);
  });

  it("by hand: 1..4 over 3 partitions; StatCounter's toString is Spark's", async () => {
    const stats = await sparkContext().parallelize([1, 2, 3, 4], 3).stats();
    expect(stats.toJSON()).toEqual({
      count: 4,
      mean: 2.5,
      sum: 10,
      min: 1,
      max: 4,
      variance: 1.25,
      sampleVariance: 5 / 3,
      stdev: Math.sqrt(1.25),
      sampleStdev: Math.sqrt(5 / 3),
    });
    expect(String(await sparkContext().parallelize([1, 2, 3]).stats())).toBe(
      "(count: 3, mean: 2.000000, stdev: 0.816497, max: 3.000000, min: 1.000000)",
    );
  });

  it("an RDD with partitions and no elements: count 0, mean 0, NaN variance, as Spark's StatCounter; no partitions: throws", async () => {
    const sc = sparkContext();
    const stats = await sc.parallelize<number>([], 2).stats();
    expect([stats.count, stats.mean, stats.sum]).toEqual([0, 0, 0]);
    expect(stats.variance).toBeNaN();
    expect(stats.sampleVariance).toBeNaN();
    expect([stats.max, stats.min]).toEqual([-Inf, Inf]);
    await expect(sc.emptyRDD<number>().stats()).rejects.toThrow(InvalidArgumentError);
  });

  it("StatCounter merges like Spark's (merging partition counters equals one pass; a counter merged with itself doubles)", () => {
    const all = new StatCounter([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const merged = new StatCounter([1, 2, 3]).merge(new StatCounter([4, 5, 6, 7, 8, 9, 10]));
    expect(merged.count).toBe(10);
    expect(merged.mean).toBeCloseTo(5.5, 12);
    expect(merged.variance).toBeCloseTo(all.variance, 12);
    const self = new StatCounter([1, 3]);
    self.merge(self);
    expect([self.count, self.mean, self.variance]).toEqual([4, 2, 1]);
  });
});
