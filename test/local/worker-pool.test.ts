// The worker pool of `sparkless local` with real child processes: a worker killed with SIGKILL is
// replaced with a log line, as Lambda would replace it; workers that keep dying at start make the
// pool give up with the reason instead of leaving the run waiting for tasks nobody runs.
import { spawn } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { WorkersFailedError } from "../../lib/local/errors.js";
import { WORKER_READY, WorkerPool } from "../../lib/local/worker-pool.js";
import { createLogger } from "../../lib/observability/logger.js";

const pools: WorkerPool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.stop(500)));
});

function logger(lines: string[]) {
  return createLogger({ app: "pool-test", level: "debug", format: "text", write: (l) => lines.push(l) });
}

/** Resolves once `check` holds, polling; fails with `what` after 20 s. */
async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("WorkerPool", () => {
  it("replaces a worker killed with SIGKILL, with a log line, and keeps its number", async () => {
    const lines: string[] = [];
    const pool = new WorkerPool({
      size: 2,
      logger: logger(lines),
      minUptimeMs: 0, // any death counts as one after running: replaced at once
      spawn: () => spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: ["pipe", "ignore", "ignore"] }),
    });
    pools.push(pool);
    pool.start();
    await until("two workers", () => pool.pids.length === 2);
    const [victim, other] = pool.pids as [number, number];
    process.kill(victim, "SIGKILL");
    await until("a replacement", () => pool.pids.length === 2 && !pool.pids.includes(victim));
    expect(pool.pids).toContain(other);
    expect(pool.deaths).toBe(1);
    expect(pool.started).toBe(3);
    const died = lines.find((l) => l.includes(`worker process ${victim} killed by SIGKILL`));
    expect(died, lines.join("\n")).toMatch(
      /WARN .*\[pool-test\] worker process \d+ killed by SIGKILL after \d+\.\d s; starting another in its place, as Lambda would/,
    );
    const replacement = pool.pids.find((p) => p !== other)!;
    expect(lines.some((l) => l.includes(`worker process ${replacement} started in place of ${victim}`))).toBe(true);
  });

  it("gives up with a WorkersFailedError when every worker dies as it starts, and says when none stays up", async () => {
    const lines: string[] = [];
    let failure: WorkersFailedError | undefined;
    const pool = new WorkerPool({
      size: 1,
      logger: logger(lines),
      maxCrashesInARow: 3,
      backoffMs: 10,
      spawn: () => spawn(process.execPath, ["-e", "process.exit(3)"], { stdio: ["pipe", "ignore", "ignore"] }),
      onGiveUp: (e) => {
        failure = e;
      },
    });
    pools.push(pool);
    pool.start();
    await until("the pool to give up", () => failure !== undefined);
    expect(failure).toBeInstanceOf(WorkersFailedError);
    expect(failure!.message).toMatch(/keep dying as they start \(3 in a row, each within 10000 ms of starting; the last exited with code 3\)/);
    expect(failure!.exits.map((e) => e.code)).toEqual([3, 3, 3]);
    expect(pool.failed).toBe(true);
    expect(
      lines.some((l) => /ERROR .*no worker process stays up \(the last 2 died as they started\): fanned-out tasks wait until one does/.test(l)),
      lines.join("\n"),
    ).toBe(true);
    expect(lines.some((l) => /ERROR .*keep dying as they start/.test(l))).toBe(true);
    // and it starts no more
    const started = pool.started;
    await new Promise((r) => setTimeout(r, 200));
    expect(pool.started).toBe(started);
  });

  it("with an IPC channel, the worker's WORKER_READY message, not its uptime, tells a crash at start from a death after", async () => {
    const lines: string[] = [];
    let failure: WorkersFailedError | undefined;
    let mode: "ready-then-die" | "die" = "ready-then-die";
    const pool = new WorkerPool({
      // uptimes would say the opposite: every death is a crash at start by the clock (huge minUptimeMs)
      size: 1,
      logger: logger(lines),
      maxCrashesInARow: 3,
      backoffMs: 10,
      minUptimeMs: 3_600_000,
      spawn: () =>
        spawn(
          process.execPath,
          ["-e", mode === "die" ? "process.exit(5)" : `process.send(${JSON.stringify(WORKER_READY)}, () => setTimeout(() => process.exit(4), 20))`],
          { stdio: ["pipe", "ignore", "ignore", "ipc"] },
        ),
      onGiveUp: (e) => {
        failure = e;
      },
    });
    pools.push(pool);
    pool.start();
    // Ready, then dead, five times: each replaced at once, never a crash at start.
    await until("five deaths after ready", () => pool.deaths >= 5);
    expect(failure).toBeUndefined();
    expect(lines.filter((l) => /exited with code 4 after .*; starting another in its place, as Lambda would/.test(l)).length).toBeGreaterThanOrEqual(
      5,
    );
    expect(lines.some((l) => /starting another in its place in \d+ ms/.test(l))).toBe(false);
    // Dead before ready: crashes at start, however short or long the clock says they lived.
    mode = "die";
    await until("the pool to give up", () => failure !== undefined);
    expect(failure!.message).toMatch(/3 in a row, each before it was ready; the last exited with code 5/);
  });

  it("stop() ends every worker and replaces none", async () => {
    const lines: string[] = [];
    const pool = new WorkerPool({
      size: 2,
      logger: logger(lines),
      spawn: () => spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: ["pipe", "ignore", "ignore"] }),
    });
    pool.start();
    await until("two workers", () => pool.pids.length === 2);
    const pids = pool.pids;
    await pool.stop(2_000);
    for (const pid of pids) expect(alive(pid)).toBe(false);
    expect(pool.pids).toEqual([]);
    expect(pool.deaths).toBe(0);
    expect(lines.filter((l) => /WARN/.test(l))).toEqual([]);
  });

  it("refuses a size that is not a whole number >= 1, naming the value", () => {
    expect(
      () =>
        new WorkerPool({
          size: 0,
          logger: logger([]),
          spawn: () => {
            throw new Error("not called");
          },
        }),
    ).toThrow(/whole number >= 1, got `0`/);
  });
});
