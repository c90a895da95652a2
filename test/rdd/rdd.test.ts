// RDD operations, ported from Apache Spark's core/src/test/scala/org/apache/spark/rdd/RDDSuite.scala
// and PairRDDFunctionsSuite.scala, and PySpark's doctests (inputs and expected values from those
// suites, or worked out by hand where noted; the TypeScript is ours). Each test names its source.
//
// makeRDD(data, k) cuts data as ParallelCollectionRDD.slice does: partition i holds
// [i*n/k, (i+1)*n/k).

import { describe, expect, it } from "vitest";
import { HashPartitioner, InvalidArgumentError } from "../../lib/index.js";
import { sparkContext, until } from "./helpers.js";

type Pair<K, V> = [K, V];

describe("RDD: zip, zipWithIndex, zipWithUniqueId, cartesian", () => {
  it("RDDSuite: zipped RDDs", async () => {
    const sc = sparkContext();
    const nums = sc.makeRDD([1, 2, 3, 4], 2);
    const zipped = nums.zip(nums.map((x) => x + 0.5));
    expect(await zipped.glom().collect()).toEqual([
      [
        [1, 1.5],
        [2, 2.5],
      ],
      [
        [3, 3.5],
        [4, 4.5],
      ],
    ]);
    // Unequal partition counts: Spark's IllegalArgumentException.
    expect(() => nums.zip(sc.parallelize([1, 2, 3, 4], 1))).toThrow(/unequal numbers of partitions: 2 and 1/);
    // Unequal element counts: Spark's SparkException when the partition is computed.
    await expect(nums.zip(sc.parallelize([1, 2, 3, 4, 5], 2)).collect()).rejects.toThrow(/same number of elements in each partition/);
  });

  it("RDDSuite: zipWithIndex (3 partitions), each element is its index", async () => {
    const sc = sparkContext();
    const ranked = await sc.parallelize(until(0, 10), 3).zipWithIndex().collect();
    expect(ranked).toEqual(until(0, 10).map((x) => [x, x]));
  });

  it("RDDSuite: zipWithIndex with a single partition", async () => {
    const sc = sparkContext();
    expect(await sc.parallelize(until(0, 10), 1).zipWithIndex().collect()).toEqual(until(0, 10).map((x) => [x, x]));
  });

  it("zipWithIndex counts empty partitions as 0 and keeps going (by hand: 2 elements over 4 partitions)", async () => {
    const sc = sparkContext();
    // [] [a] [] [b]: slices [0,0) [0,1) [1,1) [1,2).
    const out = await sc.parallelize(["a", "b"], 4).zipWithIndex().glom().collect();
    expect(out).toEqual([[], [["a", 0]], [], [["b", 1]]]);
    expect(await sc.emptyRDD<string>().zipWithIndex().collect()).toEqual([]);
  });

  it("RDDSuite: zipWithUniqueId gives n distinct ids; by hand, partition k's i-th element gets i*n + k", async () => {
    const sc = sparkContext();
    const ranked = await sc.parallelize(until(0, 10), 3).zipWithUniqueId().collect();
    expect(new Set(ranked.map((x) => x[1])).size).toBe(10);
    // Slices [0,3) [3,6) [6,10).
    expect(ranked).toEqual([
      [0, 0],
      [1, 3],
      [2, 6],
      [3, 1],
      [4, 4],
      [5, 7],
      [6, 2],
      [7, 5],
      [8, 8],
      [9, 11],
    ]);
  });

  it("RDDSuite: cartesian on non-empty RDDs has every pair; partition i*n2+j pairs partition i with partition j", async () => {
    const sc = sparkContext();
    const a = sc.parallelize([1, 2, 3], 2);
    const b = sc.parallelize(["x", "y"], 2);
    const c = a.cartesian(b);
    expect(c.getNumPartitions()).toBe(4);
    // a: [1] [2,3]; b: [x] [y].
    expect(await c.glom().collect()).toEqual([
      [[1, "x"]],
      [[1, "y"]],
      [
        [2, "x"],
        [3, "x"],
      ],
      [
        [2, "y"],
        [3, "y"],
      ],
    ]);
  });

  it("RDDSuite: cartesian with an empty RDD is empty", async () => {
    const sc = sparkContext();
    expect(await sc.parallelize([1, 2], 2).cartesian(sc.emptyRDD<number>()).collect()).toEqual([]);
    expect(
      await sc
        .emptyRDD<number>()
        .cartesian(sc.parallelize([1, 2], 2))
        .collect(),
    ).toEqual([]);
  });
});

