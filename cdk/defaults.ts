/**
 * The secure and sized defaults of the SparklessApp construct, in one place: how memory, timeouts
 * and the task queue's visibility follow from the batch interval, how long queues and the bucket keep
 * what they hold, the metric names the dashboard and alarms read, each alarm's threshold and
 * evaluation, and the constants behind each choice. Every number here is explained where it is set;
 * docs/deploy.md repeats the tables for users.
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
  /**
   * Count: 1 when a batch fails. The coordinator invocation that finds or causes a failed batch emits it,
   * and so does every invocation while the app is stopped on that batch (once a minute), until
   * `sparkless retry`.
   */
  batchFailed: "BatchFailed",
  /**
   * Milliseconds: now minus the time of the newest completed batch, emitted with every metrics flush (at
   * least every 10 s while a coordinator runs, and at least once per coordinator invocation).
   */
  lastCompletedBatchAge: "LastCompletedBatchAge",
  /** Count: non-Kinesis requests (DynamoDB, SQS as billed, S3) the coordinator made per batch, empty runs amortized. */
  requestsPerBatch: "RequestsPerBatch",
  /**
   * US dollars: the month's cost at the current rate, priced as `npm run bench` prices (lib/observability/cost.ts):
   * requests and the coordinator's Lambda time, without Kinesis and CloudWatch. Written with non-empty batches.
   */
  estimatedMonthlyCost: "EstimatedMonthlyCost",
} as const;

/**
 * The coordinator's schedule: EventBridge Scheduler's `rate(1 minute)`, its shortest rate (a scheduled
 * EventBridge rule cannot fire more often either).
 */
export const SCHEDULE_PERIOD_S = 60;

/**
 * How long one coordinator invocation loops on the batch clock (seconds).
 *
 * The coordinator stops generating at its remaining time minus max(3 s, 2 intervals) and then releases
 * its lease (lib/runtime/handlers.ts). An invocation that finds the lease still held returns at once, so
 * if one invocation outlived the schedule period the next would do nothing and the app would have no
 * coordinator until the one after: a gap of most of a minute every other minute. The loop therefore
 * ends 5 s before the next invocation fires (room for the schedule's jitter), and the next invocation
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
 * - coordinator memory: 192 MB up to 10 s intervals, 512 MB up to 60 s, 1024 MB beyond. The coordinator
 *   runs most batches itself, in memory, and keeps the app's state there between batches; it is also
 *   the one always-on cost: it loops about 55 s of every minute and Lambda bills that time by memory.
 *   At 192 MB on arm64 that is 0.1875 GB × 60 s × 43,800 minutes ≈ 493,000 GB-s ≈ $6.6 a month even
 *   billing the whole minute ($8.8 at 256 MB), which keeps the runtime of an idle app with 1 s batches
 *   within about $10 a month (docs/deploy.md has the whole estimate). 192 MB holds Node.js, the bundled
 *   SDK and a modest state; CPU grows with memory (one vCPU at 1769 MB), and execution mode "auto" fans
 *   out to workers a batch with more records than the coordinator processed in half an interval, so a
 *   small coordinator fans out sooner rather than falling behind. Longer intervals gather more records
 *   per batch for the coordinator to hold and process, hence 512 MB and 1024 MB.
 * - worker timeout = 5 intervals, at least 30 s, at most 900 s: a task normally takes well under one
 *   interval (or the app falls behind); five leave room for a backlog without letting a hung task
 *   hold its message for long.
 * - worker memory: 1024 MB up to 10 s intervals, 1769 MB (one full vCPU) up to 60 s, 3008 MB beyond: a
 *   task holds one partition of one batch, which grows with the interval at a given input rate. Workers
 *   run only for fanned-out batches, so their memory costs nothing at rest.
 * - visibility timeout = 6 × the worker timeout (AWS's rule for SQS event sources). The coordinator
 *   also gets the worker timeout (SPARKLESS_WORKER_TIMEOUT_MS): it waits at least that long before it
 *   sends again a task no worker claimed, so a slow delivery never runs twice at once.
 * - maxReceiveCount = max(10, 2 × maxTaskAttempts + 2): the worker deletes a task's message once the
 *   task ran or failed (it reports the failure, and the coordinator decides about retries); "busy"
 *   redeliveries (a duplicate that waits for the running attempt) also count as receives, so the DLQ
 *   only gets what no worker could ever handle (a body that is not a task, an engine that keeps failing).
 */
