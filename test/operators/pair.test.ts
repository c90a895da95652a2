// Pair DStream operations (Spark's PairDStreamFunctions), in Spark's
// TestSuiteBase style. Every keyed operation hash-partitions, so batches are
// compared order-insensitively (sortBatches), and the values of a group (whose
// order a shuffle leaves undefined) are sorted before comparing. Narrow pair
// operations (mapValues, flatMapValues before any shuffle) keep the order and
// are compared exactly.
//
// Where partition placement is asserted it is worked out from Spark's
// HashPartitioner: nonNegativeMod(key.hashCode, numPartitions), with
// java.lang.String.hashCode for strings and the int value for Integers.

import { describe, expect, it } from "vitest";
import { runBatches, Seconds, type DStream } from "../../lib/index.js";
import { javaStringHash, nonNegativeMod, sortBatches, sorted } from "./helpers.js";

type P<V = number> = [string, V];

const run = <T>(inputs: unknown[][][], pipeline: (...s: DStream<any>[]) => DStream<T>, inputPartitions = 2, numBatches?: number) =>
  runBatches<T>({ batchInterval: Seconds(1), inputs, pipeline, inputPartitions, numBatches });

/** Sorts each group's value lists: [k, vs] or [k, [vs, ws]]. */
const sortGroups = (batches: unknown[][]): unknown[][] =>
  sortBatches(
    batches.map((b) =>
      b.map((e) => {
        const [k, v] = e as [unknown, unknown];
        if (Array.isArray(v) && v.length === 2 && Array.isArray(v[0]) && Array.isArray(v[1])) return [k, [sorted(v[0]), sorted(v[1])]];
        return [k, sorted(v as unknown[])];
      }),
    ),
  );

describe("combineByKey, mapValues, flatMapValues", () => {
  it("combineByKey computes a per-key average via [sum, count]", async () => {
    const input: P[][] = [
      [
        ["a", 1],
        ["b", 10],
        ["a", 3],
        ["c", 7],
        ["a", 5],
      ],
      [
        ["b", 4],
        ["b", 6],
      ],
      [],
    ];
    const out = await run(
      [input],
      (s: DStream<P>) =>
        s
          .combineByKey<string, number, [number, number]>(
            (v) => [v, 1],
            (c, v) => [c[0] + v, c[1] + 1],
            (x, y) => [x[0] + y[0], x[1] + y[1]],
          )
          .mapValues(([total, n]) => total / n),
      3,
    );
    expect(sortBatches(out)).toEqual(
      sortBatches([
        [
          ["a", 3],
          ["b", 10],
          ["c", 7],
        ],
        [["b", 5]],
        [],
      ]),
    );
  });

  it("combineByKey without map-side combine gives the same result", async () => {
    const input: P[][] = [
      [
        ["a", 1],
        ["a", 2],
        ["b", 3],
        ["a", 4],
      ],
    ];
    const out = await run(
      [input],
      (s: DStream<P>) =>
        s
          .combineByKey<string, number, number[]>(
            (v) => [v],
            (c, v) => [...c, v],
            (x, y) => [...x, ...y],
            2,
            false,
          )
          .mapValues((vs) => sorted(vs)),
      3,
    );
    expect(sortBatches(out)).toEqual(
      sortBatches([
        [
          ["a", [1, 2, 4]],
          ["b", [3]],
        ],
      ]),
    );
  });

  it("combineByKey(numPartitions) gives that many partitions", async () => {
    const out = await run(
      [
        [
          [
            ["a", 1],
            ["b", 2],
          ],
        ],
      ],
      (s: DStream<P>) =>
        s
          .combineByKey(
            (v: number) => v,
            (c: number, v: number) => c + v,
            (x: number, y: number) => x + y,
            5,
          )
          .glom()
          .map((p) => p.length),
    );
    expect(out[0]!.length).toBe(5);
  });

  it("mapValues keeps keys and order (narrow)", async () => {
    const input: P[][] = [
      [
        ["b", 2],
        ["a", 1],
        ["b", 3],
      ],
      [["z", 0]],
    ];
    const out = await run([input], (s: DStream<P>) => s.mapValues((v) => ({ doubled: v * 2 })), 2);
    expect(out).toEqual([
      [
        ["b", { doubled: 4 }],
        ["a", { doubled: 2 }],
        ["b", { doubled: 6 }],
      ],
      [["z", { doubled: 0 }]],
    ]);
  });

  it("flatMapValues expands in order; an empty result drops the pair", async () => {
    const input: P[][] = [
      [
        ["a", 2],
        ["b", 0],
        ["c", 1],
      ],
    ];
    const out = await run([input], (s: DStream<P>) => s.flatMapValues((n) => Array.from({ length: n }, (_, i) => i)), 2);
    expect(out).toEqual([
      [
        ["a", 0],
        ["a", 1],
        ["c", 0],
      ],
    ]);
  });

  it("mapValues after reduceByKey keeps the partitioner: a second reduceByKey finds the same partitions", async () => {
    const input: P[][] = [
      [
        ["a", 1],
        ["b", 2],
        ["a", 3],
        ["c", 4],
      ],
    ];
    const out = await run([input], (s: DStream<P>) =>
      s
        .reduceByKey((x, y) => x + y, 3)
        .mapValues((v) => v * 10)
        .reduceByKey((x, y) => x + y, 3)
        .glom()
        .map((p) => sorted(p.map((kv) => kv[0]))),
    );
    // "c" = 99 -> 0, "a" = 97 -> 1, "b" = 98 -> 2.
    expect(out).toEqual([[["c"], ["a"], ["b"]]]);
  });
});

