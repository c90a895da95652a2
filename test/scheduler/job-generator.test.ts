/**
 * The job generator: each batch's record written before it runs, batches that fit run in the
 * coordinator with no task traffic, runs of empty batches sharing one record, and fanned-out batches
 * giving exactly the in-process results under duplicate deliveries, failing tasks and dead workers.
 */
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock, MemoryEngineServices, Seconds, StreamingContext, TaskFailedError, runBatches, type DStream } from "../../lib/index.js";
import type { ExecutionOptions } from "../../lib/scheduler/job-generator.js";
import { TaskRunner } from "../../lib/scheduler/task-runner.js";
import type { TaskMessage } from "../../lib/storage/interfaces.js";
import { MemoryQueue } from "../../lib/storage/memory.js";
import { instrument, runContext } from "../support/engine.js";

const sum = (values: number[], state: number | undefined) => values.reduce((a, b) => a + b, state ?? 0);
const wordCount = (lines: DStream<string>) =>
  lines
    .flatMap((l) => l.split(" "))
    .map((w) => [w, 1] as [string, number])
    .updateStateByKey(sum);
const sorted = (out: unknown[][]) => out.map((b) => [...b].sort((x, y) => (JSON.stringify(x) < JSON.stringify(y) ? -1 : 1)));
const words = [["a b a"], ["b c"], [], ["a"], ["c c d"]];

afterEach(async () => {
  await StreamingContext.getActive()?.stop();
});

describe("the write-ahead log", () => {
  it("writes a batch's record, with its blocks, before anything of the batch runs", async () => {
    const events: string[] = [];
    const { engine } = instrument(new MemoryEngineServices(), {
      after: (name, args) => {
        if (name === "batchLog.createBatch") events.push(`record ${(args[0] as { time: number }).time}`);
      },
    });
    const clock = new ManualClock(0);
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock, engine, print: () => undefined });
    ssc
      .queueStream([["x"], ["y"]])
      .map((l) => {
        events.push(`ran ${l}`);
        return l;
      })
      .foreachRDD(async (rdd) => {
        await rdd.collect();
      });
    ssc.start();
    await runContext(ssc, clock, 2);
    await ssc.stop();
    expect(events).toEqual(["record 1000", "ran x", "record 2000", "ran y"]);
    const rec = await engine.batchLog.getBatch(1000);
    expect(Object.values(rec!.blocks)[0]).toEqual([expect.objectContaining({ source: "memory", count: 1 })]);
  });

  it("a run of empty batches shares one record, written when the run ends; each empty batch reads back as completed", async () => {
    const { engine, counts } = instrument(new MemoryEngineServices());
    const clock = new ManualClock(0);
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock, engine, print: () => undefined });
    const input = [["a"], [], [], [], [], ["b"]];
    wordCount(ssc.queueStream(input.map((b) => [...b]))).print();
    ssc.start();
    await runContext(ssc, clock, 6);
    // Batch 1 has a record; 2-5 wrote nothing; batch 6's record carries the run before it.
    expect(counts["batchLog.createBatch"]).toBe(2);
    const stored = await engine.batchLog.listBatches();
    expect(stored.map((r) => [r.time, r.emptyFrom])).toEqual([
      [1000, undefined],
      [6000, 2000],
    ]);
    const empty = await engine.batchLog.getBatch(3000);
    expect(empty).toMatchObject({ time: 3000, status: "completed", inputRecords: 0, empty: true });
    // The batch before a record reads as completed once the next record is written.
    expect((await engine.batchLog.getBatch(1000))!.status).toBe("completed");
    await ssc.stop();
  });
});

