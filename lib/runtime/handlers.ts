/**
 * The Lambda handlers' bodies, kept here so `functions/` stays thin. Each
 * takes the user's app module; the engine is built once per Lambda
 * environment from the variables the CDK construct sets.
 */
import type { AppDefinition } from "../app/app.js";
import { createAwsEngine, engineConfigFromEnv, type AwsEngine } from "../aws/engine.js";
import { runCoordinator, type CoordinatorResult } from "./coordinator.js";
import { Worker, type SqsBatchResponse, type SqsEventLike } from "./worker.js";

/** What the handlers use from Lambda's context object. */
export interface LambdaContextLike { getRemainingTimeInMillis?(): number; awsRequestId?: string }

const log = (entry: Record<string, unknown>) => process.stdout.write(JSON.stringify({ timestamp: new Date().toISOString(), ...entry }) + "\n");

/** The coordinator: invoked by the schedule, generates batches until shortly before its timeout. */
export function coordinatorHandler(app: AppDefinition, engineFactory: () => AwsEngine = () => createAwsEngine(engineConfigFromEnv())) {
  let engine: AwsEngine | undefined;
  return async (_event: unknown, context?: LambdaContextLike): Promise<CoordinatorResult> => {
    engine ??= engineFactory();
    const remaining = context?.getRemainingTimeInMillis?.() ?? 60_000;
    // Leave room for the last batch's generation and the lease release before Lambda stops us.
    const deadline = Date.now() + remaining - Math.max(3_000, 2 * app.config.batchInterval.milliseconds);
    const result = await runCoordinator(app, engine, {
      deadline,
      owner: context?.awsRequestId,
      onBatchGenerated: (r) => log({ level: "info", message: "batch generated", app: app.config.name, batchTime: r.time, inputRecords: r.inputRecords, stages: r.stages.length }),
    });
    log({ level: "info", message: result.leader ? "coordinator done" : "another coordinator holds the lease", app: app.config.name, ...result });
    return result;
  };
}

/** The worker: invoked by the SQS event source mapping with ReportBatchItemFailures. */
export function workerHandler(app: AppDefinition, engineFactory: () => AwsEngine = () => createAwsEngine(engineConfigFromEnv())) {
  let worker: Worker | undefined;
  return async (event: SqsEventLike): Promise<SqsBatchResponse> => {
    worker ??= new Worker(app, engineFactory(), { log: (e) => log({ app: app.config.name, ...e }) });
    return worker.handle(event);
  };
}
