// StreamingContext lifecycle, after Spark's StreamingContextSuite.
import { afterEach, describe, expect, it } from "vitest";
import {
  Duration,
  IllegalStateError,
  InvalidArgumentError,
  InvalidGraphError,
  ManualClock,
  Milliseconds,
  Minutes,
  Seconds,
  SparklessError,
  StreamingContext,
  TaskFailedError,
  type StreamingContextOptions,
} from "../../lib/index.js";

const created: StreamingContext[] = [];

function newContext(extra: Partial<StreamingContextOptions> = {}): { ssc: StreamingContext; clock: ManualClock; lines: string[] } {
  const clock = (extra.clock as ManualClock | undefined) ?? new ManualClock(0);
  const lines: string[] = [];
  const ssc = new StreamingContext({ batchInterval: Seconds(1), clock, print: (l) => lines.push(l), ...extra });
  created.push(ssc);
  return { ssc, clock, lines };
}

/** Advances the manual clock to `time` and waits for that batch to complete. */
async function runBatch(ssc: StreamingContext, clock: ManualClock, time: number): Promise<void> {
  const done = ssc.waitForBatch(time);
  clock.setTime(time);
  await done;
}

afterEach(async () => {
  for (const ssc of created.splice(0)) await ssc.stop();
  expect(StreamingContext.getActive()).toBeUndefined();
});

describe("Duration", () => {
  it("Seconds, Minutes and Milliseconds are whole milliseconds", () => {
    expect(Seconds(2).milliseconds).toBe(2000);
    expect(Minutes(1).milliseconds).toBe(60_000);
    expect(Milliseconds(5).milliseconds).toBe(5);
    expect(Seconds(0.5).milliseconds).toBe(500);
  });

  it("isMultipleOf", () => {
    expect(Seconds(4).isMultipleOf(Seconds(2))).toBe(true);
    expect(Seconds(3).isMultipleOf(Seconds(2))).toBe(false);
    expect(Minutes(1).isMultipleOf(Seconds(1))).toBe(true);
    expect(Milliseconds(1500).isMultipleOf(Seconds(1))).toBe(false);
    expect(Seconds(1).isMultipleOf(Milliseconds(0))).toBe(false);
  });

  it("toString is `<ms> ms`", () => {
    expect(Seconds(2).toString()).toBe("2000 ms");
    expect(String(Milliseconds(5))).toBe("5 ms");
    expect(`${Minutes(1)}`).toBe("60000 ms");
  });

  it("rejects negative and fractional milliseconds", () => {
    expect(() => Milliseconds(-1)).toThrow(InvalidArgumentError);
    expect(() => Milliseconds(1.5)).toThrow(InvalidArgumentError);
  });
});

describe("StreamingContext construction", () => {
  it("takes the batch interval as an option or as the first argument", () => {
    const { ssc } = newContext({ batchInterval: Milliseconds(500) });
    expect(ssc.batchDuration.milliseconds).toBe(500);
    const ssc2 = new StreamingContext(Seconds(3), { clock: new ManualClock(0) });
    created.push(ssc2);
    expect(ssc2.batchDuration.milliseconds).toBe(3000);
    expect(ssc2.getState()).toBe("INITIALIZED");
  });

  it("the batch interval must be a positive Duration", () => {
    expect(() => new StreamingContext({ batchInterval: Milliseconds(0) })).toThrow(InvalidArgumentError);
    expect(() => new StreamingContext({ batchInterval: 1000 as unknown as Duration })).toThrow(InvalidArgumentError);
    expect(() => new StreamingContext({ batchInterval: undefined as unknown as Duration })).toThrow(InvalidArgumentError);
    expect(() => new StreamingContext(Milliseconds(0))).toThrow(InvalidArgumentError);
    try {
      new StreamingContext({ batchInterval: Milliseconds(0) });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(SparklessError);
      expect((e as Error).message).toContain("batchInterval");
      expect((e as Error).message).toContain("0 ms");
    }
  });

  it("rejects bad workers / defaultParallelism / maxTaskAttempts", () => {
    expect(() => new StreamingContext({ batchInterval: Seconds(1), workers: 0 })).toThrow(InvalidArgumentError);
    expect(() => new StreamingContext({ batchInterval: Seconds(1), defaultParallelism: 1.5 })).toThrow(InvalidArgumentError);
    expect(() => new StreamingContext({ batchInterval: Seconds(1), maxTaskAttempts: -1 })).toThrow(InvalidArgumentError);
  });
});

