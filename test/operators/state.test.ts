// updateStateByKey (Spark's StateDStream) and mapWithState (Spark's
// MapWithStateDStream / InternalMapWithStateDStream / MapWithStateRDD), in
// Spark's TestSuiteBase style. State streams are hash-partitioned, so batches
// are compared order-insensitively.
//
// Semantics used for the expectations:
// - StateDStream.compute cogroups the batch with the previous state and calls
//   the update function for every key on either side: keys with state and no
//   new values get (Seq(), Some(state)); returning None drops the key. With
//   an initial RDD, it is the previous state of the first batch.
// - MapWithStateRDDRecord.updateRecordWithData calls the mapping function
//   only for records of the batch (in order within a key). A key's update
//   time is the batch time whenever it is updated (or, with a timeout, merely
//   touched while existing). Only on a full-scan batch -- the internal
//   stream's checkpoint batches, every 10 slides unless `checkpoint(d)` --
//   keys whose update time is < batchTime - timeout get one last call with no
//   value and isTimingOut() = true, and are removed. StateImpl.update/remove
//   throw while timing out.

import { describe, expect, it } from "vitest";
import { IllegalStateError, NoSuchElementError, runBatches, Seconds, StateSpec, type DStream, type State, type Time } from "../../lib/index.js";
import { sortBatches, sorted, sum } from "./helpers.js";

type P = [string, number];

const run = <T>(inputs: unknown[][][], pipeline: (...s: DStream<any>[]) => DStream<T>, numBatches?: number, inputPartitions = 2) =>
  runBatches<T>({ batchInterval: Seconds(1), inputs, pipeline, inputPartitions, numBatches });

const words = (s: DStream<string>) => s.map((w): P => [w, 1]);

