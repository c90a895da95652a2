/**
 * The worker processes of a local run, kept at their number as Lambda keeps
 * an event source mapping's functions: a worker that dies (a crash, an
 * out-of-memory kill, a `kill -9`) is replaced at once, with a log line. The
 * tasks it held are not lost: its claims expire and the coordinator sends
 * them again (lib/scheduler/fan-out.ts).
 *
 * A worker that dies before it was ready is replaced after a delay that
 * doubles with each such death in a row, and
 * once as many have died in a row as the pool has workers, it says that
 * none stays up. After `maxCrashesInARow` such
 * deaths in a row (a module that throws on load, a bad configuration) it
 * gives up and reports a WorkersFailedError, so that the run stops with the
 * reason instead of waiting forever for tasks nobody runs.
 *
 * "Ready" is the worker's own word when it has an IPC channel: it sends
 * WORKER_READY once it has loaded the app and is about to poll. A worker
 * without one counts as ready after `minUptimeMs`. The message, not a
 * clock, decides, so a machine slow to load the app (a loaded CI box) does
 * not mistake a slow start for a crash, nor a crash for a start.
 */
import type { ChildProcess } from "node:child_process";
import { InvalidArgumentError } from "../core/errors.js";
import type { SparklessLogger } from "../observability/logger.js";
import { WorkersFailedError } from "./errors.js";

/** The message a worker process sends its parent (process.send) once it is ready to take tasks. */
export const WORKER_READY = { sparkless: "worker-ready" } as const;

export interface WorkerPoolOptions {
  /** Worker processes kept running; at least 1. */
  size: number;
  /** Starts worker number `slot` (0-based), with an IPC channel if it says when it is ready (WORKER_READY). */
  spawn: (slot: number) => ChildProcess;
  logger: SparklessLogger;
  /** A worker without an IPC channel that dies sooner than this after it started counts as dying at start. @default 10000 */
  minUptimeMs?: number;
  /** Deaths at start in a row (any slot) after which the pool gives up. @default 5 */
  maxCrashesInARow?: number;
  /** First delay before replacing a worker that died at start; doubled each time in a row, at most 5 s. @default 250 */
  backoffMs?: number;
  /** Called once, when the pool gives up. */
  onGiveUp?: (error: WorkersFailedError) => void;
  /** The wall clock, for uptimes. @default Date.now */
  now?: () => number;
}

interface Slot {
  child?: ChildProcess;
  startedAt: number;
  ready: boolean;
  tellsReady: boolean;
  timer?: NodeJS.Timeout;
}

type Exit = { code: number | null; signal: NodeJS.Signals | null };

const describeExit = (e: Exit): string =>
  e.signal ? `killed by ${e.signal}` : e.code === null ? "could not be started" : `exited with code ${e.code}`;

export class WorkerPool {
  private readonly slots: Slot[];
  private readonly now: () => number;
  private readonly minUptimeMs: number;
  private readonly maxCrashes: number;
  private readonly backoffMs: number;
  private crashesInARow: number = 0;
  private readonly recentExits: Exit[] = [];
  private stopping = false;
  private gaveUp = false;
  private readonly onProcessExit = () => {
    for (const s of this.slots) s.child?.kill("SIGKILL");
  };
  /** Workers started since the pool started, replacements included. */
  started = 0;
  /** Workers that died while the pool was running. */
  deaths = 0;

  constructor(private readonly options: WorkerPoolOptions) {
    if (!Number.isInteger(options.size) || options.size < 1) {
      throw new InvalidArgumentError(`Expected the worker pool's \`size\` to be a whole number >= 1, got \`${options.size}\`.`);
    }
    this.now = options.now ?? Date.now;
    this.minUptimeMs = options.minUptimeMs ?? 10_000;
    this.maxCrashes = options.maxCrashesInARow ?? 5;
    this.backoffMs = options.backoffMs ?? 250;
    this.slots = Array.from({ length: options.size }, () => ({ startedAt: 0, ready: false, tellsReady: false }));
  }

  start(): void {
    process.on("exit", this.onProcessExit);
    for (let i = 0; i < this.slots.length; i++) this.launch(i);
  }

  /** The pids of the workers running now. */
  get pids(): number[] {
    return this.slots.flatMap((s) => (s.child?.pid !== undefined && s.child.exitCode === null && s.child.signalCode === null ? [s.child.pid] : []));
  }

