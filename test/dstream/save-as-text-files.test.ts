// saveAsTextFiles as Spark writes it: each batch's RDD saved with saveAsTextFile to `prefix-<ms>.suffix`,
// a directory (or S3 key prefix) of part-NNNNN files, one per partition, and _SUCCESS. On the in-memory
// engine s3:// paths go to its object store; on the local engines (runBatches({ engine: "local" })) to
// S3 on fauxqs. A rerun of a batch replaces its objects: no stale or doubled part, _SUCCESS last.
import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { InvalidArgumentError, MemoryEngineServices, runBatches, Seconds, type DStream } from "../../lib/index.js";
import { createClients, type AwsClients } from "../../lib/aws/engine.js";
import { S3ObjectStore } from "../../lib/aws/s3.js";
import { LOCAL_CREDENTIALS } from "../../lib/local/engines/client-config.js";
import { sharedEngines, stopSharedEngines } from "../../lib/local/run-batches-local.js";
import type { ObjectStore } from "../../lib/storage/interfaces.js";
import { MemoryObjects } from "../../lib/sources/s3/memory-objects.js";

const BUCKET = "user-bucket";
const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

/** Every object under `prefix` as key → text. */
async function objectsUnder(store: ObjectStore, prefix: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const key of await store.list(BUCKET, prefix)) out[key] = text(await store.get(BUCKET, key))!;
  return out;
}

/** Runs `pipeline`'s saveAsTextFiles on the in-memory engine writing to `objects`; returns nothing (outputs are read back). */
async function runInMemory(
  objects: MemoryObjects,
  inputs: unknown[][],
  pipeline: (s: DStream<any>) => void,
  options: { inputPartitions?: number; restartEachBatch?: boolean } = {},
): Promise<void> {
  await runBatches({
    batchInterval: Seconds(1),
    inputs: [inputs],
    engine: new MemoryEngineServices({ objects }),
    ...options,
    pipeline: (s) => {
      pipeline(s);
      return s;
    },
  });
}