describe("updateStateByKey", () => {
  it("calls the update function for every key that has state, even with no new values", async () => {
    const input = [["a", "b"], ["a"], [], ["b", "b"]];
    const calls: [string, number[], number | undefined][] = [];
    // The update function does not see the key, so record it through the state: [key, count].
    const out = await run([input], (s: DStream<string>) =>
      s
        .map((w): [string, [string, number]] => [w, [w, 1]])
        .updateStateByKey((values: [string, number][], state: [string, number] | undefined) => {
          const key = state?.[0] ?? values[0]![0];
          calls.push([key, values.map((v) => v[1]), state?.[1]]);
          return [key, (state?.[1] ?? 0) + values.length] as [string, number];
        })
        .mapValues((st) => st[1]),
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
        [
          ["a", 2],
          ["b", 3],
        ],
      ]),
    );
    // Exactly one call per key per batch (8 in all), including the ones with no new values.
    expect(sortBatches([calls])[0]).toEqual(
      sortBatches([
        [
          ["a", [1], undefined],
          ["b", [1], undefined],
          ["a", [1], 1],
          ["b", [], 1],
          ["a", [], 2],
          ["b", [], 1],
          ["a", [], 2],
          ["b", [1, 1], 1],
        ],
      ])[0],
    );
  });

  it("returning undefined removes a key; it is not called again and does not come back without data", async () => {
    const input = [["a", "b"], ["b"], [], [], ["a"]];
    const calls: [number[], number | undefined][] = [];
    // Remove a key as soon as a batch has no values for it.
    const out = await run([input], (s: DStream<string>) =>
      words(s).updateStateByKey((values: number[], state: number | undefined) => {
        calls.push([values, state]);
        return values.length === 0 ? undefined : (state ?? 0) + sum(values);
      }),
    );
    expect(sortBatches(out)).toEqual(
      sortBatches([
        [
          ["a", 1],
          ["b", 1],
        ],
        [["b", 2]],
        [],
        [],
        [["a", 1]], // a starts over: its state was removed in batch 2
      ]),
    );
    // batch 1: a, b (no state); batch 2: a (removed), b; batch 3: b (removed); batch 4: none; batch 5: a (no state).
    expect(sortBatches([calls])[0]).toEqual(
      sortBatches([
        [
          [[1], undefined],
          [[1], undefined],
          [[], 1],
          [[1], 1],
          [[], 2],
          [[1], undefined],
        ],
      ])[0],
    );
  });

  it("state survives empty batches", async () => {
    const input = [["a"], [], [], [], ["a", "a"], []];
    const out = await run([input], (s: DStream<string>) => words(s).updateStateByKey((vs: number[], st: number | undefined) => (st ?? 0) + sum(vs)));
    expect(out).toEqual([[["a", 1]], [["a", 1]], [["a", 1]], [["a", 1]], [["a", 3]], [["a", 3]]]);
  });

  it("leading empty batches produce empty state until data arrives", async () => {
    const input = [[], [], ["x"]];
    const out = await run([input], (s: DStream<string>) => words(s).updateStateByKey((vs: number[], st: number | undefined) => (st ?? 0) + sum(vs)));
    expect(out).toEqual([[], [], [["x", 1]]]);
  });

  it("numPartitions (positional and in the options object) sets the state's partitions, keys in their hash partitions", async () => {
    const input = [["a", "b", "c"], []];
    const update = (vs: number[], st: number | undefined) => (st ?? 0) + sum(vs);
    // String.hashCode: "a" = 97, "b" = 98, "c" = 99 -> partitions 1, 2, 0 of 3.
    const expected = [
      [[["c", 1]], [["a", 1]], [["b", 1]]],
      [[["c", 1]], [["a", 1]], [["b", 1]]],
    ];
    const positional = await run([input], (s: DStream<string>) => words(s).updateStateByKey(update, 3).glom());
    expect(positional).toEqual(expected);
    const options = await run([input], (s: DStream<string>) => words(s).updateStateByKey(update, { numPartitions: 3 }).glom());
    expect(options).toEqual(expected);
  });

  it("initialState is the previous state of the first batch only; its keys get called with no values", async () => {
    const input = [["a"], ["a"], []];
    const calls: [number[], number | undefined][] = [];
    const out = await run([input], (s: DStream<string>) =>
      words(s).updateStateByKey(
        (vs: number[], st: number | undefined) => {
          calls.push([vs, st]);
          return (st ?? 0) + sum(vs);
        },
        {
          initialState: [
            ["a", 10],
            ["z", 5],
          ],
        },
      ),
    );
    expect(sortBatches(out)).toEqual(
      sortBatches([
        [
          ["a", 11],
          ["z", 5],
        ],
        [
          ["a", 12],
          ["z", 5],
        ], // not 22: the initial state is not applied again
        [
          ["a", 12],
          ["z", 5],
        ],
      ]),
    );
    expect(sortBatches([calls.slice(0, 2)])[0]).toEqual(
      sortBatches([
        [
          [[1], 10],
          [[], 5],
        ],
      ])[0],
    );
    expect(calls.length).toBe(6);
  });

  it("initialState given positionally (update, numPartitions, initialRDD), and an initial key can be removed", async () => {
    const input = [["a"], ["a"]];
    const out = await run([input], (s: DStream<string>) =>
      words(s).updateStateByKey((vs: number[], st: number | undefined) => (vs.length === 0 ? undefined : (st ?? 0) + sum(vs)), 2, [
        ["a", 100],
        ["gone", 1],
      ] as [string, number][]),
    );
    expect(sortBatches(out)).toEqual([[["a", 101]], [["a", 102]]]);
  });
  it("a state stream read by two consumers still calls the update function once per key per batch", async () => {
    const calls: [number[], number | undefined][] = [];
    const out = await run([[["a"], ["a"], []]], (s: DStream<string>) => {
      const st = words(s).updateStateByKey((vs: number[], x: number | undefined) => {
        calls.push([vs, x]);
        return (x ?? 0) + vs.length;
      });
      return st.union(st.mapValues((x) => x * 100));
    });
    expect(out).toEqual([
      [
        ["a", 1],
        ["a", 100],
      ],
      [
        ["a", 2],
        ["a", 200],
      ],
      [
        ["a", 2],
        ["a", 200],
      ],
    ]);
    expect(calls).toEqual([
      [[1], undefined],
      [[1], 1],
      [[], 2],
    ]);
  });
});

