// RDD operations inside transform and foreachRDD, batch by batch (TestSuiteBase style), so they run
// through every path the vitest projects run this folder through: in memory, fanned out to workers
// on the embedded engines, and on a coordinator that starts cold every batch.
//
// Expected values are worked out by hand from Spark's semantics (the comments show how), or taken
// from Spark's suites where named: SortingSuite (range partitioning), RDDSuite (zipWithIndex,
// zipWithUniqueId, zip, cartesian), JavaAPISuite's javaDoubleRDD (stats), PySpark's groupBy doctest.
//
// Input slicing (TestInputStream / makeRDD): partition i of a batch of n elements cut into k holds
// [i*n/k, (i+1)*n/k).

import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runBatches, Seconds, type DStream, type StatCounter } from "../../lib/index.js";
import { range, sortBatches } from "./helpers.js";

const run = <T>(inputs: unknown[][][], pipeline: (...s: DStream<any>[]) => DStream<T>, inputPartitions: number, numBatches?: number) =>
  runBatches<T>({ batchInterval: Seconds(1), inputs, pipeline, inputPartitions, numBatches });

describe("RDD operations in streams: sortBy and sortByKey range-partition", () => {
  it("sortBy(f, ascending, 3) puts each key range in one partition, in order (all keys sampled: bounds by hand)", async () => {
    // Batch 1: 12 keys over 2 input partitions. The sketch wants 20 keys per output partition
    // (60) and draws ceil(3 * 60 / 2) = 90 per input partition: every key is sampled, each
    // weighing 1, so determineBounds puts bounds at cumulative weights 4 and 8: keys 4 and 8.
    // Descending uses the same bounds, partitions in reverse. Batch 2: [20] [10, 30]: bounds 10
    // and 20. The default partition count is the input's (2): one bound, at weight 12 / 2 = 6 (key
    // 6) in batch 1, and at weight 3 / 2 = 1.5 (key 20) in batch 2.
    const input = [[12, 3, 7, 1, 9, 5, 11, 2, 8, 4, 10, 6], [20, 10, 30], []];
    const out = await run(
      [input],
      (s: DStream<number>) =>
        s.transform((rdd) =>
          rdd
            .sortBy((x) => x, true, 3)
            .glom()
            .union(rdd.sortBy((x) => x, false, 3).glom())
            .union(rdd.sortBy((x) => x).glom()),
        ),
      2,
    );
    expect(out).toEqual([
      [
        [1, 2, 3, 4],
        [5, 6, 7, 8],
        [9, 10, 11, 12],
        [12, 11, 10, 9],
        [8, 7, 6, 5],
        [4, 3, 2, 1],
        [1, 2, 3, 4, 5, 6],
        [7, 8, 9, 10, 11, 12],
      ],
      [[10], [20], [30], [30], [20], [10], [10, 20], [30]],
      [[], [], [], [], [], [], [], []],
    ]);
  });

  it("SortingSuite (partition balancing), in a stream: 300 keys sampled, not all, into 2 sorted ranges", async () => {
    // 150 keys per input partition and 60 sampled from each: the bound is near the median, so
    // both partitions hold a contiguous, non-trivial share and together the sorted batch.
    const keys = Array.from({ length: 300 }, (_, i) => (i * 7919) % 300);
    const out = await run(
      [[keys.map((k) => [k, `v${k}`])]],
      (s: DStream<[number, string]>) => s.transform((rdd) => rdd.sortByKey(true, 2).glom()),
      2,
    );
    const [parts] = out as [[number, string][][]];
    expect(parts.length).toBe(2);
    expect(parts.flat()).toEqual(range(0, 299).map((k) => [k, `v${k}`]));
    for (const p of parts) {
      expect(p.length).toBeGreaterThan(50);
      expect(p.length).toBeLessThan(250);
    }
  });
});

