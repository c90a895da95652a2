// Narrow (per-partition) DStream operations, union, transform, and the
// composite count/reduce/countByValue, in Spark's TestSuiteBase style.
//
// Input slicing follows Spark's TestInputStream, which calls
// `ssc.sc.makeRDD(batch, numPartitions)`: ParallelCollectionRDD.slice puts
// elements [i*n/k, (i+1)*n/k) in partition i. With n = 7, k = 3 that is
// [1,2] [3,4] [5,6,7]; with n = 2, k = 3 it is [] [1] [2].
// Narrow operations (MappedDStream, FlatMappedDStream, FilteredDStream,
// MapPartitionedDStream, GlommedDStream) keep the partitions and their order,
// so collect() returns elements in input order: those are compared exactly.

import { describe, expect, it } from "vitest";
import { runBatches, Seconds, type DStream, type RDD } from "../../lib/index.js";
import { range, sortBatches, sorted } from "./helpers.js";

const run = <T>(inputs: unknown[][][], pipeline: (...s: DStream<any>[]) => DStream<T>, inputPartitions = 1, numBatches?: number) =>
  runBatches<T>({ batchInterval: Seconds(1), inputs, pipeline, inputPartitions, numBatches });

describe("narrow operations", () => {
  it("map, flatMap and filter keep the input order across 3 input partitions", async () => {
    const input = [range(1, 7), range(8, 10), []];
    const out = await run(
      [input],
      (s: DStream<number>) =>
        s
          .map((x) => x * 10)
          .flatMap((x) => (x % 20 === 0 ? [x, -x] : [x]))
          .filter((x) => x !== 30),
      3,
    );
    expect(out).toEqual([[10, 20, -20, 40, -40, 50, 60, -60, 70], [80, -80, 90, 100, -100], []]);
  });

  it("flatMap accepts any iterable (generators, Sets) and an empty one drops the element", async () => {
    function* twice(x: number) {
      yield x;
      yield x;
    }
    const out = await run(
      [[[1, 2, 3], [4]]],
      (s: DStream<number>) => s.flatMap((x) => (x === 2 ? new Set<number>() : x === 3 ? new Set([30, 31]) : twice(x))),
      2,
    );
    expect(out).toEqual([
      [1, 1, 30, 31],
      [4, 4],
    ]);
  });

  it("map to pairs keeps order across 2 partitions (no shuffle involved)", async () => {
    const out = await run([[["b", "a", "c", "a"]]], (s: DStream<string>) => s.map((w): [string, number] => [w, w.length]), 2);
    expect(out).toEqual([
      [
        ["b", 1],
        ["a", 1],
        ["c", 1],
        ["a", 1],
      ],
    ]);
  });

  it("mapPartitions receives each partition's items and its index (3 input partitions)", async () => {
    const input = [range(1, 7), [8], []];
    const out = await run([input], (s: DStream<number>) => s.mapPartitions((items, index) => [[index, [...items]] as [number, number[]]]), 3);
    // 7 over 3 slices: [0,2) [2,4) [4,7); 1 over 3 slices: [0,0) [0,0) [0,1); 0 over 3: all empty.
    expect(out).toEqual([
      [
        [0, [1, 2]],
        [1, [3, 4]],
        [2, [5, 6, 7]],
      ],
      [
        [0, []],
        [1, []],
        [2, [8]],
      ],
      [
        [0, []],
        [1, []],
        [2, []],
      ],
    ]);
  });

  it("mapPartitions can emit a different number of elements than it receives", async () => {
    const out = await run(
      [[range(1, 6)]],
      (s: DStream<number>) => s.mapPartitions((items) => items.filter((x) => x % 2 === 1).map((x) => `p${x}`)),
      2,
    );
    expect(out).toEqual([["p1", "p3", "p5"]]);
  });

  it("glom with 3 partitions, including an empty slice", async () => {
    const input = [[1, 2], range(1, 5), []];
    const out = await run([input], (s: DStream<number>) => s.glom(), 3);
    // 2 over 3: [0,0) [0,1) [1,2); 5 over 3: [0,1) [1,3) [3,5).
    expect(out).toEqual([
      [[], [1], [2]],
      [[1], [2, 3], [4, 5]],
      [[], [], []],
    ]);
  });

  it("repartition(3) keeps the multiset of elements (duplicates too) and gives 3 partitions", async () => {
    const input = [[5, 1, 1, 2, 2, 3, 3, 4, 7, 6], [9], []];
    const out = await run([input], (s: DStream<number>) => s.repartition(3).glom(), 2);
    expect(out.length).toBe(3);
    for (let i = 0; i < 3; i++) {
      expect(out[i]!.length).toBe(3);
      expect(sorted(out[i]!.flat())).toEqual(sorted(input[i]!));
    }
  });

  it("repartition(n).glom().map(length) has n entries per batch, summing to the batch size", async () => {
    const input = [range(1, 20), range(1, 3), []];
    const lengths = await run(
      [input],
      (s: DStream<number>) =>
        s
          .repartition(4)
          .glom()
          .map((p) => p.length),
      3,
    );
    expect(lengths.map((b) => b.length)).toEqual([4, 4, 4]);
    expect(lengths.map((b) => b.reduce((a, c) => a + c, 0))).toEqual([20, 3, 0]);
  });

  it("repartition(1) puts every element in one partition", async () => {
    const out = await run([[range(1, 9)]], (s: DStream<number>) => s.repartition(1).glom(), 3);
    expect(out.length).toBe(1);
    expect(out[0]!.length).toBe(1);
    expect(sorted(out[0]![0]!)).toEqual(sorted(range(1, 9)));
  });
});