describe("RDD: groupBy and three-way cogroup", () => {
  it("PySpark doctest: groupBy(lambda x: x % 2)", async () => {
    const sc = sparkContext();
    const result = await sc
      .parallelize([1, 1, 2, 3, 5, 8])
      .groupBy((x) => x % 2)
      .collect();
    const normalized = result.map(([k, vs]) => [k, [...vs].sort((x, y) => x - y)] as const).sort((x, y) => x[0] - y[0]);
    expect(normalized).toEqual([
      [0, [2, 8]],
      [1, [1, 1, 3, 5]],
    ]);
  });

  it("groupBy(f, numPartitions) hash-partitions the groups into numPartitions", async () => {
    const sc = sparkContext();
    const grouped = sc.parallelize(until(0, 12), 3).groupBy((x) => x % 4, 2);
    expect(grouped.getNumPartitions()).toBe(2);
    // HashPartitioner(2): keys 0 and 2 in partition 0, 1 and 3 in partition 1.
    const parts = await grouped.glom().collect();
    expect(parts.map((p) => p.map((kv) => kv[0]).sort())).toEqual([
      [0, 2],
      [1, 3],
    ]);
    expect(
      parts
        .flat()
        .find((kv) => kv[0] === 3)![1]
        .sort((x, y) => x - y),
    ).toEqual([3, 7, 11]);
  });

  it("PairRDDFunctionsSuite: groupWith (cogroup with two other RDDs)", async () => {
    const sc = sparkContext();
    const rdd1 = sc.parallelize<Pair<number, number>>([
      [1, 1],
      [1, 2],
      [2, 1],
      [3, 1],
    ]);
    const rdd2 = sc.parallelize<Pair<number, string>>([
      [1, "x"],
      [2, "y"],
      [2, "z"],
      [4, "w"],
    ]);
    const rdd3 = sc.parallelize<Pair<number, string>>([
      [1, "a"],
      [3, "b"],
      [4, "c"],
      [4, "d"],
    ]);
    const joined = await rdd1.cogroup(rdd2, rdd3).collect();
    expect(joined.length).toBe(4);
    const normalized = joined.map(([k, [a, b, c]]) => [k, [[...a].sort(), [...b].sort(), [...c].sort()]] as const).sort((x, y) => x[0] - y[0]);
    expect(normalized).toEqual([
      [1, [[1, 2], ["x"], ["a"]]],
      [2, [[1], ["y", "z"], []]],
      [3, [[1], [], ["b"]]],
      [4, [[], ["w"], ["c", "d"]]],
    ]);
  });

  it("three-way cogroup takes numPartitions or a partitioner last", async () => {
    const sc = sparkContext();
    const a = sc.parallelize<Pair<string, number>>([["k", 1]]);
    const b = sc.parallelize<Pair<string, number>>([["k", 2]]);
    const c = sc.parallelize<Pair<string, number>>([["j", 3]]);
    expect(a.cogroup(b, c, 3).getNumPartitions()).toBe(3);
    expect(a.cogroup(b, c, new HashPartitioner(5)).getNumPartitions()).toBe(5);
  });
});

describe("RDD: a grouped shuffle keeps every value, in order", () => {
  // The map side counts a run of equal values (Object.is) instead of pushing each: what the reduce side
  // gets must be the very values, in the order each map partition met them.
  it("runs of equal values, then different ones, -0 apart from 0, NaN, and objects", async () => {
    const sc = sparkContext();
    const obj = { n: 1 };
    const byKey: Record<string, unknown[]> = {
      mixed: [1, 1, 1, 2, 2, 1, "1", 1],
      zeros: [0, -0, -0, 0],
      nans: [NaN, NaN, NaN],
      objects: [obj, obj, { n: 1 }, obj],
      strings: ["a", "a", "b"],
    };
    const pairs = Object.entries(byKey).flatMap(([k, vs]) => vs.map((v) => [k, v] as [string, unknown]));
    const grouped = new Map(
      (await sc
        .parallelize(pairs, 1)
        .cogroup(sc.parallelize([["mixed", "x"] as [string, string]], 1), 2)
        .collect()) as [string, [unknown[], string[]]][],
    );
    for (const [k, values] of Object.entries(byKey)) {
      const [vs, ws] = grouped.get(k)!;
      expect(vs, k).toHaveLength(values.length);
      vs.forEach((v, i) => expect(Object.is(v, values[i]), `${k}[${i}]: ${String(v)}`).toBe(true));
      expect(ws).toEqual(k === "mixed" ? ["x"] : []);
    }
  });

  it("a key whose every value is equal gets them all, and each key its own count", async () => {
    const sc = sparkContext();
    const keys = until(0, 5_000).map((i) => `w${i % 7}`);
    const counts = await sc
      .parallelize(
        keys.map((k) => [k, 1] as [string, number]),
        3,
      )
      .cogroup(sc.parallelize<[string, number]>([], 1), 4)
      .map(([k, [ones]]) => [k, (ones as number[]).length, (ones as number[]).every((x) => x === 1)] as const)
      .collect();
    expect(new Map(counts.map(([k, n]) => [k, n]))).toEqual(new Map(until(0, 7).map((i) => [`w${i}`, keys.filter((k) => k === `w${i}`).length])));
    expect(counts.every(([, , ones]) => ones)).toBe(true);
  });
});

