/**
 * The chaos suite's pipeline, shared by the app module the processes run
 * (`lib/chaos/app.ts`) and the fault-free oracle (`runBatches` in memory).
 *
 * A corpus line is `<record id> <word> <word> ...`. From it:
 * - `totals`: running word counts (updateStateByKey), the stateful word count;
 * - `window`: word counts over the last 3 batches, every batch
 *   (reduceByKeyAndWindow with its inverse, keys at zero filtered out);
 * - `ids`: how many times each record id was counted (updateStateByKey); every
 *   value must be exactly 1 and the key set must equal the produced ids.
 * `out` tags and unions the three, so one output operation per batch records
 * all of them in the sink.
 * - `counts`: each batch's own word counts (reduceByKey), which the app writes
 *   partition by partition from `foreachPartition`: in a fanned-out batch, one
 *   task per partition on the workers.
 */
import { Milliseconds } from "../../lib/core/duration.js";
import type { DStream } from "../../lib/dstream/dstream.js";

/** An output element: ["w" | "t" | "i", key, value] for window, totals, ids. */
export type ChaosElement = [tag: "w" | "t" | "i", key: string, value: number];

const sum = (values: number[], state: number | undefined) => values.reduce((a, b) => a + b, state ?? 0);

export function chaosPipeline(lines: DStream<string>, intervalMs: number) {
  const parsed = lines.map((l) => l.split(" "));
  const pairs = parsed.flatMap((p) =>
    p
      .slice(1)
      .filter((w) => w !== "")
      .map((w): [string, number] => [w, 1]),
  );
  // Checkpoints every 4 batches (Spark's default would be every 10 s): coordinators that start cold
  // then recover from a checkpoint and a few batches after it, not from the first batch.
  const every = Milliseconds(4 * intervalMs);
  const totals = pairs.updateStateByKey(sum).checkpoint(every).setName("totals");
  const window = pairs
    .reduceByKeyAndWindow(
      (a, b) => a + b,
      (a, b) => a - b,
      Milliseconds(3 * intervalMs),
      Milliseconds(intervalMs),
      undefined,
      (kv) => kv[1] !== 0,
    )
    .checkpoint(every)
    .setName("window");
  const ids = parsed
    .map((p): [string, number] => [p[0]!, 1])
    .updateStateByKey(sum)
    .checkpoint(every)
    .setName("ids");
  const out: DStream<ChaosElement> = window
    .map(([k, v]): ChaosElement => ["w", k, v])
    .union(totals.map(([k, v]): ChaosElement => ["t", k, v]))
    .union(ids.map(([k, v]): ChaosElement => ["i", k, v]));
  const counts = pairs.reduceByKey((a, b) => a + b).setName("counts");
  return { totals, window, ids, out, counts };
}

/** Elements in one canonical order, so outputs compare regardless of partitioning. */
export function canonical(elements: readonly ChaosElement[]): ChaosElement[] {
  const order = (e: ChaosElement) => `${e[0]}\u0000${e[1]}`;
  return [...elements].sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : a[2] - b[2]));
}
