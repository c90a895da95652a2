/**
 * The "s3files" source: which objects under a prefix each batch reads, as Spark's FileInputDStream
 * decides which files of a directory are new, and how a recorded block of objects is read back.
 *
 * Each batch lists the prefix (ListObjectsV2, page by page), keeps the objects its filter accepts,
 * and selects the new ones (`selectNewFiles`). The selected objects, with their ETags, become the
 * batch's blocks, which the coordinator records in the batch log before the batch runs; what the
 * input remembers (the keys it has seen lately and a LastModified watermark) is the input's state,
 * recorded with the batch, so the next batch and a restarted coordinator start from it. Reading a
 * block asks for each object on the condition that its ETag is still the recorded one, so a rerun
 * reads the same bytes or fails with an InputObjectChangedError.
 *
 * All times here are the store's LastModified times, never the coordinator's clock: the two clocks
 * need not agree (a test's manual clock, clock skew), and S3 lists LastModified to the second.
 */
import { IllegalStateError, InvalidArgumentError, describe } from "../../core/errors.js";
import type { Allocation, BlockDescriptor, ObjectInfo, ObjectLister, RecordBudget, StreamSource } from "../../storage/interfaces.js";
import { FileInputTooLargeError, InputObjectChangedError } from "./errors.js";

/** The source's name in the engines' `sources` maps, and in each of its blocks. */
export const S3_FILES = "s3files";

/** A block groups small objects up to this many bytes (a larger object is a block of its own)... */
export const BLOCK_MAX_BYTES = 8 * 2 ** 20;
/** ...and up to this many objects. */
export const BLOCK_MAX_OBJECTS = 128;
/**
 * What one file input may add to a batch record (its blocks and its state), so that two inputs and the
 * rest of the record fit a DynamoDB item (400 KB). A batch whose selection would not fit takes fewer
 * objects (the rest wait); one whose remembered keys alone do not fails with FileInputTooLargeError.
 */
export const MAX_RECORD_BYTES = 160 * 1024;
/** Objects read at once by one task. */
const READ_CONCURRENCY = 16;

/** A watched directory: `s3://bucket/prefix/`. */
export interface S3Directory {
  readonly bucket: string;
  /** The key prefix, ending in "/" (or "" for the bucket's root). */
  readonly prefix: string;
}

/** Parses `s3://bucket/prefix/` (the trailing "/" may be left out, as a directory's). */
export function parseS3Directory(directory: unknown): S3Directory {
  const m = typeof directory === "string" ? /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(directory) : null;
  if (!m) {
    throw new InvalidArgumentError(
      `Expected a directory "s3://bucket/prefix/" (a bucket name of 3 to 63 characters [a-z0-9.-]), got \`${describe(directory)}\`.`,
    );
  }
  let prefix = m[2] ?? "";
  if (/[*?[\]{}]/.test(prefix)) {
    throw new InvalidArgumentError(
      `Expected a directory without glob characters, got \`${describe(directory)}\`: textFileStream watches one prefix; union several streams to watch several.`,
    );
  }
  if (prefix !== "" && !prefix.endsWith("/")) prefix += "/";
  if (prefix.startsWith("/") || prefix.includes("//")) {
    throw new InvalidArgumentError(`Expected a directory without empty path segments, got \`${describe(directory)}\`.`);
  }
  return { bucket: m[1]!, prefix };
}

/**
 * Spark's default filter (FileInputDStream.defaultFilter) and Hadoop's hidden-file filter: a name
 * starting with "." or "_" (such as `_SUCCESS`) is left out, and so is a file still being copied
 * (`._COPYING_`, which Hadoop's `fs -put` writes, or `.tmp`). Applies to the name after the last "/".
 */
export function defaultFileFilter(key: string): boolean {
  const name = key.slice(key.lastIndexOf("/") + 1);
  return name !== "" && !name.startsWith(".") && !name.startsWith("_") && !name.endsWith("._COPYING_") && !name.endsWith(".tmp");
}

// ---------------------------------------------------------------------------------------------
// which objects are new

/**
 * What a file input remembers between batches (recorded with each batch):
 * - `since`: objects modified before it are ignored (set by the first batch: the newest object then
 *   present with `newFilesOnly`, else that minus the remember window);
 * - `watermark`: the newest LastModified among the objects selected (or, at the first batch, seen);
 * - `seen`: the keys (relative to the prefix) selected or ignored lately, grouped by LastModified,
 *   oldest first; a key is forgotten once its LastModified falls below the floor
 *   max(since, watermark - remember), where the rule "older than the floor is ignored" takes over.
 * So the state holds the keys modified within the remember window of the newest one, however long
 * the app runs and however many objects the prefix holds.
 */
export interface FileInputState {
  readonly since?: number;
  readonly watermark?: number;
  readonly seen: readonly (readonly [number, readonly string[]])[];
}

export interface SelectOptions {
  /** Ignore the objects present at the first batch (Spark's newFilesOnly). */
  readonly newFilesOnly: boolean;
  /** How far below the watermark objects are still considered (Spark's remember duration). */
  readonly rememberMs: number;
  /** Most objects selected per batch; the rest wait, oldest first. */
  readonly maxFiles: number;
}

