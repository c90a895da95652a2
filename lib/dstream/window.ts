/**
 * Window operations: Spark's WindowedDStream and ReducedWindowedDStream.
 *
 * A window at time T covers the parent's batches in
 * (T - windowDuration, T], and is generated only at slide boundaries. Its
 * parent is materialized each batch, so a window of any length reads stored
 * per-batch results rather than recomputing them.
 *
 * The inverse form of reduceByKeyAndWindow is incremental, as in Spark: the
 * new window is the previous window's value per key, minus (by the inverse
 * function) the batches that slid out, plus the batches that slid in. Keys
 * whose value falls to the "zero" stay unless `filterFunc` removes them.
 */
import { Time, type Duration } from "../core/duration.js";
import { InvalidArgumentError, InvalidGraphError, describe } from "../core/errors.js";
import type { Partitioner } from "../core/keys.js";
import { CoGroupedRDD, unionOf, type RDD } from "../rdd/rdd.js";
import type { DStream, DStreamSpec } from "./dstream.js";
import type { Planner } from "./planner-api.js";
import { StorageLevel } from "./storage-level.js";

type Pair<K, V> = readonly [K, V];

function requireDuration(name: string, d: unknown): Duration {
  if (!d || typeof (d as Duration).milliseconds !== "number") {
    throw new InvalidArgumentError(`Expected the ${name} to be a Duration, got \`${describe(d)}\`. Use Seconds(n), Milliseconds(n) or Minutes(n).`);
  }
  return d as Duration;
}

function checkWindow(op: string, parent: DStream<unknown>, window: Duration, slide: Duration): void {
  requireDuration("window duration", window);
  requireDuration("slide duration", slide);
  if (!window.isMultipleOf(parent.slideDuration)) {
    throw new InvalidGraphError(
      `The window duration of ${op} (${window}) must be a multiple of the slide duration of parent DStream (${parent.slideDuration}). Use a window of k × ${parent.slideDuration}.`,
    );
  }
  if (!slide.isMultipleOf(parent.slideDuration)) {
    throw new InvalidGraphError(
      `The slide duration of ${op} (${slide}) must be a multiple of the slide duration of parent DStream (${parent.slideDuration}). Use a slide of k × ${parent.slideDuration}.`,
    );
  }
}

/**
 * Spark's DStream.slice: the parent's RDDs at every slide boundary in
 * [from, to], aligned down to the stream's slide, skipping times before the start.
 */
export async function slice<T>(stream: DStream<T>, from: Time, to: Time, planner: Planner): Promise<RDD<T>[]> {
  const zero = planner.zeroTime.milliseconds;
  const step = stream.slideDuration.milliseconds;
  const align = (t: number) => ((t - zero) % step === 0 ? t : zero + Math.floor((t - zero) / step) * step);
  const out: RDD<T>[] = [];
  for (let t = align(from.milliseconds); t <= align(to.milliseconds); t += step) {
    if (t < zero) continue;
    const rdd = await planner.getOrCompute(stream, new Time(t));
    if (rdd) out.push(rdd);
  }
  return out;
}

export function windowSpec<T>(parent: DStream<T>, window: Duration, slide: Duration): DStreamSpec<T> {
  checkWindow("windowed DStream", parent as DStream<unknown>, window, slide);
  // As in Spark: the window's parent keeps each batch's result for the windows that read it later.
  parent.persist(StorageLevel.MEMORY_ONLY_SER);
  return {
    kind: "window",
    parents: [parent],
    slideDuration: slide,
    parentLookback: window,
    persistTarget: parent,
    compute: async (time, planner) => {
      const rdds = await slice(parent, time.minus(window).plus(parent.slideDuration), time, planner);
      return unionOf(planner, rdds);
    },
  };
}

export function reducedWindowSpec<K, V>(
  parent: DStream<Pair<K, V>>,
  reduceF: (a: V, b: V) => V,
  invReduceF: (a: V, b: V) => V,
  filterF: ((kv: [K, V]) => boolean) | undefined,
  window: Duration,
  slide: Duration,
  partitioner: Partitioner,
): DStreamSpec<[K, V]> {
  checkWindow("ReducedWindowedDStream", parent as DStream<unknown>, window, slide);
  const reduced = parent.reduceByKey(reduceF, partitioner);
  reduced.persist(StorageLevel.MEMORY_ONLY_SER);
  const parentSlide = parent.slideDuration;
  return {
    kind: "reduceByKeyAndWindow",
    parents: [reduced],
    slideDuration: slide,
    parentLookback: window,
    mustPersist: true,
    partitioner,
    compute: async (time, planner, self) => {
      const currentBegin = time.minus(window).plus(parentSlide);
      const previousBegin = currentBegin.minus(slide);
      const previousEnd = time.minus(slide);
      // Values leaving the window: (previous window begin) .. (current begin - parent slide).
      const oldRDDs = await slice(reduced, previousBegin, currentBegin.minus(parentSlide), planner);
      // Values entering the window: (previous end + parent slide) .. (current end).
      const newRDDs = await slice(reduced, previousEnd.plus(parentSlide), time, planner);
      const previous = (await planner.getOrCompute(self, previousEnd)) ?? planner.emptyRDD<[K, V]>();
      const all = [previous, ...oldRDDs, ...newRDDs] as RDD<Pair<K, V>>[];
      const numOld = oldRDDs.length;
      const numNew = newRDDs.length;
      const cogrouped = new CoGroupedRDD<K>(planner, all as RDD<Pair<K, unknown>>[], partitioner);
      const merged = cogrouped.mapValues((g) => {
        const groups = g as V[][];
        if (groups.length !== 1 + numOld + numNew) {
          throw new InvalidGraphError(`Unexpected number of sequences of reduced values: ${groups.length}, expected ${1 + numOld + numNew}.`);
        }
        const oldValues = groups
          .slice(1, 1 + numOld)
          .filter((g) => g.length > 0)
          .map((g) => g[0] as V);
        const newValues = groups
          .slice(1 + numOld)
          .filter((g) => g.length > 0)
          .map((g) => g[0] as V);
        if (groups[0]!.length === 0) {
          if (newValues.length === 0) {
            throw new InvalidGraphError(
              "Neither previous window has value for key, nor new values found. Are you sure your key hashes consistently?",
            );
          }
          return newValues.reduce(reduceF);
        }
        let value = groups[0]![0] as V;
        if (oldValues.length) value = invReduceF(value, oldValues.reduce(reduceF));
        if (newValues.length) value = reduceF(value, newValues.reduce(reduceF));
        return value;
      }) as RDD<[K, V]>;
      return filterF ? merged.filter(filterF) : merged;
    },
  };
}
