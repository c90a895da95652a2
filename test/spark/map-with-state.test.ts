// Conformance tests ported from Apache Spark's
//   streaming/src/test/scala/org/apache/spark/streaming/MapWithStateSuite.scala
// (inputs and expected outputs copied from the Spark suite; the TypeScript is ours).
//
// Harness mapping (MapWithStateSuite.getOperationOutput / testOperation):
//   - StreamingContext(sc, Seconds(1)); TestInputStream(ssc, input, numPartitions = 2)
//       -> batchInterval: Seconds(1), inputPartitions: 2
//   - the stream under test is `inputStream.map(x => (x, 1)).mapWithState(spec)`; Spark collects
//     both the mapped stream and `.stateSnapshots()` in the same run. runBatches collects one
//     stream per run, so getOperationOutput below runs the same (deterministic) pipeline twice.
//   - numBatches = expectedOutputs.size (or the explicit 20 of "state timing out").
//   - the suite's private `assert` checks equal batch counts, then `c.toSet === e.toSet` per batch
//       -> expect(sortBatches(collected)).toEqual(sortBatches(expected)).
//
// PORTED (Spark test name -> title "MapWithStateSuite: <name>"):
//   mapWithState - basic operations with simple API
//   mapWithState - basic operations with advanced API
//   mapWithState - states as mapped data
//   mapWithState - initial states, with nothing returned as from mapping function
//   mapWithState - state removing
//   mapWithState - state timing out
//
// SKIPPED (and why):
//   - "state - get, exists, update, remove, ": drives StateImpl directly through internals
//       (wrap, wrapTimingOutState, isUpdated, isRemoved) that are not part of State<S>.
//   - "mapWithState - type inferencing and class tags": asserts Scala ClassTags
//       (keyClass/valueClass/stateClass/mappedClass) of MapWithStateDStreamImpl.
//   - "mapWithState - checkpoint durations": reads the private internalStream's
//       checkpointDuration (internals / checkpointing).
//   - "mapWithState - driver failure recovery": checkpoint recovery (testCheckpointedOperation).

import { describe, expect, it } from "vitest";
import { runBatches, Seconds, StateSpec, type DStream, type State } from "../../lib/index.js";
import { canonical, fill, sortBatches } from "./helpers.js";

type Pair = [string, number];

/** What `.mapWithState(spec)` returns, structurally: the mapped stream plus stateSnapshots(). */
type MapWithStateStream<S, T> = DStream<T> & { stateSnapshots(): DStream<[string, S]> };

/**
 * Port of MapWithStateSuite.getOperationOutput: runs
 * `input.map(x => (x, 1)).mapWithState(spec)` for numBatches batches and returns
 * (collectedOutputs, collectedStateSnapshots). `applySpec` must build a fresh StateSpec per call.
 */
async function getOperationOutput<S, T>(
  input: string[][],
  applySpec: (pairs: DStream<Pair>) => MapWithStateStream<S, T>,
  numBatches: number,
): Promise<{ outputs: T[][]; snapshots: [string, S][][] }> {
  const outputs = await runBatches({
    batchInterval: Seconds(1),
    inputs: [input],
    pipeline: (s: DStream<string>) => applySpec(s.map((x): Pair => [x, 1])),
    numBatches,
    inputPartitions: 2,
  });
  const snapshots = await runBatches({
    batchInterval: Seconds(1),
    inputs: [input],
    pipeline: (s: DStream<string>) => applySpec(s.map((x): Pair => [x, 1])).stateSnapshots(),
    numBatches,
    inputPartitions: 2,
  });
  return { outputs: outputs as T[][], snapshots: snapshots as [string, S][][] };
}