describe("saveAsTextFiles to s3:// on the in-memory engine", () => {
  it("one part per partition under `prefix-<ms>.suffix/`, exact contents, _SUCCESS", async () => {
    const objects = new MemoryObjects();
    await runInMemory(
      objects,
      [
        [
          ["a", 1],
          ["b", 2],
          ["c", 3],
          ["d", 4],
          ["e", 5],
        ],
        [
          ["f", 6],
          ["g", 7],
        ],
      ],
      (s) => s.saveAsTextFiles(`s3://${BUCKET}/out/counts`, "txt"),
      { inputPartitions: 3 },
    );
    // Spark's parallelize slices: 5 elements over 3 partitions are [a] [b c] [d e]; 2 over 3 are [] [f] [g].
    expect(await objectsUnder(objects, "out/")).toEqual({
      "out/counts-1000.txt/_SUCCESS": "",
      "out/counts-1000.txt/part-00000": "(a,1)\n",
      "out/counts-1000.txt/part-00001": "(b,2)\n(c,3)\n",
      "out/counts-1000.txt/part-00002": "(d,4)\n(e,5)\n",
      "out/counts-2000.txt/_SUCCESS": "",
      "out/counts-2000.txt/part-00000": "",
      "out/counts-2000.txt/part-00001": "(f,6)\n",
      "out/counts-2000.txt/part-00002": "(g,7)\n",
    });
  });

  it("on an engine made without options, outputs land in engine.objects: the buckets textFileStream reads", async () => {
    const engine = new MemoryEngineServices();
    await runBatches({
      batchInterval: Seconds(1),
      inputs: [[["only"]]],
      engine,
      pipeline: (s) => {
        s.saveAsTextFiles(`s3://${BUCKET}/default`);
        return s;
      },
    });
    expect(engine.objects).toBe(engine.files);
    expect(await objectsUnder(engine.files, "default-")).toEqual({ "default-1000/_SUCCESS": "", "default-1000/part-00000": "only\n" });
  });

  it("without a suffix the key is `prefix-<ms>`; an empty batch gives empty parts and _SUCCESS", async () => {
    const objects = new MemoryObjects();
    await runInMemory(objects, [["x", "y"], []], (s) => s.saveAsTextFiles(`s3://${BUCKET}/plain`), { inputPartitions: 2 });
    expect(await objectsUnder(objects, "plain-")).toEqual({
      "plain-1000/_SUCCESS": "",
      "plain-1000/part-00000": "x\n",
      "plain-1000/part-00001": "y\n",
      "plain-2000/_SUCCESS": "",
      "plain-2000/part-00000": "",
      "plain-2000/part-00001": "",
    });
  });

  it("a keyed stream writes one part per reduce partition, each key once", async () => {
    const objects = new MemoryObjects();
    await runInMemory(objects, [["a b a", "c b a"]], (s) =>
      (s as DStream<string>)
        .flatMap((l) => l.split(" "))
        .map((w) => [w, 1] as [string, number])
        .reduceByKey((x, y) => x + y, 3)
        .saveAsTextFiles(`s3://${BUCKET}/words`),
    );
    const written = await objectsUnder(objects, "words-1000/");
    expect(Object.keys(written)).toEqual(["words-1000/_SUCCESS", "words-1000/part-00000", "words-1000/part-00001", "words-1000/part-00002"]);
    const lines = Object.entries(written)
      .filter(([k]) => k.includes("part-"))
      .flatMap(([, v]) => v.split("\n").filter((l) => l !== ""));
    expect(lines.sort()).toEqual(["(a,3)", "(b,2)", "(c,1)"]);
  });

  it("a rerun of the same batch with fewer partitions leaves no stale or doubled part, and _SUCCESS", async () => {
    const objects = new MemoryObjects();
    const save = (s: DStream<any>) => s.saveAsTextFiles(`s3://${BUCKET}/rerun/out`, "txt");
    await runInMemory(
      objects,
      [
        [1, 2, 3, 4, 5, 6],
        [7, 8, 9],
      ],
      save,
      { inputPartitions: 3 },
    );
    await runInMemory(
      objects,
      [
        [1, 2, 3, 4, 5, 6],
        [7, 8, 9],
      ],
      save,
      { inputPartitions: 2 },
    );
    expect(await objectsUnder(objects, "rerun/")).toEqual({
      "rerun/out-1000.txt/_SUCCESS": "",
      "rerun/out-1000.txt/part-00000": "1\n2\n3\n",
      "rerun/out-1000.txt/part-00001": "4\n5\n6\n",
      "rerun/out-2000.txt/_SUCCESS": "",
      "rerun/out-2000.txt/part-00000": "7\n",
      "rerun/out-2000.txt/part-00001": "8\n9\n",
    });
  });

  it("a batch run again by a cold coordinator writes the same objects again, once", async () => {
    const objects = new MemoryObjects();
    await runInMemory(objects, [[1, 2], [3], [4, 5]], (s) => s.saveAsTextFiles(`s3://${BUCKET}/cold/out`), {
      inputPartitions: 2,
      restartEachBatch: true,
    });
    expect(await objectsUnder(objects, "cold/")).toEqual({
      "cold/out-1000/_SUCCESS": "",
      "cold/out-1000/part-00000": "1\n",
      "cold/out-1000/part-00001": "2\n",
      "cold/out-2000/_SUCCESS": "",
      "cold/out-2000/part-00000": "",
      "cold/out-2000/part-00001": "3\n",
      "cold/out-3000/_SUCCESS": "",
      "cold/out-3000/part-00000": "4\n",
      "cold/out-3000/part-00001": "5\n",
    });
  });

  it("a windowed stream saves only at slide boundaries", async () => {
    const objects = new MemoryObjects();
    await runInMemory(objects, [[1], [2], [3], [4]], (s) => s.window(Seconds(2), Seconds(2)).saveAsTextFiles(`s3://${BUCKET}/win`));
    const keys = await objects.list(BUCKET, "win-");
    expect(keys.filter((k) => k.endsWith("_SUCCESS"))).toEqual(["win-2000/_SUCCESS", "win-4000/_SUCCESS"]);
    const lines4000 = (
      await Promise.all(keys.filter((k) => k.startsWith("win-4000/part-")).map(async (k) => text(await objects.get(BUCKET, k))!))
    ).join("");
    expect(lines4000.split("\n").filter(Boolean).sort()).toEqual(["3", "4"]);
  });

  it("refuses a bad path when the output is registered, naming the fix", async () => {
    const run = (prefix: string) => runInMemory(new MemoryObjects(), [[1]], (s) => s.saveAsTextFiles(prefix, "txt"));
    // `s3://bucket` + `-1000.txt` would be another bucket: a key prefix is required.
    await expect(run(`s3://${BUCKET}`)).rejects.toThrow(InvalidArgumentError);
    await expect(run(`s3://${BUCKET}`)).rejects.toThrow(/no key to write under/);
    await expect(run("gs://bucket/out")).rejects.toThrow(/local path, a file:\/\/ URI or s3:\/\/bucket\/key/);
  });
});

