/**
 * `sparkless feed`: sends the lines of a file (or stdin) to a Kinesis stream.
 * A progress bar with records per second in a terminal, a summary line when piped.
 */
import { parseArgs } from "node:util";
import { KinesisClient } from "@aws-sdk/client-kinesis";
import { feed, formatBytes, type FeedProgress, type PartitionKeyChoice } from "../producer/feed.js";
import { inputSize, readLines } from "../producer/lines.js";
import { positiveNumber, resolveTarget, UsageError, type CliIo } from "../observability/target.js";

export const FEED_HELP = `sparkless feed: send lines (or JSON records) to a Kinesis stream

Usage:
  sparkless feed --stream NAME [FILE | -] [options]

Reads FILE (or standard input for - or no FILE) line by line and sends each non-blank line as one
record through PutRecords: up to 500 records and 5 MiB a request, 1 MiB a record (more when the
stream allows it). Records that Kinesis refuses (throttling) are sent again, and only those, with
backoff and jitter. A record over the limit is reported with its line number and skipped (or the
command fails with --strict); nothing is truncated.

Where it sends: --endpoint URL, else AWS_ENDPOINT_URL, else the \`sparkless local\` running in this
directory (it registers itself in .sparkless/), else AWS with your credentials (--aws forces AWS).

Options:
  --stream NAME        the Kinesis stream (default: the local run's stream when it has one)
  --json               each line is a JSON record; bad JSON is reported like an oversized record
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
  AWS_PROFILE=prod sparkless feed --aws --stream clicks --json clicks.jsonl --strict
`;

export async function feedCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      stream: { type: "string" }, json: { type: "boolean" }, "key-field": { type: "string" }, key: { type: "string" },
      rate: { type: "string" }, strict: { type: "boolean" }, concurrency: { type: "string" }, "max-attempts": { type: "string" },
      endpoint: { type: "string" }, region: { type: "string" }, app: { type: "string" }, aws: { type: "boolean" },
      "no-progress": { type: "boolean" }, help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) { io.stdout.write(FEED_HELP); return 0; }
  if (positionals.length > 1) throw new UsageError(`one input at a time: got ${positionals.join(", ")}. Concatenate them: cat a b | sparkless feed --stream NAME -`);
  if (values["key-field"] && values.key) throw new UsageError("--key-field and --key both choose the partition key: pass one.");
  if (values["key-field"] && !values.json) throw new UsageError("--key-field reads a field of JSON records: add --json.");
  const file = positionals[0];
  const target = resolveTarget({ endpoint: values.endpoint, region: values.region, app: values.app, aws: values.aws, stream: values.stream, cwd: io.cwd, env: io.env });
  let stream = values.stream;
  if (!stream) {
    const streams = target.local?.streams ?? [];
    if (streams.length === 1) stream = streams[0];
    else throw new UsageError(`which stream? pass --stream NAME${streams.length ? ` (the local run reads ${streams.join(", ")})` : ""}.`);
  }
  const partitionKey: PartitionKeyChoice = values["key-field"] ? { kind: "field", field: values["key-field"] } : values.key !== undefined ? { kind: "fixed", key: values.key } : { kind: "random" };
  const rate = positiveNumber("rate", values.rate);
  const concurrency = positiveNumber("concurrency", values.concurrency, true);
  const maxAttempts = positiveNumber("max-attempts", values["max-attempts"], true);
  const records = readLines(file, io.stdin);
  const total = inputSize(file);
  const interactive = !!io.stderr.isTTY && !values["no-progress"];
  const client = new KinesisClient(target.clientConfig("kinesis"));
  const source = file && file !== "-" ? file : "stdin";
  if (interactive) io.stderr.write(`feeding ${source} to stream ${stream} on ${target.description}\n`);
  if (source === "stdin" && (io.stdin as { isTTY?: boolean }).isTTY) io.stderr.write("reading lines from standard input: type them, Ctrl-D to end (or pass a FILE)\n");
  const bar = interactive ? new ProgressBar(io.stderr, stream, total) : undefined;
  try {
    const result = await feed({
      client, stream, records, json: values.json, partitionKey, ratePerSecond: rate, strict: values.strict,
      concurrency, maxAttempts, signal: io.signal,
      onProgress: (p) => bar?.update(p),
      onSkip: (s) => { bar?.clear(); io.stderr.write(`line ${s.line}: skipped: ${s.reason}\n`); },
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
  ].filter(Boolean).join(", ");
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
  constructor(private readonly out: CliIo["stderr"], private readonly stream: string, private readonly totalBytes: number | undefined) {
    this.timer = setInterval(() => this.draw(), 100);
    this.timer.unref();
  }
  update(p: FeedProgress) { this.last = p; }
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
    const line = renderProgress(this.last, { stream: this.stream, totalBytes: this.totalBytes, recordsPerSecond: this.rate(), width: (this.out.columns ?? 80) - 1 });
    this.out.write(`\r\x1b[K${line}`);
    this.shown = true;
  }
  clear() { if (this.shown) { this.out.write("\r\x1b[K"); this.shown = false; } }
  done(p: FeedProgress) { this.last = { ...p, bytesRead: this.totalBytes ?? p.bytesRead }; this.draw(); this.out.write("\n"); this.shown = false; }
  stop() { clearInterval(this.timer); }
}