describe("mapWithState", () => {
  it("exists, getOption and remove: a removed key starts over", async () => {
    const input = [["a"], ["a"], ["a"], ["a"]];
    const spec = () =>
      StateSpec.function((key: string, _v: number | undefined, state: State<number>) => {
        const seen = [key, state.exists(), state.getOption()];
        const next = (state.getOption() ?? 0) + 1;
        if (next === 3) state.remove();
        else state.update(next);
        return seen;
      });
    const outputs = await run([input], (s: DStream<string>) => words(s).mapWithState(spec()));
    expect(outputs).toEqual([
      [["a", false, undefined]],
      [["a", true, 1]],
      [["a", true, 2]], // removed here
      [["a", false, undefined]],
    ]);
    const snapshots = await run([input], (s: DStream<string>) => words(s).mapWithState(spec()).stateSnapshots());
    expect(snapshots).toEqual([[["a", 1]], [["a", 2]], [], [["a", 1]]]);
  });

  it("state.get() throws NoSuchElementError for a key without state", async () => {
    const out = await run([[["k"], ["k"]]], (s: DStream<string>) =>
      words(s).mapWithState(
        StateSpec.function((_k: string, v: number | undefined, state: State<number>) => {
          let result: string;
          try {
            result = `got ${state.get()}`;
          } catch (e) {
            result = e instanceof NoSuchElementError ? "no state" : "other error";
          }
          state.update(v ?? 0);
          return result;
        }),
      ),
    );
    expect(out).toEqual([["no state"], ["got 1"]]);
  });

  it("only keys with data in the batch are passed to the mapping function (unlike updateStateByKey)", async () => {
    const input = [["a", "b"], ["a"], [], ["b"]];
    const calls: string[][] = [[], [], [], []];
    const out = await run([input], (s: DStream<string>) =>
      words(s).mapWithState(
        StateSpec.function((time: Time, key: string, v: number | undefined, state: State<number>) => {
          calls[time.milliseconds / 1000 - 1]!.push(key);
          state.update((state.getOption() ?? 0) + (v ?? 0));
          return [key, state.get()] as [string, number];
        }),
      ),
    );
    expect(sortBatches(out)).toEqual(
      sortBatches([
        [
          ["a", 1],
          ["b", 1],
        ],
        [["a", 2]],
        [],
        [["b", 2]],
      ]),
    );
    expect(calls.map(sorted)).toEqual([["a", "b"], ["a"], [], ["b"]]);
  });

  it("records of one key in one batch each see the state left by the previous record", async () => {
    const input = [["a", "b", "a", "a"], ["a"]];
    const out = await run([input], (s: DStream<string>) =>
      words(s).mapWithState(
        StateSpec.function((key: string, v: number | undefined, state: State<number>) => {
          state.update((state.getOption() ?? 0) + (v ?? 0));
          return `${key}${state.get()}`;
        }),
      ),
    );
    expect(sortBatches(out)).toEqual(sortBatches([["a1", "a2", "a3", "b1"], ["a4"]]));
  });

  it("the 4-argument form gets the batch time; returning undefined emits nothing", async () => {
    const input = [["a", "b"], ["b"], ["a", "a"]];
    const out = await run([input], (s: DStream<string>) =>
      words(s).mapWithState(
        StateSpec.function((time: Time, key: string, _v: number | undefined, _st: State<number>) => (key === "a" ? time.milliseconds : undefined)),
      ),
    );
    expect(out).toEqual([[1000], [], [3000, 3000]]);
  });

  it("the 3-argument form emits every result, undefined included (Spark wraps it in Some)", async () => {
    const out = await run([[["a", "b", "c"]]], (s: DStream<string>) =>
      words(s).mapWithState(StateSpec.function((_k: string, _v: number | undefined, _st: State<number>) => undefined)),
    );
    expect(out).toEqual([[undefined, undefined, undefined]]);
  });

  it("numPartitions(3) sets the partitions of the mapped stream and the snapshots", async () => {
    const input = [["a", "b", "c"]];
    const spec = () =>
      StateSpec.function((k: string, v: number | undefined, st: State<number>) => {
        st.update(v ?? 0);
        return k;
      }).numPartitions(3);
    const mapped = await run([input], (s: DStream<string>) => words(s).mapWithState(spec()).glom());
    expect(mapped).toEqual([[["c"], ["a"], ["b"]]]);
    const snaps = await run([input], (s: DStream<string>) => words(s).mapWithState(spec()).stateSnapshots().glom());
    expect(snaps).toEqual([[[["c", 1]], [["a", 1]], [["b", 1]]]]);
  });

  it("the mapped stream and its stateSnapshots in one pipeline: one mapping call per record", async () => {
    const calls: string[] = [];
    const out = await run([[["a"], ["a"], []]], (s: DStream<string>) => {
      const m = words(s).mapWithState(
        StateSpec.function((k: string, v: number | undefined, st: State<number>) => {
          calls.push(k);
          st.update((st.getOption() ?? 0) + (v ?? 0));
          return st.get();
        }),
      );
      return m.transformWith(m.stateSnapshots(), (mapped, snaps) =>
        mapped.map((x): [string, unknown] => ["mapped", x]).union(snaps.map((x): [string, unknown] => ["state", x])),
      );
    });
    expect(sortBatches(out)).toEqual(
      sortBatches([
        [
          ["mapped", 1],
          ["state", ["a", 1]],
        ],
        [
          ["mapped", 2],
          ["state", ["a", 2]],
        ],
        [["state", ["a", 2]]],
      ]),
    );
    expect(calls).toEqual(["a", "a"]);
  });

  it("timeouts over a parent with a 2 s slide: checkpoint(2s), timeout(4s)", async () => {
    const input = [["a"], [], [], [], [], [], [], [], []];
    const out = await run(
      [input],
      (s: DStream<string>) => {
        const m = words(s)
          .window(Seconds(2), Seconds(2))
          .mapWithState(
            StateSpec.function((k: string, v: number | undefined, st: State<number>) => {
              if (v !== undefined) st.update(v);
              return [k, v ?? null, st.isTimingOut()];
            }).timeout(Seconds(4)),
          );
        m.checkpoint(Seconds(2));
        return m;
      },
      9,
    );
    // Batches at 2, 4, 6, 8 s. a is updated at 2000; scans at t remove keys updated before t - 4000:
    // at 6000 the threshold is 2000 (kept), at 8000 it is 4000 (timed out).
    expect(out).toEqual([[["a", 1, false]], [], [], [["a", null, true]]]);
  });

  // ---- timeouts ----

  type Seen = [string, number | null, boolean, number | undefined];
  const timeoutFn = (key: string, value: number | undefined, state: State<number>): Seen => {
    if (value !== undefined) state.update((state.getOption() ?? 0) + value);
    return [key, value ?? null, state.isTimingOut(), state.getOption()];
  };

  it("timeout(2s) with checkpoint(1s): an idle key gets a last call with isTimingOut() and no value, then disappears", async () => {
    const input = [["a", "b"], ["b"], ["b"], [], [], [], []];
    const make = (s: DStream<string>) => {
      const m = words(s).mapWithState(StateSpec.function(timeoutFn).timeout(Seconds(2)));
      m.checkpoint(Seconds(1)); // full scan on every batch
      return m;
    };
    // Scan at t: remove keys last updated before t - 2000.
    // a (updated 1000) goes at t = 4000; b (updated 3000) goes at t = 6000.
    const outputs = await run([input], make);
    expect(sortBatches(outputs)).toEqual(
      sortBatches<Seen>([
        [
          ["a", 1, false, 1],
          ["b", 1, false, 1],
        ],
        [["b", 1, false, 2]],
        [["b", 1, false, 3]],
        [["a", null, true, 1]],
        [],
        [["b", null, true, 3]],
        [],
      ]),
    );
    const snapshots = await run([input], (s) => make(s).stateSnapshots());
    expect(sortBatches(snapshots)).toEqual(
      sortBatches([
        [
          ["a", 1],
          ["b", 1],
        ],
        [
          ["a", 1],
          ["b", 2],
        ],
        [
          ["a", 1],
          ["b", 3],
        ],
        [["b", 3]],
        [["b", 3]],
        [],
        [],
      ]),
    );
  });

  it("without checkpoint(), timed-out keys are only found on every 10th batch (the default checkpoint interval)", async () => {
    const input = [["a"], ...Array.from({ length: 11 }, () => [] as string[])];
    const outputs = await run([input], (s: DStream<string>) => words(s).mapWithState(StateSpec.function(timeoutFn).timeout(Seconds(2))));
    const expected: Seen[][] = input.map(() => []);
    expected[0] = [["a", 1, false, 1]];
    expected[9] = [["a", null, true, 1]]; // t = 10000, the first full scan
    expect(outputs).toEqual(expected);
    const snapshots = await run([input], (s: DStream<string>) =>
      words(s)
        .mapWithState(StateSpec.function(timeoutFn).timeout(Seconds(2)))
        .stateSnapshots(),
    );
    expect(snapshots.map((b) => b.length)).toEqual([1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0]);
  });

  it("checkpoint(3s) with timeout(2s): scans at 3s and 6s only, so an idle key (updated at 1s) times out at 6s", async () => {
    const input = [["a"], [], [], [], [], [], []];
    const outputs = await run([input], (s: DStream<string>) => {
      const m = words(s).mapWithState(StateSpec.function(timeoutFn).timeout(Seconds(2)));
      m.checkpoint(Seconds(3));
      return m;
    });
    // t = 3000: threshold 1000, 1000 < 1000 is false -> kept; t = 6000: threshold 4000 -> timed out.
    expect(outputs).toEqual([[["a", 1, false, 1]], [], [], [], [], [["a", null, true, 1]], []]);
  });

  it("data before the timeout keeps a key alive (its update time moves to the batch time)", async () => {
    const input = [["a"], [], ["a"], [], [], [], []];
    const outputs = await run([input], (s: DStream<string>) => {
      const m = words(s).mapWithState(StateSpec.function(timeoutFn).timeout(Seconds(2)));
      m.checkpoint(Seconds(1));
      return m;
    });
    // a updated at 1000 and 3000: at t = 4000 the threshold is 2000 (kept); times out at t = 6000.
    expect(outputs).toEqual([[["a", 1, false, 1]], [], [["a", 1, false, 2]], [], [], [["a", null, true, 2]], []]);
  });

  it("with a timeout, a key that gets data but no update still has its update time refreshed", async () => {
    const input = [["a"], [], ["a"], [], [], [], []];
    const outputs = await run([input], (s: DStream<string>) => {
      const m = words(s).mapWithState(
        StateSpec.function((key: string, value: number | undefined, state: State<number>) => {
          if (!state.exists()) state.update(value ?? 0); // batch 3 reads the state but does not update it
          return [key, value ?? null, state.isTimingOut()];
        }).timeout(Seconds(2)),
      );
      m.checkpoint(Seconds(1));
      return m;
    });
    // Spark re-puts an existing state at the batch time when a timeout is set, so a is
    // last touched at 3000 and times out at 6000 (not at 4000).
    expect(outputs).toEqual([[["a", 1, false]], [], [["a", 1, false]], [], [], [["a", null, true]], []]);
  });

  it("initial state keys time out too (their update time is the first batch's)", async () => {
    const input = [[], [], [], [], []];
    const outputs = await run([input], (s: DStream<string>) => {
      const m = words(s).mapWithState(
        StateSpec.function(timeoutFn)
          .timeout(Seconds(2))
          .initialState([["i", 7]]),
      );
      m.checkpoint(Seconds(1));
      return m;
    });
    expect(outputs).toEqual([[], [], [], [["i", null, true, 7]], []]);
  });

  it("State.update and State.remove throw while timing out; the key is removed anyway", async () => {
    const input = [["a"], [], [], [], []];
    const spec = () =>
      StateSpec.function((key: string, value: number | undefined, state: State<number>) => {
        if (!state.isTimingOut()) {
          state.update(value ?? 0);
          return [key, "data"];
        }
        const errors: string[] = [];
        try {
          state.update(42);
        } catch (e) {
          errors.push(e instanceof IllegalStateError ? "update threw" : "update: other error");
        }
        try {
          state.remove();
        } catch (e) {
          errors.push(e instanceof IllegalStateError ? "remove threw" : "remove: other error");
        }
        return [key, ...errors];
      }).timeout(Seconds(2));
    const make = (s: DStream<string>) => {
      const m = words(s).mapWithState(spec());
      m.checkpoint(Seconds(1));
      return m;
    };
    const outputs = await run([input], make);
    expect(outputs).toEqual([[["a", "data"]], [], [], [["a", "update threw", "remove threw"]], []]);
    const snapshots = await run([input], (s) => make(s).stateSnapshots());
    expect(snapshots).toEqual([[["a", 1]], [["a", 1]], [["a", 1]], [], []]);
  });

  it("State.update after State.remove in the same call throws", async () => {
    const out = await run([[["a"]]], (s: DStream<string>) =>
      words(s).mapWithState(
        StateSpec.function((_k: string, _v: number | undefined, state: State<number>) => {
          state.update(1);
          state.remove();
          try {
            state.update(2);
            return "no error";
          } catch (e) {
            return e instanceof IllegalStateError ? "threw" : "other";
          }
        }),
      ),
    );
    expect(out).toEqual([["threw"]]);
  });
});
