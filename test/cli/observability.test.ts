// Logs and metrics: readable lines locally, Powertools JSON lines in Lambda with the batch time and
// task id, and per-batch CloudWatch metrics from the coordinator handler (which runs the batches):
// EMF documents (namespace Sparkless, dimension App) holding many batches' figures as arrays, written
// at the end of each invocation; the worker handler logs one JSON line per task of a fanned-out batch.
// All on the in-memory engine.
import { afterEach, describe, expect, it, vi } from "vitest";
import { defineApp } from "../../lib/app/app.js";
import { ManualClock } from "../../lib/core/clock.js";
import { Milliseconds, Minutes, Seconds } from "../../lib/core/duration.js";
import type { AwsEngine } from "../../lib/aws/engine.js";
import { createLogger, parseLogLevel, resolveLogLevel } from "../../lib/observability/logger.js";
import { REQUESTS_LOG_MESSAGE } from "../../lib/observability/cost.js";
import { emptyCounts, type MeterCounts } from "../../lib/observability/metering.js";
import { batchMetrics, createBatchMetricsEmitter, MAX_BATCHES_PER_DOCUMENT } from "../../lib/observability/metrics.js";
import { coordinatorHandler, workerHandler } from "../../lib/runtime/handlers.js";
import { runEventSourceMapping } from "../../lib/runtime/worker.js";
import type { BatchRecord, TaskMessage } from "../../lib/storage/interfaces.js";
import { MemoryEngineServices } from "../../lib/storage/memory.js";
import { StreamingContext } from "../../lib/streaming/context.js";
import { expandEmptyRuns } from "../../lib/ui/batches.js";

