/**
 * Text forms of elements, as Spark prints them: a tuple (a JS array) as
 * `(a,1)`, nested tuples likewise, strings bare. Used by `print()` and
 * `saveAsTextFiles`, whose lines are `toString` of each element in Spark.
 */
export function formatElement(value: unknown): string {
  if (value === undefined) return "undefined";
  if (value === null) return "null";
  if (Array.isArray(value)) return "(" + value.map(formatElement).join(",") + ")";
  if (typeof value === "object") {
    if (value instanceof Date) return value.toISOString();
    if (value instanceof Map) return "Map(" + [...value].map(([k, v]) => `${formatElement(k)} -> ${formatElement(v)}`).join(", ") + ")";
    if (value instanceof Set) return "Set(" + [...value].map(formatElement).join(", ") + ")";
    try {
      return JSON.stringify(value);
    } catch {
      return String(value);
    }
  }
  return String(value);
}

/** The lines `DStream.print(num)` writes for one batch, exactly as Spark's. */
export function formatPrint(timeMs: number, firstNum: readonly unknown[], num: number): string[] {
  const rule = "-------------------------------------------";
  const lines = [rule, `Time: ${timeMs} ms`, rule];
  for (const x of firstNum.slice(0, num)) lines.push(formatElement(x));
  if (firstNum.length > num) lines.push("...");
  lines.push("");
  return lines;
}
