// Output operations: print and foreachRDD, as Spark's (saveAsTextFiles: save-as-text-files.test.ts).
import { describe, expect, it } from "vitest";
import { ManualClock, Seconds, StreamingContext, formatElement, runBatches, type DStream } from "../../lib/index.js";

const RULE = "-------------------------------------------";

/** The lines Spark's print writes for one batch. */
function header(timeMs: number): string[] {
  return [RULE, `Time: ${timeMs} ms`, RULE];
}

async function printed(inputs: unknown[][], print: (s: DStream<any>) => void, options: { inputPartitions?: number } = {}): Promise<string[]> {
  const lines: string[] = [];
  await runBatches({
    batchInterval: Seconds(1),
    inputs: [inputs],
    inputPartitions: options.inputPartitions,
    print: (l) => lines.push(l),
    pipeline: (s) => {
      print(s);
      return s;
    },
  });
  return lines;
}

describe("print", () => {
  it("prints Spark's header, one line per element and a blank line", async () => {
    const lines = await printed(
      [
        [
          ["a", 1],
          ["b", 2],
        ],
      ],
      (s) => s.print(),
    );
    expect(lines).toEqual([RULE, "Time: 1000 ms", RULE, "(a,1)", "(b,2)", ""]);
  });

  it("prints every batch with its own time", async () => {
    const lines = await printed([[1], [2, 3], ["x"]], (s) => s.print());
    expect(lines).toEqual([...header(1000), "1", "", ...header(2000), "2", "3", "", ...header(3000), "x", ""]);
  });

  it("print(n) shows n elements then `...` when there are more", async () => {
    const lines = await printed([[1, 2, 3, 4]], (s) => s.print(2));
    expect(lines).toEqual([...header(1000), "1", "2", "...", ""]);
  });

  it("print(n) with exactly n elements has no `...`", async () => {
    const lines = await printed([[1, 2, 3]], (s) => s.print(3));
    expect(lines).toEqual([...header(1000), "1", "2", "3", ""]);
  });

  it("the default n is 10: 11 elements show 10 then `...`", async () => {
    const batch = Array.from({ length: 11 }, (_, i) => i + 1);
    const lines = await printed([batch], (s) => s.print());
    expect(lines).toEqual([...header(1000), ...batch.slice(0, 10).map(String), "...", ""]);
  });

  it("the default n is 10: 10 elements show all, no `...`", async () => {
    const batch = Array.from({ length: 10 }, (_, i) => `e${i}`);
    const lines = await printed([batch], (s) => s.print());
    expect(lines).toEqual([...header(1000), ...batch, ""]);
  });

  it("an empty batch prints only the header and the blank line", async () => {
    const lines = await printed([[], [7], []], (s) => s.print());
    expect(lines).toEqual([...header(1000), "", ...header(2000), "7", "", ...header(3000), ""]);
  });

  it("nested tuples print as (a,(1,2))", async () => {
    const lines = await printed(
      [
        [
          ["a", [1, 2]],
          [
            ["k", 1],
            ["v", [true, null]],
          ],
        ],
      ],
      (s) => s.print(),
    );
    expect(lines).toEqual([...header(1000), "(a,(1,2))", "((k,1),(v,(true,null)))", ""]);
  });

  it("prints the output of transformations (a pair stream after reduceByKey)", async () => {
    const lines = await printed(
      [
        [
          ["a", 1],
          ["a", 2],
        ],
      ],
      (s) => (s as DStream<[string, number]>).reduceByKey((x, y) => x + y).print(),
    );
    expect(lines).toEqual([...header(1000), "(a,3)", ""]);
  });

  it("takes the first elements in partition order", async () => {
    const lines = await printed([[1, 2, 3, 4, 5, 6, 7]], (s) => s.print(5), { inputPartitions: 3 });
    expect(lines).toEqual([...header(1000), "1", "2", "3", "4", "5", "...", ""]);
  });

  it("two print() outputs both run for each batch", async () => {
    const lines = await printed([[1]], (s) => {
      s.print();
      s.map((x: number) => x * 100).print();
    });
    expect(lines.filter((l) => l === "Time: 1000 ms")).toHaveLength(2);
    expect(lines).toContain("1");
    expect(lines).toContain("100");
  });

  it("a windowed print runs only at slide boundaries", async () => {
    const lines = await printed([[1], [2], [3], [4]], (s) => s.window(Seconds(2), Seconds(2)).print());
    expect(lines).toEqual([...header(2000), "1", "2", "", ...header(4000), "3", "4", ""]);
  });

  it("formatElement matches Spark's toString for tuples", () => {
    expect(formatElement(["a", 1])).toBe("(a,1)");
    expect(formatElement(["a", ["b", ["c", 3]]])).toBe("(a,(b,(c,3)))");
    expect(formatElement("plain")).toBe("plain");
    expect(formatElement(3.5)).toBe("3.5");
  });
});

