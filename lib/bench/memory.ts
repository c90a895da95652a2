/**
 * Scenario 1: the in-memory engine against the machine's limit.
 *
 * The same word count (split each line on spaces, count each word per batch)
 * over the same generated records, in the same process, three ways:
 * - a hand-written single loop over a Map (the floor a Node user could write),
 * - the same pipeline in RxJS (groupBy per word, counted: what a Node user might reach for),
 * - Sparkless: runBatches on a manual clock, the in-memory engine,
 *   flatMap(split) → map([w, 1]) → reduceByKey(+), collected per batch.
 * Every contender produces the per-batch counts; totals are checked equal.
 * Each runs `repeats` times (interleaved); the median time is reported.
 */
import { from, lastValueFrom } from "rxjs";
import { groupBy, map as rxMap, mergeMap, reduce as rxReduce, toArray } from "rxjs/operators";
import { Seconds } from "../core/duration.js";
import { runBatches } from "../testing/run-batches.js";
import { batchesOf, generateLines, median } from "./data.js";

export interface ContenderResult {
  readonly name: string;
  readonly runsMs: number[];
  readonly medianMs: number;
  readonly recordsPerSecond: number;
  readonly wordsCounted: number;
  /** recordsPerSecond / the hand loop's. */
  readonly ratioToHandLoop: number;
}

export interface MemoryScenarioResult {
  readonly records: number;
  readonly batchSize: number;
  readonly batches: number;
  readonly wordsPerRecord: number;
  readonly distinctWords: number;
  readonly repeats: number;
  readonly contenders: ContenderResult[];
}

type Counts = Map<string, number>;

function handLoop(batches: string[][]): Counts[] {
  const out: Counts[] = [];
  for (const batch of batches) {
    const m = new Map<string, number>();
    for (const line of batch) for (const w of line.split(" ")) m.set(w, (m.get(w) ?? 0) + 1);
    out.push(m);
  }
  return out;
}

async function rxjs(batches: string[][]): Promise<Counts[]> {
  const out: Counts[] = [];
  for (const batch of batches) {
    const pairs = await lastValueFrom(from(batch).pipe(
      mergeMap((line) => line.split(" ")),
      groupBy((w) => w),
      mergeMap((group) => group.pipe(rxReduce((n) => n + 1, 0), rxMap((n) => [group.key, n] as const))),
      toArray(),
    ));
    out.push(new Map(pairs));
  }
  return out;
}

async function sparkless(batches: string[][], partitions: number): Promise<Counts[]> {
  const out = await runBatches<[string, number]>({
    batchInterval: Seconds(1),
    inputs: [batches],
    inputPartitions: partitions,
    defaultParallelism: partitions,
    pipeline: (lines) => lines.flatMap((l: string) => l.split(" ")).map((w: string) => [w, 1] as [string, number]).reduceByKey((a: number, b: number) => a + b),
  });
  return out.map((pairs) => new Map(pairs));
}

const total = (counts: Counts[]): number => { let n = 0; for (const m of counts) for (const v of m.values()) n += v; return n; };

export async function runMemoryScenario(options: { records: number; batchSize: number; repeats: number; log: (l: string) => void }): Promise<MemoryScenarioResult> {
  const wordsPerRecord = 8;
  const lines = generateLines({ records: options.records, wordsPerLine: wordsPerRecord, vocabulary: 10_000, seed: 42 });
  const batches = batchesOf(lines, options.batchSize);
  const contenders: { name: string; run: () => Promise<Counts[]> | Counts[] }[] = [
    { name: "hand loop (Map, one pass)", run: () => handLoop(batches) },
    { name: "Sparkless in-memory engine", run: () => sparkless(batches, 2) },
    { name: "RxJS 7 (groupBy + reduce)", run: () => rxjs(batches) },
  ];
  const runs = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
  const words = new Map<string, number>();
  let distinct = 0;
  // One untimed warm-up each (JIT), then interleaved timed runs.
  for (let r = -1; r < options.repeats; r++) {
    for (const c of contenders) {
      const t0 = performance.now();
      const counts = await c.run();
      const ms = performance.now() - t0;
      if (r >= 0) runs.get(c.name)!.push(ms);
      words.set(c.name, total(counts));
      if (c.name.startsWith("hand")) distinct = new Set(counts.flatMap((m) => [...m.keys()])).size;
      if (r >= 0) options.log(`  ${c.name}: ${ms.toFixed(0)} ms`);
    }
  }
  const expected = options.records * wordsPerRecord;
  for (const [name, n] of words) if (n !== expected) throw new Error(`${name} counted ${n} words, expected ${expected}`);
  const hand = median(runs.get(contenders[0]!.name)!);
  return {
    records: options.records, batchSize: options.batchSize, batches: batches.length, wordsPerRecord, distinctWords: distinct, repeats: options.repeats,
    contenders: contenders.map((c) => {
      const m = median(runs.get(c.name)!);
      return { name: c.name, runsMs: runs.get(c.name)!.map((x) => Math.round(x)), medianMs: Math.round(m), recordsPerSecond: Math.round(options.records / (m / 1000)), wordsCounted: words.get(c.name)!, ratioToHandLoop: hand / m };
    }),
  };
}
