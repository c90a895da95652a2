/**
 * The Lambda handlers' bodies, kept here so `functions/` stays thin. Each
 * takes the user's app module; the engine is built once per Lambda
 * environment from the variables the CDK construct sets.
 */
import type { AppDefinition } from "../app/app.js";
import { createAwsEngine, engineConfigFromEnv, type AwsEngine } from "../aws/engine.js";
import { createLogger, type SparklessLogger } from "../observability/logger.js";
import { averagePerBatch, REQUESTS_LOG_MESSAGE, type BatchRequests } from "../observability/cost.js";
import { createBatchMetricsEmitter } from "../observability/metrics.js";
import { runCoordinator, type CoordinatorResult } from "./coordinator.js";
import type { BatchRecord } from "../storage/interfaces.js";
import { Worker, type SqsBatchResponse, type SqsEventLike } from "./worker.js";

/** The coordinator's schedule fires once a minute (EventBridge's shortest period). */
export const SCHEDULE_PERIOD_MS = 60_000;

/** What the handlers use from Lambda's context object. */
export interface LambdaContextLike {
  getRemainingTimeInMillis?(): number;
  awsRequestId?: string;
}

/** A worker's log entry on the logger: its level, and the batch time and task id as keys of the line. */
function logEntry(logger: SparklessLogger, entry: Record<string, unknown>): void {
  const { level, message, stage, partition, ...rest } = entry;
  const task =
    rest.batchTime !== undefined && stage !== undefined
      ? logger.child({ batchTime: rest.batchTime, taskId: `${String(stage)}/${String(partition)}` })
      : logger;
  delete rest.batchTime;
  const l = level === "debug" || level === "warn" || level === "error" ? level : "info";
  task[l](String(message ?? ""), rest);
}

/**
 * The requests per batch by service, written once per invocation as a log line ("requests per batch"),
 * which the dashboard's Logs Insights widget averages: by service without a custom metric per service.
 */
function requestLog() {
  let seen: BatchRequests[] = [];
  return {
    add(r: BatchRecord): void {
      if (r.requests) seen.push(r.requests);
    },
    write(logger: SparklessLogger): void {
      const average = averagePerBatch(seen);
      seen = [];
      if (!average) return;
      const perBatch = Object.fromEntries(Object.entries(average.perBatch).map(([service, n]) => [service, Math.round(n * 100) / 100]));
      logger.info(REQUESTS_LOG_MESSAGE, { batches: average.batches, ...perBatch });
    },
  };
}

/** The coordinator: invoked by the schedule, runs the batches due until shortly before its timeout. */
export function coordinatorHandler(app: AppDefinition, engineFactory: () => AwsEngine = () => createAwsEngine(engineConfigFromEnv())) {
  let engine: AwsEngine | undefined;
  const logger = createLogger({ app: app.config.name });
  const memory = Number(process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE);
  const metrics = createBatchMetricsEmitter(app.config.name, {
    intervalMs: app.config.batchInterval.milliseconds,
    ...(memory > 0 ? { coordinatorMb: memory } : {}),
  });
  const requests = requestLog();
  return async (_event: unknown, context?: LambdaContextLike): Promise<CoordinatorResult> => {
    engine ??= engineFactory();
    const remaining = context?.getRemainingTimeInMillis?.() ?? 60_000;
    const interval = app.config.batchInterval.milliseconds;
    // Leave room for the last batch, the checkpoint and the lease release before Lambda stops us. With
    // an interval of a schedule period or more, every invocation runs the batches due and returns
    // rather than idling, billed, until the next boundary, which the next invocation runs (a batch
    // starts at most one schedule period after its time).
    const deadline = interval >= SCHEDULE_PERIOD_MS ? Date.now() : Date.now() + remaining - Math.max(3_000, 2 * interval);
    let newest: number | undefined;
    try {
      const result = await runCoordinator(app, engine, {
        deadline,
        owner: context?.awsRequestId,
        onBatchCompleted: (r) => {
          metrics.add(r);
          requests.add(r);
        },
        onCheckpoint: (c) => logger.debug("checkpoint", { ...c }),
        // A task no worker claimed is sent again only after the worker function's timeout: then a slow
        // delivery never runs twice at once.
        ...(process.env.SPARKLESS_WORKER_TIMEOUT_MS ? { fanOut: { resendUnclaimedMs: Number(process.env.SPARKLESS_WORKER_TIMEOUT_MS) } } : {}),
      });
      if (result.failed) {
        metrics.failed(result.failed.batchTime);
        logger.error("a failed batch stops the app", { batchTime: result.failed.batchTime, error: result.failed.message });
      } else logger.info(result.leader ? "coordinator done" : "another coordinator holds the lease", { ...result });
      // Only the leader knows how old the results are; another invocation leaves the metric to it.
      if (result.leader) newest = result.lastCompletedTime;
      return result;
    } finally {
      metrics.flush(newest);
      requests.write(logger);
    }
  };
}

/** The worker: invoked by the SQS event source mapping with ReportBatchItemFailures. */
export function workerHandler(
  app: AppDefinition,
  engineFactory: () => AwsEngine = () => createAwsEngine(engineConfigFromEnv(), undefined, { meter: false }),
) {
  let worker: Worker | undefined;
  const logger = createLogger({ app: app.config.name });
  return async (event: SqsEventLike): Promise<SqsBatchResponse> => {
    worker ??= new Worker(app, engineFactory(), { log: (e) => logEntry(logger, e) });
    return worker.handle(event);
  };
}
