/**
 * The coordinator's loop: the batch clock. It takes the app's lease, brings
 * the job generator in line with the log, then runs a batch at every
 * interval boundary on the injected clock until its deadline or until it is
 * stopped, and hands over (the log complete, the state checkpointed) before
 * it returns. A coordinator that finds boundaries behind it runs every
 * missed batch in order, back to back; none is skipped.
 *
 * The same loop runs in a Lambda invocation (with a deadline before its
 * timeout), in `sparkless local`, and inside `StreamingContext.start()`.
 */
import type { Clock } from "../core/clock.js";
import { TaskFailedError } from "../core/errors.js";
import { LeadershipLostError } from "../checkpoint/checkpointer.js";
import type { LeaseStore } from "../storage/interfaces.js";
import type { JobGenerator } from "./job-generator.js";

export interface CoordinatorLoopOptions {
  /** Identifies this coordinator in the lease. */
  owner: string;
  /** How long the lease lasts past each renewal. @default 3 intervals, at least 10 s */
  leaseMs?: number;
  /** No batch after this time starts (epoch ms on the clock). @default none */
  deadline?: number;
  /** Stops the loop between batches; it hands over, then returns. */
  signal?: AbortSignal;
  /** Interrupts a running batch (a fan-out wait): the loop returns at once, without handing over. */
  abort?: AbortSignal;
}

export interface CoordinatorLoopResult {
  /** False when another coordinator holds the lease, or took the app over: this one ran nothing more. */
  readonly leader: boolean;
  readonly batches: number;
  readonly lastBatchTime?: number;
  /** The failed batch that stopped the app, if one did. */
  readonly failed?: TaskFailedError;
  /** Another coordinator took the app over while this one ran (it wrote a record or checkpoint first). */
  readonly lost?: LeadershipLostError;
  /** The newest batch known completed when the loop returned. */
  readonly lastCompletedTime?: number;
}

/** Read-ahead rounds between boundaries: every 500 ms, the last one 150 ms before the boundary. */
const READ_AHEAD_EVERY_MS = 500;
const READ_AHEAD_LEAD_MS = 150;

/**
 * The first read-ahead round at or after `after` before the boundary at `boundary`, if any: the rounds
 * are counted back from the boundary, so the last one falls just before it and the boundary's read has
 * only the records of its last 150 ms to fetch.
 */
export function nextReadAhead(after: number, boundary: number): number | undefined {
  const last = boundary - READ_AHEAD_LEAD_MS;
  if (last < after) return undefined;
  return last - Math.floor((last - after) / READ_AHEAD_EVERY_MS) * READ_AHEAD_EVERY_MS;
}

export async function runCoordinatorLoop(
  generator: JobGenerator,
  clock: Clock,
  lease: LeaseStore | undefined,
  options: CoordinatorLoopOptions,
): Promise<CoordinatorLoopResult> {
  const interval = generator.graph.batchDuration.milliseconds;
  const leaseMs = options.leaseMs ?? Math.max(10_000, 3 * interval);
  const { signal, abort } = options;
  if (lease && !(await lease.acquire(options.owner, clock.now() + leaseMs, clock.now()))) return { leader: false, batches: 0 };
  let batches = 0;
  let renewAt = clock.now() + leaseMs / 3;
  const done = (extra: Partial<CoordinatorLoopResult> = {}): CoordinatorLoopResult => ({
    leader: true,
    batches,
    ...(batches ? { lastBatchTime: generator.nextTime - interval } : {}),
    ...(generator.lastCompletedTime !== undefined ? { lastCompletedTime: generator.lastCompletedTime } : {}),
    ...extra,
  });
  try {
    await generator.resume(abort);
    if (generator.failed) return done({ failed: generator.failureError()! });
    while (!signal?.aborted) {
      const t = generator.nextTime;
      if (options.deadline !== undefined && t > options.deadline) break;
      try {
        // Inputs that read ahead (Kinesis) do it while the loop waits for the boundary.
        if (generator.readsAhead) {
          // Rounds the clock has passed (a slow round, a manual clock's jump) are skipped, not caught up.
          for (let at = nextReadAhead(clock.now(), t); at !== undefined; at = nextReadAhead(Math.max(at + 1, clock.now()), t)) {
            await clock.waitUntil(at, signal);
            await generator.readAhead();
          }
        }
        await clock.waitUntil(t, signal);
      } catch (e) {
        if (signal?.aborted) break;
        throw e;
      }
      if (lease && clock.now() >= renewAt) {
        if (!(await lease.acquire(options.owner, clock.now() + leaseMs, clock.now()))) return { leader: false, batches };
        renewAt = clock.now() + leaseMs / 3;
      }
      await generator.runBatch(t, abort);
      batches++;
    }
    await generator.handOver();
    return done();
  } catch (e) {
    if (e instanceof LeadershipLostError) return { leader: false, batches, lost: e };
    if (e instanceof TaskFailedError) return done({ failed: e });
    if (abort?.aborted) return done();
    throw e;
  } finally {
    await lease?.release(options.owner).catch(() => undefined);
  }
}
