// Broadcast variables and accumulators, after Spark's AccumulatorSuite and BroadcastSuite: tasks add
// to accumulators, the driver reads them, and each task's updates count once however often it runs;
// tasks read broadcasts, including ones the coordinator made at batch time, on every engine.
import { afterAll, afterEach, describe, expect, it } from "vitest";
import {
  Broadcast,
  IllegalStateError,
  InvalidArgumentError,
  LongAccumulator,
  ManualClock,
  MemoryEngineServices,
  Seconds,
  StreamingContext,
  runBatches,
  type DStream,
  type Engine,
  type StreamingContextOptions,
} from "../../lib/index.js";
import { stopSharedEngines } from "../../lib/local/run-batches-local.js";
import { duplicatingQueue } from "../integration/helpers.js";

const created: StreamingContext[] = [];

function newContext(extra: Partial<StreamingContextOptions> = {}): { ssc: StreamingContext; clock: ManualClock } {
  const clock = new ManualClock(0);
  const ssc = new StreamingContext({ batchInterval: Seconds(1), clock, print: () => undefined, retryDelayMs: 0, ...extra });
  created.push(ssc);
  return { ssc, clock };
}

async function runBatch(ssc: StreamingContext, clock: ManualClock, time: number): Promise<void> {
  const done = ssc.waitForBatch(time);
  clock.setTime(time);
  await done;
}

afterEach(async () => {
  for (const ssc of created.splice(0)) await ssc.stop();
});
afterAll(() => stopSharedEngines(), 60_000);

const sparkContext = (s: DStream<unknown>) => (s.context() as StreamingContext).sparkContext;
const add = (a: number, b: number) => a + b;
const ENGINES = [
  { engine: "memory", execution: "in-process" },
  { engine: "memory", execution: "fan-out" },
  { engine: "local", execution: "in-process" },
  { engine: "local", execution: "fan-out" },
] as const;