describe("groupByKey and reduceByKey", () => {
  it("groupByKey(3) puts each key in its hash partition", async () => {
    const input: P[][] = [
      [
        ["a", 1],
        ["b", 2],
        ["c", 3],
        ["a", 4],
        ["c", 5],
      ],
      [],
    ];
    const out = await run(
      [input],
      (s: DStream<P>) =>
        s
          .groupByKey(3)
          .glom()
          .map((part) => sorted(part.map(([k, vs]) => [k, sorted(vs)]))),
      2,
    );
    const expected: unknown[][][] = [
      [[], [], []],
      [[], [], []],
    ];
    for (const [k, vs] of [
      ["a", [1, 4]],
      ["b", [2]],
      ["c", [3, 5]],
    ] as const) {
      expected[0]![nonNegativeMod(javaStringHash(k), 3)]!.push([k, vs]);
    }
    expect(expected[0]).toEqual([[["c", [3, 5]]], [["a", [1, 4]]], [["b", [2]]]]);
    expect(out).toEqual(expected);
  });

  it("groupByKey with integer keys: negative keys use a non-negative modulo", async () => {
    const input: [number, string][][] = [
      [
        [-1, "m"],
        [4, "x"],
        [3, "y"],
        [4, "z"],
      ],
    ];
    const out = await run(
      [input],
      (s: DStream<[number, string]>) =>
        s
          .groupByKey(3)
          .glom()
          .map((part) => sorted(part.map(([k, vs]) => [k, sorted(vs)]))),
      2,
    );
    // Integer.hashCode is the value: 3 -> 0, 4 -> 1, -1 -> nonNegativeMod(-1, 3) = 2.
    expect(out).toEqual([[[[3, ["y"]]], [[4, ["x", "z"]]], [[-1, ["m"]]]]]);
  });

  it("groupByKey groups per batch only", async () => {
    const input: P[][] = [
      [
        ["a", 1],
        ["a", 2],
      ],
      [["a", 3]],
      [],
    ];
    const out = await run([input], (s: DStream<P>) => s.groupByKey());
    expect(sortGroups(out)).toEqual([[["a", [1, 2]]], [["a", [3]]], []]);
  });

  it("tuple keys are grouped structurally (different array instances, same contents)", async () => {
    const input: [[string, number], number][][] = [
      [
        [["a", 1], 5],
        [["a", 2], 7],
        [["a", 1], 6],
        [["b", 1], 1],
        [["a", 1], 10],
      ],
    ];
    const reduced = await run([input], (s: DStream<[[string, number], number]>) => s.reduceByKey((x, y) => x + y), 3);
    expect(sortBatches(reduced)).toEqual(
      sortBatches([
        [
          [["a", 1], 21],
          [["a", 2], 7],
          [["b", 1], 1],
        ],
      ]),
    );
    const grouped = await run([input], (s: DStream<[[string, number], number]>) => s.groupByKey(), 3);
    expect(sortGroups(grouped)).toEqual(
      sortBatches([
        [
          [
            ["a", 1],
            [5, 6, 10],
          ],
          [["a", 2], [7]],
          [["b", 1], [1]],
        ],
      ]),
    );
  });

  it('numeric 1 and string "1" are different keys', async () => {
    const input: [number | string, string][][] = [
      [
        [1, "x"],
        ["1", "y"],
        [1, "z"],
        ["1", "w"],
        [2, "v"],
      ],
    ];
    const out = await run([input], (s: DStream<[number | string, string]>) => s.groupByKey(), 2);
    expect(sortGroups(out)).toEqual(
      sortBatches([
        [
          [1, ["x", "z"]],
          ["1", ["w", "y"]],
          [2, ["v"]],
        ],
      ]),
    );
  });

  it("null is a key like any other (Spark's HashPartitioner sends it to partition 0)", async () => {
    const input: [string | null, number][][] = [
      [
        [null, 1],
        ["a", 2],
        [null, 3],
      ],
    ];
    const out = await run([input], (s: DStream<[string | null, number]>) => s.reduceByKey((x, y) => x + y, 2).glom());
    // null -> 0; "a" = 97 -> 1.
    expect(out).toEqual([[[[null, 4]], [["a", 2]]]]);
  });

  it("keyed operations without numPartitions use the context's defaultParallelism", async () => {
    const out = await runBatches({
      batchInterval: Seconds(1),
      inputs: [[["a", "b", "c"]]],
      inputPartitions: 2,
      defaultParallelism: 3,
      pipeline: (s: DStream<string>) =>
        s
          .map((w): P => [w, 1])
          .reduceByKey((x, y) => x + y)
          .glom(),
    });
    expect(out).toEqual([[[["c", 1]], [["a", 1]], [["b", 1]]]]);
  });

  it("reduceByKey(numPartitions) gives that many partitions, some of them empty", async () => {
    const out = await run(
      [
        [
          [
            ["a", 1],
            ["a", 1],
          ],
        ],
      ],
      (s: DStream<P>) => s.reduceByKey((x, y) => x + y, 4).glom(),
    );
    // "a" = 97 -> 97 mod 4 = 1.
    expect(out).toEqual([[[], [["a", 2]], [], []]]);
  });
});

