// Helpers for the Spark conformance tests in this folder.
//
// Spark's TestSuiteBase.verifyOutput compares each batch either as a list (in
// order) or, when `useSet = true`, as `output(i).toSet === expectedOutput(i).toSet`.
// `sortBatches` is the order-insensitive comparison: it sorts the elements of
// every batch by a canonical JSON string, so that
// `expect(sortBatches(out)).toEqual(sortBatches(expected))` passes exactly when
// the two batches hold the same elements. (It is slightly stricter than Scala's
// `toSet`: duplicates must match too. None of the ported tests relies on
// duplicates being collapsed.)

/** JSON with `undefined` kept distinct from `null`, and Sets/Maps made explicit. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === undefined) return "__undefined__";
    if (v instanceof Set) return { __set__: [...v].map(canonical).sort() };
    if (v instanceof Map) return { __map__: [...v.entries()].map(canonical).sort() };
    return v;
  });
}

function compareCanonical(a: unknown, b: unknown): number {
  const ka = canonical(a);
  const kb = canonical(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Sort every batch by canonical JSON, leaving the batch order alone. */
export function sortBatches<T>(batches: readonly (readonly T[])[]): T[][] {
  return batches.map((batch) => [...batch].sort(compareCanonical));
}

/** Scala's `a to b` (inclusive). */
export function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to; i++) out.push(i);
  return out;
}

/** Scala's `Seq.toSet`, as a sorted array of distinct elements (so it can be compared). */
export function toSetArray<T>(values: Iterable<T>): T[] {
  const seen = new Map<string, T>();
  for (const v of values) seen.set(canonical(v), v);
  return [...seen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
}

/** Scala's `Seq.fill(n)(x)`. */
export function fill<T>(n: number, make: () => T): T[] {
  return Array.from({ length: n }, make);
}