describe("accumulators", () => {
  it("longAccumulator, doubleAccumulator and collectionAccumulator on the driver, as Spark's AccumulatorV2", () => {
    const { ssc } = newContext();
    const sc = ssc.sparkContext;
    const n = sc.longAccumulator("n");
    expect(n.name).toBe("n");
    expect(n.isZero()).toBe(true);
    n.add(3);
    n.add(4);
    expect([n.value, n.sum, n.count, n.avg]).toEqual([7, 7, 2, 3.5]);
    expect(n.isZero()).toBe(false);
    n.reset();
    expect([n.value, n.count]).toEqual([0, 0]);
    expect(Number.isNaN(n.avg)).toBe(true);
    const d = sc.doubleAccumulator();
    d.add(0.5);
    d.add(2);
    expect([d.value, d.count, d.avg]).toEqual([2.5, 2, 1.25]);
    const c = sc.collectionAccumulator<string>("seen");
    c.add("a");
    c.add("b");
    expect(c.value).toEqual(["a", "b"]);
    c.value.push("not kept");
    expect(c.value).toEqual(["a", "b"]);
    const m = n.copy();
    m.add(5);
    n.merge(m);
    expect(n.value).toBe(5);
    expect(() => n.merge(d as unknown as LongAccumulator)).toThrow(InvalidArgumentError);
    expect(() => n.add(1.5)).toThrow(/whole number.*doubleAccumulator/);
    expect(String(n)).toContain("LongAccumulator(id: ");
  });

  it("an accumulator that is not registered names the fix when a task uses it", async () => {
    const { ssc, clock } = newContext({ maxTaskAttempts: 1 });
    const loose = new LongAccumulator();
    ssc.queueStream([[1, 2]]).foreachRDD(async (rdd) => {
      await rdd.foreach((x) => {
        loose.add(x);
      });
    });
    ssc.start();
    const done = ssc.waitForBatch(1000);
    clock.setTime(1000);
    await expect(done).rejects.toThrow(/not registered.*ssc\.sparkContext\.longAccumulator/);
  });

  for (const { engine, execution } of ENGINES) {
    it(`counts every element once, read on the driver after each batch (${engine}, ${execution})`, async () => {
      let acc: LongAccumulator | undefined;
      const afterAction: number[] = [];
      const out = await runBatches({
        batchInterval: Seconds(1),
        engine,
        execution,
        inputPartitions: 2,
        inputs: [[["a b", "c"], ["d e f"], []]],
        pipeline: (lines) => {
          // On "local" the pipeline is built again for the workers: the coordinator's accumulator is the first.
          const words = sparkContext(lines).longAccumulator("words");
          acc ??= words;
          const counted = lines
            .flatMap((l: string) => l.split(" "))
            .map((w) => {
              words.add(1);
              return [w, 1] as [string, number];
            })
            .reduceByKey(add);
          counted.foreachRDD(async (rdd) => {
            await rdd.count();
            afterAction.push(words.value);
          });
          return counted;
        },
      });
      expect(out.map((b) => b.length)).toEqual([3, 3, 0]);
      // Read in foreachRDD after an action: the merged value of the batches so far.
      expect(afterAction).toEqual([3, 6, 6]);
      expect(acc!.value).toBe(6);
      expect(acc!.count).toBe(6);
    });
  }

  for (const { engine, execution } of ENGINES) {
    it(`a task run again without a poison record adds its updates once (${engine}, ${execution})`, async () => {
      let acc: LongAccumulator | undefined;
      const failed = new Set<string>();
      const out = await runBatches({
        batchInterval: Seconds(1),
        engine,
        execution,
        inputPartitions: 1,
        inputs: [[["a", "b", "bad", "c"]]],
        pipeline: (lines) => {
          const seen = sparkContext(lines).longAccumulator("seen");
          acc ??= seen;
          return lines
            .map((x: string) => {
              seen.add(1);
              // Throws the first time it meets "bad" in this process: the record is quarantined, the task rerun without it.
              if (x === "bad" && !failed.has(x)) {
                failed.add(x);
                throw new Error("bad record");
              }
              return [x, 1] as [string, number];
            })
            .reduceByKey(add);
        },
      });
      expect(out[0]!.map(([k]) => k).sort()).toEqual(["a", "b", "c"]);
      // The failed run added 3 ("a", "b", "bad") before it threw; only the rerun's 3 count.
      expect(acc!.value).toBe(3);
    });
  }

  for (const execution of ["in-process", "fan-out"] as const) {
    it(`a task that fails once and is retried adds its updates once (${execution})`, async () => {
      const { ssc, clock } = newContext({ maxTaskAttempts: 3, execution: { mode: execution }, fanOut: { retryDelayMs: 0 } });
      const acc = ssc.sparkContext.longAccumulator("records");
      const thrown = new Set<number>();
      const totals: number[] = [];
      ssc
        .queueStream([[1, 2, 3, 4, 5, 6]])
        .repartition(3)
        .mapPartitions(function* (items: Iterable<number>, p: number) {
          for (const x of items) {
            acc.add(1);
            // The first attempt of partition 1 throws after it added its updates.
            if (p === 1 && !thrown.has(p)) {
              thrown.add(p);
              throw new Error("worker lost");
            }
            yield [x % 2, x] as [number, number];
          }
        })
        .reduceByKey(add)
        .foreachRDD(async (rdd) => {
          totals.push((await rdd.collect()).reduce((a, [, v]) => a + v, 0));
        });
      ssc.start();
      await runBatch(ssc, clock, 1000);
      expect(thrown.size).toBe(1);
      expect(totals).toEqual([21]);
      expect(acc.value).toBe(6);
    });
  }

  it("a fanned-out task that runs twice (a duplicate delivery, no claim to stop it) adds its updates once", async () => {
    const base = new MemoryEngineServices({ clock: new ManualClock(0) });
    const tasks = duplicatingQueue(base.tasks);
    let runs = 0;
    // Every delivery may run: a duplicate runs the task a second time, and both report a result.
    const claims = {
      ...base.claims,
      claim: async () => {
        runs++;
        return "claimed" as const;
      },
      finish: async () => undefined,
      inspect: base.claims.inspect.bind(base.claims),
      renew: async () => true,
    } as unknown as Engine["claims"];
    const engine: Engine = Object.assign(Object.create(base) as Engine, { tasks, claims });
    let acc: LongAccumulator | undefined;
    const out = await runBatches({
      batchInterval: Seconds(1),
      engine,
      execution: "fan-out",
      inputPartitions: 2,
      inputs: [[["a", "b", "c", "d"], ["e"]]],
      pipeline: (lines) => {
        const n = sparkContext(lines).longAccumulator("n");
        acc ??= n;
        return lines
          .map((x: string) => {
            n.add(1);
            return [x, 1] as [string, number];
          })
          .reduceByKey(add);
      },
    });
    expect(out.flat().length).toBe(5);
    expect(runs).toBeGreaterThan(tasks.sent);
    expect(acc!.value).toBe(5);
  });

  it("inside a task, value is the task's own; in foreachRDD, the driver's plus the output operation's", async () => {
    const { ssc, clock } = newContext({ defaultParallelism: 2 });
    const acc = ssc.sparkContext.longAccumulator();
    const inTask: number[] = [];
    const inDriver: number[] = [];
    ssc
      .queueStream([
        [1, 2, 3, 4],
        [5, 6],
      ])
      .mapPartitions(function* (items: Iterable<number>) {
        for (const x of items) {
          acc.add(1);
          yield [x, x] as [number, number];
        }
        inTask.push(acc.value);
      })
      .reduceByKey(add, 2)
      .foreachRDD(async (rdd) => {
        acc.add(100);
        await rdd.foreach(() => {
          acc.add(1000);
        });
        inDriver.push(acc.value);
      });
    ssc.start();
    await runBatch(ssc, clock, 1000);
    await runBatch(ssc, clock, 2000);
    // A map task sees its own copy, from zero, whatever the driver holds.
    expect(inTask).toEqual([4, 2]);
    // foreachRDD's body is the driver: what it and its action's partitions added so far, on the driver's value.
    expect(inDriver).toEqual([4 + 100 + 4000, 4 + 100 + 4000 + 2 + 100 + 2000]);
    expect(acc.value).toBe(6206);
  });
});