  private launch(slot: number, replaces?: { pid: number | undefined }): void {
    const s = this.slots[slot]!;
    s.timer = undefined;
    if (this.stopping) return;
    const child = this.options.spawn(slot);
    s.child = child;
    s.startedAt = this.now();
    s.ready = false;
    s.tellsReady = typeof child.send === "function"; // spawned with an IPC channel
    child.on("message", (m: unknown) => {
      if ((m as { sparkless?: unknown } | null)?.sparkless === WORKER_READY.sparkless && s.child === child) s.ready = true;
    });
    // The channel must not keep this process alive (the workers are stopped explicitly).
    (child as unknown as { channel?: { unref?: () => void } }).channel?.unref?.();
    this.started++;
    let exited = false;
    const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
      if (exited) return;
      exited = true;
      this.died(slot, child, { code, signal });
    };
    child.once("exit", onExit);
    child.once("error", () => onExit(null, null));
    if (replaces) this.options.logger.info(`worker process ${child.pid ?? "?"} started in place of ${replaces.pid ?? "?"}`, { worker: slot });
    else this.options.logger.debug(`worker process ${child.pid ?? "?"} started`, { worker: slot });
  }

  private died(slot: number, child: ChildProcess, exit: Exit): void {
    const s = this.slots[slot]!;
    if (s.child === child) s.child = undefined;
    if (this.stopping) return;
    this.deaths++;
    const uptime = this.now() - s.startedAt;
    this.recentExits.push(exit);
    if (this.recentExits.length > this.maxCrashes) this.recentExits.shift();
    const atStart = s.tellsReady ? !s.ready : uptime < this.minUptimeMs;
    this.crashesInARow = atStart ? this.crashesInARow + 1 : 0;
    const log = this.options.logger;
    if (atStart && this.crashesInARow >= this.maxCrashes) {
      this.gaveUp = true;
      const error = new WorkersFailedError(
        `Worker processes keep dying as they start (${this.crashesInARow} in a row, each ${s.tellsReady ? "before it was ready" : `within ${this.minUptimeMs} ms of starting`}; the last ${describeExit(exit)}): ` +
          `no worker can run fanned-out tasks, so the run stops. Their output above says why (often the app module throws when loaded, or an engine is unreachable).`,
        [...this.recentExits],
      );
      log.error(error.message, { worker: slot, pid: child.pid });
      this.stopping = true;
      this.options.onGiveUp?.(error);
      return;
    }
    const delay = atStart ? Math.min(5_000, this.backoffMs * 2 ** (this.crashesInARow - 1)) : 0;
    log.warn(
      `worker process ${child.pid ?? "?"} ${describeExit(exit)} after ${(uptime / 1000).toFixed(1)} s; starting another in its place${delay ? ` in ${delay} ms` : ""}, as Lambda would`,
      { worker: slot },
    );
    // Every slot's worker has died at start (a streak as long as the pool, at least 2): say so once.
    if (atStart && this.crashesInARow === Math.max(2, this.slots.length)) {
      log.error(`no worker process stays up (the last ${this.crashesInARow} died as they started): fanned-out tasks wait until one does`);
    }
    if (delay === 0) this.launch(slot, { pid: child.pid });
    else s.timer = setTimeout(() => this.launch(slot, { pid: child.pid }), delay);
  }

  /** True once the pool gave up (see onGiveUp). */
  get failed(): boolean {
    return this.gaveUp;
  }

  /** Stops every worker: SIGTERM, then SIGKILL after `graceMs`. No worker is replaced from here on. */
  async stop(graceMs = 3_000): Promise<void> {
    this.stopping = true;
    for (const s of this.slots) if (s.timer) clearTimeout(s.timer);
    await Promise.all(
      this.slots.map((s) => {
        const w = s.child;
        if (!w || w.exitCode !== null || w.signalCode !== null) return undefined;
        return new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            w.kill("SIGKILL");
            resolve();
          }, graceMs);
          timer.unref();
          w.once("exit", () => {
            clearTimeout(timer);
            resolve();
          });
          w.kill("SIGTERM");
        });
      }),
    );
    process.off("exit", this.onProcessExit);
  }
}
