/**
 * The batch engine: stages split at shuffles, batches recorded before they
 * run, and exactly the same results when every task is delivered twice or
 * fails once and is retried.
 */
import { describe, expect, it } from "vitest";
import {
  ManualClock, MemoryEngineServices, Seconds, StreamingContext, runBatches, type DStream, type ReceivedTask, type TaskMessage,
} from "../../lib/index.js";
import { MemoryTaskQueue } from "../../lib/storage/memory.js";

const sum = (values: number[], state: number | undefined) => values.reduce((a, b) => a + b, state ?? 0);
const words = [["a b a"], ["b c"], [], ["a"]];
const wordCount = (lines: DStream<string>) =>
  lines.flatMap((l) => l.split(" ")).map((w) => [w, 1]).updateStateByKey(sum);
const sorted = (out: unknown[][]) => out.map((b) => [...b].sort((x, y) => (JSON.stringify(x) < JSON.stringify(y) ? -1 : 1)));

/** Delivers every task message twice, as SQS may. */
class DuplicatingQueue extends MemoryTaskQueue {
  override async send(tasks: TaskMessage[]): Promise<void> { await super.send([...tasks, ...tasks]); }
}

async function runOn(engine: MemoryEngineServices, batches: string[][], pipeline: (s: DStream<string>) => DStream<unknown>, attempts = 1) {
  const clock = new ManualClock(0);
  const ssc = new StreamingContext({ batchInterval: Seconds(1), clock, engine, maxTaskAttempts: attempts, retryDelayMs: 0, print: () => {} });
  const out: unknown[][] = [];
  pipeline(ssc.queueStream(batches.map((b) => [...b]))).foreachRDD(async (rdd) => { out.push(await rdd.collect()); });
  ssc.start();
  for (let i = 1; i <= batches.length; i++) {
    const done = ssc.waitForBatch(i * 1000);
    clock.setTime(i * 1000);
    await done;
  }
  await ssc.stop();
  return out;
}

describe("stage planning", () => {
  it("cuts a word count into a shuffle stage and an output stage, recorded before the batch runs", async () => {
    const engine = new MemoryEngineServices();
    const recorded: string[] = [];
    engine.batchLog.onChange((r) => { if (r.status === "generated") recorded.push(r.stages.map((s) => s.id.split(":")[1]).join(",")); });
    await runOn(engine, [["a b"]], (s) => s.flatMap((l) => l.split(" ")).map((w) => [w, 1]).reduceByKey((a, b) => a + b));
    expect(recorded).toEqual(["shuffle-" + recorded[0]!.split("shuffle-")[1]!.split(",")[0] + ",output"]);
    const [rec] = await engine.batchLog.listBatches();
    expect(rec!.stages.map((s) => s.numTasks)).toEqual([1, 1]);
    expect(rec!.blocks).not.toEqual({});
    expect(rec!.status).toBe("completed");
  });

  it("gives the map side one task per input partition and the reduce side one per hash partition", async () => {
    const engine = new MemoryEngineServices();
    const clock = new ManualClock(0);
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock, engine, defaultParallelism: 3, print: () => {} });
    ssc.queueStream([["a"], ["b"]], false).map((w) => [w, 1]).reduceByKey((a, b) => a + b, 5).updateStateByKey(sum).print();
    ssc.start();
    const done = ssc.waitForBatch(1000);
    clock.setTime(1000);
    await done;
    await ssc.stop();
    const [rec] = await engine.batchLog.listBatches();
    const kinds = rec!.stages.map((s) => [s.id.split(":")[1], s.numTasks]);
    // queueStream with oneAtATime=false: both queued collections, one block each.
    expect(kinds).toEqual([["shuffle-" + String(kinds[0]![0]).slice(8), 2], ["shuffle-" + String(kinds[1]![0]).slice(8), 5], ["materialize", 3], ["output", 1]]);
  });

  it("plans the same stages for the same batch in every run (deterministic ids)", async () => {
    const stagesOf = async () => {
      const engine = new MemoryEngineServices();
      await runOn(engine, words, (s) => wordCount(s).window(Seconds(2), Seconds(2)));
      return (await engine.batchLog.listBatches()).map((r) => r.stages);
    };
    expect(await stagesOf()).toEqual(await stagesOf());
  });
});