/** Port of MapWithStateSuite.testOperation. */
async function testOperation<S, T>(
  input: string[][],
  applySpec: (pairs: DStream<Pair>) => MapWithStateStream<S, T>,
  expectedOutputs: T[][],
  expectedStateSnapshots: [string, S][][],
): Promise<void> {
  expect(expectedOutputs.length).toBe(expectedStateSnapshots.length);
  const { outputs, snapshots } = await getOperationOutput(input, applySpec, expectedOutputs.length);
  expect(outputs.length).toBe(expectedOutputs.length);
  expect(sortBatches(outputs)).toEqual(sortBatches(expectedOutputs));
  expect(snapshots.length).toBe(expectedStateSnapshots.length);
  expect(sortBatches(snapshots)).toEqual(sortBatches(expectedStateSnapshots));
}

const runningCountInput: string[][] = [[], ["a"], ["a", "b"], ["a", "b", "c"], ["a", "b"], ["a"], []];

const runningCountStateData: Pair[][] = [
  [],
  [["a", 1]],
  [
    ["a", 2],
    ["b", 1],
  ],
  [
    ["a", 3],
    ["b", 2],
    ["c", 1],
  ],
  [
    ["a", 4],
    ["b", 3],
    ["c", 1],
  ],
  [
    ["a", 5],
    ["b", 3],
    ["c", 1],
  ],
  [
    ["a", 5],
    ["b", 3],
    ["c", 1],
  ],
];

