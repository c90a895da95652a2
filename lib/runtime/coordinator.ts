/**
 * The coordinator's invocation: builds the app's graph (once per process),
 * then runs the coordinator loop (lib/scheduler/coordinator-loop.ts) until
 * its deadline. A scheduled Lambda (or the local runtime) calls it; each
 * invocation takes the app's lease, runs the batches that are due, hands
 * over and returns.
 *
 * The graph and the job generator are kept between invocations in the same
 * process (a warm Lambda environment), so the state held in memory carries
 * over: the generator checks that it wrote the latest batch record, and
 * forgets its memory otherwise (another coordinator ran the app meanwhile).
 */
import { randomUUID } from "node:crypto";
import { SystemClock, type Clock } from "../core/clock.js";
import type { AppDefinition } from "../app/app.js";
import type { CheckpointStats } from "../checkpoint/checkpointer.js";
import { runCoordinatorLoop, type CoordinatorLoopResult } from "../scheduler/coordinator-loop.js";
import type { FanOutOptions } from "../scheduler/fan-out.js";
import type { JobGenerator } from "../scheduler/job-generator.js";
import type { BatchRecord } from "../storage/interfaces.js";
import { StreamingContext, checkUpgrade, type Engine } from "../streaming/context.js";

export interface CoordinatorOptions {
  /** No batch after this wall-clock time (epoch ms) starts. */
  deadline: number;
  clock?: Clock;
  /** Identifies this invocation in the lease. @default a random id */
  owner?: string;
  /** How long the lease lasts past each renewal. @default 3 × the batch interval, at least 10 s */
  leaseMs?: number;
  /** Stops the loop between batches (it hands over first). */
  signal?: AbortSignal;
  /** Interrupts a running batch. */
  abort?: AbortSignal;
  print?: (line: string) => void;
  onBatchCompleted?: (record: BatchRecord) => void;
  onCheckpoint?: (stats: CheckpointStats) => void;
  /** Claims and resends of fanned-out stages (the worker function's timeout bounds `resendUnclaimedMs`). */
  fanOut?: FanOutOptions;
}

export type CoordinatorResult = CoordinatorLoopResult;

/** One generator per engine in this process: its memory is the app's state while this process leads. */
const warm = new WeakMap<Engine, { generator: JobGenerator; listeners: Pick<CoordinatorOptions, "onBatchCompleted" | "onCheckpoint"> }>();

export async function runCoordinator(app: AppDefinition, engine: Engine, options: CoordinatorOptions): Promise<CoordinatorResult> {
  const clock = options.clock ?? new SystemClock();
  let w = warm.get(engine);
  if (!w) {
    const interval = app.config.batchInterval.milliseconds;
    const ssc = new StreamingContext({
      batchInterval: app.config.batchInterval,
      clock,
      engine,
      appName: app.config.name,
      defaultParallelism: app.config.defaultParallelism,
      maxTaskAttempts: app.config.maxTaskAttempts,
      print: options.print,
      execution: app.config.execution,
      stateBackend: app.config.stateBackend,
      fanOut: options.fanOut,
    });
    app.build(ssc);
    let info = await engine.batchLog.getApp();
    if (info) {
      checkUpgrade(info, ssc.graph.fingerprint(), interval);
    } else {
      // A new app's first batch is the next boundary; when that lies past this invocation's deadline (an
      // interval of a schedule period or more), the boundary just passed, so the first batch runs now.
      let zeroTime = Math.floor(clock.now() / interval) * interval;
      if (zeroTime + interval > options.deadline) zeroTime -= interval;
      info = await engine.batchLog.createApp({ zeroTime, batchIntervalMs: interval, fingerprint: ssc.graph.fingerprint(), createdAt: clock.now() });
    }
    ssc.prepare(info.zeroTime);
    const listeners: Pick<CoordinatorOptions, "onBatchCompleted" | "onCheckpoint"> = {};
    const generator = ssc.newGenerator(`c-${randomUUID().slice(0, 8)}`);
    generator.addListener({
      onBatchCompleted: (r) => listeners.onBatchCompleted?.(r),
      onCheckpoint: (s) => listeners.onCheckpoint?.(s),
    });
    w = { generator, listeners };
    warm.set(engine, w);
  }
  w.listeners.onBatchCompleted = options.onBatchCompleted;
  w.listeners.onCheckpoint = options.onCheckpoint;
  return runCoordinatorLoop(w.generator, clock, engine.lease, {
    owner: options.owner ?? `coordinator-${randomUUID().slice(0, 8)}`,
    leaseMs: options.leaseMs,
    deadline: options.deadline,
    signal: options.signal,
    abort: options.abort,
  });
}