describe("joins and cogroup", () => {
  it("join with duplicate keys on both sides is the per-key cartesian product", async () => {
    const left: P[][] = [
      [
        ["a", 1],
        ["a", 2],
        ["b", 3],
        ["d", 9],
      ],
    ];
    const right: P<string>[][] = [
      [
        ["a", "x"],
        ["a", "y"],
        ["b", "z"],
        ["c", "w"],
      ],
    ];
    const out = await run([left, right], (l: DStream<P>, r: DStream<P<string>>) => l.join(r));
    expect(sortBatches(out)).toEqual(
      sortBatches([
        [
          ["a", [1, "x"]],
          ["a", [1, "y"]],
          ["a", [2, "x"]],
          ["a", [2, "y"]],
          ["b", [3, "z"]],
        ],
      ]),
    );
  });

  it("join only matches keys within the same batch", async () => {
    const left: P[][] = [[["a", 1]], [], [["a", 3]]];
    const right: P<string>[][] = [[], [["a", "x"]], [["a", "y"]]];
    const out = await run([left, right], (l: DStream<P>, r: DStream<P<string>>) => l.join(r));
    expect(sortBatches(out)).toEqual([[], [], [["a", [3, "y"]]]]);
  });

  it("leftOuterJoin: undefined for a missing right side, cartesian where both exist", async () => {
    const left: P[][] = [
      [
        ["a", 1],
        ["b", 2],
        ["b", 3],
      ],
      [["c", 4]],
      [],
    ];
    const right: P<string>[][] = [
      [
        ["b", "x"],
        ["b", "y"],
        ["z", "q"],
      ],
      [],
      [["a", "r"]],
    ];
    const out = await run([left, right], (l: DStream<P>, r: DStream<P<string>>) => l.leftOuterJoin(r));
    expect(sortBatches(out)).toEqual(
      sortBatches([
        [
          ["a", [1, undefined]],
          ["b", [2, "x"]],
          ["b", [2, "y"]],
          ["b", [3, "x"]],
          ["b", [3, "y"]],
        ],
        [["c", [4, undefined]]],
        [],
      ]),
    );
  });

  it("rightOuterJoin: undefined for a missing left side", async () => {
    const left: P[][] = [
      [
        ["a", 1],
        ["q", 0],
      ],
      [],
    ];
    const right: P<string>[][] = [
      [
        ["a", "x"],
        ["c", "y"],
        ["c", "z"],
      ],
      [["d", "w"]],
    ];
    const out = await run([left, right], (l: DStream<P>, r: DStream<P<string>>) => l.rightOuterJoin(r));
    expect(sortBatches(out)).toEqual(
      sortBatches([
        [
          ["a", [1, "x"]],
          ["c", [undefined, "y"]],
          ["c", [undefined, "z"]],
        ],
        [["d", [undefined, "w"]]],
      ]),
    );
  });

  it("fullOuterJoin: both sides optional, duplicates still give a cartesian product", async () => {
    const left: P[][] = [
      [
        ["a", 1],
        ["a", 2],
        ["l", 5],
      ],
      [],
      [["m", 6]],
    ];
    const right: P<string>[][] = [
      [
        ["a", "x"],
        ["r", "y"],
        ["r", "z"],
      ],
      [],
      [],
    ];
    const out = await run([left, right], (l: DStream<P>, r: DStream<P<string>>) => l.fullOuterJoin(r));
    expect(sortBatches(out)).toEqual(
      sortBatches([
        [
          ["a", [1, "x"]],
          ["a", [2, "x"]],
          ["l", [5, undefined]],
          ["r", [undefined, "y"]],
          ["r", [undefined, "z"]],
        ],
        [],
        [["m", [6, undefined]]],
      ]),
    );
  });

  it("cogroup gives [k, [vs, ws]] for every key on either side, with [] for a missing side", async () => {
    const left: P[][] = [
      [
        ["a", 1],
        ["a", 2],
        ["b", 3],
      ],
      [],
      [["c", 4]],
    ];
    const right: P<string>[][] = [
      [
        ["a", "x"],
        ["d", "y"],
        ["d", "z"],
      ],
      [["e", "w"]],
      [],
    ];
    const out = await run([left, right], (l: DStream<P>, r: DStream<P<string>>) => l.cogroup(r));
    expect(sortGroups(out)).toEqual(
      sortBatches([
        [
          ["a", [[1, 2], ["x"]]],
          ["b", [[3], []]],
          ["d", [[], ["y", "z"]]],
        ],
        [["e", [[], ["w"]]]],
        [["c", [[4], []]]],
      ]),
    );
  });

  it("join(numPartitions) gives that many partitions", async () => {
    const left: P[][] = [
      [
        ["a", 1],
        ["b", 2],
      ],
    ];
    const right: P<string>[][] = [
      [
        ["a", "x"],
        ["b", "y"],
      ],
    ];
    const out = await run([left, right], (l: DStream<P>, r: DStream<P<string>>) => l.join(r, 3).glom());
    // "a" = 97 -> 1, "b" = 98 -> 2.
    expect(out).toEqual([[[], [["a", [1, "x"]]], [["b", [2, "y"]]]]]);
  });

  it("join on tuple keys matches structurally", async () => {
    const left: [[string, number], number][][] = [
      [
        [["u", 1], 10],
        [["u", 2], 20],
      ],
    ];
    const right: [[string, number], string][][] = [
      [
        [["u", 1], "one"],
        [["u", 3], "three"],
      ],
    ];
    const out = await run([left, right], (l: DStream<[[string, number], number]>, r: DStream<[[string, number], string]>) => l.join(r));
    expect(out).toEqual([
      [
        [
          ["u", 1],
          [10, "one"],
        ],
      ],
    ]);
  });
});
