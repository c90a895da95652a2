// textFileStream("s3://bucket/prefix/") (lib/sources/s3/): Spark's FileInputDStream semantics over S3.
// Line splitting, directory parsing and the default filter as units; new-file selection and its
// bounded state; then whole runs on the in-memory engine (its MemoryObjects twin) and on the embedded
// engines (fauxqs serves S3, DynamoDB Local keeps the batch log): files read exactly once, files present
// at the start ignored, hidden and temporary names ignored, listings that paginate, a cold restart that
// reruns a batch from its recorded objects, and an object overwritten after its batch was fixed.
import { CreateBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, describe, expect, it } from "vitest";
import { resolveConfig, type AppDefinition } from "../../lib/app/app.js";
import { ManualClock } from "../../lib/core/clock.js";
import { Seconds } from "../../lib/core/duration.js";
import { InvalidArgumentError, MissingDataError, TaskFailedError } from "../../lib/core/errors.js";
import { sharedEngines, stopSharedEngines } from "../../lib/local/run-batches-local.js";
import { prepareLocal } from "../../lib/local/runtime.js";
import { runEventSourceMapping, Worker } from "../../lib/runtime/worker.js";
import { FileInputTooLargeError, InputObjectChangedError } from "../../lib/sources/s3/errors.js";
import {
  defaultFileFilter,
  FileStreamSource,
  groupBlocks,
  parseS3Directory,
  selectNewFiles,
  splitLines,
  BLOCK_MAX_OBJECTS,
  type FileInputState,
} from "../../lib/sources/s3/file-source.js";
import { MemoryObjects } from "../../lib/sources/s3/memory-objects.js";
import type { ObjectInfo } from "../../lib/storage/interfaces.js";
import type { MemoryEngineServices } from "../../lib/storage/memory.js";
import { StreamingContext, type Engine } from "../../lib/streaming/context.js";
import type { TextFileStreamOptions } from "../../lib/sources/s3/text-file-stream.js";

const enc = (s: string) => new TextEncoder().encode(s);

describe("lines, as Hadoop's TextInputFormat splits them", () => {
  it("ends lines at \\n, \\r\\n or \\r; a trailing line end adds no empty line; blank lines inside are lines", () => {
    expect(splitLines(enc(""))).toEqual([]);
    expect(splitLines(enc("a"))).toEqual(["a"]);
    expect(splitLines(enc("a\n"))).toEqual(["a"]);
    expect(splitLines(enc("a\nb"))).toEqual(["a", "b"]);
    expect(splitLines(enc("a\r\nb\r\n"))).toEqual(["a", "b"]);
    expect(splitLines(enc("a\rb\r"))).toEqual(["a", "b"]);
    expect(splitLines(enc("a\n\nb\n\n"))).toEqual(["a", "", "b", ""]);
    expect(splitLines(enc("\n"))).toEqual([""]);
    expect(splitLines(enc("a\r\n\r\nb"))).toEqual(["a", "", "b"]);
  });
  it("decodes UTF-8, drops a leading byte order mark and replaces bytes that are not UTF-8", () => {
    expect(splitLines(enc("\uFEFFzürich\n東京"))).toEqual(["zürich", "東京"]);
    expect(splitLines(new Uint8Array([0x61, 0xff, 0x0a, 0x62]))).toEqual(["a\uFFFD", "b"]);
  });
});

describe("directories and the default filter", () => {
  it("parses s3://bucket/prefix/, adding the trailing slash of a directory", () => {
    expect(parseS3Directory("s3://my-bucket/logs/")).toEqual({ bucket: "my-bucket", prefix: "logs/" });
    expect(parseS3Directory("s3://my-bucket/logs/2026")).toEqual({ bucket: "my-bucket", prefix: "logs/2026/" });
    expect(parseS3Directory("s3://my-bucket")).toEqual({ bucket: "my-bucket", prefix: "" });
    expect(parseS3Directory("s3://my-bucket/")).toEqual({ bucket: "my-bucket", prefix: "" });
  });
  it("refuses what is not an S3 directory, saying what is expected", () => {
    for (const bad of ["/tmp/logs", "s3://", "s3://UPPER/x/", "s3://b/logs/*/", "s3://b//x/", 42]) {
      expect(() => parseS3Directory(bad)).toThrow(InvalidArgumentError);
    }
    expect(() => parseS3Directory("hdfs://x/y")).toThrow(/Expected a directory "s3:\/\/bucket\/prefix\/".*got `"hdfs:\/\/x\/y"`/);
  });
  it("leaves out hidden names, _SUCCESS and files still being copied", () => {
    expect(defaultFileFilter("logs/part-00000")).toBe(true);
    expect(defaultFileFilter("logs/a.txt")).toBe(true);
    for (const k of ["logs/.a.txt", "logs/_SUCCESS", "logs/a.txt._COPYING_", "logs/a.txt.tmp", "logs/"]) expect(defaultFileFilter(k)).toBe(false);
  });
});

