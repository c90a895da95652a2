// The status table (a pure function of batch records: one row per batch, a run of empty batches in one
// row, the mode each batch ran in), `sparkless status` against DynamoDB Local (records as the
// coordinator writes them: completions noted by the next record, empty runs in one record, the
// interval from the app's info), `sparkless feed` against kinesalite (summary line when piped,
// progress bar in a terminal), --help with examples for every command, and the local-run discovery.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { KinesisClient } from "@aws-sdk/client-kinesis";
import { DynamoBatchLog } from "../../lib/aws/dynamodb/batch-log.js";
import { createTables } from "../../lib/aws/dynamodb/tables.js";
import { awsClientConfig, startEmbeddedEngines, type EmbeddedEngines } from "../../lib/local/engines.js";
import { ensureStream } from "../../lib/local/runtime.js";
import type { BatchRecord } from "../../lib/storage/interfaces.js";
import { batchRows, formatMs, inferInterval, renderStatus, summarizeBatches } from "../../lib/ui/batches.js";
import { feedCommand, FEED_HELP, renderProgress } from "../../lib/cli/feed.js";
import { statusCommand, STATUS_HELP } from "../../lib/cli/status.js";
import { UI_HELP, uiCommand } from "../../lib/cli/ui.js";
import { registerLocalRun, resolveTarget, type CliIo } from "../../lib/cli/target.js";
import { OperatorError } from "../../lib/observability/aws-errors.js";

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const at = (i: number) => T0 + i * 2000;

