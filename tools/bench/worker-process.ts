/**
 * A bench worker process: the worker Lambda as `sparkless local` runs it
 * (lib/runtime/worker.ts's Worker fed by runEventSourceMapping, deliveries
 * of up to 10 task messages), with the request meter on its clients and each
 * handler call timed as one Lambda invocation (wall time and this process's
 * CPU time). The bench asks it for its counts (`counts`).
 */
import "../../lib/local/quiet.js";
import { loadApp } from "../../lib/app/app.js";
import { createAwsEngine, createClients, engineConfigFromEnv } from "../../lib/aws/engine.js";
import { runEventSourceMapping, Worker } from "../../lib/runtime/worker.js";
import { serveBench } from "./children.js";
import { Meter } from "../../lib/observability/metering.js";

const appPath = process.env.SPARKLESS_APP_PATH;
if (!appPath) throw new Error("SPARKLESS_APP_PATH is not set: this process is started by the bench (tools/bench/cluster.ts).");
const app = await loadApp(appPath);
const config = engineConfigFromEnv();
const clients = createClients(config);
const meter = new Meter();
meter.attachAll(clients);
const engine = createAwsEngine(config, clients);
const worker = new Worker(app, engine, {
  log: (e) => {
    if (e.level === "error") process.stderr.write(`[bench worker ${process.pid}] ${JSON.stringify(e)}\n`);
  },
});
const stop = new AbortController();
// Each handler call is one Lambda invocation, timed.
const timed = {
  async handle(event: Parameters<Worker["handle"]>[0]) {
    const wall = performance.now();
    const cpu = process.cpuUsage();
    try {
      return await worker.handle(event);
    } finally {
      const used = process.cpuUsage(cpu);
      meter.invocation("worker", performance.now() - wall, (used.user + used.system) / 1000);
    }
  },
};
const polling = runEventSourceMapping(engine.tasks, timed, stop.signal, {
  onError: (e: unknown) => process.stderr.write(`[bench worker ${process.pid}] ${(e as Error).message}\n`),
});
serveBench({ counts: () => meter.snapshot() }, { pid: process.pid }, async () => {
  stop.abort();
  await polling.catch(() => undefined);
  await engine.close?.();
});