export function deriveSizing(batchIntervalMs: number, maxTaskAttempts: number): Sizing {
  const intervalS = batchIntervalMs / 1000;
  const coordinatorMarginS = Math.max(3, 2 * intervalS);
  const coordinatorTimeoutS = Math.min(MAX_LAMBDA_TIMEOUT_S, Math.ceil(COORDINATOR_LOOP_S + coordinatorMarginS));
  const coordinatorMemoryMb = intervalS <= 10 ? 192 : intervalS <= 60 ? 512 : 1024;
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
  /** Failed tasks (and results no coordinator could settle) stay in their DLQ for SQS's maximum, 14 days. */
  dlqRetentionDays: 14,
  /**
   * Results wait for the coordinator of their batch, which reads them within seconds; one that waited a
   * day belongs to a batch long settled, so a day's retention is plenty (SQS's default is 4 days).
   */
  resultRetentionDays: 1,
  /**
   * The result queue's visibility timeout: the coordinator deletes a result right after handling it, so
   * one that comes back had its coordinator stop in between; the next coordinator reads it 30 s later.
   */
  resultVisibilityS: 30,
  /**
   * Receives of a result before SQS moves it to the result DLQ. The coordinator deletes every result it
   * receives, its batch's or not, so only a result it failed on every time (a poison message) gets there.
   */
  resultMaxReceiveCount: 5,
  /**
   * The largest task or result message: 256 KiB, what the runtime's sender assumes (lib/aws/sqs.ts packs
   * batches under 250 KiB; larger shuffle data goes to the bucket). Set explicitly on both queues.
   */
  maxMessageBytes: 256 * 1024,
  /** Shuffle output (`<app>/shuffle/`) and task inputs too large for a message (`<app>/inputs/`): read within the batch; kept a day. */
  shuffleObjectDays: 1,
  /**
   * Checkpoint objects (`<app>/checkpoints/`, with checkpointStore "s3"): the batch log and checkpoint
   * manifests expire after 7 days (lib/aws/dynamodb/batch-log.ts BATCH_RETENTION_S), so a page object is
   * kept a day longer than any manifest that names it.
   */
  checkpointObjectDays: 8,
  /** Server access logs of the app's bucket, kept as long as the functions' logs (one month). */
  accessLogDays: 30,
} as const;

// ---------------------------------------------------------------------------------------------
// Alarms: each threshold and evaluation, and why. Every alarm's period is one minute unless said.

/** The period of every alarm's metric but SchedulingDelay's for long intervals (below). */
export const ALARM_PERIOD_S = 60;

/**
 * Where each alarm's description points: a section of the operator's runbook. `runbookUrl` (default
 * RUNBOOK_URL) plus `#` plus the anchor; docs/operations.md has one section per alarm with these anchors.
 */
export const RUNBOOK_URL = "docs/operations.md";
export const RUNBOOK_SECTIONS = {
  batchFailed: "alarm-batch-failed",
  batchesStopped: "alarm-batches-stopped",
  schedulingDelay: "alarm-scheduling-delay",
  coordinatorErrors: "alarm-coordinator-errors",
  coordinatorThrottles: "alarm-coordinator-throttles",
  inputIteratorAge: "alarm-input-iterator-age",
  taskDeadLetterQueue: "alarm-task-dead-letter-queue",
  resultDeadLetterQueue: "alarm-result-dead-letter-queue",
  quarantinedRecords: "alarm-quarantined-records",
} as const;

