/**
 * One failure policy on both engines: what happens when a user function throws on an input record
 * (`onRecordError`), ported from PySpark's streaming tests (python/pyspark/streaming/tests/
 * test_dstream.py: test_failed_func, test_failed_func_with_resetting_failure).
 *
 * Every case runs with runBatches({ engine }) for engine "memory" (the in-memory test input) and
 * "local" (Kinesis, the coordinator, SQS and the worker handler on the embedded engines), and must
 * give the same outputs, the same quarantined counts and the same failed batch on both.
 */
import { afterAll, describe, expect, it } from "vitest";
import { defineApp } from "../../lib/app/app.js";
import { InvalidArgumentError, RecordFailedError, RecordProcessingError, TaskFailedError } from "../../lib/core/errors.js";
import type { DStream } from "../../lib/dstream/dstream.js";
import { ManualClock, MemoryEngineServices, Seconds, StreamingContext, runBatches } from "../../lib/index.js";
import { stopSharedEngines } from "../../lib/local/run-batches-local.js";
import type { RunBatchesOptions } from "../../lib/testing/run-batches.js";
import type { BatchRecord } from "../../lib/storage/interfaces.js";

afterAll(() => stopSharedEngines(), 60_000);

const ENGINES = ["memory", "local"] as const;
/** PySpark's input: four batches of one element each. */
const INPUT = [[0], [1], [2], [3]];

/** PySpark's failed_func. */
function failedFunc(): never {
  throw new Error("This is a special error");
}

/** Runs `options` on `engine`, noting every batch that completed (with its quarantined count) or failed. */
async function run<T>(engine: "memory" | "local", options: Omit<RunBatchesOptions<T>, "batchInterval" | "engine">) {
  const completed: { time: number; quarantined: number }[] = [];
  const failed: number[] = [];
  const listener = {
    onBatchCompleted: (r: BatchRecord) => {
      completed.push({ time: r.time, quarantined: r.quarantinedRecords ?? 0 });
    },
    onBatchFailed: (r: BatchRecord) => {
      failed.push(r.time);
    },
  };
  let out: T[][] | undefined;
  let error: unknown;
  try {
    out = await runBatches<T>({ batchInterval: Seconds(1), engine, listener, ...options });
  } catch (e) {
    error = e;
  }
  return { out, error, completed: completed.sort((a, b) => a.time - b.time), failed };
}