/** Batch i (every 2 s), completed: started 20 ms after its time, done 300 ms later. */
function rec(i: number, patch: Partial<BatchRecord> = {}): BatchRecord {
  const time = at(i);
  return {
    time,
    blocks: {},
    status: "completed",
    generatedAt: time + 5,
    startedAt: time + 20,
    completedAt: time + 320,
    inputRecords: 100 * i,
    ...patch,
  };
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

/** The cells of the row that starts with `t` (cells are two or more spaces apart). */
const rowOf = (text: string, t: string) =>
  text
    .split("\n")
    .find((l) => l.startsWith(t))
    ?.split(/\s{2,}/);

describe("the status table", () => {
  // Batches 1 to 3 ran, 3 fanned out and slow; 4 to 6 were empty (kept as one run in the record of
  // batch 7); batch 8 runs now, fanned out.
  const records = [
    rec(1),
    rec(2, { quarantinedRecords: 3 }),
    rec(3, { startedAt: at(3) + 1500, completedAt: at(3) + 4000, mode: "fan-out" }),
    rec(7, { emptyFrom: at(4), emptyBlocks: {} }),
    rec(8, { status: "running", startedAt: undefined, completedAt: undefined, inputRecords: 7, mode: "fan-out" }),
  ];
  const now = T0 + 17_000;

  it("prints one row per batch with its delays and mode, a run of empty batches in one row, then totals and the lag", () => {
    const text = renderStatus(records, { now, utc: true, app: "wc", batchIntervalMs: 2000 });
    const lines = text.trimEnd().split("\n");
    expect(lines[0]).toBe("Batches of wc");
    expect(lines[1]).toMatch(
      /^Batch time\s+Input records\s+Scheduling delay\s+Processing time\s+Total delay\s+Quarantined\s+Requests\s+Mode\s+Status$/,
    );
    expect(rowOf(text, "12:00:02")).toEqual(["12:00:02", "100", "20 ms", "300 ms", "320 ms", "0", "-", "in process", "completed"]);
    expect(rowOf(text, "12:00:04")).toEqual(["12:00:04", "200", "20 ms", "300 ms", "320 ms", "3", "-", "in process", "completed"]);
    expect(rowOf(text, "12:00:06")).toEqual(["12:00:06", "300", "1.50 s", "2.50 s", "4.00 s", "0", "-", "fanned out", "completed"]);
    expect(rowOf(text, "12:00:08")).toEqual(["12:00:08–12:00:12", "0", "-", "-", "-", "0", "-", "in process", "completed (3 empty batches)"]);
    expect(rowOf(text, "12:00:14")).toEqual(["12:00:14", "700", "20 ms", "300 ms", "320 ms", "0", "-", "in process", "completed"]);
    expect(rowOf(text, "12:00:16")).toEqual(["12:00:16", "7", "-", "-", "-", "0", "-", "fanned out", "running"]);
    expect(lines.filter((l) => /^12:00:1[02]/.test(l))).toEqual([]); // inside the run's row
    const total = rowOf(text, "Total (8)")!;
    expect(total.slice(1)).toEqual(["1,307", "avg 390 ms", "avg 850 ms", "avg 1.24 s", "3", "2 fanned out", "7 completed (3 empty), 1 running"]);
    // the newest completed batch is 12:00:14: 3 s behind at 12:00:17, and one batch waiting
    expect(text).toMatch(/Lag: 3.00 s behind \(newest completed batch 12:00:14\), 1 batch waiting \(oldest 12:00:16\)\./);
  });

  it("shows the newest rows only (a run of empty batches is one row), and says how many batches they hold", () => {
    const text = renderStatus(records, { now, utc: true, limit: 3, batchIntervalMs: 2000 });
    expect(text).toMatch(/^Batches \(newest 5 of 8 batches\)/);
    expect(text).not.toMatch(/12:00:06/);
    expect(rowOf(text, "12:00:08")![0]).toBe("12:00:08–12:00:12");
    expect(text).toMatch(/Total \(5\)/);
  });

  it("names a failed batch's error under the table", () => {
    const text = renderStatus(
      [
        rec(1),
        rec(2, {
          status: "failed",
          startedAt: at(2) + 20,
          completedAt: at(2) + 90,
          error: "Task 0:result partition 1 of batch ... failed 4 time(s)",
        }),
      ],
      { now, utc: true },
    );
    expect(rowOf(text, "12:00:04")).toEqual(["12:00:04", "200", "20 ms", "70 ms", "90 ms", "0", "-", "in process", "failed"]);
    expect(text).toMatch(/Batch 12:00:04 failed: Task 0:result partition 1/);
    expect(rowOf(text, "Total (2)")!.at(-1)).toBe("1 completed, 1 failed");
  });

  it("says when there is no batch yet", () => {
    expect(renderStatus([], { now })).toMatch(/none yet/);
  });

  it("expands a stored empty run into empty, completed batches, one per interval", () => {
    const s = summarizeBatches(records, { now, batchIntervalMs: 2000 });
    expect(s.totalBatches).toBe(8);
    expect(s.batches.map((b) => [b.time, b.status, b.inputRecords, b.empty ?? false])).toEqual([
      [at(1), "completed", 100, false],
      [at(2), "completed", 200, false],
      [at(3), "completed", 300, false],
      [at(4), "completed", 0, true],
      [at(5), "completed", 0, true],
      [at(6), "completed", 0, true],
      [at(7), "completed", 700, false],
      [at(8), "running", 7, false],
    ]);
    // An empty batch's figures are not kept: no delays, but an input rate of 0 for the charts.
    expect(s.batches[3]).toMatchObject({ inputRate: 0, schedulingDelay: undefined, processingTime: undefined });
    expect(batchRows(s.batches).map((r) => [r.from, r.to, r.batches.length, r.emptyRun])).toEqual([
      [at(1), at(1), 1, false],
      [at(2), at(2), 1, false],
      [at(3), at(3), 1, false],
      [at(4), at(6), 3, true],
      [at(7), at(7), 1, false],
      [at(8), at(8), 1, false],
    ]);
    // A run written on its own (at a checkpoint, a hand-over, after 60 s) ends with its last empty
    // batch, completed without figures: it belongs to the run's row. A lone empty batch is a row of its own.
    const flushed = [
      rec(1),
      rec(4, { emptyFrom: at(2), inputRecords: 0, startedAt: undefined, completedAt: undefined }),
      rec(5),
      rec(6, { inputRecords: 0, startedAt: undefined, completedAt: undefined }),
    ];
    const rows = batchRows(summarizeBatches(flushed, { now, batchIntervalMs: 2000 }).batches);
    expect(rows.map((r) => [r.from, r.to, r.emptyRun])).toEqual([
      [at(1), at(1), false],
      [at(2), at(4), true],
      [at(5), at(5), false],
      [at(6), at(6), false],
    ]);
    expect(rowOf(renderStatus(flushed, { now, utc: true, batchIntervalMs: 2000 }), "12:00:04")![8]).toBe("completed (3 empty batches)");
  });

  it("infers the interval from batch times and empty runs' starts when it is not given", () => {
    expect(inferInterval([rec(1), rec(9, { emptyFrom: at(2) })])).toBe(2000);
    expect(summarizeBatches([rec(1), rec(9, { emptyFrom: at(2) })], { now }).totalBatches).toBe(9);
    expect(inferInterval([rec(9, { emptyFrom: at(2) })])).toBeUndefined();
  });

  it("computes the figures the dashboard charts", () => {
    const s = summarizeBatches(records, { now, batchIntervalMs: 2000 });
    expect(s.batches[0]).toMatchObject({
      inputRecords: 100,
      inputRate: 50,
      schedulingDelay: 20,
      processingTime: 300,
      totalDelay: 320,
      mode: "in-process",
    });
    expect(s.batches[2]).toMatchObject({ mode: "fan-out" });
    expect(s.totals).toMatchObject({ batches: 8, completed: 7, running: 1, failed: 0, empty: 3, fannedOut: 2, inputRecords: 1307 });
    expect(s.totals.avgProcessingTime).toBeCloseTo((300 + 300 + 2500 + 300) / 4);
    expect(s.lag).toEqual({ waiting: 1, lastCompletedTime: at(7), lagMs: 3000, oldestWaitingTime: at(8) });
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
    await createTables(dynamodb, { meta: "sparkless-clitest-meta", state: "sparkless-clitest-state" });
    const doc = DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } });
    // The log as the coordinator writes it: each record running when written, its completion noted by
    // the next one (`previous`); the empty batches 1 and 5 to 6 kept in the records of 2 and 7; the
    // last one completed at a hand-over.
    const log = new DynamoBatchLog(doc, "sparkless-clitest-meta", "clitest");
    await log.createApp({ zeroTime: T0, batchIntervalMs: 2000, fingerprint: [], createdAt: T0 });
    const running = (i: number, patch: Partial<BatchRecord> = {}): BatchRecord => ({
      time: at(i),
      blocks: {},
      status: "running",
      generatedAt: at(i) + 5,
      inputRecords: 100 * i,
      writer: "c-1",
      ...patch,
    });
    const note = (i: number, extra: { quarantinedRecords?: number } = {}) => ({
      previous: { time: at(i), startedAt: at(i) + 20, completedAt: at(i) + 320, ...extra },
    });
    await log.createBatch(running(2, { emptyFrom: at(1), emptyBlocks: {} }));
    await log.createBatch(running(3, note(2)));
    await log.createBatch(running(4, { ...note(3, { quarantinedRecords: 2 }), mode: "fan-out" }));
    await log.createBatch(running(7, { ...note(4), emptyFrom: at(5), emptyBlocks: {} }));
    expect(await log.updateBatch(at(7), "running", { status: "completed", startedAt: at(7) + 20, completedAt: at(7) + 320 })).toBe(true);
    // Another app in the same table, whose only record ends a run of empty batches: its interval cannot be inferred.
    const other = new DynamoBatchLog(doc, "sparkless-clitest-meta", "clitest1");
    await other.createApp({ zeroTime: T0, batchIntervalMs: 2000, fingerprint: [], createdAt: T0 });
    await other.createBatch({ ...rec(5), emptyFrom: at(1), emptyBlocks: {} });
    dynamodb.destroy();
    const kinesis = new KinesisClient(awsClientConfig(engines.kinesis, engines.region));
    await ensureStream(kinesis, "cli-words", 2);
    kinesis.destroy();
  });
  afterAll(async () => {
    await engines?.stop();
  });

  it("sparkless status prints the table from the meta table, completions and empty runs applied", async () => {
    const c = captureIo(dir);
    expect(await statusCommand(["--app", "clitest", "--endpoint", engines.dynamodb, "--utc"], c.io)).toBe(0);
    const text = c.out();
    expect(text).toMatch(/^Batches of clitest/);
    expect(rowOf(text, "12:00:02")).toEqual(["12:00:02", "0", "-", "-", "-", "0", "-", "in process", "completed"]); // a lone empty batch
    expect(rowOf(text, "12:00:04")).toEqual(["12:00:04", "200", "20 ms", "300 ms", "320 ms", "0", "-", "in process", "completed"]);
    expect(rowOf(text, "12:00:06")).toEqual(["12:00:06", "300", "20 ms", "300 ms", "320 ms", "2", "-", "in process", "completed"]);
    expect(rowOf(text, "12:00:08")).toEqual(["12:00:08", "400", "20 ms", "300 ms", "320 ms", "0", "-", "fanned out", "completed"]);
    expect(rowOf(text, "12:00:10")).toEqual(["12:00:10–12:00:12", "0", "-", "-", "-", "0", "-", "in process", "completed (2 empty batches)"]);
    expect(rowOf(text, "12:00:14")).toEqual(["12:00:14", "700", "20 ms", "300 ms", "320 ms", "0", "-", "in process", "completed"]);
    expect(rowOf(text, "Total (7)")!.slice(1, 2)).toEqual(["1,600"]);
    expect(text).toMatch(/0 batches waiting/);
  });

  it("sparkless status --json gives the same figures, one entry per batch", async () => {
    const c = captureIo(dir);
    expect(await statusCommand(["--app", "clitest", "--endpoint", engines.dynamodb, "--json", "--limit", "3"], c.io)).toBe(0);
    const j = JSON.parse(c.out());
    expect(j).toMatchObject({ app: "clitest", totalBatches: 7, batchIntervalMs: 2000 });
    expect(j.batches.map((b: { time: number; empty?: boolean }) => [b.time, b.empty ?? false])).toEqual([
      [at(5), true],
      [at(6), true],
      [at(7), false],
    ]);
    expect(j.totals.inputRecords).toBe(700);
  });

  it("sparkless status expands empty runs by the app's own batch interval", async () => {
    const c = captureIo(dir);
    expect(await statusCommand(["--app", "clitest1", "--meta-table", "sparkless-clitest-meta", "--endpoint", engines.dynamodb, "--json"], c.io)).toBe(
      0,
    );
    const j = JSON.parse(c.out());
    // one stored record, five batches: 12:00:02 to 12:00:08 empty, then 12:00:10
    expect(j.batches.map((b: { time: number; inputRecords: number }) => [b.time, b.inputRecords])).toEqual([
      [at(1), 0],
      [at(2), 0],
      [at(3), 0],
      [at(4), 0],
      [at(5), 500],
    ]);
    const t = captureIo(dir);
    expect(await statusCommand(["--app", "clitest1", "--meta-table", "sparkless-clitest-meta", "--endpoint", engines.dynamodb, "--utc"], t.io)).toBe(
      0,
    );
    expect(rowOf(t.out(), "12:00:02")).toEqual(["12:00:02–12:00:08", "0", "-", "-", "-", "0", "-", "in process", "completed (4 empty batches)"]);
  });

  it("sparkless status names the fix for a missing table and a dead endpoint", async () => {
    const c = captureIo(dir);
    await expect(statusCommand(["--app", "nosuchapp", "--endpoint", engines.dynamodb], c.io)).rejects.toThrow(
      /table sparkless-nosuchapp-meta does not exist .*--app/,
    );
    await expect(statusCommand(["--app", "x", "--endpoint", "http://127.0.0.1:9"], c.io)).rejects.toThrow(
      /nothing answers at http:\/\/127.0.0.1:9: start `sparkless local`/,
    );
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
    await expect(feedCommand(["--stream", "nope", "--endpoint", engines.kinesis, file], c.io)).rejects.toThrow(
      /stream nope does not exist .*check --stream/,
    );
  });

  it("sparkless ui serves the dashboard over the app's batch log until stopped", async () => {
    const stop = new AbortController();
    const c = captureIo(dir);
    c.io.signal = stop.signal;
    const running = uiCommand(["--app", "clitest", "--endpoint", engines.dynamodb], c.io);
    let url = "";
    for (let i = 0; i < 100 && !url; i++) {
      url = /dashboard (\S+)/.exec(c.out())?.[1] ?? "";
      if (!url) await new Promise((r) => setTimeout(r, 50));
    }
    expect(c.out()).toMatch(/pass the app module to draw its DAG/);
    const s = (await (await fetch(new URL("api/status", url))).json()) as {
      totalBatches: number;
      batchIntervalMs: number;
      totals: { inputRecords: number };
    };
    expect(s).toMatchObject({ totalBatches: 7, batchIntervalMs: 2000 });
    expect(s.totals.inputRecords).toBe(1600);
    stop.abort();
    expect(await running).toBe(0);
    await expect(uiCommand(["--app", "nosuchapp", "--endpoint", engines.dynamodb], captureIo(dir).io)).rejects.toThrow(
      /table sparkless-nosuchapp-meta does not exist/,
    );
  });

  it("finds a running sparkless local in the directory without --endpoint", async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), "sparkless-reg-"));
    const unregister = registerLocalRun(
      {
        app: "clitest",
        pid: process.pid,
        endpoints: { kinesis: engines.kinesis, dynamodb: engines.dynamodb, sqs: "" },
        streams: ["cli-words"],
        startedAt: Date.now(),
      },
      cwd,
    );
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
    for (const [run, help] of [
      [feedCommand, FEED_HELP],
      [statusCommand, STATUS_HELP],
      [uiCommand, UI_HELP],
    ] as const) {
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
    await expect(feedCommand(["--stream", "s", "--rate", "0", "--endpoint", "http://127.0.0.1:9"], c.io)).rejects.toThrow(
      /--rate must be a number > 0/,
    );
  });

  it("the progress line has a bar when the size is known, and the rate", () => {
    const p = { read: 50, bytesRead: 500, sent: 40, bytesSent: 400, skipped: 1, blank: 0, retried: 2, throttled: 2, requests: 1, elapsedMs: 1000 };
    expect(renderProgress(p, { stream: "s", totalBytes: 1000, recordsPerSecond: 40, width: 80 })).toMatch(
      /^s \[#+-+\] {2}50% {2}40 records {2}40 rec\/s {2}1 skipped {2}2 retried$/,
    );
    expect(renderProgress(p, { stream: "s", recordsPerSecond: 40, width: 80 })).toBe("s  40 records  40 rec/s  1 skipped  2 retried");
  });

  it("an error of no known kind passes through unchanged", async () => {
    const { explainAwsError } = await import("../../lib/observability/aws-errors.js");
    const e = new Error("something else");
    expect(explainAwsError(e)).toBe(e);
    expect(explainAwsError(Object.assign(new Error("x"), { name: "ResourceNotFoundException" }), { stream: "s" })).toBeInstanceOf(OperatorError);
  });
});