describe("StreamingContext lifecycle", () => {
  it("INITIALIZED → start() → ACTIVE → stop() → STOPPED", async () => {
    const { ssc } = newContext();
    expect(ssc.getState()).toBe("INITIALIZED");
    ssc.queueStream([[1]]).print();
    ssc.start();
    expect(ssc.getState()).toBe("ACTIVE");
    expect(StreamingContext.getActive()).toBe(ssc);
    await ssc.stop();
    expect(ssc.getState()).toBe("STOPPED");
    expect(StreamingContext.getActive()).toBeUndefined();
  });

  it("start() twice is a no-op while active", () => {
    const { ssc } = newContext();
    ssc.queueStream([[1]]).print();
    ssc.start();
    expect(() => ssc.start()).not.toThrow();
    expect(ssc.getState()).toBe("ACTIVE");
  });

  it("runs batches from a queueStream on the manual clock", async () => {
    const { ssc, clock, lines } = newContext();
    ssc
      .queueStream([[1, 2], [3]])
      .map((x) => x * 10)
      .print();
    ssc.start();
    await runBatch(ssc, clock, 1000);
    expect(lines).toEqual([
      "-------------------------------------------",
      "Time: 1000 ms",
      "-------------------------------------------",
      "10",
      "20",
      "",
    ]);
    await runBatch(ssc, clock, 2000);
    expect(lines.slice(6)).toEqual([
      "-------------------------------------------",
      "Time: 2000 ms",
      "-------------------------------------------",
      "30",
      "",
    ]);
  });

  it("a stopped context cannot be restarted", async () => {
    const { ssc } = newContext();
    ssc.queueStream([[1]]).print();
    ssc.start();
    await ssc.stop();
    expect(() => ssc.start()).toThrow(IllegalStateError);
    expect(() => ssc.start()).toThrow(/cannot be restarted/);
    expect(ssc.getState()).toBe("STOPPED");
  });

  it("a context stopped before it was started cannot be started", async () => {
    const { ssc } = newContext();
    ssc.queueStream([[1]]).print();
    await ssc.stop();
    expect(ssc.getState()).toBe("STOPPED");
    expect(() => ssc.start()).toThrow(IllegalStateError);
  });

  it("stop on a never-started context works and resolves awaitTermination", async () => {
    const { ssc } = newContext();
    await expect(ssc.stop()).resolves.toBeUndefined();
    expect(ssc.getState()).toBe("STOPPED");
    await expect(ssc.awaitTerminationOrTimeout(1000)).resolves.toBe(true);
  });

  it("stop is idempotent", async () => {
    const { ssc } = newContext();
    ssc.queueStream([[1]]).print();
    ssc.start();
    await ssc.stop();
    await expect(ssc.stop()).resolves.toBeUndefined();
    await expect(ssc.stop(false)).resolves.toBeUndefined();
    expect(ssc.getState()).toBe("STOPPED");
  });

  it("start() without output operations throws InvalidGraphError", () => {
    const { ssc } = newContext();
    ssc.queueStream([[1]]).map((x) => x + 1);
    expect(() => ssc.start()).toThrow(InvalidGraphError);
    expect(() => ssc.start()).toThrow(/No output operations registered/);
    expect(ssc.getState()).toBe("INITIALIZED");
    expect(StreamingContext.getActive()).toBeUndefined();
  });

  it("start() with no streams at all throws InvalidGraphError", () => {
    const { ssc } = newContext();
    expect(() => ssc.start()).toThrow(InvalidGraphError);
  });
});

describe("graph changes after start / stop", () => {
  it("adding a transformation after start throws IllegalStateError", () => {
    const { ssc } = newContext();
    const input = ssc.queueStream([[1]]);
    input.print();
    ssc.start();
    expect(() => input.map((x) => x + 1)).toThrow(IllegalStateError);
    expect(() => input.map((x) => x + 1)).toThrow(/after starting a context is not supported/);
  });

  it("adding an output after start throws IllegalStateError", () => {
    const { ssc } = newContext();
    const input = ssc.queueStream([[1]]);
    input.print();
    ssc.start();
    expect(() => input.print()).toThrow(IllegalStateError);
    expect(() => input.foreachRDD(() => undefined)).toThrow(IllegalStateError);
    expect(() => input.saveAsTextFiles("/tmp/never")).toThrow(IllegalStateError);
  });

  it("adding an input after start throws IllegalStateError", () => {
    const { ssc } = newContext();
    ssc.queueStream([[1]]).print();
    ssc.start();
    expect(() => ssc.queueStream([[2]])).toThrow(IllegalStateError);
  });

  it("adding a transformation or output after stop throws IllegalStateError", async () => {
    const { ssc } = newContext();
    const input = ssc.queueStream([[1]]);
    input.print();
    ssc.start();
    await ssc.stop();
    expect(() => input.map((x) => x + 1)).toThrow(IllegalStateError);
    expect(() => input.map((x) => x + 1)).toThrow(/after stopping a context is not supported/);
    expect(() => input.print()).toThrow(IllegalStateError);
    expect(() => input.window(Seconds(2))).toThrow(IllegalStateError);
  });

  it("remember() after start throws IllegalStateError", () => {
    const { ssc } = newContext();
    ssc.queueStream([[1]]).print();
    ssc.start();
    expect(() => ssc.remember(Seconds(10))).toThrow(IllegalStateError);
  });
});

