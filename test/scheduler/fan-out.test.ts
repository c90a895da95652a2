/**
 * Fan-out's progress rests on the result messages the coordinator counts itself, never on the claims
 * store's conditional writes being atomic.
 *
 * Issue 10's start-up stall: against moto_server, the first batch completed 66 s after its time while
 * later batches were recorded behind it. The runtime of the time counted finished tasks in DynamoDB
 * (`ADD parts :p` with a condition) and let the worker that saw its stage complete send the next one.
 * moto applies concurrent conditional updates without a lock: in a measurement on this machine, two
 * concurrent `ADD` of different partitions to one item lost one of them in 42 of 300 pairs, and two
 * concurrent `attribute_not_exists` puts both succeeded in 3 of 300. The two tasks of the first stage,
 * run by two workers started together, finished at once, one completion was lost, no one saw the stage
 * complete, and the batch waited for the coordinator's one-minute stall recovery to send the "missing"
 * task again. The runtime since keeps no counter in a store: the coordinator waits for each partition's
 * result message, so a lost or doubled conditional write costs at most a duplicate run of a task.
 *
 * Here the claims behave as moto's DynamoDB does at its worst, every task message arrives twice, and
 * the batch clock stands still while a batch runs (a ManualClock), so no timer (a claim expiring, an
 * unclaimed task sent again) can rescue a batch: each batch must complete on its results alone.
 */
import { describe, expect, it } from "vitest";
import { MemoryEngineServices, Seconds, runBatches, type DStream } from "../../lib/index.js";
import type { ClaimState, TaskClaims, TaskMessage } from "../../lib/storage/interfaces.js";
import { MemoryQueue } from "../../lib/storage/memory.js";

const sum = (values: number[], state: number | undefined) => values.reduce((a, b) => a + b, state ?? 0);
const wordCount = (lines: DStream<string>) =>
  lines
    .flatMap((l) => l.split(" "))
    .map((w) => [w, 1] as [string, number])
    .updateStateByKey(sum);
const sorted = (out: unknown[][]) => out.map((b) => [...b].sort((x, y) => (JSON.stringify(x) < JSON.stringify(y) ? -1 : 1)));
const words = [["a b a", "c"], ["b c", "d d"], [], ["a"], ["c c d", "e"]];

/**
 * Claims whose conditional writes are not atomic, as moto's DynamoDB under concurrent requests, at its
 * worst: every claim wins (two deliveries of a task both run it), and every write that marks a task
 * done is lost.
 */
class NonAtomicClaims implements TaskClaims {
  claims = 0;
  finishesLost = 0;
  async claim(): Promise<"claimed"> {
    this.claims++;
    return "claimed";
  }
  async renew(): Promise<boolean> {
    return true;
  }
  async finish(): Promise<void> {
    this.finishesLost++;
  }
  /** No claim reads back: a coordinator that consulted them would see every task unclaimed. */
  async inspect(): Promise<Map<string, ClaimState>> {
    return new Map();
  }
}

/** A task queue that delivers every message twice, counting the messages the coordinator sent. */
class DuplicatingQueue extends MemoryQueue<TaskMessage> {
  sent: TaskMessage[] = [];
  override async send(m: TaskMessage[]): Promise<void> {
    this.sent.push(...m);
    await super.send([...m, ...m]);
  }
}

describe("fan-out progress (the start-up stall of issue 10)", () => {
  it("every batch completes on its result messages when claims are not atomic and finishing a task is lost, with no task sent twice", async () => {
    const inProcess = await runBatches({ batchInterval: Seconds(1), inputs: [words], pipeline: wordCount, inputPartitions: 2 });
    const engine = new MemoryEngineServices();
    const claims = new NonAtomicClaims();
    const tasks = new DuplicatingQueue();
    Object.assign(engine as object, { claims, tasks });

    const fanned = await runBatches({
      batchInterval: Seconds(1),
      inputs: [words],
      pipeline: wordCount,
      inputPartitions: 2,
      engine,
      execution: "fan-out",
    });

    expect(sorted(fanned)).toEqual(sorted(inProcess));
    // 4 batches with input × 2 map tasks, each sent once: no batch needed a task sent again.
    expect(tasks.sent.map((m) => `${m.batchTime}/${m.partition}`).sort()).toEqual([
      "1000/0",
      "1000/1",
      "2000/0",
      "2000/1",
      "4000/0",
      "4000/1",
      "5000/0",
      "5000/1",
    ]);
    expect(tasks.sent.every((m) => m.attempt === 1)).toBe(true);
    // Both deliveries of each task ran (their claims both won), and no task was ever marked done.
    expect(claims.claims).toBe(16);
    expect(claims.finishesLost).toBe(16);
    const batches = await engine.batchLog.listBatches();
    expect(batches.filter((b) => (b.inputRecords ?? 0) > 0).map((b) => [b.time, b.status, b.mode])).toEqual([
      [1000, "completed", "fan-out"],
      [2000, "completed", "fan-out"],
      [4000, "completed", "fan-out"],
      [5000, "completed", "fan-out"],
    ]);
  });
});
