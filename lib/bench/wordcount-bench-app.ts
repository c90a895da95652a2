/**
 * The bench's app module: the word count of scenario 1 over a Kinesis
 * stream, run by the coordinator and worker processes of scenarios 2–4.
 * Worker processes load the default export (stream from
 * SPARKLESS_BENCH_STREAM; name, interval and parallelism from
 * SPARKLESS_CONFIG); the bench process builds the same app with `benchApp`.
 * No per-shard cap: on a wall clock the blocks are bounded by arrival time,
 * the default path, so the coordinator reads no records to fix a batch.
 */
import { defineApp, resolveConfig, type AppConfig, type AppDefinition } from "../app/app.js";
import { Seconds } from "../core/duration.js";
import type { StreamingContext } from "../streaming/context.js";

function build(stream: string) {
  return (ssc: StreamingContext) => {
    ssc.kinesisStream<string>(stream)
      .flatMap((line) => line.split(" "))
      .map((word) => [word, 1] as [string, number])
      .reduceByKey((a, b) => a + b)
      .foreachRDD(async (rdd) => { await rdd.count(); });
  };
}

/** The app for a given configuration and stream, without the module cache or the environment. */
export function benchApp(config: AppConfig, stream: string): AppDefinition {
  return { config: resolveConfig(config), build: build(stream) };
}

export default defineApp({ name: "bench", batchInterval: Seconds(1), defaultParallelism: 4 }, build(process.env.SPARKLESS_BENCH_STREAM ?? "bench-words"));