/**
 * LastCompletedBatchAge: how many batch intervals, on top of one schedule period, the newest completed
 * batch may be old before the pipeline counts as stopped.
 *
 * What a healthy app shows: the newest completed batch is at most about one interval old when the next
 * one completes, plus that batch's processing time (under an interval, or the app falls behind). Once a
 * minute the coordinator hands over: the next invocation starts a few seconds after the previous loop
 * ended and catches up the boundaries in between, so the age grows by those seconds and a cold start.
 * With intervals of a minute or more an invocation runs the batches due and returns, so a batch starts
 * up to one schedule period after its time. Hence the healthy maximum is about 2 intervals plus one
 * schedule period, and the threshold is one more interval on top: 63 s at 1 s intervals, 66 s at 2 s,
 * 90 s at 10 s, 4 min at 1 min, 16 min at 5 min.
 */
export const LAST_BATCH_AGE_INTERVALS = 3;

/** The LastCompletedBatchAge alarm's threshold: one schedule period plus LAST_BATCH_AGE_INTERVALS intervals. */
export function lastBatchAgeThresholdMs(batchIntervalMs: number): number {
  return SCHEDULE_PERIOD_S * 1000 + LAST_BATCH_AGE_INTERVALS * batchIntervalMs;
}

/**
 * LastCompletedBatchAge is judged on the last 3 one-minute periods and alarms when 2 breach. Missing data
 * counts as breaching: no data point at all means no coordinator reports, which is the failure this alarm
 * exists for. One missing minute alone (an invocation that started a few seconds late, so one minute
 * holds no flush) does not page; two do, so a stopped coordinator pages within about 2–3 minutes.
 */
export const LAST_BATCH_AGE_EVALUATION = { evaluationPeriods: 3, datapointsToAlarm: 2 } as const;

/**
 * BatchFailed: one data point ≥ 1 in the last 3 minutes. The stopped app reports it once a minute, but an
 * invocation a few seconds late can leave one minute without it; judging 3 minutes keeps the alarm in
 * ALARM while the app stays stopped instead of flapping (and paging again) every such minute. It returns
 * to OK 3 minutes after the last report, i.e. after `sparkless retry` ran the batch.
 */
export const BATCH_FAILED_EVALUATION = { evaluationPeriods: 3, datapointsToAlarm: 1 } as const;

/**
 * The coordinator's Lambda Errors and Throttles: at least one in 2 of the last 3 minutes. A single failed
 * or throttled invocation is harmless (the next one, a minute later, takes over and catches up), one that
 * keeps failing is not.
 */
export const COORDINATOR_FAILURE_EVALUATION = { evaluationPeriods: 3, datapointsToAlarm: 2 } as const;

/**
 * The scheduling delay that means the app is falling behind: max(30 s, 5 intervals). The hand-over
 * once a minute delays a batch by a few seconds; this is well above it.
 */
export function schedulingDelayThresholdMs(batchIntervalMs: number): number {
  return Math.max(30_000, 5 * batchIntervalMs);
}

/**
 * The SchedulingDelay alarm's period: one minute, or the batch interval rounded up to whole minutes
 * when longer, so that every period holds at least one batch's data point; the alarm wants 5 periods
 * in a row above the threshold (5 minutes, or 5 batches for long intervals).
 */
export function schedulingDelayPeriodS(batchIntervalMs: number): number {
  return Math.max(ALARM_PERIOD_S, Math.ceil(batchIntervalMs / 1000 / ALARM_PERIOD_S) * ALARM_PERIOD_S);
}
export const SCHEDULING_DELAY_EVALUATION = { evaluationPeriods: 5, datapointsToAlarm: 5 } as const;

/**
 * The input's iterator age (GetRecords.IteratorAgeMilliseconds, maximum) that raises the alarm: a quarter
 * of the stream's retention. Kinesis trims records older than the retention for good, so an app that
 * reads records that old is losing input it has not processed; a quarter leaves three quarters of the
 * retention (18 h of a 24 h stream) to fix the cause or raise the retention before anything is lost.
 */
export const ITERATOR_AGE_RETENTION_FRACTION = 0.25;
export function iteratorAgeThresholdMs(retentionHours: number): number {
  return retentionHours * 3_600_000 * ITERATOR_AGE_RETENTION_FRACTION;
}
/** The iterator age must stay above the threshold for 5 minutes in a row (a replay of old blocks is brief). */
export const ITERATOR_AGE_EVALUATION = { evaluationPeriods: 5, datapointsToAlarm: 5 } as const;
