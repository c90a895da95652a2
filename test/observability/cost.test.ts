// What a batch costs, counted by the pipeline itself: the requests behind every batch record, priced as
// the benchmark prices them, shown by `sparkless status` and written as CloudWatch metrics.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { defineApp } from "../../lib/app/app.js";
import { Seconds } from "../../lib/core/duration.js";
import type { EmbeddedEngines } from "../../lib/local/engines.js";
import { sharedEngines, stopSharedEngines } from "../../lib/local/run-batches-local.js";
import { estimateMonthlyCost, priceRequests, type BatchRequests } from "../../lib/observability/cost.js";
import { emptyCounts, type MeterCounts } from "../../lib/observability/metering.js";
import { createBatchMetricsEmitter } from "../../lib/observability/metrics.js";
import { PRICES } from "../../lib/observability/prices.js";
import type { BatchRecord } from "../../lib/storage/interfaces.js";
import { renderStatus, summarizeBatches } from "../../lib/ui/batches.js";
import { putRecords, splitWords, startHarness, sumCounts } from "../integration/helpers.js";

const api = (requests: number, more: Partial<{ readUnits: number; writeUnits: number; billed: number; bytes: number }> = {}) => ({
  requests,
  readUnits: 0,
  writeUnits: 0,
  billed: requests,
  bytes: 0,
  ...more,
});

function counts(): MeterCounts {
  const c = emptyCounts();
  c.calls = {
    DynamoDB: {
      "batch log": { PutItem: api(2, { writeUnits: 2 }) },
      "checkpoint pages": { PutItem: api(1, { writeUnits: 5 }), GetItem: api(1, { readUnits: 0.5 }) },
    },
    SQS: { "task queue": { SendMessageBatch: api(1, { billed: 3 }) } },
    S3: { shuffle: { PutObject: api(4), GetObject: api(8) } },
    Kinesis: { input: { GetRecords: api(2) } },
  };
  return c;
}

describe("pricing the requests", () => {
  it("counts requests by service (SQS as billed) and prices units, chunks and object requests", () => {
    const r = priceRequests(counts(), 3);
    expect(r.byService).toEqual({ DynamoDB: 4, SQS: 3, S3: 12, Kinesis: 2 });
    expect(r.writeUnits).toBe(7);
    expect(r.readUnits).toBe(0.5);
    expect(r.batches).toBe(3);
    const usd = 7 * 0.625e-6 + 0.5 * 0.125e-6 + 3 * 0.4e-6 + 4 * 0.005e-3 + 8 * 0.0004e-3;
    expect(r.usd).toBeCloseTo(usd, 12);
  });

  it("estimates a month at the current rate from the average over the batches covered, plus the coordinator's loop", () => {
    const req = (usd: number, batches: number): BatchRequests => ({
      byService: { DynamoDB: 2 * batches },
      readUnits: 0,
      writeUnits: 0,
      usd,
      batches,
    });
    const e = estimateMonthlyCost([{ requests: req(0.001, 1) }, { requests: req(0.001, 3) }, {}], 1000, 1024)!;
    // 4 batches for $0.002; a month has 730 × 3600 one-second batches
    expect(e.requestsUsd).toBeCloseTo((0.002 / 4) * 730 * 3600, 6);
    // 1 GB for 55 s of every minute, plus an invocation a minute
    expect(e.lambdaUsd).toBeCloseTo(55 * 730 * 60 * 0.0000133334 + 730 * 60 * 0.2e-6, 6);
    expect(e.usd).toBeCloseTo(e.requestsUsd + e.lambdaUsd, 9);
    expect(e.perBatch).toEqual({ DynamoDB: 2 });
    expect(estimateMonthlyCost([{}], 1000)).toBeUndefined();
  });
});