describe("RDD: aggregate, fold, treeAggregate, treeReduce", () => {
  it("RDDSuite: aggregate with a mutable map", async () => {
    const sc = sparkContext();
    const pairs = sc.makeRDD<Pair<string, number>>(
      [
        ["a", 1],
        ["b", 2],
        ["a", 2],
        ["c", 5],
        ["a", 3],
      ],
      2,
    );
    const result = await pairs.aggregate(
      {} as Record<string, number>,
      (map, [k, v]) => {
        map[k] = (map[k] ?? 0) + v;
        return map;
      },
      (m1, m2) => {
        for (const [k, v] of Object.entries(m2)) m1[k] = (m1[k] ?? 0) + v;
        return m1;
      },
    );
    expect(result).toEqual({ a: 6, b: 2, c: 5 });
  });

  it("RDDSuite: fold with op modifying first arg (each partition folds onto its own copy of the zero)", async () => {
    const sc = sparkContext();
    const rdd = sc.makeRDD(until(-1000, 1000), 10).map((x) => [x]);
    const sum = await rdd.fold([0], (t, x) => {
      t[0]! += x[0]!;
      return t;
    });
    expect(sum[0]).toBe(-1000);
  });

  it("fold and aggregate count a non-neutral zero once per partition plus once, as Spark (by hand)", async () => {
    const sc = sparkContext();
    // 3 partitions: 1 + (1+1) + (1+2) + (1+3) = 10, Spark's documented fold semantics.
    expect(await sc.parallelize([1, 2, 3], 3).fold(1, (a, b) => a + b)).toBe(10);
    expect(
      await sc.parallelize([1, 2, 3], 3).aggregate(
        1,
        (a, b) => a + b,
        (a, b) => a + b,
      ),
    ).toBe(10);
    expect(await sc.emptyRDD<number>().fold(7, (a, b) => a + b)).toBe(7);
  });

  it("RDDSuite: treeAggregate over -1000 until 1000 in 10 partitions, depths 1 to 9", async () => {
    const sc = sparkContext();
    const rdd = sc.makeRDD(until(-1000, 1000), 10);
    for (let depth = 1; depth < 10; depth++) {
      expect(
        await rdd.treeAggregate(
          0,
          (c, x) => c + x,
          (c1, c2) => c1 + c2,
          depth,
        ),
      ).toBe(-1000);
    }
  });

  it("RDDSuite: treeAggregate with ops modifying first args", async () => {
    const sc = sparkContext();
    const rdd = sc.makeRDD(until(-1000, 1000), 10).map((x) => [x]);
    for (let depth = 1; depth < 10; depth++) {
      const sum = await rdd.treeAggregate(
        [0],
        (c, x) => {
          c[0]! += x[0]!;
          return c;
        },
        (c1, c2) => {
          c1[0]! += c2[0]!;
          return c1;
        },
        depth,
      );
      expect(sum[0]).toBe(-1000);
    }
  });

  it("RDDSuite: treeReduce over -1000 until 1000 in 10 partitions, depths 1 to 9", async () => {
    const sc = sparkContext();
    const rdd = sc.makeRDD(until(-1000, 1000), 10);
    for (let depth = 1; depth < 10; depth++) expect(await rdd.treeReduce((a, b) => a + b, depth)).toBe(-1000);
  });

  it("treeAggregate of no partitions is the zero; treeReduce of nothing throws; depth must be >= 1 (Spark's require)", async () => {
    const sc = sparkContext();
    expect(
      await sc.emptyRDD<number>().treeAggregate(
        5,
        (a, b) => a + b,
        (a, b) => a + b,
      ),
    ).toBe(5);
    await expect(sc.parallelize<number>([], 3).treeReduce((a, b) => a + b)).rejects.toThrow(InvalidArgumentError);
    await expect(sc.parallelize([1], 1).treeReduce((a, b) => a + b, 0)).rejects.toThrow(/`depth` to be a whole number >= 1, got `0`/);
  });
});

