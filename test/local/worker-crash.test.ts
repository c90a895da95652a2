// `sparkless local` whose worker processes all die as they start (here, the app module throws when a
// worker loads it): the run does not wait silently for tasks nobody will run. It says no worker is
// staying up while it retries, then stops with exit 1 and the reason, and leaves no process behind.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { eventually, startCli, tallyApp, type CliRun } from "./cli-helpers.js";

const cwd = mkdtempSync(path.join(tmpdir(), "sparkless-worker-crash-"));
const runs: CliRun[] = [];
afterAll(() => {
  for (const r of runs)
    for (const [pid] of r.leftRunning()) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* gone */
      }
    }
  rmSync(cwd, { recursive: true, force: true });
});

describe("sparkless local with workers that cannot start", () => {
  it("says so while it retries, then stops with exit 1 and the reason", async () => {
    const run = startCli(["local", tallyApp, "--workers", "2"], { cwd, env: { TALLY_APP: "crashing", TALLY_BROKEN_WORKERS: "1" } });
    runs.push(run);
    const r = await run.exited;
    expect(r.code, run.stderr).toBe(1);
    expect(run.stderr).toContain("tally-app: broken on purpose in worker processes");
    expect(run.stderr).toMatch(
      /WARN .*\[crashing\] worker process \d+ exited with code 1 after \d+\.\d s; starting another in its place in \d+ ms, as Lambda would/,
    );
    expect(run.stderr).toMatch(/ERROR .*no worker process stays up \(the last 2 died as they started\): fanned-out tasks wait until one does/);
    expect(run.stderr).toMatch(
      /sparkless local: Worker processes keep dying as they start \(5 in a row, each before it was ready; the last exited with code 1\): no worker can run fanned-out tasks, so the run stops/,
    );
    const left = await eventually("the engines to be gone", () => (run.leftRunning().length === 0 ? [] : undefined), 15_000).catch(() =>
      run.leftRunning(),
    );
    expect(left).toEqual([]);
  }, 150_000);
});
