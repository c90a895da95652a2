// Conformance tests ported from Apache Spark's
//   streaming/src/test/scala/org/apache/spark/streaming/WindowOperationsSuite.scala
// (inputs and expected outputs copied from the Spark suite; the TypeScript is ours).
//
// Harness mapping (TestSuiteBase.scala): batchDuration = Seconds(1), numInputPartitions = 2,
// every test here calls testOperation(input, operation, expectedOutput, numBatches, useSet = true)
// with `numBatches = expectedOutput.size * (slideDuration / batchDuration).toInt`, so each test
// passes that numBatches and compares batches order-insensitively (sortBatches).
//
// PORTED (Spark test name -> title "WindowOperationsSuite: <name>"):
//   window - basic window / tumbling window / larger window / non-overlapping window
//   reduceByKeyAndWindow - basic reduction / key already in window and new value added into
//     window / new key added into window / key removed from window / larger slide time / big test
//   reduceByKeyAndWindow with inverse function - (the same six)
//   reduceByKeyAndWindow with inverse and filter functions - big test
//   groupByKeyAndWindow, countByWindow, countByValueAndWindow
//
// SKIPPED (and why):
//   - "window - persistence level", "reduceByKeyAndWindow - persistence level" (present in newer
//     Spark versions of this suite): they only assert DStream.storageLevel values
//     (StorageLevel.NONE / MEMORY_ONLY_SER / MEMORY_ONLY), i.e. storage-level introspection.
//
// Dropped calls that do not change results:
//   - `.checkpoint(Seconds(100))` in the inverse-function tests (Spark's own comment: "Large value
//     to avoid effect of RDD checkpointing") and `.persist()` in the filtered-inverse test.

import { describe, expect, it } from "vitest";
import { runBatches, Seconds, type DStream } from "../../lib/index.js";
import { sortBatches, toSetArray } from "./helpers.js";

type Pair = [string, number];

const batchDurationSeconds = 1;

const largerSlideInput: Pair[][] = [
  [["a", 1]],
  [["a", 2]], // 1st window from here
  [["a", 3]],
  [["a", 4]], // 2nd window from here
  [["a", 5]],
  [["a", 6]], // 3rd window from here
  [],
  [], // 4th window from here
];

const largerSlideReduceOutput: Pair[][] = [[["a", 3]], [["a", 10]], [["a", 18]], [["a", 11]]];

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

const bigGroupByOutput: [string, number[]][][] = [
  [["a", [1]]],
  [
    ["a", [1, 1]],
    ["b", [1]],
  ],
  [
    ["a", [1, 1]],
    ["b", [1, 1]],
    ["c", [1]],
  ],
  [
    ["a", [1, 1]],
    ["b", [1, 1]],
    ["c", [1]],
  ],
  [
    ["a", [1, 1]],
    ["b", [1]],
  ],
  [["a", [1]]],
  [["a", [1]]],
  [
    ["a", [1, 1]],
    ["b", [1]],
  ],
  [
    ["a", [1, 1]],
    ["b", [1, 1]],
    ["c", [1]],
  ],
  [
    ["a", [1, 1]],
    ["b", [1, 1]],
    ["c", [1]],
  ],
  [
    ["a", [1, 1]],
    ["b", [1]],
  ],
  [["a", [1]]],
];

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

/*
  Spark's comment: The output of the reduceByKeyAndWindow with inverse function but without a
  filter function will be different from the naive reduceByKeyAndWindow, as no keys get
  eliminated from the ReducedWindowedDStream even if the value of a key becomes 0.
*/
const bigReduceInvOutput: Pair[][] = [
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
    ["c", 0],
  ],
  [
    ["a", 1],
    ["b", 0],
    ["c", 0],
  ],
  [
    ["a", 1],
    ["b", 0],
    ["c", 0],
  ],
  [
    ["a", 2],
    ["b", 1],
    ["c", 0],
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
    ["c", 0],
  ],
  [
    ["a", 1],
    ["b", 0],
    ["c", 0],
  ],
];

/** numBatches = expectedOutput.size * (slideDuration / batchDuration).toInt */
function numBatchesFor(expectedSize: number, slideSeconds: number): number {
  return expectedSize * Math.trunc(slideSeconds / batchDurationSeconds);
}

// ---- Helper functions mirroring the Spark suite's testWindow / testReduceByKeyAndWindow* ----

