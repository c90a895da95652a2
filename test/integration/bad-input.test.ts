// Bad records and bad configuration, on the real path: undecodable records are quarantined
// with their coordinates and the batch goes on; a user function that throws fails the batch
// with the record's coordinates; out-of-range configuration fails fast with a typed error.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { quarantineCommand } from "../../lib/cli/ops.js";
import { registerLocalRun } from "../../lib/cli/target.js";
import { defineApp } from "../../lib/app/app.js";
import { Milliseconds, Seconds } from "../../lib/core/duration.js";
import { InvalidArgumentError, TaskFailedError } from "../../lib/core/errors.js";
import type { EmbeddedEngines } from "../../lib/local/engines.js";
import { runBatchesLocal, sharedEngines, stopSharedEngines } from "../../lib/local/run-batches-local.js";
import { StreamingContext } from "../../lib/streaming/context.js";
import { byKey, putRecord, sleep, startHarness } from "./helpers.js";

let engines: EmbeddedEngines;
beforeAll(async () => {
  engines = await sharedEngines();
}, 120_000);
afterAll(stopSharedEngines, 60_000);

const counter = (r: object, name: string): unknown => (r as Record<string, unknown>)[name];

describe("a record the decoder cannot read is quarantined, and the batch goes on", () => {
  // The input is read by the output's own action (foreachRDD → collect), or by a shuffle's map stage.
  const cases = [
    {
      name: 'invalid JSON with decode: "json" (read by foreachRDD\'s collect)',
      app: "bad-json",
      decode: "json" as const,
      shuffle: false,
      good: [JSON.stringify({ w: "a" }), JSON.stringify({ w: "b" }), JSON.stringify({ w: "c" })],
      bad: Buffer.from("{not json"),
      error: /JSON/,
      expectGood: [{ w: "a" }, { w: "b" }, { w: "c" }],
    },
    {
      name: "invalid UTF-8 with the default decoder (read by a shuffle's map stage)",
      app: "bad-utf8",
      decode: undefined,
      shuffle: true,
      good: ["alpha", "beta", "alpha"],
      bad: Buffer.from([0x61, 0xff, 0xfe, 0x62]),
      error: /decode|utf-?8|encoded data/i,
      expectGood: [
        ["alpha", 2],
        ["beta", 1],
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const stream = `${c.app}-in`;
      const seen = new Map<number, unknown[]>();
      const app = defineApp({ name: c.app, batchInterval: Seconds(1) }, (ssc) => {
        const input = ssc.kinesisStream<unknown>(stream, c.decode ? { decode: c.decode } : {});
        const out = c.shuffle ? input.map((x): [unknown, number] => [x, 1]).reduceByKey((a, b) => a + b) : input;
        out.foreachRDD(async (rdd, time) => {
          seen.set(time.milliseconds, await rdd.collect());
        });
      });
      const h = await startHarness(engines, app, { streams: { [stream]: 1 } });
      try {
        await putRecord(h.kinesis, stream, c.good[0]!);
        const bad = await putRecord(h.kinesis, stream, c.bad);
        await putRecord(h.kinesis, stream, c.good[1]!);
        await putRecord(h.kinesis, stream, c.good[2]!);
        const r = await h.nextBatch();
        expect(r.status, r.error).toBe("completed");
        expect(r.inputRecords).toBe(4);
        const out = seen.get(r.time)!;
        expect(c.shuffle ? byKey(out as [string, number][]) : out).toEqual(c.expectGood);

        const q = await h.env.engine.quarantine.list();
        expect(q).toHaveLength(1);
        const [entry] = q;
        expect(entry).toMatchObject({ stream, shard: bad.shardId, sequenceNumber: bad.sequenceNumber, batchTime: r.time });
        expect(entry!.error).toMatch(c.error);
        expect(entry!.size).toBe(c.bad.byteLength);
        expect(Buffer.from(await h.env.engine.quarantine.read(entry!))).toEqual(c.bad);
        expect(counter(r, "quarantinedRecords")).toBe(1);

        // the next batch is clean: nothing new quarantined, nothing read twice
        await putRecord(h.kinesis, stream, c.good[0]!);
        const r2 = await h.nextBatch();
        expect(r2.status, r2.error).toBe("completed");
        expect(r2.inputRecords).toBe(1);
        expect(counter(r2, "quarantinedRecords") ?? 0).toBe(0);
        expect(await h.env.engine.quarantine.list()).toHaveLength(1);
      } finally {
        await h.stop();
      }
    });
  }

  it("a bad record in an input that two outputs read is quarantined once", async () => {
    const stream = "bad-twice-in";
    const seen: unknown[][] = [];
    const app = defineApp({ name: "bad-twice", batchInterval: Seconds(1) }, (ssc) => {
      const input = ssc.kinesisStream<{ n: number }>(stream, { decode: "json" });
      input
        .map((x): [number, number] => [x.n % 2, 1])
        .reduceByKey((a, b) => a + b)
        .foreachRDD(async (rdd) => {
          seen.push(await rdd.collect());
        });
      input.count().foreachRDD(async (rdd) => {
        seen.push(await rdd.collect());
      });
    });
    const h = await startHarness(engines, app, { streams: { [stream]: 1 } });
    try {
      await putRecord(h.kinesis, stream, JSON.stringify({ n: 1 }));
      const bad = await putRecord(h.kinesis, stream, "not json at all");
      await putRecord(h.kinesis, stream, JSON.stringify({ n: 2 }));
      const r = await h.nextBatch();
      expect(r.status, r.error).toBe("completed");
      expect(seen).toContainEqual([2]); // count() of the two good records
      const q = await h.env.engine.quarantine.list();
      expect(q.map((e) => e.sequenceNumber)).toEqual([bad.sequenceNumber]);
      expect(counter(r, "quarantinedRecords")).toBe(1);
    } finally {
      await h.stop();
    }
  });
});

