// Window operations, in Spark's TestSuiteBase style (batch interval 1 s).
//
// Semantics used for the expectations (Spark's WindowedDStream,
// ReducedWindowedDStream and DStream.reduceByWindow/countByWindow):
// - a windowed stream generates only at multiples of its slide after the
//   zero time; the window at T is the union of the parent's batches in
//   (T - window, T], in time order (UnionRDD, or PartitionerAwareUnionRDD
//   when every batch has the same partitioner), skipping times <= zero;
// - reduceByWindow(f, w, s) = reduce(f).window(w, s).reduce(f): an empty
//   window gives no element;
// - reduceByWindow(f, inv, w, s) = map((1, _)).reduceByKeyAndWindow(f, inv,
//   w, s, 1).map(_._2), and countByWindow = map(_ => 1L).reduceByWindow(_ + _,
//   _ - _, ...): once the key exists it stays (with the inverse-reduced
//   value, 0 for counts), but before any element there is no output;
// - reduceByKeyAndWindow with an inverse: new = prev - reduce(old batches)
//   + reduce(new batches); keys are only dropped by filterFunc, and the
//   filtered RDD is the next window's "previous" value;
// - countByValueAndWindow filters out zero counts.
//
// Windows of unpartitioned data keep the time order, so those are compared
// exactly (one input partition, or several: the union keeps batch order);
// keyed results are compared order-insensitively.

import { describe, expect, it } from "vitest";
import { runBatches, Seconds, type DStream } from "../../lib/index.js";
import { range, sortBatches, sorted } from "./helpers.js";

type P = [string, number];
const add = (a: number, b: number) => a + b;
const sub = (a: number, b: number) => a - b;

const run = <T>(inputs: unknown[][][], pipeline: (...s: DStream<any>[]) => DStream<T>, numBatches?: number, inputPartitions = 1) =>
  runBatches<T>({ batchInterval: Seconds(1), inputs, pipeline, inputPartitions, numBatches });

/** Batch i (1-based) holds [i]. */
const counting = (n: number): number[][] => range(1, n).map((i) => [i]);

describe("window", () => {
  it("a slide of 2 batches emits only at batches 2, 4 and 6", async () => {
    const out = await run([counting(7)], (s: DStream<number>) => s.window(Seconds(2), Seconds(2)), 7);
    expect(out.length).toBe(3);
    expect(out).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
  });

  it("a windowed stream's RDDs carry the window end times", async () => {
    const out = await run(
      [counting(7)],
      (s: DStream<number>) => s.window(Seconds(4), Seconds(2)).transform((rdd, time) => rdd.context.parallelize([time.milliseconds], 1)),
      7,
    );
    expect(out).toEqual([[2000], [4000], [6000]]);
  });

  it("window contents are in time order (one input partition)", async () => {
    const input = [[1, 2], [3], [], [4, 5], [6]];
    const out = await run([input], (s: DStream<number>) => s.window(Seconds(3)));
    expect(out).toEqual([
      [1, 2],
      [1, 2, 3],
      [1, 2, 3],
      [3, 4, 5],
      [4, 5, 6],
    ]);
  });

  it("window contents are in time order with 2 input partitions too (the union keeps batch order)", async () => {
    const input = [[1, 2, 3], [4, 5], [6]];
    const out = await run([input], (s: DStream<number>) => s.window(Seconds(2)), undefined, 2);
    expect(out).toEqual([
      [1, 2, 3],
      [1, 2, 3, 4, 5],
      [4, 5, 6],
    ]);
  });

  it("a window of unpartitioned batches has the sum of their partitions (UnionRDD)", async () => {
    const out = await run(
      [
        [
          [1, 2],
          [3, 4],
          [5, 6],
        ],
      ],
      (s: DStream<number>) => s.window(Seconds(2)).glom(),
      undefined,
      2,
    );
    expect(out).toEqual([
      [[1], [2]],
      [[1], [2], [3], [4]],
      [[3], [4], [5], [6]],
    ]);
  });

  it("a window of identically partitioned batches keeps the partitioning (PartitionerAwareUnionRDD), batches in time order", async () => {
    const input: P[][] = [
      [
        ["a", 1],
        ["b", 2],
      ],
      [["a", 3]],
      [["c", 5]],
    ];
    const out = await run([input], (s: DStream<P>) => s.reduceByKey(add, 3).window(Seconds(2)).glom(), undefined, 2);
    // HashPartitioner(3): "c" = 99 -> 0, "a" = 97 -> 1, "b" = 98 -> 2.
    expect(out).toEqual([
      [[], [["a", 1]], [["b", 2]]],
      [
        [],
        [
          ["a", 1],
          ["a", 3],
        ],
        [["b", 2]],
      ],
      [[["c", 5]], [["a", 3]], []],
    ]);
  });

  it("a long window (10 batches, slide 1) over 15 batches", async () => {
    const out = await run([counting(15)], (s: DStream<number>) => s.window(Seconds(10)).count(), 15);
    expect(out).toEqual([[1], [2], [3], [4], [5], [6], [7], [8], [9], [10], [10], [10], [10], [10], [10]]);
    const last = await run([counting(15)], (s: DStream<number>) => s.window(Seconds(10)), 15);
    expect(last[14]).toEqual(range(6, 15));
    expect(last[9]).toEqual(range(1, 10));
  });

  it("window 6 with slide 3 over 12 batches (and a 13th that emits nothing)", async () => {
    const out = await run([counting(13)], (s: DStream<number>) => s.window(Seconds(6), Seconds(3)), 13);
    expect(out).toEqual([range(1, 3), range(1, 6), range(4, 9), range(7, 12)]);
  });
});

