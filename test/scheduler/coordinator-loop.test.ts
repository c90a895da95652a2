/**
 * The coordinator's loop between boundaries: inputs that read ahead (Kinesis) do it on a schedule
 * counted back from the next boundary, and a batch still starts at its boundary.
 */
import { describe, expect, it } from "vitest";
import { Duration, ManualClock } from "../../lib/index.js";
import { nextReadAhead, runCoordinatorLoop } from "../../lib/scheduler/coordinator-loop.js";
import type { JobGenerator } from "../../lib/scheduler/job-generator.js";

/** Every read-ahead round from `from` up to the boundary, as the loop takes them. */
function rounds(from: number, boundary: number): number[] {
  const out: number[] = [];
  for (let at = nextReadAhead(from, boundary); at !== undefined; at = nextReadAhead(at + 1, boundary)) out.push(at);
  return out;
}

/** A job generator that only records what the loop asks of it: read-ahead rounds and batches, by clock time. */
function recordingGenerator(clock: ManualClock, intervalMs: number, readsAhead: boolean, events: string[]): JobGenerator {
  let last = 0;
  return {
    graph: { batchDuration: new Duration(intervalMs) },
    get nextTime() {
      return last + intervalMs;
    },
    failed: undefined,
    lastCompletedTime: undefined,
    readsAhead,
    resume: async () => undefined,
    readAhead: async () => void events.push(`ahead ${clock.now()}`),
    runBatch: async (t: number) => {
      events.push(`batch ${t} at ${clock.now()}`);
      last = t;
    },
    handOver: async () => void events.push("hand over"),
  } as unknown as JobGenerator;
}

describe("read-ahead rounds", () => {
  it("every 500 ms, the last 150 ms before the boundary", () => {
    expect(rounds(0, 1000)).toEqual([350, 850]);
    expect(rounds(400, 1000)).toEqual([850]);
    expect(rounds(851, 1000)).toEqual([]);
    expect(rounds(1000, 1000)).toEqual([]);
    const tenSeconds = rounds(0, 10_000);
    expect(tenSeconds).toHaveLength(20);
    expect(tenSeconds.at(-1)).toBe(9850);
  });

  it("a clock that jumps past rounds skips them", async () => {
    const clock = new ManualClock(0);
    const events: string[] = [];
    const generator = recordingGenerator(clock, 10_000, true, events);
    const loop = runCoordinatorLoop(generator, clock, undefined, { owner: "me", deadline: 10_000 });
    // The loop waits for its first round, at 350.
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    for (const t of [9000, 10_000]) {
      clock.setTime(t);
      await new Promise((r) => setImmediate(r));
    }
    await loop;
    // The rounds due at 350 ... 8850 passed at once: one round at 9000 for all of them; then 9350's, run at 10000.
    expect(events).toEqual(["ahead 9000", "ahead 10000", "batch 10000 at 10000", "hand over"]);
  });

  it("the loop reads ahead between boundaries when an input does, and not otherwise", async () => {
    for (const readsAhead of [true, false]) {
      const clock = new ManualClock(0);
      const events: string[] = [];
      const generator = recordingGenerator(clock, 1000, readsAhead, events);
      const loop = runCoordinatorLoop(generator, clock, undefined, { owner: "me", deadline: 2000 });
      for (let t = 50; t <= 2100; t += 50) {
        clock.setTime(t);
        await new Promise((r) => setImmediate(r));
      }
      await loop;
      expect(events).toEqual(
        readsAhead
          ? ["ahead 350", "ahead 850", "batch 1000 at 1000", "ahead 1350", "ahead 1850", "batch 2000 at 2000", "hand over"]
          : ["batch 1000 at 1000", "batch 2000 at 2000", "hand over"],
      );
    }
  });
});
