// A SparkContext stand-in for RDD-level tests (Spark's SharedSparkContext): RDDs of one batch, computed
// in this process, every shuffle computed locally as an action reaches it.
import { RDDContext } from "../../lib/index.js";
import type { ExecutorServices, RDDScope } from "../../lib/rdd/scope.js";

export function sparkContext(options: { batchTime?: number; defaultParallelism?: number } = {}): RDDContext {
  let ids = 0;
  const scope: RDDScope = {
    batchTime: options.batchTime ?? 1000,
    defaultParallelism: options.defaultParallelism ?? 2,
    // No shuffle is planned ahead, so no task reads the services.
    services: {} as ExecutorServices,
    nextRddId: () => ++ids,
    isPlannedShuffle: () => false,
  };
  return new RDDContext(scope);
}

/** Scala's `a until b`. */
export function until(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}

/** Fixed pseudo-random test data (a 32-bit LCG), standing in for Spark's `new Random()` inputs. */
export function lcgInts(n: number, seed = 12345): number[] {
  let x = seed >>> 0;
  return Array.from({ length: n }, () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x | 0;
  });
}
