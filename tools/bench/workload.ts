/**
 * The bench's workload, the same for every contender and every run: the
 * README's stateful word count (running totals with updateStateByKey, and a
 * sliding count with reduceByKeyAndWindow and its inverse) over text lines of
 * Zipf-distributed words, and its stateless variant (a per-batch
 * reduceByKey, no state). The lines come from a seeded generator, so every
 * contender and every repeat sees the same records.
 *
 * The window is 3 batch intervals long and slides every interval, as the
 * README's 3 s / 1 s window at 1 s batches.
 */
import { Duration } from "../../lib/core/duration.js";
import type { DStream } from "../../lib/dstream/dstream.js";
import { StreamingContext } from "../../lib/streaming/context.js";

/** Words per line, distinct words, and the Zipf exponent of the bench's input. */
export const WORDS_PER_LINE = 8;
export const VOCABULARY = 10_000;
export const ZIPF_S = 1;
/** The sliding window, in batch intervals: 3 intervals long, sliding every interval. */
export const WINDOW_BATCHES = 3;

/** mulberry32: a small seeded PRNG, so every run and every contender sees the same records. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYLLABLES = ["ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "de", "va", "shu", "gen", "tor", "bel", "an", "ix"];

/** A vocabulary of `size` distinct lowercase words (word i is the i-th most frequent). */
export function vocabulary(size: number): string[] {
  const words: string[] = [];
  for (let i = 0; words.length < size; i++) {
    let n = i;
    let w = "";
    do {
      w += SYLLABLES[n % SYLLABLES.length];
      n = Math.floor(n / SYLLABLES.length);
    } while (n > 0);
    words.push(w);
  }
  return words;
}

/** A sampler of words whose ranks follow a Zipf law with exponent `s` over `vocab` (inverse-CDF sampling). */
export function zipfWords(vocab: readonly string[], s: number, random: () => number): () => string {
  const cdf = new Float64Array(vocab.length);
  let sum = 0;
  for (let r = 0; r < vocab.length; r++) {
    sum += 1 / (r + 1) ** s;
    cdf[r] = sum;
  }
  return () => {
    const u = random() * sum;
    let lo = 0,
      hi = vocab.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return vocab[lo]!;
  };
}

export interface LineOptions {
  records: number;
  seed: number;
  wordsPerLine?: number;
  vocabulary?: number;
}

/** A line generator: each call returns the next line of `wordsPerLine` Zipf-distributed words. */
export function lineGenerator(o: Omit<LineOptions, "records">): () => string {
  const perLine = o.wordsPerLine ?? WORDS_PER_LINE;
  const pick = zipfWords(vocabulary(o.vocabulary ?? VOCABULARY), ZIPF_S, rng(o.seed));
  return () => {
    let line = pick();
    for (let k = 1; k < perLine; k++) line += " " + pick();
    return line;
  };
}

/** `records` lines from `lineGenerator`. */
export function generateLines(o: LineOptions): string[] {
  const next = lineGenerator(o);
  return Array.from({ length: o.records }, next);
}

/** Cuts `items` into consecutive batches of `size`. */
export function batchesOf<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Adds a batch's counts to a word's running total (the README's `sum`). */
export const sum = (counts: number[], total: number | undefined): number => counts.reduce((a, b) => a + b, total ?? 0);

/** The words of a line, as the pipeline and every baseline split it. */
export const wordsOf = (line: string): string[] => line.split(" ");

/**
 * The README's stateful word count, with the window scaled to the batch interval: running totals, and
 * counts over the last WINDOW_BATCHES intervals updated every interval (incrementally, with the inverse).
 */
export function statefulWordCount(
  lines: DStream<string>,
  batchInterval: Duration,
): { totals: DStream<[string, number]>; recent: DStream<[string, number]> } {
  const pairs = lines
    .flatMap(wordsOf)
    .filter((w) => w !== "")
    .map((w): [string, number] => [w, 1]);
  const totals = pairs.updateStateByKey(sum);
  const recent = pairs.reduceByKeyAndWindow(
    (a, b) => a + b,
    (a, b) => a - b,
    new Duration(WINDOW_BATCHES * batchInterval.milliseconds),
    batchInterval,
  );
  return { totals, recent };
}

/** The stateless variant: each batch's word counts, nothing kept between batches. */
export function statelessWordCount(lines: DStream<string>): DStream<[string, number]> {
  return lines
    .flatMap(wordsOf)
    .filter((w) => w !== "")
    .map((w): [string, number] => [w, 1])
    .reduceByKey((a, b) => a + b);
}

const checkpointIntervals = new Map<number, number>();

/**
 * How often the stateful word count checkpoints at a batch interval, as the engine computes it (Spark's
 * default: the smallest multiple of the slide of at least 10 s): its graph, built and prepared, asked.
 */
export function checkpointIntervalMs(intervalMs: number): number {
  let ms = checkpointIntervals.get(intervalMs);
  if (ms === undefined) {
    const ssc = new StreamingContext({ batchInterval: new Duration(intervalMs), print: () => undefined });
    const { totals, recent } = statefulWordCount(ssc.queueStream<string>([]), new Duration(intervalMs));
    for (const s of [totals, recent]) s.foreachRDD(() => undefined);
    const graph = ssc.prepare(0);
    ms = Math.min(...graph.checkpointed.map((s) => s.checkpointInterval!.milliseconds));
    checkpointIntervals.set(intervalMs, ms);
  }
  return ms;
}
