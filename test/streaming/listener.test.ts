// StreamingListener events, after Spark's StreamingListenerSuite: the order of a batch's events, its
// BatchInfo (input records, times and delays), and an event pair per output operation, on every engine.
import { afterAll, afterEach, describe, expect, it } from "vitest";
import {
  ManualClock,
  Seconds,
  StreamingContext,
  TaskFailedError,
  runBatches,
  type BatchInfo,
  type OutputOperationInfo,
  type StreamingListener,
  type StreamingContextOptions,
} from "../../lib/index.js";
import { stopSharedEngines } from "../../lib/local/run-batches-local.js";

const created: StreamingContext[] = [];

function newContext(extra: Partial<StreamingContextOptions> = {}): { ssc: StreamingContext; clock: ManualClock } {
  const clock = new ManualClock(0);
  const ssc = new StreamingContext({ batchInterval: Seconds(1), clock, print: () => undefined, retryDelayMs: 0, ...extra });
  created.push(ssc);
  return { ssc, clock };
}

afterEach(async () => {
  for (const ssc of created.splice(0)) await ssc.stop();
});
afterAll(() => stopSharedEngines(), 60_000);

/** Every event as a line, and the infos they carried. */
class Collector implements StreamingListener {
  readonly events: string[] = [];
  readonly submitted: BatchInfo[] = [];
  readonly started: BatchInfo[] = [];
  readonly completed: BatchInfo[] = [];
  readonly outputs: OutputOperationInfo[] = [];
  onStreamingStarted({ time }: { time: number }) {
    this.events.push(`streaming started ${time}`);
  }
  onBatchSubmitted({ batchInfo }: { batchInfo: BatchInfo }) {
    this.submitted.push(batchInfo);
    this.events.push(`submitted ${batchInfo.batchTime.milliseconds}`);
  }
  onBatchStarted({ batchInfo }: { batchInfo: BatchInfo }) {
    this.started.push(batchInfo);
    this.events.push(`started ${batchInfo.batchTime.milliseconds}`);
  }
  onOutputOperationStarted({ outputOperationInfo: o }: { outputOperationInfo: OutputOperationInfo }) {
    this.events.push(`output ${o.id} started ${o.batchTime.milliseconds}`);
  }
  onOutputOperationCompleted({ outputOperationInfo: o }: { outputOperationInfo: OutputOperationInfo }) {
    this.outputs.push(o);
    this.events.push(`output ${o.id} completed ${o.batchTime.milliseconds}${o.failureReason ? " (failed)" : ""}`);
  }
  onBatchCompleted({ batchInfo }: { batchInfo: BatchInfo }) {
    this.completed.push(batchInfo);
    this.events.push(`completed ${batchInfo.batchTime.milliseconds}`);
  }
}

async function runBatch(ssc: StreamingContext, clock: ManualClock, time: number): Promise<void> {
  const done = ssc.waitForBatch(time);
  clock.setTime(time);
  await done;
}