describe("Spark MapWithStateSuite", () => {
  it("MapWithStateSuite: mapWithState - basic operations with simple API", async () => {
    const inputData = runningCountInput;
    const outputData: number[][] = [[], [1], [2, 1], [3, 2, 1], [4, 3], [5], []];
    const stateData = runningCountStateData;

    // state maintains running count, and updated count is returned
    const mappingFunc = (key: string, value: number | undefined, state: State<number>): number => {
      const sum = (value ?? 0) + (state.getOption() ?? 0);
      state.update(sum);
      return sum;
    };

    await testOperation<number, number>(inputData, (pairs) => pairs.mapWithState(StateSpec.function(mappingFunc)), outputData, stateData);
  });

  it("MapWithStateSuite: mapWithState - basic operations with advanced API", async () => {
    const inputData = runningCountInput;
    const outputData: string[][] = [[], ["aa"], ["aa", "bb"], ["aa", "bb", "cc"], ["aa", "bb"], ["aa"], []];
    const stateData = runningCountStateData;

    // state maintains running count, key string doubled and returned
    const mappingFunc = (_batchTime: unknown, key: string, value: number | undefined, state: State<number>): string | undefined => {
      const sum = (value ?? 0) + (state.getOption() ?? 0);
      state.update(sum);
      return key.repeat(2); // Some(key * 2)
    };

    await testOperation<number, string>(inputData, (pairs) => pairs.mapWithState(StateSpec.function(mappingFunc)), outputData, stateData);
  });

  it("MapWithStateSuite: mapWithState - states as mapped data", async () => {
    const inputData = runningCountInput;
    const outputData: Pair[][] = [
      [],
      [["a", 1]],
      [
        ["a", 2],
        ["b", 1],
      ],
      [
        ["a", 3],
        ["b", 2],
        ["c", 1],
      ],
      [
        ["a", 4],
        ["b", 3],
      ],
      [["a", 5]],
      [],
    ];
    const stateData = runningCountStateData;

    const mappingFunc = (_time: unknown, key: string, value: number | undefined, state: State<number>): Pair | undefined => {
      const sum = (value ?? 0) + (state.getOption() ?? 0);
      const output: Pair = [key, sum];
      state.update(sum);
      return output; // Some(output)
    };

    await testOperation<number, Pair>(inputData, (pairs) => pairs.mapWithState(StateSpec.function(mappingFunc)), outputData, stateData);
  });

  it("MapWithStateSuite: mapWithState - initial states, with nothing returned as from mapping function", async () => {
    const initialState: Pair[] = [
      ["a", 5],
      ["b", 10],
      ["c", -20],
      ["d", 0],
    ];
    const inputData = runningCountInput;
    const outputData: number[][] = fill(inputData.length, () => []); // Seq.fill(inputData.size)(Seq.empty[Int])
    const stateData: Pair[][] = [
      [
        ["a", 5],
        ["b", 10],
        ["c", -20],
        ["d", 0],
      ],
      [
        ["a", 6],
        ["b", 10],
        ["c", -20],
        ["d", 0],
      ],
      [
        ["a", 7],
        ["b", 11],
        ["c", -20],
        ["d", 0],
      ],
      [
        ["a", 8],
        ["b", 12],
        ["c", -19],
        ["d", 0],
      ],
      [
        ["a", 9],
        ["b", 13],
        ["c", -19],
        ["d", 0],
      ],
      [
        ["a", 10],
        ["b", 13],
        ["c", -19],
        ["d", 0],
      ],
      [
        ["a", 10],
        ["b", 13],
        ["c", -19],
        ["d", 0],
      ],
    ];

    const mappingFunc = (_time: unknown, key: string, value: number | undefined, state: State<number>): number | undefined => {
      const sum = (value ?? 0) + (state.getOption() ?? 0);
      const output: Pair = [key, sum];
      void output; // computed but not returned, as in Spark
      state.update(sum);
      return undefined; // None.asInstanceOf[Option[Int]]
    };

    await testOperation<number, number>(
      inputData,
      (pairs) => pairs.mapWithState(StateSpec.function(mappingFunc).initialState(initialState)),
      outputData,
      stateData,
    );
  });

  it("MapWithStateSuite: mapWithState - state removing", async () => {
    const inputData: string[][] = [
      [],
      ["a"],
      ["a", "b"], // a will be removed
      ["a", "b", "c"], // b will be removed
      ["a", "b", "c"], // a and c will be removed
      ["a", "b"], // b will be removed
      ["a"], // a will be removed
      [],
    ];

    // States that were removed
    const outputData: string[][] = [[], [], ["a"], ["b"], ["a", "c"], ["b"], ["a"], []];

    const stateData: Pair[][] = [
      [],
      [["a", 1]],
      [["b", 1]],
      [
        ["a", 1],
        ["c", 1],
      ],
      [["b", 1]],
      [["a", 1]],
      [],
      [],
    ];

    const mappingFunc = (_time: unknown, key: string, value: number | undefined, state: State<number>): string | undefined => {
      if (state.exists()) {
        state.remove();
        return key; // Some(key)
      } else {
        state.update(value as number); // value.get
        return undefined; // None
      }
    };

    await testOperation<number, string>(
      inputData,
      (pairs) => pairs.mapWithState(StateSpec.function(mappingFunc).numPartitions(1)),
      outputData,
      stateData,
    );
  });

  it("MapWithStateSuite: mapWithState - state timing out", async () => {
    const inputData: string[][] = [
      ["a", "b", "c"],
      ["a", "b"],
      ["a"],
      [], // c will time out
      [], // b will time out
      ["a"], // a will not time out
      ...fill(20, () => ["a"]), // a will continue to stay active
    ];

    const mappingFunc = (_time: unknown, key: string, value: number | undefined, state: State<number>): string | undefined => {
      if (value !== undefined) {
        state.update(1);
      }
      if (state.isTimingOut()) {
        return key;
      } else {
        return undefined;
      }
    };

    const { outputs: collectedOutputs, snapshots: collectedStateSnapshots } = await getOperationOutput<number, string>(
      inputData,
      (pairs) => pairs.mapWithState(StateSpec.function(mappingFunc).timeout(Seconds(3))),
      20,
    );

    // b and c should be returned once each, when they were marked as expired
    expect(collectedOutputs.flat().sort()).toEqual(["b", "c"]);

    // States for a, b, c should be defined at one point of time
    const abc = canonical(
      sortBatches([
        [
          ["a", 1],
          ["b", 1],
          ["c", 1],
        ],
      ])[0],
    );
    expect(collectedStateSnapshots.some((snap) => canonical(sortBatches([snap])[0]) === abc)).toBe(true);

    // Finally state should be defined only for a
    const last = collectedStateSnapshots[collectedStateSnapshots.length - 1] ?? [];
    expect(sortBatches([last])).toEqual(sortBatches([[["a", 1]]]));
  });
});