describe.each(ENGINES)("onRecordError on the %s engine", (engine) => {
  it('test_failed_func, "fail": the first batch fails with a TaskFailedError naming the record, the operator and the error', async () => {
    const r = await run(engine, { inputs: [INPUT], pipeline: (s: DStream<number>) => s.map(failedFunc), onRecordError: "fail" });
    expect(r.out).toBeUndefined();
    expect(r.error).toBeInstanceOf(TaskFailedError);
    const e = r.error as TaskFailedError;
    expect(e.batchTime).toBe(1000);
    expect(e.message).toContain("This is a special error");
    expect(e.message).toMatch(/fails on the record \S+\/\S+\/\S+ of \S+: a user function threw Error: This is a special error/);
    expect(e.message).toContain('onRecordError is "fail"');
    // The cause is the typed record error: the record's coordinates, the operator, what it threw.
    const cause = e.cause as RecordFailedError;
    expect(cause).toBeInstanceOf(RecordFailedError);
    expect(cause).toBeInstanceOf(RecordProcessingError);
    expect(cause.coordinates).toMatchObject({
      batchTime: 1000,
      sequenceNumber: expect.any(String),
      shard: expect.any(String),
      stream: expect.any(String),
    });
    expect(cause.operator).toEqual(expect.any(String));
    expect((cause.cause as Error).message).toBe("This is a special error");
    // Reported as Spark reports it; and no batch after it ran.
    expect(r.failed).toEqual([1000]);
    expect(r.completed).toEqual([]);
  });

  it('test_failed_func, "quarantine" (the default): every record is set aside and every batch completes, empty', async () => {
    const r = await run(engine, { inputs: [INPUT], pipeline: (s: DStream<number>) => s.map(failedFunc) });
    expect(r.error).toBeUndefined();
    expect(r.out).toEqual([[], [], [], []]);
    expect(r.completed).toEqual([1000, 2000, 3000, 4000].map((time) => ({ time, quarantined: 1 })));
    expect(r.failed).toEqual([]);
  });

  const failsOnOne = (i: number) => {
    if (i === 1) throw new Error("This is a special error");
    return i;
  };

  it('test_failed_func_with_resetting_failure, "quarantine": the record is set aside and later batches run, as in Spark', async () => {
    const r = await run(engine, { inputs: [INPUT], pipeline: (s: DStream<number>) => s.map(failsOnOne), onRecordError: "quarantine" });
    // Spark's expected [[0], [2], [3]] lists the batches that succeeded; here batch 2 completes without its record.
    expect(r.out).toEqual([[0], [], [2], [3]]);
    expect(r.completed.map((c) => c.quarantined)).toEqual([0, 1, 0, 0]);
  });

  it('test_failed_func_with_resetting_failure, "fail": batch 2 fails and, unlike Spark, batches 3 and 4 do not run', async () => {
    const r = await run(engine, { inputs: [INPUT], pipeline: (s: DStream<number>) => s.map(failsOnOne), onRecordError: "fail" });
    expect(r.error).toBeInstanceOf(TaskFailedError);
    expect((r.error as TaskFailedError).batchTime).toBe(2000);
    expect((r.error as Error).message).toContain("This is a special error");
    expect(r.completed).toEqual([{ time: 1000, quarantined: 0 }]);
    expect(r.failed).toEqual([2000]);
  });

  it("the same through a shuffle whose map stage fans out to workers", async () => {
    const pipeline = (s: DStream<string>) =>
      s
        .map((w): [string, number] => {
          if (w === "bad") throw new Error(`cannot count ${w}`);
          return [w, 1];
        })
        .reduceByKey((a, b) => a + b);
    const inputs = [[["a", "bad", "b", "a"], ["b"]]];
    const q = await run(engine, { inputs, pipeline, execution: "fan-out", inputPartitions: 2 });
    expect(q.out!.map((b) => [...b].sort())).toEqual([
      [
        ["a", 2],
        ["b", 1],
      ],
      [["b", 1]],
    ]);
    expect(q.completed.map((c) => c.quarantined)).toEqual([1, 0]);
    const f = await run(engine, { inputs, pipeline, execution: "fan-out", inputPartitions: 2, onRecordError: "fail" });
    expect(f.error).toBeInstanceOf(TaskFailedError);
    expect((f.error as TaskFailedError).batchTime).toBe(1000);
    // From a worker the cause travels as text: the record error's name and message.
    expect((f.error as Error).message).toMatch(/RecordFailedError: Batch 1000 fails on the record .* a user function threw Error: cannot count bad/);
    expect(f.failed).toEqual([1000]);
  });

  describe("an input's own policy beats the app's", () => {
    // Two inputs, each with one bad record in its first batch.
    const inputs = [
      [["a", "bad-0"], ["b"]],
      [["c", "bad-1"], ["d"]],
    ];
    const pipeline = (x: DStream<string>, y: DStream<string>) =>
      x.union(y).map((w) => {
        if (w.startsWith("bad")) throw new Error(`cannot read ${w}`);
        return w;
      });

    it('app "fail", both inputs "quarantine": the batch goes on', async () => {
      const r = await run(engine, {
        inputs,
        pipeline,
        onRecordError: "fail",
        inputOptions: [{ onRecordError: "quarantine" }, { onRecordError: "quarantine" }],
      });
      expect(r.error).toBeUndefined();
      expect(r.out!.map((b) => [...b].sort())).toEqual([
        ["a", "c"],
        ["b", "d"],
      ]);
      expect(r.completed.map((c) => c.quarantined)).toEqual([2, 0]);
    });

    it('app "quarantine", the second input "fail": the batch fails on the second input\'s record only', async () => {
      const r = await run(engine, { inputs, pipeline, onRecordError: "quarantine", inputOptions: [undefined, { onRecordError: "fail" }] });
      expect(r.error).toBeInstanceOf(TaskFailedError);
      expect((r.error as Error).message).toContain("cannot read bad-1");
      expect(r.failed).toEqual([1000]);
    });

    it('app "fail", the first input "quarantine": the first input\'s record is set aside, the second\'s fails the batch', async () => {
      const r = await run(engine, { inputs, pipeline, onRecordError: "fail", inputOptions: [{ onRecordError: "quarantine" }] });
      expect(r.error).toBeInstanceOf(TaskFailedError);
      expect((r.error as Error).message).toContain("cannot read bad-1");
      expect((r.error as Error).message).not.toContain("bad-0");
    });
  });
});

