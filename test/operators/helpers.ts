// Helpers for the operator tests in this folder (Spark TestSuiteBase style).
//
// Expected outputs in these tests are worked out by hand from Spark's
// semantics. Batches are compared exactly where Spark defines the order
// (narrow operations, union, window of unpartitioned data, sortBy) and with
// `sortBatches` (order-insensitive, duplicates significant) after a shuffle.

export { canonical, range, sortBatches } from "../spark/helpers.js";
import { canonical } from "../spark/helpers.js";

/** Sorts a flat array (numbers numerically, anything else by canonical JSON) (for values inside a group, whose order a shuffle leaves undefined). */
export function sorted<T>(xs: readonly T[]): T[] {
  return [...xs].sort((a, b) => {
    if (typeof a === "number" && typeof b === "number") return a - b;
    const ka = canonical(a);
    const kb = canonical(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

/** Java's String.hashCode, to work out by hand where Spark's HashPartitioner puts a string key. */
export function javaStringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

/** Spark's Utils.nonNegativeMod. */
export function nonNegativeMod(x: number, mod: number): number {
  const raw = x % mod;
  return raw < 0 ? raw + mod : raw;
}

export const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
