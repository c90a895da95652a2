/**
 * The two functions of one app and what invokes them: the coordinator, bundled from the user's module
 * and invoked once a minute by an EventBridge Scheduler schedule; the worker, bundled the same way and
 * fed from the task queue by an SQS event source mapping. Both get the engine's environment
 * (lib/aws/engine.ts engineConfigFromEnv).
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Duration } from "aws-cdk-lib";
import type * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as nodejs from "aws-cdk-lib/aws-lambda-nodejs";
import type * as logs from "aws-cdk-lib/aws-logs";
import * as scheduler from "aws-cdk-lib/aws-scheduler";
import * as targets from "aws-cdk-lib/aws-scheduler-targets";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { COORDINATOR_LOOP_S, DEFAULTS, SCHEDULE_PERIOD_S } from "./defaults.js";

/** The lock files NodejsFunction knows, as aws-cdk-lib looks for them. */
const LOCK_FILES = ["package-lock.json", "pnpm-lock.yaml", "yarn.lock", "bun.lock", "bun.lockb"];

/**
 * Where the handlers are bundled from. In this repository (this file is cdk/functions.ts): the handlers'
 * TypeScript sources, and the repository as the project, with its lock file. Installed from npm (this
 * file is dist/cdk/functions.js in node_modules/sparkless): the compiled handlers beside it, and as the
 * project the first folder above the package that holds a lock file, the user's project, whose
 * node_modules/.bin has the esbuild that NodejsFunction runs (`npx --no-install esbuild`, from there).
 */
function bundlingLayout(): { project: string; lockFile: string; handler: (fn: "coordinator" | "worker") => string } {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const ext = import.meta.url.endsWith(".ts") ? "ts" : "js";
  const handler = (fn: "coordinator" | "worker") => path.join(here, "..", "functions", fn, `index.${ext}`);
  if (ext === "ts") {
    const root = path.resolve(here, "..");
    return { project: root, lockFile: path.join(root, "package-lock.json"), handler };
  }
  const pkg = path.resolve(here, "..", "..");
  for (let dir = path.dirname(pkg); ; dir = path.dirname(dir)) {
    const lockFile = LOCK_FILES.map((f) => path.join(dir, f)).find((f) => existsSync(f));
    if (lockFile) return { project: dir, lockFile, handler };
    if (path.dirname(dir) === dir) break;
  }
  // No lock file above the package (installed with --no-package-lock): the package itself is the project.
  // The lock file serves only Docker bundling and `nodeModules`, neither used here.
  return { project: pkg, lockFile: path.join(pkg, "package.json"), handler };
}

export interface FunctionSettings {
  readonly appName: string;
  /** The app module, bundled as `sparkless-app`. */
  readonly entry: string;
  readonly batchInterval: Duration;
  readonly environment: Record<string, string>;
  readonly coordinatorMemoryMb: number;
  readonly coordinatorTimeout: Duration;
  readonly coordinatorRole: iam.IRole;
  readonly coordinatorLogGroup: logs.ILogGroup;
  readonly workerMemoryMb: number;
  readonly workerTimeoutS: number;
  readonly workerRole: iam.IRole;
  readonly workerLogGroup: logs.ILogGroup;
}

