/**
 * The secure and sized defaults of the SparklessApp construct, in one place: how memory, timeouts
 * and the queue's visibility follow from the batch interval, the metric names the dashboard and
 * alarms read, and the constants behind each choice. Every number here is explained where it is set;
 * docs/deploy.md repeats the table for users.
 */

/** The namespace of the custom metrics the handlers emit (EMF) and the dashboard reads. */
export const METRIC_NAMESPACE = "Sparkless";

/** The one dimension of every custom metric: the app's name. The dimension set must be exactly this. */
export const METRIC_DIMENSION = "App";

/**
 * The batch timeline, one data point per batch, as Spark's streaming UI shows it.
 * The handlers emit them in the namespace above with the single dimension App=<app name>.
 */
export const METRICS = {
  /** Count: records read from the input streams for the batch. */
  inputRecords: "InputRecords",
  /** Milliseconds: batch start (running) minus batch time. */
  schedulingDelay: "SchedulingDelay",
  /** Milliseconds: batch completion minus batch start. */
  processingTime: "ProcessingTime",
  /** Milliseconds: batch completion minus batch time. */
  totalDelay: "TotalDelay",
  /** Count: records the decoder rejected and put in quarantine (the meta table, `app#quarantine`). */
  quarantinedRecords: "QuarantinedRecords",
} as const;

/** EventBridge fires a schedule at most once a minute. */
export const SCHEDULE_PERIOD_S = 60;

/**
 * How long one coordinator invocation loops on the batch clock (seconds).
 *
 * The coordinator stops generating at its remaining time minus max(3 s, 2 intervals) and then releases
 * its lease (lib/runtime/handlers.ts). An invocation that finds the lease still held returns at once, so
 * if one invocation outlived the schedule period the next would do nothing and the app would have no
 * coordinator until the one after: a gap of most of a minute every other minute. The loop therefore
 * ends 5 s before the next invocation fires (room for EventBridge's jitter), and the next invocation
 * catches up the few boundaries in between, in order: a short scheduling delay once a minute, never a
 * skipped batch.
 */
export const COORDINATOR_LOOP_S = 55;

/** Lambda's longest timeout. */
export const MAX_LAMBDA_TIMEOUT_S = 900;

/** AWS: an SQS event source's queue needs a visibility timeout of at least 6 × the function timeout. */
export const VISIBILITY_FACTOR = 6;

/** The sizes the construct derives from the batch interval (each can be overridden by a prop). */
export interface Sizing {
  /** The handler's own margin before its timeout: max(3 s, 2 intervals), in seconds. */
  readonly coordinatorMarginS: number;
  readonly coordinatorTimeoutS: number;
  readonly coordinatorMemoryMb: number;
  readonly workerTimeoutS: number;
  readonly workerMemoryMb: number;
  readonly visibilityTimeoutS: number;
  readonly maxReceiveCount: number;
}

/**
 * Sizes from the batch interval and the app's task attempts:
 *
 * - coordinator timeout = loop (55 s) + the handler's margin max(3 s, 2 intervals), at most 900 s: the
 *   invocation loops for 55 s of each minute whatever the interval. Past 422 s intervals the cap bites
 *   and batches are generated up to 2 × interval − 845 s late (the construct warns).
 * - coordinator memory: 256 MB up to 10 s intervals, 512 MB up to 60 s, 1024 MB beyond. It reads every
 *   record of a batch once to fix its range, within the margin above; longer intervals mean more records
 *   per generation, and Lambda's CPU grows with memory. 256 MB keeps the always-on loop cheap.
 * - worker timeout = 5 intervals, at least 30 s, at most 900 s: a task normally takes well under one
 *   interval (or the app falls behind); five leave room for a backlog without letting a hung task
 *   hold its message for long.
 * - worker memory: 1024 MB up to 10 s intervals, 1769 MB (one full vCPU) up to 60 s, 3008 MB beyond: a
 *   task holds one partition of one batch, which grows with the interval at a given input rate.
 * - visibility timeout = 6 × the worker timeout (AWS's rule for SQS event sources).
 * - maxReceiveCount = max(10, 2 × maxTaskAttempts + 2): the worker itself fails a batch after
 *   maxTaskAttempts failed receives and deletes the message; "busy" redeliveries (a duplicate that waits
 *   for the running attempt) also count as receives, so the DLQ only gets what the worker never could
 *   settle.
 */
export function deriveSizing(batchIntervalMs: number, maxTaskAttempts: number): Sizing {
  const intervalS = batchIntervalMs / 1000;
  const coordinatorMarginS = Math.max(3, 2 * intervalS);
  const coordinatorTimeoutS = Math.min(MAX_LAMBDA_TIMEOUT_S, Math.ceil(COORDINATOR_LOOP_S + coordinatorMarginS));
  const coordinatorMemoryMb = intervalS <= 10 ? 256 : intervalS <= 60 ? 512 : 1024;
  const workerTimeoutS = Math.min(MAX_LAMBDA_TIMEOUT_S, Math.max(30, Math.ceil(5 * intervalS)));
  const workerMemoryMb = intervalS <= 10 ? 1024 : intervalS <= 60 ? 1769 : 3008;
  return {
    coordinatorMarginS,
    coordinatorTimeoutS,
    coordinatorMemoryMb,
    workerTimeoutS,
    workerMemoryMb,
    visibilityTimeoutS: VISIBILITY_FACTOR * workerTimeoutS,
    maxReceiveCount: Math.max(10, 2 * maxTaskAttempts + 2),
  };
}

/** Secure and cheap-at-rest defaults for resources the construct creates. */
export const DEFAULTS = {
  /** Tasks of one SQS delivery run concurrently in the worker; 10 is SQS's maximum without a batching window. */
  workerBatchSize: 10,
  /** Concurrent worker invocations the event source mapping may run (2–1000). */
  workerMaxConcurrency: 10,
  /** Provisioned with one shard: the cheapest stream at rest (on-demand bills ~2.7× more per idle hour). */
  shardCount: 1,
  /** Kinesis' default and cheapest retention. */
  retentionHours: 24,
  /** Failed tasks stay in the DLQ for SQS's maximum, 14 days. */
  dlqRetentionDays: 14,
} as const;
