// rdd.saveAsTextFile on a local directory, after Apache Spark's FileSuite "text files"
// (`makeRDD(1 to 4).saveAsTextFile(dir)` gives part-00000 with "1\n2\n3\n4\n") and Hadoop's
// TextOutputFormat layout: one part file per partition and a _SUCCESS marker.

import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../lib/index.js";
import { sparkContext } from "./helpers.js";

describe("RDD.saveAsTextFile", () => {
  let dir: string;
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), "sparkless-save-")); });
  afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

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
    await sparkContext().parallelize<[string, number]>([["a", 1], ["b", 2]], 3).saveAsTextFile(`file://${out}`);
    expect((await readdir(out)).sort()).toEqual(["_SUCCESS", "part-00000", "part-00001", "part-00002"]);
    expect(await readFile(join(out, "part-00000"), "utf8")).toBe("");
    expect(await readFile(join(out, "part-00001"), "utf8")).toBe("(a,1)\n");
    expect(await readFile(join(out, "part-00002"), "utf8")).toBe("(b,2)\n");
  });

  it("a rerun replaces the files and removes part files past the new partition count", async () => {
    const out = join(dir, "rerun");
    await sparkContext().parallelize([1, 2, 3, 4], 4).saveAsTextFile(out);
    await writeFile(join(out, "other.txt"), "kept");
    await sparkContext().parallelize([5, 6], 2).saveAsTextFile(out);
    expect((await readdir(out)).sort()).toEqual(["_SUCCESS", "other.txt", "part-00000", "part-00001"]);
    expect(await readFile(join(out, "part-00000"), "utf8")).toBe("5\n");
    expect(await readFile(join(out, "part-00001"), "utf8")).toBe("6\n");
  });

  it("refuses a path that is not local", async () => {
    await expect(sparkContext().parallelize([1]).saveAsTextFile("s3://bucket/prefix")).rejects.toThrow(InvalidArgumentError);
    await expect(sparkContext().parallelize([1]).saveAsTextFile("")).rejects.toThrow(/non-empty directory path/);
  });
});