describe("saveAsTextFiles to a local path: a directory per batch, as Spark", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "sparkless-save-files-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("`prefix-<ms>.suffix/` holds part-NNNNN per partition and _SUCCESS", async () => {
    const prefix = join(dir, "counts");
    await runBatches({
      batchInterval: Seconds(1),
      inputs: [
        [
          [
            ["a", 1],
            ["b", 2],
          ],
          [["c", [3, 4]]],
          [],
        ],
      ],
      inputPartitions: 2,
      pipeline: (s) => {
        s.saveAsTextFiles(prefix, "txt");
        return s;
      },
    });
    expect((await readdir(dir)).sort()).toEqual(["counts-1000.txt", "counts-2000.txt", "counts-3000.txt"]);
    expect((await readdir(`${prefix}-1000.txt`)).sort()).toEqual(["_SUCCESS", "part-00000", "part-00001"]);
    expect(await readFile(join(`${prefix}-1000.txt`, "part-00000"), "utf8")).toBe("(a,1)\n");
    expect(await readFile(join(`${prefix}-1000.txt`, "part-00001"), "utf8")).toBe("(b,2)\n");
    expect(await readFile(join(`${prefix}-2000.txt`, "part-00000"), "utf8")).toBe("");
    expect(await readFile(join(`${prefix}-2000.txt`, "part-00001"), "utf8")).toBe("(c,(3,4))\n");
    expect(await readFile(join(`${prefix}-3000.txt`, "part-00000"), "utf8")).toBe("");
    expect(await readFile(join(`${prefix}-3000.txt`, "_SUCCESS"), "utf8")).toBe("");
  });

  it("without a suffix the directory is `prefix-<ms>`; missing parent directories are created", async () => {
    const prefix = join(dir, "nested", "deeper", "out");
    await runBatches({
      batchInterval: Seconds(1),
      inputs: [[["x"], ["y", "z"]]],
      pipeline: (s) => {
        s.saveAsTextFiles(prefix);
        return s;
      },
    });
    expect((await readdir(join(dir, "nested", "deeper"))).sort()).toEqual(["out-1000", "out-2000"]);
    expect(await readFile(join(`${prefix}-2000`, "part-00000"), "utf8")).toBe("y\nz\n");
  });

  it("a rerun with fewer partitions removes the stale part files", async () => {
    const prefix = join(dir, "rerun");
    for (const inputPartitions of [3, 1]) {
      await runBatches({
        batchInterval: Seconds(1),
        inputs: [[[1, 2, 3]]],
        inputPartitions,
        pipeline: (s) => {
          s.saveAsTextFiles(prefix);
          return s;
        },
      });
    }
    expect((await readdir(`${prefix}-1000`)).sort()).toEqual(["_SUCCESS", "part-00000"]);
    expect(await readFile(join(`${prefix}-1000`, "part-00000"), "utf8")).toBe("1\n2\n3\n");
  });
});

describe("print reads only what it needs", () => {
  it("print(2) computes the first partitions only, until it has 3 elements", async () => {
    const computed: number[] = [];
    const lines: string[] = [];
    await runBatches({
      batchInterval: Seconds(1),
      inputs: [[[1, 2, 3, 4, 5, 6, 7]]],
      inputPartitions: 3, // [1 2] [3 4] [5 6 7]
      print: (l) => lines.push(l),
      pipeline: (s) => {
        s.mapPartitions((items: number[], p) => {
          computed.push(p);
          return items;
        }).print(2);
        return s;
      },
    });
    expect(lines.slice(3)).toEqual(["1", "2", "...", ""]);
    expect(computed).toEqual([0, 1]);
  });
});

