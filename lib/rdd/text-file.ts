/**
 * `saveAsTextFile`'s layout on a local file system, as Hadoop's
 * TextOutputFormat leaves it: a directory with one `part-NNNNN` file per
 * partition (one element per line, each line ended by a newline, an empty
 * file for an empty partition) and an empty `_SUCCESS` marker written last.
 *
 * A batch that runs again writes the same directory again (Spark Streaming
 * turns off the "output directory already exists" check for its jobs for the
 * same reason). `_SUCCESS` is removed first and written last, and each part
 * goes to a temporary name and is renamed into place, so a reader that waits
 * for `_SUCCESS` never sees a half-written part; part files past the new
 * partition count (left by an earlier run with more partitions) are removed.
 */
import { mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { InvalidArgumentError, describe } from "../core/errors.js";

/** Hadoop's part file name: `part-00000`. */
export function partFileName(partition: number): string {
  return `part-${String(partition).padStart(5, "0")}`;
}

/** A local directory path from `path` or a `file://` URI. */
export function localOutputPath(path: unknown): string {
  if (typeof path !== "string" || path === "") {
    throw new InvalidArgumentError(`Expected \`path\` to be a non-empty directory path, got \`${describe(path)}\`.`);
  }
  if (path.startsWith("file://")) return path.slice("file://".length);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
    throw new InvalidArgumentError(`saveAsTextFile writes to a local directory; \`${path}\` is not one. Give a local path or a file:// URI.`);
  }
  return path;
}

/**
 * Writes one partition's lines as part file `partition` of `dir` (the directory must exist). Called
 * once per partition, then `finishTextOutput`.
 */
export async function writeTextPart(dir: string, partition: number, lines: readonly string[]): Promise<void> {
  const name = partFileName(partition);
  const tmp = join(dir, `.${name}.inprogress`);
  await writeFile(tmp, lines.length ? lines.join("\n") + "\n" : "");
  await rename(tmp, join(dir, name));
}

/** Prepares `dir` for a (re)write: creates it and removes an earlier `_SUCCESS`. */
export async function startTextOutput(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await rm(join(dir, "_SUCCESS"), { force: true });
}

/** Removes part files beyond `numPartitions` and writes `_SUCCESS`. */
export async function finishTextOutput(dir: string, numPartitions: number): Promise<void> {
  for (const f of await readdir(dir)) {
    const m = /^part-(\d+)$/.exec(f);
    if (m && Number(m[1]) >= numPartitions) await rm(join(dir, f), { force: true });
  }
  await writeFile(join(dir, "_SUCCESS"), "");
}
