// Restarts: `sparkless local --data-dir DIR` is killed with SIGKILL in the middle of a run, started
// again on the same DIR with --until-idle, and stops by itself once everything is processed. What the
// app wrote then equals the oracle computed from the records put: every record in exactly one batch's
// output, none lost, none counted twice, and the running count per key (state kept through the
// checkpoints and the batch log across the kill) equal to the count of records put per key.
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { KinesisClient, PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { afterAll, describe, expect, it } from "vitest";
import { awsClientConfig } from "../../lib/local/engines.js";
import { eventually, startCli, tallyApp, tallyOutput, type CliRun } from "./cli-helpers.js";

const cwd = mkdtempSync(path.join(tmpdir(), "sparkless-restart-"));
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

const KEYS = 7;
const record = (id: string, i: number) => `k${i % KEYS} ${id}`;
const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, "0")}`);

async function put(kinesisUrl: string, lines: string[]): Promise<void> {
  const kinesis = new KinesisClient(awsClientConfig(kinesisUrl, "us-east-1"));
  try {
    for (let i = 0; i < lines.length; i += 100) {
      const chunk = lines.slice(i, i + 100);
      const res = await kinesis.send(
        new PutRecordsCommand({ StreamName: "tally-in", Records: chunk.map((l) => ({ Data: Buffer.from(l), PartitionKey: l.split(" ")[1]! })) }),
      );
      expect(res.FailedRecordCount ?? 0).toBe(0);
    }
  } finally {
    kinesis.destroy();
  }
}

describe("sparkless local --data-dir", () => {
  it("resumes exactly-once after a SIGKILL, and --until-idle stops it once everything is processed", async () => {
    // Checkpoints in S3: fauxqs' S3, which --data-dir keeps in files, must bring them back.
    const env = { TALLY_OUT: out, TALLY_APP: "tally", SPARKLESS_CONFIG: JSON.stringify({ checkpointStore: "s3" }) };
    const s3Objects = () => {
      const buckets = path.join(cwd, "data", "s3");
      if (!existsSync(buckets)) return 0;
      return readdirSync(buckets).reduce(
        (n, b) => n + (existsSync(path.join(buckets, b, "objects")) ? readdirSync(path.join(buckets, b, "objects")).length : 0),
        0,
      );
    };
    const args = ["local", tallyApp, "--data-dir", "data", "--workers", "1", "--shards", "2"];

    // Run 1: records A, then (once some are processed) records B, then kill -9 at once.
    const first = startCli(args, { cwd, env });
    runs.push(first);
    const url1 = (await first.waitForStderr(/Kinesis\s+(http:\/\/127\.0\.0\.1:\d+)/))[1]!;
    const a = ids("a", 300).map(record);
    await put(url1, a);
    await eventually("some of A processed", () => (tallyOutput(out).batches.size > 0 ? true : undefined));
    await eventually("a checkpoint in S3", () => (s3Objects() > 0 ? true : undefined));
    const b = ids("b", 300).map((id, i) => record(id, i + 3));
    await put(url1, b);
    process.kill(first.pid, "SIGKILL");
    await first.exited;
    const processedBeforeKill = [...tallyOutput(out).batches.values()].flat().length;

    // Run 2, on the same folder: feeds C once from a file, stops by itself when idle.
    const c = ids("c", 200).map((id, i) => record(id, i + 5));
    writeFileSync(path.join(cwd, "c.txt"), c.join("\n") + "\n");
    const second = startCli([...args, "--until-idle", "2s", "--feed", "c.txt", "--feed-rate", "400"], { cwd, env });
    runs.push(second);
    const done = await second.exited;
    expect(done.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/sparkless local: \d+ batches completed \(idle: every record processed\)\./);
    expect(second.stderr).toMatch(/idle: batch \S+ found every shard read to its end, everything fed is in completed batches/);
    expect(second.stderr).toMatch(/fed c\.txt once: 200 records acknowledged/);
    expect(Number(/fauxqs S3 kept in \S+ \(1 buckets, (\d+) objects loaded\)/.exec(second.stderr)?.[1])).toBeGreaterThan(0);

    // The oracle: every record put, in exactly one batch; the newest state counts each key's records.
    const all = [...a, ...b, ...c];
    const { batches, state } = tallyOutput(out);
    const seen = [...batches.values()].flat();
    expect(seen.length, `records processed before the kill: ${processedBeforeKill} of ${a.length + b.length}`).toBe(all.length);
    expect(seen.sort()).toEqual(all.map((l) => l.split(" ")[1]!).sort());
    const expected: Record<string, number> = {};
    for (const l of all) {
      const k = l.split(" ")[0]!;
      expected[k] = (expected[k] ?? 0) + 1;
    }
    expect(state).toEqual(expected);
    expect(second.leftRunning()).toEqual([]);
  }, 240_000);
});
