/**
 * A bench worker process: the local worker loop (pollTasks: poll the task
 * queue, hand each delivery of ≤ 10 messages to the worker handler as
 * Lambda's SQS event source mapping would, delete the ones done), with the
 * request meter on its clients and each handler call timed as one Lambda
 * invocation. Prints "ready" once it polls; writes its counts to
 * SPARKLESS_METERING (JSON) every half second and on exit.
 */
import "../local/quiet.js";
import { loadApp } from "../app/app.js";
import { createAwsEngine, createClients, engineConfigFromEnv } from "../aws/engine.js";
import { pollTasks, Worker } from "../runtime/worker.js";
import { Meter } from "./metering.js";

const appPath = process.env.SPARKLESS_APP_PATH;
const meterPath = process.env.SPARKLESS_METERING;
if (!appPath || !meterPath) throw new Error("SPARKLESS_APP_PATH and SPARKLESS_METERING must be set: this process is started by lib/bench.");
const app = await loadApp(appPath);
const config = engineConfigFromEnv();
const clients = createClients(config);
const meter = new Meter();
meter.attachAll(clients);
const engine = createAwsEngine(config, clients);
const worker = new Worker(app, engine, {
  retryDelayMs: 200,
  log: (e) => { if (e.level === "error") process.stderr.write(`[bench worker ${process.pid}] ${JSON.stringify(e)}\n`); },
});
const stop = new AbortController();
process.on("SIGTERM", () => stop.abort());
process.on("SIGINT", () => undefined);
// The bench holds our stdin: when it ends (the bench exited or died), so do we.
process.stdin.on("end", () => process.exit(0));
process.stdin.on("error", () => process.exit(0));
process.stdin.resume();
const flush = setInterval(() => meter.writeTo(meterPath), 500);
process.stdout.write("ready\n");

// Each handler call is one Lambda invocation, timed.
const timed = {
  async handle(event: Parameters<Worker["handle"]>[0]) {
    const started = performance.now();
    try { return await worker.handle(event); } finally { meter.invocation("worker", performance.now() - started); }
  },
};
await pollTasks(engine.queue, timed, stop.signal, {
  onError: (e) => process.stderr.write(`[bench worker ${process.pid}] ${(e as Error).message}\n`),
});
clearInterval(flush);
meter.writeTo(meterPath);
await engine.close?.();
process.exit(0);
