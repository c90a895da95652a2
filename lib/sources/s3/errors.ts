/**
 * The errors of file inputs: a recorded object that is no longer the one its batch was fixed with,
 * and a batch whose objects and remembered keys cannot be recorded.
 */
import { MissingDataError, SparklessError } from "../../core/errors.js";

/**
 * An object a batch recorded (bucket, key, ETag) changed or vanished before the batch read it: a
 * rerun or a fanned-out task would otherwise read other bytes than the first run, silently. The read
 * is refused (GetObject with If-Match), the task fails, and after its attempts the batch. A
 * MissingDataError, so code that handles missing data handles this too.
 */
export class InputObjectChangedError extends MissingDataError {
  constructor(
    readonly bucket: string,
    readonly key: string,
    /** The ETag the batch recorded. */
    readonly etag: string,
    /** "changed": the key holds other bytes now; "missing": the key is gone. */
    readonly reason: "changed" | "missing",
  ) {
    super(
      `s3://${bucket}/${key} ${reason === "changed" ? "was overwritten" : "was deleted"} after a batch recorded it with ETag ${etag}: ` +
        "a batch reads exactly the objects it recorded, and will not read other bytes. " +
        "Put the same bytes back under that key (a single-part upload's ETag is the MD5 of its bytes) and run the batch again " +
        "(`sparkless retry`), or start the app over (`sparkless reset`). Write each file once, under a new key, into a watched prefix.",
    );
  }
}

/**
 * What a file input must record for one batch (its objects and the keys it remembers) does not fit
 * the batch record, even with a single object: too many keys are modified within its remember window.
 */
export class FileInputTooLargeError extends SparklessError {
  constructor(
    readonly directory: string,
    readonly rememberedKeys: number,
    readonly bytes: number,
    readonly limit: number,
    readonly rememberMs: number,
  ) {
    super(
      `textFileStream("${directory}") remembers ${rememberedKeys} keys modified within its remember window of ${rememberMs / 1000} s: ` +
        `with its batch's objects that is ${Math.ceil(bytes / 1024)} KiB to record, over the ${Math.floor(limit / 1024)} KiB one input may add ` +
        "to a batch record (a DynamoDB item holds 400 KB). Lower `minRememberDuration`, write fewer and larger objects, " +
        "or split the prefix into several inputs.",
    );
  }
}