/** Oldest first, then by key: the order objects are selected and read in. */
function byAge(a: ObjectInfo, b: ObjectInfo): number {
  return a.lastModified - b.lastModified || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/**
 * The objects of `listed` (already filtered, all under `prefix`) that batch should read, and the
 * state after it. Spark's FileInputDStream.isNewFile, with the store's LastModified for the clock: an
 * object is new when its key was not seen lately and it is not older than the floor.
 */
export function selectNewFiles(
  listed: readonly ObjectInfo[],
  prefix: string,
  previous: FileInputState | undefined,
  o: SelectOptions,
): { selected: ObjectInfo[]; state: FileInputState } {
  const name = (key: string) => key.slice(prefix.length);
  const seen = new Map<string, number>();
  for (const [t, names] of previous?.seen ?? []) for (const n of names) seen.set(n, t);
  let since = previous?.since;
  let watermark = previous?.watermark;
  if (!previous && listed.length > 0) {
    const newest = listed.reduce((m, x) => Math.max(m, x.lastModified), -Infinity);
    if (o.newFilesOnly) {
      // The objects present now are ignored: older ones by `since`, those of the newest second by key,
      // so an object written later within that same second is still read.
      since = newest;
      watermark = newest;
      for (const x of listed) if (x.lastModified >= newest) seen.set(name(x.key), x.lastModified);
    } else {
      // Spark reads the files of the remember window only, even with newFilesOnly = false.
      since = newest - o.rememberMs;
    }
  }
  const floor = (): number => Math.max(since ?? -Infinity, watermark === undefined ? -Infinity : watermark - o.rememberMs);
  const before = floor();
  const fresh = listed.filter((x) => x.lastModified >= before && !seen.has(name(x.key))).sort(byAge);
  // Oldest first: whatever waits for a later batch is at least as new as all that was taken, so the
  // watermark never passes it.
  const selected = fresh.slice(0, o.maxFiles);
  for (const x of selected) {
    seen.set(name(x.key), x.lastModified);
    watermark = Math.max(watermark ?? -Infinity, x.lastModified);
  }
  const after = floor();
  const groups = new Map<number, string[]>();
  for (const [n, t] of seen) {
    if (t < after) continue;
    const g = groups.get(t);
    if (g) g.push(n);
    else groups.set(t, [n]);
  }
  const state: FileInputState = {
    ...(since !== undefined ? { since } : {}),
    ...(watermark !== undefined ? { watermark } : {}),
    seen: [...groups.entries()].sort((a, b) => a[0] - b[0]).map(([t, ns]) => [t, ns.sort()] as const),
  };
  return { selected, state };
}

// ---------------------------------------------------------------------------------------------
// lines

const utf8 = new TextDecoder("utf-8");

/**
 * A text file's lines, as Hadoop's TextInputFormat (Spark's textFile) gives them: UTF-8 (bytes that
 * are not are replaced by U+FFFD, as Hadoop's Text.toString does; a leading byte order mark is
 * dropped, as LineRecordReader does), lines ended by "\n", "\r\n" or "\r", which are not part of the
 * line; a last line without an ending is a line; a file that ends with one has no extra empty line.
 */
export function splitLines(bytes: Uint8Array): string[] {
  const text = utf8.decode(bytes);
  if (text === "") return [];
  const lines = text.split(/\r\n|\r|\n/);
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

// ---------------------------------------------------------------------------------------------
// the source

/** One object of a block: what the batch recorded, and what its read must find again. */
export interface FileRef {
  readonly key: string;
  readonly etag: string;
  readonly size: number;
}

/** A block of a file input: objects of one bucket, read in this order, their lines in file order. */
export interface FileBlock extends BlockDescriptor {
  readonly source: typeof S3_FILES;
  readonly bucket: string;
  readonly objects: readonly FileRef[];
}

export interface FileAllocateOptions extends SelectOptions {
  /** Which keys to consider. */
  readonly filter: (key: string) => boolean;
  /** What the coordinator may keep of the lines it reads while fixing the batch. */
  readonly budget?: RecordBudget;
  /** @default MAX_RECORD_BYTES */
  readonly maxRecordBytes?: number;
}

/** The bytes the blocks and state add to a batch record, as JSON (the codec writes about as much). */
function recordBytes(blocks: readonly FileBlock[], state: FileInputState): number {
  return Buffer.byteLength(JSON.stringify(blocks)) + Buffer.byteLength(JSON.stringify(state));
}

/** Groups the selected objects, in order, into blocks of at most BLOCK_MAX_BYTES and BLOCK_MAX_OBJECTS. */
export function groupBlocks(bucket: string, objects: readonly ObjectInfo[]): FileBlock[] {
  const blocks: FileBlock[] = [];
  let current: FileRef[] = [];
  let bytes = 0;
  const flush = () => {
    if (current.length) blocks.push({ source: S3_FILES, bucket, objects: current });
    current = [];
    bytes = 0;
  };
  for (const o of objects) {
    if (current.length && (bytes + o.size > BLOCK_MAX_BYTES || current.length >= BLOCK_MAX_OBJECTS)) flush();
    current.push({ key: o.key, etag: o.etag, size: o.size });
    bytes += o.size;
  }
  flush();
  return blocks;
}

/**
 * Lists, selects and reads objects for file inputs, over any ObjectLister (S3, the in-memory twin).
 * Registered as "s3files" in the engines' `sources`.
 */
export class FileStreamSource implements StreamSource {
  readonly name = S3_FILES;
  constructor(readonly objects: ObjectLister) {}

  /** Every object directly under the prefix: one ListObjectsV2 request per 1,000 keys. */
  async listAll(bucket: string, prefix: string): Promise<ObjectInfo[]> {
    const all: ObjectInfo[] = [];
    let token: string | undefined;
    do {
      const page = await this.objects.listPage(bucket, prefix, token ? { continuationToken: token } : {});
      all.push(...page.objects);
      token = page.next;
    } while (token);
    return all;
  }

  /**
   * Fixes one batch's blocks. While the budget lasts, the coordinator reads the selected objects now
   * (on their listed ETag) and hands their lines over with the blocks, so a batch it runs itself reads
   * each object once and its record counts its lines. An object that changed or vanished between the
   * listing and this read is left for a later batch, which lists it again.
   */
  async allocate(dir: S3Directory, previous: FileInputState | undefined, o: FileAllocateOptions): Promise<Allocation> {
    const listed = (await this.listAll(dir.bucket, dir.prefix)).filter(
      (x) => x.key.startsWith(dir.prefix) && x.key.length > dir.prefix.length && !x.key.slice(dir.prefix.length).includes("/") && o.filter(x.key),
    );
    const kept = new Map<string, string[]>();
    let candidates = listed;
    let cap = o.maxFiles;
    const limit = o.maxRecordBytes ?? MAX_RECORD_BYTES;
    for (;;) {
      const { selected, state } = selectNewFiles(candidates, dir.prefix, previous, { ...o, maxFiles: cap });
      const bytes = recordBytes(groupBlocks(dir.bucket, selected), state);
      if (bytes > limit) {
        // Fewer objects this batch (the rest wait, oldest first), unless the remembered keys alone are too many.
        if (selected.length > 1) {
          cap = Math.max(1, Math.floor(selected.length / 2));
          continue;
        }
        const remembered = state.seen.reduce((n, [, names]) => n + names.length, 0);
        throw new FileInputTooLargeError(`s3://${dir.bucket}/${dir.prefix}`, remembered, bytes, limit, o.rememberMs);
      }
      const gone = new Set<string>();
      const budget = o.budget;
      if (budget) {
        // In waves of READ_CONCURRENCY objects, each wave within what is left of the budget.
        const unread = selected.filter((x) => !kept.has(x.key));
        let i = 0;
        while (i < unread.length && !budget.exhausted) {
          const wave: ObjectInfo[] = [];
          let waveBytes = 0;
          while (i < unread.length && wave.length < READ_CONCURRENCY) {
            const x = unread[i]!;
            if (budget.records <= 0 || budget.bytes - waveBytes < x.size) {
              budget.exhausted = true;
              break;
            }
            wave.push(x);
            waveBytes += x.size;
            i++;
          }
          const bodies = await Promise.all(wave.map((x) => this.objects.getIfMatch(dir.bucket, x.key, x.etag)));
          wave.forEach((x, j) => {
            const body = bodies[j]!;
            if (typeof body === "string") {
              gone.add(x.key);
              return;
            }
            const lines = splitLines(body);
            kept.set(x.key, lines);
            budget.bytes -= x.size;
            budget.records -= lines.length;
          });
          if (budget.records < 0) budget.exhausted = true;
        }
      }
      if (gone.size > 0) {
        candidates = candidates.filter((x) => !gone.has(x.key));
        continue;
      }
      const blocks = groupBlocks(dir.bucket, selected);
      const records = blocks.map((b) => (b.objects.every((r) => kept.has(r.key)) ? b.objects.flatMap((r) => kept.get(r.key)!) : undefined));
      return {
        blocks: blocks.map((b, i) => (records[i] ? { ...b, count: records[i]!.length } : b)),
        state,
        ...(records.some((r) => r) ? { records } : {}),
      };
    }
  }

  /** The lines of a recorded block, from exactly the recorded objects. */
  async read(block: BlockDescriptor): Promise<string[]> {
    if (block.source !== S3_FILES || typeof block.bucket !== "string" || !Array.isArray(block.objects)) {
      throw new IllegalStateError(`The "s3files" source cannot read the block ${describe(block)}: it is not a file block.`);
    }
    const b = block as FileBlock;
    const out: string[][] = new Array(b.objects.length);
    let next = 0;
    const worker = async () => {
      while (next < b.objects.length) {
        const i = next++;
        const ref = b.objects[i]!;
        const body = await this.objects.getIfMatch(b.bucket, ref.key, ref.etag);
        if (typeof body === "string") throw new InputObjectChangedError(b.bucket, ref.key, ref.etag, body);
        out[i] = splitLines(body);
      }
    };
    await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, b.objects.length) }, worker));
    return out.flat();
  }
}
