/**
 * The in-memory scenario: the stateful word count over the same generated
 * records, in the same process, by the hand loop, RxJS (baselines.ts) and
 * Sparkless's in-memory engine (runBatches, the same coordinator code in one
 * process), at each size in batches of `batchSize` records. The contenders
 * run interleaved, `repeats` times each; the median is reported, as a ratio
 * to the hand loop's. Every contender's final totals and window must equal
 * the hand loop's.
 *
 * Sparkless runs twice over: with `execution: "in-process"` (every batch in
 * the coordinator, the work the baselines do), and with the defaults (the
 * same on the in-memory engine, whose context runs batches in process
 * unless told otherwise). The default is timed once per size listed in
 * `defaultModeSizes`, and in the breakdown.
 *
 * When the engine is below the target, `breakdown` times parts of the
 * pipeline alone, to show where the time goes (the CPU profile is in
 * profile.ts).
 */
import { Seconds } from "../../lib/core/duration.js";
import { IllegalStateError } from "../../lib/core/errors.js";
import type { DStream } from "../../lib/dstream/dstream.js";
import type { ExecutionOptions } from "../../lib/scheduler/job-generator.js";
import { runBatches } from "../../lib/testing/run-batches.js";
import { handLoop, rxjsLoop, sameCounts } from "./baselines.js";
import { median } from "./stats.js";
import {
  batchesOf,
  generateLines,
  statefulWordCount,
  statelessWordCount,
  sum,
  VOCABULARY,
  WINDOW_BATCHES,
  WORDS_PER_LINE,
  wordsOf,
} from "./workload.js";

/** What every contender ends with: the running totals and the last window. */
interface Final {
  totals: ReadonlyMap<string, number>;
  window: ReadonlyMap<string, number>;
}

/** Sparkless: runBatches on the in-memory engine with the README's stateful word count. */
export async function sparklessWordCount(batches: readonly (readonly string[])[], execution?: ExecutionOptions["mode"]): Promise<Final> {
  let window: [string, number][] = [];
  const out = await runBatches<[string, number]>({
    batchInterval: Seconds(1),
    inputs: [batches],
    ...(execution ? { execution } : {}),
    pipeline: (lines: DStream<string>) => {
      const { totals, recent } = statefulWordCount(lines, Seconds(1));
      recent.foreachRDD(async (rdd) => {
        window = await rdd.collect();
      });
      return totals;
    },
  });
  return { totals: new Map(out[out.length - 1] ?? []), window: new Map(window) };
}

export interface ContenderResult {
  readonly name: string;
  readonly runsMs: number[];
  readonly medianMs: number;
  readonly recordsPerSecond: number;
  /** The hand loop's median time over this one's: above 1 is faster than the hand loop. */
  readonly ratioToHandLoop: number;
}

export interface MemorySize {
  readonly records: number;
  readonly batchSize: number;
  readonly batches: number;
  readonly contenders: ContenderResult[];
  /** Every contender's final totals and window equal the hand loop's. */
  readonly sameResults: boolean;
  readonly distinctWords: number;
}

/** A part of the pipeline alone, or the whole word count ("whole": in process, and with the defaults). */
export interface BreakdownRow {
  readonly part: string;
  readonly kind: "part" | "whole";
  readonly ms: number;
  readonly ratioToHandLoop: number;
}

export interface MemoryScenarioResult {
  readonly wordsPerRecord: number;
  readonly vocabulary: number;
  readonly windowBatches: number;
  readonly repeats: number;
  readonly sizes: MemorySize[];
  /** Parts of the pipeline timed alone (in process), when the engine missed its target. */
  breakdown?: { records: number; handLoopMs: number; rows: BreakdownRow[] };
}

export const HAND = "hand loop (Maps)";
export const RXJS = "RxJS 7 (mergeMap + reduce into a Map)";
export const SPARKLESS = 'Sparkless runBatches, execution "in-process"';
export const SPARKLESS_DEFAULT = "Sparkless runBatches, defaults (in process on the in-memory engine)";

const rate = (records: number, ms: number) => Math.round(records / (ms / 1000));

async function timed<T>(f: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await f();
  return { ms: performance.now() - t0, value };
}

