/**
 * `sparkless feed`: sends the records of a file (or stdin, or a folder) to a Kinesis stream, byte for
 * byte: lines of text by default, or any bytes as base64 lines, length-prefixed records or one file
 * per record (see lib/producer/lines.ts). A progress bar with records per second in a terminal, a
 * summary line when piped.
 */
import { parseArgs } from "node:util";
import { KinesisClient } from "@aws-sdk/client-kinesis";
import { feed, formatBytes, type FeedProgress, type PartitionKeyChoice } from "../producer/feed.js";
import { INPUT_FORMATS, inputSize, readDirectory, readRecords, type InputFormat, type RecordReader } from "../producer/lines.js";
import { positiveNumber, resolveTarget, UsageError, type CliIo } from "./target.js";

export const FEED_HELP = `sparkless feed: send records (lines of text, JSON, or any bytes) to a Kinesis stream

Usage:
  sparkless feed --stream NAME [FILE | -] [--format lines|base64|length-prefixed] [options]
  sparkless feed --stream NAME --dir DIR [options]

Reads FILE (or standard input for - or no FILE) and sends each record through PutRecords: up to 500
records and 5 MiB a request, 1 MiB a record (up to 10 MiB when the stream allows more). Records that
Kinesis refuses (throttling) are sent again, and only those, with backoff and jitter. A record over
the limit is reported with its position and skipped (or the command fails with --strict); nothing is
truncated, and no byte is changed.

What is sent, byte for byte:
  --format lines            (the default) one record per line of UTF-8 text: the bytes between two
                            line ends (LF, or CRLF), the line end left out, exactly as they are in the
                            file (bytes that are not valid UTF-8 too). Blank lines are skipped, so a
                            record cannot be empty or hold a line end: use another format for those.
  --format base64           one record per line, the line being the standard base64 of the record
                            (A-Z a-z 0-9 + /, = padding optional); an empty line is a record of
                            0 bytes. A line that is not base64 is reported and skipped (--strict: fails).
  --format length-prefixed  records back to back, each a 4-byte big-endian unsigned length, then that
                            many bytes (0 is an empty record). A length over 10 MiB, or input that ends
                            inside a record, stops the feed once every record before it is sent.
  --dir DIR                 one record per file of DIR, in name order: the file's bytes (an empty file
                            is a record of 0 bytes). Names starting with "." and subfolders are left out.
Kinesis takes records of 0 bytes (PutRecords' Data has a minimum length of 0); the partition key
needs 1 to 256 characters.

Where it sends: --endpoint URL, else AWS_ENDPOINT_URL, else the \`sparkless local\` running in this
directory (it registers itself in .sparkless/), else AWS with your credentials (--aws forces AWS).

Options:
  --stream NAME        the Kinesis stream (default: the local run's stream when it has one)
  --format F           lines (default), base64 or length-prefixed: how FILE is cut into records
  --dir DIR            send each file of DIR as one record (instead of FILE)
  --json               each record is JSON (UTF-8); bad JSON is reported like an oversized record
  --key-field FIELD    partition key from a field of each JSON record (dots for nested: user.id)
  --key KEY            one fixed partition key for every record (default: a random key per record)
  --rate N             at most N records per second
  --strict             fail on the first bad record instead of skipping it
  --concurrency N      requests in flight (default 1; more is faster, and may reorder records)
  --max-attempts N     sends of one record before giving up (default 10)
  --endpoint URL       Kinesis endpoint: \`sparkless local\` prints it; LocalStack is http://localhost:4566
  --region R           AWS region (default AWS_REGION or us-east-1)
  --app NAME           pick this app's local run when several run here
  --aws                ignore local runs: send to AWS
  --no-progress        no progress bar, only the summary line
  -h, --help           this help

Examples:
  sparkless local examples/wordcount-app.ts        # in one terminal
  sparkless feed --stream words examples/data/alice.txt
  cat events.jsonl | sparkless feed --stream events --json --key-field user.id -
  sparkless feed --stream words --rate 100 --endpoint http://127.0.0.1:4567 notes.txt
  base64 -w0 image.png | sparkless feed --stream images --format base64 -
  sparkless feed --stream images --dir ./thumbnails
  AWS_PROFILE=prod sparkless feed --aws --stream clicks --json clicks.jsonl --strict
`;