describe("RDD operations in streams: zipWithIndex, zipWithUniqueId, zip, cartesian, groupBy", () => {
  it("RDDSuite: zipWithIndex and zipWithUniqueId over 3 input partitions", async () => {
    // Batch 1: [a, b] [c, d] [e, f, g]: indices 0..6 in order; unique ids k, n + k, ...: a 0, b 3,
    // c 1, d 4, e 2, f 5, g 8. Batch 2: [] [] [x]: index 0, unique id 2.
    const input = [["a", "b", "c", "d", "e", "f", "g"], ["x"]];
    const out = await run([input], (s: DStream<string>) => s.transform((rdd) => rdd.zipWithIndex().union(rdd.zipWithUniqueId())), 3);
    expect(out).toEqual([
      [
        ["a", 0],
        ["b", 1],
        ["c", 2],
        ["d", 3],
        ["e", 4],
        ["f", 5],
        ["g", 6],
        ["a", 0],
        ["b", 3],
        ["c", 1],
        ["d", 4],
        ["e", 2],
        ["f", 5],
        ["g", 8],
      ],
      [
        ["x", 0],
        ["x", 2],
      ],
    ]);
  });

  it("zipWithIndex read by a later shuffle's map tasks (the counts stage runs first)", async () => {
    const input = [range(10, 19)];
    const out = await run(
      [input],
      (s: DStream<number>) =>
        s.transform((rdd) =>
          rdd
            .zipWithIndex()
            .map(([x, i]): [number, number] => [i % 3, x])
            .groupByKey(2),
        ),
      3,
    );
    // Index i of element 10 + i.
    const normalized = out.map((b) => b.map(([k, vs]) => [k, [...vs].sort((x, y) => x - y)] as const));
    expect(sortBatches(normalized)).toEqual(
      sortBatches([
        [
          [0, [10, 13, 16, 19]],
          [1, [11, 14, 17]],
          [2, [12, 15, 18]],
        ],
      ]),
    );
  });

  it("RDDSuite: zip with a map of itself, and cartesian of two streams' RDDs (partition i*n2 + j)", async () => {
    const zipped = await run([[[1, 2, 3, 4, 5]]], (s: DStream<number>) => s.transform((rdd) => rdd.zip(rdd.map((x) => x * 10))), 2);
    expect(zipped).toEqual([
      [
        [1, 10],
        [2, 20],
        [3, 30],
        [4, 40],
        [5, 50],
      ],
    ]);
    // a: [1] [2]; b: [x] [y, z]. Partitions (0,0) (0,1) (1,0) (1,1).
    const product = await run(
      [[[1, 2]], [["x", "y", "z"]]],
      (a: DStream<number>, b: DStream<string>) => a.transformWith(b, (r1, r2) => r1.cartesian(r2)),
      2,
    );
    expect(product).toEqual([
      [
        [1, "x"],
        [1, "y"],
        [1, "z"],
        [2, "x"],
        [2, "y"],
        [2, "z"],
      ],
    ]);
  });

  it("PySpark doctest: groupBy(lambda x: x % 2), per batch", async () => {
    const out = await run([[[1, 1, 2, 3, 5, 8], [4]]], (s: DStream<number>) => s.transform((rdd) => rdd.groupBy((x) => x % 2)), 2);
    const normalized = out.map((b) => b.map(([k, vs]) => [k, [...vs].sort((x, y) => x - y)] as const));
    expect(sortBatches(normalized)).toEqual(
      sortBatches([
        [
          [0, [2, 8]],
          [1, [1, 1, 3, 5]],
        ],
        [[0, [4]]],
      ]),
    );
  });
});

describe("RDD operations in streams: sampling is a function of the batch", () => {
  const input = range(0, 3).map((b) => range(b * 100 + 1, b * 100 + 40));

  async function sampledWindows() {
    const perBatch = new Map<number, number[]>();
    const windows = await run(
      [input],
      (s: DStream<number>) => {
        const sampled = s.transform((rdd) => rdd.sample(false, 0.5));
        sampled.foreachRDD(async (rdd, time) => {
          perBatch.set(time.milliseconds, await rdd.collect());
        });
        return sampled.window(Seconds(2));
      },
      2,
    );
    return { windows, perBatch };
  }

  it("sample without a seed: a subset of the batch; a window holds exactly the samples of its batches, also when they are recomputed; a second run samples the same", async () => {
    const first = await sampledWindows();
    const numeric = (xs: number[]) => [...xs].sort((x, y) => x - y);
    for (let k = 0; k < input.length; k++) {
      const sample = first.perBatch.get((k + 1) * 1000)!;
      expect(sample.every((x) => input[k]!.includes(x))).toBe(true);
      expect(sample.length).toBeGreaterThan(5);
      expect(sample.length).toBeLessThan(35);
      const previous = k > 0 ? first.perBatch.get(k * 1000)! : [];
      expect(numeric(first.windows[k]!)).toEqual(numeric([...previous, ...sample]));
    }
    const second = await sampledWindows();
    expect(second.windows).toEqual(first.windows);
  });

  it("randomSplit with a seed: the splits of each batch partition it", async () => {
    const out = await run(
      [input.slice(0, 2)],
      (s: DStream<number>) =>
        s.transform((rdd) => {
          const [a, b] = rdd.randomSplit([0.3, 0.7], 11);
          return a!.map((x): [string, number] => ["a", x]).union(b!.map((x): [string, number] => ["b", x]));
        }),
      2,
    );
    for (let k = 0; k < 2; k++) {
      expect(out[k]!.map((e) => e[1]).sort((x, y) => x - y)).toEqual(input[k]);
      expect(out[k]!.some((e) => e[0] === "a") && out[k]!.some((e) => e[0] === "b")).toBe(true);
    }
  });
});

