/**
 * Reading a feed's input: a file (or standard input for "-") in one of the input formats, or a folder
 * of files, one record each. Every format but `lines` carries any bytes; `lines` carries each line's
 * bytes exactly as they are in the file, but cannot carry a line end or a blank record.
 *
 *  - `lines` (the default): a record per line (LF or CRLF ends a line; the line end is not sent).
 *    The line's bytes are sent unchanged, valid UTF-8 or not; blank lines are skipped.
 *  - `base64`: a record per line, the line being the standard base64 of the record's bytes (padding
 *    optional); an empty line is a record of 0 bytes. A line that is not base64 is bad input.
 *  - `length-prefixed`: records back to back, each a 4-byte big-endian unsigned length, then that many
 *    bytes. A length over Kinesis' 10 MiB maximum, or input that ends inside a record, stops the feed.
 *  - a folder (`--dir`): a record per regular file, in name order; each file's bytes, an empty file
 *    being a record of 0 bytes. Names starting with "." and anything not a file are left out.
 */
import { createReadStream, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { OperatorError } from "../observability/aws-errors.js";
import { formatBytes, InvalidInput, type FeedInput } from "./feed.js";

/** How a file's bytes are cut into records. */
export type InputFormat = "lines" | "base64" | "length-prefixed";
export const INPUT_FORMATS: readonly InputFormat[] = ["lines", "base64", "length-prefixed"];

/** The largest record Kinesis takes (data and partition key), whatever the stream's setting. */
export const KINESIS_MAX_RECORD_BYTES = 10 * 1024 * 1024;
/** The longest line read: the base64 of a 10 MiB record, and some. Longer lines are bad input. */
const MAX_LINE_BYTES = Math.ceil(KINESIS_MAX_RECORD_BYTES / 3) * 4 + 1024;

/** Records read from an input, with what a progress bar and messages need. */
export interface RecordReader {
  readonly records: AsyncIterable<FeedInput>;
  /** Bytes of input read so far. */
  bytesRead(): number;
  /** Names the record at a 1-based position: "line 12", "record 3 (byte 1,024)", "file b.bin". */
  where(position: number): string;
}

/** The lines of `file` ("-" or undefined: stdin), without their line ends, as text (bytes that are not UTF-8 become U+FFFD). */
export function readLines(file: string | undefined, stdin: Readable = process.stdin): AsyncIterable<string> {
  const input = openFile(file, stdin);
  // The interface is made on the first read: lines it emitted before anyone iterates would be lost.
  return (async function* () {
    const rl = createInterface({ input, crlfDelay: Infinity });
    try {
      yield* rl;
    } finally {
      rl.close();
    }
  })();
}

/** The records of `file` ("-" or undefined: stdin) in `format`, byte for byte. */
export function readRecords(file: string | undefined, format: InputFormat, stdin: Readable = process.stdin): RecordReader {
  const input = openFile(file, stdin);
  const counter = { bytes: 0 };
  const chunks = (async function* () {
    for await (const chunk of input as AsyncIterable<Buffer | string>) {
      const b = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      counter.bytes += b.byteLength;
      yield b;
    }
  })();
  if (format === "length-prefixed") {
    const offsets: number[] = [];
    return {
      records: framed(chunks, offsets),
      bytesRead: () => counter.bytes,
      where: (n) => `record ${n}${offsets[n - 1] !== undefined ? ` (at byte ${offsets[n - 1]!.toLocaleString("en-US")})` : ""}`,
    };
  }
  const records = (async function* () {
    for await (const line of splitLines(chunks)) yield format === "base64" ? fromBase64(line) : fromLine(line);
  })();
  return { records, bytesRead: () => counter.bytes, where: (n) => `line ${n}` };
}

/** One record per regular file of `dir`, in name order; names starting with "." are left out. */
export function readDirectory(dir: string): RecordReader & { readonly files: readonly string[]; readonly totalBytes: number } {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new OperatorError(`${dir} is not a folder: --dir takes a folder whose files are the records.`);
    names = readdirSync(dir);
  } catch (e) {
    if (e instanceof OperatorError) throw e;
    throw new OperatorError(
      `cannot read the folder ${dir}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such folder" : (e as Error).message}. Check the path.`,
    );
  }
  const files: { name: string; size: number }[] = [];
  for (const name of names.sort()) {
    if (name.startsWith(".")) continue;
    const st = statSync(path.join(dir, name), { throwIfNoEntry: false });
    if (st?.isFile()) files.push({ name, size: st.size });
  }
  let read = 0;
  const records = (async function* () {
    for (const f of files) {
      if (f.size > KINESIS_MAX_RECORD_BYTES) {
        read += f.size;
        yield new InvalidInput(`the file is ${formatBytes(f.size)}, over Kinesis' ${formatBytes(KINESIS_MAX_RECORD_BYTES)} maximum record`);
        continue;
      }
      const bytes = readFileSync(path.join(dir, f.name));
      read += bytes.byteLength;
      yield new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
  })();
  return {
    records,
    files: files.map((f) => f.name),
    totalBytes: files.reduce((n, f) => n + f.size, 0),
    bytesRead: () => read,
    where: (n) => `file ${files[n - 1]?.name ?? `#${n}`}`,
  };
}

/** The size of a file, for a progress bar; undefined for stdin. */
export function inputSize(file: string | undefined): number | undefined {
  if (!file || file === "-") return undefined;
  try {
    return statSync(file).size;
  } catch {
    return undefined;
  }
}

function openFile(file: string | undefined, stdin: Readable): Readable {
  if (!file || file === "-") return stdin;
  try {
    if (!statSync(file).isFile())
      throw new OperatorError(`${file} is not a file: pass a file, - to read standard input, or --dir for a folder of records.`);
  } catch (e) {
    if (e instanceof OperatorError) throw e;
    throw new OperatorError(
      `cannot read ${file}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}. Check the path, or pass - to read standard input.`,
    );
  }
  return createReadStream(file);
}

/** A line too long to be any record: its length, without its bytes. */
class LongLine {
  constructor(readonly bytes: number) {}
}

/** The lines of a byte stream, without their line ends (LF, or CRLF); no line after a final line end. */
async function* splitLines(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer | LongLine> {
  let parts: Buffer[] = [];
  let pending = 0;
  let long = false;
  const end = (last: Buffer): Buffer | LongLine => {
    const line = Buffer.concat([...parts, last]);
    const n = pending + last.byteLength;
    parts = [];
    pending = 0;
    if (long) {
      long = false;
      return new LongLine(n);
    }
    return line.byteLength > 0 && line[line.byteLength - 1] === 0x0d ? line.subarray(0, line.byteLength - 1) : line;
  };
  for await (const chunk of chunks) {
    let at = 0;
    for (let nl = chunk.indexOf(0x0a, at); nl >= 0; nl = chunk.indexOf(0x0a, at)) {
      yield end(chunk.subarray(at, nl));
      at = nl + 1;
    }
    if (at < chunk.byteLength) {
      const rest = chunk.subarray(at);
      pending += rest.byteLength;
      // A line longer than any record is counted, not kept: it is reported, not held in memory.
      if (pending > MAX_LINE_BYTES) long = true;
      if (long) parts = [];
      else parts.push(rest);
    }
  }
  if (pending > 0 || parts.length) yield end(Buffer.alloc(0));
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** A line of text: a string when it is UTF-8 (its bytes again when encoded), else its bytes as they are. */
function fromLine(line: Buffer | LongLine): FeedInput {
  if (line instanceof LongLine)
    return new InvalidInput(`the line is ${formatBytes(line.bytes)}, over Kinesis' ${formatBytes(KINESIS_MAX_RECORD_BYTES)} maximum record`);
  try {
    return strictUtf8.decode(line);
  } catch {
    return new Uint8Array(line.buffer, line.byteOffset, line.byteLength);
  }
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** A base64 line's bytes; an empty line is a record of 0 bytes. Only canonical standard base64 is taken. */
function fromBase64(line: Buffer | LongLine): FeedInput {
  if (line instanceof LongLine)
    return new InvalidInput(
      `the line is ${formatBytes(line.bytes)}, longer than the base64 of Kinesis' ${formatBytes(KINESIS_MAX_RECORD_BYTES)} maximum record`,
    );
  const text = line.toString("latin1").replace(/^[ \t]+|[ \t]+$/g, "");
  const bare = text.replace(/=+$/, "");
  const valid = BASE64.test(text) && bare.length % 4 !== 1 && (text.length === bare.length || text.length % 4 === 0);
  const bytes = valid ? Buffer.from(bare, "base64") : undefined;
  // Canonical only: the bytes must encode back to the same text, so no two lines stand for one record.
  if (!bytes || bytes.toString("base64").replace(/=+$/, "") !== bare) {
    const shown = text.length > 40 ? `${text.slice(0, 40)}...` : text;
    return new InvalidInput(
      `not base64 (${JSON.stringify(shown)}): each line must be the standard base64 of one record (A-Z a-z 0-9 + /, = padding)`,
    );
  }
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Length-prefixed records: a 4-byte big-endian length, then the bytes; `offsets` gets each record's start. */
async function* framed(chunks: AsyncIterable<Buffer>, offsets: number[]): AsyncGenerator<FeedInput> {
  // Chunks are kept as they come and joined once a whole record is in: no copying per chunk.
  let parts: Buffer[] = [];
  let held = 0;
  const take = (count: number): Buffer => {
    const all = parts.length === 1 ? parts[0]! : Buffer.concat(parts, held);
    const out = all.subarray(0, count);
    const rest = all.subarray(count);
    parts = rest.byteLength ? [rest] : [];
    held = rest.byteLength;
    return out;
  };
  let consumed = 0;
  let need: number | undefined;
  let n = 0;
  for await (const chunk of chunks) {
    parts.push(chunk);
    held += chunk.byteLength;
    for (;;) {
      if (need === undefined) {
        if (held < 4) break;
        need = take(4).readUInt32BE(0);
        offsets[n] = consumed;
        if (need > KINESIS_MAX_RECORD_BYTES) {
          n++;
          yield new InvalidInput(
            `its length prefix (4 bytes, big-endian) says ${need.toLocaleString("en-US")} bytes, over Kinesis' ${formatBytes(KINESIS_MAX_RECORD_BYTES)} maximum record: ` +
              "the input is not length-prefixed records, or is corrupt",
            true,
          );
          return;
        }
      }
      if (held < need) break;
      const record = Uint8Array.from(take(need));
      consumed += 4 + need;
      need = undefined;
      n++;
      yield record;
    }
  }
  if (need !== undefined || held > 0) {
    offsets[n] = consumed;
    const why =
      need === undefined
        ? `the input ends ${held} byte(s) into a 4-byte length prefix`
        : `the input ends ${held} byte(s) into a record of ${need.toLocaleString("en-US")} bytes`;
    yield new InvalidInput(`${why}: the input was cut short`, true);
  }
}
