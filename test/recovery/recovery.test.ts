/**
 * Recovery of the coordinator, on the in-memory twins (the same code runs over DynamoDB, SQS and S3;
 * the chaos suite kills real processes there). A coordinator stopped at each step of a batch is
 * replaced by a new one with no memory: it reads the log and the latest checkpoint, rebuilds the state
 * by replaying the recorded batches after it, runs again the batch that was running, and goes on.
 * Every batch's output and the final state equal a run without faults. Faults are injected from
 * outside the core, around its storage interfaces.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  IllegalStateError,
  IncompatibleUpgradeError,
  ManualClock,
  MemoryEngineServices,
  Seconds,
  StreamingContext,
  TaskFailedError,
  runBatches,
  type DStream,
  type Engine,
} from "../../lib/index.js";
import { LeadershipLostError } from "../../lib/checkpoint/checkpointer.js";
import { runCoordinatorLoop } from "../../lib/scheduler/coordinator-loop.js";
import { instrument, runContext, sleep } from "../support/engine.js";

const sum = (values: number[], state: number | undefined) => values.reduce((a, b) => a + b, state ?? 0);
const INPUT = [["a b"], ["a c"], [], ["b b"], ["c"], [], [], ["a d"], ["d"], ["e a"]];
const pipeline = (lines: DStream<string>) => {
  const pairs = lines.flatMap((l) => l.split(" ")).map((w) => [w, 1] as [string, number]);
  const totals = pairs.updateStateByKey(sum).setName("totals");
  const recent = pairs
    .reduceByKeyAndWindow(
      (a, b) => a + b,
      (a, b) => a - b,
      Seconds(3),
      Seconds(1),
      2,
      (kv) => kv[1] !== 0,
    )
    .setName("recent");
  return totals.map(([k, v]) => `t:${k}=${v}`).union(recent.map(([k, v]) => `w:${k}=${v}`));
};
const canon = (xs: string[]) => [...xs].sort();

afterEach(async () => {
  await StreamingContext.getActive()?.stop();
});

/** A context running `pipeline` over INPUT on `engine`; outputs by batch time (a batch run again overwrites its own). */
function context(engine: Engine, clock: ManualClock, outputs: Map<number, string[]>) {
  const ssc = new StreamingContext({
    batchInterval: Seconds(1),
    clock,
    engine,
    print: () => undefined,
    maxTaskAttempts: 1,
    retryDelayMs: 0,
    checkpoint: { interval: Seconds(2) },
  });
  pipeline(ssc.testInputStream(INPUT, 1)).foreachRDD(async (rdd, t) => {
    outputs.set(t.milliseconds, canon(await rdd.collect()));
  });
  return ssc;
}

async function oracle(): Promise<string[][]> {
  return (await runBatches({ batchInterval: Seconds(1), inputs: [INPUT], pipeline })).map(canon);
}

class Killed extends Error {}

/**
 * Runs the app, stopping its coordinator the first time `kill(callName, args)` says so (an exception at
 * that storage call, after which the process's memory is dropped), then resumes it in a new context.
 */
async function killAndResume(kill: (name: string, args: unknown[], phase: "before" | "after") => boolean): Promise<Map<number, string[]>> {
  const engine = new MemoryEngineServices();
  let fired = false;
  const hook = (phase: "before" | "after") => (name: string, args: unknown[]) => {
    if (!fired && kill(name, args, phase)) {
      fired = true;
      throw new Killed(`killed at ${phase} ${name}`);
    }
  };
  const { engine: faulty } = instrument(engine, { before: hook("before"), after: hook("after") });
  const clock = new ManualClock(0);
  const outputs = new Map<number, string[]>();
  const first = context(faulty, clock, outputs);
  first.start();
  let reached = 0;
  for (let i = 1; i <= INPUT.length && !fired; i++) {
    const done = first.waitForBatch(i * 1000);
    clock.setTime(i * 1000);
    if (
      await done.then(
        () => true,
        () => false,
      )
    )
      reached = i;
  }
  expect(fired).toBe(true);
  await expect(first.awaitTerminationOrTimeout(2000)).rejects.toBeInstanceOf(Killed);
  await first.stop({ stopEngine: false });
  // The lease of the dead coordinator runs out before the next one runs.
  clock.setTime(clock.now() + 60_000 - (clock.now() % 1000));
  const second = await StreamingContext.getOrCreate(() => context(engine, clock, outputs));
  expect(second.recovered).toBe(true);
  second.start();
  const last = INPUT.length * 1000;
  const all = second.waitForBatch(last);
  clock.setTime(Math.max(clock.now(), last));
  await all.catch(async () => {
    await sleep(0);
  });
  await second.stop();
  expect(reached).toBeLessThan(INPUT.length);
  return outputs;
}

const batchTime = (args: unknown[]) => (args[0] as { time?: number } | undefined)?.time;

