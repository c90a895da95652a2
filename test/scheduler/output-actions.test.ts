// Per-partition actions inside an output operation (foreachPartition, foreach, saveAsTextFile) in a
// fanned-out batch: one task per partition on the workers, as Spark's executors run them, or in the
// coordinator when the function called an action that returns a value first, or when the RDD reads
// state. The output is whole whatever the queue and the workers do: a duplicate delivery, a task that
// fails once. And a task that reads a union of shuffles reads each parent's own partitions.
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ManualClock, MemoryEngineServices, runBatches, Seconds, StreamingContext, type DStream, type Engine } from "../../lib/index.js";
import { stopSharedEngines } from "../../lib/local/run-batches-local.js";
import { currentTaskContext } from "../../lib/rdd/scope.js";
import { MemoryObjects } from "../../lib/sources/s3/memory-objects.js";
import type { TaskMessage, TaskQueue } from "../../lib/storage/interfaces.js";
import { duplicatingQueue } from "../integration/helpers.js";

const add = (a: number, b: number) => a + b;
const LINES = [
  ["a b c a", "b d e a"],
  ["e f a", "g h b c"],
];
const countsOf = (lines: string[]) => {
  const m = new Map<string, number>();
  for (const l of lines) for (const w of l.split(" ")) m.set(w, (m.get(w) ?? 0) + 1);
  return m;
};
const wordPairs = (lines: DStream<string>) => lines.flatMap((l) => l.split(" ")).map((w): [string, number] => [w, 1]);

/** A task queue that keeps every message sent through it. */
function recordingQueue(base: TaskQueue): TaskQueue & { readonly messages: TaskMessage[] } {
  const messages: TaskMessage[] = [];
  return {
    messages,
    async send(tasks) {
      messages.push(...tasks);
      await base.send(tasks);
    },
    receive: (o) => base.receive(o),
    ackMany: (r) => base.ackMany(r),
    release: (r, d) => base.release(r, d),
  };
}

/** An engine whose task messages are recorded (and, with `duplicate`, each delivered twice with claims that never stop a run). */
function engineWith(o: { duplicate?: boolean; objects?: MemoryObjects } = {}) {
  const base = new MemoryEngineServices(o.objects ? { objects: o.objects } : {});
  const recorded = recordingQueue(o.duplicate ? duplicatingQueue(base.tasks) : base.tasks);
  const overrides: Record<string, unknown> = { tasks: recorded };
  if (o.duplicate) {
    overrides["claims"] = {
      claim: async () => "claimed" as const,
      renew: async () => true,
      finish: async () => undefined,
      inspect: base.claims.inspect.bind(base.claims),
    } satisfies Engine["claims"];
  }
  const engine: Engine = Object.assign(Object.create(base) as Engine, overrides);
  return { engine, messages: recorded.messages };
}

/** A StreamingContext on `engine` that fans every batch out and tries a task `maxTaskAttempts` times, on a manual clock. */
function fannedOutContext(engine: Engine, maxTaskAttempts: number): { ssc: StreamingContext; clock: ManualClock } {
  const clock = new ManualClock(0);
  const ssc = new StreamingContext({
    batchInterval: Seconds(1),
    clock,
    engine,
    execution: { mode: "fan-out" },
    maxTaskAttempts,
    retryDelayMs: 0,
    fanOut: { retryDelayMs: 0 },
    print: () => undefined,
  });
  return { ssc, clock };
}

/** The (batch, stage, action, partition) of the action tasks sent, each once. */
const actionTasks = (messages: TaskMessage[]) => [
  ...new Set(messages.filter((m) => m.action).map((m) => `${m.batchTime}/${m.action!.index}/${m.partition}`)),
];

