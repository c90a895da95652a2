// `sparkless local` supervising its processes, for real: a worker killed with SIGKILL is replaced (with
// a log line) and the replacement runs the fanned-out tasks; a SIGKILL of `sparkless local` itself
// leaves no worker, engine (kinesalite, the JVM of DynamoDB Local) or watchdog running, and `sparkless
// status` then says the run is gone and how to start it again. Also the command line's refusals:
// --endpoint where nothing answers, --data-dir with --endpoint, and --help.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { KinesisClient, PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { afterAll, describe, expect, it } from "vitest";
import { awsClientConfig } from "../../lib/local/engines.js";
import { eventually, startCli, tallyApp, tallyOutput, type CliRun } from "./cli-helpers.js";

const cwd = mkdtempSync(path.join(tmpdir(), "sparkless-supervision-"));
const out = path.join(cwd, "out");
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

const workersOf = (run: CliRun) =>
  run
    .leftRunning()
    .filter(([, args]) => /worker-process/.test(args))
    .map(([pid]) => pid);

describe("sparkless local supervises its processes", () => {
  it("replaces a killed worker, and dies whole when killed itself; status then says the run is gone", async () => {
    const run = startCli(["local", tallyApp, "--workers", "1", "--shards", "2"], {
      cwd,
      // every stage that can runs on the worker: without a worker, batches with input would not complete
      env: { TALLY_OUT: out, TALLY_APP: "supervised", SPARKLESS_CONFIG: JSON.stringify({ execution: { mode: "fan-out" } }) },
    });
    runs.push(run);
    const kinesisUrl = (await run.waitForStderr(/Kinesis\s+(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
    const [first] = await eventually("the worker process", () => {
      const w = workersOf(run);
      return w.length === 1 ? w : undefined;
    });

    process.kill(first!, "SIGKILL");
    await run.waitForStderr(
      new RegExp(
        `WARN .*\\[supervised\\] worker process ${first} killed by SIGKILL after \\d+\\.\\d s; starting another in its place.*, as Lambda would`,
      ),
    );
    await run.waitForStderr(new RegExp(`worker process (\\d+) started in place of ${first}`));
    const [second] = await eventually("the replacement", () => {
      const w = workersOf(run);
      return w.length === 1 && w[0] !== first ? w : undefined;
    });

    // The replacement runs the fanned-out tasks: every record put is in a completed batch's output.
    const kinesis = new KinesisClient(awsClientConfig(kinesisUrl, "us-east-1"));
    const ids = Array.from({ length: 60 }, (_, i) => `s${String(i).padStart(3, "0")}`);
    const put = await kinesis.send(
      new PutRecordsCommand({ StreamName: "tally-in", Records: ids.map((id, i) => ({ Data: Buffer.from(`k${i % 5} ${id}`), PartitionKey: id })) }),
    );
    kinesis.destroy();
    expect(put.FailedRecordCount ?? 0).toBe(0);
    await eventually("every record processed", () => {
      const seen = [...tallyOutput(out).batches.values()].flat().sort();
      return seen.length >= ids.length ? seen : undefined;
    });
    expect([...tallyOutput(out).batches.values()].flat().sort()).toEqual(ids);
    expect(workersOf(run)).toEqual([second]);

    // SIGKILL: no handler of `sparkless local` runs. Its children must still go.
    const seen = [...run.descendants.entries()];
    expect(
      seen.some(([, a]) => /DynamoDBLocal/.test(a)),
      seen.map(([, a]) => a).join("\n"),
    ).toBe(true);
    expect(seen.some(([, a]) => /kinesalite/.test(a))).toBe(true);
    process.kill(run.pid, "SIGKILL");
    await run.exited;
    const left = await eventually("every child of the killed run to exit", () => (run.leftRunning().length === 0 ? [] : undefined), 15_000).catch(
      () => run.leftRunning(),
    );
    expect(left.map(([pid, args]) => `${pid} ${args.slice(0, 100)}`)).toEqual([]);

    // `sparkless status` here: the registration the killed run left says it is gone.
    const status = startCli(["status"], { cwd });
    const st = await status.exited;
    expect(st.code, status.stderr).toBe(1);
    expect(status.stderr).toContain(`sparkless status: the local run of supervised (pid ${run.pid}`);
    expect(status.stderr).toMatch(
      /is no longer running; start it again with `sparkless local \S*tally-app\.ts` \(its engines kept their data in memory, so its batches and state went with it \(add --data-dir DIR/,
    );
    expect(status.stderr).not.toMatch(/which app/);
  }, 150_000);
});

// Each spawns one short-lived CLI: run side by side.
describe.concurrent("sparkless local refuses what cannot work, and says why", () => {
  it("--endpoint where nothing answers: the documented message, exit 1, no stack or ECONNREFUSED", async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const run = startCli(["local", tallyApp, "--endpoint", `http://127.0.0.1:${port}`], { cwd });
    runs.push(run);
    const r = await run.exited;
    expect(r.code).toBe(1);
    expect(run.stderr).toContain(
      `sparkless local: nothing answers at http://127.0.0.1:${port}: start the engines there (LocalStack: \`docker compose up -d\`)`,
    );
    expect(run.stderr).not.toMatch(/ECONNREFUSED|\n\s+at /);
  }, 60_000);

  it("--data-dir with --endpoint exits 2 naming both", async () => {
    const run = startCli(["local", tallyApp, "--data-dir", "d", "--endpoint", "http://127.0.0.1:9"], { cwd });
    expect((await run.exited).code).toBe(2);
    expect(run.stderr).toMatch(/--data-dir keeps the embedded engines' data, and with --endpoint \(http:\/\/127\.0\.0\.1:9\) no engine is embedded/);
  }, 60_000);

  it("--help documents --data-dir and --until-idle", async () => {
    const run = startCli(["local", "--help"], { cwd });
    expect((await run.exited).code).toBe(0);
    expect(run.stdout).toMatch(/--until-idle D\s+stop and exit 0 once every record is processed and nothing new arrived for D/);
    expect(run.stdout).toMatch(/--data-dir DIR\s+keep the embedded engines' data/);
    expect(run.stdout).toContain("A worker process that dies is replaced, as Lambda would");
  }, 60_000);
});
