/**
 * The chaos run's app module, loaded by the chaos coordinator and worker
 * processes. Its name, stream and batch interval come from the environment
 * the harness sets (`SPARKLESS_CHAOS_APP`, `SPARKLESS_CHAOS_STREAM`,
 * `SPARKLESS_CHAOS_INTERVAL_MS`), so every seed runs on fresh tables and a
 * fresh stream. Batches of more than a few records fan out to the workers;
 * smaller ones run in the coordinator: both paths run under faults.
 */
import { defineApp } from "../../lib/app/app.js";
import { Milliseconds } from "../../lib/core/duration.js";
import { faultPointSync } from "./faults.js";
import { chaosPipeline } from "./pipeline.js";
import { writeOutput, writePartition } from "./sink.js";

const intervalMs = Number(process.env.SPARKLESS_CHAOS_INTERVAL_MS ?? 500);
const role = process.env.SPARKLESS_CHAOS_ROLE ?? "coordinator";

export default defineApp(
  {
    name: process.env.SPARKLESS_CHAOS_APP ?? "chaos",
    batchInterval: Milliseconds(intervalMs),
    defaultParallelism: 2,
    maxTaskAttempts: 20,
    execution: { mode: "auto", maxInProcessRecords: Number(process.env.SPARKLESS_CHAOS_MAX_IN_PROCESS ?? 4) },
  },
  (ssc) => {
    // A kill point inside the batch: in the coordinator, in the middle of a batch it runs itself; in a
    // worker, in the middle of a task.
    const lines = ssc.kinesisStream<string>(process.env.SPARKLESS_CHAOS_STREAM ?? "chaos-words").map((l) => {
      faultPointSync(`${role}.${role === "worker" ? "mid-task" : "mid-batch"}`);
      return l;
    });
    const { out, counts } = chaosPipeline(lines, intervalMs);
    out.foreachRDD(async (rdd, time) => {
      await writeOutput(time.milliseconds, await rdd.collect());
    });
    // A per-partition action: in a fanned-out batch, one task per partition on the workers, which may
    // die after the write (the task then runs again and writes the same item).
    counts.foreachRDD(async (rdd, time) => {
      await rdd.foreachPartition(async (items, p) => {
        await writePartition(time.milliseconds, p, items);
        if (role === "worker") faultPointSync("worker.mid-action");
      });
    });
  },
);
