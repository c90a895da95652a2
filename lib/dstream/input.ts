/**
 * Input streams. An input stream fixes its blocks for a batch in the
 * coordinator (`allocateBlocks`) and reads them in the workers; the blocks
 * are recorded in the batch log in between, so a re-run of the batch reads
 * exactly the same data.
 *
 * Here: what every input shares, reading a batch's blocks through the
 * engine's sources (`EngineServices.sources`, keyed by each block's
 * `source`). The inputs themselves plug in from lib/sources/: Kinesis
 * (lib/sources/kinesis/), the in-memory inputs of tests and queueStream
 * (lib/sources/memory/).
 */
import { IllegalStateError } from "../core/errors.js";
import type { DStreamSpec } from "./dstream.js";
import { emitBlockRecords } from "./record-errors.js";

/** The blocks of one batch read as one partition each, through the source each block names. */
export function inputCompute<T>(decode?: (record: unknown) => T): DStreamSpec<T>["compute"] {
  return async (time, planner, self) => {
    const blocks = await planner.blocksFor(self.id, time);
    return planner.leaf<T>(
      blocks.length,
      async (p, tc, emit) => {
        const block = blocks[p]!;
        const source = tc.services.sources.get(block.source);
        if (!source)
          throw new IllegalStateError(`No source named "${block.source}" is configured in this engine; ${self} needs it to read its blocks.`);
        const records = await source.read(block);
        // Each record named by its coordinates, for the input's onRecordError policy (record-errors.ts).
        emitBlockRecords(records, block, p, tc, emit, self, decode);
      },
      undefined,
      `${self.id}@${time.milliseconds}`,
    );
  };
}
