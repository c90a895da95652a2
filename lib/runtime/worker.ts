/**
 * The worker: runs the tasks of fanned-out stages that SQS delivers, the
 * way Lambda's SQS event source mapping hands them over, and answers with
 * `batchItemFailures`.
 *
 * - A task that ran (or failed, and reported its failure to the coordinator),
 *   or that another delivery already finished, is a success: the message is
 *   deleted. The coordinator decides about retries.
 * - A task another worker is running now comes back in a second, without
 *   counting as a failure.
 * - A delivery the worker could not handle at all (the engine failing, a body
 *   that is not a task) is left to SQS: it comes back after the visibility
 *   timeout, and after `maxReceiveCount` receives it goes to the DLQ.
 */
import { randomUUID } from "node:crypto";
import { SystemClock, type Clock } from "../core/clock.js";
import type { AppDefinition } from "../app/app.js";
import { decode, encode } from "../core/codec.js";
import { MissingDataError } from "../core/errors.js";
import { pollQueue, TaskRunner } from "../scheduler/task-runner.js";
import type { TaskMessage, TaskQueue } from "../storage/interfaces.js";
import { StreamingContext, type Engine } from "../streaming/context.js";

/** The part of an SQS event the worker reads (Lambda's SQSEvent). */
export interface SqsEventLike {
  Records: { messageId: string; receiptHandle: string; body: string; attributes?: { ApproximateReceiveCount?: string } }[];
}
export interface SqsBatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

export interface WorkerOptions {
  clock?: Clock;
  /** How long a claim on a task lasts past each renewal. @default 6000 */
  claimLeaseMs?: number;
  log?: (entry: Record<string, unknown>) => void;
}

export class Worker {
  private runner: Promise<TaskRunner> | undefined;
  private readonly clock: Clock;
  private readonly id = `w-${randomUUID().slice(0, 8)}`;

  constructor(
    readonly app: AppDefinition,
    readonly engine: Engine,
    private readonly options: WorkerOptions = {},
  ) {
    this.clock = options.clock ?? new SystemClock();
  }

  /** The task runner for the app's graph at its zero time, built once per process. */
  private runnerFor(): Promise<TaskRunner> {
    this.runner ??= (async () => {
      const info = await this.engine.batchLog.getApp();
      if (!info)
        throw new MissingDataError(`App "${this.app.config.name}" has no batch log yet: a task cannot come before its coordinator's first batch.`);
      const ssc = new StreamingContext({
        batchInterval: this.app.config.batchInterval,
        clock: this.clock,
        engine: this.engine,
        appName: this.app.config.name,
        defaultParallelism: this.app.config.defaultParallelism,
        stateBackend: this.app.config.stateBackend,
        print: () => undefined,
      });
      this.app.build(ssc);
      return new TaskRunner(ssc.prepare(info.zeroTime), this.engine, this.clock, { owner: this.id, claimLeaseMs: this.options.claimLeaseMs });
    })();
    this.runner.catch(() => {
      this.runner = undefined;
    });
    return this.runner;
  }

  async handle(event: SqsEventLike): Promise<SqsBatchResponse> {
    const failures: { itemIdentifier: string }[] = [];
    // Tasks of one delivery run concurrently: most of their time is spent waiting on storage.
    await Promise.all(
      event.Records.map(async (m) => {
        let task: TaskMessage;
        try {
          task = decode<TaskMessage>(m.body);
        } catch (e) {
          this.options.log?.({ level: "error", message: "not a task message; left for the DLQ", body: m.body.slice(0, 200), error: String(e) });
          failures.push({ itemIdentifier: m.messageId });
          return;
        }
        const started = Date.now();
        try {
          const outcome = await (await this.runnerFor()).run(task);
          this.options.log?.({
            level: outcome === "failed" ? "warn" : "debug",
            message: `task ${outcome}`,
            batchTime: task.batchTime,
            stage: task.stage,
            partition: task.partition,
            attempt: task.attempt,
            ms: Date.now() - started,
          });
          if (outcome === "busy") {
            await this.engine.tasks.release(m.receiptHandle, 1000).catch(() => undefined);
            failures.push({ itemIdentifier: m.messageId });
          }
        } catch (e) {
          this.options.log?.({
            level: "error",
            message: "task delivery failed; SQS delivers it again",
            batchTime: task.batchTime,
            stage: task.stage,
            partition: task.partition,
            error: e instanceof Error ? e.message : String(e),
          });
          failures.push({ itemIdentifier: m.messageId });
        }
      }),
    );
    return { batchItemFailures: failures };
  }
}

/**
 * Feeds a worker from a task queue the way Lambda's SQS event source mapping does: deliveries of up to
 * 10 messages, and the messages not reported in `batchItemFailures` deleted. Local worker processes and
 * tests run workers with it; on AWS the event source mapping does this.
 */
export function runEventSourceMapping(
  queue: TaskQueue,
  worker: Pick<Worker, "handle">,
  signal: AbortSignal,
  options: { waitMs?: number; onError?: (e: unknown) => void } = {},
): Promise<void> {
  return pollQueue(
    queue,
    signal,
    async (received) => {
      const event: SqsEventLike = {
        Records: received.map((r, i) => ({
          messageId: String(i),
          receiptHandle: r.receipt,
          body: encode(r.body),
          attributes: { ApproximateReceiveCount: String(r.receiveCount) },
        })),
      };
      const failed = new Set((await worker.handle(event)).batchItemFailures.map((f) => f.itemIdentifier));
      return event.Records.filter((r) => !failed.has(r.messageId)).map((r) => r.receiptHandle);
    },
    options,
  );
}
