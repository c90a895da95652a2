/**
 * The storage contract: the same tests run against the in-memory twins (lib/storage/memory.ts, which
 * define the semantics) and the DynamoDB/SQS adapters (lib/aws/) on embedded engines.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canonical } from "../../lib/core/keys.js";
import type { BatchRecord, StateEntry, TaskMessage } from "../../lib/storage/interfaces.js";
import { awsBackend, memoryBackend, type Backend, type Stores } from "./backends.js";

function batch(time: number, extra: Partial<BatchRecord> = {}): BatchRecord {
  return {
    time,
    blocks: { "input-1": [{ source: "memory", id: `m${time}`, count: 3 }] },
    stages: [{ id: "0:shuffle-1", numTasks: 2 }, { id: "1:result", numTasks: 3 }],
    materialized: { "7": { partitions: 2, hashPartitions: 2 } },
    status: "generated",
    generatedAt: time + 5,
    ...extra,
  };
}

const byKey = (entries: StateEntry[]) => [...entries].sort((a, b) => (canonical(a.key) < canonical(b.key) ? -1 : 1));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Deterministic records: about `bytes` of codec text, with values JSON alone would lose. */
function bigRecords(bytes: number, tag: string): unknown[] {
  const out: unknown[] = [];
  const pad = "x".repeat(90);
  for (let i = 0, size = 0; size < bytes; i++) {
    const r = i % 10 === 0 ? [`${tag}-${i}`, { n: i, u: undefined, m: new Map([["k", i]]), s: "é€😀" }] : [`${tag}-${i}`, `${pad}${i}`];
    out.push(r);
    size += 110;
  }
  return out;
}