describe("reduceByWindow and countByWindow", () => {
  const input = [[1, 2], [3], [], [], [4]];

  it("reduceByWindow without an inverse: an empty window gives no element", async () => {
    const out = await run([input], (s: DStream<number>) => s.reduceByWindow(add, Seconds(2), Seconds(1)), undefined, 2);
    expect(out).toEqual([[3], [6], [3], [], [4]]);
  });

  it("reduceByWindow with an inverse: once there was data, an empty window gives the inverse-reduced value", async () => {
    const out = await run([input], (s: DStream<number>) => s.reduceByWindow(add, sub, Seconds(2), Seconds(1)), undefined, 2);
    expect(out).toEqual([[3], [6], [3], [0], [4]]);
  });

  it("reduceByWindow with an inverse gives nothing before the first element", async () => {
    const out = await run([[[], [5], [], []]], (s: DStream<number>) => s.reduceByWindow(add, sub, Seconds(2), Seconds(1)));
    expect(out).toEqual([[], [5], [5], [0]]);
  });

  it("reduceByWindow with window 4 and slide 2, with and without an inverse", async () => {
    const expected = [[3], [10], [18]];
    const plain = await run([counting(6)], (s: DStream<number>) => s.reduceByWindow(add, Seconds(4), Seconds(2)), 6, 2);
    expect(plain).toEqual(expected);
    const inv = await run([counting(6)], (s: DStream<number>) => s.reduceByWindow(add, sub, Seconds(4), Seconds(2)), 6, 2);
    expect(inv).toEqual(expected);
  });

  it("countByWindow: no output before the first element, then 0 (not nothing) for empty windows", async () => {
    const input2 = [[], ["x"], [], [], ["y", "z"], []];
    const out = await run([input2], (s: DStream<string>) => s.countByWindow(Seconds(2), Seconds(1)), undefined, 2);
    expect(out).toEqual([[], [1], [1], [0], [2], [2]]);
  });

  it("countByWindow with window 6 and slide 3", async () => {
    const out = await run([counting(12)], (s: DStream<number>) => s.countByWindow(Seconds(6), Seconds(3)), 12, 2);
    expect(out).toEqual([[3], [6], [6], [6]]);
  });
});