const saved = { ...process.env };
afterEach(() => {
  vi.restoreAllMocks();
  for (const k of ["AWS_LAMBDA_FUNCTION_NAME", "SPARKLESS_LOG_LEVEL", "POWERTOOLS_LOG_LEVEL"]) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

/** Captures what is written to stdout while `f` runs. */
async function stdoutOf(f: () => Promise<void> | void): Promise<string[]> {
  const lines: string[] = [];
  vi.spyOn(process.stdout, "write").mockImplementation(((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stdout.write);
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
    const m = batchMetrics({
      time: 1000,
      status: "completed",
      generatedAt: 1001,
      startedAt: 1040,
      completedAt: 1500,
      inputRecords: 9,
      blocks: {},
      quarantinedRecords: 2,
    });
    expect(m).toEqual({
      time: 1000,
      status: "completed",
      inputRecords: 9,
      quarantinedRecords: 2,
      schedulingDelay: 40,
      processingTime: 460,
      totalDelay: 500,
    });
  });

  const METRICS = ["InputRecords", "QuarantinedRecords", "SchedulingDelay", "ProcessingTime", "TotalDelay"];
  const values = (v: unknown): number[] => (Array.isArray(v) ? v : [v]) as number[];

  it("the coordinator handler writes each invocation's batches as one EMF document of arrays, at its end", async () => {
    process.env.AWS_LAMBDA_FUNCTION_NAME = "obs-coordinator";
    const engine = new MemoryEngineServices();
    const app = defineApp({ name: "obs", batchInterval: Milliseconds(100) }, (ssc) => {
      ssc
        .queueStream([["a", "b", "c"], ["d"], [], ["e", "f"]])
        .map((x) => [x, 1] as [string, number])
        .reduceByKey((a, b) => a + b)
        .foreachRDD(() => undefined);
    });
    const handler = coordinatorHandler(app, () => engine as unknown as AwsEngine);
    // Lambda's remaining time, less the 3 s the handler keeps for the hand-over: about 6 batches of 100 ms.
    const context = { getRemainingTimeInMillis: () => 3_600, awsRequestId: "req-1" };
    const results: Awaited<ReturnType<typeof handler>>[] = [];
    const invocations: string[][] = [];
    for (let i = 0; i < 2; i++)
      invocations.push(
        await stdoutOf(async () => {
          results.push(await handler({}, context));
        }),
      );

    const batches = expandEmptyRuns(await engine.batchLog.listBatches(), 100);
    expect(batches.every((b) => b.status === "completed")).toBe(true);
    expect(batches.slice(0, 4).map((b) => b.inputRecords)).toEqual([3, 1, 0, 2]);
    let next = batches[0]!.time;
    invocations.forEach((lines, i) => {
      const docs = lines.map((l) => JSON.parse(l) as Record<string, any>);
      const emf = docs.filter((d) => d._aws);
      // One document per invocation, and it is the invocation's last line: written when it ends.
      expect(emf).toHaveLength(1);
      expect(docs.at(-1)).toBe(emf[0]);
      expect(docs.find((d) => d.message === "coordinator done")).toMatchObject({ app: "obs", leader: true, batches: results[i]!.batches });
      const doc = emf[0]!;
      const n = results[i]!.batches;
      const mine = batches.filter((b) => b.time >= next && b.time < next + n * 100);
      // Only batches with input write their figures (an idle pipeline pays for one metric, the age).
      const loaded = mine.filter((b) => b.inputRecords! > 0);
      expect(doc._aws.CloudWatchMetrics).toEqual([
        {
          Namespace: "Sparkless",
          Dimensions: [["App"]],
          Metrics: [...(loaded.length ? METRICS : []), "LastCompletedBatchAge"].map((Name) => ({
            Name,
            Unit: Name.endsWith("Records") ? "Count" : "Milliseconds",
          })),
        },
      ]);
      // One age per document: how far the newest completed batch is behind the clock.
      expect(doc.LastCompletedBatchAge).toEqual(expect.any(Number));
      expect(doc.LastCompletedBatchAge).toBeGreaterThanOrEqual(0);
      expect(doc.App).toBe("obs");
      // The batches this invocation ran, in order, none skipped between invocations.
      expect(n).toBeGreaterThanOrEqual(2);
      expect(mine).toHaveLength(n);
      expect(results[i]!.lastBatchTime).toBe(next + (n - 1) * 100);
      if (loaded.length) {
        expect(doc).toMatchObject({
          batches: String(loaded.length),
          firstBatchTime: String(loaded[0]!.time),
          lastBatchTime: String(loaded.at(-1)!.time),
        });
        // Every metric holds one value per batch with input: an array, not one document per batch.
        for (const name of METRICS) expect(values(doc[name]), name).toHaveLength(loaded.length);
        expect(Array.isArray(doc.InputRecords) || loaded.length === 1).toBe(true);
        expect(values(doc.InputRecords)).toEqual(loaded.map((b) => b.inputRecords));
        for (const [k, d] of values(doc.TotalDelay).entries()) expect(d).toBeGreaterThanOrEqual(values(doc.ProcessingTime)[k]!);
      }
      // The age is the newest batch's, empty or not.
      expect(doc.LastCompletedBatchAge).toBeLessThan(Date.now() - (next + (n - 1) * 100) + 1);
      next += n * 100;
    });
    expect(batches.at(-1)!.time).toBe(next - 100);
  });

  it("the coordinator handler logs the requests per batch by service once per invocation, for the dashboard's query", async () => {
    process.env.AWS_LAMBDA_FUNCTION_NAME = "obs-coordinator";
    // An engine whose meter counts 2 DynamoDB requests more at every reading (a meter twin: the core reads it per batch).
    const engine = Object.assign(new MemoryEngineServices(), {
      meter: {
        readings: 0,
        snapshot(): MeterCounts {
          const c = emptyCounts();
          const n = 2 * ++this.readings;
          c.calls = { DynamoDB: { "batch log": { PutItem: { requests: n, readUnits: 0, writeUnits: n, billed: n, bytes: 0 } } } };
          return c;
        },
      },
    });
    const app = defineApp({ name: "obsr", batchInterval: Milliseconds(100) }, (ssc) => {
      ssc
        .queueStream([["a"], ["b"]])
        .map((x) => [x, 1] as [string, number])
        .reduceByKey((a, b) => a + b)
        .foreachRDD(() => undefined);
    });
    const handler = coordinatorHandler(app, () => engine as unknown as AwsEngine);
    const lines = await stdoutOf(async () => {
      await handler({}, { getRemainingTimeInMillis: () => 3_600, awsRequestId: "req-r" });
    });
    const logged = lines.map((l) => JSON.parse(l) as Record<string, any>).filter((d) => d.message === REQUESTS_LOG_MESSAGE);
    // Two batches with input, 2 requests each since the record before; the empty ones after them carry none.
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ app: "obsr", batches: 2, DynamoDB: 2 });
  });

  it("an invocation with no batch due still writes the age of the newest completed batch", async () => {
    process.env.AWS_LAMBDA_FUNCTION_NAME = "obs-coordinator";
    const engine = new MemoryEngineServices();
    // A batch a minute: every invocation runs the batches due and returns; the second finds none due.
    const app = defineApp({ name: "obsm", batchInterval: Minutes(1) }, (ssc) => {
      ssc
        .queueStream([["a"]])
        .map((x) => [x, 1] as [string, number])
        .reduceByKey((a, b) => a + b)
        .foreachRDD(() => undefined);
    });
    const handler = coordinatorHandler(app, () => engine as unknown as AwsEngine);
    const context = { getRemainingTimeInMillis: () => 60_000, awsRequestId: "req-m" };
    const first = await stdoutOf(async () => {
      expect((await handler({}, context)).batches).toBe(1);
    });
    const second = await stdoutOf(async () => {
      expect((await handler({}, context)).batches).toBe(0);
    });
    const emf = (lines: string[]) => lines.map((l) => JSON.parse(l) as Record<string, any>).filter((d) => d._aws);
    expect(emf(first)).toHaveLength(1);
    const [age] = emf(second);
    expect(age!._aws.CloudWatchMetrics[0].Metrics).toEqual([{ Name: "LastCompletedBatchAge", Unit: "Milliseconds" }]);
    expect(age!.LastCompletedBatchAge).toBeGreaterThanOrEqual(0);
    expect(age!.LastCompletedBatchAge).toBeLessThan(60_000);
  });

  it("group up to 99 batches in a document, or what 10 seconds brought", () => {
    let now = 0;
    const lines: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation(((chunk: string) => {
      lines.push(...String(chunk).split("\n").filter(Boolean));
      return true;
    }) as typeof process.stdout.write);
    const emitter = createBatchMetricsEmitter("grp", { now: () => now });
    const batch = (t: number): BatchRecord => ({
      time: t,
      blocks: {},
      status: "completed",
      generatedAt: t,
      startedAt: t + 1,
      completedAt: t + 2,
      inputRecords: t / 1000,
    });
    for (let i = 1; i <= 100; i++) emitter.add(batch(i * 1000));
    expect(lines).toHaveLength(1); // the first 99
    now = 9_999;
    emitter.add(batch(101_000));
    expect(lines).toHaveLength(1);
    now = 10_000; // the oldest pending figures (batch 100's) are 10 s old
    emitter.add(batch(102_000));
    emitter.flush(); // nothing left
    vi.restoreAllMocks();
    const docs = lines.map((l) => JSON.parse(l) as Record<string, any>);
    expect(docs).toHaveLength(2);
    expect(MAX_BATCHES_PER_DOCUMENT).toBe(99);
    expect(docs[0]).toMatchObject({ App: "grp", batches: "99", firstBatchTime: "1000", lastBatchTime: "99000" });
    expect(docs[0]!.InputRecords).toEqual(Array.from({ length: 99 }, (_, i) => i + 1));
    expect(docs[1]).toMatchObject({ batches: "3", firstBatchTime: "100000", lastBatchTime: "102000", InputRecords: [100, 101, 102] });
  });

  it("a failed batch writes BatchFailed = 1 at once, after the figures of the batches before it", () => {
    const lines: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation(((chunk: string) => {
      lines.push(...String(chunk).split("\n").filter(Boolean));
      return true;
    }) as typeof process.stdout.write);
    const emitter = createBatchMetricsEmitter("fl", { now: () => 5_500 });
    emitter.add({ time: 4000, blocks: {}, status: "completed", generatedAt: 4000, startedAt: 4001, completedAt: 4002, inputRecords: 1 });
    emitter.failed(5000);
    vi.restoreAllMocks();
    const docs = lines.map((l) => JSON.parse(l) as Record<string, any>);
    expect(docs).toHaveLength(2);
    expect(docs[0]).toMatchObject({ lastBatchTime: "4000", LastCompletedBatchAge: 1500 });
    expect(docs[1]).toMatchObject({ App: "fl", BatchFailed: 1, failedBatchTime: "5000" });
    expect(docs[1]!._aws.CloudWatchMetrics[0].Metrics).toEqual([{ Name: "BatchFailed", Unit: "Count" }]);
  });

  it("the worker handler writes a JSON line with the batch time and task id for every task of a fanned-out batch", async () => {
    process.env.AWS_LAMBDA_FUNCTION_NAME = "obs-worker";
    process.env.SPARKLESS_LOG_LEVEL = "debug";
    const engine = new MemoryEngineServices();
    const app = defineApp({ name: "obsw", batchInterval: Seconds(1), defaultParallelism: 2 }, (ssc) => {
      ssc
        .queueStream([["a", "b", "c"], ["d"]])
        .map((x) => [x, 1] as [string, number])
        .reduceByKey((a, b) => a + b)
        .foreachRDD(() => undefined);
    });
    // The coordinator's side, as a coordinator runs it, every batch fanned out.
    const clock = new ManualClock(0);
    const ssc = new StreamingContext({
      batchInterval: app.config.batchInterval,
      clock,
      engine,
      appName: "obsw",
      defaultParallelism: 2,
      print: () => undefined,
      execution: { mode: "fan-out" },
      retryDelayMs: 0,
      fanOut: { retryDelayMs: 0 },
    });
    app.build(ssc);
    const graph = ssc.prepare(0);
    await engine.batchLog.createApp({ zeroTime: 0, batchIntervalMs: 1000, fingerprint: graph.fingerprint(), createdAt: 0 });
    const generator = ssc.newGenerator();
    const sent: TaskMessage[] = [];
    const send = engine.tasks.send.bind(engine.tasks);
    engine.tasks.send = async (messages) => {
      sent.push(...messages);
      await send(messages);
    };
    const records: BatchRecord[] = [];
    const lines = await stdoutOf(async () => {
      // The worker, fed from the task queue as Lambda's SQS event source mapping feeds it.
      const handler = workerHandler(app, () => engine as unknown as AwsEngine);
      const stop = new AbortController();
      const mapping = runEventSourceMapping(engine.tasks, { handle: (event) => handler(event) }, stop.signal, { waitMs: 20 });
      try {
        for (const t of [1000, 2000]) {
          clock.setTime(t);
          records.push(await generator.runBatch(t));
        }
      } finally {
        stop.abort();
        await mapping;
      }
    });
    expect(records.map((r) => [r.time, r.status, r.mode, r.inputRecords])).toEqual([
      [1000, "completed", "fan-out", 3],
      [2000, "completed", "fan-out", 1],
    ]);
    expect(sent.length).toBeGreaterThanOrEqual(2);
    const docs = lines.map((l) => JSON.parse(l) as Record<string, any>);
    const taskLines = docs.filter((d) => d.message === "task ran");
    // One line per task message, each naming its batch and task; nothing else from the worker, and no metrics.
    expect(taskLines.map((l) => `${l.batchTime} ${l.taskId}`).sort()).toEqual(sent.map((m) => `${m.batchTime} ${m.stage}/${m.partition}`).sort());
    for (const l of taskLines) {
      expect(l).toMatchObject({
        level: "DEBUG",
        service: "sparkless",
        app: "obsw",
        batchTime: expect.any(Number),
        taskId: expect.stringMatching(/^\d+\/\d+$/),
        attempt: 1,
        ms: expect.any(Number),
      });
    }
    expect(new Set(taskLines.map((l) => l.batchTime))).toEqual(new Set([1000, 2000]));
    expect(docs.filter((d) => d._aws)).toEqual([]);
    expect(docs.filter((d) => d.message !== "task ran")).toEqual([]);
  });
});
