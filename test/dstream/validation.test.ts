// Spark's graph checks: typed errors whose messages name the values and the fix.
import { afterEach, describe, expect, it } from "vitest";
import {
  type DStream,
  Duration,
  IllegalStateError,
  InvalidArgumentError,
  InvalidGraphError,
  ManualClock,
  Milliseconds,
  Seconds,
  SparklessError,
  StorageLevel,
  StreamingContext,
  runBatches,
} from "../../lib/index.js";

const created: StreamingContext[] = [];

function setup(batchInterval: Duration = Seconds(1)): {
  ssc: StreamingContext;
  clock: ManualClock;
  input: DStream<number>;
  pairs: DStream<[string, number]>;
} {
  const clock = new ManualClock(0);
  const ssc = new StreamingContext({ batchInterval, clock, print: () => undefined });
  created.push(ssc);
  const input = ssc.queueStream<number>([[1, 2], [3]]);
  const pairs = input.map((x) => [String(x), x] as [string, number]);
  return { ssc, clock, input, pairs };
}

afterEach(async () => {
  for (const ssc of created.splice(0)) await ssc.stop();
});

/** Runs `f`, expects it to throw, and returns the error. */
function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected the call to throw");
}

const add = (a: number, b: number) => a + b;
const sub = (a: number, b: number) => a - b;

describe("window and slide durations", () => {
  it("window duration not a multiple of the parent's slide", () => {
    const { input } = setup();
    const e = thrown(() => input.window(Milliseconds(1500)));
    expect(e).toBeInstanceOf(InvalidGraphError);
    expect(e).toBeInstanceOf(SparklessError);
    expect(e.name).toBe("InvalidGraphError");
    expect(e.message).toContain("1500 ms");
    expect(e.message).toContain("1000 ms");
    expect(e.message).toMatch(/window duration/i);
    expect(e.message).toMatch(/multiple/);
  });

  it("slide duration not a multiple of the parent's slide", () => {
    const { input } = setup();
    const e = thrown(() => input.window(Seconds(3), Milliseconds(1500)));
    expect(e).toBeInstanceOf(InvalidGraphError);
    expect(e.message).toContain("1500 ms");
    expect(e.message).toContain("1000 ms");
    expect(e.message).toMatch(/slide duration/i);
  });

  it("a window of a window is checked against the windowed stream's slide", () => {
    const { input } = setup();
    const w = input.window(Seconds(4), Seconds(2));
    expect(w.slideDuration.milliseconds).toBe(2000);
    const e = thrown(() => w.window(Seconds(3)));
    expect(e).toBeInstanceOf(InvalidGraphError);
    expect(e.message).toContain("3000 ms");
    expect(e.message).toContain("2000 ms");
    expect(() => w.window(Seconds(6), Seconds(4))).not.toThrow();
  });

  it("valid windows are accepted", () => {
    const { input } = setup();
    expect(() => input.window(Seconds(3))).not.toThrow();
    expect(() => input.window(Seconds(3), Seconds(1))).not.toThrow();
    expect(() => input.window(Seconds(4), Seconds(2))).not.toThrow();
  });

  it("a zero slide is refused", () => {
    const { input } = setup();
    expect(() => input.window(Seconds(2), Milliseconds(0))).toThrow(InvalidGraphError);
  });

  it("a window that is not a Duration is an InvalidArgumentError", () => {
    const { input } = setup();
    expect(() => input.window(2000 as unknown as Duration)).toThrow(InvalidArgumentError);
    expect(() => input.window(Seconds(2), "1s" as unknown as Duration)).toThrow(InvalidArgumentError);
  });

  it("reduceByKeyAndWindow with an inverse: bad window and bad slide", () => {
    const { pairs } = setup();
    const e = thrown(() => pairs.reduceByKeyAndWindow(add, sub, Milliseconds(2500), Seconds(1)));
    expect(e).toBeInstanceOf(InvalidGraphError);
    expect(e.message).toContain("2500 ms");
    expect(e.message).toContain("1000 ms");
    const e2 = thrown(() => pairs.reduceByKeyAndWindow(add, sub, Seconds(4), Milliseconds(1500)));
    expect(e2).toBeInstanceOf(InvalidGraphError);
    expect(e2.message).toContain("1500 ms");
    expect(e2.message).toContain("1000 ms");
  });

  it("reduceByKeyAndWindow without an inverse: bad window", () => {
    const { pairs } = setup();
    const e = thrown(() => pairs.reduceByKeyAndWindow(add, Milliseconds(2500)));
    expect(e).toBeInstanceOf(InvalidGraphError);
    expect(e.message).toContain("2500 ms");
    expect(e.message).toContain("1000 ms");
  });

  it("reduceByKeyAndWindow with an inverse and no window Duration is an InvalidArgumentError", () => {
    const { pairs } = setup();
    expect(() => pairs.reduceByKeyAndWindow(add, sub, undefined as unknown as Duration)).toThrow(InvalidArgumentError);
  });

  it("reduceByWindow, countByWindow, countByValueAndWindow, groupByKeyAndWindow check their windows", () => {
    const { input, pairs } = setup();
    expect(() => input.reduceByWindow(add, Milliseconds(1500), Seconds(1))).toThrow(InvalidGraphError);
    expect(() => input.reduceByWindow(add, sub, Milliseconds(1500), Seconds(1))).toThrow(InvalidGraphError);
    expect(() => input.countByWindow(Seconds(2), Milliseconds(500))).toThrow(InvalidGraphError);
    expect(() => input.countByValueAndWindow(Milliseconds(2200))).toThrow(InvalidGraphError);
    expect(() => pairs.groupByKeyAndWindow(Milliseconds(1200))).toThrow(InvalidGraphError);
  });
});