describe("one active context at a time", () => {
  it("a second start throws IllegalStateError naming the fix; after the first stops the second can start", async () => {
    const a = newContext({ appName: "first" });
    const b = newContext({ appName: "second" });
    a.ssc.queueStream([[1]]).print();
    b.ssc.queueStream([["b"]]).print();
    a.ssc.start();
    expect(() => b.ssc.start()).toThrow(IllegalStateError);
    try {
      b.ssc.start();
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toContain("Only one StreamingContext may be active");
      expect((e as Error).message).toContain("first");
      expect((e as Error).message).toContain("stop()");
    }
    expect(b.ssc.getState()).toBe("INITIALIZED");
    expect(StreamingContext.getActive()).toBe(a.ssc);

    await a.ssc.stop();
    expect(StreamingContext.getActive()).toBeUndefined();
    b.ssc.start();
    expect(b.ssc.getState()).toBe("ACTIVE");
    expect(StreamingContext.getActive()).toBe(b.ssc);
    await runBatch(b.ssc, b.clock, 1000);
    expect(b.lines).toContain("b");
  });

  it("getActive / getActiveOrCreate", async () => {
    expect(StreamingContext.getActive()).toBeUndefined();
    const { ssc } = newContext();
    let creates = 0;
    const factory = () => {
      creates++;
      return ssc;
    };
    expect(StreamingContext.getActiveOrCreate(factory)).toBe(ssc);
    expect(creates).toBe(1);
    expect(StreamingContext.getActive()).toBeUndefined();
    ssc.queueStream([[1]]).print();
    ssc.start();
    expect(StreamingContext.getActive()).toBe(ssc);
    const other = () => {
      creates++;
      return newContext().ssc;
    };
    expect(StreamingContext.getActiveOrCreate(other)).toBe(ssc);
    expect(creates).toBe(1);
    await ssc.stop();
    expect(StreamingContext.getActive()).toBeUndefined();
  });
});

describe("stop(false): keep the engine", () => {
  it("stop(false) lets a second context run on the same engine", async () => {
    const clock = new ManualClock(0);
    const first = newContext({ clock });
    first.ssc.queueStream([[1, 2]]).print();
    first.ssc.start();
    await runBatch(first.ssc, clock, 1000);
    expect(first.lines).toContain("1");
    await first.ssc.stop(false);
    expect(first.ssc.getState()).toBe("STOPPED");

    const second = newContext({ clock, engine: first.ssc.engine });
    expect(second.ssc.engine).toBe(first.ssc.engine);
    second.ssc
      .queueStream([["x"], ["y"]])
      .map((s) => s.toUpperCase())
      .print();
    second.ssc.start();
    await runBatch(second.ssc, clock, 2000);
    await runBatch(second.ssc, clock, 3000);
    expect(second.lines).toEqual([
      "-------------------------------------------",
      "Time: 2000 ms",
      "-------------------------------------------",
      "X",
      "",
      "-------------------------------------------",
      "Time: 3000 ms",
      "-------------------------------------------",
      "Y",
      "",
    ]);
    // The first context printed nothing more.
    expect(first.lines.filter((l) => l.startsWith("Time:"))).toEqual(["Time: 1000 ms"]);
  });

  it("stop({ stopEngine: false }) lets a second context run on the same engine", async () => {
    const clock = new ManualClock(0);
    const first = newContext({ clock });
    first.ssc.queueStream([[1]]).print();
    first.ssc.start();
    await runBatch(first.ssc, clock, 1000);
    await first.ssc.stop({ stopEngine: false });

    const seen: Array<[number, number[]]> = [];
    const second = newContext({ clock, engine: first.ssc.engine });
    second.ssc.queueStream([[5, 6]]).foreachRDD(async (rdd, time) => {
      seen.push([time.milliseconds, await rdd.collect()]);
    });
    second.ssc.start();
    await runBatch(second.ssc, clock, 2000);
    expect(seen).toEqual([[2000, [5, 6]]]);
  });

  it("stop() closes an engine that can be closed; stop(false) does not", async () => {
    const closes: string[] = [];
    const a = newContext();
    const engineA = Object.assign(Object.create(Object.getPrototypeOf(a.ssc.engine)), a.ssc.engine, {
      close: async () => {
        closes.push("a");
      },
    });
    const withCloseA = newContext({ engine: engineA });
    await withCloseA.ssc.stop(false);
    expect(closes).toEqual([]);
    const engineB = Object.assign(Object.create(Object.getPrototypeOf(a.ssc.engine)), a.ssc.engine, {
      close: async () => {
        closes.push("b");
      },
    });
    const withCloseB = newContext({ engine: engineB });
    await withCloseB.ssc.stop();
    expect(closes).toEqual(["b"]);
  });
});

