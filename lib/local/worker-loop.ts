/**
 * The body of a local worker process: a Worker configured from the
 * environment its parent set, fed as the SQS event source mapping would
 * feed it, until SIGTERM.
 */
import type { AppDefinition } from "../app/app.js";
import { runEventSourceMapping, Worker } from "../runtime/worker.js";
import type { Engine } from "../streaming/context.js";

export async function runWorkerProcess(app: AppDefinition, engine: Engine): Promise<void> {
  const debug = process.env.SPARKLESS_LOG_LEVEL === "debug";
  const worker = new Worker(app, engine, {
    claimLeaseMs: process.env.SPARKLESS_CLAIM_LEASE_MS ? Number(process.env.SPARKLESS_CLAIM_LEASE_MS) : undefined,
    log: (e) => { if (debug || e.level === "error") process.stderr.write(`[worker ${process.pid}] ${JSON.stringify(e)}\n`); },
  });
  const stop = new AbortController();
  process.on("SIGTERM", () => stop.abort());
  process.on("SIGINT", () => { /* the parent stops us */ });
  await runEventSourceMapping(engine.tasks, worker, stop.signal, {
    onError: (e: unknown) => process.stderr.write(`[worker ${process.pid}] ${(e as Error).message}\n`),
  });
  await engine.close?.();
}
