/**
 * One app deployed on the embedded engines as it runs on AWS, for the
 * distributed scenarios: its tables, queues and bucket (lib/local/runtime.ts
 * prepareLocal), its input stream, N worker processes fed from SQS as the
 * event source mapping feeds them (worker-process.ts), and the coordinator
 * in this process, invoked in a loop as the one-minute schedule invokes it
 * (lib/runtime/coordinator.ts runCoordinator, with the handler's deadline).
 *
 * Everything the coordinator and the workers send is metered; every
 * completed batch and checkpoint is recorded; each invocation is timed (wall
 * and this process's CPU), and its metrics and log line are written as the
 * handler writes them (log-bytes.ts). The bench never reads the batch log
 * itself: what it knows of batches comes from the coordinator's listeners.
 *
 * A run on a `SteppedClock` moves batch by batch when the bench says
 * (`step`), so one batch's requests can be counted alone.
 */
import { ListShardsCommand } from "@aws-sdk/client-kinesis";
import type { AppDefinition } from "../../lib/app/app.js";
import { fileURLToPath } from "node:url";
import { createAwsEngine, createClients, engineConfigToEnv, type AwsEngine } from "../../lib/aws/engine.js";
import type { CheckpointStats } from "../../lib/checkpoint/checkpointer.js";
import { ManualClock, SystemClock, type Clock } from "../../lib/core/clock.js";
import { IllegalStateError } from "../../lib/core/errors.js";
import { ensureStream, prepareLocal, type LocalEnvironment } from "../../lib/local/runtime.js";
import { runCoordinator, type CoordinatorResult } from "../../lib/runtime/coordinator.js";
import { SCHEDULE_PERIOD_MS } from "../../lib/runtime/handlers.js";
import type { BatchRecord } from "../../lib/storage/interfaces.js";
import { BENCH_APP_VARIABLE, benchApp, type BenchAppSpec } from "./bench-app.js";
import { startChild, type Child } from "./children.js";
import { handlerLineBytes, MetricsLog } from "./log-bytes.js";
import { Meter, mergeCounts, type MeterCounts } from "../../lib/observability/metering.js";
import { parseDuration } from "../../lib/core/duration.js";

export interface Endpoints {
  kinesis: string;
  dynamodb: string;
  sqs: string;
  s3: string;
}

const BENCH_APP_PATH = fileURLToPath(new URL("./bench-app.ts", import.meta.url));
/** The coordinator loops 55 s of every minute (cdk/defaults.ts COORDINATOR_LOOP_S). */
export const COORDINATOR_LOOP_MS = 55_000;

/** A manual clock that tells the bench when the coordinator waits for the next boundary. */
export class SteppedClock extends ManualClock {
  private waiting: (() => void) | undefined;
  private idle = Promise.resolve();
  override waitUntil(time: number, signal?: AbortSignal): Promise<void> {
    if (time > this.now()) {
      this.waiting?.();
      this.waiting = undefined;
    }
    return super.waitUntil(time, signal);
  }
  /** Resolves when the coordinator next waits for a boundary still ahead. */
  private nextIdle(): Promise<void> {
    this.idle = new Promise<void>((r) => {
      this.waiting = r;
    });
    return this.idle;
  }
  /** Moves to `time` and resolves once the coordinator has run everything due and waits again. */
  async stepTo(time: number): Promise<void> {
    const idle = this.nextIdle();
    this.setTime(time);
    await idle;
  }
}

export interface DeployOptions {
  endpoints: Endpoints;
  spec: BenchAppSpec;
  shards: number;
  workers: number;
  /** The batch clock. @default the system clock */
  clock?: Clock;
}

export interface InvocationRecord {
  wallMs: number;
  cpuMs: number;
  batches: number;
  result: CoordinatorResult;
}

export class Deployment {
  /** What the coordinator (this process) sends. */
  readonly meter = new Meter();
  readonly batches: BatchRecord[] = [];
  readonly checkpoints: CheckpointStats[] = [];
  readonly invocations: InvocationRecord[] = [];
  readonly metrics: MetricsLog;
  readonly app: AppDefinition;
  /** Bytes of the handler's own log lines, one per invocation. */
  handlerLogBytes = 0;
  private readonly abort = new AbortController();
  /** Interrupts a running batch (a fan-out wait) when the schedule does not stop between batches in time. */
  private readonly interrupt = new AbortController();
  private schedule: Promise<void> | undefined;
  private waiters: { done: (b: BatchRecord) => boolean; resolve: () => void }[] = [];

  private constructor(
    readonly spec: BenchAppSpec,
    readonly env: LocalEnvironment,
    readonly engine: AwsEngine,
    private readonly workers: Child<{ pid: number }>[],
    readonly clock: Clock,
    readonly shardIds: string[],
  ) {
    const interval = spec.config.batchInterval;
    this.metrics = new MetricsLog(spec.config.name, typeof interval === "string" ? parseDuration(interval).milliseconds : interval.milliseconds);
    this.app = benchApp(spec);
  }

