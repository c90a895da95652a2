/**
 * The live demo behind `npm start` (in-memory engine): a producer feeds the
 * lines of a real text, a few per 100 ms, and a word count with
 * updateStateByKey and a 3-second window prints its results every second.
 *
 *   npm start                 # until Ctrl-C
 *   npm start -- --batches 5  # stop after 5 batches
 */
import { readFileSync } from "node:fs";
import { Seconds, StreamingContext } from "sparkless";
import { wordCount } from "./wordcount.js";

const batchesArg = process.argv.indexOf("--batches");
const maxBatches = batchesArg > 0 ? Number(process.argv[batchesArg + 1]) : Infinity;
const text = readFileSync(new URL("./data/alice.txt", import.meta.url), "utf8");
const lines = text
  .split(/(?<=[.!?;:])\s+/)
  .map((l) =>
    l
      .toLowerCase()
      .replace(/[^a-z' -]/g, " ")
      .trim(),
  )
  .filter(Boolean);

const ssc = new StreamingContext(Seconds(1));
const queue: string[][] = [];
const { totals, recent } = wordCount(ssc.queueStream(queue, false));
totals.transform((rdd) => rdd.sortBy((kv) => -kv[1])).print(5);
recent
  .filter((kv) => kv[1] > 0)
  .transform((rdd) => rdd.sortBy((kv) => -kv[1]))
  .print(5);

let next = 0;
const producer = setInterval(() => {
  queue.push([lines[next++ % lines.length]!]);
}, 100);
let completed = 0;
ssc.addStreamingListener({
  onBatchCompleted: () => {
    if (++completed >= maxBatches) void shutdown();
  },
});
const shutdown = async () => {
  clearInterval(producer);
  await ssc.stop({ stopGracefully: true });
};
process.on("SIGINT", () => void shutdown());
console.log(`sparkless demo: word count over "Alice's Adventures in Wonderland", 1 s batches. Ctrl-C to stop.`);
ssc.start();
await ssc.awaitTermination();
