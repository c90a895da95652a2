// rdd.saveAsTextFile on a local directory and on S3 (the in-memory object store), after Apache
// Spark's FileSuite "text files" (`makeRDD(1 to 4).saveAsTextFile(dir)` gives part-00000 with
// "1\n2\n3\n4\n") and Hadoop's TextOutputFormat layout: one part file per partition and a _SUCCESS
// marker. Also: foreachPartition computes partitions several at a time; take computes only what it needs.

import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { IllegalStateError, InvalidArgumentError, RDDContext } from "../../lib/index.js";
import { PARTITION_CONCURRENCY } from "../../lib/rdd/rdd.js";
import type { ExecutorServices, RDDScope } from "../../lib/rdd/scope.js";
import type { ObjectStore } from "../../lib/storage/interfaces.js";
import { MemoryObjects } from "../../lib/sources/s3/memory-objects.js";
import { sparkContext } from "./helpers.js";

const textOf = (body: Uint8Array | undefined) => (body === undefined ? undefined : new TextDecoder().decode(body));

/** sparkContext() whose scope has an object store, as a batch's scope on the in-memory engine does. */
function contextWith(objects: ObjectStore): RDDContext {
  let ids = 0;
  const scope: RDDScope = {
    batchTime: 1000,
    defaultParallelism: 2,
    services: { objects } as unknown as ExecutorServices,
    nextRddId: () => ++ids,
    isPlannedShuffle: () => false,
  };
  return new RDDContext(scope);
}

/** Records every call, in order, and how many puts were in flight at most. */
class RecordingStore extends MemoryObjects {
  readonly calls: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  constructor(private readonly putDelayMs = 0) {
    super();
  }
  override async put(bucket: string, key: string, body: Uint8Array): Promise<void> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.putDelayMs) await new Promise((r) => setTimeout(r, this.putDelayMs));
      await super.put(bucket, key, body);
      this.calls.push(`put ${key}`);
    } finally {
      this.inFlight--;
    }
  }
  override async delete(bucket: string, keys: readonly string[]): Promise<void> {
    await super.delete(bucket, keys);
    this.calls.push(`delete ${keys.join(",")}`);
  }
}

describe("RDD.saveAsTextFile", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "sparkless-save-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("FileSuite: text files (one partition)", async () => {
    const out = join(dir, "output");
    await sparkContext().makeRDD([1, 2, 3, 4], 1).saveAsTextFile(out);
    expect((await readdir(out)).sort()).toEqual(["_SUCCESS", "part-00000"]);
    expect(await readFile(join(out, "part-00000"), "utf8")).toBe("1\n2\n3\n4\n");
    expect(await readFile(join(out, "_SUCCESS"), "utf8")).toBe("");
  });

  it("one part file per partition, an empty one for an empty partition; pairs written as print writes them", async () => {
    const out = join(dir, "pairs");
    // 2 elements over 3 partitions: [] [a] [b].
    await sparkContext()
      .parallelize<[string, number]>(
        [
          ["a", 1],
          ["b", 2],
        ],
        3,
      )
      .saveAsTextFile(`file://${out}`);
    expect((await readdir(out)).sort()).toEqual(["_SUCCESS", "part-00000", "part-00001", "part-00002"]);
    expect(await readFile(join(out, "part-00000"), "utf8")).toBe("");
    expect(await readFile(join(out, "part-00001"), "utf8")).toBe("(a,1)\n");
    expect(await readFile(join(out, "part-00002"), "utf8")).toBe("(b,2)\n");
  });

  it("a rerun replaces the files and removes part files past the new partition count, and temporary ones", async () => {
    const out = join(dir, "rerun");
    await sparkContext().parallelize([1, 2, 3, 4], 4).saveAsTextFile(out);
    await writeFile(join(out, "other.txt"), "kept");
    await writeFile(join(out, ".part-00003.inprogress"), "left by a run that died mid-write");
    await sparkContext().parallelize([5, 6], 2).saveAsTextFile(out);
    expect((await readdir(out)).sort()).toEqual(["_SUCCESS", "other.txt", "part-00000", "part-00001"]);
    expect(await readFile(join(out, "part-00000"), "utf8")).toBe("5\n");
    expect(await readFile(join(out, "part-00001"), "utf8")).toBe("6\n");
  });

  it("refuses an empty path and schemes other than file:// and s3://", async () => {
    await expect(sparkContext().parallelize([1]).saveAsTextFile("")).rejects.toThrow(/non-empty directory path/);
    await expect(sparkContext().parallelize([1]).saveAsTextFile("gs://bucket/prefix")).rejects.toThrow(InvalidArgumentError);
    await expect(sparkContext().parallelize([1]).saveAsTextFile("gs://bucket/prefix")).rejects.toThrow(
      /local path, a file:\/\/ URI or s3:\/\/bucket\/key/,
    );
  });
});

