/**
 * runBatches: run a pipeline batch by batch on a manual clock and collect
 * what it produced, as Spark's TestSuiteBase.testOperation does. Users
 * unit-test their pipelines with it.
 */
import { randomUUID } from "node:crypto";
import { ManualClock } from "../core/clock.js";
import { Duration } from "../core/duration.js";
import { IllegalStateError, InvalidArgumentError, describe, requirePositiveInt } from "../core/errors.js";
import { canonical } from "../core/keys.js";
import type { DStream, StreamingContextLike } from "../dstream/dstream.js";
import {
  DEFAULT_RECORD_ERROR_POLICY,
  requireRecordErrorPolicy,
  setRecordErrorPolicy,
  type InputOptions,
  type RecordErrorPolicy,
} from "../dstream/record-errors.js";
import { pollTasks, TaskRunner } from "../scheduler/task-runner.js";
import type { ExecutionOptions } from "../scheduler/job-generator.js";
import { StreamingContext, type Engine, type StreamingListener } from "../streaming/context.js";

export interface RunBatchesOptions<T> {
  /** The batch interval; batch i (0-based) has time (i + 1) × batchInterval. */
  batchInterval: Duration;
  /** One array per input stream; `inputs[j][i]` is batch i of stream j. */
  inputs: readonly (readonly (readonly unknown[])[])[];
  /**
   * Options of each input stream, as `kinesisStream` and `queueStream` take them: `inputOptions[j]`
   * is input j's (`{ onRecordError: "fail" }` overrides `onRecordError` below for that input).
   * @default none
   */
  inputOptions?: readonly (InputOptions | undefined)[];
  /** Receives one DStream per input stream and returns the DStream to collect. */
  pipeline: (...streams: DStream<any>[]) => DStream<T>;
  /** How many batches to run. @default the longest input */
  numBatches?: number;
  /** Each input batch is cut into this many contiguous slices, as Spark's parallelize cuts a collection. @default 1 */
  inputPartitions?: number;
  /**
   * Where the batches run. "memory" is the in-process engine; "local" runs the coordinator, SQS,
   * workers, DynamoDB and S3 over Kinesis on the embedded engines. @default "memory", or the
   * SPARKLESS_TEST_ENGINE environment variable
   */
  engine?: "memory" | "local" | Engine;
  /**
   * Where each batch runs (ExecutionOptions.mode): "fan-out" sends every stage that can leave the
   * coordinator to workers. @default "auto", or the SPARKLESS_TEST_EXECUTION environment variable
   */
  execution?: ExecutionOptions["mode"];
  /**
   * Start every batch on a coordinator that has forgotten everything, as one that just started cold:
   * the state comes from the latest checkpoint and the batches after it, and the batch before is run
   * again (its output must come out the same). @default false, or SPARKLESS_TEST_RECOVERY=restart
   */
  restartEachBatch?: boolean;
  /** Partitions of keyed operations when none is given. @default 2 */
  defaultParallelism?: number;
  /** Where print() writes. @default standard output */
  print?: (line: string) => void;
  /**
   * What to do with an input record a user function throws on, for inputs that do not choose:
   * "quarantine" sets it aside and the batch goes on (its batch record counts it in
   * `quarantinedRecords`); "fail" fails the batch, and runBatches throws its TaskFailedError. The same
   * on every engine. @default "quarantine"
   */
  onRecordError?: RecordErrorPolicy;
  /**
   * Told of every batch that completes (its record: `quarantinedRecords`, `inputRecords`...) or fails,
   * on every engine (on "local", when the pipeline has at least one input).
   */
  listener?: StreamingListener;
}

/**
 * Returns `out`, where `out[k]` holds the elements the returned DStream
 * produced the k-th time it generated a result, in order. A windowed stream
 * with a slide of 2 batches yields one entry every 2 batches, as in Spark.
 */