// saveAsTextFiles (a directory of part files per batch, locally and on S3): save-as-text-files.test.ts.

describe("foreachRDD", () => {
  it("receives (rdd, time) once per batch, in order, with the batch time", async () => {
    const calls: Array<[number, unknown[]]> = [];
    await runBatches({
      batchInterval: Seconds(1),
      inputs: [[[1, 2], [], [3]]],
      pipeline: (s) => {
        s.foreachRDD(async (rdd, time) => {
          calls.push([time.milliseconds, await rdd.collect()]);
        });
        return s;
      },
    });
    expect(calls).toEqual([
      [1000, [1, 2]],
      [2000, []],
      [3000, [3]],
    ]);
  });

  it("the rdd supports actions (count, take)", async () => {
    const seen: Array<[number, number, unknown[]]> = [];
    await runBatches({
      batchInterval: Seconds(1),
      inputs: [[[5, 6, 7]]],
      inputPartitions: 2,
      pipeline: (s) => {
        s.foreachRDD(async (rdd, time) => {
          seen.push([time.milliseconds, await rdd.count(), await rdd.take(2)]);
        });
        return s;
      },
    });
    expect(seen).toEqual([[1000, 3, [5, 6]]]);
  });

  it("its async work completes before the next batch's output starts, even when batches are due together", async () => {
    const clock = new ManualClock(0);
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock, print: () => undefined });
    const events: string[] = [];
    ssc.queueStream([[1], [2], [3]]).foreachRDD(async (rdd, time) => {
      events.push(`start ${time.milliseconds}`);
      await new Promise((r) => setTimeout(r, 30));
      const items = await rdd.collect();
      events.push(`end ${time.milliseconds} ${items.join(",")}`);
    });
    try {
      ssc.start();
      const done = ssc.waitForBatch(3000);
      clock.setTime(3000); // three batches due at once
      await done;
      expect(events).toEqual(["start 1000", "end 1000 1", "start 2000", "end 2000 2", "start 3000", "end 3000 3"]);
    } finally {
      await ssc.stop();
    }
  });

  it("its async work completes before the batch completes", async () => {
    const clock = new ManualClock(0);
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock, print: () => undefined });
    const finished: number[] = [];
    ssc.queueStream([[1], [2]]).foreachRDD(async (_rdd, time) => {
      await new Promise((r) => setTimeout(r, 20));
      finished.push(time.milliseconds);
    });
    try {
      ssc.start();
      let done = ssc.waitForBatch(1000);
      clock.setTime(1000);
      await done;
      expect(finished).toEqual([1000]);
      done = ssc.waitForBatch(2000);
      clock.setTime(2000);
      await done;
      expect(finished).toEqual([1000, 2000]);
    } finally {
      await ssc.stop();
    }
  });

  it("a windowed stream's foreachRDD with slide 2 is called only at 2000 and 4000", async () => {
    const calls: Array<[number, unknown[]]> = [];
    await runBatches({
      batchInterval: Seconds(1),
      inputs: [[[1], [2], [3], [4], [5]]],
      pipeline: (s) => {
        s.window(Seconds(2), Seconds(2)).foreachRDD(async (rdd, time) => {
          calls.push([time.milliseconds, (await rdd.collect()).sort()]);
        });
        return s;
      },
    });
    expect(calls).toEqual([
      [2000, [1, 2]],
      [4000, [3, 4]],
    ]);
  });

  it("a sliding window (length 3, slide 2) sees the last three batches at 2000 and 4000", async () => {
    const calls: Array<[number, unknown[]]> = [];
    await runBatches({
      batchInterval: Seconds(1),
      inputs: [[[1], [2], [3], [4]]],
      pipeline: (s) => {
        s.window(Seconds(3), Seconds(2)).foreachRDD(async (rdd, time) => {
          calls.push([time.milliseconds, (await rdd.collect()).sort()]);
        });
        return s;
      },
    });
    expect(calls).toEqual([
      [2000, [1, 2]],
      [4000, [2, 3, 4]],
    ]);
  });

  it("outputs of one batch run in the order they were registered", async () => {
    const order: string[] = [];
    await runBatches({
      batchInterval: Seconds(1),
      inputs: [[[1], [2]]],
      pipeline: (s) => {
        s.foreachRDD(async (_r, t) => {
          await new Promise((r) => setTimeout(r, 10));
          order.push(`first ${t.milliseconds}`);
        });
        s.foreachRDD((_r, t) => {
          order.push(`second ${t.milliseconds}`);
        });
        return s;
      },
    });
    expect(order).toEqual(["first 1000", "second 1000", "first 2000", "second 2000"]);
  });
});
