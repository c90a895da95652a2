/**
 * Output operations: `foreachRDD`, `print` and `saveAsTextFiles`. An output
 * stream runs once per batch in which its parent generates an RDD, as the
 * last stage of the batch's job for it (Spark's ForEachDStream).
 */
import { Time } from "../core/duration.js";
import { formatPrint } from "../core/format.js";
import type { RDD } from "../rdd/rdd.js";
import { parseOutputPath } from "../rdd/text-file.js";
import type { DStream, DStreamSpec } from "./dstream.js";

export type ForeachFunction<T> = (rdd: RDD<T>, time: Time) => void | Promise<void>;

export function outputSpec(parent: DStream<unknown>, output: ForeachFunction<unknown>, kind: string): DStreamSpec<unknown> {
  return { kind, parents: [parent], output, compute: async () => undefined };
}

/** Spark's print: the first `num` elements after a header, and `...` when there are more. */
export function printOutput(num: number, printLine: (line: string) => void): ForeachFunction<unknown> {
  return async (rdd, time) => {
    const first = await rdd.take(num + 1);
    for (const line of formatPrint(time.milliseconds, first, num)) printLine(line);
  };
}

/** Spark's rddToFileName: `prefix-<ms>.suffix`, leaving out an empty prefix or suffix. */
export function rddToFileName(prefix: string | undefined, suffix: string | undefined, time: Time): string {
  let result = String(time.milliseconds);
  if (prefix) result = `${prefix}-${result}`;
  if (suffix) result = `${result}.${suffix}`;
  return result;
}

/**
 * Spark's saveAsTextFiles: each batch's RDD saved with `saveAsTextFile` to `prefix-<ms>.suffix`, a
 * directory (or S3 key prefix) of `part-NNNNN` files and `_SUCCESS`; see lib/rdd/text-file.ts for
 * the layout and why a rerun of the batch is safe. The path is checked here, when the output is
 * registered, so a bad one fails before any batch runs.
 */
export function saveAsTextFilesOutput(prefix: string, suffix?: string): ForeachFunction<unknown> {
  parseOutputPath(rddToFileName(prefix, suffix, new Time(0)));
  return async (rdd, time) => {
    await rdd.saveAsTextFile(rddToFileName(prefix, suffix, time));
  };
}
