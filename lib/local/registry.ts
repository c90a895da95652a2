/**
 * The `sparkless local` runs of a directory: each run registers itself in
 * `.sparkless/local-APP.json` (its pid, endpoints, streams and dashboard) and
 * removes the file when it stops; the operator commands find their target
 * here (lib/cli/target.ts).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

export interface LocalRegistration {
  app: string;
  pid: number;
  endpoints: { kinesis: string; dynamodb: string; sqs: string };
  ui?: string;
  streams: string[];
  startedAt: number;
  /** The app module, as given to `sparkless local`. */
  appPath?: string;
  /** The engines' data folder (`--data-dir`); absent: the engines kept everything in memory. */
  dataDir?: string;
  /** The command that starts the run again (on the same data, when it has a data folder). */
  restart?: string;
}

export function registrationDir(cwd = process.cwd()): string {
  return path.join(cwd, ".sparkless");
}

export function registerLocalRun(reg: LocalRegistration, cwd?: string): () => void {
  const dir = registrationDir(cwd);
  const file = path.join(dir, `local-${reg.app}.json`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, JSON.stringify(reg, null, 2) + "\n");
  } catch {
    return () => undefined; // a read-only directory: the commands still work with --endpoint
  }
  return () => {
    try {
      const current = JSON.parse(readFileSync(file, "utf8")) as LocalRegistration;
      if (current.pid === reg.pid) rmSync(file, { force: true });
    } catch {
      /* gone already */
    }
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Every `sparkless local` run registered in this directory, with whether its process is alive. */
export function registeredRuns(cwd?: string): { run: LocalRegistration; alive: boolean }[] {
  const dir = registrationDir(cwd);
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((n) => /^local-.*\.json$/.test(n));
  } catch {
    return [];
  }
  const out: { run: LocalRegistration; alive: boolean }[] = [];
  for (const n of names) {
    try {
      const r = JSON.parse(readFileSync(path.join(dir, n), "utf8")) as LocalRegistration;
      out.push({ run: r, alive: alive(r.pid) });
    } catch {
      /* half-written or not ours */
    }
  }
  return out;
}

/** The `sparkless local` runs registered in this directory whose process is alive. */
export function localRuns(cwd?: string): LocalRegistration[] {
  return registeredRuns(cwd)
    .filter((r) => r.alive)
    .map((r) => r.run);
}
