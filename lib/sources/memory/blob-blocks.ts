/**
 * Input blocks kept in the engine's blob store (S3 on AWS and on the local engines, a map in memory):
 * how an input whose records exist only in the coordinator's process (queueStream's collections)
 * hands them to every process that reads the batch. The coordinator writes a block's records once,
 * before the batch is logged, under a key of its own; the block descriptor `{ source: "blob", key }`
 * goes into the batch log, so a worker running one of the batch's tasks, and a re-run of the batch,
 * read exactly the same records. The records travel in the codec's wire form (lib/core/codec.ts), as
 * everything stored outside the process does.
 *
 * On AWS the keys sit under the app's `inputs/` prefix, which the coordinator may write, the workers
 * may read, and the bucket's lifecycle rule expires (cdk/resources.ts, cdk/iam.ts).
 */
import { decode, encode } from "../../core/codec.js";
import { InvalidArgumentError, describe } from "../../core/errors.js";
import type { BlobStore, BlockDescriptor, StreamSource } from "../../storage/interfaces.js";

/** A block of records in the blob store. */
export interface BlobBlock extends BlockDescriptor {
  readonly source: "blob";
  /** The blob's key in the engine's blob store; "" for the empty block. */
  readonly key: string;
  readonly count: number;
}

/** Every empty block is the same block, so a run of empty batches has one shape (see JobGenerator). */
export const EMPTY_BLOB_BLOCK: BlobBlock = { source: "blob", key: "", count: 0 };

const utf8 = new TextEncoder();
const text = new TextDecoder("utf-8");

/** Writes `records` as one block under `key` (a rewrite with the same records is harmless) and returns its descriptor. */
export async function writeBlobBlock(blobs: BlobStore, key: string, records: readonly unknown[]): Promise<BlobBlock> {
  if (records.length === 0) return EMPTY_BLOB_BLOCK;
  await blobs.put(key, utf8.encode(encode(records)));
  return { source: "blob", key, count: records.length };
}

/** Reads blocks that `writeBlobBlock` wrote: the "blob" source of an engine. */
export class BlobBlockSource implements StreamSource {
  readonly name = "blob";
  constructor(private readonly blobs: BlobStore) {}
  async read(block: BlockDescriptor): Promise<unknown[]> {
    const key = block.key;
    if (typeof key !== "string") {
      throw new InvalidArgumentError(
        `Expected a blob block to have a string \`key\`, got \`${describe(key)}\`: the batch log holds a block this version did not write.`,
      );
    }
    if (key === "" || block.count === 0) return [];
    // A missing blob is the store's MissingDataError (expired, or never written), which names the key.
    return decode<unknown[]>(text.decode(await this.blobs.get(key)));
  }
}