describe("broadcast variables", () => {
  it("has Spark's id, value, unpersist and destroy", () => {
    const { ssc } = newContext();
    const b = ssc.sparkContext.broadcast(new Map([["a", 1]]));
    expect(b).toBeInstanceOf(Broadcast);
    expect(b.value.get("a")).toBe(1);
    expect(String(b)).toBe(`Broadcast(${b.id})`);
    const other = ssc.sparkContext.broadcast([1]);
    expect(other.id).not.toBe(b.id);
    b.unpersist();
    expect(b.value.get("a")).toBe(1);
    b.destroy();
    expect(() => b.value).toThrow(IllegalStateError);
    expect(() => b.value).toThrow(/after it was destroyed/);
  });

  it("refuses a value the codec cannot store, naming the broadcast and where the function is", () => {
    const { ssc } = newContext();
    expect(() => ssc.sparkContext.broadcast({ table: { lookup: () => 1 } })).toThrow(InvalidArgumentError);
    expect(() => ssc.sparkContext.broadcast({ table: { lookup: () => 1 } })).toThrow(
      /Broadcast\(\d+\)'s value cannot be shared: .*value\.table\.lookup.*Keep functions/,
    );
  });

  for (const { engine, execution } of ENGINES) {
    it(`tasks read a broadcast made while the graph is built (${engine}, ${execution})`, async () => {
      const out = await runBatches({
        batchInterval: Seconds(1),
        engine,
        execution,
        inputPartitions: 2,
        inputs: [[["a", "b", "zz"], ["b"]]],
        pipeline: (lines) => {
          const names = sparkContext(lines).broadcast(
            new Map([
              ["a", "apple"],
              ["b", "banana"],
            ]),
          );
          return lines.map((x: string) => [names.value.get(x) ?? "?", 1] as [string, number]).reduceByKey(add);
        },
      });
      expect(out.map((b) => b.sort())).toEqual([
        [
          ["?", 1],
          ["apple", 1],
          ["banana", 1],
        ],
        [["banana", 1]],
      ]);
    });
  }

  for (const { engine, execution } of ENGINES) {
    it(`tasks read the coordinator's value of a broadcast made at batch time, not their own (${engine}, ${execution})`, async () => {
      // Each call of the transform function makes a new version: the coordinator's call comes first for each
      // batch; a worker that plans the batch again calls it too, and must still read the coordinator's.
      let calls = 0;
      const coordinatorVersion = new Map<number, number>();
      const out = await runBatches({
        batchInterval: Seconds(1),
        engine,
        execution,
        inputPartitions: 2,
        inputs: [
          [
            ["a", "b", "c"],
            ["d", "e"],
          ],
        ],
        pipeline: (lines) =>
          lines.transform((rdd, time) => {
            const version = ++calls;
            if (!coordinatorVersion.has(time.milliseconds)) coordinatorVersion.set(time.milliseconds, version);
            const bc = rdd.sparkContext.broadcast({ version, at: time.milliseconds });
            return rdd.map((x: string) => [`${bc.value.at}@${bc.value.version}`, x] as [string, string]).groupByKey();
          }),
      });
      const keys = out.map((b) => b.map(([k]) => k));
      expect(keys).toEqual([[`1000@${coordinatorVersion.get(1000)}`], [`2000@${coordinatorVersion.get(2000)}`]]);
      if (execution === "fan-out") expect(calls).toBeGreaterThan(2);
    });
  }
});
