/**
 * Sparkless: Spark Streaming's DStream API on AWS serverless.
 * Everything a pipeline author needs is exported from here.
 */
export { Duration, Milliseconds, Minutes, Seconds, Time, parseDuration } from "./core/duration.js";
export {
  IllegalStateError,
  InvalidArgumentError,
  InvalidGraphError,
  MissingDataError,
  NoSuchElementError,
  NonDeterministicPlanError,
  IncompatibleUpgradeError,
  QuarantineDataError,
  RecordFailedError,
  RecordProcessingError,
  SparklessError,
  TaskFailedError,
} from "./core/errors.js";
export { defineApp, loadApp, type AppConfig, type AppDefinition, type ResolvedAppConfig } from "./app/app.js";
export type { Decoder, KinesisStreamOptions, RawRecord } from "./sources/kinesis/input.js";
export type { InputOptions, RecordErrorPolicy } from "./dstream/record-errors.js";
export { defaultFileFilter } from "./sources/s3/file-source.js";
export type { TextFileStreamOptions } from "./sources/s3/text-file-stream.js";
export { FileInputTooLargeError, InputObjectChangedError } from "./sources/s3/errors.js";
export { MemoryObjects } from "./sources/s3/memory-objects.js";
export { ManualClock, SystemClock, type Clock } from "./core/clock.js";
export { HashPartitioner, type Partitioner } from "./core/keys.js";
export { formatElement } from "./core/format.js";
export { DStream, type ReduceByKeyAndWindowOptions } from "./dstream/dstream.js";
export { StorageLevel } from "./dstream/storage-level.js";
export { State, StateSpec, type MapWithStateDStream } from "./dstream/map-with-state.js";
export type { UpdateStateOptions } from "./dstream/state.js";
export type { ForeachFunction } from "./dstream/output.js";
export { RDD, RDDContext } from "./rdd/rdd.js";
export { RangePartitioner } from "./rdd/range-partitioner.js";
export { StatCounter } from "./rdd/stats.js";
export {
  StreamingContext,
  type Engine,
  type StopOptions,
  type StreamingContextOptions,
  type StreamingContextState,
  type StreamingListener,
} from "./streaming/context.js";
export type {
  BatchInfo,
  OutputOperationInfo,
  StreamInputInfo,
  StreamingListenerBatchCompleted,
  StreamingListenerBatchStarted,
  StreamingListenerBatchSubmitted,
  StreamingListenerOutputOperationCompleted,
  StreamingListenerOutputOperationStarted,
  StreamingListenerStreamingStarted,
} from "./streaming/listener.js";
export { AccumulatorV2, Broadcast, CollectionAccumulator, DoubleAccumulator, LongAccumulator, SparkContext } from "./streaming/shared-variables.js";
export { runBatches, type RunBatchesOptions } from "./testing/run-batches.js";
export { MemoryEngineServices } from "./storage/memory.js";
export type * from "./storage/interfaces.js";
