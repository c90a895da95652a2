/**
 * The worker: runs the tasks that SQS delivers, the way Lambda's SQS event
 * source mapping hands them over, and answers with `batchItemFailures`.
 *
 * - A task that ran, or had nothing to do (already done, batch not
 *   running), is a success: the message is deleted.
 * - A task another delivery is running comes back shortly (its visibility is
 *   shortened), without counting as a failure of the task.
 * - A task that failed is retried with backoff; on its last attempt its batch
 *   is marked failed and the message deleted, so the failure is visible in
 *   the batch log rather than only in the DLQ.
 */
import { SystemClock, type Clock } from "../core/clock.js";
import type { AppDefinition } from "../app/app.js";
import { decode, encode } from "../core/codec.js";
import { faultPoint } from "../testing/faults.js";
import { failedAttemptsOf, type BatchScheduler } from "../scheduler/scheduler.js";
import type { BatchRecord, ReceivedTask, TaskMessage, TaskQueue } from "../storage/interfaces.js";
import { StreamingContext, type Engine } from "../streaming/context.js";

/** The part of an SQS event the worker reads (Lambda's SQSEvent). */
export interface SqsEventLike {
  Records: { messageId: string; receiptHandle: string; body: string; attributes?: { ApproximateReceiveCount?: string } }[];
}
export interface SqsBatchResponse { batchItemFailures: { itemIdentifier: string }[] }

export interface WorkerOptions {
  clock?: Clock;
  print?: (line: string) => void;
  /** Base delay before a failed task is retried, doubled per attempt. @default 1000 */
  retryDelayMs?: number;
  /** How long a claim on a task lasts; keep it below the queue's visibility timeout. @default 30000 */
  taskLeaseMs?: number;
  log?: (entry: Record<string, unknown>) => void;
  /** Called in the process that completes a batch (once per batch): per-batch metrics. */
  onBatchCompleted?: (record: BatchRecord) => void;
}

export class Worker {
  private scheduler: BatchScheduler | undefined;
  private zero: number | undefined;
  private readonly clock: Clock;

  constructor(readonly app: AppDefinition, readonly engine: Engine, private readonly options: WorkerOptions = {}) {
    this.clock = options.clock ?? new SystemClock();
  }

  /** The scheduler for the app's zero time, built once per process (the graph is rebuilt from the app module). */
  private schedulerPromise: Promise<BatchScheduler | undefined> | undefined;
  private schedulerFor(task: TaskMessage): Promise<BatchScheduler | undefined> {
    if (this.scheduler) return Promise.resolve(this.scheduler);
    this.schedulerPromise ??= this.buildScheduler(task).then((s) => { if (!s) this.schedulerPromise = undefined; return s; });
    return this.schedulerPromise;
  }
  private async buildScheduler(task: TaskMessage): Promise<BatchScheduler | undefined> {
    const record = await this.engine.batchLog.getBatch(task.batchTime);
    if (!record) return undefined;
    this.zero = record.zeroTime ?? 0;
    const ssc = new StreamingContext({
      batchInterval: this.app.config.batchInterval, clock: this.clock, engine: this.engine, appName: this.app.config.name,
      defaultParallelism: this.app.config.defaultParallelism, print: this.options.print,
    });
    this.app.build(ssc);
    this.scheduler = ssc.prepare(this.zero, { taskLeaseMs: this.options.taskLeaseMs });
    if (this.options.onBatchCompleted) this.scheduler.addListener({ onBatchCompleted: this.options.onBatchCompleted });
    return this.scheduler;
  }

  async handle(event: SqsEventLike): Promise<SqsBatchResponse> {
    const failures: { itemIdentifier: string }[] = [];
    const maxAttempts = this.app.config.maxTaskAttempts;
    const baseDelay = this.options.retryDelayMs ?? 1000;
    // Tasks of one delivery run concurrently: most of their time is spent waiting on storage.
    await Promise.all(event.Records.map(async (m) => {
      let task: TaskMessage;
      try {
        task = decode<TaskMessage>(m.body);
      } catch (e) {
        this.options.log?.({ level: "error", message: "not a task message; dropped to the DLQ", body: m.body.slice(0, 200), error: String(e) });
        failures.push({ itemIdentifier: m.messageId });
        return;
      }
      const attempt = Number(m.attributes?.ApproximateReceiveCount ?? "1");
      try {
        const scheduler = await this.schedulerFor(task);
        if (!scheduler) return; // its batch record is gone: a message older than the retention
        const started = Date.now();
        const outcome = await scheduler.runTask(task);
        this.options.log?.({ level: "debug", message: `task ${outcome.kind}`, batchTime: task.batchTime, stage: task.stage, partition: task.partition, attempt, ms: Date.now() - started });
        await faultPoint("worker.before-ack");
        if (outcome.kind === "busy") {
          await this.engine.queue.release(m.receiptHandle, outcome.retryAfterMs).catch(() => undefined);
          failures.push({ itemIdentifier: m.messageId });
        }
      } catch (e) {
        this.options.log?.({ level: "error", message: "task failed", batchTime: task.batchTime, stage: task.stage, partition: task.partition, attempt, error: e instanceof Error ? e.message : String(e) });
        const failed = failedAttemptsOf(e) ?? attempt;
        if (failed >= maxAttempts && this.scheduler) {
          await this.scheduler.failTask(task, e, failed);
        } else {
          await this.engine.queue.release(m.receiptHandle, baseDelay * 2 ** (failed - 1)).catch(() => undefined);
          failures.push({ itemIdentifier: m.messageId });
        }
      }
    }));
    return { batchItemFailures: failures };
  }
}

/**
 * Feeds a worker from a task queue the way Lambda's SQS event source
 * mapping does: deliveries of up to 10 messages, and the messages not
 * reported in `batchItemFailures` deleted. Local worker processes and tests
 * run workers with it; on AWS the event source mapping does this.
 */
export async function pollTasks(
  queue: TaskQueue, worker: Pick<Worker, "handle">, signal: AbortSignal, options: { waitMs?: number; onError?: (e: unknown) => void } = {},
): Promise<void> {
  while (!signal.aborted) {
    let received: ReceivedTask[];
    try {
      received = await queue.receive({ max: 10, waitMs: options.waitMs ?? 1000, signal });
    } catch (e) {
      if (signal.aborted) return;
      options.onError?.(e);
      await new Promise((r) => setTimeout(r, 200));
      continue;
    }
    if (received.length === 0) continue;
    const event: SqsEventLike = {
      Records: received.map((r, i) => ({
        messageId: String(i), receiptHandle: r.receipt, body: encode(r.task),
        attributes: { ApproximateReceiveCount: String(r.receiveCount) },
      })),
    };
    const { batchItemFailures } = await worker.handle(event);
    const failed = new Set(batchItemFailures.map((f) => f.itemIdentifier));
    const done = event.Records.filter((r) => !failed.has(r.messageId)).map((r) => r.receiptHandle);
    if (done.length) await queue.ackMany(done).catch((e: unknown) => options.onError?.(e));
  }
}