export async function runBatches<T>(options: RunBatchesOptions<T>): Promise<T[][]> {
  const { batchInterval, inputs, pipeline } = options;
  if (!Array.isArray(inputs))
    throw new InvalidArgumentError(`Expected \`inputs\` to be an array with one array of batches per input stream, got \`${describe(inputs)}\`.`);
  if (typeof pipeline !== "function")
    throw new InvalidArgumentError(`Expected \`pipeline\` to be a function from the input DStreams to a DStream, got \`${describe(pipeline)}\`.`);
  const inputOptions = inputOptionsOf(options.inputOptions, inputs.length);
  const defaultPolicy = requireRecordErrorPolicy(options.onRecordError ?? DEFAULT_RECORD_ERROR_POLICY);
  const numBatches = options.numBatches ?? Math.max(0, ...inputs.map((i) => i.length));
  if (!Number.isInteger(numBatches) || numBatches < 0)
    throw new InvalidArgumentError(`Expected \`numBatches\` to be a whole number >= 0, got \`${describe(numBatches)}\`.`);
  const inputPartitions = requirePositiveInt("inputPartitions", options.inputPartitions ?? 1);
  const engine = options.engine ?? (process.env.SPARKLESS_TEST_ENGINE as "memory" | "local" | undefined) ?? "memory";
  const mode = options.execution ?? (process.env.SPARKLESS_TEST_EXECUTION as ExecutionOptions["mode"] | undefined);
  const restart = options.restartEachBatch ?? process.env.SPARKLESS_TEST_RECOVERY === "restart";
  // The policies (and, on "local", the listener) are set on the context and the inputs the pipeline
  // receives: both engines apply them the same way, in every process that builds the pipeline (on
  // "local", the coordinator and the workers).
  const configured = (...streams: DStream<any>[]): DStream<T> => {
    const ssc: StreamingContextLike | undefined = streams[0]?.context();
    if (ssc) setRecordErrorPolicy(ssc, defaultPolicy);
    streams.forEach((s, j) => setRecordErrorPolicy(s, inputOptions[j]?.onRecordError));
    if (options.listener && engine === "local" && ssc instanceof StreamingContext) ssc.addStreamingListener(options.listener);
    return pipeline(...streams);
  };
  if (engine === "local") {
    // Loaded only when asked for: the core never imports the AWS SDK.
    const { runBatchesLocal } = await import("../local/run-batches-local.js");
    return runBatchesLocal({ ...options, pipeline: configured, ...(mode ? { execution: mode } : {}) }, numBatches, inputPartitions);
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
    ...(mode ? { execution: { mode } } : {}),
    // A test of recovery may checkpoint more often than Spark's 10 s.
    ...(process.env.SPARKLESS_TEST_CHECKPOINT_MS ? { checkpoint: { interval: new Duration(Number(process.env.SPARKLESS_TEST_CHECKPOINT_MS)) } } : {}),
    onRecordError: defaultPolicy,
  });
  if (options.listener) ssc.addStreamingListener(options.listener);
  const out = new Map<number, T[]>();
  const abort = new AbortController();
  const loops: Promise<void>[] = [];
  try {
    const streams = inputs.map((b) => ssc.testInputStream(b as unknown[][], inputPartitions));
    const result = configured(...streams);
    if (!result || typeof (result as DStream<T>).foreachRDD !== "function") {
      throw new InvalidArgumentError(`Expected \`pipeline\` to return a DStream, got \`${describe(result)}\`.`);
    }
    result.foreachRDD(async (rdd, time) => {
      collect(out, time.milliseconds, await rdd.collect());
    });
    const interval = batchInterval.milliseconds;
    if (!restart) {
      ssc.start();
      for (let i = 1; i <= numBatches; i++) {
        const done = ssc.waitForBatch(i * interval);
        clock.setTime(i * interval);
        await done;
      }
    } else {
      // A cold coordinator per batch, over the same engine: the one runtime, restarted.
      const graph = ssc.prepare(0);
      await ssc.engine.batchLog.createApp({ zeroTime: 0, batchIntervalMs: interval, fingerprint: graph.fingerprint(), createdAt: 0 });
      const runner = new TaskRunner(graph, ssc.engine, clock, { owner: `w-${randomUUID().slice(0, 6)}` });
      for (let w = 0; w < 2; w++) loops.push(pollTasks(ssc.engine.tasks, runner, abort.signal));
      for (let i = 1; i <= numBatches; i++) {
        const generator = ssc.newGenerator();
        await generator.resume();
        clock.setTime(i * interval);
        // A cold coordinator knows only what the log says: a run of empty batches not written yet runs again.
        while (generator.nextTime <= i * interval) await generator.runBatch(generator.nextTime);
      }
    }
  } finally {
    abort.abort();
    await Promise.allSettled(loops);
    await ssc.stop();
  }
  return [...out.entries()].sort((a, b) => a[0] - b[0]).map(([, v]) => v);
}

/** `inputOptions`, checked: one entry (or none) per input. */
function inputOptionsOf(value: unknown, inputs: number): readonly (InputOptions | undefined)[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > inputs) {
    throw new InvalidArgumentError(
      `Expected \`inputOptions\` to be an array of at most ${inputs} options objects (one per input), got \`${describe(value)}\`.`,
    );
  }
  return value.map((o: unknown, j) => {
    if (o === undefined) return undefined;
    if (typeof o !== "object" || o === null)
      throw new InvalidArgumentError(`Expected \`inputOptions[${j}]\` to be an object such as { onRecordError: "fail" }, got \`${describe(o)}\`.`);
    const policy = (o as InputOptions).onRecordError;
    return policy === undefined ? {} : { onRecordError: requireRecordErrorPolicy(policy, `inputOptions[${j}].onRecordError`) };
  });
}

/**
 * Keeps a batch's output. A batch that runs again (a coordinator recovering) must produce the same
 * elements: outputs are at-least-once, and only deterministic ones are safe to repeat.
 */
function collect<T>(out: Map<number, T[]>, time: number, elements: T[]): void {
  const before = out.get(time);
  if (before) {
    const key = (xs: T[]) =>
      xs
        .map((x) => canonical(x))
        .sort()
        .join("\n");
    if (key(before) !== key(elements)) {
      throw new IllegalStateError(
        `Batch ${time} ran again and produced different output: ${JSON.stringify(before).slice(0, 200)} then ${JSON.stringify(elements).slice(0, 200)}.`,
      );
    }
  }
  out.set(time, elements);
}
