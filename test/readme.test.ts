/** The README's word count is the example in examples/wordcount.ts, and it runs as documented. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runBatches, Seconds } from "../lib/index.js";
import { wordCount } from "../examples/wordcount.js";

const byKey = (b: unknown[]) => [...(b as [string, number][])].sort((x, y) => (x[0] < y[0] ? -1 : 1));

describe("README word count", () => {
  it("shows exactly the code of examples/wordcount.ts", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const example = readFileSync(new URL("../examples/wordcount.ts", import.meta.url), "utf8");
    const firstBlock = /```ts\n([\s\S]*?)```/.exec(readme)![1]!;
    expect(firstBlock.trim()).toBe(example.trim());
  });

  it("keeps running totals with updateStateByKey", async () => {
    const out = await runBatches({
      batchInterval: Seconds(1),
      inputs: [[["to be or not to be"], ["to see"], [], []]],
      pipeline: (lines) => wordCount(lines).totals,
    });
    expect(out.map(byKey)).toEqual([
      [
        ["be", 2],
        ["not", 1],
        ["or", 1],
        ["to", 2],
      ],
      [
        ["be", 2],
        ["not", 1],
        ["or", 1],
        ["see", 1],
        ["to", 3],
      ],
      [
        ["be", 2],
        ["not", 1],
        ["or", 1],
        ["see", 1],
        ["to", 3],
      ],
      [
        ["be", 2],
        ["not", 1],
        ["or", 1],
        ["see", 1],
        ["to", 3],
      ],
    ]);
  });

  it("counts the last 3 seconds incrementally with reduceByKeyAndWindow", async () => {
    const out = await runBatches({
      batchInterval: Seconds(1),
      inputs: [[["to be or not to be"], ["to see"], [], []]],
      pipeline: (lines) => wordCount(lines).recent,
    });
    expect(out.map(byKey)).toEqual([
      [
        ["be", 2],
        ["not", 1],
        ["or", 1],
        ["to", 2],
      ],
      [
        ["be", 2],
        ["not", 1],
        ["or", 1],
        ["see", 1],
        ["to", 3],
      ],
      [
        ["be", 2],
        ["not", 1],
        ["or", 1],
        ["see", 1],
        ["to", 3],
      ],
      // The first batch left the window; with an inverse function and no filter, Spark keeps zero counts.
      [
        ["be", 0],
        ["not", 0],
        ["or", 0],
        ["see", 1],
        ["to", 1],
      ],
    ]);
  });
});