describe("which objects are new (selectNewFiles)", () => {
  const obj = (key: string, lastModified: number): ObjectInfo => ({ key: `p/${key}`, etag: `"${key}"`, size: 10, lastModified });
  const opts = { newFilesOnly: true, rememberMs: 60_000, maxFiles: 1000 };

  it("ignores what is present at the first batch, but not a later object of the same second", () => {
    const first = selectNewFiles([obj("a", 1000), obj("b", 5000)], "p/", undefined, opts);
    expect(first.selected).toEqual([]);
    const second = selectNewFiles([obj("a", 1000), obj("b", 5000), obj("c", 5000), obj("d", 9000)], "p/", first.state, opts);
    expect(second.selected.map((o) => o.key)).toEqual(["p/c", "p/d"]);
  });

  it("with newFilesOnly false reads the first batch's remember window, as Spark does", () => {
    const first = selectNewFiles([obj("old", 0), obj("a", 70_000), obj("b", 100_000)], "p/", undefined, { ...opts, newFilesOnly: false });
    expect(first.selected.map((o) => o.key)).toEqual(["p/a", "p/b"]);
  });

  it("remembers only the keys within the window of the newest, and ignores objects older than it", () => {
    let state: FileInputState | undefined = selectNewFiles([], "p/", undefined, opts).state;
    const listed: ObjectInfo[] = [];
    for (let t = 1; t <= 300; t++) {
      listed.push(obj(`f${t}`, t * 1000));
      const r = selectNewFiles(listed, "p/", state, opts);
      expect(r.selected.map((o) => o.key)).toEqual([`p/f${t}`]);
      state = r.state;
    }
    // 300 objects listed, 61 remembered: those of the last 60 s.
    expect(state!.seen.flatMap(([, ns]) => ns)).toHaveLength(61);
    expect(state!.watermark).toBe(300_000);
    // Appearing now with a LastModified 2 minutes behind: too old, ignored as Spark ignores old files.
    expect(selectNewFiles([...listed, obj("late", 180_000)], "p/", state, opts).selected).toEqual([]);
    // Within the window: read.
    expect(selectNewFiles([...listed, obj("recent", 250_000)], "p/", state, opts).selected.map((o) => o.key)).toEqual(["p/recent"]);
  });

  it("takes at most maxFiles, oldest first; the rest wait and are never aged out by the watermark", () => {
    const listed = [obj("n3", 3000), obj("n1", 1000), obj("n2", 2000), obj("n0", 1000)];
    const empty = selectNewFiles([], "p/", undefined, opts).state;
    const r1 = selectNewFiles(listed, "p/", empty, { ...opts, maxFiles: 2, rememberMs: 500 });
    expect(r1.selected.map((o) => o.key)).toEqual(["p/n0", "p/n1"]);
    const r2 = selectNewFiles(listed, "p/", r1.state, { ...opts, maxFiles: 2, rememberMs: 500 });
    expect(r2.selected.map((o) => o.key)).toEqual(["p/n2", "p/n3"]);
  });

  it("takes fewer objects when the batch record would grow too large, and names the fix when its state alone would", async () => {
    const files = new MemoryObjects({ precisionMs: 1 });
    const source = new FileStreamSource(files);
    const dir = parseS3Directory("s3://bucket/p/");
    const first = await source.allocate(dir, undefined, { ...opts, filter: defaultFileFilter });
    for (let i = 0; i < 40; i++) files.putObject("bucket", `p/${"k".repeat(60)}-${i}`, `${i}\n`, 1000 + i);
    const small = { ...opts, filter: defaultFileFilter, maxRecordBytes: 4096 };
    const a = await source.allocate(dir, first.state as FileInputState, small);
    const taken = a.blocks.flatMap((b) => b.objects as unknown[]).length;
    expect(taken).toBeGreaterThan(0);
    expect(taken).toBeLessThan(40);
    // Nothing lost: the next batches take the rest.
    const b = await source.allocate(dir, a.state as FileInputState, { ...small, maxRecordBytes: 64 * 1024 });
    expect(taken + b.blocks.flatMap((x) => x.objects as unknown[]).length).toBe(40);
    // 41 keys remembered within the window (the 40 and the new one): their state alone is over a 1 KiB limit.
    files.putObject("bucket", "p/one-more", "x\n", 2000);
    const error = await source.allocate(dir, b.state as FileInputState, { ...small, maxRecordBytes: 1024 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FileInputTooLargeError);
    expect((error as Error).message).toMatch(
      /textFileStream\("s3:\/\/bucket\/p\/"\) remembers 41 keys modified within its remember window of 60 s: .* over the 1 KiB .*Lower `minRememberDuration`/,
    );
  });

  it("groups small objects into blocks, in order", () => {
    const many = Array.from({ length: BLOCK_MAX_OBJECTS + 5 }, (_, i) => obj(`s${i}`, 1000));
    const blocks = groupBlocks("b", [...many, { ...obj("big", 2000), size: 9 * 2 ** 20 }]);
    expect(blocks.map((b) => b.objects.length)).toEqual([BLOCK_MAX_OBJECTS, 5, 1]);
    expect(blocks[0]!.objects[0]).toEqual({ key: "p/s0", etag: '"s0"', size: 10 });
  });
});

// ---------------------------------------------------------------------------------------------
// Whole runs on the in-memory engine.

interface Run {
  ssc: StreamingContext;
  clock: ManualClock;
  files: MemoryEngineServices["files"];
  /** Each run of each batch, in order: [time, sorted lines]. */
  runs: [number, string[]][];
  /** The latest output of each batch. */
  out: Map<number, string[]>;
}

function memoryRun(directory: string, options: TextFileStreamOptions = {}): Run {
  const clock = new ManualClock(0);
  const ssc = new StreamingContext({ batchInterval: Seconds(1), clock, retryDelayMs: 0, maxTaskAttempts: 1, print: () => undefined });
  const runs: [number, string[]][] = [];
  const out = new Map<number, string[]>();
  ssc.textFileStream(directory, options).foreachRDD(async (rdd, time) => {
    const lines = (await rdd.collect()).sort();
    runs.push([time.milliseconds, lines]);
    out.set(time.milliseconds, lines);
  });
  return { ssc, clock, files: (ssc.engine as MemoryEngineServices).files, runs, out };
}

async function step(r: Run, time: number): Promise<void> {
  const done = r.ssc.waitForBatch(time);
  r.clock.setTime(time);
  await done;
}

describe("textFileStream on the in-memory engine", () => {
  it("reads each new object once, in the first batch after it appears; present, hidden and nested ones are not read", async () => {
    const r = memoryRun("s3://inbox/logs/");
    try {
      r.files.putObject("inbox", "logs/old.txt", "old\n");
      r.ssc.start();
      await step(r, 1000);
      expect(r.out.get(1000)).toEqual([]);
      // Clock 1000: written between batch 1 and 2.
      r.files.putObject("inbox", "logs/a.txt", "a1\na2\n");
      r.files.putObject("inbox", "logs/.hidden", "hidden\n");
      r.files.putObject("inbox", "logs/_SUCCESS", "");
      r.files.putObject("inbox", "logs/b.txt._COPYING_", "copying\n");
      r.files.putObject("inbox", "logs/nested/x.txt", "nested\n");
      r.files.putObject("inbox", "other/y.txt", "elsewhere\n");
      // Written in the same second as old.txt, after the first listing: new, so read.
      r.files.putObject("inbox", "logs/same-second.txt", "same\n", 0);
      await step(r, 2000);
      expect(r.out.get(2000)).toEqual(["a1", "a2", "same"]);
      r.files.putObject("inbox", "logs/b.txt", "b1\r\nb2");
      await step(r, 3000);
      expect(r.out.get(3000)).toEqual(["b1", "b2"]);
      await step(r, 4000);
      expect(r.out.get(4000)).toEqual([]);
      r.files.putObject("inbox", "logs/c.txt", "c\n");
      // Overwriting a key already read does not read it again (Spark: updates are ignored).
      r.files.putObject("inbox", "logs/a.txt", "a1 again\n");
      await step(r, 5000);
      expect(r.out.get(5000)).toEqual(["c"]);
      // One LIST per batch here (each listing fits a page), and every object read once.
      expect(r.files.requests.list).toBe(5);
      expect(r.files.requests.get).toBe(4);
      const record = await r.ssc.engine.batchLog.getBatch(2000);
      const blocks = Object.values(record!.blocks)[0]!;
      expect(blocks).toHaveLength(1);
      expect(blocks[0]).toMatchObject({ source: "s3files", bucket: "inbox", count: 3 });
      expect((blocks[0]!.objects as { key: string }[]).map((o) => o.key).sort()).toEqual(["logs/a.txt", "logs/same-second.txt"]);
      expect(record!.inputRecords).toBe(3);
    } finally {
      await r.ssc.stop();
    }
  });

  it("with newFilesOnly: false reads the objects present at the start (within the remember window)", async () => {
    const r = memoryRun("s3://inbox/logs", { newFilesOnly: false });
    try {
      r.files.putObject("inbox", "logs/ancient.txt", "ancient\n", -120_000);
      r.files.putObject("inbox", "logs/old.txt", "old\n");
      r.ssc.start();
      await step(r, 1000);
      expect(r.out.get(1000)).toEqual(["old"]);
      await step(r, 2000);
      expect(r.out.get(2000)).toEqual([]);
    } finally {
      await r.ssc.stop();
    }
  });

  it("a custom filter replaces the default one, as in Spark", async () => {
    const r = memoryRun("s3://inbox/logs/", { filter: (key) => key.endsWith(".csv") });
    try {
      r.ssc.start();
      await step(r, 1000);
      r.files.putObject("inbox", "logs/a.csv", "x,1\n");
      r.files.putObject("inbox", "logs/b.txt", "no\n");
      r.files.putObject("inbox", "logs/_c.csv", "y,2\n");
      await step(r, 2000);
      expect(r.out.get(2000)).toEqual(["x,1", "y,2"]);
    } finally {
      await r.ssc.stop();
    }
  });

  it("lists page by page, and reads at most maxFilesPerBatch objects a batch, oldest first, each once", async () => {
    const r = memoryRun("s3://inbox/many/");
    try {
      r.ssc.start();
      await step(r, 1000);
      for (let i = 0; i < 2500; i++) r.files.putObject("inbox", `many/f${String(i).padStart(5, "0")}`, `line ${i}\n`);
      const lists = r.files.requests.list;
      await step(r, 2000);
      expect(r.files.requests.list - lists).toBe(3);
      expect(r.out.get(2000)).toHaveLength(1000);
      await step(r, 3000);
      await step(r, 4000);
      await step(r, 5000);
      expect([2000, 3000, 4000, 5000].map((t) => r.out.get(t)!.length)).toEqual([1000, 1000, 500, 0]);
      const all = [2000, 3000, 4000].flatMap((t) => r.out.get(t)!);
      expect(new Set(all).size).toBe(2500);
      // The first batch took the 1,000 first keys (all written in the same second).
      expect(r.out.get(2000)).toContain("line 0");
      expect(r.out.get(2000)).toContain("line 999");
      // Blocks of at most 128 objects: 8 blocks for 1,000 small files.
      const record = await r.ssc.engine.batchLog.getBatch(2000);
      expect(Object.values(record!.blocks)[0]).toHaveLength(8);
    } finally {
      await r.ssc.stop();
    }
  });

  it("a cold restart reruns the batch left running from its recorded objects, then goes on from its recorded state", async () => {
    const r = memoryRun("s3://inbox/logs/");
    try {
      const graph = r.ssc.prepare(0);
      await r.ssc.engine.batchLog.createApp({ zeroTime: 0, batchIntervalMs: 1000, fingerprint: graph.fingerprint(), createdAt: 0 });
      let gen = r.ssc.newGenerator();
      await gen.resume();
      r.files.putObject("inbox", "logs/present.txt", "present\n");
      r.clock.setTime(1000);
      await gen.runBatch(1000);
      r.files.putObject("inbox", "logs/a.txt", "a\n");
      r.clock.setTime(2000);
      await gen.runBatch(2000);
      // Arrives after batch 2000 was fixed: not part of it, even when it runs again.
      r.files.putObject("inbox", "logs/b.txt", "b\n");
      gen = r.ssc.newGenerator();
      await gen.resume();
      r.clock.setTime(3000);
      await gen.runBatch(3000);
      expect(r.runs).toEqual([
        [1000, []],
        [2000, ["a"]],
        [2000, ["a"]],
        [3000, ["b"]],
      ]);
    } finally {
      await r.ssc.stop();
    }
  });

  it("an object overwritten after its batch was recorded fails the rerun with InputObjectChangedError", async () => {
    const r = memoryRun("s3://inbox/logs/");
    try {
      const graph = r.ssc.prepare(0);
      await r.ssc.engine.batchLog.createApp({ zeroTime: 0, batchIntervalMs: 1000, fingerprint: graph.fingerprint(), createdAt: 0 });
      const gen = r.ssc.newGenerator();
      await gen.resume();
      r.clock.setTime(1000);
      await gen.runBatch(1000);
      r.files.putObject("inbox", "logs/a.txt", "a\n");
      r.files.putObject("inbox", "logs/gone.txt", "g\n");
      r.clock.setTime(2000);
      await gen.runBatch(2000);
      expect(r.out.get(2000)).toEqual(["a", "g"]);
      r.files.putObject("inbox", "logs/a.txt", "other bytes\n");
      const error = await r.ssc
        .newGenerator()
        .resume()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(TaskFailedError);
      const cause = (error as TaskFailedError).cause;
      expect(cause).toBeInstanceOf(InputObjectChangedError);
      expect(cause).toBeInstanceOf(MissingDataError);
      expect(cause).toMatchObject({ bucket: "inbox", key: "logs/a.txt", reason: "changed" });
      expect((cause as Error).message).toMatch(
        /s3:\/\/inbox\/logs\/a\.txt was overwritten after a batch recorded it with ETag ".*": .*Put the same bytes back/,
      );
      // The batch is failed in the log. The same bytes put back (same ETag), `sparkless retry` reruns it.
      expect((await r.ssc.engine.batchLog.getBatch(2000))!.status).toBe("failed");
      const retry = () =>
        r.ssc.engine.batchLog.updateBatch(2000, "failed", { status: "running", error: undefined, completedAt: undefined, retries: 1 });
      r.files.putObject("inbox", "logs/a.txt", "a\n");
      r.runs.length = 0;
      expect(await retry()).toBe(true);
      await r.ssc.newGenerator().resume();
      expect(r.runs).toEqual([[2000, ["a", "g"]]]);
      // A deleted object: "missing".
      await r.files.delete("inbox", ["logs/gone.txt"]);
      // The retried batch is left running (its completion rides in the next record): a cold start reruns it.
      const gone = await r.ssc
        .newGenerator()
        .resume()
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect((gone as TaskFailedError).cause).toMatchObject({ key: "logs/gone.txt", reason: "missing" });
      expect(((gone as TaskFailedError).cause as Error).message).toMatch(/was deleted after a batch recorded it/);
    } finally {
      await r.ssc.stop();
    }
  });

  it("refuses bad options, naming the value", () => {
    const ssc = new StreamingContext({ batchInterval: Seconds(1), print: () => undefined });
    expect(() => ssc.textFileStream("s3://inbox/x/", { maxFilesPerBatch: 0 })).toThrow(/`maxFilesPerBatch` to be a whole number >= 1, got `0`/);
    expect(() => ssc.textFileStream("s3://inbox/x/", { minRememberDuration: "soon" })).toThrow(InvalidArgumentError);
    expect(() => ssc.textFileStream("s3://inbox/x/", { newFilesOnly: "yes" as unknown as boolean })).toThrow(
      /`newFilesOnly` to be true or false, got `"yes"`/,
    );
    expect(() => ssc.textFileStream("file:///tmp")).toThrow(InvalidArgumentError);
  });
});

// ---------------------------------------------------------------------------------------------
// The same on the embedded engines: fauxqs' S3 (ListObjectsV2 pages, GetObject If-Match), the batch
// log in DynamoDB Local, and a fanned-out batch read by the Lambda worker handler through SQS.

describe("textFileStream on the embedded engines", () => {
  afterAll(() => stopSharedEngines(), 60_000);

  it("reads new objects once, paginates, reruns from the record, and refuses an overwritten object", async () => {
    const engines = await sharedEngines();
    const id = `tf${process.pid}`;
    const env = await prepareLocal({ app: id, endpoints: engines, visibilityTimeoutS: 10, maxReceiveCount: 10 });
    const engine: Engine = env.engine;
    const s3 = env.engine.clients.s3;
    const bucket = `${id}-input`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const put = (key: string, body: string) => s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    const runs: [number, string[]][] = [];
    const app: AppDefinition = {
      config: resolveConfig({ name: id, batchInterval: Seconds(1), maxTaskAttempts: 1, execution: { mode: "fan-out" } }),
      build: (ssc) => {
        ssc
          .textFileStream(`s3://${bucket}/in/`, { maxFilesPerBatch: 2000 })
          // A shuffle, so that fanned out, the stage reading the objects runs on the workers.
          .map((l): [string, number] => [l.toUpperCase(), 1])
          .reduceByKey((a, b) => a + b)
          .foreachRDD(async (rdd, time) => {
            runs.push([time.milliseconds, (await rdd.collect()).map(([k, n]) => `${k}${n > 1 ? ` x${n}` : ""}`).sort()]);
          });
      },
    };
    const clock = new ManualClock(0);
    const newContext = () => {
      const ssc = new StreamingContext({
        batchInterval: Seconds(1),
        clock,
        engine,
        appName: id,
        maxTaskAttempts: 1,
        retryDelayMs: 0,
        execution: { mode: "fan-out" },
        print: () => undefined,
      });
      app.build(ssc);
      const graph = ssc.prepare(0);
      return { ssc, graph };
    };
    const abort = new AbortController();
    const loops: Promise<void>[] = [];
    try {
      await put("in/present.txt", "present\n");
      const { ssc, graph } = newContext();
      await engine.batchLog.createApp({ zeroTime: 0, batchIntervalMs: 1000, fingerprint: graph.fingerprint(), createdAt: 0 });
      const worker = new Worker(app, engine, { clock });
      for (let w = 0; w < 2; w++) loops.push(runEventSourceMapping(engine.tasks, worker, abort.signal));
      let gen = ssc.newGenerator();
      await gen.resume();
      clock.setTime(1000);
      await gen.runBatch(1000, abort.signal);
      await put("in/a.txt", "a1\na2\n");
      await put("in/.a.txt.swp", "hidden\n");
      await put("in/sub/nested.txt", "nested\n");
      // More than one page of ListObjectsV2 (1,000 keys).
      for (let i = 0; i < 1050; i += 50) {
        await Promise.all(Array.from({ length: 50 }, (_, j) => put(`in/many-${String(i + j).padStart(4, "0")}`, `m${i + j}\n`)));
      }
      clock.setTime(2000);
      const done = await gen.runBatch(2000, abort.signal);
      expect(done.mode).toBe("fan-out");
      expect(runs.at(-1)![1]).toHaveLength(1052);
      expect(runs.at(-1)![1].slice(0, 2)).toEqual(["A1", "A2"]);
      await put("in/b.txt", "b\n");
      // A cold coordinator reruns batch 2000 from its record (the same 1,052 lines, not b), then reads b.
      gen = newContext().ssc.newGenerator();
      await gen.resume(abort.signal);
      expect(runs.at(-1)![0]).toBe(2000);
      expect(runs.at(-1)![1]).toHaveLength(1052);
      clock.setTime(3000);
      await gen.runBatch(3000, abort.signal);
      expect(runs.at(-1)).toEqual([3000, ["B"]]);
      // b.txt overwritten after batch 3000 was recorded: a rerun refuses it (S3 If-Match answers 412).
      await put("in/b.txt", "changed\n");
      const error = await newContext()
        .ssc.newGenerator()
        .resume(abort.signal)
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeInstanceOf(TaskFailedError);
      expect((error as Error).message).toMatch(/s3:\/\/.*\/in\/b\.txt was overwritten after a batch recorded it/);
    } finally {
      abort.abort();
      await Promise.allSettled(loops);
      await env.engine.close?.();
    }
  }, 180_000);
});
