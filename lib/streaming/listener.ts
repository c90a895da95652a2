/**
 * Spark's StreamingListener: the events of a running app, and the BatchInfo
 * and OutputOperationInfo they carry. The job generator raises them from the
 * one runtime every engine runs (lib/scheduler/job-generator.ts), so they are
 * the same in process, on the local engines and on AWS (where a listener
 * added in the app module runs in the coordinator).
 *
 * Per batch, in order: onBatchSubmitted, onBatchStarted, then for each output
 * operation that has a job in the batch onOutputOperationStarted and
 * onOutputOperationCompleted, then onBatchCompleted (or onBatchFailed, which
 * Spark does not have: a failed batch stops a Sparkless app). A batch the
 * coordinator runs again after a restart raises its events again.
 *
 * Times are the injected clock's milliseconds. A batch is submitted when it is
 * due (its batch time, when Spark's timer would submit it), so its scheduling
 * delay counts the wait for the batches before it, fixing its blocks and
 * writing its record, and agrees with the delays of `sparkless status` and
 * the CloudWatch metrics.
 */
import type { Time } from "../core/duration.js";
import type { TaskFailedError } from "../core/errors.js";
import type { BatchRecord } from "../storage/interfaces.js";

/** Spark's StreamInputInfo: what one input stream contributed to a batch. */
export interface StreamInputInfo {
  /** The input stream's id (Spark numbers them; Sparkless streams have names such as `kinesis-1`). */
  readonly inputStreamId: string;
  readonly numRecords: number;
  /** `blocks`: how many blocks (Kinesis shards read) the batch read of the stream. */
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** Spark's OutputOperationInfo: one output operation's job in one batch. */
export interface OutputOperationInfo {
  readonly batchTime: Time;
  /** The output operation's index among the app's output operations, in the order they were declared. */
  readonly id: number;
  /** The operation: "foreachRDD", "print", "saveAsTextFiles", ... */
  readonly name: string;
  /** The operation and the stream it outputs. */
  readonly description: string;
  readonly startTime?: number;
  readonly endTime?: number;
  /** The error of its last attempt, when it failed. */
  readonly failureReason?: string;
  /** endTime - startTime, once it ended. */
  readonly duration?: number;
}

/** Spark's BatchInfo. */
export interface BatchInfo {
  readonly batchTime: Time;
  readonly streamIdToInputInfo: ReadonlyMap<string, StreamInputInfo>;
  /** When the batch was due: its batch time (see the module's notes). */
  readonly submissionTime: number;
  readonly processingStartTime?: number;
  readonly processingEndTime?: number;
  /** processingStartTime - submissionTime. */
  readonly schedulingDelay?: number;
  /** processingEndTime - processingStartTime. */
  readonly processingDelay?: number;
  /** processingEndTime - submissionTime. */
  readonly totalDelay?: number;
  /** Records of every input stream. */
  readonly numRecords: number;
  /** By output operation id. */
  readonly outputOperationInfos: ReadonlyMap<number, OutputOperationInfo>;
}

export interface StreamingListenerStreamingStarted {
  readonly time: number;
}
export interface StreamingListenerBatchSubmitted {
  readonly batchInfo: BatchInfo;
}
export interface StreamingListenerBatchStarted {
  readonly batchInfo: BatchInfo;
}
/**
 * Spark's `{ batchInfo }`. The batch's record (`time`, `status`, `startedAt`, ...) is spread into it
 * too, as listeners of earlier Sparkless versions received it.
 */
export type StreamingListenerBatchCompleted = BatchRecord & { readonly batchInfo: BatchInfo };
export interface StreamingListenerOutputOperationStarted {
  readonly outputOperationInfo: OutputOperationInfo;
}
export interface StreamingListenerOutputOperationCompleted {
  readonly outputOperationInfo: OutputOperationInfo;
}

/**
 * Spark's StreamingListener: implement the events of interest. Listeners run synchronously in the
 * coordinator, between the steps of a batch: keep them quick. One that throws is reported and
 * ignored, as Spark's listener bus does.
 */
export interface StreamingListener {
  onStreamingStarted?(event: StreamingListenerStreamingStarted): void;
  onBatchSubmitted?(event: StreamingListenerBatchSubmitted): void;
  onBatchStarted?(event: StreamingListenerBatchStarted): void;
  onBatchCompleted?(event: StreamingListenerBatchCompleted): void;
  onOutputOperationStarted?(event: StreamingListenerOutputOperationStarted): void;
  onOutputOperationCompleted?(event: StreamingListenerOutputOperationCompleted): void;
  /** Sparkless only: the batch failed after its tasks' attempts, and the app stops. */
  onBatchFailed?(record: BatchRecord, error: TaskFailedError): void;
}

/** A BatchInfo with the delays computed from its times. */
export function batchInfo(fields: Omit<BatchInfo, "schedulingDelay" | "processingDelay" | "totalDelay">): BatchInfo {
  const { submissionTime: sub, processingStartTime: start, processingEndTime: end } = fields;
  return {
    ...fields,
    ...(start !== undefined ? { schedulingDelay: start - sub } : {}),
    ...(start !== undefined && end !== undefined ? { processingDelay: end - start } : {}),
    ...(end !== undefined ? { totalDelay: end - sub } : {}),
  };
}
