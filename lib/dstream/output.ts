/**
 * Output operations: `foreachRDD`, `print` and `saveAsTextFiles`. An output
 * stream runs once per batch in which its parent generates an RDD, as the
 * last stage of the batch's job for it (Spark's ForEachDStream).
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { Time } from "../core/duration.js";
import { formatElement, formatPrint } from "../core/format.js";
import type { RDD } from "../rdd/rdd.js";
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

export function saveAsTextFilesOutput(prefix: string, suffix?: string): ForeachFunction<unknown> {
  return async (rdd, time) => {
    const file = rddToFileName(prefix, suffix, time);
    const lines = (await rdd.collect()).map(formatElement);
    await mkdir(dirname(file), { recursive: true });
    // Written whole, so a retried batch overwrites its file rather than appending to it.
    await writeFile(file, lines.length ? lines.join("\n") + "\n" : "");
  };
}