describe("RDD: sum, max, min", () => {
  it("RDDSuite: basic operations (max 4, min 1, fold 10) and DoubleRDDFunctions.sum", async () => {
    const sc = sparkContext();
    const nums = sc.makeRDD([1, 2, 3, 4], 2);
    expect(await nums.max()).toBe(4);
    expect(await nums.min()).toBe(1);
    expect(await nums.sum()).toBe(10);
    expect(await nums.fold(0, (a, b) => a + b)).toBe(10);
    expect(await sc.emptyRDD<number>().sum()).toBe(0);
  });

  it("max and min take an ordering (PySpark's key, Scala's Ordering) and throw on an empty RDD", async () => {
    const sc = sparkContext();
    const words = sc.parallelize(["bb", "a", "ccc", "dd"], 2);
    expect(await words.max()).toBe("dd");
    expect(await words.max((x, y) => x.length - y.length)).toBe("ccc");
    expect(await words.min((x, y) => x.length - y.length)).toBe("a");
    // PySpark doctest: sc.parallelize([1.0, 5.0, 43.0, 10.0]).max() == 43.0 and min() == 1.0.
    expect(await sc.parallelize([1.0, 5.0, 43.0, 10.0]).max()).toBe(43);
    expect(await sc.parallelize([2.0, 5.0, 43.0, 10.0]).min()).toBe(2);
    await expect(sc.parallelize<number>([], 2).max()).rejects.toThrow(/empty RDD/);
  });
});