describe("combining streams", () => {
  it("union of streams with different slide durations", () => {
    const { input } = setup();
    const windowed = input.window(Seconds(2), Seconds(2));
    const e = thrown(() => input.union(windowed));
    expect(e).toBeInstanceOf(InvalidGraphError);
    expect(e.message).toContain("different slide durations");
    expect(e.message).toContain("1000 ms");
    expect(e.message).toContain("2000 ms");
  });

  it("ssc.union with different slides, and with no streams", () => {
    const { ssc, input } = setup();
    const windowed = input.window(Seconds(3), Seconds(3));
    expect(() => ssc.union([input, windowed])).toThrow(InvalidGraphError);
    expect(() => ssc.union([input, windowed])).toThrow(/different slide durations/);
    expect(() => ssc.union([])).toThrow(InvalidGraphError);
    expect(() => ssc.union([input, input.map((x) => x + 1)])).not.toThrow();
  });

  it("transformWith with different slides", () => {
    const { input } = setup();
    const windowed = input.window(Seconds(2), Seconds(2));
    const e = thrown(() => input.transformWith(windowed, (a, b) => a.union(b)));
    expect(e).toBeInstanceOf(InvalidGraphError);
    expect(e.message).toContain("different slide durations");
    expect(e.message).toContain("2000 ms");
  });

  it("join / cogroup with different slides", () => {
    const { pairs } = setup();
    const windowed = pairs.window(Seconds(2), Seconds(2));
    expect(() => pairs.join(windowed)).toThrow(InvalidGraphError);
    expect(() => pairs.leftOuterJoin(windowed)).toThrow(/different slide durations/);
    expect(() => pairs.cogroup(windowed)).toThrow(InvalidGraphError);
    expect(() => pairs.join(pairs.window(Seconds(2)))).not.toThrow();
  });

  it("ssc.transform with different slides", () => {
    const { ssc, input } = setup();
    const windowed = input.window(Seconds(2), Seconds(2));
    expect(() => ssc.transform([input, windowed], (rdds) => rdds[0]!)).toThrow(InvalidGraphError);
  });

  it("streams of different contexts cannot be combined", () => {
    const a = setup();
    const b = setup();
    const e = thrown(() => a.input.union(b.input));
    expect(e).toBeInstanceOf(InvalidGraphError);
    expect(e.message).toMatch(/different StreamingContexts/);
  });
});

describe("checkpoint interval", () => {
  it("checkpoint(interval) not a multiple of the slide", () => {
    const { input } = setup();
    const e = thrown(() => input.checkpoint(Milliseconds(1500)));
    expect(e).toBeInstanceOf(InvalidGraphError);
    expect(e.message).toContain("1500 ms");
    expect(e.message).toContain("1000 ms");
    expect(e.message).toMatch(/multiple of/);
  });

  it("checkpoint on a windowed stream is checked against its slide", () => {
    const { input } = setup();
    const w = input.window(Seconds(4), Seconds(2));
    const e = thrown(() => w.checkpoint(Seconds(3)));
    expect(e).toBeInstanceOf(InvalidGraphError);
    expect(e.message).toContain("3000 ms");
    expect(e.message).toContain("2000 ms");
    expect(() => w.checkpoint(Seconds(4))).not.toThrow();
    expect(w.checkpointDuration?.milliseconds).toBe(4000);
  });

  it("a valid checkpoint interval persists the stream", () => {
    const { input } = setup();
    const m = input.map((x) => x * 2);
    expect(m.isPersisted).toBe(false);
    expect(m.checkpoint(Seconds(10))).toBe(m);
    expect(m.isPersisted).toBe(true);
    expect(m.checkpointDuration?.milliseconds).toBe(10_000);
  });

  it('a checkpoint interval lower than the slide is refused (Spark: "lower than its slide time")', () => {
    // Spark's DStream.validateAtStart requires checkpointDuration >= slideDuration,
    // so checkpoint(0 ms) fails by the time the context starts.
    const { ssc, input } = setup();
    expect(() => {
      input.checkpoint(Milliseconds(0));
      input.print();
      ssc.start();
    }).toThrow(InvalidGraphError);
  });
});

