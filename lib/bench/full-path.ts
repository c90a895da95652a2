/**
 * The full distributed path for the bench: tables and queue on the embedded
 * engines, N worker processes (lib/bench/worker-process.ts) fed from SQS as
 * the event source mapping would, and the coordinator in this process,
 * invoked in a loop as the one-minute schedule would, each invocation timed.
 * Every AWS request of the coordinator and the workers is metered; the
 * bench's own polling of the batch log uses an unmetered client.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, existsSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { AppDefinition } from "../app/app.js";
import { benchApp } from "./wordcount-bench-app.js";
import { createAwsEngine, engineConfigToEnv, type AwsEngine } from "../aws/engine.js";
import { prepareLocal, type LocalEnvironment } from "../local/runtime.js";
import { runCoordinator } from "../runtime/coordinator.js";
import type { BatchRecord } from "../storage/interfaces.js";
import { Meter, mergeCounts, type MeterCounts } from "./metering.js";

export interface Endpoints { kinesis: string; dynamodb: string; sqs: string }

export const BENCH_APP_PATH = fileURLToPath(new URL("./wordcount-bench-app.ts", import.meta.url));
const WORKER_MAIN = fileURLToPath(new URL("./worker-process.ts", import.meta.url));
const tsx = (): string => createRequire(import.meta.url).resolve("tsx");

export interface FullPathOptions {
  endpoints: Endpoints;
  /** The app's name: its own tables and queue. */
  name: string;
  stream: string;
  workers: number;
  batchInterval: string;
  defaultParallelism?: number;
}

export class FullPath {
  readonly meter = new Meter();
  private readonly abort = new AbortController();
  private coordinating: Promise<void> | undefined;
  private constructor(
    readonly app: AppDefinition, readonly env: LocalEnvironment, private readonly poller: AwsEngine,
    private readonly workers: ChildProcess[], private readonly meterFiles: string[], private readonly dir: string,
  ) {}

  static async start(o: FullPathOptions): Promise<FullPath> {
    const config = { name: o.name, batchInterval: o.batchInterval, defaultParallelism: o.defaultParallelism ?? 4 };
    const app = benchApp(config, o.stream);
    const env = await prepareLocal({ app: o.name, endpoints: o.endpoints, visibilityTimeoutS: 30, maxReceiveCount: 10 });
    const poller = createAwsEngine(env.config);
    const dir = mkdtempSync(join(tmpdir(), "sparkless-bench-w-"));
    const files = Array.from({ length: o.workers }, (_, i) => join(dir, `worker-${i}.json`));
    const childEnv = {
      ...process.env, ...engineConfigToEnv(env.config), SPARKLESS_APP_PATH: BENCH_APP_PATH,
      SPARKLESS_CONFIG: JSON.stringify(config), SPARKLESS_BENCH_STREAM: o.stream,
    };
    const workers = files.map((f) => spawn(process.execPath, ["--import", tsx(), WORKER_MAIN], {
      // stdin is a pipe the worker watches: it exits when the bench process ends, however it ends.
      env: { ...childEnv, SPARKLESS_METERING: f }, stdio: ["pipe", "pipe", "inherit"],
    }));
    // Ready when each has loaded the app and is about to poll (Lambda's init phase, not timed).
    await Promise.all(workers.map((w) => new Promise<void>((resolve, reject) => {
      let out = "";
      const onData = (d: Buffer) => { out += d.toString(); if (out.includes("ready")) { w.stdout!.off("data", onData); w.stdout!.resume(); resolve(); } };
      w.stdout!.on("data", onData);
      w.once("exit", (code) => reject(new Error(`a bench worker exited with ${code} before it was ready`)));
    })));
    const run = new FullPath(app, env, poller, workers, files, dir);
    run.meter.attachAll(env.engine.clients);
    return run;
  }

  /** Starts the schedule: coordinator invocations back to back, each looping on the batch clock for at most 55 s. */
  startCoordinator(): void {
    this.coordinating = (async () => {
      while (!this.abort.signal.aborted) {
        const started = performance.now();
        await runCoordinator(this.app, this.env.engine, { deadline: Date.now() + 55_000, signal: this.abort.signal });
        this.meter.invocation("coordinator", performance.now() - started);
      }
    })();
  }

  /** Batch records, read without metering. */
  batches(): Promise<BatchRecord[]> { return this.poller.batchLog.listBatches(); }

  /** Polls the batch log until `done` holds (or a batch fails, or the timeout). */
  async waitFor(done: (batches: BatchRecord[]) => boolean, timeoutMs: number): Promise<BatchRecord[]> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const batches = await this.batches();
      const failed = batches.find((b) => b.status === "failed");
      if (failed) throw new Error(`bench batch ${failed.time} failed: ${failed.error}`);
      if (done(batches)) return batches;
      if (Date.now() > until) throw new Error(`the bench run "${this.app.config.name}" did not finish within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Stops the coordinator and the workers; returns every process's counts, summed. */
  async stop(): Promise<MeterCounts> {
    this.abort.abort();
    await this.coordinating?.catch(() => undefined);
    await Promise.all(this.workers.map((w) => new Promise<void>((resolve) => {
      if (w.exitCode !== null) return resolve();
      w.once("exit", () => resolve());
      w.kill("SIGTERM");
      setTimeout(() => { w.kill("SIGKILL"); resolve(); }, 5000).unref();
    })));
    const parts = this.meterFiles.filter((f) => existsSync(f)).map((f) => JSON.parse(readFileSync(f, "utf8")) as MeterCounts);
    const total = mergeCounts([this.meter.snapshot(), ...parts]);
    await this.poller.close?.();
    await this.env.engine.close?.();
    rmSync(this.dir, { recursive: true, force: true });
    return total;
  }
}

/** Completed input records: the sum of inputRecords over completed batches. */
export const completedRecords = (batches: readonly BatchRecord[]): number =>
  batches.filter((b) => b.status === "completed").reduce((n, b) => n + (b.inputRecords ?? 0), 0);
