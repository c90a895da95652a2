/**
 * A local worker process: polls the task queue and hands each delivery to
 * the worker handler as Lambda's SQS event source mapping would (see
 * pollTasks). Started by `sparkless local`; stops on SIGTERM, or when the
 * process that started it dies (worker-loop.ts).
 */
import "./quiet.js";
import { loadApp } from "../app/app.js";
import { createAwsEngine, engineConfigFromEnv } from "../aws/engine.js";
import { LocalRunError } from "./errors.js";
import { runWorkerProcess } from "./worker-loop.js";

const appPath = process.env.SPARKLESS_APP_PATH;
if (!appPath)
  throw new LocalRunError("SPARKLESS_APP_PATH is not set: this process is started by `sparkless local`, which sets it to the app module's path.");
await runWorkerProcess(await loadApp(appPath), createAwsEngine(engineConfigFromEnv(), undefined, { meter: false }));
process.exit(0);