describe("argument checks", () => {
  it("non-function arguments are InvalidArgumentError naming the value", () => {
    const { input, pairs } = setup();
    const e = thrown(() => input.map(42 as any));
    expect(e).toBeInstanceOf(InvalidArgumentError);
    expect(e.message).toContain("42");
    expect(e.message).toMatch(/function/);
    expect(() => input.flatMap("x" as any)).toThrow(InvalidArgumentError);
    expect(() => input.filter(null as any)).toThrow(InvalidArgumentError);
    expect(() => input.mapPartitions({} as any)).toThrow(InvalidArgumentError);
    expect(() => input.transform(undefined as any)).toThrow(InvalidArgumentError);
    expect(() => input.transformWith(input, 1 as any)).toThrow(InvalidArgumentError);
    expect(() => input.reduce(true as any)).toThrow(InvalidArgumentError);
    expect(() => input.foreachRDD("print" as any)).toThrow(InvalidArgumentError);
    expect(() => pairs.reduceByKey(3 as any)).toThrow(InvalidArgumentError);
    expect(() => pairs.mapValues([] as any)).toThrow(InvalidArgumentError);
    expect(() => pairs.updateStateByKey(null as any)).toThrow(InvalidArgumentError);
    expect(() => pairs.reduceByKeyAndWindow(add, sub, Seconds(2), Seconds(1), 2, 5 as any)).toThrow(InvalidArgumentError);
  });

  it("repartition(0) and other bad partition counts", () => {
    const { input, pairs } = setup();
    const e = thrown(() => input.repartition(0));
    expect(e).toBeInstanceOf(InvalidArgumentError);
    expect(e.message).toContain("numPartitions");
    expect(e.message).toContain("0");
    expect(() => input.repartition(-2)).toThrow(InvalidArgumentError);
    expect(() => input.repartition(1.5)).toThrow(InvalidArgumentError);
    expect(() => pairs.reduceByKey(add, 0)).toThrow(InvalidArgumentError);
    expect(() => pairs.groupByKey(-1)).toThrow(InvalidArgumentError);
    expect(() => input.repartition(3)).not.toThrow();
  });

  it("print(0) and other bad counts", () => {
    const { input } = setup();
    const e = thrown(() => input.print(0));
    expect(e).toBeInstanceOf(InvalidArgumentError);
    expect(e.message).toContain("num");
    expect(() => input.print(-1)).toThrow(InvalidArgumentError);
    expect(() => input.print(2.5)).toThrow(InvalidArgumentError);
  });

  it("saveAsTextFiles needs a non-empty prefix", () => {
    const { input } = setup();
    expect(() => input.saveAsTextFiles("")).toThrow(InvalidArgumentError);
    expect(() => input.saveAsTextFiles(undefined as any)).toThrow(InvalidArgumentError);
  });

  it("queueStream needs an array", () => {
    const { ssc } = setup();
    expect(() => ssc.queueStream("abc" as any)).toThrow(InvalidArgumentError);
  });

  it("a transform function that returns no RDD fails the run, naming the fix", async () => {
    await expect(
      runBatches({
        batchInterval: Seconds(1),
        inputs: [[[1], [2]]],
        pipeline: (s) => s.transform(() => [1, 2] as any),
      }),
    ).rejects.toThrow(/must return an RDD/);
  });
});

describe("storage level and checkpoint after start", () => {
  it("persist() after start is an IllegalStateError", () => {
    const { ssc, input } = setup();
    const m = input.map((x) => x + 1);
    m.print();
    ssc.start();
    const e = thrown(() => m.persist());
    expect(e).toBeInstanceOf(IllegalStateError);
    expect(e.message).toMatch(/before start\(\)/);
    expect(() => m.cache()).toThrow(IllegalStateError);
    expect(() => m.persist(StorageLevel.MEMORY_AND_DISK)).toThrow(IllegalStateError);
    expect(() => input.persist()).toThrow(IllegalStateError);
  });

  it("checkpoint(interval) after start is an IllegalStateError", () => {
    const { ssc, input } = setup();
    input.print();
    ssc.start();
    expect(() => input.checkpoint(Seconds(10))).toThrow(IllegalStateError);
  });

  it("persist() after stop is an IllegalStateError too", async () => {
    const { ssc, input } = setup();
    input.print();
    ssc.start();
    await ssc.stop();
    expect(() => input.persist()).toThrow(IllegalStateError);
  });

  it("persist() before start is fine and chains", () => {
    const { input } = setup();
    const m = input.map((x) => x);
    expect(m.persist()).toBe(m);
    expect(m.isPersisted).toBe(true);
  });
});
