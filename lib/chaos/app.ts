/**
 * The chaos run's app module, loaded by the chaos coordinator and worker
 * processes. Its name, stream and batch interval come from the environment
 * the harness sets (`SPARKLESS_CHAOS_APP`, `SPARKLESS_CHAOS_STREAM`,
 * `SPARKLESS_CHAOS_INTERVAL_MS`), so every seed runs on fresh tables and a
 * fresh stream.
 */
import { defineApp } from "../app/app.js";
import { Milliseconds } from "../core/duration.js";
import { chaosPipeline } from "./pipeline.js";
import { writeOutput } from "./sink.js";

const intervalMs = Number(process.env.SPARKLESS_CHAOS_INTERVAL_MS ?? 500);

export default defineApp({
  name: process.env.SPARKLESS_CHAOS_APP ?? "chaos",
  batchInterval: Milliseconds(intervalMs),
  defaultParallelism: 2,
  // Kills, duplicates and busy redeliveries all raise SQS's receive count, which the worker reads as the
  // attempt number: leave room for them, so only a task that keeps failing fails its batch.
  maxTaskAttempts: 50,
}, (ssc) => {
  const lines = ssc.kinesisStream<string>(process.env.SPARKLESS_CHAOS_STREAM ?? "chaos-words");
  chaosPipeline(lines, intervalMs).out.foreachRDD(async (rdd, time) => {
    await writeOutput(time.milliseconds, await rdd.collect());
  });
});