describe("where a batch runs", () => {
  it("a batch that fits runs in the coordinator: no task or result messages, no claims, no blobs", async () => {
    const { engine, counts } = instrument(new MemoryEngineServices());
    const out = await runBatches({ batchInterval: Seconds(1), inputs: [words], pipeline: wordCount, engine });
    expect(sorted(out)[4]).toEqual([
      ["a", 3],
      ["b", 2],
      ["c", 3],
      ["d", 1],
    ]);
    // (The context's own workers poll the task queue; nothing is ever sent to it.)
    for (const k of Object.keys(counts)) expect(k).not.toMatch(/^(tasks\.send|results|claims|blobs)/);
  });

  it("mode fan-out sends the stages that read only input to workers, with the same results", async () => {
    const { engine, counts } = instrument(new MemoryEngineServices());
    const inProcess = await runBatches({ batchInterval: Seconds(1), inputs: [words], pipeline: wordCount, inputPartitions: 2 });
    const fanned = await runBatches({
      batchInterval: Seconds(1),
      inputs: [words],
      pipeline: wordCount,
      inputPartitions: 2,
      engine,
      execution: "fan-out",
    });
    expect(sorted(fanned)).toEqual(sorted(inProcess));
    // 4 non-empty batches × 2 map tasks; the state stage stayed in the coordinator.
    expect(counts["claims.claim"]).toBe(8);
    expect(counts["results.send"]).toBe(8);
    const [rec] = await engine.batchLog.listBatches();
    expect(rec!.mode).toBe("fan-out");
  });

  it("auto fans a batch out when it has more records than the coordinator may run", async () => {
    const engine = new MemoryEngineServices();
    const clock = new ManualClock(0);
    const ssc = new StreamingContext({
      batchInterval: Seconds(1),
      clock,
      engine,
      print: () => undefined,
      execution: { mode: "auto", maxInProcessRecords: 3 },
    });
    wordCount(
      ssc.queueStream([
        ["a", "b"],
        ["a", "b", "c", "d"],
      ]),
    ).print();
    ssc.start();
    await runContext(ssc, clock, 2);
    await ssc.stop();
    const [small, large] = await engine.batchLog.listBatches();
    expect(small!.mode).toBeUndefined();
    expect(large!.mode).toBe("fan-out");
  });
});

