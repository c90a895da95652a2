/**
 * runBatches: run a pipeline batch by batch on a manual clock and collect
 * what it produced, as Spark's TestSuiteBase.testOperation does. Users
 * unit-test their pipelines with it.
 */
import { ManualClock } from "../core/clock.js";
import type { Duration } from "../core/duration.js";
import { InvalidArgumentError, describe, requirePositiveInt } from "../core/errors.js";
import type { DStream } from "../dstream/dstream.js";
import { StreamingContext, type Engine } from "../streaming/context.js";

export interface RunBatchesOptions<T> {
  /** The batch interval; batch i (0-based) has time (i + 1) × batchInterval. */
  batchInterval: Duration;
  /** One array per input stream; `inputs[j][i]` is batch i of stream j. */
  inputs: readonly (readonly (readonly unknown[])[])[];
  /** Receives one DStream per input stream and returns the DStream to collect. */
  pipeline: (...streams: DStream<any>[]) => DStream<T>;
  /** How many batches to run. @default the longest input */
  numBatches?: number;
  /** Each input batch is cut into this many contiguous slices, as Spark's parallelize cuts a collection. @default 1 */
  inputPartitions?: number;
  /**
   * Where the batches run. "memory" is the in-process engine; "local" runs
   * the coordinator, SQS, workers and DynamoDB over Kinesis on the embedded
   * engines. @default "memory", or the SPARKLESS_TEST_ENGINE environment variable
   */
  engine?: "memory" | "local" | Engine;
  /** Partitions of keyed operations when none is given. @default 2 */
  defaultParallelism?: number;
  /** Where print() writes. @default standard output */
  print?: (line: string) => void;
}

/**
 * Returns `out`, where `out[k]` holds the elements the returned DStream
 * produced the k-th time it generated a result, in order. A windowed stream
 * with a slide of 2 batches yields one entry every 2 batches, as in Spark.
 */
export async function runBatches<T>(options: RunBatchesOptions<T>): Promise<T[][]> {
  const { batchInterval, inputs, pipeline } = options;
  if (!Array.isArray(inputs)) throw new InvalidArgumentError(`Expected \`inputs\` to be an array with one array of batches per input stream, got \`${describe(inputs)}\`.`);
  if (typeof pipeline !== "function") throw new InvalidArgumentError(`Expected \`pipeline\` to be a function from the input DStreams to a DStream, got \`${describe(pipeline)}\`.`);
  const numBatches = options.numBatches ?? Math.max(0, ...inputs.map((i) => i.length));
  if (!Number.isInteger(numBatches) || numBatches < 0) throw new InvalidArgumentError(`Expected \`numBatches\` to be a whole number >= 0, got \`${describe(numBatches)}\`.`);
  const inputPartitions = requirePositiveInt("inputPartitions", options.inputPartitions ?? 1);
  const engine = options.engine ?? (process.env.SPARKLESS_TEST_ENGINE as "memory" | "local" | undefined) ?? "memory";
  if (engine === "local") {
    // Loaded only when asked for: the core never imports the AWS SDK.
    const { runBatchesLocal } = await import("../local/run-batches-local.js");
    return runBatchesLocal(options, numBatches, inputPartitions);
  }
  if (engine !== "memory" && typeof engine !== "object") {
    throw new InvalidArgumentError(`Expected \`engine\` to be "memory", "local" or an Engine, got \`${describe(engine)}\`.`);
  }
  const clock = new ManualClock(0);
  const ssc = new StreamingContext({
    batchInterval,
    clock,
    engine: engine === "memory" ? undefined : engine,
    defaultParallelism: options.defaultParallelism,
    print: options.print,
    // The test clock drives batches; retries need no real delay.
    retryDelayMs: 0,
    maxTaskAttempts: 1,
  });
  const out: T[][] = [];
  try {
    const streams = inputs.map((batches) => ssc.testInputStream(batches as unknown[][], inputPartitions));
    const result = pipeline(...streams);
    if (!result || typeof (result as DStream<T>).foreachRDD !== "function") {
      throw new InvalidArgumentError(`Expected \`pipeline\` to return a DStream, got \`${describe(result)}\`.`);
    }
    result.foreachRDD(async (rdd) => { out.push(await rdd.collect()); });
    ssc.start();
    const interval = batchInterval.milliseconds;
    for (let i = 1; i <= numBatches; i++) {
      const done = ssc.waitForBatch(i * interval);
      clock.setTime(i * interval);
      await done;
    }
  } finally {
    await ssc.stop();
  }
  return out;
}