function testWindow(name: string, input: number[][], expectedOutput: number[][], windowSeconds = 2, slideSeconds = 1): void {
  it(`WindowOperationsSuite: window - ${name}`, async () => {
    const out = await runBatches({
      batchInterval: Seconds(1),
      inputs: [input],
      pipeline: (s: DStream<number>) => s.window(Seconds(windowSeconds), Seconds(slideSeconds)),
      numBatches: numBatchesFor(expectedOutput.length, slideSeconds),
      inputPartitions: 2,
    });
    expect(sortBatches(out)).toEqual(sortBatches(expectedOutput));
  });
}

function testReduceByKeyAndWindow(name: string, input: Pair[][], expectedOutput: Pair[][], windowSeconds = 2, slideSeconds = 1): void {
  it(`WindowOperationsSuite: reduceByKeyAndWindow - ${name}`, async () => {
    const out = await runBatches({
      batchInterval: Seconds(1),
      inputs: [input],
      pipeline: (s: DStream<Pair>) => s.reduceByKeyAndWindow((x: number, y: number) => x + y, Seconds(windowSeconds), Seconds(slideSeconds)),
      numBatches: numBatchesFor(expectedOutput.length, slideSeconds),
      inputPartitions: 2,
    });
    expect(sortBatches(out)).toEqual(sortBatches(expectedOutput));
  });
}

function testReduceByKeyAndWindowWithInverse(name: string, input: Pair[][], expectedOutput: Pair[][], windowSeconds = 2, slideSeconds = 1): void {
  it(`WindowOperationsSuite: reduceByKeyAndWindow with inverse function - ${name}`, async () => {
    const out = await runBatches({
      batchInterval: Seconds(1),
      inputs: [input],
      pipeline: (s: DStream<Pair>) =>
        s.reduceByKeyAndWindow(
          (a: number, b: number) => a + b,
          (a: number, b: number) => a - b,
          Seconds(windowSeconds),
          Seconds(slideSeconds),
        ),
      numBatches: numBatchesFor(expectedOutput.length, slideSeconds),
      inputPartitions: 2,
    });
    expect(sortBatches(out)).toEqual(sortBatches(expectedOutput));
  });
}

function testReduceByKeyAndWindowWithFilteredInverse(
  name: string,
  input: Pair[][],
  expectedOutput: Pair[][],
  windowSeconds = 2,
  slideSeconds = 1,
): void {
  it(`WindowOperationsSuite: reduceByKeyAndWindow with inverse and filter functions - ${name}`, async () => {
    const filterFunc = (p: Pair): boolean => p[1] !== 0;
    const out = await runBatches({
      batchInterval: Seconds(1),
      inputs: [input],
      pipeline: (s: DStream<Pair>) =>
        s.reduceByKeyAndWindow(
          (a: number, b: number) => a + b,
          (a: number, b: number) => a - b,
          Seconds(windowSeconds),
          Seconds(slideSeconds),
          undefined, // numPartitions: Spark's default (ssc.sc.defaultParallelism)
          filterFunc,
        ),
      numBatches: numBatchesFor(expectedOutput.length, slideSeconds),
      inputPartitions: 2,
    });
    expect(sortBatches(out)).toEqual(sortBatches(expectedOutput));
  });
}