describe("a user function that throws", () => {
  it("on one record: the record is quarantined as a poison record with its stream, shard, sequence number and error; the rest of the batch is processed", async () => {
    const stream = "bad-throw-in";
    const seen = new Map<number, [string, number][]>();
    const failures: unknown[] = [];
    const app = defineApp({ name: "bad-throw", batchInterval: Seconds(1), maxTaskAttempts: 2 }, (ssc) => {
      ssc.addStreamingListener({
        onBatchFailed: (_r, e) => {
          failures.push(e);
        },
      });
      ssc
        .kinesisStream(stream)
        .map((line) => {
          if (line === "boom") throw new Error("cannot handle boom");
          return line.toUpperCase();
        })
        .map((w): [string, number] => [w, 1])
        .reduceByKey((a, b) => a + b)
        .foreachRDD(async (rdd, time) => {
          seen.set(time.milliseconds, byKey(await rdd.collect()));
        });
    });
    const h = await startHarness(engines, app, { streams: { [stream]: 1 } });
    try {
      await putRecord(h.kinesis, stream, "fine");
      const bad = await putRecord(h.kinesis, stream, "boom");
      await putRecord(h.kinesis, stream, "also fine");
      await putRecord(h.kinesis, stream, "fine");
      const r = await h.nextBatch();
      expect(r.status, r.error).toBe("completed");
      expect(failures).toEqual([]);
      expect(seen.get(r.time)).toEqual([
        ["ALSO FINE", 1],
        ["FINE", 2],
      ]);
      const q = await h.env.engine.quarantine.list();
      expect(q).toHaveLength(1);
      expect(q[0]).toMatchObject({ stream, shard: bad.shardId, sequenceNumber: bad.sequenceNumber, partitionKey: "k", batchTime: r.time, size: 4 });
      expect(Buffer.from(await h.env.engine.quarantine.read(q[0]!)).toString()).toBe("boom");
      // The task ran again without the record: each record is counted once.
      expect(r.inputRecords).toBe(4);
      expect(q[0]!.error).toContain("cannot handle boom");
      expect(counter(r, "quarantinedRecords")).toBe(1);
    } finally {
      await h.stop();
    }
  });

  it("on a 1 MiB record: the record is kept whole, listed by its stream's name, size and preview, and replay puts back exactly its bytes", async () => {
    const name = `bad-big${process.pid}`;
    const stream = `${name}-in`;
    // 1 MiB with its partition key (a record's most at the default limit), not UTF-8, starting with a line end and a NUL.
    const big = Buffer.alloc(1024 * 1024 - "pk-big".length);
    for (let i = 0, x = 7; i < big.length; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      big[i] = x >>> 24;
    }
    big.set([0x0a, 0x00, 0xff, 0xfe], 0);
    const seen = new Map<number, number[]>();
    const app = defineApp({ name, batchInterval: Seconds(1), maxTaskAttempts: 2 }, (ssc) => {
      ssc
        .kinesisStream<Uint8Array>(stream, { decode: (r) => r.data })
        .map((bytes) => {
          if (bytes.byteLength > 300 * 1024) throw new Error(`a record of ${bytes.byteLength} bytes is too big to handle`);
          return bytes.byteLength;
        })
        .foreachRDD(async (rdd, time) => {
          seen.set(time.milliseconds, await rdd.collect());
        });
    });
    const h = await startHarness(engines, app, { streams: { [stream]: 1 } });
    const cwd = mkdtempSync(path.join(tmpdir(), "sparkless-bad-big-"));
    const unregister = registerLocalRun(
      {
        app: name,
        pid: process.pid,
        endpoints: { kinesis: engines.kinesis, dynamodb: engines.dynamodb, sqs: engines.sqs },
        streams: [stream],
        startedAt: Date.now(),
      },
      cwd,
    );
    const io = () => {
      let out = "";
      return {
        stdout: {
          write: (t: string) => {
            out += t;
            return true;
          },
        },
        stderr: { write: () => true },
        stdin: new PassThrough(),
        env: {},
        cwd,
        out: () => out,
      };
    };
    try {
      await putRecord(h.kinesis, stream, "small");
      const bad = await putRecord(h.kinesis, stream, big, "pk-big");
      await putRecord(h.kinesis, stream, "also small");
      const r = await h.nextBatch();
      expect(r.status, r.error).toBe("completed");
      expect(r.inputRecords).toBe(3);
      expect(r.quarantinedRecords).toBe(1);
      expect(seen.get(r.time)).toEqual([5, 10]);

      const [entry] = await h.env.engine.quarantine.list();
      expect(entry).toMatchObject({ stream, shard: bad.shardId, sequenceNumber: bad.sequenceNumber, partitionKey: "pk-big", size: big.length });
      expect(entry!.unrecoverable).toBeUndefined();
      expect(Buffer.from(await h.env.engine.quarantine.read(entry!)).equals(big)).toBe(true);

      const list = io();
      expect(await quarantineCommand(["--app", name], list)).toBe(0);
      expect(list.out()).toContain(`stream ${stream}  shard ${bad.shardId}  sequence ${bad.sequenceNumber}`);
      expect(list.out()).toMatch(/record: 1024 KiB \(1,048,570 bytes\) {2}"\\n\\x00\\xff\\xfe.*"…\n/);
      expect(list.out()).toContain("a function threw on it");

      const replay = io();
      expect(await quarantineCommand(["replay", "--app", name], replay)).toBe(0);
      expect(replay.out()).toContain("replayed 1 of 1 record(s)");
      // The replayed record comes back through the stream, with its partition key, and is quarantined again, byte for byte.
      const again = await h.nextBatch();
      expect(again.inputRecords).toBe(1);
      expect(again.quarantinedRecords).toBe(1);
      const entries = await h.env.engine.quarantine.list();
      const second = entries.find((e) => e.batchTime === again.time)!;
      expect(second).toMatchObject({ stream, partitionKey: "pk-big", size: big.length });
      expect(second.sequenceNumber).not.toBe(bad.sequenceNumber);
      expect(Buffer.from(await h.env.engine.quarantine.read(second)).equals(big)).toBe(true);
    } finally {
      unregister();
      await h.stop();
    }
  });

  it("not on a record (in foreachRDD): the batch fails with a TaskFailedError after maxTaskAttempts, naming the batch and the error", async () => {
    const stream = "bad-output-in";
    const failures: unknown[] = [];
    let calls = 0;
    const app = defineApp({ name: "bad-output", batchInterval: Seconds(1), maxTaskAttempts: 2 }, (ssc) => {
      ssc.addStreamingListener({
        onBatchFailed: (_r, e) => {
          failures.push(e);
        },
      });
      ssc.kinesisStream(stream).foreachRDD(async (rdd) => {
        calls++;
        if ((await rdd.count()) > 0) throw new Error("the sink is down");
      });
    });
    const h = await startHarness(engines, app, { streams: { [stream]: 1 } });
    try {
      await putRecord(h.kinesis, stream, "x");
      const r = await h.nextBatch();
      expect(r.status).toBe("failed");
      expect(r.error).toContain("the sink is down");
      expect(r.error).toContain(`batch ${r.time}`);
      expect(r.error).toMatch(/failed 2 time\(s\)/);
      expect(calls).toBe(2);
      // the worker's context (which ran the task) reports it, just after marking the batch failed;
      // the coordinator's context runs no tasks
      for (let i = 0; i < 100 && failures.length === 0; i++) await sleep(20);
      expect(failures).toHaveLength(1);
      const failure = failures[0] as TaskFailedError;
      expect(failure).toBeInstanceOf(TaskFailedError);
      expect(failure.batchTime).toBe(r.time);
      expect(failure.attempts).toBe(2);
      expect((failure.cause as Error).message).toBe("the sink is down");
      expect(await h.env.engine.quarantine.list()).toEqual([]);
    } finally {
      await h.stop();
    }
  });

  it('through runBatches({ engine: "local" }): a failing mapPartitions makes it throw a TaskFailedError', async () => {
    const run = runBatchesLocal<number>(
      {
        batchInterval: Seconds(1),
        inputs: [
          [
            [1, 2, 3],
            [4, 13, 5],
          ],
        ],
        pipeline: (s) =>
          s.mapPartitions((xs: number[]) => {
            if (xs.includes(13)) throw new Error("unlucky 13");
            return xs.map((x) => x * 2);
          }),
      },
      2,
      1,
    );
    const e = await run.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(TaskFailedError);
    expect((e as TaskFailedError).batchTime).toBe(2000);
    expect((e as Error).message).toMatch(/unlucky 13/);
  });
});

