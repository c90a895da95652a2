// The status table (a pure function of batch records), `sparkless status` against DynamoDB Local,
// `sparkless feed` against kinesalite (summary line when piped, progress bar in a terminal),
// --help with examples for every command, and the local-run discovery.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { KinesisClient } from "@aws-sdk/client-kinesis";
import { createTables, DynamoBatchLog } from "../../lib/aws/dynamodb.js";
import { awsClientConfig, startEmbeddedEngines, type EmbeddedEngines } from "../../lib/local/engines.js";
import { ensureStream } from "../../lib/local/runtime.js";
import type { BatchRecord } from "../../lib/storage/interfaces.js";
import { formatMs, renderStatus, summarizeBatches } from "../../lib/ui/batches.js";
import { feedCommand, FEED_HELP, renderProgress } from "../../lib/cli/feed.js";
import { statusCommand, STATUS_HELP } from "../../lib/cli/status.js";
import { UI_HELP, uiCommand } from "../../lib/cli/ui.js";
import { registerLocalRun, resolveTarget, type CliIo } from "../../lib/observability/target.js";
import { OperatorError } from "../../lib/observability/aws-errors.js";

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

function rec(i: number, patch: Partial<BatchRecord> & Record<string, unknown> = {}): BatchRecord {
  const time = T0 + i * 2000;
  return {
    time, blocks: {}, stages: [{ id: "0:result", numTasks: 2 }], materialized: {},
    status: "completed", generatedAt: time + 5, startedAt: time + 20, completedAt: time + 320, inputRecords: 100 * i,
    ...patch,
  } as BatchRecord;
}

function captureIo(cwd: string, opts: { tty?: boolean; env?: NodeJS.ProcessEnv } = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = {
    stdout: { write: (s: string) => out.push(s), isTTY: false },
    stderr: { write: (s: string) => err.push(s), isTTY: opts.tty ?? false, columns: 100 },
    stdin: new PassThrough(),
    env: opts.env ?? {},
    cwd,
  };
  return { io, out: () => out.join(""), err: () => err.join("") };
}

describe("the status table", () => {
  const records = [
    rec(1), rec(2, { quarantinedRecords: 3 }), rec(3, { startedAt: T0 + 6000 + 1500, completedAt: T0 + 6000 + 4000 }),
    rec(4, { status: "failed", error: "Task 0:result partition 1 of batch ... failed 4 time(s)" }),
    rec(5, { status: "running", completedAt: undefined, inputRecords: 7 }),
    rec(6, { status: "generated", startedAt: undefined, completedAt: undefined, inputRecords: 0 }),
  ];
  const now = T0 + 13_000;

  it("prints one row per batch with its delays, then totals and the lag", () => {
    const text = renderStatus(records, { now, utc: true, app: "wc" });
    const lines = text.trimEnd().split("\n");
    expect(lines[0]).toBe("Batches of wc");
    expect(lines[1]).toMatch(/^Batch time\s+Input records\s+Scheduling delay\s+Processing time\s+Total delay\s+Quarantined\s+Status$/);
    const row = (t: string) => lines.find((l) => l.startsWith(t))!.split(/\s{2,}/);
    expect(row("12:00:02")).toEqual(["12:00:02", "100", "20 ms", "300 ms", "320 ms", "0", "completed"]);
    expect(row("12:00:04")).toEqual(["12:00:04", "200", "20 ms", "300 ms", "320 ms", "3", "completed"]);
    expect(row("12:00:06")).toEqual(["12:00:06", "300", "1.50 s", "2.50 s", "4.00 s", "0", "completed"]);
    expect(row("12:00:10")).toEqual(["12:00:10", "7", "20 ms", "-", "-", "0", "running"]);
    expect(row("12:00:12")).toEqual(["12:00:12", "0", "-", "-", "-", "0", "generated"]);
    const total = row("Total (6)");
    expect(total.slice(1, 2)).toEqual(["1,007"]);
    expect(total[5]).toBe("3");
    expect(total[6]).toBe("3 completed, 1 running, 1 generated, 1 failed");
    // the newest completed batch is 12:00:06: 7 s behind at 12:00:13, and two batches waiting
    expect(text).toMatch(/Lag: 7.00 s behind \(newest completed batch 12:00:06\), 2 batches waiting \(oldest 12:00:10\)\./);
    expect(text).toMatch(/Batch 12:00:08 failed: Task 0:result partition 1/);
  });

  it("shows the newest batches only, and says so", () => {
    const text = renderStatus(records, { now, utc: true, limit: 2 });
    expect(text).toMatch(/^Batches \(newest 2 of 6\)/);
    expect(text).not.toMatch(/12:00:02/);
    expect(text).toMatch(/Total \(2\)/);
  });

  it("says when there is no batch yet", () => {
    expect(renderStatus([], { now })).toMatch(/none yet/);
  });

  it("computes the figures the dashboard charts", () => {
    const s = summarizeBatches(records, { now, batchIntervalMs: 2000 });
    expect(s.batches[0]).toMatchObject({ inputRecords: 100, inputRate: 50, schedulingDelay: 20, processingTime: 300, totalDelay: 320 });
    expect(s.totals.avgProcessingTime).toBeCloseTo((300 + 300 + 2500 + 300) / 4);
    expect(s.lag).toEqual({ waiting: 2, lastCompletedTime: T0 + 6000, lagMs: 7000, oldestWaitingTime: T0 + 10_000 });
    expect(formatMs(125_000)).toBe("2m 05s");
  });
});

