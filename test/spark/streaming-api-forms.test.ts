// Spark's other calling forms of DStream and StreamingContext operations, ported from Apache Spark's
//   streaming/src/test/scala/org/apache/spark/streaming/WindowOperationsSuite.scala
//     ("reduceByKeyAndWindow with inverse and filter functions - big test", its data in the
//     named-argument, keyword-argument and invFunc = None forms of Scala and PySpark)
//   streaming/src/test/scala/org/apache/spark/streaming/BasicOperationsSuite.scala
//     ("StreamingContext.union", "StreamingContext.transform", "slice",
//     "slice - has not been initialized")
//   core/src/test/scala/org/apache/spark/rdd/PairRDDFunctionsSuite.scala ("groupWith", as a
//     three-way cogroup of three streams)
// Inputs and expected outputs are copied from those suites; the TypeScript is ours.

import { describe, expect, it } from "vitest";
import { IllegalStateError, InvalidArgumentError, runBatches, Seconds, StreamingContext, Time, type DStream, type RDD } from "../../lib/index.js";
import { range, sortBatches } from "./helpers.js";

type Pair = [string, number];

const bigInput: Pair[][] = [
  [["a", 1]],
  [
    ["a", 1],
    ["b", 1],
  ],
  [
    ["a", 1],
    ["b", 1],
    ["c", 1],
  ],
  [
    ["a", 1],
    ["b", 1],
  ],
  [["a", 1]],
  [],
  [["a", 1]],
  [
    ["a", 1],
    ["b", 1],
  ],
  [
    ["a", 1],
    ["b", 1],
    ["c", 1],
  ],
  [
    ["a", 1],
    ["b", 1],
  ],
  [["a", 1]],
  [],
];

/** WindowOperationsSuite's bigReduceOutput: the naive form's output, and the filtered inverse form's. */
const bigReduceOutput: Pair[][] = [
  [["a", 1]],
  [
    ["a", 2],
    ["b", 1],
  ],
  [
    ["a", 2],
    ["b", 2],
    ["c", 1],
  ],
  [
    ["a", 2],
    ["b", 2],
    ["c", 1],
  ],
  [
    ["a", 2],
    ["b", 1],
  ],
  [["a", 1]],
  [["a", 1]],
  [
    ["a", 2],
    ["b", 1],
  ],
  [
    ["a", 2],
    ["b", 2],
    ["c", 1],
  ],
  [
    ["a", 2],
    ["b", 2],
    ["c", 1],
  ],
  [
    ["a", 2],
    ["b", 1],
  ],
  [["a", 1]],
];

const add = (a: number, b: number) => a + b;
const sub = (a: number, b: number) => a - b;
const nonZero = (p: [string, number]) => p[1] !== 0;

const runBig = (pipeline: (s: DStream<Pair>) => DStream<Pair>) =>
  runBatches({ batchInterval: Seconds(1), inputs: [bigInput], pipeline, numBatches: bigReduceOutput.length, inputPartitions: 2 });

describe("reduceByKeyAndWindow: Spark's named and keyword argument forms (WindowOperationsSuite big test)", () => {
  it("filterFunc where numPartitions goes: Scala's `filterFunc = ...` named, PySpark's filterFunc= keyword", async () => {
    const out = await runBig((s) => s.reduceByKeyAndWindow(add, sub, Seconds(2), Seconds(1), nonZero));
    expect(sortBatches(out)).toEqual(sortBatches(bigReduceOutput));
  });

  it("the optional arguments as an options object, with or without the slide before it", async () => {
    const out = await runBig((s) =>
      s
        .reduceByKeyAndWindow(add, sub, Seconds(2), { filterFunc: nonZero })
        .union(
          s
            .reduceByKeyAndWindow(add, sub, Seconds(2), Seconds(1), { numPartitions: 3, filterFunc: nonZero })
            .map(([k, v]): Pair => [k.toUpperCase(), v]),
        ),
    );
    const both = bigReduceOutput.map((b) => [...b, ...b.map(([k, v]): Pair => [k.toUpperCase(), v])]);
    expect(sortBatches(out)).toEqual(sortBatches(both));
  });

  it("invFunc null or undefined selects the form without an inverse, as PySpark's None (keys leave the window)", async () => {
    const out = await runBig((s) =>
      s
        .reduceByKeyAndWindow(add, null, Seconds(2), Seconds(1), 2)
        .union(s.reduceByKeyAndWindow(add, undefined, Seconds(2)).map(([k, v]): Pair => [k.toUpperCase(), v])),
    );
    const both = bigReduceOutput.map((b) => [...b, ...b.map(([k, v]): Pair => [k.toUpperCase(), v])]);
    expect(sortBatches(out)).toEqual(sortBatches(both));
  });

  it("bad forms name the argument and the fix", () => {
    const ssc = new StreamingContext(Seconds(1));
    const s = ssc.queueStream<Pair>([]);
    expect(() => s.reduceByKeyAndWindow(add, null, Seconds(2), Seconds(1), nonZero)).toThrow(/filterFunc applies to the incremental form only/);
    expect(() => s.reduceByKeyAndWindow(add, sub, Seconds(2), { filter: nonZero } as never)).toThrow(/Unknown option `filter`/);
    expect(() => s.reduceByKeyAndWindow(add, sub, Seconds(2), Seconds(1), { slideDuration: Seconds(1) } as never)).toThrow(/slide duration twice/);
    expect(() => s.reduceByKeyAndWindow(add, sub, Seconds(2), Seconds(1), 2, { numPartitions: 3 } as never)).toThrow(/got the partitions twice/);
    expect(() => s.reduceByKeyAndWindow(add, sub, Seconds(2), { filterFunc: nonZero } as never, 2 as never)).toThrow(/must be its last argument/);
    expect(() => s.reduceByKeyAndWindow(add, sub, Seconds(2), 5 as never)).toThrow(InvalidArgumentError);
    expect(() => s.reduceByKeyAndWindow(add, sub, 2 as never)).toThrow(/window duration of reduceByKeyAndWindow to be a Duration/);
  });
});