describe("the cost in status and in the metrics", () => {
  const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
  const requests: BatchRequests = {
    byService: { DynamoDB: 3, SQS: 0, Kinesis: 2 },
    readUnits: 0,
    writeUnits: 4,
    usd: (4 * PRICES.dynamoPerMillionWru) / 1e6,
    batches: 1,
  };
  const rec = (k: number, over: Partial<BatchRecord> = {}): BatchRecord => ({
    time: T0 + k * 1000,
    blocks: {},
    status: "completed",
    generatedAt: T0 + k * 1000,
    startedAt: T0 + k * 1000 + 5,
    completedAt: T0 + k * 1000 + 50,
    inputRecords: 10,
    requests,
    ...over,
  });

  it("status shows the requests of each batch and what a month costs at this rate", () => {
    const records = [
      rec(1),
      rec(2),
      rec(4, { requests: { ...requests, byService: { DynamoDB: 6, Kinesis: 4 }, usd: 2 * requests.usd, batches: 2 } }),
    ];
    const text = renderStatus(records, { now: T0 + 5000, utc: true, batchIntervalMs: 1000 });
    const row = (t: string) =>
      text
        .split("\n")
        .find((l) => l.startsWith(t))!
        .split(/\s{2,}/);
    expect(row("12:00:01")[6]).toBe("3"); // DynamoDB + SQS; Kinesis apart
    expect(row("12:00:04")[6]).toBe("3"); // 6 over the 2 batches it covers
    const perMonth = requests.usd * 730 * 3600;
    expect(text).toContain(
      `Cost: per batch DynamoDB 3.0, Kinesis 2.0, SQS 0.0 requests (over the newest 4 batches); about $${perMonth.toFixed(2)} a month`,
    );
    const summary = summarizeBatches(records, { now: T0 + 5000, batchIntervalMs: 1000, coordinatorMb: 192 });
    expect(summary.cost!.requestsUsdPerMonth).toBeCloseTo(perMonth, 9);
    expect(summary.cost!.lambdaUsdPerMonth).toBeGreaterThan(0);
  });

  const saved = { ...process.env };
  afterEach(() => {
    vi.restoreAllMocks();
    process.env = { ...saved };
  });

  it("empty batches write only the age of the newest one; loaded ones add their figures, requests and the monthly estimate", () => {
    const lines: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation(((chunk: string) => {
      lines.push(...String(chunk).split("\n").filter(Boolean));
      return true;
    }) as typeof process.stdout.write);
    let now = T0 + 3500;
    const emitter = createBatchMetricsEmitter("cost", { now: () => now, intervalMs: 1000 });
    emitter.add(rec(1, { inputRecords: 0, requests: undefined }));
    now = T0 + 13_500; // 10 s of empty batches: the age alone is written
    emitter.add(rec(2, { inputRecords: 0, requests: undefined }));
    emitter.flush(); // nothing new since
    emitter.add(rec(3));
    emitter.add(rec(4, { inputRecords: 0, requests: undefined }));
    now = T0 + 15_500;
    emitter.flush();
    vi.restoreAllMocks();
    const docs = lines.map((l) => JSON.parse(l) as Record<string, any>);
    expect(docs).toHaveLength(2);
    expect(docs[0]!._aws.CloudWatchMetrics[0].Metrics.map((m: { Name: string }) => m.Name)).toEqual(["LastCompletedBatchAge"]);
    expect(docs[0]!.LastCompletedBatchAge).toBe(11_500);
    // The loaded batch's figures, and the age of the newest batch, the empty one after it.
    expect(docs[1]).toMatchObject({ InputRecords: 10, RequestsPerBatch: 3, batches: "1", LastCompletedBatchAge: 11_500 });
    expect(docs[1]!.EstimatedMonthlyCost).toBeCloseTo(Math.round(requests.usd * 730 * 3600 * 100) / 100, 2);
  });
});

describe("on the embedded engines", () => {
  let engines: EmbeddedEngines;
  beforeAll(async () => {
    engines = await sharedEngines();
  }, 120_000);
  afterAll(stopSharedEngines, 60_000);

  it("each batch record carries the requests the coordinator made since the record before, as an outside count sees them", async () => {
    const stream = "cost-words";
    const app = defineApp({ name: "cost-wc", batchInterval: Seconds(1) }, (ssc) => {
      ssc
        .kinesisStream(stream)
        .flatMap(splitWords)
        .map((w): [string, number] => [w, 1])
        .updateStateByKey(sumCounts)
        .foreachRDD(() => undefined);
    });
    const h = await startHarness(engines, app, { streams: { [stream]: 2 } });
    try {
      // An independent count of the DynamoDB requests, read when each batch completes.
      let dynamo = 0;
      h.env.engine.clients.dynamodb.middlewareStack.add(
        (next) => async (args) => {
          dynamo++;
          return next(args);
        },
        { step: "initialize", name: "outsideCount" },
      );
      const atCompletion: number[] = [];
      const heard: BatchRecord[] = [];
      h.generator.addListener({
        onBatchCompleted: (r) => {
          atCompletion.push(dynamo);
          heard.push(r);
        },
      });
      await putRecords(h.kinesis, stream, ["a b c", "b c", "c"], (i) => `k${i}`);
      await h.nextBatch();
      await h.nextBatch(); // empty
      await putRecords(h.kinesis, stream, ["d e"], (i) => `k${i}`);
      await h.nextBatch();
      await h.generator.handOver();
      const records = (await h.engine.batchLog.listBatches()).filter((r) => r.requests && r.inputRecords);
      expect(records.map((r) => r.time)).toEqual([1000, 3000]);
      const [first, third] = records as [BatchRecord, BatchRecord];
      expect(first.requests!.batches).toBe(1);
      expect(third.requests!.batches).toBe(2); // with the empty batch before it
      // Between the first and the third completion: exactly the requests the outside counter saw.
      expect(third.requests!.byService.DynamoDB).toBe(atCompletion[2]! - atCompletion[0]!);
      expect(third.requests!.byService.Kinesis).toBeGreaterThan(0);
      expect(third.requests!.usd).toBeGreaterThan(0);
      // Listeners (the handler's metrics) get the same figures with the completed batch; the empty one has none.
      expect(heard.map((r) => r.requests)).toEqual([first.requests, undefined, third.requests]);
    } finally {
      await h.stop();
    }
  });
});
