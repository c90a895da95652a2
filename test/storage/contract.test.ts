/**
 * The storage contract: one suite, run against the in-memory twins (lib/storage/memory.ts) and the AWS
 * adapters (lib/aws/) on the embedded engines, so the two cannot drift. Each test takes stores under an
 * app name of its own (`fresh()`), and each queue test new queues.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PAGE_BYTES } from "../../lib/checkpoint/pages.js";
import { DeleteCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { encode } from "../../lib/core/codec.js";
import { MissingDataError, QuarantineDataError } from "../../lib/core/errors.js";
import { canonical } from "../../lib/core/keys.js";
import { taskKeyId } from "../../lib/storage/memory.js";
import type {
  AppInfo,
  BatchRecord,
  CheckpointManifest,
  MessageQueue,
  QuarantinedRecord,
  QuarantineEntry,
  Received,
  StateEntry,
  TaskKey,
  TaskMessage,
  TaskResult,
} from "../../lib/storage/interfaces.js";
import { awsBackend, memoryBackend, type Backend, type PageStoreName, type Queues, type Stores } from "./backends.js";

// ---------------------------------------------------------------------------------------------
// fixtures

/** A batch record as the job generator writes it: blocks, input positions, the writer; running. */
function record(time: number, extra: Partial<BatchRecord> = {}): BatchRecord {
  return {
    time,
    blocks: {
      "input-1": [{ source: "kinesis", stream: "words", shard: "shardId-000000000000", from: "4960", to: "4970", count: 3 }],
      "input-2": [{ source: "memory", id: `m${time}`, count: 0 }],
    },
    inputState: { "input-1": { "shardId-000000000000": "4970", seen: new Map([["s", 1n]]) } },
    status: "running",
    generatedAt: time + 5,
    writer: "coordinator-a",
    ...extra,
  };
}

/** The record of one batch inside an empty run, as reads make it up. */
function madeUpEmpty(time: number, run: BatchRecord): BatchRecord {
  return {
    time,
    blocks: run.emptyBlocks ?? {},
    status: "completed",
    generatedAt: run.generatedAt,
    completedAt: run.generatedAt,
    inputRecords: 0,
    empty: true,
    writer: run.writer!,
  };
}

function manifest(time: number, writer = "coordinator-a"): CheckpointManifest {
  return {
    time,
    writer,
    createdAt: time + 7,
    streams: {
      "state-3": {
        time,
        kind: "delta",
        base: Math.max(0, time - 1000),
        fullAt: 0,
        key: `state-3/${time}/${writer}`,
        pages: 2,
        partitions: 4,
        hashPartitions: 4,
        entries: 10,
        bytes: 300,
        fullBytes: 1000,
        chainBytes: 1300,
        chainLength: 2,
        fullWrittenAt: 5,
      },
      "window-5": {
        time,
        kind: "full",
        fullAt: time,
        key: `window-5/${time}/${writer}`,
        pages: 1,
        partitions: 2,
        entries: 3,
        bytes: 40,
        fullBytes: 40,
        chainBytes: 40,
        chainLength: 1,
        fullWrittenAt: time + 3,
      },
    },
  };
}

