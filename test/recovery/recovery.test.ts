/**
 * Recovery of the batch lifecycle, step by step, on the in-memory twins of the
 * stores (the same scheduler code runs on DynamoDB and SQS): a coordinator
 * killed at each step, a worker killed between its state write and the stage
 * hand-off, a failed batch retried, and restarts with upgraded graphs.
 */
import { describe, expect, it } from "vitest";
import {
  IllegalStateError, IncompatibleUpgradeError, ManualClock, MemoryEngineServices, Seconds, StreamingContext, Time, type DStream,
} from "../../lib/index.js";
import { installFaults } from "../../lib/testing/faults.js";
import type { BatchScheduler } from "../../lib/scheduler/scheduler.js";

const sum = (values: number[], state: number | undefined) => values.reduce((a, b) => a + b, state ?? 0);

/** A word count whose batches we drive by hand: generate, then run queued tasks one by one. */
function setup(engine: MemoryEngineServices, batches: string[][], name?: string) {
  const clock = new ManualClock(0);
  const ssc = new StreamingContext({ batchInterval: Seconds(1), clock, engine, print: () => {} });
  const counts = ssc.queueStream(batches.map((b) => [...b])).flatMap((l) => l.split(" ")).map((w) => [w, 1]).updateStateByKey(sum);
  if (name) counts.setName(name);
  const outputs: [number, [string, number][]][] = [];
  counts.foreachRDD(async (rdd, t) => { outputs.push([t.milliseconds, (await rdd.collect()).sort()]); });
  const scheduler = ssc.prepare(0, { taskLeaseMs: 1000 });
  return { ssc, clock, scheduler, outputs, stateId: counts.id };
}

/** Runs every queued task until the queue is empty, as a worker would; returns how many ran. */
async function drain(engine: MemoryEngineServices, scheduler: BatchScheduler, opts: { dropAfterRun?: (n: number) => boolean } = {}): Promise<number> {
  let n = 0;
  for (;;) {
    const got = await engine.queue.receive({ max: 1, waitMs: 0 });
    if (got.length === 0) return n;
    n++;
    const m = got[0]!;
    await scheduler.runTask(m.task);
    if (opts.dropAfterRun?.(n)) continue; // the worker "died" before deleting the message: it never comes back here
    await engine.queue.ack(m.receipt);
  }
}

async function stateAt(engine: MemoryEngineServices, id: string, time: number): Promise<[unknown, unknown][]> {
  const all = [...(await engine.state.scan(id, 0, time)), ...(await engine.state.scan(id, 1, time))];
  return all.map((e) => [e.key, e.value] as [unknown, unknown]).sort();
}

describe("coordinator killed at each step of a batch", () => {
  it("after the batch record, before the batch started: the next coordinator starts it", async () => {
    const engine = new MemoryEngineServices();
    const a = setup(engine, [["a b a"]]);
    installFaults({ seed: 1, points: { "coordinator.after-batch-record": { p: 1, action: "throw", max: 1 } } });
    await expect(a.scheduler.generateBatch(new Time(1000))).rejects.toThrow(/injected fault/);
    installFaults(undefined);
    expect((await engine.batchLog.getBatch(1000))!.status).toBe("generated");
    const b = setup(engine, [["ignored"]]);
    await b.scheduler.startNext();
    await drain(engine, b.scheduler);
    expect((await engine.batchLog.getBatch(1000))!.status).toBe("completed");
    expect(await stateAt(engine, b.stateId, 1000)).toEqual([["a", 2], ["b", 1]]);
  });

  it("before the batch record: nothing was recorded, the batch is generated again with the same data", async () => {
    const engine = new MemoryEngineServices();
    const a = setup(engine, [["a b a"]]);
    installFaults({ seed: 1, points: { "coordinator.before-batch-record": { p: 1, action: "throw", max: 1 } } });
    await expect(a.scheduler.generateBatch(new Time(1000))).rejects.toThrow(/injected fault/);
    installFaults(undefined);
    expect(await engine.batchLog.getBatch(1000)).toBeUndefined();
    // queueStream keeps data in memory only; a Kinesis input would re-read the same range. Here we re-offer it.
    const b = setup(engine, [["a b a"]]);
    await b.scheduler.generateBatch(new Time(1000));
    await drain(engine, b.scheduler);
    expect(await stateAt(engine, b.stateId, 1000)).toEqual([["a", 2], ["b", 1]]);
  });

  it("between task sends: recovery resends exactly the missing tasks", async () => {
    const engine = new MemoryEngineServices();
    const a = setup(engine, [["a b c d e f g h"]]);
    installFaults({ seed: 1, points: { "coordinator.between-task-sends": { p: 1, action: "throw", max: 1 } } }, () => undefined);
    // A queueStream has one block: with the shuffle stage of 1 task, the crash falls after the only send.
    await a.scheduler.generateBatch(new Time(1000)).catch(() => undefined);
    installFaults(undefined);
    const rec = (await engine.batchLog.getBatch(1000))!;
    expect(rec.status).toBe("running");
    // The state stage has 2 tasks; run stage 0, then lose the hand-off's second send.
    installFaults({ seed: 1, points: { "coordinator.between-task-sends": { p: 1, action: "throw", max: 1 } } });
    await drain(engine, a.scheduler).catch(() => undefined);
    installFaults(undefined);
    await drain(engine, a.scheduler);
    expect((await engine.batchLog.getBatch(1000))!.status).toBe("running");
    a.clock.setTime(10_000);
    const resent = await a.scheduler.recoverStalled(5_000);
    expect(resent).toBeGreaterThan(0);
    await drain(engine, a.scheduler);
    expect((await engine.batchLog.getBatch(1000))!.status).toBe("completed");
    expect((await stateAt(engine, a.stateId, 1000)).length).toBe(8);
  });
});