export async function runMemoryScenario(o: {
  sizes: readonly number[];
  batchSize: number;
  repeats: number;
  defaultModeSizes: readonly number[];
  log: (l: string) => void;
}): Promise<MemoryScenarioResult> {
  const sizes: MemorySize[] = [];
  for (const records of o.sizes) {
    const batches = batchesOf(generateLines({ records, seed: 42 }), o.batchSize);
    const contenders: { name: string; run: () => Promise<Final> | Final }[] = [
      { name: HAND, run: () => handLoop(batches) },
      { name: RXJS, run: () => rxjsLoop(batches) },
      { name: SPARKLESS, run: () => sparklessWordCount(batches, "in-process") },
    ];
    if (o.defaultModeSizes.includes(records)) contenders.push({ name: SPARKLESS_DEFAULT, run: () => sparklessWordCount(batches) });
    const runs = new Map<string, number[]>(contenders.map((c) => [c.name, []]));
    let reference: Final | undefined;
    let same = true;
    for (let r = 0; r < o.repeats; r++) {
      for (const c of contenders) {
        // The default mode is timed once: it is the slow path, shown for what it costs.
        if (c.name === SPARKLESS_DEFAULT && r > 0) continue;
        const { ms, value } = await timed(c.run);
        runs.get(c.name)!.push(ms);
        if (c.name === HAND) reference ??= value;
        else same &&= sameCounts(value.totals, reference!.totals) && sameCounts(value.window, reference!.window);
        o.log(`  ${records} records, ${c.name}: ${ms.toFixed(0)} ms`);
      }
    }
    if (!same)
      throw new IllegalStateError(
        `The in-memory contenders disagree at ${records} records: every contender must end with the hand loop's totals and window.`,
      );
    const hand = median(runs.get(HAND)!);
    sizes.push({
      records,
      batchSize: o.batchSize,
      batches: batches.length,
      sameResults: same,
      distinctWords: reference!.totals.size,
      contenders: contenders.map((c) => {
        const m = median(runs.get(c.name)!);
        return {
          name: c.name,
          runsMs: runs.get(c.name)!.map(Math.round),
          medianMs: Math.round(m),
          recordsPerSecond: rate(records, m),
          ratioToHandLoop: hand / m,
        };
      }),
    });
  }
  return { wordsPerRecord: WORDS_PER_LINE, vocabulary: VOCABULARY, windowBatches: WINDOW_BATCHES, repeats: o.repeats, sizes };
}

/**
 * Where the engine's time goes, part by part: each part of the stateful pipeline run alone through
 * runBatches (in process), against the hand loop over the same records.
 */
export async function runBreakdown(
  records: number,
  batchSize: number,
  log: (l: string) => void,
): Promise<NonNullable<MemoryScenarioResult["breakdown"]>> {
  const batches = batchesOf(generateLines({ records, seed: 42 }), batchSize);
  const pairs = (l: DStream<string>) =>
    l
      .flatMap(wordsOf)
      .filter((w) => w !== "")
      .map((w): [string, number] => [w, 1]);
  const parts: { part: string; pipeline: (l: DStream<string>) => DStream<unknown> }[] = [
    { part: "read and split: flatMap(split) → filter → map([w, 1]), counted", pipeline: (l) => pairs(l).count() },
    { part: "stateless: … → reduceByKey (map-side combine)", pipeline: (l) => statelessWordCount(l) },
    { part: "totals: … → updateStateByKey(sum)", pipeline: (l) => pairs(l).updateStateByKey(sum) },
    { part: "window: … → reduceByKeyAndWindow(+, −, 3 s, 1 s)", pipeline: (l) => statefulWordCount(l, Seconds(1)).recent },
  ];
  const hand = (await timed(() => handLoop(batches))).ms;
  const rows: BreakdownRow[] = [];
  const add = (part: string, ms: number, kind: BreakdownRow["kind"] = "part") => {
    rows.push({ part, kind, ms: Math.round(ms), ratioToHandLoop: hand / ms });
    log(`  breakdown, ${part}: ${ms.toFixed(0)} ms`);
  };
  for (const p of parts)
    add(p.part, (await timed(() => runBatches({ batchInterval: Seconds(1), inputs: [batches], execution: "in-process", pipeline: p.pipeline }))).ms);
  // The whole word count, in process and with the defaults (the defaults fan every batch over 20,000 records out).
  add("the stateful word count, in process", (await timed(() => sparklessWordCount(batches, "in-process"))).ms, "whole");
  add("the stateful word count, defaults (in process on the in-memory engine)", (await timed(() => sparklessWordCount(batches))).ms, "whole");
  return { records, handLoopMs: Math.round(hand), rows };
}