describe("reduceByKeyAndWindow", () => {
  const wordInput = [["a", "b"], ["a"], [], [], ["b"], []];
  const pairs = (s: DStream<string>) => s.map((w): P => [w, 1]);

  it("with an inverse and no filter: keys whose count falls to 0 stay", async () => {
    const out = await run([wordInput], (s: DStream<string>) => pairs(s).reduceByKeyAndWindow(add, sub, Seconds(3), Seconds(1)), undefined, 2);
    expect(sortBatches(out)).toEqual(
      sortBatches([
        [
          ["a", 1],
          ["b", 1],
        ],
        [
          ["a", 2],
          ["b", 1],
        ],
        [
          ["a", 2],
          ["b", 1],
        ],
        [
          ["a", 1],
          ["b", 0],
        ],
        [
          ["a", 0],
          ["b", 1],
        ],
        [
          ["a", 0],
          ["b", 1],
        ],
      ]),
    );
  });

  it("with an inverse and a filter removing zero counts", async () => {
    const out = await run(
      [wordInput],
      (s: DStream<string>) => pairs(s).reduceByKeyAndWindow(add, sub, Seconds(3), Seconds(1), undefined, (kv) => kv[1] !== 0),
      undefined,
      2,
    );
    expect(sortBatches(out)).toEqual(
      sortBatches([
        [
          ["a", 1],
          ["b", 1],
        ],
        [
          ["a", 2],
          ["b", 1],
        ],
        [
          ["a", 2],
          ["b", 1],
        ],
        [["a", 1]],
        [["b", 1]],
        [["b", 1]],
      ]),
    );
  });

  it("without an inverse: only keys present in the window", async () => {
    const out = await run([wordInput], (s: DStream<string>) => pairs(s).reduceByKeyAndWindow(add, Seconds(3), Seconds(1)), undefined, 2);
    expect(sortBatches(out)).toEqual(
      sortBatches([
        [
          ["a", 1],
          ["b", 1],
        ],
        [
          ["a", 2],
          ["b", 1],
        ],
        [
          ["a", 2],
          ["b", 1],
        ],
        [["a", 1]],
        [["b", 1]],
        [["b", 1]],
      ]),
    );
  });

  it("window 4, slide 2, inverse and filter: keys leave and enter between slides", async () => {
    const input = [["a"], ["b"], ["a"], [], [], ["c"], [], []];
    const out = await run(
      [input],
      (s: DStream<string>) => pairs(s).reduceByKeyAndWindow(add, sub, Seconds(4), Seconds(2), undefined, (kv) => kv[1] !== 0),
      8,
      2,
    );
    expect(sortBatches(out)).toEqual(
      sortBatches([
        [
          ["a", 1],
          ["b", 1],
        ],
        [
          ["a", 2],
          ["b", 1],
        ],
        [
          ["a", 1],
          ["c", 1],
        ],
        [["c", 1]],
      ]),
    );
  });

  it("a filter that drops a non-zero value makes a later window fail, as in Spark", async () => {
    // Spark's ReducedWindowedDStream keeps only the filtered RDD as the previous window. Here "a"
    // (value 1) is filtered out at t = 1; at t = 4 batch 1 slides out, so "a" has old values but
    // neither a previous value nor new values: Spark throws "Neither previous window has value for
    // key, nor new values found".
    const input = [["a"], [], [], []];
    await expect(
      run(
        [input],
        (s: DStream<string>) => pairs(s).reduceByKeyAndWindow(add, sub, Seconds(3), Seconds(1), undefined, (kv) => kv[1] !== 1),
        undefined,
        2,
      ),
    ).rejects.toThrow(/Neither previous window has value for key, nor new values found/);
  });

  it("a long window (10 batches, slide 1) over 15 batches, with and without an inverse", async () => {
    // Batch i holds ("k", i); batch 1 also holds ("z", 1).
    const input: P[][] = range(1, 15).map((i) =>
      i === 1
        ? [
            ["k", 1],
            ["z", 1],
          ]
        : [["k", i]],
    );
    const windowSum = (t: number) => range(Math.max(1, t - 9), t).reduce(add, 0);
    expect(range(1, 15).map(windowSum)).toEqual([1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 65, 75, 85, 95, 105]);
    const inv = await run([input], (s: DStream<P>) => s.reduceByKeyAndWindow(add, sub, Seconds(10), Seconds(1)), 15, 2);
    expect(sortBatches(inv)).toEqual(
      sortBatches(
        range(1, 15).map(
          (t) =>
            [
              ["k", windowSum(t)],
              ["z", t <= 10 ? 1 : 0],
            ] as P[],
        ),
      ),
    );
    const plain = await run([input], (s: DStream<P>) => s.reduceByKeyAndWindow(add, Seconds(10), Seconds(1)), 15, 2);
    expect(sortBatches(plain)).toEqual(
      sortBatches(
        range(1, 15).map(
          (t) =>
            (t <= 10
              ? [
                  ["k", windowSum(t)],
                  ["z", 1],
                ]
              : [["k", windowSum(t)]]) as P[],
        ),
      ),
    );
  });

  it("window 6 with slide 3 over 12 batches, with and without an inverse", async () => {
    const input: P[][] = range(1, 12).map((i) => [["k", i]]);
    const expected = [[["k", 6]], [["k", 21]], [["k", 39]], [["k", 57]]];
    const inv = await run([input], (s: DStream<P>) => s.reduceByKeyAndWindow(add, sub, Seconds(6), Seconds(3)), 12, 2);
    expect(inv).toEqual(expected);
    const plain = await run([input], (s: DStream<P>) => s.reduceByKeyAndWindow(add, Seconds(6), Seconds(3)), 12, 2);
    expect(plain).toEqual(expected);
  });

  it("numPartitions sets the partitions of the windowed result", async () => {
    const input: P[][] = [
      [
        ["a", 1],
        ["b", 1],
        ["c", 1],
      ],
      [],
    ];
    const inv = await run([input], (s: DStream<P>) => s.reduceByKeyAndWindow(add, sub, Seconds(2), Seconds(1), 3).glom(), undefined, 2);
    // "c" -> 0, "a" -> 1, "b" -> 2 of 3.
    expect(inv).toEqual([
      [[["c", 1]], [["a", 1]], [["b", 1]]],
      [[["c", 1]], [["a", 1]], [["b", 1]]],
    ]);
    const plain = await run([input], (s: DStream<P>) => s.reduceByKeyAndWindow(add, Seconds(2), Seconds(1), 3).glom(), undefined, 2);
    expect(plain).toEqual(inv);
  });
});

