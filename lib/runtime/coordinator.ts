/**
 * The coordinator: Spark's JobGenerator, run by a scheduled Lambda (or the
 * local runtime). One invocation takes the app's lease, then loops on the
 * batch clock, generating a batch at every interval boundary until shortly
 * before its deadline; the next scheduled invocation takes over. AWS
 * schedules fire at most once a minute, so this loop is what makes batch
 * intervals from 1 second up work.
 *
 * A coordinator that finds batches behind it (it was down, or the previous
 * invocation ended early) generates every missed boundary in order; a batch
 * with no new records is cheap. Batches are never skipped.
 */
import { SystemClock, type Clock } from "../core/clock.js";
import { Time } from "../core/duration.js";
import type { AppDefinition } from "../app/app.js";
import type { BatchRecord } from "../storage/interfaces.js";
import { StreamingContext, checkUpgrade, type Engine } from "../streaming/context.js";

export interface CoordinatorOptions {
  /** Stop generating batches after this wall-clock time (epoch ms). */
  deadline: number;
  clock?: Clock;
  /** Identifies this coordinator in the lease. @default a random id */
  owner?: string;
  /** How long the lease lasts past each renewal. @default 3 × the batch interval, at least 10 s */
  leaseMs?: number;
  /** Stops the loop early. */
  signal?: AbortSignal;
  /** A running batch with no progress for this long gets its missing tasks resent. @default 60000 */
  stallMs?: number;
  print?: (line: string) => void;
  onBatchGenerated?: (record: BatchRecord) => void;
}

export interface CoordinatorResult {
  /** False when another coordinator holds the lease; this one did nothing. */
  readonly leader: boolean;
  readonly generated: number;
  readonly lastBatchTime?: number;
}

export async function runCoordinator(app: AppDefinition, engine: Engine, options: CoordinatorOptions): Promise<CoordinatorResult> {
  const clock = options.clock ?? new SystemClock();
  const interval = app.config.batchInterval.milliseconds;
  const owner = options.owner ?? `coordinator-${Math.random().toString(36).slice(2, 10)}`;
  const leaseMs = options.leaseMs ?? Math.max(10_000, 3 * interval);
  const lease = engine.lease;
  if (lease && !(await lease.acquire(owner, clock.now() + leaseMs, clock.now()))) return { leader: false, generated: 0 };
  try {
    const latest = await engine.batchLog.latestBatch();
    let zero = latest?.zeroTime ?? Math.floor(clock.now() / interval) * interval;
    // A new app whose first boundary lies past this invocation's deadline (an interval of a schedule period or
    // more: the handler then generates only what is due) starts one interval earlier, so its first batch is
    // generated now; otherwise every invocation would find the first boundary still ahead.
    if (!latest && zero + interval > options.deadline) zero -= interval;
    const ssc = new StreamingContext({
      batchInterval: app.config.batchInterval, clock, engine, appName: app.config.name,
      defaultParallelism: app.config.defaultParallelism, print: options.print,
    });
    app.build(ssc);
    if (latest) checkUpgrade(latest, ssc.graph.fingerprint());
    const scheduler = ssc.prepare(zero);
    if (options.onBatchGenerated) scheduler.addListener({ onBatchGenerated: options.onBatchGenerated });
    // A batch generated but never started (the previous coordinator died in between) starts now,
    // and one that stopped making progress gets its missing tasks again.
    await scheduler.startNext();
    await scheduler.recoverStalled(options.stallMs ?? 60_000);
    let t = (latest?.time ?? zero) + interval;
    let generated = 0;
    while (t <= options.deadline && !options.signal?.aborted) {
      try {
        await clock.waitUntil(t, options.signal);
      } catch {
        break;
      }
      if (lease && !(await lease.acquire(owner, clock.now() + leaseMs, clock.now()))) return { leader: false, generated, lastBatchTime: t - interval };
      await scheduler.generateBatch(new Time(t));
      generated++;
      await scheduler.recoverStalled(options.stallMs ?? 60_000);
      t += interval;
    }
    return { leader: true, generated, lastBatchTime: t - interval };
  } finally {
    await lease?.release(owner);
  }
}