describe("Spark WindowOperationsSuite", () => {
  // Testing window operation

  testWindow("basic window", [[0], [1], [2], [3], [4], [5]], [[0], [0, 1], [1, 2], [2, 3], [3, 4], [4, 5]]);

  testWindow(
    "tumbling window",
    [[0], [1], [2], [3], [4], [5]],
    [
      [0, 1],
      [2, 3],
      [4, 5],
    ],
    2,
    2,
  );

  testWindow(
    "larger window",
    [[0], [1], [2], [3], [4], [5]],
    [
      [0, 1],
      [0, 1, 2, 3],
      [2, 3, 4, 5],
      [4, 5],
    ],
    4,
    2,
  );

  testWindow(
    "non-overlapping window",
    [[0], [1], [2], [3], [4], [5]],
    [
      [1, 2],
      [4, 5],
    ],
    2,
    3,
  );

  // Testing naive reduceByKeyAndWindow (without invertible function)

  testReduceByKeyAndWindow(
    "basic reduction",
    [
      [
        ["a", 1],
        ["a", 3],
      ],
    ],
    [[["a", 4]]],
  );

  testReduceByKeyAndWindow("key already in window and new value added into window", [[["a", 1]], [["a", 1]]], [[["a", 1]], [["a", 2]]]);

  testReduceByKeyAndWindow(
    "new key added into window",
    [
      [["a", 1]],
      [
        ["a", 1],
        ["b", 1],
      ],
    ],
    [
      [["a", 1]],
      [
        ["a", 2],
        ["b", 1],
      ],
    ],
  );

  testReduceByKeyAndWindow("key removed from window", [[["a", 1]], [["a", 1]], [], []], [[["a", 1]], [["a", 2]], [["a", 1]], []]);

  testReduceByKeyAndWindow("larger slide time", largerSlideInput, largerSlideReduceOutput, 4, 2);

  testReduceByKeyAndWindow("big test", bigInput, bigReduceOutput);

  // Testing reduceByKeyAndWindow (with invertible reduce function)

  testReduceByKeyAndWindowWithInverse(
    "basic reduction",
    [
      [
        ["a", 1],
        ["a", 3],
      ],
    ],
    [[["a", 4]]],
  );

  testReduceByKeyAndWindowWithInverse("key already in window and new value added into window", [[["a", 1]], [["a", 1]]], [[["a", 1]], [["a", 2]]]);

  testReduceByKeyAndWindowWithInverse(
    "new key added into window",
    [
      [["a", 1]],
      [
        ["a", 1],
        ["b", 1],
      ],
    ],
    [
      [["a", 1]],
      [
        ["a", 2],
        ["b", 1],
      ],
    ],
  );

  testReduceByKeyAndWindowWithInverse("key removed from window", [[["a", 1]], [["a", 1]], [], []], [[["a", 1]], [["a", 2]], [["a", 1]], [["a", 0]]]);

  testReduceByKeyAndWindowWithInverse("larger slide time", largerSlideInput, largerSlideReduceOutput, 4, 2);

  testReduceByKeyAndWindowWithInverse("big test", bigInput, bigReduceInvOutput);

  testReduceByKeyAndWindowWithFilteredInverse("big test", bigInput, bigReduceOutput);

  it("WindowOperationsSuite: groupByKeyAndWindow", async () => {
    const input = bigInput;
    // bigGroupByOutput.map(_.map(x => (x._1, x._2.toSet)))
    const expectedOutput = bigGroupByOutput.map((batch) => batch.map(([k, vs]): [string, number[]] => [k, toSetArray(vs)]));
    const windowSeconds = 2;
    const slideSeconds = 1;
    const out = await runBatches({
      batchInterval: Seconds(1),
      inputs: [input],
      pipeline: (s: DStream<Pair>) =>
        s.groupByKeyAndWindow(Seconds(windowSeconds), Seconds(slideSeconds)).map(([k, vs]): [string, number[]] => [k, toSetArray(vs)]),
      numBatches: numBatchesFor(expectedOutput.length, slideSeconds),
      inputPartitions: 2,
    });
    expect(sortBatches(out)).toEqual(sortBatches(expectedOutput));
  });

  it("WindowOperationsSuite: countByWindow", async () => {
    const input = [[1], [1], [1, 2], [0], [], []];
    // Note the last window (batches 5 and 6 both empty) yields 0, not an empty output.
    const expectedOutput = [[1], [2], [3], [3], [1], [0]];
    const windowSeconds = 2;
    const slideSeconds = 1;
    const out = await runBatches({
      batchInterval: Seconds(1),
      inputs: [input],
      pipeline: (s: DStream<number>) => s.countByWindow(Seconds(windowSeconds), Seconds(slideSeconds)).map((x) => Math.trunc(x)), // .map(_.toInt)
      numBatches: numBatchesFor(expectedOutput.length, slideSeconds),
      inputPartitions: 2,
    });
    expect(sortBatches(out)).toEqual(sortBatches(expectedOutput));
  });

  it("WindowOperationsSuite: countByValueAndWindow", async () => {
    const input = [["a"], ["b", "b"], ["a", "b"]];
    const expectedOutput = [
      [["a", 1]],
      [
        ["a", 1],
        ["b", 2],
      ],
      [
        ["a", 1],
        ["b", 3],
      ],
    ];
    const windowSeconds = 2;
    const slideSeconds = 1;
    const out = await runBatches({
      batchInterval: Seconds(1),
      inputs: [input],
      pipeline: (s: DStream<string>) =>
        s.countByValueAndWindow(Seconds(windowSeconds), Seconds(slideSeconds)).map(([k, v]): [string, number] => [k, Math.trunc(v)]), // .map(x => (x._1, x._2.toInt))
      numBatches: numBatchesFor(expectedOutput.length, slideSeconds),
      inputPartitions: 2,
    });
    expect(sortBatches(out)).toEqual(sortBatches(expectedOutput));
  });
});
