// `sparkless status` (and every command that finds its target the same way) after a `sparkless local`
// that died without unregistering (kill -9, a crash): the registration it left in .sparkless/ names a
// pid that is gone, and the command says the run is gone and how to start it again, instead of asking
// which app or falling through to AWS. No engine is needed: nothing is read.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { statusCommand } from "../../lib/cli/status.js";
import { OperatorError } from "../../lib/observability/aws-errors.js";
import { LocalRunGoneError, registerLocalRun, resolveTarget, type CliIo, type LocalRegistration } from "../../lib/cli/target.js";

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), "sparkless-dead-run-"));
  dirs.push(d);
  return d;
}

/** The pid of a process that has exited (and been reaped): no process has it now. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(r.stdout);
}

const io = (cwd: string): CliIo => ({ stdout: { write: () => true }, stderr: { write: () => true }, stdin: new PassThrough(), env: {}, cwd });

function register(cwd: string, fields: Partial<LocalRegistration> & { app: string; pid: number }): void {
  registerLocalRun(
    {
      endpoints: { kinesis: "http://127.0.0.1:1", dynamodb: "http://127.0.0.1:2", sqs: "http://127.0.0.1:3" },
      streams: ["words"],
      startedAt: Date.UTC(2026, 0, 2, 3, 4, 5),
      ...fields,
    },
    cwd,
  );
}

describe("a dead sparkless local run", () => {
  it("status says the run is gone, its pid, and the command that resumes it on its data folder", async () => {
    const cwd = tempDir();
    const pid = deadPid();
    register(cwd, {
      app: "wordcount",
      pid,
      appPath: "examples/wordcount-app.ts",
      dataDir: "/tmp/wc-data",
      restart: "sparkless local examples/wordcount-app.ts --data-dir .sparkless/data",
    });
    const error = await statusCommand([], io(cwd)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(LocalRunGoneError);
    expect(error).toBeInstanceOf(OperatorError); // printed by the CLI as `sparkless status: ...`, exit 1
    expect((error as Error).message).toBe(
      `the local run of wordcount (pid ${pid}, started 2026-01-02T03:04:05.000Z) is no longer running; ` +
        "start it again with `sparkless local examples/wordcount-app.ts --data-dir .sparkless/data` " +
        "(its engines kept their data in /tmp/wc-data, so it resumes where it stopped).\n" +
        "Or pass --endpoint URL for other engines, or --aws to read AWS.",
    );
    expect((error as LocalRunGoneError).runs.map((r) => r.pid)).toEqual([pid]);
  });

  it("without a data folder, says the batches went with it; with --app of that app, the same", () => {
    const cwd = tempDir();
    const pid = deadPid();
    register(cwd, { app: "clicks", pid, appPath: "clicks.ts" });
    expect(() => resolveTarget({ cwd, env: {}, app: "clicks" })).toThrow(
      /the local run of clicks \(pid \d+, .*\) is no longer running; start it again with `sparkless local clicks\.ts` \(its engines kept their data in memory, so its batches and state went with it \(add --data-dir DIR to keep them next time\)\)/,
    );
  });

  it("is not in the way of another app, a live run, --endpoint or --aws", () => {
    const cwd = tempDir();
    register(cwd, { app: "gone", pid: deadPid(), appPath: "gone.ts" });
    expect(resolveTarget({ cwd, env: {}, app: "other" }).kind).toBe("aws");
    expect(resolveTarget({ cwd, env: {}, aws: true }).kind).toBe("aws");
    expect(resolveTarget({ cwd, env: {}, endpoint: "http://127.0.0.1:4566" }).kind).toBe("endpoint");
    const unregister = registerLocalRun(
      { app: "live", pid: process.pid, endpoints: { kinesis: "k", dynamodb: "d", sqs: "s" }, streams: [], startedAt: Date.now() },
      cwd,
    );
    try {
      expect(resolveTarget({ cwd, env: {} })).toMatchObject({ kind: "local", app: "live" });
    } finally {
      unregister();
    }
  });
});