  get intervalMs(): number {
    return this.app.config.batchInterval.milliseconds;
  }

  static async start(o: DeployOptions): Promise<Deployment> {
    const name = o.spec.config.name;
    const env = await prepareLocal({
      app: name,
      endpoints: o.endpoints,
      checkpointStore: o.spec.config.checkpointStore,
      visibilityTimeoutS: 30,
      maxReceiveCount: 10,
    });
    await ensureStream(env.engine.clients.kinesis, o.spec.stream, o.shards);
    const shards = await env.engine.clients.kinesis.send(new ListShardsCommand({ StreamName: o.spec.stream }));
    const clients = createClients(env.config);
    const engine = createAwsEngine(env.config, clients);
    const childEnv = { ...engineConfigToEnv(env.config), SPARKLESS_APP_PATH: BENCH_APP_PATH, [BENCH_APP_VARIABLE]: JSON.stringify(o.spec) };
    // Started together; ready once each has loaded the app (Lambda's init phase, not timed).
    const workers = await Promise.all(
      Array.from({ length: o.workers }, () => startChild<{ pid: number }>("./worker-process.ts", childEnv, { name: "worker" })),
    );
    const d = new Deployment(o.spec, env, engine, workers, o.clock ?? new SystemClock(), (shards.Shards ?? []).map((s) => s.ShardId!).sort());
    d.meter.attachAll(clients);
    return d;
  }

  /** One coordinator invocation with the handler's deadline; timed, its metrics flushed and its line logged. */
  async invoke(deadline?: number, signal?: AbortSignal, abort?: AbortSignal): Promise<CoordinatorResult> {
    const interval = this.intervalMs;
    const now = this.clock.now();
    // As lib/runtime/handlers.ts: a whole-minute interval runs what is due and returns; a shorter one loops.
    const until = deadline ?? (interval >= SCHEDULE_PERIOD_MS ? now : now + COORDINATOR_LOOP_MS);
    const wall = performance.now();
    const cpu = process.cpuUsage();
    const before = this.batches.length;
    const result = await runCoordinator(this.app, this.engine, {
      deadline: until,
      clock: this.clock,
      signal,
      abort,
      print: () => undefined,
      onBatchCompleted: (r) => this.completed(r),
      onCheckpoint: (s) => {
        this.checkpoints.push(s);
      },
    });
    this.metrics.flush();
    this.handlerLogBytes += handlerLineBytes(this.spec.config.name, { ...result });
    const used = process.cpuUsage(cpu);
    const record = { wallMs: performance.now() - wall, cpuMs: (used.user + used.system) / 1000, batches: this.batches.length - before, result };
    this.invocations.push(record);
    this.meter.invocation("coordinator", record.wallMs, record.cpuMs);
    if (result.failed) throw new IllegalStateError(`A bench batch failed: ${result.failed.message}`);
    return result;
  }

  private completed(r: BatchRecord): void {
    this.batches.push(r);
    this.metrics.add(r);
    this.waiters = this.waiters.filter((w) => {
      if (!w.done(r)) return true;
      w.resolve();
      return false;
    });
  }

  /** Starts the schedule: invocations back to back, each looping on the batch clock, until `stopSchedule`. */
  startSchedule(): void {
    this.schedule = (async () => {
      while (!this.abort.signal.aborted) {
        const r = await this.invoke(undefined, this.abort.signal, this.interrupt.signal);
        if (!r.leader) await new Promise((res) => setTimeout(res, 200));
      }
    })();
    this.schedule.catch(() => undefined);
  }

  /**
   * Stops the schedule between batches (the coordinator hands over, as at the end of an invocation); a
   * batch still running after `graceMs` is interrupted.
   */
  async stopSchedule(graceMs = 30_000): Promise<void> {
    this.abort.abort();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((r) => {
      timer = setTimeout(() => r("late"), graceMs);
    });
    if ((await Promise.race([this.schedule, late])) === "late") {
      this.interrupt.abort();
      await this.schedule;
    }
    clearTimeout(timer);
  }

  /** Resolves when a completed batch satisfies `done` (or rejects after `timeoutMs`, or when the schedule fails). */
  waitForBatch(done: (b: BatchRecord) => boolean, timeoutMs: number): Promise<void> {
    if (this.batches.some(done)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new IllegalStateError(`No batch of "${this.spec.config.name}" completed as expected within ${timeoutMs} ms.`)),
        timeoutMs,
      );
      this.waiters.push({
        done,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
      this.schedule?.catch((e: unknown) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  /** Every process's counts: the coordinator's and each worker's. */
  async counts(): Promise<MeterCounts> {
    const parts = await Promise.all(this.workers.map((w) => w.call<MeterCounts>("counts")));
    return mergeCounts([this.meter.snapshot(), ...parts]);
  }

  /** Stops the schedule and the workers, and closes the clients. */
  async stop(): Promise<void> {
    if (this.schedule) await this.stopSchedule().catch(() => undefined);
    await Promise.all(this.workers.map((w) => w.stop()));
    await this.engine.close?.();
    await this.env.engine.close?.();
  }
}