describe("RDD: sortBy and sortByKey range-partition (Spark's SortingSuite)", () => {
  // Spark's inputs are `Array.fill(n)((rand.nextInt(), rand.nextInt()))`: fixed pseudo-random pairs here.
  const pairsOf = (n: number, seed: number): Pair<number, number>[] => {
    let x = seed >>> 0;
    const next = () => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0) | 0;
    return Array.from({ length: n }, () => [next(), next()] as Pair<number, number>);
  };
  const byKey = (a: Pair<number, number>, b: Pair<number, number>) => a[0] - b[0];

  it("SortingSuite: sortByKey", async () => {
    const sc = sparkContext();
    const pairs = sc.parallelize<Pair<number, number>>(
      [
        [1, 0],
        [2, 0],
        [0, 0],
        [3, 0],
      ],
      2,
    );
    expect(await pairs.sortByKey().collect()).toEqual([
      [0, 0],
      [1, 0],
      [2, 0],
      [3, 0],
    ]);
  });

  it("SortingSuite: large array (2 partitions by default), with one split, with many partitions", async () => {
    const sc = sparkContext();
    const arr = pairsOf(1000, 1);
    const sortedArr = [...arr].sort(byKey);
    const pairs = sc.parallelize(arr, 2);
    const sorted = pairs.sortByKey();
    expect(sorted.getNumPartitions()).toBe(2);
    expect(await sorted.collect()).toEqual(sortedArr);
    const one = pairs.sortByKey(true, 1);
    expect(one.getNumPartitions()).toBe(1);
    expect(await one.collect()).toEqual(sortedArr);
    const many = pairs.sortByKey(true, 20);
    expect(many.getNumPartitions()).toBe(20);
    expect(await many.collect()).toEqual(sortedArr);
  });

  it("SortingSuite: sort descending, with one split, with many partitions", async () => {
    const sc = sparkContext();
    const arr = pairsOf(1000, 2);
    const desc = [...arr].sort((a, b) => b[0] - a[0]);
    expect(await sc.parallelize(arr, 2).sortByKey(false).collect()).toEqual(desc);
    expect(await sc.parallelize(arr, 1).sortByKey(false, 1).collect()).toEqual(desc);
    expect(await sc.parallelize(arr, 2).sortByKey(false, 20).collect()).toEqual(desc);
  });

  it("SortingSuite: more partitions than elements, and an empty RDD", async () => {
    const sc = sparkContext();
    const arr = pairsOf(10, 3);
    expect(await sc.parallelize(arr, 30).sortByKey().collect()).toEqual([...arr].sort(byKey));
    expect(await sc.parallelize<Pair<number, number>>([], 2).sortByKey().collect()).toEqual([]);
  });

  it("SortingSuite: partition balancing (1 to 1000 in 4 partitions: each 100 < length < 400, ranges in order)", async () => {
    const sc = sparkContext();
    const arr = until(1, 1001).map((x) => [x, x] as Pair<number, number>);
    const sorted = sc.parallelize(arr, 4).sortByKey();
    expect(await sorted.collect()).toEqual(arr);
    const partitions = await sorted.collectPartitions();
    expect(partitions.length).toBe(4);
    for (const p of partitions) {
      expect(p.length).toBeGreaterThan(100);
      expect(p.length).toBeLessThan(400);
    }
    for (let i = 0; i < 3; i++) expect(partitions[i]!.at(-1)![0]).toBeLessThan(partitions[i + 1]![0]![0]);
  });

  it("SortingSuite: partition balancing for descending sort", async () => {
    const sc = sparkContext();
    const arr = until(1, 1001).map((x) => [x, x] as Pair<number, number>);
    const sorted = sc.parallelize(arr, 4).sortByKey(false);
    expect(await sorted.collect()).toEqual([...arr].reverse());
    const partitions = await sorted.collectPartitions();
    for (const p of partitions) {
      expect(p.length).toBeGreaterThan(100);
      expect(p.length).toBeLessThan(400);
    }
    for (let i = 0; i < 3; i++) expect(partitions[i]!.at(-1)![0]).toBeGreaterThan(partitions[i + 1]![0]![0]);
  });

  it("range bounds from a full sample, by hand: 12 keys in 3 partitions split 4/4/4; equal keys share a partition", async () => {
    const sc = sparkContext();
    // Every key is sampled (20 per partition wanted, 90 per input partition drawn), each weighing 1:
    // determineBounds puts a bound at cumulative weight 4 (key 4) and 8 (key 8).
    const sorted = sc.parallelize([12, 3, 7, 1, 9, 5, 11, 2, 8, 4, 10, 6], 2).sortBy((x) => x, true, 3);
    expect(await sorted.glom().collect()).toEqual([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
      [9, 10, 11, 12],
    ]);
    // Only 2 distinct keys for 3 partitions: one bound (at the first "a"), the last partition stays empty.
    const dup = sc
      .parallelize<Pair<string, number>>(
        [
          ["b", 1],
          ["a", 2],
          ["b", 3],
          ["a", 4],
        ],
        2,
      )
      .sortByKey(true, 3);
    expect(await dup.glom().collect()).toEqual([
      [
        ["a", 2],
        ["a", 4],
      ],
      [
        ["b", 1],
        ["b", 3],
      ],
      [],
    ]);
  });

  it("sortBy keeps Spark's argument order (f, ascending, numPartitions) and sorts strings by code unit", async () => {
    const sc = sparkContext();
    const words = sc.parallelize(["pear", "Apple", "fig", "banana", "kiwi"], 2);
    expect(await words.sortBy((w) => w).collect()).toEqual(["Apple", "banana", "fig", "kiwi", "pear"]);
    expect(await words.sortBy((w) => w.length, false, 3).collect()).toEqual(["banana", "Apple", "pear", "kiwi", "fig"]);
    expect(words.sortBy((w) => w, true, 3).getNumPartitions()).toBe(3);
  });

  it("PySpark doctest: sortByKey with keyfunc", async () => {
    const sc = sparkContext();
    const tmp2: Pair<string, number>[] = [
      ["Mary", 1],
      ["had", 2],
      ["a", 3],
      ["little", 4],
      ["lamb", 5],
      ["whose", 6],
      ["fleece", 7],
      ["was", 8],
      ["white", 9],
    ];
    const out = await sc
      .parallelize(tmp2)
      .sortByKey(true, 3, (k) => k.toLowerCase())
      .collect();
    expect(out).toEqual([
      ["a", 3],
      ["fleece", 7],
      ["had", 2],
      ["lamb", 5],
      ["little", 4],
      ["Mary", 1],
      ["was", 8],
      ["white", 9],
      ["whose", 6],
    ]);
  });

  it("the sort's bounds do not depend on the order of the actions (the same RDD collected twice)", async () => {
    const sc = sparkContext();
    const sorted = sc
      .parallelize(
        until(0, 500).map((i) => (i * 7919) % 500),
        5,
      )
      .sortBy((x) => x, true, 4);
    const first = await sorted.collectPartitions();
    expect(await sorted.collectPartitions()).toEqual(first);
    expect(first.flat()).toEqual(until(0, 500));
  });
});
