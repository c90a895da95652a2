// The rule of `sparkless local --until-idle D`, on batch records as the coordinator completes them:
// everything fed is in completed batches (by sequence number), the newest batch is empty, and nothing
// arrived for D before it was fixed.
import { describe, expect, it } from "vitest";
import { IdleDetector } from "../../lib/local/until-idle.js";
import type { BatchRecord } from "../../lib/storage/interfaces.js";

const block = (shardId: string, count: number, endAt?: string, after?: string) => ({
  source: "kinesis",
  stream: "in",
  shardId,
  count,
  ...(endAt ? { endAt } : {}),
  ...(after ? { after } : {}),
});

function batch(time: number, generatedAt: number, blocks: ReturnType<typeof block>[], input = "kinesisStream-0"): BatchRecord {
  return {
    time,
    generatedAt,
    status: "completed",
    blocks: { [input]: blocks },
    inputRecords: blocks.reduce((n, b) => n + b.count, 0),
  };
}

describe("IdleDetector", () => {
  it("is idle once the newest batch is empty and nothing arrived for D before it was fixed", () => {
    const d = new IdleDetector(3_000, 0);
    d.onBatchCompleted(batch(1_000, 1_000, [block("s0", 5, "100"), block("s1", 0)]));
    expect(d.check()).toEqual({ idle: false, waitingFor: expect.stringMatching(/an empty batch/) });
    d.onBatchCompleted(batch(2_000, 2_000, [block("s0", 0), block("s1", 0)]));
    d.onBatchCompleted(batch(3_000, 3_000, [block("s0", 0), block("s1", 0)]));
    expect(d.check()).toEqual({ idle: false, waitingFor: "3000 ms without input (2000 ms so far)" });
    d.onBatchCompleted(batch(4_000, 4_000, [block("s0", 0), block("s1", 0)]));
    expect(d.check()).toEqual({ idle: true, batchTime: 4_000, quietMs: 3_000 });
  });

  it("counts quiet time from when batches were fixed, not from batch times: catching up on missed batches is not idleness", () => {
    const d = new IdleDetector(3_000, 50_000);
    // A run started again at 50 s runs the batches it missed back to back, all fixed within a second.
    d.onBatchCompleted(batch(10_000, 50_100, [block("s0", 7, "200")]));
    for (let t = 11_000; t <= 40_000; t += 1_000) d.onBatchCompleted(batch(t, 50_200 + t / 100, [block("s0", 0)]));
    expect(d.check().idle).toBe(false);
    d.onBatchCompleted(batch(53_000, 53_100, [block("s0", 0)]));
    expect(d.check()).toEqual({ idle: true, batchTime: 53_000, quietMs: 3_000 });
  });

  it("is not idle before a first batch, nor from the run's start when nothing was ever read", () => {
    const d = new IdleDetector(2_000, 10_000);
    expect(d.check()).toEqual({ idle: false, waitingFor: "a first completed batch" });
    d.onBatchCompleted(batch(11_000, 11_000, [block("s0", 0)]));
    expect(d.check().idle).toBe(false);
    d.onBatchCompleted(batch(12_000, 12_000, [block("s0", 0)]));
    expect(d.check()).toEqual({ idle: true, batchTime: 12_000, quietMs: 2_000 });
  });

  it("waits until completed batches cover the highest sequence number fed to each shard, for every input of the stream", () => {
    const d = new IdleDetector(1_000, 0);
    d.feederStarted();
    d.fed("in", "s0", "100", 500);
    d.fed("in", "s0", "90", 500);
    d.fed("in", "s1", "1000000000000000000000000000000", 600); // beyond 2^53: compared as integers, not floats
    expect(d.check()).toEqual({ idle: false, waitingFor: "the feeder to have every record acknowledged" });
    d.feederDone();
    expect(d.check()).toEqual({ idle: false, waitingFor: "a completed batch reading stream in" });
    // Two inputs read the stream; the second is behind on s1.
    const both = (time: number, gen: number, a: ReturnType<typeof block>[], b: ReturnType<typeof block>[]): BatchRecord => ({
      time,
      generatedAt: gen,
      status: "completed",
      blocks: { "kinesisStream-0": a, "kinesisStream-1": b },
      inputRecords: [...a, ...b].reduce((n, x) => n + x.count, 0),
    });
    d.onBatchCompleted(
      both(
        1_000,
        1_000,
        [block("s0", 2, "100"), block("s1", 1, "1000000000000000000000000000000")],
        [block("s0", 2, "100"), block("s1", 1, "999999999999999999999999999999")],
      ),
    );
    expect(d.check()).toEqual({
      idle: false,
      waitingFor: "a completed batch of kinesisStream-1 covering in/s1 up to 1000000000000000000000000000000",
    });
    d.onBatchCompleted(both(2_000, 2_000, [block("s0", 0), block("s1", 0)], [block("s0", 0), block("s1", 1, "1000000000000000000000000000000")]));
    expect(d.check().idle).toBe(false); // covered, but that batch had input
    d.onBatchCompleted(both(3_000, 3_000, [block("s0", 0), block("s1", 0)], [block("s0", 0), block("s1", 0)]));
    expect(d.check()).toEqual({ idle: true, batchTime: 3_000, quietMs: 1_000 });
    expect(d.fedCount).toBe(3);
  });

  it("counts the feeder's last acknowledgement as an arrival", () => {
    const d = new IdleDetector(2_000, 0);
    d.onBatchCompleted(batch(1_000, 1_000, [block("s0", 1, "5")]));
    d.fed("in", "s0", "5", 2_500); // acknowledged late: the record was in the earlier batch, but it arrived by 2.5 s
    d.onBatchCompleted(batch(4_000, 4_000, [block("s0", 0)]));
    expect(d.check().idle).toBe(false);
    d.onBatchCompleted(batch(5_000, 4_600, [block("s0", 0)]));
    expect(d.check()).toEqual({ idle: true, batchTime: 5_000, quietMs: 2_100 });
  });
});
