/**
 * A task that meets a poison record is run again without it, and counts each record once: the rerun
 * starts from the counts the task had when it started, not from those of the attempt that failed
 * (which once made a run report 9,119 input records for 5,721 in Kinesis). Here an input counts the
 * records it reads into its task, as the worker reports them in its result, and the batch's record
 * counts its input once, from the blocks fixed before it ran.
 */
import { describe, expect, it } from "vitest";
import { Time } from "../../lib/core/duration.js";
import { RecordProcessingError } from "../../lib/core/errors.js";
import { DStream } from "../../lib/dstream/dstream.js";
import { ManualClock, MemoryEngineServices, Seconds, StreamingContext } from "../../lib/index.js";
import { BlockCache, MemoryShuffles } from "../../lib/scheduler/block-manager.js";
import { BatchPlan } from "../../lib/scheduler/planner.js";
import { TaskRunner } from "../../lib/scheduler/task-runner.js";
import type { TaskMessage, TaskResult } from "../../lib/storage/interfaces.js";

const RECORDS = ["a", "boom", "b", "bang", "c"];

/** An input of one block that counts the records it reads and names each record's coordinates, as the Kinesis input does. */
function countingInput(ssc: StreamingContext, engine: MemoryEngineServices): DStream<string> {
  return new DStream<string>(ssc, {
    kind: "countingInput",
    parents: [],
    allocateBlocks: async () => [engine.memorySource.add([...RECORDS])],
    compute: async (time, planner, self) => {
      const blocks = await planner.blocksFor(self.id, time);
      return planner.leaf<string>(
        blocks.length,
        async (p, tc, emit) => {
          const records = (await tc.services.sources.get("memory")!.read(blocks[p]!)) as string[];
          tc.count("inputRecords", records.length);
          records.forEach((r, i) => {
            if (tc.scope.excludedRecords?.has(`mem/0/${i}`)) return;
            try {
              emit(r);
            } catch (e) {
              throw new RecordProcessingError(
                `threw on ${r}`,
                { stream: "mem", shard: "0", sequenceNumber: String(i), batchTime: tc.batchTime },
                { cause: e, operator: self.id, data: Buffer.from(r) },
              );
            }
          });
        },
        undefined,
        `${self.id}@${time.milliseconds}`,
      );
    },
  });
}

describe("a task run again after a poison record", () => {
  it("counts its input once: the rerun starts from the counts the task started with", async () => {
    const engine = new MemoryEngineServices();
    const clock = new ManualClock(0);
    const ssc = new StreamingContext({ batchInterval: Seconds(1), clock, engine, print: () => undefined });
    countingInput(ssc, engine)
      .map((w): [string, number] => {
        if (w.startsWith("b") && w.length > 1) throw new Error(`poison ${w}`);
        return [w, 1];
      })
      .reduceByKey((a, b) => a + b)
      .foreachRDD(async (rdd) => {
        await rdd.collect();
      });
    const graph = ssc.prepare(0);
    const input = graph.inputs[0]!;
    const blocks = {
      [input.id]: (await input.spec.allocateBlocks!(new Time(1000), undefined, {
        budget: { records: 100, bytes: 1e6, exhausted: false },
        completed: [],
      })) as never,
    };
    await engine.batchLog.createApp({ zeroTime: 0, batchIntervalMs: 1000, fingerprint: [], createdAt: 0 });
    await engine.batchLog.createBatch({ time: 1000, blocks, status: "running", generatedAt: 0, inputRecords: RECORDS.length });
    // The map stage, as the coordinator plans it.
    const plan = await BatchPlan.create(graph, new Time(1000), blocks, {
      services: {
        shuffles: new MemoryShuffles(),
        blocks: new BlockCache(),
        state: engine.state,
        quarantine: engine.quarantine,
        sources: engine.sources,
      },
      loadBatch: (t) => engine.batchLog.getBatch(t),
    });
    const stage = plan.stages[0]!;
    expect(stage.kind).toBe("shuffle");

    const runner = new TaskRunner(graph, engine, clock, { owner: "w" });
    const task: TaskMessage = {
      batchTime: 1000,
      runId: "r1",
      stage: 0,
      stageId: stage.id,
      numTasks: stage.numTasks,
      partition: 0,
      attempt: 1,
      stored: [],
    };
    expect(await runner.run(task)).toBe("ran");
    const [received] = await engine.results.receive({ max: 10, waitMs: 0 });
    const result = received!.body as TaskResult & { ok: true };
    expect(result.ok).toBe(true);
    // Two poison records: three attempts read the block, and only the last one's count stands.
    expect(result.counters).toEqual({ inputRecords: RECORDS.length });
    expect(result.quarantined).toHaveLength(2);
    const entries = await engine.quarantine.list();
    expect(entries.map((e) => [e.sequenceNumber, e.error])).toEqual([
      ["1", "Error: poison boom"],
      ["3", "Error: poison bang"],
    ]);
    expect(Buffer.from(await engine.quarantine.read(entries[1]!)).toString()).toBe("bang");
    expect((await engine.batchLog.getBatch(1000))!.inputRecords).toBe(RECORDS.length);
  });
});