async function run(engine: Engine | "local", pipeline: (lines: DStream<string>) => void, execution: "fan-out" | "in-process" = "fan-out") {
  await runBatches({
    batchInterval: Seconds(1),
    engine,
    execution,
    inputPartitions: 2,
    inputs: [LINES],
    pipeline: (lines: DStream<string>) => {
      pipeline(lines);
      return lines.count();
    },
  });
}

/** What foreachPartition's function saw, and whether it ran in a worker's task (replaying the output function to its action). */
async function partitionsSeen(engine: Engine | "local") {
  const seen: { batch: number; p: number; items: [string, number][]; worker: boolean }[] = [];
  await run(engine, (lines) =>
    wordPairs(lines)
      .reduceByKey(add, 3)
      .foreachRDD(async (rdd, time) => {
        await rdd.foreachPartition((items, p) => {
          seen.push({ batch: time.milliseconds, p, items, worker: currentTaskContext()?.outputActions?.replaying === true });
        });
      }),
  );
  return seen;
}

function expectEachPartitionOnceOnAWorker(seen: Awaited<ReturnType<typeof partitionsSeen>>): void {
  expect(seen.every((s) => s.worker)).toBe(true);
  for (const [i, lines] of LINES.entries()) {
    const mine = seen.filter((s) => s.batch === (i + 1) * 1000);
    expect(mine.map((s) => s.p).sort()).toEqual([0, 1, 2]);
    expect(new Map(mine.flatMap((s) => s.items))).toEqual(countsOf(lines));
  }
}

