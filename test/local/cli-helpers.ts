// Running `sparkless` as a user does, for the tests of test/local: a child process with its output
// collected, and the processes it started (engines, watchdog, workers) tracked while it runs, so a test
// can check none is left after it ends, however it ends.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
export const bin = path.join(repoRoot, "lib/cli/bin.mjs");
export const tallyApp = fileURLToPath(new URL("./fixtures/tally-app.ts", import.meta.url));

interface Proc {
  pid: number;
  ppid: number;
  args: string;
}
export function processes(): Proc[] {
  const out = execFileSync("ps", ["-eo", "pid=,ppid=,args="], { encoding: "utf8" });
  return out
    .split("\n")
    .map((l) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), args: m[3]! }));
}

export const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export interface CliRun {
  readonly child: ChildProcess;
  readonly pid: number;
  stdout: string;
  stderr: string;
  /** Every process descended from the CLI seen so far (pid -> command line). */
  readonly descendants: Map<number, string>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first match of `re` in stderr; rejects if the run exits first or after `timeoutMs`. */
  waitForStderr(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** The descendants seen (since the start) that are still running the same command line. */
  leftRunning(): [number, string][];
}

export function startCli(args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): CliRun {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const descendants = new Map<number, string>();
  const run: CliRun = {
    child,
    pid: child.pid!,
    stdout: "",
    stderr: "",
    descendants,
    exited: new Promise((resolve) =>
      child.once("exit", (code, signal) => {
        clearInterval(poll);
        setTimeout(() => resolve({ code, signal }), 100);
      }),
    ),
    waitForStderr(re, timeoutMs = 90_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = re.exec(run.stderr);
          if (m) {
            done();
            resolve(m);
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no ${re} in stderr within ${timeoutMs} ms:\n${run.stderr}`));
        }, timeoutMs);
        const onExit = () => {
          setTimeout(() => {
            check();
            done();
            reject(new Error(`the run exited before ${re} appeared:\n${run.stderr}`));
          }, 150);
        };
        const done = () => {
          clearTimeout(timer);
          child.stderr!.off("data", check);
          child.off("exit", onExit);
        };
        child.stderr!.on("data", check);
        child.once("exit", onExit);
        check();
      });
    },
    leftRunning() {
      const now = new Map(processes().map((p) => [p.pid, p.args]));
      return [...descendants.entries()].filter(([pid, args]) => now.get(pid) === args);
    },
  };
  child.stdout!.on("data", (d: Buffer) => {
    run.stdout += d.toString();
  });
  child.stderr!.on("data", (d: Buffer) => {
    run.stderr += d.toString();
  });
  const track = () => {
    const all = processes();
    const family = new Set([run.pid, ...descendants.keys()]);
    for (let grew = true; grew;) {
      grew = false;
      for (const p of all)
        if (family.has(p.ppid) && !family.has(p.pid)) {
          family.add(p.pid);
          descendants.set(p.pid, p.args);
          grew = true;
        }
    }
  };
  const poll = setInterval(() => {
    try {
      track();
    } catch {
      /* ps raced an exit */
    }
  }, 200);
  return run;
}

/** Polls `check` every 100 ms until it returns a value other than undefined; throws `what` after `timeoutMs`. */
export async function eventually<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What the tally app wrote: the ids of each batch, and the newest state. */
export function tallyOutput(out: string): { batches: Map<number, string[]>; state?: Record<string, number>; stateTime?: number } {
  const batches = new Map<number, string[]>();
  let stateTime: number | undefined;
  if (!existsSync(out)) return { batches };
  for (const f of readdirSync(out)) {
    const b = /^batch-(\d+)\.json$/.exec(f);
    if (b) batches.set(Number(b[1]), JSON.parse(readFileSync(path.join(out, f), "utf8")) as string[]);
    const s = /^state-(\d+)\.json$/.exec(f);
    if (s && (stateTime === undefined || Number(s[1]) > stateTime)) stateTime = Number(s[1]);
  }
  const state =
    stateTime === undefined ? undefined : (JSON.parse(readFileSync(path.join(out, `state-${stateTime}.json`), "utf8")) as Record<string, number>);
  return { batches, ...(state ? { state, stateTime } : {}) };
}