describe("the commands against the embedded engines", () => {
  let engines: EmbeddedEngines;
  let dir: string;
  beforeAll(async () => {
    engines = await startEmbeddedEngines({ sqs: false });
    dir = mkdtempSync(path.join(tmpdir(), "sparkless-cli-"));
    const dynamodb = new DynamoDBClient(awsClientConfig(engines.dynamodb, engines.region));
    await createTables(dynamodb, { meta: "sparkless-clitest-meta", data: "sparkless-clitest-data", state: "sparkless-clitest-state" });
    const log = new DynamoBatchLog(DynamoDBDocumentClient.from(dynamodb), "sparkless-clitest-meta", "clitest");
    for (let i = 1; i <= 4; i++) await log.createBatch(rec(i));
    await log.addCounters(T0 + 4000, { quarantinedRecords: 2 });
    dynamodb.destroy();
    const kinesis = new KinesisClient(awsClientConfig(engines.kinesis, engines.region));
    await ensureStream(kinesis, "cli-words", 2);
    kinesis.destroy();
  });
  afterAll(async () => { await engines?.stop(); });

  it("sparkless status prints the table from the meta table", async () => {
    const c = captureIo(dir);
    expect(await statusCommand(["--app", "clitest", "--endpoint", engines.dynamodb, "--utc"], c.io)).toBe(0);
    expect(c.out()).toMatch(/^Batches of clitest/);
    expect(c.out()).toMatch(/12:00:04\s+200\s+20 ms\s+300 ms\s+320 ms\s+2\s+completed/);
    expect(c.out()).toMatch(/Total \(4\)\s+1,000/);
  });

  it("sparkless status --json gives the same figures", async () => {
    const c = captureIo(dir);
    expect(await statusCommand(["--app", "clitest", "--endpoint", engines.dynamodb, "--json", "--limit", "2"], c.io)).toBe(0);
    const j = JSON.parse(c.out());
    expect(j.totalBatches).toBe(4);
    expect(j.batches.map((b: { time: number }) => b.time)).toEqual([T0 + 6000, T0 + 8000]);
    expect(j.totals.inputRecords).toBe(700);
  });

  it("sparkless status names the fix for a missing table and a dead endpoint", async () => {
    const c = captureIo(dir);
    await expect(statusCommand(["--app", "nosuchapp", "--endpoint", engines.dynamodb], c.io)).rejects.toThrow(/table sparkless-nosuchapp-meta does not exist .*--app/);
    await expect(statusCommand(["--app", "x", "--endpoint", "http://127.0.0.1:9"], c.io)).rejects.toThrow(/nothing answers at http:\/\/127.0.0.1:9: start `sparkless local`/);
    await expect(statusCommand([], c.io)).rejects.toThrow(/which app\?/);
  });

  it("sparkless feed sends a file and prints one summary line when piped", async () => {
    const file = path.join(dir, "in.txt");
    writeFileSync(file, Array.from({ length: 1200 }, (_, i) => `word${i} more words`).join("\n") + "\n");
    const c = captureIo(dir);
    expect(await feedCommand(["--stream", "cli-words", "--endpoint", engines.kinesis, file], c.io)).toBe(0);
    expect(c.out()).toMatch(/^sent 1,200 records \([\d.]+ KiB\) to cli-words in [\d.]+ s \([\d,]+ records\/s\); 3 requests\n$/);
    expect(c.err()).toBe("");
  });

  it("sparkless feed shows a progress bar in a terminal and reports skipped lines", async () => {
    const file = path.join(dir, "json.txt");
    writeFileSync(file, ['{"id":"a"}', "oops", '{"id":"b"}'].join("\n"));
    const c = captureIo(dir, { tty: true });
    expect(await feedCommand(["--stream", "cli-words", "--endpoint", engines.kinesis, "--json", "--key-field", "id", file], c.io)).toBe(0);
    expect(c.err()).toMatch(/feeding .*json.txt to stream cli-words/);
    expect(c.err()).toMatch(/line 2: skipped: not JSON/);
    expect(c.err()).toMatch(/cli-words \[#+\] 100%\s+2 records/);
    expect(c.out()).toMatch(/sent 2 records .*1 skipped/);
  });

  it("sparkless feed names the fix for a missing stream", async () => {
    const file = path.join(dir, "one.txt");
    writeFileSync(file, "x\n");
    const c = captureIo(dir);
    await expect(feedCommand(["--stream", "nope", "--endpoint", engines.kinesis, file], c.io)).rejects.toThrow(/stream nope does not exist .*check --stream/);
  });

  it("sparkless ui serves the dashboard over the app's batch log until stopped", async () => {
    const stop = new AbortController();
    const c = captureIo(dir);
    c.io.signal = stop.signal;
    const running = uiCommand(["--app", "clitest", "--endpoint", engines.dynamodb], c.io);
    let url = "";
    for (let i = 0; i < 100 && !url; i++) { url = /dashboard (\S+)/.exec(c.out())?.[1] ?? ""; if (!url) await new Promise((r) => setTimeout(r, 50)); }
    expect(c.out()).toMatch(/pass the app module to draw its DAG/);
    const s = (await (await fetch(new URL("api/status", url))).json()) as { totalBatches: number; totals: { inputRecords: number } };
    expect(s.totalBatches).toBe(4);
    expect(s.totals.inputRecords).toBe(1000);
    stop.abort();
    expect(await running).toBe(0);
    await expect(uiCommand(["--app", "nosuchapp", "--endpoint", engines.dynamodb], captureIo(dir).io)).rejects.toThrow(/table sparkless-nosuchapp-meta does not exist/);
  });

  it("finds a running sparkless local in the directory without --endpoint", async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), "sparkless-reg-"));
    const unregister = registerLocalRun({
      app: "clitest", pid: process.pid, endpoints: { kinesis: engines.kinesis, dynamodb: engines.dynamodb, sqs: "" }, streams: ["cli-words"], startedAt: Date.now(),
    }, cwd);
    try {
      expect(resolveTarget({ cwd, env: {} })).toMatchObject({ kind: "local", app: "clitest" });
      const c = captureIo(cwd);
      expect(await statusCommand(["--utc"], c.io)).toBe(0);
      expect(c.out()).toMatch(/Batches of clitest \(sparkless local \(app clitest, pid \d+\)\)/);
      const file = path.join(cwd, "l.txt");
      writeFileSync(file, "a\nb\n");
      const f = captureIo(cwd);
      expect(await feedCommand([file], f.io)).toBe(0); // the run's only stream
      expect(f.out()).toMatch(/sent 2 records .* to cli-words/);
    } finally {
      unregister();
    }
    expect(resolveTarget({ cwd, env: {} }).kind).toBe("aws");
  });
});