/** Deterministic bytes that do not compress (xorshift32 seeded by `seed`). */
function noise(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = Math.imul(seed + 1, 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}
const digest = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
/** Page for page, the same length and the same bytes (compared by digest, so a failure prints short). */
function expectSameBytes(actual: readonly Uint8Array[], expected: readonly Uint8Array[]): void {
  expect(actual.map((p) => p.length)).toEqual(expected.map((p) => p.length));
  expect(actual.map(digest)).toEqual(expected.map(digest));
}

/**
 * Pages in the large-checkpoint test: 48 (16.4 MiB) is past the 16 MB one BatchGetItem answer holds, so
 * DynamoPages must read the unprocessed keys again. S3Pages writes one object, and fauxqs takes at most
 * 11 MiB a request (real S3 takes 5 GB), so on S3 the test stays under that.
 */
const largeCheckpointPages = (pages: PageStoreName) => (pages === "s3" ? 30 : 48);

const byKey = (entries: StateEntry[]) => [...entries].sort((a, b) => (canonical(a.key) < canonical(b.key) ? -1 : 1));

const task = (partition: number, extra: Partial<TaskMessage> = {}): TaskMessage => ({
  batchTime: 1000,
  runId: "run-1",
  stage: 1,
  stageId: "1:shuffle-4",
  numTasks: 40,
  partition,
  attempt: 1,
  stored: ["state-3@0"],
  ...extra,
});
const result = (partition: number, extra: Partial<TaskResult> = {}): TaskResult =>
  ({
    batchTime: 1000,
    runId: "run-1",
    stage: 1,
    partition,
    attempt: 1,
    worker: "w-1",
    ok: true,
    output: { buckets: [[["a", 1]], []] },
    counters: { records: partition },
    quarantined: [],
    ...extra,
  }) as TaskResult;

/** The two queues of the engine, driven by the same tests. */
interface QueueCase {
  readonly name: string;
  pick(queues: Queues): MessageQueue<unknown>;
  message(i: number): unknown;
  /** A message carrying what JSON alone would lose: undefined, a Map, a bigint. */
  rich(): unknown;
  id(message: unknown): number;
}
const queueCases: QueueCase[] = [
  {
    name: "task queue",
    pick: (q) => q.tasks as MessageQueue<unknown>,
    message: (i) => task(i),
    rich: () =>
      task(7, {
        inputs: {
          "shuffle-2": {
            parts: [
              [
                [
                  "k",
                  new Map<unknown, unknown>([
                    ["n", 12345678901234567890n],
                    ["u", undefined],
                  ]),
                ],
                [undefined, -0],
              ],
              { key: "inputs/b", start: 3, end: 9 },
            ],
          },
        },
      }),
    id: (m) => (m as TaskMessage).partition,
  },
  {
    name: "result queue",
    pick: (q) => q.results as MessageQueue<unknown>,
    message: (i) => result(i),
    rich: () => result(7, { output: { buckets: [[["w", 2n ** 70n]], [[undefined, new Map([[1, { u: undefined }]])]]] } } as Partial<TaskResult>),
    id: (m) => (m as TaskResult).partition,
  },
];

/** Receives until `n` messages arrived (or 10 s passed), long-polling a second at a time. */
async function receiveN(queue: MessageQueue<unknown>, n: number): Promise<Received<unknown>[]> {
  const got: Received<unknown>[] = [];
  const deadline = Date.now() + 10_000;
  while (got.length < n && Date.now() < deadline) got.push(...(await queue.receive({ max: 10, waitMs: 1000 })));
  return got;
}
/** What is visible now, without waiting. */
const visibleNow = (queue: MessageQueue<unknown>) => queue.receive({ max: 10, waitMs: 0 });

// ---------------------------------------------------------------------------------------------

describe.each([memoryBackend, awsBackend()] as Backend[])("storage contract: $name", (backend) => {
  const fresh = (options?: Parameters<Backend["make"]>[0]): Promise<Stores> => backend.make(options);

  beforeAll(() => backend.setup(), 180_000);
  afterAll(() => backend.teardown(), 60_000);

  describe("BatchLog", () => {
    const app: AppInfo = {
      zeroTime: 1_000,
      batchIntervalMs: 1_000,
      createdAt: 17,
      fingerprint: [
        { id: "input-1", kind: "kinesis", input: "words" },
        { id: "state-3", kind: "mapWithState", partitions: 4 },
      ],
    };

    it("getApp is undefined until createApp; a second createApp keeps and returns the first info", async () => {
      const { batchLog } = await fresh();
      expect(await batchLog.getApp()).toBeUndefined();
      expect(await batchLog.createApp(app)).toEqual(app);
      const other: AppInfo = { ...app, zeroTime: 5_000, fingerprint: [] };
      expect(await batchLog.createApp(other)).toEqual(app);
      expect(await batchLog.getApp()).toEqual(app);
    });

    it("updateApp replaces the stored info", async () => {
      const { batchLog } = await fresh();
      await batchLog.createApp(app);
      const upgraded: AppInfo = { ...app, fingerprint: [...app.fingerprint, { id: "window-5", kind: "window" }] };
      await batchLog.updateApp(upgraded);
      expect(await batchLog.getApp()).toEqual(upgraded);
    });

    it("getBatch returns a stored record as it was written", async () => {
      const { batchLog } = await fresh();
      const rec = record(1000, { inputRecords: 0, quarantinedRecords: 2, mode: "fan-out", startedAt: 1006, retries: 1 });
      expect(await batchLog.createBatch(rec)).toBe(true);
      const got = await batchLog.getBatch(1000);
      expect(got).toEqual(rec);
      expect((got!.inputState!["input-1"] as { seen: unknown }).seen).toBeInstanceOf(Map);
    });

    it("createBatch is create-if-absent: a second create for the same time returns false and changes nothing", async () => {
      const { batchLog } = await fresh();
      expect(await batchLog.createBatch(record(1000))).toBe(true);
      expect(await batchLog.createBatch(record(1000, { generatedAt: 99, status: "failed", blocks: {}, writer: "coordinator-b" }))).toBe(false);
      expect(await batchLog.getBatch(1000)).toEqual(record(1000));
      expect(await batchLog.listBatches()).toEqual([record(1000)]);
    });

    it("getBatch of a time outside every record is undefined", async () => {
      const { batchLog } = await fresh();
      expect(await batchLog.getBatch(1000)).toBeUndefined();
      await batchLog.createBatch(record(2000));
      await batchLog.createBatch(record(4000));
      expect(await batchLog.getBatch(1000)).toBeUndefined();
      expect(await batchLog.getBatch(3000)).toBeUndefined();
      expect(await batchLog.getBatch(5000)).toBeUndefined();
    });

    it("each time of an empty run reads as a made-up empty, completed batch; the run's own record reads as stored", async () => {
      const { batchLog } = await fresh();
      const emptyBlocks = { "input-1": [{ source: "kinesis", stream: "words", shard: "shardId-000000000000", count: 0 }] };
      const run = record(5000, { emptyFrom: 2000, emptyBlocks });
      await batchLog.createBatch(record(1000));
      await batchLog.createBatch(run);
      for (const t of [2000, 3000, 4000]) expect(await batchLog.getBatch(t)).toEqual(madeUpEmpty(t, run));
      expect((await batchLog.getBatch(3000))!.empty).toBe(true);
      expect(await batchLog.getBatch(5000)).toEqual(run);
      expect((await batchLog.getBatch(5000))!.empty).toBeUndefined();
      expect(await batchLog.getBatch(1000)).toEqual(record(1000));
      expect(await batchLog.getBatch(6000)).toBeUndefined();
    });

    it("an empty run without emptyBlocks reads as batches with no blocks; one before the run is outside it", async () => {
      const { batchLog } = await fresh();
      const run = record(4000, { emptyFrom: 3000 });
      await batchLog.createBatch(run);
      expect(await batchLog.getBatch(3000)).toEqual(madeUpEmpty(3000, run));
      expect((await batchLog.getBatch(3000))!.blocks).toEqual({});
      expect(await batchLog.getBatch(2000)).toBeUndefined();
    });

    it("listBatches leaves an empty run as stored: one record with emptyFrom", async () => {
      const { batchLog } = await fresh();
      const run = record(5000, { emptyFrom: 2000, emptyBlocks: {} });
      await batchLog.createBatch(record(1000));
      await batchLog.createBatch(run);
      expect(await batchLog.listBatches()).toEqual([record(1000), run]);
    });

    it("a running record reads as completed once the next record carries its completion note", async () => {
      const { batchLog } = await fresh();
      await batchLog.createBatch(record(1000, { startedAt: 1006 }));
      expect((await batchLog.getBatch(1000))!.status).toBe("running");
      await batchLog.createBatch(record(2000, { previous: { time: 1000, completedAt: 1900, startedAt: 1001, quarantinedRecords: 2 } }));
      // the record's own startedAt wins over the note's
      expect(await batchLog.getBatch(1000)).toEqual({
        ...record(1000, { startedAt: 1006 }),
        status: "completed",
        completedAt: 1900,
        quarantinedRecords: 2,
      });
      expect((await batchLog.getBatch(2000))!.status).toBe("running");
    });

    it("a completion note gives startedAt to a record without one", async () => {
      const { batchLog } = await fresh();
      await batchLog.createBatch(record(1000));
      await batchLog.createBatch(record(2000, { previous: { time: 1000, completedAt: 1900, startedAt: 1010 } }));
      const got = await batchLog.getBatch(1000);
      expect(got).toEqual({ ...record(1000), status: "completed", completedAt: 1900, startedAt: 1010 });
    });

    it("a completion note for another time, or after a failed record, completes nothing", async () => {
      const { batchLog } = await fresh();
      await batchLog.createBatch(record(1000));
      await batchLog.createBatch(record(3000, { previous: { time: 2000, completedAt: 2900 } }));
      expect(await batchLog.getBatch(1000)).toEqual(record(1000));
      await batchLog.createBatch(record(4000, { status: "failed", error: "boom" }));
      await batchLog.createBatch(record(5000, { previous: { time: 4000, completedAt: 4900 } }));
      expect((await batchLog.getBatch(4000))!.status).toBe("failed");
      expect((await batchLog.listBatches()).map((b) => b.status)).toEqual(["running", "running", "failed", "running"]);
    });

    it("listBatches applies completion notes, the last record's from the record after the limit", async () => {
      const { batchLog } = await fresh();
      await batchLog.createBatch(record(1000));
      for (const t of [2000, 3000, 4000]) await batchLog.createBatch(record(t, { previous: { time: t - 1000, completedAt: t - 100 } }));
      const statuses = async (o?: { fromTime?: number; limit?: number }) =>
        (await batchLog.listBatches(o)).map((b) => [b.time, b.status, b.completedAt]);
      expect(await statuses()).toEqual([
        [1000, "completed", 1900],
        [2000, "completed", 2900],
        [3000, "completed", 3900],
        [4000, "running", undefined],
      ]);
      expect(await statuses({ limit: 2 })).toEqual([
        [1000, "completed", 1900],
        [2000, "completed", 2900],
      ]);
      expect(await statuses({ fromTime: 2500, limit: 1 })).toEqual([[3000, "completed", 3900]]);
      expect(await statuses({ fromTime: 3000, limit: 5 })).toEqual([
        [3000, "completed", 3900],
        [4000, "running", undefined],
      ]);
    });

    it("latestBatch(before) applies the completion note of the record after it; latestBatch() reads the latest as stored", async () => {
      const { batchLog } = await fresh();
      await batchLog.createBatch(record(1000));
      await batchLog.createBatch(record(2000));
      await batchLog.createBatch(record(3000, { previous: { time: 2000, completedAt: 2950, quarantinedRecords: 1 } }));
      expect(await batchLog.latestBatch(3000)).toEqual({ ...record(2000), status: "completed", completedAt: 2950, quarantinedRecords: 1 });
      expect(await batchLog.latestBatch(2500)).toEqual({ ...record(2000), status: "completed", completedAt: 2950, quarantinedRecords: 1 });
      expect(await batchLog.latestBatch(2000)).toEqual(record(1000));
      expect(await batchLog.latestBatch()).toEqual(record(3000, { previous: { time: 2000, completedAt: 2950, quarantinedRecords: 1 } }));
    });

    it("updateBatch applies its patch only while the status is the expected one", async () => {
      const { batchLog } = await fresh();
      await batchLog.createBatch(record(1000));
      expect(await batchLog.updateBatch(1000, "failed", { status: "completed", completedAt: 7 })).toBe(false);
      expect(await batchLog.getBatch(1000)).toEqual(record(1000));
      expect(await batchLog.updateBatch(1000, "running", { status: "failed", error: "boom", completedAt: 1030, mode: "fan-out" })).toBe(true);
      expect(await batchLog.getBatch(1000)).toEqual({ ...record(1000), status: "failed", error: "boom", completedAt: 1030, mode: "fan-out" });
      expect(await batchLog.updateBatch(1000, "running", { status: "completed", completedAt: 1040 })).toBe(false);
      expect((await batchLog.getBatch(1000))!.status).toBe("failed");
    });

    it("updateBatch removes a field patched to undefined and keeps the others", async () => {
      const { batchLog } = await fresh();
      await batchLog.createBatch(record(1000, { status: "failed", error: "boom", completedAt: 1030, inputRecords: 3 }));
      // `sparkless retry`: failed → running, the error and the completion time cleared
      expect(await batchLog.updateBatch(1000, "failed", { status: "running", error: undefined, completedAt: undefined, retries: 1 })).toBe(true);
      const got = await batchLog.getBatch(1000);
      expect(got).toEqual({ ...record(1000), inputRecords: 3, retries: 1 });
      expect(got!.error).toBeUndefined();
      expect(got!.completedAt).toBeUndefined();
    });

    it("updateBatch of a time with no record returns false and creates nothing", async () => {
      const { batchLog } = await fresh();
      expect(await batchLog.updateBatch(5000, "running", { status: "failed", error: "boom" })).toBe(false);
      expect(await batchLog.getBatch(5000)).toBeUndefined();
      expect(await batchLog.listBatches()).toEqual([]);
    });

    it("latestBatch() is the latest record; latestBatch(before) the latest strictly before; undefined when there is none", async () => {
      const { batchLog } = await fresh();
      expect(await batchLog.latestBatch()).toBeUndefined();
      for (const t of [3000, 1000, 12000, 2000]) await batchLog.createBatch(record(t));
      expect(await batchLog.latestBatch()).toEqual(record(12000));
      expect(await batchLog.latestBatch(12000)).toEqual(record(3000));
      expect(await batchLog.latestBatch(2500)).toEqual(record(2000));
      expect(await batchLog.latestBatch(99_000)).toEqual(record(12000));
      expect(await batchLog.latestBatch(1000)).toBeUndefined();
    });

    it("listBatches returns records in time order from fromTime on, at most limit", async () => {
      const { batchLog } = await fresh();
      for (const t of [3000, 1000, 12000, 2000, 0, 5000]) await batchLog.createBatch(record(t));
      const times = async (o?: { fromTime?: number; limit?: number }) => (await batchLog.listBatches(o)).map((b) => b.time);
      expect(await times()).toEqual([0, 1000, 2000, 3000, 5000, 12000]);
      expect(await times({ fromTime: 2000 })).toEqual([2000, 3000, 5000, 12000]);
      expect(await times({ fromTime: 2500 })).toEqual([3000, 5000, 12000]);
      expect(await times({ limit: 2 })).toEqual([0, 1000]);
      expect(await times({ fromTime: 3000, limit: 2 })).toEqual([3000, 5000]);
      expect(await times({ limit: 0 })).toEqual([]);
      expect(await times({ fromTime: 20_000 })).toEqual([]);
      expect((await batchLog.listBatches({ fromTime: 5000 }))[0]).toEqual(record(5000));
    });
  });

  describe("CheckpointStore", () => {
    describe.each(backend.pageStores)("pages in %s", (pages) => {
      it("pages of PAGE_BYTES (350 KB) and of a few bytes round-trip byte-exact", async () => {
        const { checkpoints } = await fresh({ pages });
        const written = [noise(PAGE_BYTES, 1), noise(1, 2), noise(PAGE_BYTES - 1, 3), noise(100_000, 4)];
        await checkpoints.writePages("state-3/1000/w-a", written);
        expectSameBytes(await checkpoints.readPages("state-3/1000/w-a", written.length), written);
      });

      it("130 pages round-trip in order; a read of fewer pages returns the first ones", async () => {
        const { checkpoints } = await fresh({ pages });
        const written = Array.from({ length: 130 }, (_, i) => noise(1 + ((i * 997) % 3000), i));
        await checkpoints.writePages("window-5/2000/w-a", written);
        expectSameBytes(await checkpoints.readPages("window-5/2000/w-a", 130), written);
        expectSameBytes(await checkpoints.readPages("window-5/2000/w-a", 10), written.slice(0, 10));
      });

      const large = largeCheckpointPages(pages);
      it(`${large} pages of PAGE_BYTES (${((large * PAGE_BYTES) / 2 ** 20).toFixed(1)} MiB) round-trip byte-exact`, async () => {
        const { checkpoints } = await fresh({ pages });
        const written = Array.from({ length: large }, (_, i) => noise(PAGE_BYTES, 100 + i));
        await checkpoints.writePages("state-3/9000/w-a", written);
        expectSameBytes(await checkpoints.readPages("state-3/9000/w-a", written.length), written);
      });

      it("pages under different keys are kept apart", async () => {
        const { checkpoints } = await fresh({ pages });
        const a = [noise(500, 10), noise(600, 11)];
        const b = [noise(700, 12)];
        await checkpoints.writePages("state-3/1000/w-a", a);
        await checkpoints.writePages("state-3/1000/w-b", b);
        expectSameBytes(await checkpoints.readPages("state-3/1000/w-a", 2), a);
        expectSameBytes(await checkpoints.readPages("state-3/1000/w-b", 1), b);
      });

      it("readPages of a missing key fails with MissingDataError", async () => {
        const { checkpoints } = await fresh({ pages });
        await expect(checkpoints.readPages("state-3/1000/never-written", 2)).rejects.toBeInstanceOf(MissingDataError);
      });

      it("readPages of more pages than were written fails with MissingDataError", async () => {
        const { checkpoints } = await fresh({ pages });
        await checkpoints.writePages("state-3/1000/w-a", [noise(10, 1), noise(20, 2)]);
        await expect(checkpoints.readPages("state-3/1000/w-a", 3)).rejects.toBeInstanceOf(MissingDataError);
      });

      it("pages of another app are not read", async () => {
        const mine = await fresh({ pages });
        const theirs = await fresh({ pages });
        await theirs.checkpoints.writePages("state-3/1000/w-a", [noise(10, 1)]);
        await expect(mine.checkpoints.readPages("state-3/1000/w-a", 1)).rejects.toBeInstanceOf(MissingDataError);
      });
    });

    it("commit is conditional: a second manifest at the same time returns false and the first stays", async () => {
      const { checkpoints } = await fresh();
      expect(await checkpoints.commit(manifest(1000, "coordinator-a"))).toBe(true);
      expect(await checkpoints.commit(manifest(1000, "coordinator-b"))).toBe(false);
      expect(await checkpoints.latest()).toEqual(manifest(1000, "coordinator-a"));
      expect(await checkpoints.between(0, 5000)).toEqual([manifest(1000, "coordinator-a")]);
    });

    it("latest() is the newest manifest, latest(t) the newest at or before t, undefined when there is none", async () => {
      const { checkpoints } = await fresh();
      expect(await checkpoints.latest()).toBeUndefined();
      for (const t of [3000, 1000, 2000]) await checkpoints.commit(manifest(t));
      expect(await checkpoints.latest()).toEqual(manifest(3000));
      expect(await checkpoints.latest(2999)).toEqual(manifest(2000));
      expect(await checkpoints.latest(2000)).toEqual(manifest(2000));
      expect(await checkpoints.latest(99_000)).toEqual(manifest(3000));
      expect(await checkpoints.latest(999)).toBeUndefined();
    });

    it("between(from, to) returns the manifests with times in [from, to], in time order", async () => {
      const { checkpoints } = await fresh();
      for (const t of [4000, 1000, 3000, 2000]) await checkpoints.commit(manifest(t));
      const times = async (from: number, to: number) => (await checkpoints.between(from, to)).map((m) => m.time);
      expect(await checkpoints.between(2000, 3000)).toEqual([manifest(2000), manifest(3000)]);
      expect(await times(0, 10_000)).toEqual([1000, 2000, 3000, 4000]);
      expect(await times(1500, 3500)).toEqual([2000, 3000]);
      expect(await times(4000, 4000)).toEqual([4000]);
      expect(await times(4001, 9000)).toEqual([]);
      expect(await times(3000, 2000)).toEqual([]);
    });
  });

  describe("StateStore", () => {
    const e = (key: unknown, value: unknown, updatedAt: number): StateEntry => ({ key, value, updatedAt });

    it("versions: reads as of an earlier time see the state of that time", async () => {
      const { state } = await fresh();
      await state.commit("op", 0, 1000, [e("a", 1, 1000), e("b", { n: 1, u: undefined }, 1000), e(["t", 1], new Map([["x", 1]]), 1000)], []);
      await state.commit("op", 0, 2000, [e("a", 2, 2000), e("c", 3, 2000)], ["b"]);
      expect(byKey(await state.scan("op", 0, 1000))).toEqual(
        byKey([e("a", 1, 1000), e("b", { n: 1, u: undefined }, 1000), e(["t", 1], new Map([["x", 1]]), 1000)]),
      );
      const at2000 = byKey([e("a", 2, 2000), e("c", 3, 2000), e(["t", 1], new Map([["x", 1]]), 1000)]);
      expect(byKey(await state.scan("op", 0, 2000))).toEqual(at2000);
      expect(byKey(await state.scan("op", 0, 99_999))).toEqual(at2000);
      expect(await state.scan("op", 0, 999)).toEqual([]);
      expect(await state.scan("op", 1, 2000)).toEqual([]);
      expect(await state.scan("other", 0, 2000)).toEqual([]);
      const b = (await state.getMany("op", 0, ["b"], 1000))[0]!;
      expect(b.value).toEqual({ n: 1, u: undefined });
      expect(Object.prototype.hasOwnProperty.call(b.value, "u")).toBe(true);
    });

    it("a retry at the same time with the same changes gives the same state, and the time before stays readable", async () => {
      const { state } = await fresh();
      await state.commit("op", 0, 1000, [e("a", 1, 1000), e("b", { n: 1 }, 1000)], []);
      await state.commit("op", 0, 2000, [e("a", 2, 2000), e("c", 3, 2000)], ["b"]);
      const at2000 = byKey(await state.scan("op", 0, 2000));
      await state.commit("op", 0, 2000, [e("a", 2, 2000), e("c", 3, 2000)], ["b"]);
      expect(byKey(await state.scan("op", 0, 2000))).toEqual(at2000);
      expect((await state.getMany("op", 0, ["a", "b"], 1000)).map((x) => x.value)).toEqual([1, { n: 1 }]);
    });

    it("a half-written commit then a full retry at the same time", async () => {
      const { state } = await fresh();
      await state.commit("op", 3, 1000, [e("a", 1, 1000), e("b", 1, 1000)], []);
      await state.commit("op", 3, 2000, [e("a", 2, 2000), e("b", 2, 2000), e("c", 2, 2000)], []);
      const at2000 = byKey(await state.scan("op", 3, 2000));
      // the first attempt at 3000 wrote only some of its changes, with a value the retry does not write
      await state.commit("op", 3, 3000, [e("a", 99, 3000)], ["b"]);
      expect(byKey(await state.scan("op", 3, 2000))).toEqual(at2000);
      await state.commit("op", 3, 3000, [e("a", 3, 3000), e("d", 3, 3000)], ["c"]);
      expect(byKey(await state.scan("op", 3, 2000))).toEqual(at2000);
      // "b" was removed by the first attempt only; the retry's commit does not touch it, as in memory
      expect(byKey(await state.scan("op", 3, 3000))).toEqual(byKey([e("a", 3, 3000), e("d", 3, 3000)]));
      expect(await state.getMany("op", 3, ["a", "b", "c", "d", "zz"], 2000)).toEqual([e("a", 2, 2000), e("b", 2, 2000), e("c", 2, 2000)]);
      expect(await state.getMany("op", 3, ["d", "a", "a"], 3000)).toEqual([e("d", 3, 3000), e("a", 3, 3000), e("a", 3, 3000)]);
    });

    it("only one version older than the newest is kept", async () => {
      const { state } = await fresh();
      await state.commit("op", 3, 2000, [e("a", 2, 2000)], []);
      await state.commit("op", 3, 3000, [e("a", 3, 3000)], []);
      await state.commit("op", 3, 4000, [e("a", 4, 4000)], []);
      expect(await state.getMany("op", 3, ["a"], 2000)).toEqual([]);
      expect(await state.getMany("op", 3, ["a"], 3000)).toEqual([e("a", 3, 3000)]);
      expect(await state.getMany("op", 3, ["a"], 4000)).toEqual([e("a", 4, 4000)]);
    });

    it("a late commit at T, after T + 1 committed (a stalled attempt whose task ran again), keeps T + 1", async () => {
      const { state } = await fresh();
      await state.commit("op", 1, 1000, [e("a", 1, 1000), e("b", 1, 1000)], []);
      await state.commit("op", 1, 2000, [e("a", 2, 2000), e("b", 2, 2000), e("c", 2, 2000)], []);
      await state.commit("op", 1, 3000, [e("a", 3, 3000)], ["c"]);
      // the stalled first attempt of batch 2000 wakes up and commits what the winning attempt committed
      await state.commit("op", 1, 2000, [e("a", 2, 2000), e("b", 2, 2000), e("c", 2, 2000)], []);
      expect(byKey(await state.scan("op", 1, 3000))).toEqual(byKey([e("a", 3, 3000), e("b", 2, 2000)]));
      expect(byKey(await state.scan("op", 1, 2000))).toEqual(byKey([e("a", 2, 2000), e("b", 2, 2000), e("c", 2, 2000)]));
    });

    it("removes: a removed key is absent from then on and comes back when put again", async () => {
      const { state } = await fresh();
      await state.commit("op", 0, 1000, [e(1, "one", 1000), e("1", "string one", 1000)], []);
      await state.commit("op", 0, 2000, [], [1, "never-there"]);
      expect(await state.scan("op", 0, 2000)).toEqual([e("1", "string one", 1000)]);
      expect(await state.getMany("op", 0, [1, "1", "never-there"], 1000)).toEqual([e(1, "one", 1000), e("1", "string one", 1000)]);
      await state.commit("op", 0, 3000, [e(1, "back", 3000)], []);
      expect(byKey(await state.scan("op", 0, 3000))).toEqual(byKey([e(1, "back", 3000), e("1", "string one", 1000)]));
      expect(await state.getMany("op", 0, [1], 2000)).toEqual([]);
    });

    it("a put and a remove of one key in one commit remove it", async () => {
      const { state } = await fresh();
      await state.commit("op", 0, 3000, [e("1", "string one", 3000)], []);
      await state.commit("op", 0, 4000, [e("1", "x", 4000)], ["1"]);
      expect(await state.getMany("op", 0, ["1"], 4000)).toEqual([]);
      expect(await state.getMany("op", 0, ["1"], 3000)).toEqual([e("1", "string one", 3000)]);
    });

    it("getMany over many keys: composite keys, a key past the sort-key limit, rich values", async () => {
      const { state } = await fresh();
      const keys: unknown[] = Array.from({ length: 230 }, (_, i) => (i % 3 === 0 ? i : i % 3 === 1 ? `k${i}` : { id: i, tags: ["a", i] }));
      keys.push("k".repeat(2000)); // past the sort-key size limit: stored under a hash
      keys.push(["k".repeat(1000), 1], ["k".repeat(1000), 2]); // two long keys that share their first 1000 characters
      const value = (i: number) => ({
        i,
        big: BigInt(i) * 10n ** 20n,
        when: new Date(i),
        set: new Set([i, "x"]),
        m: new Map<unknown, unknown>([[[i], undefined]]),
      });
      await state.commit(
        "wide",
        2,
        1000,
        keys.map((k, i) => e(k, value(i), 1000)),
        [],
      );
      const got = await state.getMany("wide", 2, [...keys].reverse(), 1000);
      expect(got).toEqual(keys.map((k, i) => e(k, value(i), 1000)).reverse());
      expect(await state.scan("wide", 2, 1000)).toHaveLength(keys.length);
    });

    it("a composite key is one key whatever the order of its object's fields", async () => {
      const { state } = await fresh();
      await state.commit("wide", 2, 1000, [e({ id: 2, tags: ["a", 2] }, "first", 1000)], []);
      await state.commit("wide", 2, 2000, [e({ tags: ["a", 2], id: 2 }, "changed", 2000)], []);
      expect((await state.getMany("wide", 2, [{ id: 2, tags: ["a", 2] }], 2000))[0]!.value).toBe("changed");
      expect(await state.scan("wide", 2, 2000)).toHaveLength(1);
    });

    it("values are copied: mutating a read or committed value does not change the store", async () => {
      const { state } = await fresh();
      const v = { count: 1 };
      await state.commit("op", 0, 1000, [e("k", v, 1000)], []);
      v.count = 5;
      const read = (await state.scan("op", 0, 1000))[0]!;
      expect(read.value).toEqual({ count: 1 });
      (read.value as { count: number }).count = 7;
      expect((await state.getMany("op", 0, ["k"], 1000))[0]!.value).toEqual({ count: 1 });
    });
  });

  describe.each(queueCases)("MessageQueue: $name", (qc) => {
    it("delivers every sent message once, at most max per receive; acked messages are gone", async () => {
      const q = qc.pick(await backend.queues(30_000));
      const sent = Array.from({ length: 25 }, (_, i) => qc.message(i));
      await q.send(sent);
      const first = await q.receive({ max: 3, waitMs: 1000 });
      expect(first.length).toBeGreaterThanOrEqual(1);
      expect(first.length).toBeLessThanOrEqual(3);
      const got = [...first, ...(await receiveN(q, 25 - first.length))];
      expect(got.map((r) => r.body).sort((a, b) => qc.id(a) - qc.id(b))).toEqual(sent);
      expect(got.every((r) => r.receiveCount === 1)).toBe(true);
      expect(new Set(got.map((r) => r.receipt)).size).toBe(25);
      await q.ackMany(got.map((r) => r.receipt));
      expect(await visibleNow(q)).toEqual([]);
    });

    it("a received message is invisible until its visibility timeout passes, then comes back with receiveCount 2", async () => {
      const queues = await backend.queues(1000);
      const q = qc.pick(queues);
      await q.send([qc.message(3)]);
      const [first] = await receiveN(q, 1);
      expect(first!.receiveCount).toBe(1);
      expect(await visibleNow(q)).toEqual([]);
      await queues.elapse(400);
      expect(await visibleNow(q)).toEqual([]);
      await queues.elapse(1100);
      const [again] = await receiveN(q, 1);
      expect(again!.body).toEqual(qc.message(3));
      expect(again!.receiveCount).toBe(2);
      expect(again!.receipt).not.toBe(first!.receipt);
    });

    it("release(receipt, 0) makes a message visible at once, and each receive counts", async () => {
      const q = qc.pick(await backend.queues(30_000));
      await q.send([qc.message(4)]);
      const [first] = await receiveN(q, 1);
      expect(await visibleNow(q)).toEqual([]);
      await q.release(first!.receipt, 0);
      const [second] = await receiveN(q, 1);
      expect(second!.body).toEqual(qc.message(4));
      expect(second!.receiveCount).toBe(2);
      await q.release(second!.receipt, 0);
      const [third] = await receiveN(q, 1);
      expect(third!.receiveCount).toBe(3);
      await q.ackMany([third!.receipt]);
      expect(await visibleNow(q)).toEqual([]);
    });

    it("release(receipt, delay) keeps the message invisible until the delay passes", async () => {
      const queues = await backend.queues(30_000);
      const q = qc.pick(queues);
      await q.send([qc.message(5)]);
      const [first] = await receiveN(q, 1);
      await q.release(first!.receipt, 1000);
      expect(await visibleNow(q)).toEqual([]);
      await queues.elapse(1500);
      const [again] = await receiveN(q, 1);
      expect(again!.body).toEqual(qc.message(5));
      expect(again!.receiveCount).toBe(2);
    });

    it("acking or releasing a receipt already acked is a no-op", async () => {
      const q = qc.pick(await backend.queues(30_000));
      await q.send([qc.message(6)]);
      const [got] = await receiveN(q, 1);
      await q.ackMany([got!.receipt]);
      await q.ackMany([got!.receipt]);
      await q.release(got!.receipt, 0);
      expect(await visibleNow(q)).toEqual([]);
    });

    it("messages round-trip through the codec: undefined, Map and bigint inside survive", async () => {
      const q = qc.pick(await backend.queues(30_000));
      await q.send([qc.rich()]);
      const [got] = await receiveN(q, 1);
      expect(got!.body).toEqual(qc.rich());
      const text = (v: unknown): string =>
        JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? `${x}n` : x instanceof Map ? { map: [...x] } : x === undefined ? "<undefined>" : x));
      expect(text(got!.body)).toBe(text(qc.rich()));
    });

    it("a receive stops waiting when its signal aborts", async () => {
      const q = qc.pick(await backend.queues(30_000));
      const ac = new AbortController();
      const t0 = Date.now();
      setTimeout(() => ac.abort(), 100);
      expect(await q.receive({ max: 10, waitMs: 15_000, signal: ac.signal })).toEqual([]);
      expect(Date.now() - t0).toBeLessThan(5_000);
    });
  });

  describe("TaskClaims", () => {
    const key = (partition: number, extra: Partial<TaskKey> = {}): TaskKey => ({ batchTime: 1000, runId: "run-1", stage: 1, partition, ...extra });

    it("the first claim of a task is claimed; another owner is busy while the claim is unexpired", async () => {
      const { claims } = await fresh();
      expect(await claims.claim(key(0), "a", 5_000, 1_000)).toBe("claimed");
      expect(await claims.claim(key(0), "b", 9_000, 1_000)).toBe("busy");
      expect(await claims.claim(key(0), "b", 9_000, 4_999)).toBe("busy");
    });

    it("the owner claims its task again", async () => {
      const { claims } = await fresh();
      expect(await claims.claim(key(0), "a", 5_000, 1_000)).toBe("claimed");
      expect(await claims.claim(key(0), "a", 6_000, 2_000)).toBe("claimed");
      expect(await claims.claim(key(0), "b", 9_000, 5_500)).toBe("busy"); // held until 6000 now
    });

    it("once `until` has passed another owner can claim it", async () => {
      const { claims } = await fresh();
      expect(await claims.claim(key(0), "a", 5_000, 1_000)).toBe("claimed");
      expect(await claims.claim(key(0), "b", 9_000, 5_000)).toBe("claimed");
      expect(await claims.claim(key(0), "a", 9_000, 6_000)).toBe("busy");
    });

    it("claims of other partitions, stages, runs and batches are separate", async () => {
      const { claims } = await fresh();
      expect(await claims.claim(key(0), "a", 5_000, 1_000)).toBe("claimed");
      for (const k of [key(1), key(0, { stage: 2 }), key(0, { runId: "run-2" }), key(0, { batchTime: 2000 })]) {
        expect(await claims.claim(k, "b", 5_000, 1_000)).toBe("claimed");
      }
    });

    it("renew by the owner extends the claim; by another owner it returns false", async () => {
      const { claims } = await fresh();
      expect(await claims.claim(key(0), "a", 5_000, 1_000)).toBe("claimed");
      expect(await claims.renew(key(0), "a", 8_000)).toBe(true);
      expect(await claims.claim(key(0), "b", 9_000, 6_000)).toBe("busy");
      expect(await claims.renew(key(0), "b", 20_000)).toBe(false);
      expect(await claims.claim(key(0), "b", 9_000, 8_000)).toBe("claimed");
      expect(await claims.renew(key(0), "a", 30_000)).toBe(false);
    });

    it("renew of a task never claimed returns false", async () => {
      const { claims } = await fresh();
      expect(await claims.renew(key(9), "a", 8_000)).toBe(false);
      expect(await claims.inspect([key(9)])).toEqual(new Map());
    });

    it("renewing to 0 frees the claim for another owner at once", async () => {
      const { claims } = await fresh();
      expect(await claims.claim(key(0), "a", 50_000, 1_000)).toBe("claimed");
      expect(await claims.renew(key(0), "a", 0)).toBe(true);
      expect(await claims.claim(key(0), "b", 50_000, 1_001)).toBe("claimed");
    });

    it("after finish every claim returns done and renew returns false", async () => {
      const { claims } = await fresh();
      expect(await claims.claim(key(0), "a", 5_000, 1_000)).toBe("claimed");
      await claims.finish(key(0), "a");
      expect(await claims.claim(key(0), "a", 20_000, 2_000)).toBe("done");
      expect(await claims.claim(key(0), "b", 20_000, 2_000)).toBe("done");
      expect(await claims.claim(key(0), "b", 20_000, 10_000)).toBe("done");
      expect(await claims.renew(key(0), "a", 30_000)).toBe(false);
    });

    it("inspect returns owner, until and done of claimed tasks and nothing for unclaimed ones", async () => {
      const { claims } = await fresh();
      expect(await claims.claim(key(0), "a", 5_000, 1_000)).toBe("claimed");
      expect(await claims.claim(key(1), "b", 7_000, 1_000)).toBe("claimed");
      await claims.renew(key(1), "b", 8_000);
      expect(await claims.claim(key(2), "c", 6_000, 1_000)).toBe("claimed");
      await claims.finish(key(2), "c");
      const got = await claims.inspect([key(0), key(1), key(2), key(3), key(0, { runId: "run-2" })]);
      expect([...got.keys()].sort()).toEqual([taskKeyId(key(0)), taskKeyId(key(1)), taskKeyId(key(2))].sort());
      expect(got.get(taskKeyId(key(0)))).toEqual({ owner: "a", until: 5_000, done: false });
      expect(got.get(taskKeyId(key(1)))).toEqual({ owner: "b", until: 8_000, done: false });
      expect(got.get(taskKeyId(key(2)))).toMatchObject({ owner: "c", done: true });
    });
  });

  describe("BlobStore", () => {
    it("get returns the whole blob as it was put", async () => {
      const { blobs } = await fresh();
      const body = noise(300_000, 1);
      await blobs.put("shuffle/1000/run-1/0-3", body);
      expectSameBytes([await blobs.get("shuffle/1000/run-1/0-3")], [body]);
    });

    it("get with a range [start, end) returns those bytes", async () => {
      const { blobs } = await fresh();
      const body = noise(10_000, 2);
      await blobs.put("shuffle/1000/run-1/0-4", body);
      const slice = (s: number, e: number) => blobs.get("shuffle/1000/run-1/0-4", [s, e]);
      expectSameBytes([await slice(0, 1)], [body.slice(0, 1)]);
      expectSameBytes([await slice(1234, 5678)], [body.slice(1234, 5678)]);
      expectSameBytes([await slice(9_000, 10_000)], [body.slice(9_000, 10_000)]);
      expect((await slice(500, 500)).length).toBe(0);
    });

    it("a second put replaces the blob", async () => {
      const { blobs } = await fresh();
      await blobs.put("inputs/1000/run-1/1-0", noise(5_000, 3));
      await blobs.put("inputs/1000/run-1/1-0", noise(10, 4));
      expectSameBytes([await blobs.get("inputs/1000/run-1/1-0")], [noise(10, 4)]);
    });

    it("get of a missing key fails with MissingDataError, whole or by range", async () => {
      const { blobs } = await fresh();
      await expect(blobs.get("shuffle/1000/run-1/9-9")).rejects.toBeInstanceOf(MissingDataError);
      await expect(blobs.get("shuffle/1000/run-1/9-9", [0, 10])).rejects.toBeInstanceOf(MissingDataError);
    });
  });

  describe("QuarantineStore", () => {
    const q = (i: number, extra: Partial<QuarantinedRecord> = {}): QuarantinedRecord => ({
      batchTime: 1000,
      stream: "words",
      shard: "shardId-000000000001",
      sequenceNumber: String(i),
      operator: "map-2",
      error: `bad ${i}`,
      record: { raw: i, u: undefined, m: new Map([["k", 1n]]) },
      ...extra,
    });
    /** A Kinesis record's entry: its bytes, partition key and coordinates. */
    const k = (i: number, data: Uint8Array, extra: Partial<QuarantinedRecord> = {}): QuarantinedRecord => ({
      batchTime: 2000,
      stream: "clicks",
      shard: "shardId-000000000000",
      sequenceNumber: `4960${i}`,
      partitionKey: `user-${i}`,
      operator: "kinesisStream-1 (decode)",
      error: `not JSON ${i}`,
      data,
      ...extra,
    });
    /** What list shows of a put record: everything but its bytes, and for bytes their size and first 256. */
    const listed = (r: QuarantinedRecord) => {
      const { data, ...rest } = r;
      return data ? { ...rest, size: data.byteLength, head: data.slice(0, 256) } : rest;
    };
    const withoutIds = (entries: QuarantineEntry[]) =>
      entries.map(({ id, ...e }) => {
        expect(typeof id).toBe("string");
        return e;
      });

    it("keeps quarantined records and lists them in order, up to a limit", async () => {
      const { quarantine } = await fresh();
      expect(await quarantine.list()).toEqual([]);
      for (let i = 0; i < 4; i++) await quarantine.put(q(i));
      expect(withoutIds(await quarantine.list())).toEqual([q(0), q(1), q(2), q(3)]);
      expect(withoutIds(await quarantine.list({ limit: 2 }))).toEqual([q(0), q(1)]);
      expect(await quarantine.list({ limit: 0 })).toEqual([]);
      expect(new Set((await quarantine.list()).map((e) => e.id)).size).toBe(4);
    });

    it("a record put again for the same operator replaces its entry; another operator adds one", async () => {
      const { quarantine } = await fresh();
      await quarantine.put(q(1));
      await quarantine.put(q(1, { error: "bad again" }));
      expect(withoutIds(await quarantine.list())).toEqual([q(1, { error: "bad again" })]);
      await quarantine.put(q(1, { operator: "filter-4" }));
      expect(await quarantine.list()).toHaveLength(2);
    });

    it("records without coordinates are each kept", async () => {
      const { quarantine } = await fresh();
      const plain: QuarantinedRecord = { batchTime: 2000, operator: "map-2", error: "bad", record: "line" };
      await quarantine.put(plain);
      await quarantine.put(plain);
      expect(withoutIds(await quarantine.list())).toEqual([plain, plain]);
    });

    it("records of another app are not listed", async () => {
      const mine = await fresh();
      const theirs = await fresh();
      await theirs.quarantine.put(q(1));
      expect(await mine.quarantine.list()).toEqual([]);
    });

    it("keeps a record's bytes exactly: not UTF-8, zero bytes, NUL, and a record of 0 bytes", async () => {
      const { quarantine } = await fresh();
      const records = [
        k(1, Uint8Array.from([0x61, 0xff, 0xfe, 0x00, 0x80, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0x0a, 0x0d])),
        k(2, new Uint8Array(0)),
        k(3, noise(300, 3)),
      ];
      for (const r of records) await quarantine.put(r);
      const entries = await quarantine.list();
      expect(withoutIds(entries)).toEqual(records.map(listed));
      for (let i = 0; i < records.length; i++) expectSameBytes([await quarantine.read(entries[i]!)], [records[i]!.data!]);
    });

    it("keeps records larger than any item whole: 1 MiB and Kinesis' 10 MiB, listed by size and first bytes", async () => {
      const { quarantine } = await fresh();
      const big = k(1, noise(1024 * 1024, 11));
      const largest = k(2, noise(10 * 1024 * 1024, 12));
      await quarantine.put(big);
      await quarantine.put(largest);
      // The task that quarantined it runs again: its entry, chunks and all, is rewritten, not added.
      await quarantine.put({ ...big, error: "not JSON, again" });
      const entries = await quarantine.list();
      expect(withoutIds(entries)).toEqual([listed({ ...big, error: "not JSON, again" }), listed(largest)]);
      expectSameBytes([await quarantine.read(entries[0]!), await quarantine.read(entries[1]!)], [big.data!, largest.data!]);
    });

    it("a record that is not bytes comes back as its value, however large", async () => {
      const { quarantine } = await fresh();
      const value = { text: "é".repeat(400_000), m: new Map([["n", 2n ** 70n]]), u: undefined };
      const r: QuarantinedRecord = { batchTime: 3000, operator: "map-3", error: "too odd", record: value };
      await quarantine.put(r);
      const [entry] = await quarantine.list();
      expect(withoutIds([entry!])).toEqual([r]);
      expect(entry!.size).toBeUndefined();
      await expect(quarantine.read(entry!)).rejects.toBeInstanceOf(QuarantineDataError);
    });

    it("keeps an error's first 8,000 characters, saying so", async () => {
      const { quarantine } = await fresh();
      await quarantine.put(k(1, Uint8Array.of(1), { error: "e".repeat(20_000) }));
      const [entry] = await quarantine.list();
      expect(entry!.error).toBe(`${"e".repeat(8000)} [error text cut at 8000 of 20000 characters]`);
      expectSameBytes([await quarantine.read(entry!)], [Uint8Array.of(1)]);
    });

    it("read of an entry that is gone fails with a QuarantineDataError naming the record", async () => {
      const { quarantine } = await fresh();
      await quarantine.put(k(1, Uint8Array.of(1, 2, 3)));
      const [entry] = await quarantine.list();
      const error = await quarantine.read({ ...entry!, id: `${entry!.id}-gone` }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(QuarantineDataError);
      expect((error as QuarantineDataError).coordinates).toMatchObject({ stream: "clicks", sequenceNumber: "49601", batchTime: 2000 });
      expect((error as QuarantineDataError).reason).toBe("not in the quarantine any more");
      expect((error as Error).message).toMatch(
        /^The quarantined record clicks\/shardId-000000000000\/49601 of batch 2000 cannot be given back exactly: .*not in the .* any more/,
      );
    });

    // DynamoDB's own item format: entries of older versions, and chunks (the memory twin has neither).
    if (backend.name === "aws") {
      it("on DynamoDB: an entry an older version cut short is listed as unrecoverable and refused; its older whole entries still read exactly", async () => {
        const { quarantine, raw: r, app } = await fresh();
        const raw = r!;
        const pk = `${encodeURIComponent(app)}#quarantine`;
        const put = (sk: string, r: unknown) => raw.doc.send(new PutCommand({ TableName: raw.metaTable, Item: { pk, sk, r: encode(r) } }));
        const bytes = Uint8Array.from([0xff, 0x00, 0x41]);
        // As the version before this one wrote them: the record as base64 in `r`, or cut short past 300 KB.
        await put("0000000000001000#r#words#s-0#1#map-2", {
          batchTime: 1000,
          stream: "words",
          shard: "s-0",
          sequenceNumber: "1",
          operator: "map-2",
          error: "x",
          record: Buffer.from(bytes).toString("base64"),
        });
        await put("0000000000001000#r#words#s-0#2#map-2", {
          batchTime: 1000,
          stream: "words",
          shard: "s-0",
          sequenceNumber: "2",
          operator: "map-2",
          error: "y",
          record: '[truncated: 1398110 bytes] {"batchTime":1000,"stream":"wor',
        });
        const [whole, cut] = await quarantine.list();
        expect(whole).toMatchObject({ sequenceNumber: "1", size: 3, head: bytes });
        expectSameBytes([await quarantine.read(whole!)], [bytes]);
        expect(cut!.unrecoverable).toMatch(/older version .* kept only the start .*1398110 bytes.*not in the quarantine.*words\/s-0\/2/);
        const error = await quarantine.read(cut!).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(QuarantineDataError);
        expect((error as QuarantineDataError).reason).toBe("cut short by an older version");
      });

      it("on DynamoDB: a chunk missing or changed is refused, never read as other bytes", async () => {
        const { quarantine, raw: r, app } = await fresh();
        const raw = r!;
        await quarantine.put(k(1, noise(1024 * 1024, 21)));
        await quarantine.put(k(2, noise(1024 * 1024, 22)));
        const [one, two] = await quarantine.list();
        const dataPk = `${encodeURIComponent(app)}#quarantine#data`;
        await raw.doc.send(new DeleteCommand({ TableName: raw.metaTable, Key: { pk: dataPk, sk: `${one!.id}#0001` } }));
        await raw.doc.send(new PutCommand({ TableName: raw.metaTable, Item: { pk: dataPk, sk: `${two!.id}#0002`, d: noise(100, 1) } }));
        for (const [entry, reason] of [
          [one!, "a chunk is missing"],
          [two!, "does not match its checksum"],
        ] as const) {
          const error = await quarantine.read(entry).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(error).toBeInstanceOf(QuarantineDataError);
          expect((error as QuarantineDataError).reason).toBe(reason);
        }
      });
    }
  });

  describe("LeaseStore", () => {
    it("the first owner takes the lease; another owner is refused while it is unexpired", async () => {
      const { lease } = await fresh();
      expect(await lease.acquire("a", 5_000, 1_000)).toBe(true);
      expect(await lease.acquire("b", 9_000, 1_000)).toBe(false);
      expect(await lease.acquire("b", 9_000, 4_999)).toBe(false);
    });

    it("the holder renews its lease", async () => {
      const { lease } = await fresh();
      expect(await lease.acquire("a", 5_000, 1_000)).toBe(true);
      expect(await lease.acquire("a", 8_000, 4_000)).toBe(true);
      expect(await lease.acquire("b", 9_000, 6_000)).toBe(false);
    });

    it("an expired lease goes to another owner, and the old holder is then refused", async () => {
      const { lease } = await fresh();
      expect(await lease.acquire("a", 5_000, 1_000)).toBe(true);
      expect(await lease.acquire("b", 9_000, 5_000)).toBe(true);
      expect(await lease.acquire("a", 12_000, 6_000)).toBe(false);
    });

    it("release by another owner does nothing; release by the holder frees the lease at once", async () => {
      const { lease } = await fresh();
      expect(await lease.acquire("a", 50_000, 1_000)).toBe(true);
      await lease.release("b");
      expect(await lease.acquire("b", 50_000, 2_000)).toBe(false);
      await lease.release("a");
      expect(await lease.acquire("b", 50_000, 2_000)).toBe(true);
    });

    it("leases of different apps are separate", async () => {
      const mine = await fresh();
      const theirs = await fresh();
      expect(await theirs.lease.acquire("a", 50_000, 1_000)).toBe(true);
      expect(await mine.lease.acquire("b", 50_000, 1_000)).toBe(true);
    });
  });
});
