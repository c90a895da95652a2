/**
 * The data folder of a set of embedded engines (`sparkless local --data-dir`):
 *
 *   DIR/kinesis/    kinesalite's LevelDB store
 *   DIR/dynamodb/   DynamoDB Local's SQLite file (shared-local-instance.db)
 *   DIR/s3/         fauxqs' buckets and objects, one file each
 *   DIR/engines.json  who is using the folder: the process and its engines' pids
 *
 * Two sets of engines on one store would corrupt it, so the folder is
 * claimed: a live owner makes the claim fail; engines of an owner that died
 * (they are being killed by its watchdog) are waited for, briefly. A pid
 * only counts if the process running under it still is the one recorded
 * (its command line names what was recorded), so a reused pid after a
 * reboot does not lock the folder forever.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { DataDirInUseError } from "../errors.js";
import { sleep } from "../../core/clock.js";

interface Claim {
  pid: number;
  /** A part of the owner's command line, to recognise it. */
  argv1: string;
  startedAt: number;
  /** The engines' processes and what their command lines contain. */
  engines: { pid: number; mark: string }[];
}

export interface DataDirLayout {
  readonly root: string;
  readonly kinesis: string;
  readonly dynamodb: string;
  readonly s3: string;
}

export function dataDirLayout(dir: string): DataDirLayout {
  const root = path.resolve(dir);
  return { root, kinesis: path.join(root, "kinesis"), dynamodb: path.join(root, "dynamodb"), s3: path.join(root, "s3") };
}

/** The command line of a live process, or undefined when no process has that pid ("" where /proc is missing). */
function commandLine(pid: number): string | undefined {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return undefined;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    return existsSync("/proc") ? undefined : "";
  }
}

const running = (pid: number, mark: string): boolean => {
  const cmd = commandLine(pid);
  return cmd !== undefined && (cmd === "" || cmd.includes(mark));
};

export interface DataDirClaim {
  readonly layout: DataDirLayout;
  /** Records the engines' processes, so a later claim can wait for them after this process dies. */
  recordEngines(engines: { pid: number; mark: string }[]): void;
  release(): void;
}

/** Claims `dir` for this process's engines; waits up to `waitMs` for the engines of a dead previous owner to go. */
export async function claimDataDir(dir: string, options: { waitMs?: number } = {}): Promise<DataDirClaim> {
  const layout = dataDirLayout(dir);
  mkdirSync(layout.root, { recursive: true });
  const file = path.join(layout.root, "engines.json");
  let previous: Claim | undefined;
  try {
    previous = JSON.parse(readFileSync(file, "utf8")) as Claim;
  } catch {
    previous = undefined;
  }
  if (previous && previous.pid !== process.pid && running(previous.pid, previous.argv1)) {
    throw new DataDirInUseError(
      `The data folder ${layout.root} is in use by process ${previous.pid} (a \`sparkless local\` started ${new Date(previous.startedAt).toISOString()}): ` +
        `stop that run first, or pass another --data-dir. If no such run is going, delete ${file}.`,
      layout.root,
      previous.pid,
    );
  }
  // The engines of an owner that was killed: its watchdog is killing them; their stores must be closed before ours open.
  const deadline = Date.now() + (options.waitMs ?? 15_000);
  for (const engine of previous?.pid === process.pid ? [] : (previous?.engines ?? [])) {
    while (running(engine.pid, engine.mark)) {
      if (Date.now() > deadline) {
        throw new DataDirInUseError(
          `The data folder ${layout.root} is still open in process ${engine.pid}, an engine of an earlier run (pid ${previous!.pid}) that did not stop: ` +
            `kill ${engine.pid}, then start again.`,
          layout.root,
          engine.pid,
        );
      }
      await sleep(100);
    }
  }
  const claim: Claim = { pid: process.pid, argv1: process.argv[1] ?? "", startedAt: Date.now(), engines: [] };
  const write = () => {
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(claim, null, 2) + "\n");
    renameSync(tmp, file);
  };
  write();
  let released = false;
  return {
    layout,
    recordEngines(engines) {
      if (released) return;
      claim.engines = engines;
      write();
    },
    release() {
      if (released) return;
      released = true;
      try {
        const current = JSON.parse(readFileSync(file, "utf8")) as Claim;
        if (current.pid === process.pid) rmSync(file, { force: true });
      } catch {
        /* gone already */
      }
    },
  };
}