describe("union", () => {
  it("union of three streams: the first stream's partitions first, then the second's, then the third's", async () => {
    const a = [[1, 2, 3, 4], [5], []];
    const b = [[10, 20], [], [30]];
    const c = [[100], [200, 300, 400], []];
    const out = await run([a, b, c], (x: DStream<number>, y: DStream<number>, z: DStream<number>) => x.union(y, z), 2);
    expect(out).toEqual([[1, 2, 3, 4, 10, 20, 100], [5, 200, 300, 400], [30]]);
  });

  it("union has the sum of its parents' partitions (UnionRDD)", async () => {
    const out = await run([[[1, 2, 3]], [[4]]], (x: DStream<number>, y: DStream<number>) => x.union(y).glom(), 2);
    // 3 over 2: [1] [2,3]; 1 over 2: [] [4].
    expect(out).toEqual([[[1], [2, 3], [], [4]]]);
  });
});

describe("union of partitioned streams", () => {
  it("union of streams with the same partitioner keeps it (sc.union -> PartitionerAwareUnionRDD), parents in order", async () => {
    type KV = [string, number];
    const a: KV[][] = [
      [
        ["a", 1],
        ["b", 2],
      ],
    ];
    const b: KV[][] = [
      [
        ["a", 10],
        ["c", 30],
      ],
    ];
    const out = await run(
      [a, b],
      (x: DStream<KV>, y: DStream<KV>) =>
        x
          .reduceByKey((p, q) => p + q, 3)
          .union(y.reduceByKey((p, q) => p + q, 3))
          .glom(),
      2,
    );
    // HashPartitioner(3): "c" = 99 -> 0, "a" = 97 -> 1, "b" = 98 -> 2; partition p = x's p, then y's p.
    expect(out).toEqual([
      [
        [["c", 30]],
        [
          ["a", 1],
          ["a", 10],
        ],
        [["b", 2]],
      ],
    ]);
  });

  it("union of streams with different partition counts falls back to UnionRDD (partitions add up)", async () => {
    type KV = [string, number];
    const out = await run(
      [[[["a", 1]]], [[["a", 2]]]],
      (x: DStream<KV>, y: DStream<KV>) =>
        x
          .reduceByKey((p, q) => p + q, 2)
          .union(y.reduceByKey((p, q) => p + q, 3))
          .glom()
          .map((part) => part.length),
      1,
    );
    // "a" = 97: partition 1 of 2, then partition 1 of 3.
    expect(out).toEqual([[0, 1, 0, 1, 0]]);
  });
});