describe("onRecordError in memory", () => {
  it("a quarantined record of an in-memory input keeps its coordinates: memory:<input>, its block and its index", async () => {
    const engine = new MemoryEngineServices();
    const out = await runBatches({ batchInterval: Seconds(1), engine, inputs: [INPUT], pipeline: (s: DStream<number>) => s.map(failsOnTwo) });
    expect(out).toEqual([[0], [1], [], [3]]);
    const entries = await engine.quarantine.list();
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      batchTime: 3000,
      stream: "memory:testInput-1",
      shard: expect.stringMatching(/^m\d+$/),
      sequenceNumber: "0",
      operator: "testInput-1",
      error: "Error: two is bad",
      record: 2,
    });
  });

  it('PySpark\'s shape: queueStream, awaitTermination rejects with the error ("fail" set on the StreamingContext)', async () => {
    const clock = new ManualClock(0);
    const ssc = new StreamingContext({
      batchInterval: Seconds(1),
      clock,
      print: () => undefined,
      maxTaskAttempts: 2,
      retryDelayMs: 0,
      onRecordError: "fail",
    });
    const failures: number[] = [];
    ssc.addStreamingListener({ onBatchFailed: (r) => failures.push(r.time) });
    ssc.queueStream(INPUT).map(failedFunc).print();
    ssc.start();
    const terminated = ssc.awaitTermination().then(
      () => undefined,
      (e: unknown) => e,
    );
    clock.setTime(1000);
    const e = (await terminated) as TaskFailedError;
    await ssc.stop();
    expect(e).toBeInstanceOf(TaskFailedError);
    expect(e.message).toContain("This is a special error");
    // As in Spark, a failed task is tried maxTaskAttempts times before its batch fails.
    expect(e.attempts).toBe(2);
    expect(e.cause).toBeInstanceOf(RecordFailedError);
    expect(failures).toEqual([1000]);
  });

  it("queueStream's own policy beats the context's", async () => {
    const clock = new ManualClock(0);
    const engine = new MemoryEngineServices();
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock, engine, print: () => undefined, onRecordError: "fail" });
    const seen: number[][] = [];
    ssc
      .queueStream([[1, 2, 3]], true, undefined, { onRecordError: "quarantine" })
      .map(failsOnTwo)
      .foreachRDD(async (rdd) => {
        seen.push(await rdd.collect());
      });
    ssc.start();
    const done = ssc.waitForBatch(1000);
    clock.setTime(1000);
    expect((await done).quarantinedRecords).toBe(1);
    await ssc.stop();
    expect(seen).toEqual([[1, 3]]);
  });

  it("defineApp's onRecordError is the default of the context that builds the app", async () => {
    const app = defineApp({ name: "policy", batchInterval: Seconds(1), onRecordError: "fail" }, (ssc) => {
      ssc
        .queueStream([[1, 2, 3]])
        .map(failsOnTwo)
        .print();
    });
    expect(app.config.onRecordError).toBe("fail");
    expect(defineApp({ name: "policy", batchInterval: Seconds(1) }, () => undefined).config.onRecordError).toBe("quarantine");
    const clock = new ManualClock(0);
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock, print: () => undefined, maxTaskAttempts: 1 });
    app.build(ssc);
    ssc.start();
    const done = ssc.waitForBatch(1000).then(
      () => undefined,
      (e: unknown) => e,
    );
    clock.setTime(1000);
    const e = await done;
    await ssc.stop();
    expect(e).toBeInstanceOf(TaskFailedError);
    expect((e as Error).message).toContain("two is bad");
  });

  it('refuses a policy that is neither "quarantine" nor "fail", naming where', async () => {
    const bad = /Expected `onRecordError` to be "quarantine" .* or "fail" .*, got `"ignore"`/;
    await expect(runBatches({ batchInterval: Seconds(1), inputs: [INPUT], pipeline: (s) => s, onRecordError: "ignore" as never })).rejects.toThrow(
      bad,
    );
    await expect(
      runBatches({ batchInterval: Seconds(1), inputs: [INPUT], pipeline: (s) => s, inputOptions: [{ onRecordError: "skip" as never }] }),
    ).rejects.toThrow(/`inputOptions\[0\]\.onRecordError` .* got `"skip"`/);
    expect(() => defineApp({ name: "p", batchInterval: Seconds(1), onRecordError: "ignore" as never }, () => undefined)).toThrow(bad);
    expect(() => new StreamingContext({ batchInterval: Seconds(1), onRecordError: "ignore" as never })).toThrow(InvalidArgumentError);
    const ssc = new StreamingContext({ batchInterval: Seconds(1) });
    expect(() => ssc.queueStream([[1]], true, undefined, { onRecordError: "drop" as never })).toThrow(/got `"drop"`/);
    expect(() => ssc.kinesisStream("s", { onRecordError: "drop" as never })).toThrow(/got `"drop"`/);
    await ssc.stop();
  });
});

function failsOnTwo(i: number): number {
  if (i === 2) throw new Error("two is bad");
  return i;
}