describe("a coordinator stopped at each step of a batch, then replaced", () => {
  const cases: [string, (name: string, args: unknown[], phase: "before" | "after") => boolean][] = [
    ["before it writes the batch's record", (n, a, p) => p === "before" && n === "batchLog.createBatch" && batchTime(a) === 4000],
    ["after the record, before the batch runs", (n, a, p) => p === "after" && n === "batchLog.createBatch" && batchTime(a) === 4000],
    ["after the record of a batch that ends an empty run", (n, a, p) => p === "after" && n === "batchLog.createBatch" && batchTime(a) === 8000],
    ["between a checkpoint's pages and its manifest", (n, a, p) => p === "before" && n === "checkpoints.commit" && batchTime(a) === 4000],
    ["after a checkpoint, before the next record", (n, a, p) => p === "after" && n === "checkpoints.commit" && batchTime(a) === 6000],
  ];
  for (const [name, kill] of cases) {
    it(name, async () => {
      const got = await killAndResume(kill);
      const want = await oracle();
      for (let i = 0; i < INPUT.length; i++) expect(got.get((i + 1) * 1000), `batch ${(i + 1) * 1000}`).toEqual(want[i]);
    });
  }
});

describe("a coordinator frozen in the middle of a batch it runs in process", () => {
  it("is replaced once its lease runs out; the batch runs again on the new one, and the frozen one can never write again", async () => {
    const want = await oracle();
    const engine = new MemoryEngineServices();
    const clock = new ManualClock(0);
    const outputs = new Map<number, string[]>();
    let freeze: (() => void) | undefined;
    let frozen!: Promise<void>;
    const first = new StreamingContext({ batchInterval: Seconds(1), clock, engine, print: () => undefined, checkpoint: { interval: Seconds(2) } });
    pipeline(first.testInputStream(INPUT, 1)).foreachRDD(async (rdd, t) => {
      if (t.milliseconds === 5000 && !freeze) {
        frozen = new Promise<void>((r) => {
          freeze = r;
        });
        await frozen; // the process stops here, as if it were killed mid-batch
      }
      outputs.set(t.milliseconds, canon(await rdd.collect()));
    });
    first.start();
    await runContext(first, clock, 4);
    clock.setTime(5000);
    while (!freeze) await sleep(5);
    // Its lease (10 s) runs out; a new coordinator (another process: the runtime's loop, not a second
    // context in this one) takes the app over.
    clock.setTime(20_000);
    const outputs2 = new Map<number, string[]>();
    const next = context(engine, clock, outputs2);
    next.prepare((await engine.batchLog.getApp())!.zeroTime);
    const result = await runCoordinatorLoop(next.newGenerator(), clock, engine.lease, { owner: "second", deadline: 10_000 });
    expect(result).toMatchObject({ leader: true, batches: 5 });
    // The new coordinator ran batch 5 again (it was running) and every batch after it.
    for (let t = 5; t <= 10; t++) expect(outputs2.get(t * 1000), `batch ${t * 1000}`).toEqual(want[t - 1]);
    // The frozen one wakes up: its next write of the log is refused, and it stops.
    freeze();
    const err = await first.awaitTerminationOrTimeout(5000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LeadershipLostError);
    await first.stop();
  });
});

describe("a failed batch", () => {
  it("stops the app; once marked running again (sparkless retry), the next coordinator runs it and goes on", async () => {
    const engine = new MemoryEngineServices();
    const clock = new ManualClock(0);
    let broken = true;
    const make = () => {
      const ssc = new StreamingContext({
        batchInterval: Seconds(1),
        clock,
        engine,
        print: () => undefined,
        maxTaskAttempts: 2,
        retryDelayMs: 0,
        onRecordError: "fail",
      });
      const out = new Map<number, string[]>();
      ssc
        .testInputStream(INPUT, 1)
        .map((l) => {
          if (broken && l === "b b") throw new Error("cannot parse b b");
          return l;
        })
        .flatMap((l) => l.split(" "))
        .map((w) => [w, 1] as [string, number])
        .updateStateByKey(sum)
        .foreachRDD(async (rdd, t) => {
          out.set(t.milliseconds, (await rdd.collect()).map(([k, v]) => `${k}=${v}`).sort());
        });
      return { ssc, out };
    };
    const a = make();
    a.ssc.start();
    const err = await runContext(a.ssc, clock, 4).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskFailedError);
    expect((err as TaskFailedError).batchTime).toBe(4000);
    await a.ssc.stop({ stopEngine: false });
    expect((await engine.batchLog.getBatch(4000))!.status).toBe("failed");
    // A coordinator started while the batch is failed runs nothing.
    const b = make();
    const ssc = await StreamingContext.getOrCreate(() => b.ssc);
    ssc.start();
    await expect(ssc.awaitTermination()).rejects.toThrow(/Batch 4000 failed.*sparkless retry/);
    await ssc.stop({ stopEngine: false });
    // Fixed, and retried: what `sparkless retry` does to the log.
    broken = false;
    expect(await engine.batchLog.updateBatch(4000, "failed", { status: "running", error: undefined, retries: 1 })).toBe(true);
    const c = make();
    const again = await StreamingContext.getOrCreate(() => c.ssc);
    again.start();
    await runContext(again, clock, 1, 1000, 5);
    await again.stop();
    expect(c.out.get(4000)).toEqual(["a=2", "b=3", "c=1"]);
    expect(c.out.get(5000)).toEqual(["a=2", "b=3", "c=2"]);
  });
});