describe("RDD.saveAsTextFile to s3://", () => {
  it("FileSuite: text files, under the key: part-00000 then _SUCCESS", async () => {
    const store = new MemoryObjects();
    await contextWith(store).makeRDD([1, 2, 3, 4], 1).saveAsTextFile("s3://user-bucket/out/numbers");
    expect(await store.list("user-bucket", "")).toEqual(["out/numbers/_SUCCESS", "out/numbers/part-00000"]);
    expect(textOf(await store.get("user-bucket", "out/numbers/part-00000"))).toBe("1\n2\n3\n4\n");
    expect(textOf(await store.get("user-bucket", "out/numbers/_SUCCESS"))).toBe("");
  });

  it("one part per partition with exact contents, an empty part for an empty partition", async () => {
    const store = new MemoryObjects();
    // 2 elements over 3 partitions: [] [a] [b].
    await contextWith(store)
      .parallelize<[string, number]>(
        [
          ["a", 1],
          ["b", 2],
        ],
        3,
      )
      .saveAsTextFile("s3://user-bucket/pairs/");
    expect(await store.list("user-bucket", "pairs/")).toEqual(["pairs/_SUCCESS", "pairs/part-00000", "pairs/part-00001", "pairs/part-00002"]);
    expect(textOf(await store.get("user-bucket", "pairs/part-00000"))).toBe("");
    expect(textOf(await store.get("user-bucket", "pairs/part-00001"))).toBe("(a,1)\n");
    expect(textOf(await store.get("user-bucket", "pairs/part-00002"))).toBe("(b,2)\n");
  });

  it("accepts s3a:// as Spark code on Hadoop writes it", async () => {
    const store = new MemoryObjects();
    await contextWith(store).parallelize(["x"], 1).saveAsTextFile("s3a://user-bucket/a");
    expect(await store.list("user-bucket", "a/")).toEqual(["a/_SUCCESS", "a/part-00000"]);
  });

  it("a rerun with fewer partitions: _SUCCESS deleted first, parts put, stale parts deleted, _SUCCESS put last", async () => {
    const store = new RecordingStore();
    const sc = contextWith(store);
    await sc.parallelize([1, 2, 3, 4], 4).saveAsTextFile("s3://user-bucket/rerun");
    await store.put("user-bucket", "rerun/notes.txt", new TextEncoder().encode("kept"));
    await store.put("user-bucket", "rerun-other/part-00009", new TextEncoder().encode("another output"));
    store.calls.length = 0;
    await sc.parallelize([5, 6], 2).saveAsTextFile("s3://user-bucket/rerun");
    expect(store.calls[0]).toBe("delete rerun/_SUCCESS");
    expect(store.calls.slice(1, 3).sort()).toEqual(["put rerun/part-00000", "put rerun/part-00001"]);
    expect(store.calls.slice(3)).toEqual(["delete rerun/part-00002,rerun/part-00003", "put rerun/_SUCCESS"]);
    expect(await store.list("user-bucket", "rerun")).toEqual([
      "rerun-other/part-00009",
      "rerun/_SUCCESS",
      "rerun/notes.txt",
      "rerun/part-00000",
      "rerun/part-00001",
    ]);
    expect(textOf(await store.get("user-bucket", "rerun/part-00000"))).toBe("5\n");
    expect(textOf(await store.get("user-bucket", "rerun/part-00001"))).toBe("6\n");
  });

  it("a failed part leaves no _SUCCESS, and the next run completes the output", async () => {
    const store = new MemoryObjects();
    const sc = contextWith(store);
    await sc.parallelize([1, 2, 3], 3).saveAsTextFile("s3://user-bucket/f");
    const failing = sc.parallelize([1, 2, 3], 3).map((x) => {
      if (x === 2) throw new Error("boom");
      return x * 10;
    });
    await expect(failing.saveAsTextFile("s3://user-bucket/f")).rejects.toThrow("boom");
    expect(await store.list("user-bucket", "f/")).not.toContain("f/_SUCCESS");
    await sc
      .parallelize([1, 2, 3], 3)
      .map((x) => x * 10)
      .saveAsTextFile("s3://user-bucket/f");
    expect(await store.list("user-bucket", "f/")).toEqual(["f/_SUCCESS", "f/part-00000", "f/part-00001", "f/part-00002"]);
    expect(textOf(await store.get("user-bucket", "f/part-00001"))).toBe("20\n");
  });

  it("writes parts concurrently, each from its partition's own computation", async () => {
    const store = new RecordingStore(20);
    await contextWith(store).parallelize([1, 2, 3], 3).saveAsTextFile("s3://user-bucket/c");
    expect(store.maxInFlight).toBe(3);
  });

  it("refuses a bad bucket or a missing key, and an engine without an object store", async () => {
    const sc = contextWith(new MemoryObjects());
    await expect(sc.parallelize([1]).saveAsTextFile("s3://Bad_Bucket/x")).rejects.toThrow(/bucket name of 3 to 63 characters .* got `Bad_Bucket`/);
    await expect(sc.parallelize([1]).saveAsTextFile("s3://user-bucket")).rejects.toThrow(/no key to write under.*s3:\/\/user-bucket\/output/);
    await expect(sc.parallelize([1]).saveAsTextFile("s3://user-bucket/")).rejects.toThrow(InvalidArgumentError);
    await expect(sparkContext().parallelize([1]).saveAsTextFile("s3://user-bucket/x")).rejects.toThrow(IllegalStateError);
  });
});