describe("exactly-once results under redelivery and retry", () => {
  it("gives identical state when every task message is delivered twice", async () => {
    const normal = await runOn(new MemoryEngineServices(), words, wordCount);
    const engine = new MemoryEngineServices();
    (engine as { queue: MemoryTaskQueue }).queue = new DuplicatingQueue();
    const duplicated = await runOn(engine, words, wordCount);
    expect(sorted(duplicated)).toEqual(sorted(normal));
    expect(sorted(normal)[3]).toEqual([["a", 3], ["b", 2], ["c", 1]]);
  });

  it("gives identical windowed counts when every task message is delivered twice", async () => {
    const pipeline = (s: DStream<string>) =>
      s.flatMap((l) => l.split(" ")).map((w) => [w, 1]).reduceByKeyAndWindow((a, b) => a + b, (a, b) => a - b, Seconds(2));
    const normal = await runOn(new MemoryEngineServices(), words, pipeline);
    const engine = new MemoryEngineServices();
    (engine as { queue: MemoryTaskQueue }).queue = new DuplicatingQueue();
    expect(sorted(await runOn(engine, words, pipeline))).toEqual(sorted(normal));
  });

  it("retries a task whose user function failed once and counts every record once", async () => {
    let failures = 0;
    const flaky = (s: DStream<string>) =>
      s.flatMap((l) => l.split(" ")).map((w) => {
        if (w === "c" && failures === 0) { failures++; throw new Error("transient"); }
        return [w, 1] as [string, number];
      }).updateStateByKey(sum);
    const out = await runOn(new MemoryEngineServices(), words, flaky, 3);
    expect(failures).toBe(1);
    expect(sorted(out)[3]).toEqual([["a", 3], ["b", 2], ["c", 1]]);
  });

  it("fails the batch with a TaskFailedError once a task is out of attempts", async () => {
    const err = await runBatches({
      batchInterval: Seconds(1),
      inputs: [[[1], [2]]],
      pipeline: (s: DStream<number>) => s.map((x) => { if (x === 2) throw new Error("boom on 2"); return x; }),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toBe("TaskFailedError");
    expect((err as Error).message).toMatch(/batch 2000 failed 1 time\(s\).*boom on 2/);
  });
});

describe("storage hygiene", () => {
  it("drops shuffle output after each batch and window inputs once no window can read them", async () => {
    const engine = new MemoryEngineServices();
    const batches = Array.from({ length: 8 }, (_, i) => [`w${i}`]);
    let windowed: DStream<unknown> | undefined;
    await runOn(engine, batches, (s) => { windowed = s.window(Seconds(3)); return windowed; });
    expect(engine.shuffles.size).toBe(0);
    const parentId = windowed!.parents[0]!.id;
    // A 3 s window over 1 s batches reads 3 batches; the parent keeps only a few more than that.
    expect(engine.blocks.count(parentId)).toBeGreaterThan(0);
    expect(engine.blocks.count(parentId)).toBeLessThanOrEqual(5);
  });

  it("a task delivered after its batch completed does nothing", async () => {
    const engine = new MemoryEngineServices();
    await runOn(engine, [["a"]], (s) => s.map((w) => [w, 1]).updateStateByKey(sum));
    const before = await engine.state.scan("updateStateByKey-3", 0, 1000);
    const rec = (await engine.batchLog.listBatches())[0]!;
    const clock = new ManualClock(0);
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock, engine, print: () => {} });
    ssc.queueStream([["a"]]).map((w) => [w, 1]).updateStateByKey(sum).print();
    ssc.start();
    const late: ReceivedTask["task"] = { batchTime: rec.time, stage: 1, partition: 0 };
    await ssc.scheduler!.runTask(late);
    await ssc.stop();
    expect(await engine.state.scan("updateStateByKey-3", 0, 1000)).toEqual(before);
  });
});