describe("StreamingContext.union, StreamingContext.transform and a three-way cogroup", () => {
  const input = [range(1, 4), range(101, 104), range(201, 204)];
  const output = [range(1, 12), range(101, 112), range(201, 212)];

  it("BasicOperationsSuite: StreamingContext.union, as varargs and as an array", async () => {
    const out = await runBatches({
      batchInterval: Seconds(1),
      inputs: [input],
      inputPartitions: 2,
      pipeline: (s: DStream<number>) => {
        const ssc = s.context() as StreamingContext;
        return ssc
          .union(
            s,
            s.map((x) => x + 4),
            s.map((x) => x + 8),
          )
          .union(ssc.union([s.map((x) => -x)]));
      },
    });
    expect(out).toEqual(output.map((b, i) => [...b, ...input[i]!.map((x) => -x)]));
    expect(() => new StreamingContext(Seconds(1)).union(1 as never)).toThrow(/ssc.union's arguments to be DStreams/);
  });

  it("BasicOperationsSuite: StreamingContext.transform (a union of the 3 RDDs with rdd.context.union)", async () => {
    const out = await runBatches({
      batchInterval: Seconds(1),
      inputs: [input],
      inputPartitions: 2,
      pipeline: (s: DStream<number>) =>
        (s.context() as StreamingContext).transform<number>([s, s.map((x) => x + 4), s.map((x) => x + 8)], (rdds) =>
          rdds[0]!.context.union(rdds as RDD<number>[]),
        ),
    });
    expect(out).toEqual(output);
  });

  it("PairRDDFunctionsSuite: groupWith, as ssc.transform of three streams with rdd.cogroup(other1, other2)", async () => {
    const out = await runBatches({
      batchInterval: Seconds(1),
      inputPartitions: 2,
      inputs: [
        [
          [
            [1, 1],
            [1, 2],
            [2, 1],
            [3, 1],
          ],
        ],
        [
          [
            [1, "x"],
            [2, "y"],
            [2, "z"],
            [4, "w"],
          ],
        ],
        [
          [
            [1, "a"],
            [3, "b"],
            [4, "c"],
            [4, "d"],
          ],
        ],
      ],
      pipeline: (a: DStream<[number, number]>, b: DStream<[number, string]>, c: DStream<[number, string]>) =>
        (a.context() as StreamingContext).transform([a, b, c], ([r1, r2, r3]) =>
          (r1 as RDD<[number, number]>).cogroup(r2 as RDD<[number, string]>, r3 as RDD<[number, string]>),
        ),
    });
    const normalized = out.map((batch) => batch.map(([k, groups]) => [k, groups.map((g) => [...g].sort())]));
    expect(sortBatches(normalized)).toEqual(
      sortBatches([
        [
          [1, [[1, 2], ["x"], ["a"]]],
          [2, [[1], ["y", "z"], []]],
          [3, [[1], [], ["b"]]],
          [4, [[], ["w"], ["c", "d"]]],
        ],
      ]),
    );
  });
});

describe("DStream.slice (BasicOperationsSuite)", () => {
  it("slice: the RDDs at every batch in [from, to], read inside foreachRDD", async () => {
    const seen = new Map<string, number[]>();
    await runBatches({
      batchInterval: Seconds(1),
      inputs: [[[1], [2], [3], [4]]],
      inputPartitions: 2,
      pipeline: (s: DStream<number>) => {
        s.foreachRDD(async (_rdd, time) => {
          if (time.milliseconds !== 4000) return;
          const fromSlice = async (from: number, to: number) =>
            (await Promise.all((await s.slice(new Time(from), new Time(to))).map((r) => r.collect()))).flat().sort((x, y) => x - y);
          seen.set("0-1000", await fromSlice(0, 1000));
          seen.set("0-2000", await fromSlice(0, 2000));
          seen.set("1000-2000", await fromSlice(1000, 2000));
          seen.set("2000-4000", await fromSlice(2000, 4000));
          // Times off the batch boundaries are floored to one, as in Spark.
          seen.set("1500-3500", await fromSlice(1500, 3500));
          const viaInterval = await s.slice({ beginTime: new Time(3000), endTime: new Time(4000) });
          seen.set(
            "interval",
            (await Promise.all(viaInterval.map((r) => r.collect()))).flat().sort((x, y) => x - y),
          );
        });
        return s;
      },
    });
    expect(Object.fromEntries(seen)).toEqual({
      "0-1000": [1],
      "0-2000": [1, 2],
      "1000-2000": [1, 2],
      "2000-4000": [2, 3, 4],
      "1500-3500": [1, 2, 3],
      interval: [3, 4],
    });
  });

  it("slice - has not been initialized; and outside a running batch", async () => {
    const ssc = new StreamingContext(Seconds(1));
    const stream = ssc.queueStream([[1], [2], [3], [4]]);
    await expect(stream.slice(new Time(0), new Time(1000))).rejects.toThrow(/has not been initialized/);
    stream.foreachRDD(() => undefined); // Spark's test: a dummy output stream
    ssc.prepare(0);
    await expect(stream.slice(new Time(0), new Time(1000))).rejects.toThrow(IllegalStateError);
    await expect(stream.slice(new Time(0), new Time(1000))).rejects.toThrow(/inside foreachRDD/);
    await ssc.stop();
  });
});