export async function feedCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      stream: { type: "string" },
      json: { type: "boolean" },
      "key-field": { type: "string" },
      key: { type: "string" },
      rate: { type: "string" },
      strict: { type: "boolean" },
      concurrency: { type: "string" },
      "max-attempts": { type: "string" },
      endpoint: { type: "string" },
      region: { type: "string" },
      app: { type: "string" },
      aws: { type: "boolean" },
      "no-progress": { type: "boolean" },
      help: { type: "boolean", short: "h" },
      format: { type: "string" },
      dir: { type: "string" },
    },
  });
  if (values.help) {
    io.stdout.write(FEED_HELP);
    return 0;
  }
  if (positionals.length > 1)
    throw new UsageError(`one input at a time: got ${positionals.join(", ")}. Concatenate them: cat a b | sparkless feed --stream NAME -`);
  if (values["key-field"] && values.key) throw new UsageError("--key-field and --key both choose the partition key: pass one.");
  if (values["key-field"] && !values.json) throw new UsageError("--key-field reads a field of JSON records: add --json.");
  const format = (values.format ?? "lines") as InputFormat;
  if (!INPUT_FORMATS.includes(format)) throw new UsageError(`--format is ${INPUT_FORMATS.join(", ")}; got \`${values.format}\`.`);
  if (values.dir !== undefined && positionals.length) throw new UsageError(`--dir and a FILE (${positionals[0]}) both name the input: pass one.`);
  if (values.dir !== undefined && values.format !== undefined)
    throw new UsageError("--dir sends each file as one record: --format does not apply to it.");
  const file = positionals[0];
  const target = resolveTarget({
    endpoint: values.endpoint,
    region: values.region,
    app: values.app,
    aws: values.aws,
    stream: values.stream,
    cwd: io.cwd,
    env: io.env,
  });
  let stream = values.stream;
  if (!stream) {
    const streams = target.local?.streams ?? [];
    if (streams.length === 1) stream = streams[0];
    else throw new UsageError(`which stream? pass --stream NAME${streams.length ? ` (the local run reads ${streams.join(", ")})` : ""}.`);
  }
  const partitionKey: PartitionKeyChoice = values["key-field"]
    ? { kind: "field", field: values["key-field"] }
    : values.key !== undefined
      ? { kind: "fixed", key: values.key }
      : { kind: "random" };
  const rate = positiveNumber("rate", values.rate);
  const concurrency = positiveNumber("concurrency", values.concurrency, true);
  const maxAttempts = positiveNumber("max-attempts", values["max-attempts"], true);
  let reader: RecordReader;
  let total: number | undefined;
  if (values.dir !== undefined) {
    const dir = readDirectory(values.dir);
    reader = dir;
    total = dir.totalBytes;
  } else {
    reader = readRecords(file, format, io.stdin);
    total = inputSize(file);
  }
  const interactive = !!io.stderr.isTTY && !values["no-progress"];
  const client = new KinesisClient(target.clientConfig("kinesis"));
  const source = values.dir !== undefined ? `the files of ${values.dir}` : file && file !== "-" ? file : "stdin";
  if (interactive) io.stderr.write(`feeding ${source} to stream ${stream} on ${target.description}\n`);
  if (source === "stdin" && (io.stdin as { isTTY?: boolean }).isTTY) {
    io.stderr.write(
      format === "length-prefixed"
        ? "reading length-prefixed records from standard input (or pass a FILE)\n"
        : "reading lines from standard input: type them, Ctrl-D to end (or pass a FILE)\n",
    );
  }
  const bar = interactive ? new ProgressBar(io.stderr, stream, total) : undefined;
  try {
    const result = await feed({
      client,
      stream,
      records: reader.records,
      json: values.json,
      partitionKey,
      ratePerSecond: rate,
      strict: values.strict,
      concurrency,
      maxAttempts,
      signal: io.signal,
      where: reader.where,
      inputBytes: reader.bytesRead,
      onProgress: (p) => bar?.update(p),
      onSkip: (s) => {
        bar?.clear();
        io.stderr.write(`${reader.where(s.line)}: skipped: ${s.reason}\n`);
      },
    });
    bar?.done(result);
    io.stdout.write(summaryLine(stream, result) + "\n");
    return 0;
  } catch (e) {
    bar?.clear();
    const p = (e as { progress?: FeedProgress }).progress;
    if (p && p.sent > 0) io.stderr.write(summaryLine(stream, p, true) + "\n");
    throw e;
  } finally {
    bar?.stop();
    client.destroy();
  }
}