describe("groupByKeyAndWindow and countByValueAndWindow", () => {
  it("groupByKeyAndWindow collects each key's values over the window", async () => {
    const input: P[][] = [
      [
        ["a", 1],
        ["b", 2],
      ],
      [["a", 3]],
      [],
      [["b", 4]],
    ];
    const out = await run(
      [input],
      (s: DStream<P>) => s.groupByKeyAndWindow(Seconds(2), Seconds(1)).map(([k, vs]): [string, number[]] => [k, sorted(vs)]),
      undefined,
      2,
    );
    expect(sortBatches(out)).toEqual(
      sortBatches([
        [
          ["a", [1]],
          ["b", [2]],
        ],
        [
          ["a", [1, 3]],
          ["b", [2]],
        ],
        [["a", [3]]],
        [["b", [4]]],
      ]),
    );
  });

  it("groupByKeyAndWindow keeps values of different batches in time order", async () => {
    // One value per key per batch, so only the order across batches matters: the window is a
    // PartitionerAwareUnionRDD of the per-batch groups in time order, combined without a shuffle.
    const input: P[][] = [
      [
        ["a", 1],
        ["b", 10],
      ],
      [["a", 2]],
      [
        ["b", 30],
        ["a", 3],
      ],
      [["a", 4]],
    ];
    const out = await run([input], (s: DStream<P>) => s.groupByKeyAndWindow(Seconds(3), Seconds(1)), undefined, 2);
    expect(sortBatches(out)).toEqual(
      sortBatches([
        [
          ["a", [1]],
          ["b", [10]],
        ],
        [
          ["a", [1, 2]],
          ["b", [10]],
        ],
        [
          ["a", [1, 2, 3]],
          ["b", [10, 30]],
        ],
        [
          ["a", [2, 3, 4]],
          ["b", [30]],
        ],
      ]),
    );
  });

  it("groupByKeyAndWindow with window 4 and slide 2", async () => {
    const input: P[][] = [[["a", 1]], [["b", 2]], [["a", 3]], [], [], [["c", 6]]];
    const out = await run(
      [input],
      (s: DStream<P>) => s.groupByKeyAndWindow(Seconds(4), Seconds(2)).map(([k, vs]): [string, number[]] => [k, sorted(vs)]),
      6,
      2,
    );
    expect(sortBatches(out)).toEqual(
      sortBatches([
        [
          ["a", [1]],
          ["b", [2]],
        ],
        [
          ["a", [1, 3]],
          ["b", [2]],
        ],
        [
          ["a", [3]],
          ["c", [6]],
        ],
      ]),
    );
  });

  it("countByValueAndWindow drops values whose count falls to zero", async () => {
    const input = [["x", "y", "x"], ["y"], [], []];
    const out = await run([input], (s: DStream<string>) => s.countByValueAndWindow(Seconds(2), Seconds(1)), undefined, 2);
    expect(sortBatches(out)).toEqual(
      sortBatches([
        [
          ["x", 2],
          ["y", 1],
        ],
        [
          ["x", 2],
          ["y", 2],
        ],
        [["y", 1]],
        [],
      ]),
    );
  });
});