describe("where auto runs a batch, by measured rates", () => {
  /** A manual clock on which processing takes time: each record a user function sees costs 1 ms. */
  class WorkClock extends ManualClock {
    work = 0;
    override now(): number {
      return super.now() + this.work;
    }
  }

  /**
   * Where each batch of `input` ran, on a work clock: each record a user function sees costs 1 ms, and
   * each batch `fixedMs` more (the update of every key of a state, say).
   */
  async function modesOf(input: string[][], execution: ExecutionOptions, fixedMs = 0): Promise<string[]> {
    const engine = new MemoryEngineServices();
    const clock = new WorkClock(0);
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock, engine, print: () => undefined, execution });
    wordCount(
      ssc
        .queueStream(input)
        .transform((rdd) => {
          clock.work += fixedMs;
          return rdd;
        })
        .map((w) => {
          clock.work += 1;
          return w;
        }),
    ).print();
    ssc.start();
    await runContext(ssc, clock, input.length);
    await ssc.stop();
    return (await engine.batchLog.listBatches()).map((r) => r.mode ?? "in-process");
  }
  const batch = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag}${i % 50}`);

  it("fans out past the coordinator's measured rate, and stops fanning out once that was no faster", async () => {
    // 1 record a ms in process: the limit is what fits half an interval, 500, raised to its floor of 1,000
    // (measured on 300 records, over a quarter of it, so it counts).
    const modes = await modesOf([batch(300, "a"), batch(1500, "b"), batch(1500, "c"), batch(900, "d")], { mode: "auto" });
    // 1,500 records fan out; fanned out they ran no faster than in process (1 a ms, the same function), so the
    // next 1,500 run in the coordinator.
    expect(modes).toEqual(["in-process", "fan-out", "in-process", "in-process"]);
  });

  it("a rate measured on batches much smaller than the limit it implies leaves the default limit", async () => {
    // 150 records take 50 ms of fixed cost plus 150 ms: 0.75 records a ms, which would allow 1,000 records
    // (its floor); but 150 records are under a quarter of 1,000, so the 20,000 default stands.
    const modes = await modesOf([batch(150, "a"), batch(150, "b"), batch(5000, "c")], { mode: "auto" }, 50);
    expect(modes).toEqual(["in-process", "in-process", "in-process"]);
  });

  it("a set maxInProcessRecords is a limit whatever the rates", async () => {
    const modes = await modesOf([batch(300, "a"), batch(1500, "b"), batch(1500, "c")], { mode: "auto", maxInProcessRecords: 1000 });
    expect(modes).toEqual(["in-process", "fan-out", "fan-out"]);
  });
});

describe("fan-out under failures", () => {
  /** A task queue that delivers every message twice, as SQS may. */
  class DuplicatingQueue extends MemoryQueue<TaskMessage> {
    override async send(m: TaskMessage[]): Promise<void> {
      await super.send([...m, ...m]);
    }
  }

  it("gives identical state when every task message is delivered twice", async () => {
    const normal = await runBatches({ batchInterval: Seconds(1), inputs: [words], pipeline: wordCount, inputPartitions: 2 });
    const engine = new MemoryEngineServices();
    (engine as { tasks: unknown }).tasks = new DuplicatingQueue();
    const twice = await runBatches({
      batchInterval: Seconds(1),
      inputs: [words],
      pipeline: wordCount,
      inputPartitions: 2,
      engine,
      execution: "fan-out",
    });
    expect(sorted(twice)).toEqual(sorted(normal));
  });

  it("a task whose function keeps throwing fails its batch after maxTaskAttempts, with the cause", async () => {
    const engine = new MemoryEngineServices();
    const clock = new ManualClock(0);
    let calls = 0;
    const ssc = new StreamingContext({
      batchInterval: Seconds(1),
      clock,
      engine,
      print: () => undefined,
      maxTaskAttempts: 3,
      execution: { mode: "fan-out" },
      fanOut: { retryDelayMs: 0 },
      onRecordError: "fail",
    });
    ssc
      .queueStream([["a"]])
      .map((w) => {
        calls++;
        throw new Error(`bad ${w}`);
      })
      .reduceByKey((a: number, b: number) => a + b)
      .print();
    ssc.start();
    const err = await runContext(ssc, clock, 1).catch((e: unknown) => e);
    await ssc.stop();
    expect(err).toBeInstanceOf(TaskFailedError);
    expect((err as Error).message).toMatch(/failed 3 time\(s\) on workers.*bad a/);
    expect(calls).toBe(3);
    expect((await engine.batchLog.getBatch(1000))!.status).toBe("failed");
  });

  it("a worker that dies mid-task frees its task within seconds, not after the visibility timeout", async () => {
    const engine = new MemoryEngineServices({ visibilityTimeoutMs: 60_000 });
    const clock = new ManualClock(0);
    // The coordinator's clock is the manual clock; claims expire on it, so it moves with real time here.
    const tick = setInterval(() => clock.advance(50), 50);
    const ssc = new StreamingContext({
      batchInterval: Seconds(1),
      clock,
      engine,
      print: () => undefined,
      workers: 1,
      execution: { mode: "fan-out" },
      fanOut: { claimLeaseMs: 300 },
    });
    const out: unknown[][] = [];
    wordCount(ssc.queueStream([["a b"]])).foreachRDD(async (rdd) => {
      out.push(await rdd.collect());
    });
    // The first delivery goes to a worker that claims the task, then dies: it never renews, finishes
    // or reports, and its message stays invisible for the visibility timeout (60 s).
    const tasks = engine.tasks;
    let died = false;
    (engine as { tasks: unknown }).tasks = {
      ...tasks,
      send: tasks.send.bind(tasks),
      ackMany: tasks.ackMany.bind(tasks),
      release: tasks.release.bind(tasks),
      async receive(o: { max: number; waitMs: number; signal?: AbortSignal }) {
        const got = await tasks.receive(o);
        if (died || got.length === 0) return got;
        died = true;
        await engine.claims.claim({ ...got[0]!.body }, "dying-worker", clock.now() + 300, clock.now());
        return got.slice(1);
      },
    };
    ssc.start();
    const t0 = Date.now();
    await ssc.waitForBatch(1000);
    expect(died).toBe(true);
    clearInterval(tick);
    await ssc.stop();
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(sorted(out)).toEqual([
      [
        ["a", 1],
        ["b", 1],
      ],
    ]);
  });

  it("a duplicate delivery while its task runs is busy; one after the task finished is skipped", async () => {
    const engine = new MemoryEngineServices();
    const clock = new ManualClock(0);
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock, engine, print: () => undefined });
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    ssc
      .queueStream([["a"]])
      .map(async (w) => w)
      .print();
    const graph = ssc.prepare(0);
    await engine.batchLog.createApp({ zeroTime: 0, batchIntervalMs: 1000, fingerprint: [], createdAt: 0 });
    await engine.batchLog.createBatch({
      time: 1000,
      blocks: { [graph.inputs[0]!.id]: [engine.memorySource.add(["a"])] },
      status: "running",
      generatedAt: 0,
    });
    const runner = new TaskRunner(graph, engine, clock, { owner: "w" });
    const task: TaskMessage = { batchTime: 1000, runId: "r1", stage: 0, stageId: "x", numTasks: 1, partition: 0, attempt: 1, stored: [] };
    const key = { batchTime: 1000, runId: "r1", stage: 0, partition: 0 };
    await engine.claims.claim(key, "other", clock.now() + 10_000, clock.now());
    expect(await runner.run(task)).toBe("busy");
    await engine.claims.finish(key, "other");
    expect(await runner.run(task)).toBe("skipped");
    release();
    await gate;
    await ssc.stop();
  });
});
