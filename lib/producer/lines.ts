/** Reading a feed's input: the lines of a file, or of standard input for "-". */
import { createReadStream, statSync } from "node:fs";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { OperatorError } from "../observability/aws-errors.js";

/** The lines of `file` ("-" or undefined: stdin), without their line ends; nothing is trimmed or cut. */
export function readLines(file: string | undefined, stdin: Readable = process.stdin): AsyncIterable<string> {
  let input: Readable;
  if (!file || file === "-") input = stdin;
  else {
    try {
      if (!statSync(file).isFile()) throw new OperatorError(`${file} is not a file: pass a text file, or - to read standard input.`);
    } catch (e) {
      if (e instanceof OperatorError) throw e;
      throw new OperatorError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}. Check the path, or pass - to read standard input.`);
    }
    input = createReadStream(file);
  }
  // The interface is made on the first read: lines it emitted before anyone iterates would be lost.
  return (async function* () {
    const rl = createInterface({ input, crlfDelay: Infinity });
    try { yield* rl; } finally { rl.close(); }
  })();
}

/** The size of a file, for a progress bar; undefined for stdin. */
export function inputSize(file: string | undefined): number | undefined {
  if (!file || file === "-") return undefined;
  try { return statSync(file).size; } catch { return undefined; }
}