describe("saveAsTextFiles on the local engines (S3 on fauxqs)", () => {
  let clients: AwsClients;
  let store: S3ObjectStore;

  beforeAll(async () => {
    const engines = await sharedEngines();
    clients = createClients({ region: "us-east-1", endpoints: { s3: engines.s3 }, credentials: { ...LOCAL_CREDENTIALS } });
    store = new S3ObjectStore(clients.s3);
    await clients.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
  }, 180_000);
  afterAll(async () => {
    clients?.s3.destroy();
    await stopSharedEngines();
  }, 60_000);

  const runLocal = (inputs: unknown[][], inputPartitions: number, pipeline: (s: DStream<any>) => void, execution?: "fan-out") =>
    runBatches({
      batchInterval: Seconds(1),
      inputs: [inputs],
      inputPartitions,
      engine: "local",
      ...(execution ? { execution } : {}),
      pipeline: (s) => {
        pipeline(s);
        return s;
      },
    });

  it("one part per shard with exact contents, an empty part for an empty shard, _SUCCESS; a local directory too", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sparkless-save-local-"));
    try {
      await runLocal(
        [
          [
            ["a", 1],
            ["b", 2],
            ["c", 3],
          ],
          [
            ["d", 4],
            ["e", 5],
          ],
        ],
        3,
        (s) => {
          s.saveAsTextFiles(`s3://${BUCKET}/local/counts`, "txt");
          s.saveAsTextFiles(join(dir, "counts"), "txt");
        },
      );
      // Slice p of each batch goes to shard p: [a] [b] [c], then [] [d] [e].
      expect(await objectsUnder(store, "local/")).toEqual({
        "local/counts-1000.txt/_SUCCESS": "",
        "local/counts-1000.txt/part-00000": "(a,1)\n",
        "local/counts-1000.txt/part-00001": "(b,2)\n",
        "local/counts-1000.txt/part-00002": "(c,3)\n",
        "local/counts-2000.txt/_SUCCESS": "",
        "local/counts-2000.txt/part-00000": "",
        "local/counts-2000.txt/part-00001": "(d,4)\n",
        "local/counts-2000.txt/part-00002": "(e,5)\n",
      });
      expect((await readdir(join(dir, "counts-2000.txt"))).sort()).toEqual(["_SUCCESS", "part-00000", "part-00001", "part-00002"]);
      expect(await readFile(join(dir, "counts-2000.txt", "part-00002"), "utf8")).toBe("(e,5)\n");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a rerun of the same batches with fewer partitions (fanned out) leaves no stale or doubled object", async () => {
    const save = (s: DStream<any>) => s.map((x: number) => x * 10).saveAsTextFiles(`s3://${BUCKET}/rerun/out`);
    await runLocal(
      [
        [1, 2, 3, 4, 5, 6],
        [7, 8, 9],
      ],
      3,
      save,
    );
    expect(await store.list(BUCKET, "rerun/out-1000/")).toEqual([
      "rerun/out-1000/_SUCCESS",
      "rerun/out-1000/part-00000",
      "rerun/out-1000/part-00001",
      "rerun/out-1000/part-00002",
    ]);
    await runLocal(
      [
        [1, 2, 3, 4, 5, 6],
        [7, 8, 9],
      ],
      2,
      save,
      "fan-out",
    );
    expect(await objectsUnder(store, "rerun/")).toEqual({
      "rerun/out-1000/_SUCCESS": "",
      "rerun/out-1000/part-00000": "10\n20\n30\n",
      "rerun/out-1000/part-00001": "40\n50\n60\n",
      "rerun/out-2000/_SUCCESS": "",
      "rerun/out-2000/part-00000": "70\n",
      "rerun/out-2000/part-00001": "80\n90\n",
    });
  });

  it("a missing bucket fails the batch with an error naming the bucket and the fix", async () => {
    await expect(runLocal([[1]], 1, (s) => s.saveAsTextFiles("s3://no-such-bucket-here/out"))).rejects.toThrow(
      /s3:\/\/no-such-bucket-here does not exist\. Create it first/,
    );
  });
});
