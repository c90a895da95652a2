/**
 * The body of a local worker process: a Worker configured from the
 * environment its parent set, fed as the SQS event source mapping would
 * feed it, until SIGTERM, or until its parent dies.
 *
 * With SPARKLESS_EXIT_WITH_PARENT=1 (set by `sparkless local`) stdin is a
 * pipe from the parent. The kernel closes it when the parent dies, however
 * it dies (SIGKILL included, where the parent runs no code), and the worker
 * then stops, so no worker outlives its run. With an IPC channel (the
 * worker pool's), it says when it is ready, and its closing is the same
 * signal.
 */
import type { AppDefinition } from "../app/app.js";
import { runEventSourceMapping, Worker } from "../runtime/worker.js";
import type { Engine } from "../streaming/context.js";
import { WORKER_READY } from "./worker-pool.js";

/** How long a worker whose parent died may take to finish a delivery before it exits anyway. */
const ORPHAN_GRACE_MS = 3_000;

export async function runWorkerProcess(app: AppDefinition, engine: Engine): Promise<void> {
  const debug = process.env.SPARKLESS_LOG_LEVEL === "debug";
  const worker = new Worker(app, engine, {
    claimLeaseMs: process.env.SPARKLESS_CLAIM_LEASE_MS ? Number(process.env.SPARKLESS_CLAIM_LEASE_MS) : undefined,
    log: (e) => {
      if (debug || e.level === "error") process.stderr.write(`[worker ${process.pid}] ${JSON.stringify(e)}\n`);
    },
  });
  const stop = new AbortController();
  process.on("SIGTERM", () => stop.abort());
  process.on("SIGINT", () => {
    /* the parent stops us */
  });
  if (process.env.SPARKLESS_EXIT_WITH_PARENT === "1") exitWithParent(stop);
  // The app is loaded and the worker built: from here a death is no longer a failure to start.
  process.send?.(WORKER_READY);
  await runEventSourceMapping(engine.tasks, worker, stop.signal, {
    onError: (e: unknown) => {
      if (!stop.signal.aborted) process.stderr.write(`[worker ${process.pid}] ${(e as Error).message}\n`);
    },
  });
  await engine.close?.();
}

/** Stops the worker when stdin (a pipe from the parent) ends; exits after a grace period whatever it is doing. */
function exitWithParent(stop: AbortController): void {
  const orphaned = () => {
    if (stop.signal.aborted) return;
    stop.abort();
    setTimeout(() => process.exit(0), ORPHAN_GRACE_MS).unref();
  };
  process.stdin.on("end", orphaned);
  process.stdin.on("close", orphaned);
  process.stdin.on("error", orphaned);
  process.stdin.resume();
  process.on("disconnect", orphaned);
  (process.channel as { unref?: () => void } | undefined)?.unref?.();
}