describe("per-partition actions of a fanned-out batch", () => {
  it("foreachPartition runs one task per partition on the workers, each partition once", async () => {
    const { engine, messages } = engineWith();
    const seen = await partitionsSeen(engine);
    expect(actionTasks(messages).sort()).toEqual(["1000/0/0", "1000/0/1", "1000/0/2", "2000/0/0", "2000/0/1", "2000/0/2"]);
    expectEachPartitionOnceOnAWorker(seen);
  });

  it("values of earlier actions (isEmpty, count) reach the workers' replay: the function branches as the coordinator's did", async () => {
    const { engine, messages } = engineWith();
    const seen: { n: number; worker: boolean; items: [string, number][] }[] = [];
    let counted = 0;
    await run(engine, (lines) =>
      wordPairs(lines)
        .reduceByKey(add, 3)
        .foreachRDD(async (rdd) => {
          if (await rdd.isEmpty()) return;
          const n = await rdd.count();
          // Computed by the coordinator only: a worker's replay gets the coordinator's values back.
          if (!currentTaskContext()?.outputActions?.replaying) counted++;
          await rdd.foreachPartition((items) => void seen.push({ n, worker: currentTaskContext()?.outputActions?.replaying === true, items }));
        }),
    );
    expect(actionTasks(messages).length).toBe(6);
    const sizes = LINES.map((l) => countsOf(l).size);
    expect(messages.filter((m) => m.action).map((m) => m.values)).toEqual([...Array(3).fill([false, sizes[0]]), ...Array(3).fill([false, sizes[1]])]);
    expect(counted).toBe(2);
    expect(seen.every((s) => s.worker)).toBe(true);
    expect(seen.map((s) => s.n).sort()).toEqual([...Array(3).fill(sizes[0]), ...Array(3).fill(sizes[1])].sort());
    expect(seen.flatMap((s) => s.items).length).toBe(sizes[0]! + sizes[1]!);
  });

  it("actions the function runs at once keep its later actions in the coordinator; one already sent stops the replay", async () => {
    const { engine, messages } = engineWith();
    let here = 0;
    let sent = 0;
    let counted: number[] = [];
    await run(engine, (lines) =>
      wordPairs(lines)
        .reduceByKey(add, 3)
        .foreachRDD(async (rdd) => {
          // The first goes to the workers; the second starts while it runs, so it runs here (and the
          // workers' replay of the first stops at the first, without calling the second).
          await Promise.all([
            rdd.foreachPartition(() => void sent++),
            rdd.foreachPartition(() => {
              if (currentTaskContext()?.outputActions?.replaying) throw new Error("the replay went past its action");
              here++;
            }),
          ]);
          counted = await Promise.all([rdd.count(), rdd.count()]);
          await rdd.foreach(() => void here++);
        }),
    );
    const sizes = LINES.map((l) => countsOf(l).size);
    expect(actionTasks(messages).sort()).toEqual(["1000/0/0", "1000/0/1", "1000/0/2", "2000/0/0", "2000/0/1", "2000/0/2"]);
    expect(sent).toBe(6);
    // The second foreachPartition (3 partitions) and foreach (every element), both here, in both batches.
    expect(here).toBe(2 * 3 + sizes[0]! + sizes[1]!);
    expect(counted).toEqual([sizes[1], sizes[1]]);
  });

  it("reading an accumulator's driver value keeps the function's later actions in the coordinator", async () => {
    const { engine, messages } = engineWith();
    let later = 0;
    await run(engine, (lines) => {
      const acc = (lines.context() as StreamingContext).sparkContext.longAccumulator("seen");
      wordPairs(lines)
        .reduceByKey(add, 3)
        .foreachRDD(async (rdd) => {
          await rdd.foreach(() => acc.add(1));
          if (acc.value > 0) await rdd.foreachPartition(() => void later++);
        });
    });
    expect(actionTasks(messages).filter((t) => t.split("/")[1] === "1")).toEqual([]);
    expect(actionTasks(messages).length).toBe(6);
    expect(later).toBe(6);
  });

  it("an output function that fails after its action and runs again: its tasks' updates count once, and the rerun's broadcast is read", async () => {
    const { engine } = engineWith();
    const { ssc, clock } = fannedOutContext(engine, 2);
    try {
      const acc = ssc.sparkContext.longAccumulator("written");
      let runs = 0;
      const read: string[] = [];
      wordPairs(ssc.queueStream<string>([[...LINES[0]!]]))
        .reduceByKey(add, 3)
        .foreachRDD(async (rdd) => {
          const replaying = currentTaskContext()?.outputActions?.replaying === true;
          if (!replaying) runs++;
          const version = rdd.sparkContext.broadcast(replaying ? "a worker's own" : `run ${runs}`);
          await rdd.foreachPartition((items) => {
            read.push(version.value);
            acc.add(items.length);
          });
          if (!replaying && runs === 1) throw new Error("the output failed after its action");
        });
      ssc.start();
      const done = ssc.waitForBatch(1000);
      clock.setTime(1000);
      await done;
      expect(runs).toBe(2);
      expect(read.sort()).toEqual([...Array(3).fill("run 1"), ...Array(3).fill("run 2")]);
      expect(acc.value).toBe(countsOf(LINES[0]!).size);
    } finally {
      await ssc.stop();
    }
  });

  it("saveAsTextFile to a local directory is written by the coordinator", async () => {
    const { engine, messages } = engineWith();
    const dir = await mkdtemp(join(tmpdir(), "sparkless-output-actions-"));
    try {
      await run(engine, (lines) =>
        wordPairs(lines)
          .reduceByKey(add, 2)
          .foreachRDD((rdd, time) => rdd.saveAsTextFile(join(dir, `out-${time.milliseconds}`))),
      );
      expect(actionTasks(messages)).toEqual([]);
      expect((await readdir(join(dir, "out-1000"))).sort()).toEqual(["_SUCCESS", "part-00000", "part-00001"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("an action that returns an array first (collect) keeps the function's later actions in the coordinator, with the same output", async () => {
    const { engine, messages } = engineWith();
    const seen: [string, number][] = [];
    await run(engine, (lines) =>
      wordPairs(lines)
        .reduceByKey(add, 3)
        .foreachRDD(async (rdd) => {
          const all = await rdd.collect();
          if (all.length > 0) await rdd.foreachPartition((items) => void seen.push(...items));
        }),
    );
    expect(actionTasks(messages)).toEqual([]);
    // The shuffle stages still fanned out.
    expect(messages.some((m) => !m.action)).toBe(true);
    expect(seen.length).toBe(countsOf(LINES[0]!).size + countsOf(LINES[1]!).size);
  });

  it("an RDD that reads state (updateStateByKey) is written from the coordinator", async () => {
    const { engine, messages } = engineWith();
    let last: [string, number][] = [];
    await run(engine, (lines) =>
      wordPairs(lines)
        .updateStateByKey((vs: number[], s?: number) => vs.reduce(add, s ?? 0))
        .foreachRDD(async (rdd) => {
          const batch: [string, number][] = [];
          await rdd.foreach((kv) => void batch.push(kv));
          last = batch;
        }),
    );
    expect(actionTasks(messages)).toEqual([]);
    expect(new Map(last)).toEqual(countsOf(LINES.flat()));
  });

  it("saveAsTextFile and then foreachPartition in one function: both on the workers, the parts exact and _SUCCESS written", async () => {
    const objects = new MemoryObjects();
    const { engine, messages } = engineWith({ objects });
    const seen: string[] = [];
    await run(engine, (lines) =>
      wordPairs(lines)
        .reduceByKey(add, 2)
        .map(([w, n]) => `${w}=${n}`)
        .foreachRDD(async (rdd, time) => {
          await rdd.saveAsTextFile(`s3://out/words-${time.milliseconds}`);
          await rdd.foreachPartition((items) => void seen.push(...items));
        }),
    );
    const tasks = actionTasks(messages);
    expect(tasks.filter((t) => t.startsWith("1000/0/")).length).toBe(2);
    expect(tasks.filter((t) => t.startsWith("1000/1/")).length).toBe(2);
    const text = async (key: string) => new TextDecoder().decode(await objects.get("out", key));
    expect(await objects.list("out", "words-1000/")).toEqual(["words-1000/_SUCCESS", "words-1000/part-00000", "words-1000/part-00001"]);
    const parts = (await text("words-1000/part-00000")) + (await text("words-1000/part-00001"));
    expect(parts.endsWith("\n")).toBe(true);
    expect(parts.split("\n").slice(0, -1).sort()).toEqual([...countsOf(LINES[0]!)].map(([w, n]) => `${w}=${n}`).sort());
    expect(seen.length).toBe(countsOf(LINES[0]!).size + countsOf(LINES[1]!).size);
  });

  it("with every task delivered twice and one partition failing once, each partition's updates count once and the output is whole", async () => {
    const { engine, messages } = engineWith({ duplicate: true });
    const { ssc, clock } = fannedOutContext(engine, 3);
    try {
      const acc = ssc.sparkContext.longAccumulator("written");
      const failed = new Set<string>();
      const written = new Map<number, Map<string, number>>();
      // queueStream takes its batches off the queue it is given, as Spark dequeues them.
      wordPairs(ssc.queueStream<string>(LINES.map((b) => [...b])))
        .reduceByKey(add, 3)
        .foreachRDD(async (rdd, time) => {
          await rdd.foreachPartition((items, p) => {
            const key = `${time.milliseconds}/${p}`;
            if (p === 1 && !failed.has(key)) {
              failed.add(key);
              throw new Error("the sink refused the write");
            }
            // An idempotent sink: a second write of a partition writes the same values.
            const m = written.get(time.milliseconds) ?? new Map<string, number>();
            for (const [w, c] of items) m.set(w, c);
            written.set(time.milliseconds, m);
            acc.add(items.length);
          });
        });
      ssc.start();
      for (const t of [1000, 2000]) {
        const done = ssc.waitForBatch(t);
        clock.setTime(t);
        await done;
      }
      expect([...failed].sort()).toEqual(["1000/1", "2000/1"]);
      expect(actionTasks(messages).length).toBe(6);
      // The failed partition was sent again, as attempt 2.
      expect(messages.filter((m) => m.action && m.partition === 1 && m.attempt === 2).length).toBe(2);
      expect(written.get(1000)).toEqual(countsOf(LINES[0]!));
      expect(written.get(2000)).toEqual(countsOf(LINES[1]!));
      expect(acc.value).toBe(countsOf(LINES[0]!).size + countsOf(LINES[1]!).size);
    } finally {
      await ssc.stop();
    }
  });

  it("shared variables made in the output function: tasks read the coordinator's broadcast, and each update counts once", async () => {
    const { engine, messages } = engineWith();
    const got: string[] = [];
    const values: Record<string, number[]> = { first: [], second: [] };
    await run(engine, (lines) => {
      const counts = wordPairs(lines).reduceByKey(add, 3);
      // An earlier output that makes an accumulator: the later output's shared variables keep their ids.
      counts.foreachRDD(async (rdd) => {
        const first = rdd.sparkContext.longAccumulator("first");
        first.add(await rdd.count());
        values.first!.push(first.value);
      });
      counts.foreachRDD(async (rdd) => {
        const second = rdd.sparkContext.longAccumulator("second");
        // Driver code: counted once, by the coordinator, not again by each task that replays it.
        second.add(100);
        // Made from where it runs, to tell the coordinator's value from one a worker would make.
        const where = rdd.sparkContext.broadcast(currentTaskContext()?.outputActions?.replaying ? "worker" : "coordinator");
        await rdd.foreachPartition((items) => {
          got.push(where.value);
          second.add(items.length);
        });
        values.second!.push(second.value);
      });
    });
    expect(actionTasks(messages).length).toBe(6);
    expect(messages.filter((m) => m.action).every((m) => m.broadcasts?.length === 1)).toBe(true);
    expect(got).toEqual(Array(6).fill("coordinator"));
    const sizes = LINES.map((l) => countsOf(l).size);
    expect(values.first).toEqual(sizes);
    expect(values.second).toEqual(sizes.map((n) => 100 + n));
  });

  it("a task that reads a union of differently partitioned shuffles reads each parent's partitions, as in process", async () => {
    const results: Record<string, unknown> = {};
    for (const execution of ["in-process", "fan-out"] as const) {
      const { engine, messages } = engineWith();
      const parts: string[] = [];
      const totals: [string, number][][] = [];
      await run(
        engine,
        (lines) => {
          const pairs = wordPairs(lines);
          const u = pairs.reduceByKey(add, 2).union(pairs.mapValues((x) => x * 10).reduceByKey(add, 3));
          // A shuffle stage over the union (5 partitions), and an output action on it.
          u.reduceByKey(add, 2).foreachRDD(async (rdd) => void totals.push((await rdd.collect()).sort()));
          u.foreachRDD(async (rdd) => {
            await rdd.foreachPartition(
              (items, p) =>
                void parts.push(
                  `${p}:${items
                    .map(([w, n]) => `${w}${n}`)
                    .sort()
                    .join(",")}`,
                ),
            );
          });
        },
        execution,
      );
      if (execution === "fan-out") expect(actionTasks(messages).length).toBe(10);
      results[execution] = { totals, parts: parts.sort() };
    }
    expect(results["fan-out"]).toEqual(results["in-process"]);
    expect((results["in-process"] as { totals: [string, number][][] }).totals[0]).toEqual(
      [...countsOf(LINES[0]!)].map(([w, n]) => [w, n * 11]).sort(),
    );
  });
});

describe("per-partition actions of a fanned-out batch on the local engines (SQS, DynamoDB claims, worker handler)", () => {
  afterAll(() => stopSharedEngines(), 60_000);

  it("foreachPartition runs one task per partition on the workers, each partition once", async () => {
    expectEachPartitionOnceOnAWorker(await partitionsSeen("local"));
  });
});