describe("transform and transformWith", () => {
  it("transform with rdd.distinct() (a shuffle: order-insensitive)", async () => {
    const input = [[3, 1, 3, 2, 1, 3], [], [7, 7]];
    const out = await run([input], (s: DStream<number>) => s.transform((rdd) => rdd.distinct()), 2);
    expect(sortBatches(out)).toEqual([[1, 2, 3], [], [7]]);
  });

  it("transform with rdd.sortBy gives a globally sorted batch, ascending and descending", async () => {
    const input = [
      [5, 3, 9, 1, 7, 2],
      [4, 4, 0],
    ];
    const up = await run([input], (s: DStream<number>) => s.transform((rdd) => rdd.sortBy((x) => x)), 3);
    expect(up).toEqual([
      [1, 2, 3, 5, 7, 9],
      [0, 4, 4],
    ]);
    const down = await run([input], (s: DStream<number>) => s.transform((rdd) => rdd.sortBy((x) => x, false)), 3);
    expect(down).toEqual([
      [9, 7, 5, 3, 2, 1],
      [4, 4, 0],
    ]);
  });

  it("transform with rdd.sortBy on a key extractor over strings", async () => {
    const out = await run([[["ccc", "a", "bb", "dddd"]]], (s: DStream<string>) => s.transform((rdd) => rdd.sortBy((w) => -w.length)), 2);
    expect(out).toEqual([["dddd", "ccc", "bb", "a"]]);
  });

  it("transform with rdd.context.parallelize: union with local data, this batch's partitions first", async () => {
    const input = [[1, 2], [], [3]];
    const out = await run([input], (s: DStream<number>) => s.transform((rdd) => rdd.union(rdd.context.parallelize([100, 200], 2))), 2);
    expect(out).toEqual([
      [1, 2, 100, 200],
      [100, 200],
      [3, 100, 200],
    ]);
  });

  it("transform receives the batch time ((i + 1) × batch interval)", async () => {
    const out = await run([[["a"], [], ["b", "c"]]], (s: DStream<string>) =>
      s.transform((rdd, time) =>
        rdd.map((x): [number, string] => [time.milliseconds, x]).union(rdd.context.parallelize([[time.milliseconds, "*"] as [number, string]], 1)),
      ),
    );
    expect(out).toEqual([
      [
        [1000, "a"],
        [1000, "*"],
      ],
      [[2000, "*"]],
      [
        [3000, "b"],
        [3000, "c"],
        [3000, "*"],
      ],
    ]);
  });

  it("transform can return an empty RDD", async () => {
    const out = await run([[[1, 2], [3]]], (s: DStream<number>) => s.transform((rdd) => rdd.context.emptyRDD<number>()));
    expect(out).toEqual([[], []]);
  });

  it("transformWith pairs the two streams' RDDs of the same batch", async () => {
    const a = [[1, 2, 3], [4], []];
    const b = [["x"], [], ["y", "z"]];
    const out = await run(
      [a, b],
      (s1: DStream<number>, s2: DStream<string>) =>
        s1.transformWith(s2, (r1: RDD<number>, r2: RDD<string>, time) =>
          r1
            .map((x) => `${x}`)
            .union(r2)
            .union(r1.context.parallelize([`t${time.milliseconds}`], 1)),
        ),
      2,
    );
    expect(out).toEqual([
      ["1", "2", "3", "x", "t1000"],
      ["4", "t2000"],
      ["y", "z", "t3000"],
    ]);
  });

  it("transformWith with rdd.subtract (a shuffle: order-insensitive)", async () => {
    const a = [
      [1, 2, 3, 4, 4],
      [5, 6],
    ];
    const b = [[2, 4], [7]];
    const out = await run(
      [a, b],
      (s1: DStream<number>, s2: DStream<number>) => s1.transformWith(s2, (r1: RDD<number>, r2: RDD<number>) => r1.subtract(r2)),
      2,
    );
    expect(sortBatches(out)).toEqual([
      [1, 3],
      [5, 6],
    ]);
  });
});

describe("count, reduce, countByValue", () => {
  it("count gives [0] for every empty batch", async () => {
    const input = [[], [], [1, 2, 3], [], [9]];
    const out = await run([input], (s: DStream<number>) => s.count(), 3);
    expect(out).toEqual([[0], [0], [3], [0], [1]]);
  });

  it("count counts duplicates and falsy elements", async () => {
    const out = await run([[[0, 0, null, "", false]]], (s: DStream<unknown>) => s.count(), 2);
    expect(out).toEqual([[5]]);
  });

  it("reduce gives [] for an empty batch and one element otherwise", async () => {
    const input = [[], [1, 2, 3, 4], [], [10]];
    const out = await run([input], (s: DStream<number>) => s.reduce((a, b) => a + b), 3);
    expect(out).toEqual([[], [10], [], [10]]);
  });

  it("reduce with a non-numeric reduction (max of strings)", async () => {
    const out = await run([[["pear", "apple", "zucchini", "fig"]]], (s: DStream<string>) => s.reduce((a, b) => (a > b ? a : b)), 2);
    expect(out).toEqual([["zucchini"]]);
  });

  it('countByValue counts each distinct value; 1 and "1" are different values', async () => {
    const input: unknown[][] = [["a", "b", "a", 1, "1", 1, 1], [], [true, true]];
    const out = await run([input], (s: DStream<unknown>) => s.countByValue(), 3);
    expect(sortBatches(out)).toEqual(
      sortBatches([
        [
          ["a", 2],
          ["b", 1],
          [1, 3],
          ["1", 1],
        ],
        [],
        [[true, 2]],
      ]),
    );
  });

  it("countByValue(numPartitions) gives that many partitions", async () => {
    const out = await run(
      [[["a", "b", "c", "a"]]],
      (s: DStream<string>) =>
        s
          .countByValue(3)
          .glom()
          .map((p) => p.length),
      2,
    );
    // HashPartitioner(3) on String.hashCode: "a" = 97 -> 1, "b" = 98 -> 2, "c" = 99 -> 0.
    expect(out).toEqual([[1, 1, 1]]);
  });
});
