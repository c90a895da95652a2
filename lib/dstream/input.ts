/**
 * Input streams. An input stream fixes its blocks for a batch in the
 * coordinator (`allocateBlocks`) and reads them in the workers; the blocks
 * are recorded in the batch log in between, so a re-run of the batch reads
 * exactly the same data.
 *
 * Here: the in-memory inputs used by tests and by queueStream. The Kinesis
 * input lives with the AWS adapters.
 */
import type { Time } from "../core/duration.js";
import { IllegalStateError } from "../core/errors.js";
import { sliceBounds } from "../rdd/rdd.js";
import type { BlockDescriptor, EngineServices } from "../storage/interfaces.js";
import type { MemorySource } from "../storage/memory.js";
import type { DStreamSpec } from "./dstream.js";

/** The blocks of one batch read as one partition each. */
export function inputCompute<T>(decode?: (record: unknown) => T): DStreamSpec<T>["compute"] {
  return async (time, planner, self) => {
    const blocks = await planner.blocksFor(self.id, time);
    return planner.leaf<T>(blocks.length, async (p, tc, emit) => {
      const block = blocks[p]!;
      const source = tc.services.sources.get(block.source);
      if (!source) throw new IllegalStateError(`No source named "${block.source}" is configured in this engine; ${self} needs it to read its blocks.`);
      const records = await source.read(block);
      if (decode) for (const r of records) emit(decode(r));
      else for (const r of records) emit(r as T);
    }, undefined, `${self.id}@${time.milliseconds}`);
  };
}

export function memorySourceOf(services: EngineServices): MemorySource {
  const s = services.sources.get("memory");
  if (!s) throw new IllegalStateError("This engine has no in-memory source; queueStream and test inputs need the in-memory engine.");
  return s as MemorySource;
}

/**
 * The test input of `runBatches` (Spark's TestInputStream): batch i of
 * `batches` becomes the input at time zero + (i + 1) × interval, cut into
 * `numPartitions` contiguous slices as `parallelize` cuts a collection.
 */
export function testInputSpec<T>(
  batches: readonly (readonly T[])[], numPartitions: number, services: () => EngineServices, interval: () => number, zero: () => Time,
): DStreamSpec<T> {
  return {
    kind: "testInput",
    parents: [],
    compute: inputCompute<T>(),
    allocateBlocks: async (time) => {
      const index = (time.milliseconds - zero().milliseconds) / interval() - 1;
      const data = batches[index] ?? [];
      const source = memorySourceOf(services());
      const blocks: BlockDescriptor[] = [];
      for (let p = 0; p < numPartitions; p++) {
        const [start, end] = sliceBounds(data.length, numPartitions, p);
        blocks.push(source.add(data.slice(start, end)));
      }
      return blocks;
    },
  };
}

/** Spark's queueStream: each batch takes the next queued collection (or all of them), or the default. */
export function queueInputSpec<T>(
  queue: T[][], oneAtATime: boolean, defaultBatch: readonly T[] | undefined, services: () => EngineServices,
): DStreamSpec<T> {
  return {
    kind: "queueStream",
    parents: [],
    compute: inputCompute<T>(),
    allocateBlocks: async () => {
      const source = memorySourceOf(services());
      const taken = oneAtATime ? queue.splice(0, 1) : queue.splice(0, queue.length);
      if (taken.length === 0) return defaultBatch ? [source.add([...defaultBatch])] : [];
      return taken.map((items) => source.add([...items]));
    },
  };
}
