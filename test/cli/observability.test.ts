// Logs and metrics: readable lines locally, Powertools JSON lines in Lambda with the batch time and
// task id, and one CloudWatch EMF document per completed batch from the worker handler
// (namespace Sparkless, dimension App), on the in-memory engine.
import { afterEach, describe, expect, it, vi } from "vitest";
import { defineApp } from "../../lib/app/app.js";
import { ManualClock } from "../../lib/core/clock.js";
import { encode } from "../../lib/core/codec.js";
import { Seconds, Time } from "../../lib/core/duration.js";
import type { AwsEngine } from "../../lib/aws/engine.js";
import { createLogger, parseLogLevel, resolveLogLevel } from "../../lib/observability/logger.js";
import { batchMetrics } from "../../lib/observability/metrics.js";
import { workerHandler } from "../../lib/runtime/handlers.js";
import { MemoryEngineServices } from "../../lib/storage/memory.js";
import { StreamingContext } from "../../lib/streaming/context.js";

const saved = { ...process.env };
afterEach(() => {
  vi.restoreAllMocks();
  for (const k of ["AWS_LAMBDA_FUNCTION_NAME", "SPARKLESS_LOG_LEVEL", "POWERTOOLS_LOG_LEVEL"]) {
    if (saved[k] === undefined) delete process.env[k]; else process.env[k] = saved[k];
  }
});

/** Captures what is written to stdout while `f` runs. */
async function stdoutOf(f: () => Promise<void> | void): Promise<string[]> {
  const lines: string[] = [];
  vi.spyOn(process.stdout, "write").mockImplementation(((chunk: string | Uint8Array) => { lines.push(String(chunk)); return true; }) as typeof process.stdout.write);
  await f();
  vi.restoreAllMocks();
  return lines.join("").split("\n").filter(Boolean);
}

describe("logs", () => {
  it("are readable lines locally, filtered by level", () => {
    const lines: string[] = [];
    const log = createLogger({ app: "wc", level: "info", format: "text", write: (l) => lines.push(l), now: () => new Date(2026, 0, 1, 9, 30, 5, 7) });
    log.child({ batchTime: new Date(2026, 0, 1, 9, 30, 4).getTime(), taskId: "1/0" }).info("task ran", { ms: 12, note: "two words" });
    log.debug("not shown");
    log.warn("careful");
    expect(lines).toEqual([
      '09:30:05.007 INFO  [wc batch 09:30:04.000 task 1/0] task ran  ms=12 note="two words"',
      "09:30:05.007 WARN  [wc] careful",
    ]);
  });

  it("take their level from --log-level, SPARKLESS_LOG_LEVEL or POWERTOOLS_LOG_LEVEL", () => {
    expect(resolveLogLevel(undefined, {})).toBe("info");
    expect(resolveLogLevel(undefined, { POWERTOOLS_LOG_LEVEL: "WARN" })).toBe("warn");
    expect(resolveLogLevel(undefined, { SPARKLESS_LOG_LEVEL: "debug", POWERTOOLS_LOG_LEVEL: "WARN" })).toBe("debug");
    expect(resolveLogLevel("error", { SPARKLESS_LOG_LEVEL: "debug" })).toBe("error");
    expect(() => parseLogLevel("loud")).toThrow(/use one of debug, info, warn, error, silent/);
  });

  it("are Powertools JSON lines in Lambda", async () => {
    const lines = await stdoutOf(() => {
      const log = createLogger({ app: "wc", level: "debug", format: "json" });
      log.child({ batchTime: 4000, taskId: "0/1" }).debug("task ran", { ms: 3 });
    });
    const entry = JSON.parse(lines[0]!);
    expect(entry).toMatchObject({ level: "DEBUG", message: "task ran", service: "sparkless", app: "wc", batchTime: 4000, taskId: "0/1", ms: 3 });
    expect(entry.timestamp).toEqual(expect.any(String));
  });
});

describe("per-batch metrics", () => {
  it("are computed from the batch record", () => {
    const m = batchMetrics({ time: 1000, status: "completed", generatedAt: 1001, startedAt: 1040, completedAt: 1500, inputRecords: 9, blocks: {}, stages: [], materialized: {}, quarantinedRecords: 2 } as never);
    expect(m).toEqual({ time: 1000, status: "completed", inputRecords: 9, quarantinedRecords: 2, schedulingDelay: 40, processingTime: 460, totalDelay: 500 });
  });

  it("the worker handler writes JSON logs with batch time and task id, and one EMF document per completed batch", async () => {
    process.env.AWS_LAMBDA_FUNCTION_NAME = "obs-worker";
    process.env.SPARKLESS_LOG_LEVEL = "debug";
    const engine = new MemoryEngineServices();
    const app = defineApp({ name: "obs", batchInterval: Seconds(1) }, (ssc) => {
      ssc.queueStream([["a", "b", "c"], ["d"]]).map((x) => [x, 1] as [string, number]).reduceByKey((a, b) => a + b).foreachRDD(() => undefined);
    });
    const clock = new ManualClock(0);
    const ssc = new StreamingContext({ batchInterval: app.config.batchInterval, clock, engine, appName: "obs", print: () => undefined });
    app.build(ssc);
    const scheduler = ssc.prepare(0);
    const lines = await stdoutOf(async () => {
      const handler = workerHandler(app, () => engine as unknown as AwsEngine);
      for (const t of [1000, 2000]) {
        clock.setTime(t);
        await scheduler.generateBatch(new Time(t));
        for (let i = 0; i < 50 && (await engine.batchLog.getBatch(t))?.status !== "completed"; i++) {
          const received = await engine.queue.receive({ max: 10, waitMs: 10 });
          const event = { Records: received.map((r, k) => ({ messageId: String(k), receiptHandle: r.receipt, body: encode(r.task), attributes: { ApproximateReceiveCount: String(r.receiveCount) } })) };
          const { batchItemFailures } = await handler(event);
          const failed = new Set(batchItemFailures.map((f) => f.itemIdentifier));
          for (const r of event.Records) if (!failed.has(r.messageId)) await engine.queue.ack(r.receiptHandle);
        }
        expect((await engine.batchLog.getBatch(t))?.status).toBe("completed");
      }
    });
    const docs = lines.map((l) => JSON.parse(l) as Record<string, any>);
    const emf = docs.filter((d) => d._aws);
    expect(emf).toHaveLength(2);
    expect(emf[0]!._aws.CloudWatchMetrics).toEqual([{
      Namespace: "Sparkless", Dimensions: [["App"]],
      Metrics: ["InputRecords", "QuarantinedRecords", "SchedulingDelay", "ProcessingTime", "TotalDelay"].map((Name) => ({ Name, Unit: Name.endsWith("Records") ? "Count" : "Milliseconds" })),
    }]);
    expect(emf.map((d) => [d.App, d.batchTime, d.InputRecords])).toEqual([["obs", "1000", 3], ["obs", "2000", 1]]);
    const taskLines = docs.filter((d) => d.message === "task ran");
    expect(taskLines.length).toBeGreaterThanOrEqual(2);
    for (const l of taskLines) expect(l).toMatchObject({ app: "obs", batchTime: expect.any(Number), taskId: expect.stringMatching(/^\d+\/\d+$/) });
    expect(docs.filter((d) => d.message === "batch completed").map((d) => d.batchTime)).toEqual([1000, 2000]);
  });
});
