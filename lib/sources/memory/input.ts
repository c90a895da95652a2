/**
 * Inputs whose records are collections handed over in the program, not read from a service:
 * `runBatches`' test input (Spark's TestInputStream) and `ssc.queueStream` (Spark's queueStream).
 * They declare no `input` (nothing outside the process holds them), and read their blocks through the
 * generic input compute (lib/dstream/input.ts).
 *
 * Where the blocks live depends on the engine. The in-memory engine keeps them in its "memory" source,
 * values as they are, for the life of the process, where its every task runs. Any other engine (the
 * local engines, AWS) runs a batch's tasks in other processes too, so queueStream writes each block to
 * the engine's blob store (blob-blocks.ts), where workers and a re-run of the batch read the same
 * records.
 */
import { randomUUID } from "node:crypto";
import type { Time } from "../../core/duration.js";
import { IllegalStateError } from "../../core/errors.js";
import { inputCompute } from "../../dstream/input.js";
import type { DStreamSpec } from "../../dstream/dstream.js";
import { sliceBounds } from "../../rdd/rdd.js";
import type { BlockDescriptor, EngineServices } from "../../storage/interfaces.js";
import type { MemorySource } from "../../storage/memory.js";
import { writeBlobBlock } from "./blob-blocks.js";

/** The in-memory engine's source of blocks, or undefined when the engine has none. */
function memorySource(services: EngineServices): MemorySource | undefined {
  return services.sources.get("memory") as MemorySource | undefined;
}

export function memorySourceOf(services: EngineServices): MemorySource {
  const s = memorySource(services);
  if (!s)
    throw new IllegalStateError(
      'This engine has no in-memory source; the test input of runBatches needs the in-memory engine (runBatches({ engine: "local" }) feeds Kinesis instead).',
    );
  return s;
}

/**
 * The test input of `runBatches` (Spark's TestInputStream): batch i of
 * `batches` becomes the input at time zero + (i + 1) × interval, cut into
 * `numPartitions` contiguous slices as `parallelize` cuts a collection.
 */
export function testInputSpec<T>(
  batches: readonly (readonly T[])[],
  numPartitions: number,
  services: () => EngineServices,
  interval: () => number,
  zero: () => Time,
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

/**
 * Spark's queueStream: each batch takes the next queued collection (or all of them), or the default,
 * one block per collection. Collections can be queued while the context runs; a batch takes what is
 * queued when the coordinator fixes its blocks.
 */
export function queueInputSpec<T>(
  queue: T[][],
  oneAtATime: boolean,
  defaultBatch: readonly T[] | undefined,
  services: () => EngineServices,
): DStreamSpec<T> {
  // Names this stream's blobs apart from another queueStream's, and from an earlier run's: the keys are in the batch log.
  const tag = randomUUID().slice(0, 8);
  return {
    kind: "queueStream",
    parents: [],
    compute: inputCompute<T>(),
    allocateBlocks: async (time) => {
      const engine = services();
      const taken = oneAtATime ? queue.splice(0, 1) : queue.splice(0, queue.length);
      const collections = taken.length > 0 ? taken : defaultBatch ? [defaultBatch] : [];
      const memory = memorySource(engine);
      if (memory) return collections.map((items) => memory.add([...items]));
      return Promise.all(collections.map((items, i) => writeBlobBlock(engine.blobs, `inputs/queue/${time.milliseconds}/${tag}-${i}`, items)));
    },
  };
}
