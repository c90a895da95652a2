/**
 * Supervision of the engines' child processes: how they are started, how
 * their output is kept for error messages, and how they die with this
 * process however it ends.
 *
 * Every child runs in its own process group, so stopping it kills whatever
 * it started too. Three layers make sure no engine outlives its parent:
 *
 *  1. `stop()`: SIGTERM to the group, SIGKILL after 3 s.
 *  2. `process.on("exit")`: SIGKILL to every group still registered (a
 *     `process.exit()` or the end of the event loop, where `stop()` was never
 *     called).
 *  3. The watchdog: a small detached node process whose stdin is a pipe from
 *     this process. The kernel closes that pipe when this process dies, for
 *     any reason, SIGKILL included (where no handler of ours runs); the
 *     watchdog then SIGKILLs the registered groups and exits. This is what
 *     stops the JVM of DynamoDB Local, a program we cannot teach to watch its
 *     parent. Children we write ourselves (kinesalite's launcher) also watch
 *     their own stdin pipe and exit when it closes.
 */
import { spawn, type ChildProcess } from "node:child_process";
import type { Socket } from "node:net";
import { optionalPackageDir, type OptionalPackage } from "../optional.js";
import { sleep } from "../../core/clock.js";

/** The folder of an engine's npm package (an optional peer dependency: a MissingPackageError names the install command). */
export function packageDir(name: OptionalPackage): string {
  return optionalPackageDir(name);
}

/** Keeps the last lines a child printed, for error messages. */
export class OutputTail {
  private lines: string[] = [];
  private partial = "";
  constructor(
    private readonly prefix: string,
    private readonly log: ((line: string) => void) | undefined,
    private readonly max = 40,
  ) {}
  push(chunk: Buffer | string): void {
    const text = this.partial + chunk.toString();
    const parts = text.split(/\r?\n/);
    this.partial = parts.pop() ?? "";
    for (const line of parts) this.add(line);
  }
  private add(line: string): void {
    if (line.trim() === "") return;
    this.lines.push(line);
    if (this.lines.length > this.max) this.lines.shift();
    this.log?.(`[${this.prefix}] ${line}`);
  }
  text(): string {
    return [...this.lines, this.partial].filter((l) => l.trim() !== "").join("\n");
  }
}

/** Process groups this process started and has not stopped yet (killed on 'exit'). */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // group already gone
  }
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const pid of liveGroups) killGroup(pid, "SIGKILL");
    liveGroups.clear();
  });
}

/**
 * The watchdog's program. Lines on stdin: "+PID" (watch this group) or "-PID" (forget it). When stdin
 * ends (its parent died, or closed the pipe) it SIGKILLs every group it watches and exits.
 */
const WATCHDOG_SCRIPT = `
const groups = new Set();
let buf = "";
const killAll = () => { for (const g of groups) { try { process.kill(-g, "SIGKILL"); } catch {} try { process.kill(g, "SIGKILL"); } catch {} } process.exit(0); };
process.stdin.on("data", (d) => {
  buf += d; let i;
  while ((i = buf.indexOf("\\n")) >= 0) {
    const line = buf.slice(0, i); buf = buf.slice(i + 1);
    const pid = Number(line.slice(1));
    if (line[0] === "+") groups.add(pid); else if (line[0] === "-") groups.delete(pid);
  }
});
process.stdin.on("end", killAll);
process.stdin.on("error", killAll);
process.on("SIGTERM", () => process.exit(0));
`;

/** The detached watchdog of one set of engines (see the module comment). */
export class Watchdog {
  readonly child: ChildProcess;
  constructor() {
    installExitHook();
    this.child = spawn(process.execPath, ["-e", WATCHDOG_SCRIPT], {
      detached: true,
      stdio: ["pipe", "ignore", "ignore"],
    });
    this.child.on("error", () => undefined);
    this.child.stdin?.on("error", () => undefined);
    // Neither the watchdog nor its pipe keeps this process alive.
    this.child.unref();
    (this.child.stdin as unknown as Socket | null)?.unref?.();
    if (this.child.pid !== undefined) liveGroups.add(this.child.pid);
  }
  watch(pid: number): void {
    this.child.stdin?.write(`+${pid}\n`);
  }
  forget(pid: number): void {
    this.child.stdin?.write(`-${pid}\n`);
  }
  async close(): Promise<void> {
    const pid = this.child.pid;
    if (pid === undefined || this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    this.child.kill("SIGTERM");
    await Promise.race([exited, sleep(2_000)]);
    killGroup(pid, "SIGKILL");
    liveGroups.delete(pid);
  }
}

/** A child process under supervision. */
export interface ManagedChild {
  readonly child: ChildProcess;
  readonly tail: OutputTail;
  /** Resolves when the child has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Set when spawning failed (e.g. ENOENT). */
  spawnError?: NodeJS.ErrnoException;
  stop(): Promise<void>;
}

export interface StartChildOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  log: ((line: string) => void) | undefined;
  watchdog: Watchdog;
  /**
   * Give the child a stdin pipe from this process. A child that exits when its stdin ends (one we
   * wrote) then dies with this process even without the watchdog. @default false
   */
  stdinPipe?: boolean;
}

/** Starts a child in its own process group, registered with the exit hook and the watchdog. */
export function startChild(name: string, command: string, args: string[], options: StartChildOptions): ManagedChild {
  installExitHook();
  const tail = new OutputTail(name, options.log);
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    detached: true, // own process group, so stop() can kill the whole group
    stdio: [options.stdinPipe ? "pipe" : "ignore", "pipe", "pipe"],
  });
  const managed: ManagedChild = {
    child,
    tail,
    exited: new Promise((resolve) => {
      child.once("exit", (code, signal) => resolve({ code, signal }));
      child.once("error", (error: NodeJS.ErrnoException) => {
        managed.spawnError = error;
        resolve({ code: null, signal: null });
      });
    }),
    async stop() {
      const pid = child.pid;
      if (pid === undefined) return;
      if (child.exitCode === null && child.signalCode === null) {
        killGroup(pid, "SIGTERM");
        const done = await Promise.race([managed.exited.then(() => true), sleep(3_000).then(() => false)]);
        if (!done) {
          killGroup(pid, "SIGKILL");
          await Promise.race([managed.exited, sleep(2_000)]);
        }
      }
      // anything else left in the group (there should be nothing)
      killGroup(pid, "SIGKILL");
      liveGroups.delete(pid);
      options.watchdog.forget(pid);
    },
  };
  child.stdout?.on("data", (d: Buffer) => tail.push(d));
  child.stderr?.on("data", (d: Buffer) => tail.push(d));
  child.stdin?.on("error", () => undefined);
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as Socket | null)?.unref?.();
  if (child.pid !== undefined) {
    liveGroups.add(child.pid);
    options.watchdog.watch(child.pid);
  }
  return managed;
}
