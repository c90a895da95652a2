/**
 * The body of a local worker process: a Worker configured from the
 * environment its parent set, fed by pollTasks until SIGTERM.
 */
import type { AppDefinition } from "../app/app.js";
import { pollTasks, Worker } from "../runtime/worker.js";
import type { Engine } from "../streaming/context.js";

export async function runWorkerProcess(app: AppDefinition, engine: Engine): Promise<void> {
  const debug = process.env.SPARKLESS_LOG_LEVEL === "debug";
  const worker = new Worker(app, engine, {
    retryDelayMs: 200,
    taskLeaseMs: process.env.SPARKLESS_TASK_LEASE_MS ? Number(process.env.SPARKLESS_TASK_LEASE_MS) : undefined,
    log: (e) => { if (debug || e.level === "error") process.stderr.write(`[worker ${process.pid}] ${JSON.stringify(e)}\n`); },
  });
  const stop = new AbortController();
  process.on("SIGTERM", () => stop.abort());
  process.on("SIGINT", () => { /* the parent stops us */ });
  await pollTasks(engine.queue, worker, stop.signal, {
    onError: (e) => process.stderr.write(`[worker ${process.pid}] ${(e as Error).message}\n`),
  });
  await engine.close?.();
}