/** The coordinator and the worker, bundled with esbuild from the handlers and the user's module. */
export function functions(scope: Construct, s: FunctionSettings): { coordinator: nodejs.NodejsFunction; worker: nodejs.NodejsFunction } {
  const layout = bundlingLayout();
  const fn = (
    id: string,
    entry: string,
    memorySize: number,
    timeout: Duration,
    role: iam.IRole,
    logGroup: logs.ILogGroup,
    environment: Record<string, string>,
    extra: Partial<nodejs.NodejsFunctionProps>,
  ) =>
    new nodejs.NodejsFunction(scope, id, {
      entry,
      handler: "handler",
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize,
      timeout,
      role,
      logGroup,
      environment,
      projectRoot: layout.project,
      depsLockFilePath: layout.lockFile,
      bundling: {
        format: nodejs.OutputFormat.ESM,
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        // The whole bundle, SDK included: versions pinned by our lockfile, not by the runtime's copy.
        bundleAwsSDK: true,
        externalModules: [],
        // ESM output: give bundled CommonJS code a `require` for Node's built-ins.
        banner: "import { createRequire as __sparklessCreateRequire } from 'node:module'; const require = __sparklessCreateRequire(import.meta.url);",
        esbuildArgs: { "--alias": [`sparkless-app=${s.entry}`] },
      },
      ...extra,
    });
  const coordinator = fn(
    "Coordinator",
    layout.handler("coordinator"),
    s.coordinatorMemoryMb,
    s.coordinatorTimeout,
    s.coordinatorRole,
    s.coordinatorLogGroup,
    // The worker's timeout: the least the coordinator waits before it sends again a task no worker claimed.
    { ...s.environment, SPARKLESS_WORKER_TIMEOUT_MS: String(s.workerTimeoutS * 1000) },
    {
      description: `Sparkless ${s.appName}: runs a batch every ${s.batchInterval.toHumanString()} for ${COORDINATOR_LOOP_S} s of each minute, fanning large ones out`,
      // A failed invocation is not retried: the next scheduled one takes over and catches up.
      retryAttempts: 0,
      maxEventAge: Duration.seconds(SCHEDULE_PERIOD_S),
    },
  );
  const worker = fn(
    "Worker",
    layout.handler("worker"),
    s.workerMemoryMb,
    Duration.seconds(s.workerTimeoutS),
    s.workerRole,
    s.workerLogGroup,
    s.environment,
    { description: `Sparkless ${s.appName}: runs the tasks of fanned-out batches delivered from the task queue` },
  );
  return { coordinator, worker };
}

/** What the schedule passes to the coordinator, which ignores it: it names the invoker in the logs. */
export function scheduleInput(appName: string): Record<string, string> {
  return { source: "sparkless.schedule", app: appName };
}

/**
 * The schedule that keeps the coordinator running: EventBridge Scheduler, which AWS recommends for
 * invoking targets on a schedule ("Scheduled rules are a legacy feature of EventBridge",
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rules.html), `rate(1 minute)`, no flexible
 * window. Scheduler invokes Lambda asynchronously, so the function's own async settings (no retry, a
 * minute's event age) apply as before. The schedule's retries are off, its events expire after a minute
 * (Scheduler's least) and it has no dead-letter queue, on purpose: a missed invocation is harmless, the
 * next one a minute later catches up every boundary in between, while a retried one would arrive when
 * the next is due and find the lease held. A schedule that stops invoking shows as the
 * LastCompletedBatchAge alarm (missing data breaches).
 */
export function coordinatorSchedule(scope: Construct, appName: string, coordinator: lambda.IFunction, role: iam.IRole): scheduler.Schedule {
  return new scheduler.Schedule(scope, "CoordinatorSchedule", {
    description: `Keeps the Sparkless ${appName} coordinator running: one invocation a minute`,
    schedule: scheduler.ScheduleExpression.rate(Duration.seconds(SCHEDULE_PERIOD_S)),
    timeWindow: scheduler.TimeWindow.off(),
    target: new targets.LambdaInvoke(coordinator, {
      role,
      retryAttempts: 0,
      maxEventAge: Duration.seconds(SCHEDULE_PERIOD_S),
      input: scheduler.ScheduleTargetInput.fromObject(scheduleInput(appName)),
    }),
  });
}

/** The worker's event source mapping on the task queue, reporting partial batch failures. */
export function workerTasks(
  scope: Construct,
  worker: lambda.IFunction,
  taskQueue: sqs.IQueue,
  settings: { batchSize?: number; maxConcurrency?: number },
): lambda.EventSourceMapping {
  return new lambda.EventSourceMapping(scope, "WorkerTasks", {
    target: worker,
    eventSourceArn: taskQueue.queueArn,
    batchSize: settings.batchSize ?? DEFAULTS.workerBatchSize,
    reportBatchItemFailures: true,
    maxConcurrency: settings.maxConcurrency ?? DEFAULTS.workerMaxConcurrency,
  });
}