describe("RDD partition actions", () => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it("foreachPartition computes partitions concurrently, at most PARTITION_CONCURRENCY at a time", async () => {
    let inFlight = 0;
    let max = 0;
    const seen: number[] = [];
    const n = PARTITION_CONCURRENCY * 2 + 1;
    await sparkContext()
      .parallelize(
        Array.from({ length: n }, (_, i) => i),
        n,
      )
      .foreachPartition(async (items, p) => {
        inFlight++;
        max = Math.max(max, inFlight);
        await sleep(10);
        seen.push(p);
        expect(items).toEqual([p]);
        inFlight--;
      });
    expect(max).toBe(PARTITION_CONCURRENCY);
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it("foreach sees every element once, in order within a partition, partitions overlapping", async () => {
    const seen: number[] = [];
    let inFlight = 0;
    let max = 0;
    await sparkContext()
      .parallelize([1, 2, 3, 4, 5, 6], 3)
      .foreach(async (x) => {
        inFlight++;
        max = Math.max(max, inFlight);
        await sleep(5);
        seen.push(x);
        inFlight--;
      });
    expect(max).toBe(3);
    expect([...seen].sort()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(seen.indexOf(1)).toBeLessThan(seen.indexOf(2));
    expect(seen.indexOf(5)).toBeLessThan(seen.indexOf(6));
  });

  it("foreachPartition: a failure starts no new partition and is thrown once those running finish", async () => {
    const started: number[] = [];
    const finished: number[] = [];
    const n = PARTITION_CONCURRENCY + 4;
    const run = sparkContext()
      .parallelize(
        Array.from({ length: n }, (_, i) => i),
        n,
      )
      .foreachPartition(async (_items, p) => {
        started.push(p);
        if (p === 0) throw new Error("partition 0 failed");
        await sleep(10);
        finished.push(p);
      });
    await expect(run).rejects.toThrow("partition 0 failed");
    expect(started.sort((a, b) => a - b)).toEqual(Array.from({ length: PARTITION_CONCURRENCY }, (_, i) => i));
    expect(finished).toHaveLength(PARTITION_CONCURRENCY - 1);
  });

  it("take computes only the partitions it needs, in order", async () => {
    const computed: number[] = [];
    const rdd = sparkContext()
      .parallelize([1, 2, 3, 4, 5, 6, 7, 8], 4)
      .mapPartitions((items, p) => {
        computed.push(p);
        return items;
      });
    expect(await rdd.take(3)).toEqual([1, 2, 3]);
    expect(computed).toEqual([0, 1]);
    computed.length = 0;
    expect(await rdd.take(2)).toEqual([1, 2]);
    expect(computed).toEqual([0]);
    computed.length = 0;
    expect(await rdd.first()).toBe(1);
    expect(computed).toEqual([0]);
  });
});