describe("RDD actions in foreachRDD", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sparkless-rdd-ops-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("JavaAPISuite javaDoubleRDD numbers: stats, histogram, sum, max, min, aggregate, treeAggregate, treeReduce, takeSample, saveAsTextFile", async () => {
    type Seen = {
      stats?: StatCounter;
      histogram?: [number[], number[]];
      sum?: number;
      max?: number;
      min?: number;
      aggregate?: [number, number];
      treeAggregate?: number;
      treeReduce?: number;
      sample?: number[];
      bucketCounts?: number[];
    };
    const seen = new Map<number, Seen>();
    await run(
      [[[1.0, 1.0, 2.0, 3.0, 5.0, 8.0], []]],
      (s: DStream<number>) => {
        s.foreachRDD(async (rdd, time) => {
          const t = time.milliseconds;
          const r: Seen = { sum: await rdd.sum(), bucketCounts: await rdd.histogram([0, 5, 10]) };
          if (!(await rdd.isEmpty())) {
            r.stats = await rdd.stats();
            r.histogram = await rdd.histogram(2);
            r.max = await rdd.max();
            r.min = await rdd.min();
            r.aggregate = await rdd.aggregate<[number, number]>(
              [0, 0],
              (acc, x) => [acc[0] + x, acc[1] + 1],
              (a, b) => [a[0] + b[0], a[1] + b[1]],
            );
            r.treeAggregate = await rdd.treeAggregate(
              0,
              (a, x) => a + x,
              (a, b) => a + b,
            );
            r.treeReduce = await rdd.treeReduce((a, b) => a + b);
            r.sample = await rdd.takeSample(false, 3, 5);
            await rdd.saveAsTextFile(join(dir, `out-${t}`));
          }
          seen.set(t, r);
        });
        return s;
      },
      2,
    );
    const first = seen.get(1000)!;
    expect(first.stats!.count).toBe(6);
    expect(first.stats!.mean).toBeCloseTo(3.3333, 3);
    expect(first.stats!.variance).toBeCloseTo(6.22222, 4);
    expect(first.stats!.sampleStdev).toBeCloseTo(2.73252, 4);
    expect(first.histogram).toEqual([
      [1.0, 4.5, 8.0],
      [4, 2],
    ]);
    expect(first.bucketCounts).toEqual([4, 2]);
    expect([first.sum, first.max, first.min, first.treeAggregate, first.treeReduce]).toEqual([20, 8, 1, 20, 20]);
    expect(first.aggregate).toEqual([20, 6]);
    expect(first.sample!.length).toBe(3);
    expect(first.sample!.every((x) => [1, 2, 3, 5, 8].includes(x))).toBe(true);
    // [1, 1, 2] [3, 5, 8]: one part file per input partition.
    const out = join(dir, "out-1000");
    expect((await readdir(out)).sort()).toEqual(["_SUCCESS", "part-00000", "part-00001"]);
    expect(await readFile(join(out, "part-00000"), "utf8")).toBe("1\n1\n2\n");
    expect(await readFile(join(out, "part-00001"), "utf8")).toBe("3\n5\n8\n");
    expect(seen.get(2000)).toEqual({ sum: 0, bucketCounts: [0, 0] });
  });
});
