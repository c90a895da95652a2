import { Seconds, type DStream } from "sparkless";

/** Adds a batch's counts to a word's running total. */
const sum = (counts: number[], total: number | undefined) => counts.reduce((a, b) => a + b, total ?? 0);

/** Running totals per word, and counts over the last 3 seconds, updated every second. */
export function wordCount(lines: DStream<string>) {
  const pairs = lines
    .flatMap((line) => line.split(" "))
    .filter((w) => w !== "")
    .map((word) => [word, 1]);
  const totals = pairs.updateStateByKey(sum);
  const recent = pairs.reduceByKeyAndWindow(
    (a, b) => a + b,
    (a, b) => a - b,
    Seconds(3),
    Seconds(1),
  );
  return { totals, recent };
}