describe("operations on windowed (slide 2) streams", () => {
  it("a window of a window: window(4s, 4s) over window(2s, 2s)", async () => {
    const out = await run([counting(9)], (s: DStream<number>) => s.window(Seconds(2), Seconds(2)).window(Seconds(4), Seconds(4)), 9);
    expect(out).toEqual([range(1, 4), range(5, 8)]);
  });

  it("reduceByKeyAndWindow with an inverse over a parent with a 2 s slide", async () => {
    const input: P[][] = range(1, 8).map((i) => [["k", i]]);
    const out = await run([input], (s: DStream<P>) => s.window(Seconds(2), Seconds(2)).reduceByKeyAndWindow(add, sub, Seconds(4), Seconds(2)), 8, 2);
    // Windows (t-4, t] at t = 2, 4, 6, 8: 1+2, 1..4, 3..6, 5..8.
    expect(out).toEqual([[["k", 3]], [["k", 10]], [["k", 18]], [["k", 26]]]);
  });

  it("updateStateByKey over a parent with a 2 s slide updates once per slide", async () => {
    const out = await run(
      [counting(6)],
      (s: DStream<number>) =>
        s
          .map((x): P => ["k", x])
          .window(Seconds(2), Seconds(2))
          .updateStateByKey((vs: number[], st: number | undefined) => (st ?? 0) + vs.reduce(add, 0)),
      6,
      2,
    );
    expect(out).toEqual([[["k", 3]], [["k", 10]], [["k", 21]]]);
  });

  it("union of streams with different slide durations is rejected", async () => {
    await expect(run([counting(2)], (s: DStream<number>) => s.union(s.window(Seconds(2), Seconds(2))), 2)).rejects.toThrow(/slide duration/);
  });

  it("a window or slide that is not a multiple of the parent's slide is rejected", async () => {
    await expect(run([counting(2)], (s: DStream<number>) => s.window(Seconds(2), Seconds(2)).window(Seconds(3), Seconds(2)), 2)).rejects.toThrow(
      /multiple/,
    );
    await expect(run([counting(2)], (s: DStream<number>) => s.window(Seconds(4), Seconds(2)).window(Seconds(4), Seconds(3)), 2)).rejects.toThrow(
      /multiple/,
    );
  });
});