describe("configuration out of range: typed errors naming the value, the limit and the fix", () => {
  const build = () => undefined;
  const saved = process.env.SPARKLESS_CONFIG;
  afterEach(() => {
    if (saved === undefined) delete process.env.SPARKLESS_CONFIG;
    else process.env.SPARKLESS_CONFIG = saved;
  });
  const expectError = (f: () => unknown, ...parts: (string | RegExp)[]) => {
    let error: unknown;
    try {
      f();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidArgumentError);
    for (const p of parts) expect((error as Error).message).toMatch(p);
  };

  it('defineApp batchInterval "50ms" and Seconds(2000)', () => {
    expectError(() => defineApp({ name: "ok", batchInterval: "50ms" }, build), "50 ms", "100 ms", "15 minutes", /Seconds\(n\)/);
    expectError(() => defineApp({ name: "ok", batchInterval: Seconds(2000) }, build), "2000000 ms", "100 ms", "15 minutes", /Seconds\(n\)/);
    expectError(() => defineApp({ name: "ok", batchInterval: "2 fortnights" }, build), "2 fortnights", /500ms/);
  });

  it("defineApp name with spaces, defaultParallelism 0", () => {
    expectError(() => defineApp({ name: "my app", batchInterval: "1s" }, build), '"my app"', "1 to 48 characters", "[a-zA-Z0-9-]");
    expectError(() => defineApp({ name: "x".repeat(49), batchInterval: "1s" }, build), "1 to 48 characters");
    expectError(() => defineApp({ name: "ok", batchInterval: "1s", defaultParallelism: 0 }, build), "defaultParallelism", ">= 1", "`0`");
    expectError(() => defineApp({ name: "ok", batchInterval: "1s", maxTaskAttempts: 1.5 }, build), "maxTaskAttempts", ">= 1", "`1.5`");
  });

  it("kinesisStream with an invalid name, maxRecordsPerShard 0", () => {
    const ssc = new StreamingContext({ batchInterval: Seconds(1), print: () => undefined });
    expectError(() => ssc.kinesisStream("no spaces allowed"), '"no spaces allowed"', "1 to 128 characters", "[a-zA-Z0-9_.-]");
    expectError(() => ssc.kinesisStream(""), "1 to 128 characters");
    expectError(() => ssc.kinesisStream("ok", { maxRecordsPerShard: 0 }), "maxRecordsPerShard", ">= 1", "`0`");
    expectError(() => ssc.kinesisStream("ok", { decode: "yaml" as never }), '"yaml"', /"utf8", "json", "codec" or a function/);
  });

  it("StreamingContext batchInterval Milliseconds(0)", () => {
    expectError(() => new StreamingContext({ batchInterval: Milliseconds(0) }), "0 ms", "> 0", /Seconds\(n\)/);
  });

  it("SPARKLESS_CONFIG that is not JSON, or that sets a value out of range", () => {
    process.env.SPARKLESS_CONFIG = "{batchInterval: 2s}";
    expectError(
      () => defineApp({ name: "ok", batchInterval: "1s" }, build),
      "SPARKLESS_CONFIG",
      "not valid JSON",
      "{batchInterval: 2s}",
      /\{"batchInterval":"2s"\}/,
    );
    process.env.SPARKLESS_CONFIG = JSON.stringify({ batchInterval: "20m" });
    expectError(() => defineApp({ name: "ok", batchInterval: "1s" }, build), "1200000 ms", "15 minutes");
    process.env.SPARKLESS_CONFIG = JSON.stringify({ batchInterval: "3s" });
    expect(defineApp({ name: "ok", batchInterval: "1s" }, build).config.batchInterval.milliseconds).toBe(3000);
  });
});
