import { describe, expect, it } from "vitest";
import { updateRate } from "../../lib/scheduler/rate-estimator.js";

const batch = (time: number, records: number, processingMs: number, schedulingDelayMs = 0) => ({
  time,
  completedAt: time + schedulingDelayMs + processingMs,
  records,
  processingMs,
  schedulingDelayMs,
});

describe("PID rate estimator (Spark's PIDRateEstimator)", () => {
  it("starts at the first processing rate", () => {
    expect(updateRate(undefined, batch(1000, 5000, 500), 1000).latestRate).toBe(10_000);
  });
  it("keeps the rate when processing keeps up with no delay", () => {
    let s = updateRate(undefined, batch(1000, 1000, 1000), 1000);
    s = updateRate(s, batch(2000, 1000, 1000), 1000);
    expect(s.latestRate).toBeCloseTo(1000, 6);
  });
  it("lowers the rate when processing is slower than the input and the scheduling delay grows", () => {
    let s = updateRate(undefined, batch(1000, 2000, 1000), 1000); // 2000/s
    s = updateRate(s, batch(2000, 2000, 2000, 1000), 1000); // processed at 1000/s, 1 s behind
    // error = 2000 - 1000 = 1000; historical = 1000 × 1000 / 1000 = 1000; new = 2000 - 1000 - 0.2 × 1000 = 800
    expect(s.latestRate).toBeCloseTo(800, 6);
  });
  it("never goes below the minimum rate, and ignores empty batches", () => {
    let s = updateRate(undefined, batch(1000, 100, 1000), 1000);
    s = updateRate(s, batch(2000, 100, 10_000, 50_000), 1000);
    expect(s.latestRate).toBe(100);
    const same = updateRate(s, batch(3000, 0, 5), 1000);
    expect(same.latestRate).toBe(100);
    expect(same.lastBatch).toBe(3000);
  });
});