describe("worker killed after its write, before the hand-off or the delete", () => {
  it("a message never deleted is delivered again and changes nothing", async () => {
    const engine = new MemoryEngineServices();
    const a = setup(engine, [["a b a"], ["b"]]);
    await a.scheduler.generateBatch(new Time(1000));
    const got = await engine.queue.receive({ max: 1, waitMs: 0 });
    await a.scheduler.runTask(got[0]!.task);
    // The worker died after its writes, before deleting the message: it is delivered again.
    await engine.queue.release(got[0]!.receipt, 0);
    await drain(engine, a.scheduler);
    expect((await engine.batchLog.getBatch(1000))!.status).toBe("completed");
    a.clock.setTime(6_000);
    await a.scheduler.generateBatch(new Time(2000));
    await drain(engine, a.scheduler);
    expect(await stateAt(engine, a.stateId, 2000)).toEqual([["a", 2], ["b", 2]]);
  });

  it("a worker killed after recording its task, before handing the stage off: recovery hands it off", async () => {
    const engine = new MemoryEngineServices();
    const a = setup(engine, [["a b a"]]);
    await a.scheduler.generateBatch(new Time(1000));
    installFaults({ seed: 1, points: { "worker.after-complete": { p: 1, action: "throw", max: 1 } } });
    await drain(engine, a.scheduler).catch(() => undefined);
    installFaults(undefined);
    await drain(engine, a.scheduler);
    const stuck = (await engine.batchLog.getBatch(1000))!;
    expect(stuck.status).toBe("running");
    expect(stuck.currentStage).toBe(0);
    // Not stalled yet: nothing happens.
    expect(await a.scheduler.recoverStalled(60_000)).toBe(0);
    expect((await engine.batchLog.getBatch(1000))!.currentStage).toBe(0);
    a.clock.setTime(120_000);
    await a.scheduler.recoverStalled(60_000);
    await drain(engine, a.scheduler);
    expect((await engine.batchLog.getBatch(1000))!.status).toBe("completed");
    expect(await stateAt(engine, a.stateId, 1000)).toEqual([["a", 2], ["b", 1]]);
  });
});

describe("a failed batch", () => {
  it("stays failed with its error, holds later batches back, and completes when retried once fixed", async () => {
    const engine = new MemoryEngineServices();
    let broken = true;
    const clock = new ManualClock(0);
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock, engine, print: () => {} });
    ssc.queueStream([["a"], ["b"]]).map((w) => { if (broken && w === "a") throw new Error("bug on a"); return [w, 1] as [string, number]; })
      .updateStateByKey(sum).print();
    const scheduler = ssc.prepare(0);
    await scheduler.generateBatch(new Time(1000));
    const [m] = await engine.queue.receive({ max: 1, waitMs: 0 });
    await expect(scheduler.runTask(m!.task)).rejects.toThrow(/bug on a/);
    await scheduler.failTask(m!.task, new Error("bug on a"), 4);
    await engine.queue.ack(m!.receipt);
    await scheduler.generateBatch(new Time(2000));
    expect((await engine.batchLog.getBatch(1000))!.status).toBe("failed");
    expect((await engine.batchLog.getBatch(1000))!.error).toMatch(/failed 4 time\(s\).*bug on a/);
    expect((await engine.batchLog.getBatch(2000))!.status).toBe("generated");
    broken = false;
    expect(await scheduler.retryFailed(1000)).toBe(true);
    await drain(engine, scheduler);
    expect((await engine.batchLog.getBatch(1000))!.status).toBe("completed");
    expect((await engine.batchLog.getBatch(1000))!.retries).toBe(1);
    expect((await engine.batchLog.getBatch(2000))!.status).toBe("completed");
    expect(await stateAt(engine, "updateStateByKey-3", 2000)).toEqual([["a", 1], ["b", 1]]);
  });
});