describe.each([memoryBackend, awsBackend()] as Backend[])("storage contract: $name", (backend) => {
  let stores: Stores;
  const fresh = async () => (stores = await backend.make());

  beforeAll(() => backend.setup(), 120_000);
  afterAll(() => backend.teardown(), 30_000);

  describe("BatchLog", () => {
    it("creates a batch once; a second create returns false and changes nothing", async () => {
      const { batchLog } = await fresh();
      const rec = batch(1000, { inputRecords: 3, error: undefined });
      expect(await batchLog.createBatch(rec)).toBe(true);
      expect(await batchLog.createBatch(batch(1000, { generatedAt: 99 }))).toBe(false);
      expect(await batchLog.getBatch(1000)).toEqual(rec);
      expect(await batchLog.getBatch(2000)).toBeUndefined();
    });

    it("updates only while the status is the expected one", async () => {
      const { batchLog } = await fresh();
      await batchLog.createBatch(batch(1000));
      expect(await batchLog.updateBatch(1000, "running", { status: "completed", completedAt: 7 })).toBe(false);
      expect((await batchLog.getBatch(1000))!.status).toBe("generated");
      expect(await batchLog.updateBatch(1000, "generated", { status: "running", startedAt: 1010 })).toBe(true);
      expect(await batchLog.updateBatch(1000, "generated", { status: "running", startedAt: 1020 })).toBe(false);
      expect(await batchLog.updateBatch(1000, "running", { status: "failed", error: "boom", completedAt: 1030 })).toBe(true);
      expect(await batchLog.getBatch(1000)).toEqual({ ...batch(1000), status: "failed", startedAt: 1010, error: "boom", completedAt: 1030 });
      expect(await batchLog.updateBatch(5000, "generated", { status: "running" })).toBe(false);
      expect(await batchLog.getBatch(5000)).toBeUndefined();
    });

    it("lists batches in time order, from a time on, up to a limit", async () => {
      const { batchLog } = await fresh();
      for (const t of [3000, 1000, 12000, 2000, 0, 5000]) await batchLog.createBatch(batch(t));
      const times = async (o?: { fromTime?: number; limit?: number }) => (await batchLog.listBatches(o)).map((b) => b.time);
      expect(await times()).toEqual([0, 1000, 2000, 3000, 5000, 12000]);
      expect(await times({ fromTime: 2000 })).toEqual([2000, 3000, 5000, 12000]);
      expect(await times({ fromTime: 2500 })).toEqual([3000, 5000, 12000]);
      expect(await times({ limit: 2 })).toEqual([0, 1000]);
      expect(await times({ fromTime: 3000, limit: 2 })).toEqual([3000, 5000]);
      expect(await times({ fromTime: 20000 })).toEqual([]);
      expect((await batchLog.listBatches({ fromTime: 5000 }))[0]).toEqual(batch(5000));
    });

    it("finds the latest batch, or the latest before a time, in one read", async () => {
      const { batchLog } = await fresh();
      expect(await batchLog.latestBatch()).toBeUndefined();
      for (const t of [3000, 1000, 12000, 2000]) await batchLog.createBatch(batch(t));
      expect((await batchLog.latestBatch())?.time).toBe(12000);
      expect(await batchLog.latestBatch(12000)).toEqual(batch(3000));
      expect((await batchLog.latestBatch(2500))?.time).toBe(2000);
      expect(await batchLog.latestBatch(1000)).toBeUndefined();
    });

    it("records each task completion at most once, with the count of distinct partitions", async () => {
      const { batchLog } = await fresh();
      expect(await batchLog.completeTask(1000, 0, 1)).toEqual({ first: true, completed: 1 });
      expect(await batchLog.completeTask(1000, 0, 1)).toEqual({ first: false, completed: 1 });
      expect(await batchLog.completeTask(1000, 0, 0)).toEqual({ first: true, completed: 2 });
      expect(await batchLog.completeTask(1000, 1, 0)).toEqual({ first: true, completed: 1 });
      expect(await batchLog.completeTask(2000, 0, 0)).toEqual({ first: true, completed: 1 });
      expect(await batchLog.completeTask(1000, 0, 0)).toEqual({ first: false, completed: 2 });
    });

    it("concurrent completions of 10 partitions: every one first, exactly one sees 10", async () => {
      const { batchLog } = await fresh();
      const results = await Promise.all(Array.from({ length: 10 }, (_, p) => batchLog.completeTask(1000, 2, p)));
      expect(results.every((r) => r.first)).toBe(true);
      expect(results.filter((r) => r.completed === 10)).toHaveLength(1);
      expect(results.map((r) => r.completed).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      const dups = await Promise.all(Array.from({ length: 6 }, () => batchLog.completeTask(1000, 3, 0)));
      expect(dups.filter((r) => r.first)).toHaveLength(1);
      expect(dups.every((r) => r.completed === 1)).toBe(true);
    });

    it("claims: busy for another owner until the lease expires, done once completed", async () => {
      const { batchLog } = await fresh();
      expect(await batchLog.claimTask(1000, 0, 3, "a", 5_000, 1_000)).toBe("claimed");
      expect(await batchLog.claimTask(1000, 0, 3, "a", 6_000, 2_000)).toBe("claimed"); // same owner renews
      expect(await batchLog.claimTask(1000, 0, 3, "b", 9_000, 5_999)).toBe("busy");
      expect(await batchLog.claimTask(1000, 0, 4, "b", 9_000, 2_000)).toBe("claimed"); // another partition
      expect(await batchLog.claimTask(1000, 0, 3, "b", 9_000, 6_000)).toBe("claimed"); // lease expired
      expect(await batchLog.claimTask(1000, 0, 3, "a", 9_000, 7_000)).toBe("busy");
      await batchLog.completeTask(1000, 0, 3);
      expect(await batchLog.claimTask(1000, 0, 3, "a", 20_000, 10_000)).toBe("done");
      expect(await batchLog.claimTask(1000, 0, 3, "b", 20_000, 10_000)).toBe("done");
      expect(await batchLog.claimTask(1000, 1, 3, "a", 20_000, 10_000)).toBe("claimed"); // other stage
    });

    it("releasing a claim lets another owner claim at once; only the owner can release", async () => {
      const { batchLog } = await fresh();
      expect(await batchLog.claimTask(1000, 0, 0, "a", 50_000, 1_000)).toBe("claimed");
      await batchLog.releaseTask(1000, 0, 0, "b");
      expect(await batchLog.claimTask(1000, 0, 0, "b", 50_000, 1_000)).toBe("busy");
      await batchLog.releaseTask(1000, 0, 0, "a");
      expect(await batchLog.claimTask(1000, 0, 0, "b", 50_000, 1_000)).toBe("claimed");
      await batchLog.releaseTask(1000, 0, 9, "a"); // never claimed: releases nothing
    });

    it("counts the failed attempts of each task, whoever released them", async () => {
      const { batchLog } = await fresh();
      expect(await batchLog.claimTask(2000, 1, 0, "a", 50_000, 1_000)).toBe("claimed");
      expect(await batchLog.releaseTask(2000, 1, 0, "a")).toBe(1);
      expect(await batchLog.claimTask(2000, 1, 0, "b", 50_000, 1_000)).toBe("claimed");
      expect(await batchLog.releaseTask(2000, 1, 0, "b")).toBe(2);
      expect(await batchLog.releaseTask(2000, 1, 1, "a")).toBe(1); // another partition
      expect(await batchLog.releaseTask(2000, 2, 0, "a")).toBe(1); // another stage
    });

    it("adds counters to the record's fields", async () => {
      const { batchLog } = await fresh();
      await batchLog.createBatch(batch(1000));
      await batchLog.createBatch(batch(2000, { inputRecords: 10 }));
      await batchLog.addCounters(1000, { inputRecords: 3, quarantinedRecords: 1 });
      await Promise.all([batchLog.addCounters(1000, { inputRecords: 4 }), batchLog.addCounters(1000, { inputRecords: 5, quarantinedRecords: 2 })]);
      await batchLog.addCounters(2000, { inputRecords: 2 });
      await batchLog.addCounters(3000, { inputRecords: 2 }); // no record: nothing happens
      expect(await batchLog.getBatch(1000)).toEqual({ ...batch(1000), inputRecords: 12, quarantinedRecords: 3 });
      expect((await batchLog.getBatch(2000))!.inputRecords).toBe(12);
      expect(await batchLog.getBatch(3000)).toBeUndefined();
      // a status update keeps the counters
      expect(await batchLog.updateBatch(1000, "generated", { status: "running", startedAt: 1 })).toBe(true);
      const r = (await batchLog.getBatch(1000)) as BatchRecord & { quarantinedRecords?: number };
      expect([r.inputRecords, r.quarantinedRecords, r.status]).toEqual([12, 3, "running"]);
    });

    it("deletes batches before a time, with their completions and claims", async () => {
      const { batchLog } = await fresh();
      for (const t of [1000, 2000, 3000]) await batchLog.createBatch(batch(t));
      await batchLog.completeTask(1000, 1, 0);
      await batchLog.completeTask(3000, 1, 0);
      expect(await batchLog.claimTask(1000, 0, 0, "a", 50_000, 1_000)).toBe("claimed");
      await batchLog.deleteBatchesBefore(3000);
      expect((await batchLog.listBatches()).map((b) => b.time)).toEqual([3000]);
      expect(await batchLog.getBatch(1000)).toBeUndefined();
      expect(await batchLog.completeTask(1000, 1, 0)).toEqual({ first: true, completed: 1 });
      expect(await batchLog.completeTask(3000, 1, 0)).toEqual({ first: false, completed: 1 });
      expect(await batchLog.claimTask(1000, 0, 0, "b", 50_000, 1_000)).toBe("claimed");
    });
  });

  describe("ShuffleStore", () => {
    it("reads one reduce partition's chunks in map-partition order", async () => {
      const { shuffles } = await fresh();
      await shuffles.write(1000, "s1", 1, [[["b", 1]], [], [["c", new Map([[1, undefined]])]]]);
      await shuffles.write(1000, "s1", 0, [[["a", 1], ["a", 2]], [["x", NaN]]]);
      expect(await shuffles.read(1000, "s1", 0, 2)).toEqual([[["a", 1], ["a", 2]], [["b", 1]]]);
      expect(await shuffles.read(1000, "s1", 1, 2)).toEqual([[["x", NaN]], []]);
      const p2 = await shuffles.read(1000, "s1", 2, 2);
      expect(p2).toEqual([[], [["c", new Map([[1, undefined]])]]]);
      expect((p2[1]![0] as [string, Map<number, unknown>])[1].has(1)).toBe(true);
      expect(await shuffles.read(1000, "s1", 7, 2)).toEqual([[], []]);
    });

    it("names the missing map partition", async () => {
      const { shuffles } = await fresh();
      await shuffles.write(1000, "s1", 0, [[1]]);
      await shuffles.write(1000, "s1", 2, [[3]]);
      await expect(shuffles.read(1000, "s1", 0, 3)).rejects.toThrow(/batch 1000.*shuffle s1.*map partition 1/);
      await expect(shuffles.read(2000, "s1", 0, 1)).rejects.toThrow(/map partition 0/);
    });

    it("stores buckets over 1 MB and a rewrite with less data replaces them", async () => {
      const { shuffles } = await fresh();
      const big = bigRecords(1_500_000, "big");
      await shuffles.write(1000, "s#2", 0, [big, [1, 2, 3]]);
      await shuffles.write(1000, "s#2", 1, [["small"]]);
      expect(await shuffles.read(1000, "s#2", 0, 2)).toEqual([big, ["small"]]);
      const smaller = bigRecords(400_000, "again");
      await shuffles.write(1000, "s#2", 0, [smaller, []]);
      expect(await shuffles.read(1000, "s#2", 0, 2)).toEqual([smaller, ["small"]]);
      expect(await shuffles.read(1000, "s#2", 1, 2)).toEqual([[], []]);
      await shuffles.write(1000, "s#2", 0, [[], ["tiny"]]);
      expect(await shuffles.read(1000, "s#2", 0, 2)).toEqual([[], ["small"]]);
      expect(await shuffles.read(1000, "s#2", 1, 2)).toEqual([["tiny"], []]);
    });

    it("deletes a batch's output and nothing else", async () => {
      const { shuffles } = await fresh();
      await shuffles.write(1000, "s1", 0, [[1], [2]]);
      await shuffles.write(1000, "s2", 0, [[5]]);
      await shuffles.write(2000, "s1", 0, [[3], [4]]);
      await shuffles.deleteBatch(1000);
      await expect(shuffles.read(1000, "s1", 0, 1)).rejects.toThrow(/map partition 0/);
      await expect(shuffles.read(1000, "s2", 0, 1)).rejects.toThrow(/map partition 0/);
      expect(await shuffles.read(2000, "s1", 1, 1)).toEqual([[4]]);
      await shuffles.deleteBatch(5000); // nothing there
      await shuffles.write(1000, "s1", 0, [[9]]); // written again after a delete
      expect(await shuffles.read(1000, "s1", 0, 1)).toEqual([[9]]);
    });
  });

  describe("BlockStore", () => {
    it("puts, gets, overwrites and deletes before a time", async () => {
      const { blocks } = await fresh();
      expect(await blocks.get("s", 1000, 0)).toBeUndefined();
      await blocks.put("s", 1000, 0, [1, undefined, { d: new Date(5) }]);
      await blocks.put("s", 1000, 1, []);
      await blocks.put("s", 2000, 0, ["two"]);
      await blocks.put("s", 3000, 0, ["three"]);
      await blocks.put("other", 1000, 0, ["o"]);
      expect(await blocks.get("s", 1000, 0)).toEqual([1, undefined, { d: new Date(5) }]);
      expect(await blocks.get("s", 1000, 1)).toEqual([]);
      expect(await blocks.get("s", 1000, 2)).toBeUndefined();
      await blocks.put("s", 2000, 0, ["two again"]);
      expect(await blocks.get("s", 2000, 0)).toEqual(["two again"]);
      await blocks.deleteBefore("s", 2000);
      expect(await blocks.get("s", 1000, 0)).toBeUndefined();
      expect(await blocks.get("s", 1000, 1)).toBeUndefined();
      expect(await blocks.get("s", 2000, 0)).toEqual(["two again"]);
      expect(await blocks.get("s", 3000, 0)).toEqual(["three"]);
      expect(await blocks.get("other", 1000, 0)).toEqual(["o"]);
    });

    it("keeps blocks over 1 MB and shrinks them on rewrite", async () => {
      const { blocks } = await fresh();
      const big = bigRecords(1_200_000, "blk");
      await blocks.put("w", 1000, 3, big);
      expect(await blocks.get("w", 1000, 3)).toEqual(big);
      await blocks.put("w", 1000, 3, ["small"]);
      expect(await blocks.get("w", 1000, 3)).toEqual(["small"]);
      await blocks.deleteBefore("w", 1001);
      expect(await blocks.get("w", 1000, 3)).toBeUndefined();
    });
  });

  describe("StateStore", () => {
    const e = (key: unknown, value: unknown, updatedAt: number): StateEntry => ({ key, value, updatedAt });

    it("versions: reads as of an earlier time see the state of that time", async () => {
      const { state } = await fresh();
      await state.commit("op", 0, 1000, [e("a", 1, 1000), e("b", { n: 1, u: undefined }, 1000), e(["t", 1], new Map([["x", 1]]), 1000)], []);
      await state.commit("op", 0, 2000, [e("a", 2, 2000), e("c", 3, 2000)], ["b"]);
      expect(byKey(await state.scan("op", 0, 1000))).toEqual(byKey([e("a", 1, 1000), e("b", { n: 1, u: undefined }, 1000), e(["t", 1], new Map([["x", 1]]), 1000)]));
      const at2000 = byKey([e("a", 2, 2000), e("c", 3, 2000), e(["t", 1], new Map([["x", 1]]), 1000)]);
      expect(byKey(await state.scan("op", 0, 2000))).toEqual(at2000);
      expect(byKey(await state.scan("op", 0, 99999))).toEqual(at2000);
      expect(await state.scan("op", 0, 999)).toEqual([]);
      expect(await state.scan("op", 1, 2000)).toEqual([]);
      expect(await state.scan("other", 0, 2000)).toEqual([]);
      const b = (await state.getMany("op", 0, ["b"], 1000))[0]!;
      expect(b.value).toEqual({ n: 1, u: undefined });
      expect(Object.prototype.hasOwnProperty.call(b.value, "u")).toBe(true);

      // a retry at 2000 with the same changes gives the same result, and 1000 is still readable
      await state.commit("op", 0, 2000, [e("a", 2, 2000), e("c", 3, 2000)], ["b"]);
      expect(byKey(await state.scan("op", 0, 2000))).toEqual(at2000);
      expect((await state.getMany("op", 0, ["a", "b"], 1000)).map((x) => x.value)).toEqual([1, { n: 1, u: undefined }]);
    });

    it("a half-written commit then a full retry at the same time", async () => {
      const { state } = await fresh();
      await state.commit("op", 3, 1000, [e("a", 1, 1000), e("b", 1, 1000)], []);
      await state.commit("op", 3, 2000, [e("a", 2, 2000), e("b", 2, 2000), e("c", 2, 2000)], []);
      const at2000 = byKey(await state.scan("op", 3, 2000));
      // first attempt at 3000 wrote only some of its changes, with a value the retry does not write
      await state.commit("op", 3, 3000, [e("a", 99, 3000)], ["b"]);
      expect(byKey(await state.scan("op", 3, 2000))).toEqual(at2000);
      await state.commit("op", 3, 3000, [e("a", 3, 3000), e("d", 3, 3000)], ["c"]);
      expect(byKey(await state.scan("op", 3, 2000))).toEqual(at2000);
      // "b" was removed by the first attempt only; the retry's commit does not touch it, as in memory
      expect(byKey(await state.scan("op", 3, 3000))).toEqual(byKey([e("a", 3, 3000), e("d", 3, 3000)]));
      expect(await state.getMany("op", 3, ["a", "b", "c", "d", "zz"], 2000)).toEqual([e("a", 2, 2000), e("b", 2, 2000), e("c", 2, 2000)]);
      expect(await state.getMany("op", 3, ["d", "a", "a"], 3000)).toEqual([e("d", 3, 3000), e("a", 3, 3000), e("a", 3, 3000)]);
      // only one version older than the newest is kept, as in memory
      await state.commit("op", 3, 4000, [e("a", 4, 4000)], []);
      expect(await state.getMany("op", 3, ["a"], 2000)).toEqual([]);
      expect(await state.getMany("op", 3, ["a"], 3000)).toEqual([e("a", 3, 3000)]);
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
      expect(await state.getMany("op", 0, [1, "1"], 1000)).toEqual([e(1, "one", 1000), e("1", "string one", 1000)]);
      await state.commit("op", 0, 3000, [e(1, "back", 3000)], []);
      expect(byKey(await state.scan("op", 0, 3000))).toEqual(byKey([e(1, "back", 3000), e("1", "string one", 1000)]));
      expect(await state.getMany("op", 0, [1], 2000)).toEqual([]);
      // put and remove of one key in one commit: removed
      await state.commit("op", 0, 4000, [e("1", "x", 4000)], ["1"]);
      expect(await state.getMany("op", 0, ["1"], 4000)).toEqual([]);
      expect(await state.getMany("op", 0, ["1"], 3000)).toEqual([e("1", "string one", 1000)]);
    });

    it("getMany over many keys, composite keys and rich values", async () => {
      const { state } = await fresh();
      const keys: unknown[] = Array.from({ length: 230 }, (_, i) => (i % 3 === 0 ? i : i % 3 === 1 ? `k${i}` : { id: i, tags: ["a", i] }));
      keys.push("k".repeat(2000)); // past the sort-key size limit
      const value = (i: number) => ({ i, big: BigInt(i) * 10n ** 20n, when: new Date(i), set: new Set([i, "x"]), m: new Map<unknown, unknown>([[[i], undefined]]) });
      await state.commit("wide", 2, 1000, keys.map((k, i) => e(k, value(i), 1000)), []);
      const got = await state.getMany("wide", 2, [...keys].reverse(), 1000);
      expect(got).toEqual(keys.map((k, i) => e(k, value(i), 1000)).reverse());
      expect(await state.scan("wide", 2, 1000)).toHaveLength(keys.length);
      // the same key written with object keys in another order is the same key
      await state.commit("wide", 2, 2000, [e({ tags: ["a", 2], id: 2 }, "changed", 2000)], []);
      expect((await state.getMany("wide", 2, [{ id: 2, tags: ["a", 2] }], 2000))[0]!.value).toBe("changed");
      expect(await state.scan("wide", 2, 2000)).toHaveLength(keys.length);
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

  describe("QuarantineStore", () => {
    it("keeps quarantined records and lists them up to a limit", async () => {
      const { quarantine } = await fresh();
      expect(await quarantine.list()).toEqual([]);
      const q = (i: number) => ({ batchTime: 1000, stream: "s", shard: "sh-1", sequenceNumber: String(i), operator: "map", error: `bad ${i}`, record: { raw: i, u: undefined } });
      for (let i = 0; i < 4; i++) await quarantine.put(q(i));
      expect(await quarantine.list()).toEqual([q(0), q(1), q(2), q(3)]);
      expect(await quarantine.list({ limit: 2 })).toEqual([q(0), q(1)]);
    });
  });

  describe("TaskQueue", () => {
    const task = (i: number): TaskMessage => ({ batchTime: 1000, stage: Math.floor(i / 10), partition: i % 10 });
    const key = (t: TaskMessage) => `${t.batchTime}/${t.stage}/${t.partition}`;

    async function receiveAll(queue: Awaited<ReturnType<Stores["queue"]>>, n: number) {
      const got = [];
      const deadline = Date.now() + 10_000;
      while (got.length < n && Date.now() < deadline) got.push(...(await queue.receive({ max: 10, waitMs: 1000 })));
      return got;
    }

    it("delivers 25 sent tasks; acked tasks are gone", async () => {
      const queue = await (await fresh()).queue();
      const sent = Array.from({ length: 25 }, (_, i) => task(i));
      await queue.send(sent);
      const got = await receiveAll(queue, 25);
      expect(got.map((r) => key(r.task)).sort()).toEqual(sent.map(key).sort());
      expect(got.every((r) => r.receiveCount === 1)).toBe(true);
      expect(new Set(got.map((r) => r.receipt)).size).toBe(25);
      await Promise.all(got.map((r) => queue.ack(r.receipt)));
      expect(await queue.receive({ max: 10, waitMs: 0 })).toEqual([]);
      expect(await queue.receive({ max: 10, waitMs: 300 })).toEqual([]);
    });

    it("a release with no delay redelivers at once, counting the receive", async () => {
      const queue = await (await fresh()).queue();
      await queue.send([task(3)]);
      const [first] = await receiveAll(queue, 1);
      expect(first!.receiveCount).toBe(1);
      expect(await queue.receive({ max: 10, waitMs: 0 })).toEqual([]);
      await queue.release(first!.receipt, 0);
      const [again] = await receiveAll(queue, 1);
      expect(again!.task).toEqual(task(3));
      expect(again!.receiveCount).toBe(2);
      await queue.ack(again!.receipt);
      await queue.release(again!.receipt, 0); // acked already: a no-op
      expect(await queue.receive({ max: 10, waitMs: 0 })).toEqual([]);
    });

    it("an unacked task comes back after the visibility timeout", async () => {
      const queue = await (await fresh()).queue(1000);
      await queue.send([task(7)]);
      const [first] = await receiveAll(queue, 1);
      expect(await queue.receive({ max: 10, waitMs: 0 })).toEqual([]);
      await sleep(1_100);
      const [again] = await receiveAll(queue, 1);
      expect(again!.task).toEqual(task(7));
      expect(again!.receiveCount).toBe(2);
      expect(again!.receipt).not.toBe(first!.receipt);
    });

    it("a receive stops waiting when its signal aborts", async () => {
      const queue = await (await fresh()).queue();
      const ac = new AbortController();
      const t0 = Date.now();
      setTimeout(() => ac.abort(), 150);
      expect(await queue.receive({ max: 10, waitMs: 5_000, signal: ac.signal })).toEqual([]);
      expect(Date.now() - t0).toBeLessThan(2_500);
    });
  });
});