describe("help and usage", () => {
  it("every command has --help with examples", async () => {
    for (const [run, help] of [[feedCommand, FEED_HELP], [statusCommand, STATUS_HELP], [uiCommand, UI_HELP]] as const) {
      const c = captureIo(tmpdir());
      expect(await run(["--help"], c.io)).toBe(0);
      expect(c.out()).toBe(help);
      expect(help).toMatch(/\nExamples:\n {2}sparkless /);
    }
  });

  it("rejects contradictory options with a usage error", async () => {
    const c = captureIo(tmpdir());
    await expect(feedCommand(["--stream", "s", "--key", "k", "--key-field", "f", "--json"], c.io)).rejects.toThrow(/pass one/);
    await expect(feedCommand(["--stream", "s", "--key-field", "f"], c.io)).rejects.toThrow(/add --json/);
    await expect(feedCommand(["--stream", "s", "--rate", "0", "--endpoint", "http://127.0.0.1:9"], c.io)).rejects.toThrow(/--rate must be a number > 0/);
  });

  it("the progress line has a bar when the size is known, and the rate", () => {
    const p = { read: 50, bytesRead: 500, sent: 40, bytesSent: 400, skipped: 1, blank: 0, retried: 2, throttled: 2, requests: 1, elapsedMs: 1000 };
    expect(renderProgress(p, { stream: "s", totalBytes: 1000, recordsPerSecond: 40, width: 80 })).toMatch(/^s \[#+-+\]  50%  40 records  40 rec\/s  1 skipped  2 retried$/);
    expect(renderProgress(p, { stream: "s", recordsPerSecond: 40, width: 80 })).toBe("s  40 records  40 rec/s  1 skipped  2 retried");
  });

  it("an error of no known kind passes through unchanged", async () => {
    const { explainAwsError } = await import("../../lib/observability/aws-errors.js");
    const e = new Error("something else");
    expect(explainAwsError(e)).toBe(e);
    expect(explainAwsError(Object.assign(new Error("x"), { name: "ResourceNotFoundException" }), { stream: "s" })).toBeInstanceOf(OperatorError);
  });
});