describe("getOrCreate and upgrades", () => {
  async function firstRun(engine: MemoryEngineServices, name?: string) {
    const clock = new ManualClock(0);
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock, engine, print: () => {} });
    const counts = ssc.queueStream([["a b"], ["a"]]).map((w) => [w, 1]).flatMap((kv) => String(kv[0]).split(" ").map((w) => [w, 1] as [string, number])).updateStateByKey(sum);
    if (name) counts.setName(name);
    counts.print();
    ssc.start();
    for (const t of [1000, 2000]) { const d = ssc.waitForBatch(t); clock.setTime(t); await d; }
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
      const counts = s.queueStream([["a c"]]).filter((l) => l.length > 0).flatMap((l) => l.split(" ")).map((w) => [w, 1]).updateStateByKey(sum).setName("word-counts");
      counts.foreachRDD(async (rdd) => { out.push((await rdd.collect()).map((kv) => `${kv[0]}=${kv[1]}`).sort()); });
      return s;
    });
    expect(ssc.recovered).toBe(true);
    ssc.start();
    const d = ssc.waitForBatch(3000);
    clock.setTime(3000);
    await d;
    await ssc.stop();
    expect(out).toEqual([["a=3", "b=1", "c=1"]]);
  });

  it("an incompatible graph is refused with what changed and how to fix it", async () => {
    const engine = new MemoryEngineServices();
    await firstRun(engine);
    const err = await StreamingContext.getOrCreate(() => {
      const s = new StreamingContext({ batchInterval: Seconds(1), clock: new ManualClock(2000), engine, print: () => {} });
      s.queueStream<string>([]).filter(() => true).map((w) => [w, 1]).updateStateByKey(sum, 4).print();
      return s;
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IncompatibleUpgradeError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/"updateStateByKey-4" was updateStateByKey with 2 partitions and is now updateStateByKey with 4 partitions/);
    expect(msg).toMatch(/sparkless reset/);
  });

  it("a state operation whose id moved is refused with the setName fix", async () => {
    const engine = new MemoryEngineServices();
    await firstRun(engine);
    const err = await StreamingContext.getOrCreate(() => {
      const s = new StreamingContext({ batchInterval: Seconds(1), clock: new ManualClock(2000), engine, print: () => {} });
      s.queueStream<string>([]).filter(() => true).filter(() => true).map((w) => [w, 1]).updateStateByKey(sum).print();
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

describe("attempts", () => {
  it("counts failed attempts, not deliveries: a task delivered many times that fails once does not fail its batch", async () => {
    const { Worker } = await import("../../lib/runtime/worker.js");
    const { defineApp } = await import("../../lib/index.js");
    const { encode } = await import("../../lib/core/codec.js");
    const engine = new MemoryEngineServices();
    let failOnce = true;
    const app = defineApp({ name: "attempts", batchInterval: Seconds(1), maxTaskAttempts: 2 }, (ssc) => {
      ssc.queueStream([["a"]]).map((w) => { if (failOnce) { failOnce = false; throw new Error("transient"); } return [w, 1] as [string, number]; })
        .updateStateByKey(sum).print();
    });
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock: new ManualClock(0), engine, print: () => {} });
    app.build(ssc);
    await ssc.prepare(0).generateBatch(new Time(1000));
    const worker = new Worker(app, engine, { retryDelayMs: 0, print: () => {} });
    const deliver = async (receiveCount: number) => {
      const [m] = await engine.queue.receive({ max: 1, waitMs: 0 });
      return worker.handle({ Records: [{ messageId: "1", receiptHandle: m!.receipt, body: encode(m!.task), attributes: { ApproximateReceiveCount: String(receiveCount) } }] });
    };
    // The fifth delivery (four earlier ones were lost to kills or busy claims) fails: the first failed attempt.
    expect((await deliver(5)).batchItemFailures).toHaveLength(1);
    expect((await engine.batchLog.getBatch(1000))!.status).toBe("running");
    // Run it and the rest of the batch.
    for (let i = 0; i < 10 && (await engine.batchLog.getBatch(1000))!.status === "running"; i++) {
      await new Promise((r) => setTimeout(r, 5));
      const got = await engine.queue.receive({ max: 1, waitMs: 0 });
      if (got[0]) await worker.handle({ Records: [{ messageId: "1", receiptHandle: got[0].receipt, body: encode(got[0].task), attributes: { ApproximateReceiveCount: String(got[0].receiveCount + 5) } }] });
    }
    expect((await engine.batchLog.getBatch(1000))!.status).toBe("completed");
  });
});
