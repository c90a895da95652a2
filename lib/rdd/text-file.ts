/**
 * `saveAsTextFile`'s layout, as Hadoop's TextOutputFormat leaves it, in a
 * local directory or under an S3 key: one `part-NNNNN` per partition (one
 * element per line, each line ended by a newline, an empty part for an
 * empty partition) and an empty `_SUCCESS` marker written last.
 *
 *     s3://bucket/out/counts-1000.txt/part-00000
 *     s3://bucket/out/counts-1000.txt/part-00001
 *     s3://bucket/out/counts-1000.txt/_SUCCESS
 *
 * A batch that runs again writes the same place again (Spark Streaming turns
 * off the "output directory already exists" check for its jobs for the same
 * reason), in this order, so a reader that waits for `_SUCCESS` never sees a
 * half-written or doubled batch:
 *
 *   1. delete `_SUCCESS`: from here until step 4 the output reads as unfinished;
 *   2. write every part, each whole at once: an S3 PutObject replaces the
 *      object atomically; a local part goes to a temporary name and is
 *      renamed into place;
 *   3. delete the parts past the new partition count, left by an earlier run
 *      with more partitions;
 *   4. write `_SUCCESS`.
 *
 * A run that fails before step 4 leaves no `_SUCCESS`; the batch's next run
 * rewrites everything. S3 lists and reads are strongly consistent after
 * writes and deletes, so step 3 sees every part an earlier run wrote.
 * Objects other than `part-NNNNN` and `_SUCCESS` under the path are left
 * alone.
 */
import { mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { IllegalStateError, InvalidArgumentError, describe } from "../core/errors.js";
import type { ObjectStore } from "../storage/interfaces.js";

/** Hadoop's part file name: `part-00000`. */
export function partFileName(partition: number): string {
  return `part-${String(partition).padStart(5, "0")}`;
}

export const SUCCESS_MARKER = "_SUCCESS";

/** Where an output goes: a local directory, or a key prefix in an S3 bucket. */
export type OutputPath = { readonly kind: "local"; readonly dir: string } | { readonly kind: "s3"; readonly bucket: string; readonly key: string };

/** S3's bucket naming rules, short form: 3-63 of [a-z0-9.-], starting and ending with a letter or digit. */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Reads an output path: a local path, a `file://` URI, or `s3://bucket/key` (`s3a://` too, as
 * Spark code on Hadoop writes it). A trailing `/` is dropped.
 */
export function parseOutputPath(path: unknown): OutputPath {
  if (typeof path !== "string" || path === "") {
    throw new InvalidArgumentError(`Expected \`path\` to be a non-empty directory path or s3://bucket/key, got \`${describe(path)}\`.`);
  }
  if (path.startsWith("file://")) return { kind: "local", dir: path.slice("file://".length) };
  const s3 = /^s3a?:\/\/([^/]*)\/?(.*)$/i.exec(path);
  if (s3) {
    const [, bucket, rest] = s3 as unknown as [string, string, string];
    if (!BUCKET.test(bucket)) {
      throw new InvalidArgumentError(
        `Expected an S3 bucket name of 3 to 63 characters [a-z0-9.-] in \`${path}\`, got \`${bucket}\`. Write the path as s3://bucket/key.`,
      );
    }
    const key = rest.replace(/\/+$/, "");
    if (key === "") {
      throw new InvalidArgumentError(
        `\`${path}\` names a bucket but no key to write under. Give one: s3://${bucket}/output (saveAsTextFiles: s3://${bucket}/prefix).`,
      );
    }
    return { kind: "s3", bucket, key };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
    throw new InvalidArgumentError(
      `Text outputs go to a local directory or to S3; \`${path}\` is neither. Give a local path, a file:// URI or s3://bucket/key.`,
    );
  }
  return { kind: "local", dir: path };
}

/** One text output being (re)written, in the order of the module comment: start, every part, finish. */
export interface TextOutput {
  /** Whether every process writes the same place (an object store), so a worker may write a part; not a local directory. */
  readonly shared: boolean;
  /** Deletes `_SUCCESS` (and, locally, creates the directory). */
  start(): Promise<void>;
  /** Writes part `partition` whole. Parts may be written concurrently. */
  writePart(partition: number, lines: readonly string[]): Promise<void>;
  /** Deletes parts at or past `numPartitions`, then writes `_SUCCESS`. */
  finish(numPartitions: number): Promise<void>;
}

/** The output at `path`; `objects` is the engine's object store, needed for an `s3://` path. */
export function textOutputFor(path: unknown, objects: ObjectStore | undefined): TextOutput {
  const target = parseOutputPath(path);
  if (target.kind === "local") return new LocalTextOutput(target.dir);
  if (!objects) {
    throw new IllegalStateError(
      `Writing to \`${String(path)}\` needs an engine with an object store, and this one has none. The in-memory engine (MemoryEngineServices), the local engines and AWS have one; otherwise write to a local path.`,
    );
  }
  return new ObjectTextOutput(objects, target.bucket, target.key);
}

const contents = (lines: readonly string[]): string => (lines.length ? lines.join("\n") + "\n" : "");

/** Returns the partition number of a part name (`part-00012` → 12), else undefined. */
function partNumber(name: string): number | undefined {
  const m = /^part-(\d+)$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

class LocalTextOutput implements TextOutput {
  readonly shared = false;
  constructor(private readonly dir: string) {}
  async start(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await rm(join(this.dir, SUCCESS_MARKER), { force: true });
  }
  async writePart(partition: number, lines: readonly string[]): Promise<void> {
    const name = partFileName(partition);
    const tmp = join(this.dir, `.${name}.inprogress`);
    await writeFile(tmp, contents(lines));
    await rename(tmp, join(this.dir, name));
  }
  async finish(numPartitions: number): Promise<void> {
    for (const f of await readdir(this.dir)) {
      const n = partNumber(f);
      // A temporary part left here was left by a run that died mid-write: every part of this run is in place.
      if ((n !== undefined && n >= numPartitions) || /^\.part-\d+\.inprogress$/.test(f)) await rm(join(this.dir, f), { force: true });
    }
    await writeFile(join(this.dir, SUCCESS_MARKER), "");
  }
}

class ObjectTextOutput implements TextOutput {
  readonly shared = true;
  private readonly encoder = new TextEncoder();
  constructor(
    private readonly store: ObjectStore,
    private readonly bucket: string,
    private readonly key: string,
  ) {}
  async start(): Promise<void> {
    await this.store.delete(this.bucket, [`${this.key}/${SUCCESS_MARKER}`]);
  }
  async writePart(partition: number, lines: readonly string[]): Promise<void> {
    await this.store.put(this.bucket, `${this.key}/${partFileName(partition)}`, this.encoder.encode(contents(lines)));
  }
  async finish(numPartitions: number): Promise<void> {
    const dir = `${this.key}/`;
    const stale = (await this.store.list(this.bucket, dir)).filter((k) => {
      const n = partNumber(k.slice(dir.length));
      return n !== undefined && n >= numPartitions;
    });
    if (stale.length) await this.store.delete(this.bucket, stale);
    await this.store.put(this.bucket, `${dir}${SUCCESS_MARKER}`, new Uint8Array());
  }
}