describe("getOrCreate and upgrades", () => {
  async function firstRun(engine: MemoryEngineServices, name?: string) {
    const clock = new ManualClock(0);
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock, engine, print: () => {} });
    const counts = ssc
      .queueStream([["a b"], ["a"]])
      .flatMap((l) => l.split(" "))
      .map((w) => [w, 1] as [string, number])
      .updateStateByKey(sum);
    if (name) counts.setName(name);
    counts.print();
    ssc.start();
    await runContext(ssc, clock, 2);
    await ssc.stop(false);
  }

  it("a restart with an upgraded graph that keeps the named state resumes with its state", async () => {
    const engine = new MemoryEngineServices();
    await firstRun(engine, "word-counts");
    const clock = new ManualClock(2000);
    const out: string[][] = [];
    const ssc = await StreamingContext.getOrCreate(() => {
      const s = new StreamingContext({ batchInterval: Seconds(1), clock, engine, print: () => {} });
      // The upgrade adds a filter before the state: ids shift, but the state is named.
      const counts = s
        .queueStream([["a c"]])
        .filter((l) => l.length > 0)
        .flatMap((l) => l.split(" "))
        .map((w) => [w, 1] as [string, number])
        .updateStateByKey(sum)
        .setName("word-counts");
      counts.foreachRDD(async (rdd) => {
        out.push((await rdd.collect()).map((kv) => `${kv[0]}=${kv[1]}`).sort());
      });
      return s;
    });
    expect(ssc.recovered).toBe(true);
    ssc.start();
    await runContext(ssc, clock, 1, 1000, 3);
    await ssc.stop();
    expect(out).toEqual([["a=3", "b=1", "c=1"]]);
  });

  it("an incompatible graph is refused with what changed and how to fix it", async () => {
    const engine = new MemoryEngineServices();
    await firstRun(engine);
    const err = await StreamingContext.getOrCreate(() => {
      const s = new StreamingContext({ batchInterval: Seconds(1), clock: new ManualClock(2000), engine, print: () => {} });
      s.queueStream<string>([])
        .flatMap((l) => l.split(" "))
        .map((w) => [w, 1] as [string, number])
        .updateStateByKey(sum, 4)
        .print();
      return s;
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IncompatibleUpgradeError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/"updateStateByKey-4" was updateStateByKey with 2 partitions and is now updateStateByKey with 4 partitions/);
    expect(msg).toMatch(/sparkless reset/);
  });

  it("a different batch interval is refused: batch times and state would not line up", async () => {
    const engine = new MemoryEngineServices();
    await firstRun(engine);
    const err = await StreamingContext.getOrCreate(() => {
      const s = new StreamingContext({ batchInterval: Seconds(2), clock: new ManualClock(2000), engine, print: () => {} });
      s.queueStream<string>([])
        .flatMap((l) => l.split(" "))
        .map((w) => [w, 1] as [string, number])
        .updateStateByKey(sum)
        .print();
      return s;
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IncompatibleUpgradeError);
    expect((err as Error).message).toMatch(/batch interval was 1000 ms and is now 2000 ms/);
  });

  it("a state operation whose id moved is refused with the setName fix", async () => {
    const engine = new MemoryEngineServices();
    await firstRun(engine);
    const err = await StreamingContext.getOrCreate(() => {
      const s = new StreamingContext({ batchInterval: Seconds(1), clock: new ManualClock(2000), engine, print: () => {} });
      s.queueStream<string>([])
        .filter(() => true)
        .flatMap((l) => l.split(" "))
        .map((w) => [w, 1] as [string, number])
        .updateStateByKey(sum)
        .print();
      return s;
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IncompatibleUpgradeError);
    expect((err as IncompatibleUpgradeError).problems).toEqual([
      `"updateStateByKey-4" (updateStateByKey with 2 partitions) is gone; the new graph has "updateStateByKey-5" instead: call .setName("updateStateByKey-4") on it to keep its data`,
    ]);
  });

  it("a plain new context on an engine holding an earlier run's batches is refused, naming getOrCreate", async () => {
    const engine = new MemoryEngineServices();
    await firstRun(engine);
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock: new ManualClock(0), engine, print: () => {} });
    ssc.queueStream([["x"]]).print();
    ssc.start();
    const err = await ssc.awaitTermination().catch((e: unknown) => e);
    await ssc.stop();
    expect(err).toBeInstanceOf(IllegalStateError);
    expect((err as Error).message).toMatch(/getOrCreate/);
  });
});
