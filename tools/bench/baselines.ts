/**
 * The in-memory baselines the engine is measured against: the same stateful
 * word count written without Sparkless, two ways, each doing the same work
 * as the pipeline of workload.ts.
 *
 * - **Hand loop**: per batch, count the words in a Map; add the counts to the
 *   running totals; keep each batch's counts for the window, and update the
 *   window incrementally: add the batch that came in, subtract the one that
 *   slid out (as the inverse function does). Keys that fall to 0 stay in the
 *   window, as Spark's reduceByKeyAndWindow keeps them without a filter.
 * - **RxJS written well**: per batch, `mergeMap` the lines into words and
 *   `reduce` them into a Map (not `groupBy`, whose per-key subjects cost an
 *   order of magnitude more), then the same state update.
 *
 * `WordCountState` is that state update, shared by both, so they differ only
 * in how a batch's words are counted.
 */
import { from, lastValueFrom } from "rxjs";
import { filter, mergeMap, reduce } from "rxjs/operators";
import { WINDOW_BATCHES, wordsOf } from "./workload.js";

/** Running totals and the sliding window of the stateful word count, kept in Maps. */
export class WordCountState {
  readonly totals = new Map<string, number>();
  readonly window = new Map<string, number>();
  /** The counts of the batches in the window, oldest first. */
  private readonly recent: Map<string, number>[] = [];

  constructor(private readonly windowBatches = WINDOW_BATCHES) {}

  /** Adds one batch's counts: to the totals, and into the window (the batch that slid out subtracted). */
  apply(counts: Map<string, number>): void {
    this.addTotals(counts);
    this.slideWindow(counts);
  }

  /** Adds counts to the running totals. */
  addTotals(counts: ReadonlyMap<string, number>): void {
    for (const [w, n] of counts) this.totals.set(w, (this.totals.get(w) ?? 0) + n);
  }

  /** Moves the window by one slide: the new batch's counts in, the oldest batch's out. Returns the batch that slid out. */
  slideWindow(counts: Map<string, number>): Map<string, number> | undefined {
    for (const [w, n] of counts) this.window.set(w, (this.window.get(w) ?? 0) + n);
    this.recent.push(counts);
    if (this.recent.length <= this.windowBatches) return undefined;
    const out = this.recent.shift()!;
    for (const [w, n] of out) this.window.set(w, this.window.get(w)! - n);
    return out;
  }
}

/** One batch's word counts, the hand-written way. */
export function countBatch(lines: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const line of lines) {
    for (const w of wordsOf(line)) if (w !== "") m.set(w, (m.get(w) ?? 0) + 1);
  }
  return m;
}

/** The hand loop over every batch. */
export function handLoop(batches: readonly (readonly string[])[]): WordCountState {
  const state = new WordCountState();
  for (const batch of batches) state.apply(countBatch(batch));
  return state;
}

/** RxJS over every batch: mergeMap the lines into words and reduce them into a Map, then the same state update. */
export async function rxjsLoop(batches: readonly (readonly string[])[]): Promise<WordCountState> {
  const state = new WordCountState();
  for (const batch of batches) {
    const counts = await lastValueFrom(
      from(batch).pipe(
        mergeMap(wordsOf),
        filter((w) => w !== ""),
        reduce((m, w) => m.set(w, (m.get(w) ?? 0) + 1), new Map<string, number>()),
      ),
    );
    state.apply(counts);
  }
  return state;
}

/** Whether two maps hold the same keys with the same values. */
export function sameCounts(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}
