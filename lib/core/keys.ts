/**
 * Key identity and hash partitioning, the same in every process.
 *
 * Spark groups keys by `equals`/`hashCode`. In JavaScript, primitives
 * (strings, numbers, booleans, null, undefined, bigint) are compared by
 * value and used directly as `Map` keys; tuples and plain objects are
 * compared structurally through a canonical encoding. The hash is computed
 * from the value itself (never from object identity or insertion order), so a
 * key lands in the same partition in the coordinator, in every worker, and
 * after a restart.
 */

/** A value usable as a JS Map key that stands for `key` by value. */
export type KeyId = string | number | boolean | bigint | null | undefined | symbol;

const COMPOSITE = "\u0000k:";

export function keyId(key: unknown): KeyId {
  if (key === null || key === undefined) return key;
  switch (typeof key) {
    case "string":
      // A string that starts like a composite encoding is itself encoded, so the two can never meet.
      return key.startsWith(COMPOSITE) ? COMPOSITE + canonical(key) : key;
    case "number":
    case "boolean":
    case "bigint":
      return key;
    default:
      return COMPOSITE + canonical(key);
  }
}

/** A canonical, order-stable text form of a value (object keys sorted). */
export function canonical(value: unknown): string {
  if (value === undefined) return "u";
  if (value === null) return "n";
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      return Object.is(value, -0) ? "0" : String(value);
    case "boolean":
      return value ? "t" : "f";
    case "bigint":
      return value.toString() + "n";
    case "object": {
      if (Array.isArray(value)) return "[" + value.map(canonical).join(",") + "]";
      if (value instanceof Date) return "D" + value.getTime();
      if (value instanceof Map) {
        return (
          "M{" +
          [...value.entries()]
            .map(([k, v]) => [canonical(k), canonical(v)] as const)
            .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
            .map(([k, v]) => k + ":" + v)
            .join(",") +
          "}"
        );
      }
      if (value instanceof Set) return "S{" + [...value].map(canonical).sort().join(",") + "}";
      const obj = value as Record<string, unknown>;
      return (
        "{" +
        Object.keys(obj)
          .sort()
          .map((k) => JSON.stringify(k) + ":" + canonical(obj[k]))
          .join(",") +
        "}"
      );
    }
    default:
      return String(value);
  }
}

/** Java's String.hashCode, so string keys spread as they do in Spark. */
function stringHash(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

export function hashKey(key: unknown): number {
  if (typeof key === "string") return stringHash(key);
  if (typeof key === "number") return Number.isInteger(key) && Math.abs(key) < 2 ** 31 ? key | 0 : stringHash(String(key));
  if (key === null || key === undefined) return 0;
  if (typeof key === "boolean") return key ? 1231 : 1237;
  return stringHash(canonical(key));
}

/** Spark's HashPartitioner: `nonNegativeMod(key.hashCode, numPartitions)`. */
export class HashPartitioner {
  constructor(readonly numPartitions: number) {}
  getPartition(key: unknown): number {
    const m = hashKey(key) % this.numPartitions;
    return m < 0 ? m + this.numPartitions : m;
  }
  equals(other: Partitioner | undefined): boolean {
    return other instanceof HashPartitioner && other.numPartitions === this.numPartitions;
  }
}

export type Partitioner = HashPartitioner;

/** Groups [key, value] pairs by key identity, keeping first-seen key order. */
export class KeyedMap<K, V> {
  private readonly map = new Map<KeyId, [K, V]>();
  get size(): number {
    return this.map.size;
  }
  get(key: K): V | undefined {
    return this.map.get(keyId(key))?.[1];
  }
  has(key: K): boolean {
    return this.map.has(keyId(key));
  }
  entry(key: K): [K, V] | undefined {
    return this.map.get(keyId(key));
  }
  set(key: K, value: V): void {
    const id = keyId(key);
    const e = this.map.get(id);
    if (e) e[1] = value;
    else this.map.set(id, [key, value]);
  }
  delete(key: K): boolean {
    return this.map.delete(keyId(key));
  }
  values(): IterableIterator<[K, V]> {
    return this.map.values();
  }
  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.map.values();
  }
}