describe("awaitTermination", () => {
  it("awaitTermination resolves after stop", async () => {
    const { ssc } = newContext();
    ssc.queueStream([[1]]).print();
    ssc.start();
    let resolved = false;
    const p = ssc.awaitTermination().then(() => {
      resolved = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(resolved).toBe(false);
    await ssc.stop();
    await p;
    expect(resolved).toBe(true);
  });

  it("awaitTerminationOrTimeout returns false on timeout and true after stop", async () => {
    const { ssc } = newContext();
    ssc.queueStream([[1]]).print();
    ssc.start();
    await expect(ssc.awaitTerminationOrTimeout(30)).resolves.toBe(false);
    const p = ssc.awaitTerminationOrTimeout(5000);
    await ssc.stop();
    await expect(p).resolves.toBe(true);
    await expect(ssc.awaitTerminationOrTimeout(10)).resolves.toBe(true);
  });

  it("a batch whose user function throws makes awaitTermination reject with TaskFailedError", async () => {
    const { ssc, clock } = newContext({ maxTaskAttempts: 2, retryDelayMs: 0, onRecordError: "fail" });
    let calls = 0;
    ssc
      .queueStream([[1, 2, 3]])
      .map((x) => {
        calls++;
        if (x === 2) throw new Error("boom on two");
        return x;
      })
      .print();
    ssc.start();
    const terminated = ssc.awaitTermination();
    const done = ssc.waitForBatch(1000);
    clock.setTime(1000);
    const err = await done.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TaskFailedError);
    const failure = await terminated.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(TaskFailedError);
    const tfe = failure as TaskFailedError;
    expect(tfe.batchTime).toBe(1000);
    expect(tfe.message).toContain("1000");
    expect(tfe.message).toContain("boom on two");
    expect(tfe.attempts).toBe(2);
    expect(((tfe.cause as Error).cause as Error).message).toBe("boom on two");
    expect(calls).toBeGreaterThanOrEqual(4); // 1 and 2, twice
    // awaitTerminationOrTimeout rejects the same way.
    await expect(ssc.awaitTerminationOrTimeout(1000)).rejects.toBeInstanceOf(TaskFailedError);
  });

  it("a failing foreachRDD fails its batch", async () => {
    const { ssc, clock } = newContext({ maxTaskAttempts: 1 });
    const listenerFailures: number[] = [];
    ssc.addStreamingListener({ onBatchFailed: (r) => listenerFailures.push(r.time) });
    ssc.queueStream([["a"]]).foreachRDD(() => {
      throw new Error("sink down");
    });
    ssc.start();
    const done = ssc.waitForBatch(1000);
    clock.setTime(1000);
    await expect(done).rejects.toThrow(/sink down/);
    await expect(ssc.awaitTermination()).rejects.toBeInstanceOf(TaskFailedError);
    expect(listenerFailures).toEqual([1000]);
  });

  it("streaming listeners see completed batches in order", async () => {
    const { ssc, clock } = newContext();
    const completed: number[] = [];
    ssc.addStreamingListener({ onBatchCompleted: (r) => completed.push(r.time) });
    ssc.queueStream([[1], [2], [3]]).print();
    ssc.start();
    await runBatch(ssc, clock, 1000);
    await runBatch(ssc, clock, 2000);
    await runBatch(ssc, clock, 3000);
    expect(completed).toEqual([1000, 2000, 3000]);
  });
});
