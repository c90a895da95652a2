// queueStream on the local engines (kinesalite, DynamoDB Local, SQS and S3 on fauxqs), where a batch's
// tasks run in the worker handler, not in the coordinator that holds the queue: each batch's collections
// are written to the engine's blob store as "blob" blocks before the batch is logged, so a fanned-out
// task and a re-run of the batch read the same records (lib/sources/memory/).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineApp } from "../../lib/app/app.js";
import { Seconds } from "../../lib/core/duration.js";
import type { DStream } from "../../lib/dstream/dstream.js";
import type { EmbeddedEngines } from "../../lib/local/engines.js";
import { sharedEngines, stopSharedEngines } from "../../lib/local/run-batches-local.js";
import { EMPTY_BLOB_BLOCK } from "../../lib/sources/memory/blob-blocks.js";
import type { StreamingContext } from "../../lib/streaming/context.js";
import { runBatches } from "../../lib/testing/run-batches.js";
import { startHarness } from "../integration/helpers.js";

let engines: EmbeddedEngines;
beforeAll(async () => {
  engines = await sharedEngines();
}, 120_000);
afterAll(stopSharedEngines, 60_000);

const byKey = (pairs: [string, number][]) => [...pairs].sort((a, b) => (a[0] < b[0] ? -1 : 1));

describe("queueStream on the local engines", () => {
  it("runs every batch fanned out to the workers, with the results of the in-memory engine", async () => {
    const batches = (): [string, number][][] => [
      [
        ["a", 1],
        ["b", 2],
        ["a", 3],
      ],
      [["c", 4]],
      [],
      [
        ["a", 5],
        ["c", 6],
        ["d", 7],
      ],
    ];
    const run = (engine: "memory" | "local") => {
      const queue = batches();
      return runBatches<[string, number]>({
        batchInterval: Seconds(1),
        engine,
        execution: "fan-out",
        numBatches: 4,
        // runBatches hands over one (here unused) input per array of `inputs`; queueStream comes from its context.
        inputs: [[]],
        pipeline: (unused: DStream<unknown>) => (unused.context() as StreamingContext).queueStream(queue).reduceByKey((x, y) => x + y, 2),
      });
    };
    const local = await run("local");
    expect(local.map(byKey)).toEqual([
      [
        ["a", 4],
        ["b", 2],
      ],
      [["c", 4]],
      [],
      [
        ["a", 5],
        ["c", 6],
        ["d", 7],
      ],
    ]);
    expect(local.map(byKey)).toEqual((await run("memory")).map(byKey));
  });

  it("logs blob blocks that any process reads again: the default batch when the queue is empty, all queued collections at once", async () => {
    const queue: number[][] = [[1, 2], [3]];
    const seen = new Map<number, number[]>();
    const app = defineApp({ name: "queue-blobs", batchInterval: Seconds(1) }, (ssc) => {
      ssc
        .queueStream(queue, false, [0])
        .map((x) => x * 10)
        .foreachRDD(async (rdd, time) => {
          seen.set(time.milliseconds, await rdd.collect());
        });
    });
    const h = await startHarness(engines, app, { execution: { mode: "fan-out" } });
    try {
      const r1 = await h.nextBatch();
      expect(r1.status, r1.error).toBe("completed");
      expect(seen.get(r1.time)).toEqual([10, 20, 30]);
      const r2 = await h.nextBatch();
      expect(seen.get(r2.time)).toEqual([0]);
      queue.push([], [4]);
      const r3 = await h.nextBatch();
      expect(seen.get(r3.time)).toEqual([40]);

      // What the batch log holds: one blob block per collection (the empty one shared), read again the same by the engine's source.
      const logged = (await h.engine.batchLog.getBatch(r1.time))!;
      const blocks = Object.values(logged.blocks)[0]!;
      expect(blocks.map((b) => [b.source, b.count])).toEqual([
        ["blob", 2],
        ["blob", 1],
      ]);
      const source = h.engine.sources.get("blob")!;
      expect(await Promise.all(blocks.map((b) => source.read(b)))).toEqual([[1, 2], [3]]);
      expect(Object.values((await h.engine.batchLog.getBatch(r3.time))!.blocks)[0]![0]).toEqual(EMPTY_BLOB_BLOCK);
    } finally {
      await h.stop();
    }
  });
});