describe("StreamingListener", () => {
  it("reports each batch: submitted, started, each output operation, completed, in order", async () => {
    const { ssc, clock } = newContext();
    const l = new Collector();
    ssc.addStreamingListener(l);
    const input = ssc.queueStream([[1, 2, 3], [4], []]);
    input.print();
    input
      .map((x) => x * 2)
      .foreachRDD(async (rdd) => {
        await rdd.collect();
      });
    ssc.start();
    for (const t of [1000, 2000, 3000]) await runBatch(ssc, clock, t);
    const perBatch = (t: number) => [
      `submitted ${t}`,
      `started ${t}`,
      `output 0 started ${t}`,
      `output 0 completed ${t}`,
      `output 1 started ${t}`,
      `output 1 completed ${t}`,
      `completed ${t}`,
    ];
    expect(l.events).toEqual(["streaming started 0", ...perBatch(1000), ...perBatch(2000), ...perBatch(3000)]);
  });

  it("gives Spark's BatchInfo: input records per stream, times and delays, output operations", async () => {
    const { ssc, clock } = newContext();
    const l = new Collector();
    ssc.addStreamingListener(l);
    const a = ssc.queueStream([[1, 2, 3], [4]]);
    const b = ssc.queueStream([["x"], []]);
    a.union(b.map(() => 0))
      .count()
      .print();
    ssc.start();
    await runBatch(ssc, clock, 1000);
    clock.setTime(2500); // the second batch starts late
    await ssc.waitForBatch(2000);
    expect(l.completed.map((i) => i.numRecords)).toEqual([4, 1]);
    const [first, second] = l.completed as [BatchInfo, BatchInfo];
    expect([...first.streamIdToInputInfo.values()].map((i) => [i.inputStreamId, i.numRecords])).toEqual([
      [a.id, 3],
      [b.id, 1],
    ]);
    for (const info of l.completed) {
      expect(info.submissionTime).toBe(info.batchTime.milliseconds);
      expect(info.schedulingDelay).toBeGreaterThanOrEqual(0);
      expect(info.processingDelay).toBeGreaterThanOrEqual(0);
      expect(info.totalDelay).toBe(info.schedulingDelay! + info.processingDelay!);
      expect(info.processingEndTime! - info.processingStartTime!).toBe(info.processingDelay);
      expect([...info.outputOperationInfos.keys()]).toEqual([0]);
      const op = info.outputOperationInfos.get(0)!;
      expect(op).toMatchObject({ batchTime: info.batchTime, id: 0, name: "print" });
      expect(op.description).toContain("print of ");
      expect(op.failureReason).toBeUndefined();
      expect(op.endTime! - op.startTime!).toBe(op.duration);
    }
    expect(second.schedulingDelay).toBe(500);
    // Submitted and started carry what is known then.
    expect(l.submitted[0]!.processingStartTime).toBeUndefined();
    expect(l.started[0]!.processingStartTime).toBe(1000);
    expect(l.started[0]!.processingEndTime).toBeUndefined();
    expect(l.started[0]!.outputOperationInfos.size).toBe(0);
  });

  it("keeps the batch record in onBatchCompleted's event, as earlier Sparkless listeners read it", async () => {
    const { ssc, clock } = newContext();
    const seen: [number, string, number][] = [];
    ssc.addStreamingListener({ onBatchCompleted: (e) => seen.push([e.time, e.status, e.batchInfo.batchTime.milliseconds]) });
    ssc.queueStream([[1]]).print();
    ssc.start();
    await runBatch(ssc, clock, 1000);
    expect(seen).toEqual([[1000, "completed", 1000]]);
  });

  it("reports an output operation that failed with its reason, then the failed batch", async () => {
    const { ssc, clock } = newContext({ maxTaskAttempts: 2 });
    const l = new Collector();
    const failed: number[] = [];
    ssc.addStreamingListener(l);
    ssc.addStreamingListener({
      onBatchFailed: (r, e) => {
        expect(e).toBeInstanceOf(TaskFailedError);
        failed.push(r.time);
      },
    });
    ssc.queueStream([[1]]).foreachRDD(() => {
      throw new Error("sink down");
    });
    ssc.start();
    const done = ssc.waitForBatch(1000);
    clock.setTime(1000);
    await expect(done).rejects.toThrow(/sink down/);
    expect(l.events).toEqual(["streaming started 0", "submitted 1000", "started 1000", "output 0 started 1000", "output 0 completed 1000 (failed)"]);
    expect(l.outputs[0]!.failureReason).toMatch(/sink down/);
    expect(failed).toEqual([1000]);
  });

  it("a listener that throws is reported and does not stop the app", async () => {
    const { ssc, clock } = newContext();
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on("warning", onWarning);
    try {
      const l = new Collector();
      ssc.addStreamingListener({
        onBatchStarted: () => {
          throw new Error("listener bug");
        },
      });
      ssc.addStreamingListener(l);
      ssc.queueStream([[1], [2]]).print();
      ssc.start();
      await runBatch(ssc, clock, 1000);
      await runBatch(ssc, clock, 2000);
      expect(l.completed.length).toBe(2);
      await new Promise((r) => setImmediate(r));
      expect(warnings.some((w) => w.includes("onBatchStarted") && w.includes("listener bug"))).toBe(true);
    } finally {
      process.off("warning", onWarning);
    }
  });

  for (const engine of ["memory", "local"] as const) {
    for (const execution of ["in-process", "fan-out"] as const) {
      it(`raises the same events on every engine (${engine}, ${execution})`, async () => {
        const l = new Collector();
        await runBatches({
          batchInterval: Seconds(1),
          engine,
          execution,
          inputPartitions: 2,
          inputs: [[["a b", "c"], ["d"]]],
          pipeline: (lines) => {
            // On "local" the pipeline is built for the workers too: their contexts never run a batch.
            (lines.context() as StreamingContext).addStreamingListener(l);
            return lines
              .flatMap((s: string) => s.split(" "))
              .map((w) => [w, 1] as [string, number])
              .reduceByKey((x, y) => x + y);
          },
        });
        const batchEvents = l.events.filter((e) => !e.startsWith("streaming started"));
        const perBatch = (t: number) => [`submitted ${t}`, `started ${t}`, `output 0 started ${t}`, `output 0 completed ${t}`, `completed ${t}`];
        expect(batchEvents).toEqual([...perBatch(1000), ...perBatch(2000)]);
        expect(l.completed.map((i) => i.numRecords)).toEqual([2, 1]);
        expect(l.completed.map((i) => i.outputOperationInfos.get(0)?.name)).toEqual(["foreachRDD", "foreachRDD"]);
      });
    }
  }
});