const int = (n: number) => Math.round(n).toLocaleString("en-US");

/** "sent 1,234 records (56.7 KiB) to words in 1.2 s (1,028 records/s); 2 skipped, 10 retried (10 throttled), 3 requests" */
export function summaryLine(stream: string, p: FeedProgress, stopped = false): string {
  const secs = p.elapsedMs / 1000;
  const perSec = secs > 0 ? p.sent / secs : p.sent;
  const extra = [
    p.skipped ? `${int(p.skipped)} skipped` : "",
    p.retried ? `${int(p.retried)} retried${p.throttled ? ` (${int(p.throttled)} throttled)` : ""}` : "",
    p.blank ? `${int(p.blank)} blank lines ignored` : "",
    `${int(p.requests)} request${p.requests === 1 ? "" : "s"}`,
  ]
    .filter(Boolean)
    .join(", ");
  return `${stopped ? "stopped after sending" : "sent"} ${int(p.sent)} record${p.sent === 1 ? "" : "s"} (${formatBytes(p.bytesSent)}) to ${stream} in ${secs.toFixed(1)} s (${int(perSec)} records/s); ${extra}`;
}

/** The progress line: a bar when the input size is known, records and records per second always. */
export function renderProgress(p: FeedProgress, options: { stream: string; totalBytes?: number; recordsPerSecond: number; width: number }): string {
  const stats = `${int(p.sent)} records  ${int(options.recordsPerSecond)} rec/s${p.skipped ? `  ${int(p.skipped)} skipped` : ""}${p.retried ? `  ${int(p.retried)} retried` : ""}`;
  if (!options.totalBytes) return `${options.stream}  ${stats}`.slice(0, options.width);
  const frac = Math.max(0, Math.min(1, p.bytesRead / options.totalBytes));
  const pct = `${String(Math.floor(frac * 100)).padStart(3)}%`;
  const barWidth = Math.max(10, Math.min(40, options.width - stats.length - options.stream.length - 12));
  const filled = Math.round(frac * barWidth);
  return `${options.stream} [${"#".repeat(filled)}${"-".repeat(barWidth - filled)}] ${pct}  ${stats}`.slice(0, options.width);
}

class ProgressBar {
  private last: FeedProgress | undefined;
  private samples: { t: number; sent: number }[] = [];
  private timer: NodeJS.Timeout;
  private shown = false;
  constructor(
    private readonly out: CliIo["stderr"],
    private readonly stream: string,
    private readonly totalBytes: number | undefined,
  ) {
    this.timer = setInterval(() => this.draw(), 100);
    this.timer.unref();
  }
  update(p: FeedProgress) {
    this.last = p;
  }
  private rate(): number {
    const now = Date.now();
    this.samples.push({ t: now, sent: this.last?.sent ?? 0 });
    while (this.samples.length > 2 && now - this.samples[0]!.t > 2000) this.samples.shift();
    const first = this.samples[0]!;
    const dt = (now - first.t) / 1000;
    return dt > 0.2 ? ((this.last?.sent ?? 0) - first.sent) / dt : 0;
  }
  private draw() {
    if (!this.last) return;
    const line = renderProgress(this.last, {
      stream: this.stream,
      totalBytes: this.totalBytes,
      recordsPerSecond: this.rate(),
      width: (this.out.columns ?? 80) - 1,
    });
    this.out.write(`\r\x1b[K${line}`);
    this.shown = true;
  }
  clear() {
    if (this.shown) {
      this.out.write("\r\x1b[K");
      this.shown = false;
    }
  }
  done(p: FeedProgress) {
    this.last = { ...p, bytesRead: this.totalBytes ?? p.bytesRead };
    this.draw();
    this.out.write("\n");
    this.shown = false;
  }
  stop() {
    clearInterval(this.timer);
  }
}
