/**
 * `ssc.textFileStream("s3://bucket/prefix/", options)`: Spark's textFileStream over an S3 prefix.
 * Each batch reads the objects that appeared directly under the prefix since the batch before, each
 * line of each object one element (UTF-8, lines as Hadoop's TextInputFormat splits them).
 *
 * Spark's FileInputDStream semantics, with S3's LastModified for a file's modification time:
 * - `newFilesOnly` (default true): the objects present at the first batch are ignored;
 * - the default filter leaves out names starting with "." or "_" and temporary copies
 *   (`._COPYING_`, `.tmp`); a `filter` replaces it, as in Spark;
 * - an object is read once: its key is remembered while its LastModified is within
 *   `minRememberDuration` (default 60 s, rounded up to whole batches, as Spark does) of the newest
 *   object read; an object older than that window when it is first listed is ignored, as Spark
 *   ignores old files.
 *
 * The coordinator lists the prefix every batch (lib/sources/s3/file-source.ts) and records the
 * selected objects (bucket, key, ETag, size) as the batch's blocks before the batch runs; what the
 * input remembers is recorded with the batch. A rerun reads the recorded objects on their ETag and
 * fails with an InputObjectChangedError (a MissingDataError) if one was overwritten or deleted since.
 * docs/sources.md has the details and the listing cost.
 */
import { Duration, parseDuration } from "../../core/duration.js";
import { IllegalStateError, InvalidArgumentError, describe, requirePositiveInt } from "../../core/errors.js";
import { inputCompute } from "../../dstream/input.js";
import type { DStreamSpec } from "../../dstream/dstream.js";
import type { EngineServices } from "../../storage/interfaces.js";
import { defaultFileFilter, FileStreamSource, parseS3Directory, S3_FILES, type FileInputState } from "./file-source.js";

export interface TextFileStreamOptions {
  /**
   * Ignore the objects already under the prefix at the first batch (Spark's `newFilesOnly`). With
   * false, the first batch also reads the objects modified within `minRememberDuration` of the newest
   * one, as Spark reads the files of its remember window: raise that duration to read further back.
   * @default true
   */
  readonly newFilesOnly?: boolean;
  /**
   * Which objects to read, given the object's key (Spark's `filter`, given the file's path). It
   * replaces the default filter, as in Spark; call `defaultFileFilter(key)` in it to keep that too.
   * Runs in the coordinator, once per listed object per batch.
   * @default defaultFileFilter: names starting with "." or "_", and ending in "._COPYING_" or ".tmp", are left out
   */
  readonly filter?: (key: string) => boolean;
  /**
   * How long a read object's key is remembered, and how far an object's LastModified may lag behind
   * the newest object read and still be read (Spark's `spark.streaming.fileStream.minRememberDuration`),
   * rounded up to a whole number of batches. Keep it above the longest upload into the prefix: an
   * object is listed only once its upload completes, but its LastModified can be earlier (a large
   * multipart upload's is reportedly its start), and an object that turns up already older than the
   * window is ignored. A `Duration` or text such as "5m".
   * @default 60 s
   */
  readonly minRememberDuration?: Duration | string;
  /**
   * Most objects one batch reads (Structured Streaming's `maxFilesPerTrigger`); the others wait for
   * later batches, oldest first. Bounds the batch record, which lists every object it reads.
   * @default 1000
   */
  readonly maxFilesPerBatch?: number;
}

export function textFileStreamSpec(
  directory: string,
  options: TextFileStreamOptions,
  services: () => EngineServices,
  batchIntervalMs: () => number,
): DStreamSpec<string> {
  const dir = parseS3Directory(directory);
  if (options.newFilesOnly !== undefined && typeof options.newFilesOnly !== "boolean") {
    throw new InvalidArgumentError(`Expected \`newFilesOnly\` to be true or false, got \`${describe(options.newFilesOnly)}\`.`);
  }
  if (options.filter !== undefined && typeof options.filter !== "function") {
    throw new InvalidArgumentError(`Expected \`filter\` to be a function from an object's key to a boolean, got \`${describe(options.filter)}\`.`);
  }
  const remember =
    options.minRememberDuration === undefined
      ? new Duration(60_000)
      : typeof options.minRememberDuration === "string"
        ? parseDuration(options.minRememberDuration)
        : options.minRememberDuration;
  if (!(remember instanceof Duration) || !(remember.milliseconds > 0)) {
    throw new InvalidArgumentError(
      `Expected \`minRememberDuration\` to be a positive Duration or text like "60s", got \`${describe(options.minRememberDuration)}\`.`,
    );
  }
  const maxFiles = requirePositiveInt(
    "maxFilesPerBatch",
    options.maxFilesPerBatch ?? 1000,
    "Each batch record lists the objects the batch reads; keep it to a few thousand at most.",
  );
  const filter = options.filter ?? defaultFileFilter;
  const name = `s3://${dir.bucket}/${dir.prefix}`;
  const source = (s: EngineServices): FileStreamSource => {
    const src = s.sources.get(S3_FILES) as FileStreamSource | undefined;
    if (typeof src?.allocate !== "function") {
      throw new IllegalStateError(
        `textFileStream("${name}") needs an engine with an "${S3_FILES}" source: the in-memory engine, \`sparkless local\`, runBatches({ engine: "local" }) or AWS.`,
      );
    }
    return src;
  };
  return {
    kind: "textFileStream",
    parents: [],
    input: { source: S3_FILES, name },
    allocateBlocks: async (_time, previous, context) => {
      const interval = Math.max(1, batchIntervalMs());
      // Spark remembers whole batches: ceil(minRememberDuration / batchDuration) of them.
      const rememberMs = Math.ceil(remember.milliseconds / interval) * interval;
      return source(services()).allocate(dir, previous as FileInputState | undefined, {
        newFilesOnly: options.newFilesOnly ?? true,
        rememberMs,
        maxFiles,
        filter,
        budget: context.budget,
      });
    },
    compute: inputCompute<string>(),
  };
}
