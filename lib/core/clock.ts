/**
 * The injected clock. Scheduling code never reads `Date.now()` directly: it
 * asks a `Clock`, so tests drive batches with a `ManualClock` exactly as
 * Spark's own suites do, and the real runtime uses `SystemClock`.
 */
export interface Clock {
  now(): number;
  /** Resolves once `now() >= time`, or rejects with the signal's reason when aborted. */
  waitUntil(time: number, signal?: AbortSignal): Promise<void>;
}

/** Waits `ms` of real time (at once for none): for back-off between retries and polls, not for batch scheduling. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => (ms > 0 ? setTimeout(resolve, ms) : resolve()));

export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }
  waitUntil(time: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const wait = Math.max(0, time - Date.now());
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, wait);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}

/** A clock that only moves when told to. `advance` wakes every waiter whose time has come. */
export class ManualClock implements Clock {
  private time: number;
  private waiters: { time: number; resolve: () => void }[] = [];
  constructor(start = 0) {
    this.time = start;
  }
  now(): number {
    return this.time;
  }
  setTime(time: number): void {
    this.time = time;
    const due = this.waiters.filter((w) => w.time <= time);
    this.waiters = this.waiters.filter((w) => w.time > time);
    for (const w of due) w.resolve();
  }
  advance(ms: number): void {
    this.setTime(this.time + ms);
  }
  waitUntil(time: number, signal?: AbortSignal): Promise<void> {
    if (time <= this.time) return Promise.resolve();
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const waiter = {
        time,
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }
}
