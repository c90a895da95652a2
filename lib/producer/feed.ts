/**
 * Feeding Kinesis: records to a stream through PutRecords, within the API's
 * limits, retrying only what failed.
 *
 *  - A request holds at most 500 records and 5 MiB (data and partition keys);
 *    a record at most 1 MiB, or the stream's MaxRecordSizeInKiB when it allows more.
 *  - A PutRecords answer may fail some records (ProvisionedThroughputExceededException,
 *    InternalFailure): those, and only those, are sent again, after an exponential
 *    backoff with full jitter. A whole request that fails with a retryable error
 *    (throttling, 5xx, a dropped connection) is sent again the same way.
 *  - Bad input (a record over the size limit, a record that is not JSON in JSON mode,
 *    a missing partition-key field, an InvalidInput from a reader: a line that is not
 *    base64, say) is reported with its position and skipped, or, with `strict`, fails
 *    the feed. Nothing is ever truncated, and bytes are sent as they are given.
 *  - An optional rate limit (records per second) paces the requests.
 *
 * Order: records of one partition key keep their input order unless some are
 * retried (a retried record lands after the ones that went in the first time),
 * as with any PutRecords client; `concurrency` above 1 can also interleave requests.
 */
import { randomUUID } from "node:crypto";
import { DescribeStreamSummaryCommand, PutRecordsCommand, type KinesisClient, type PutRecordsRequestEntry } from "@aws-sdk/client-kinesis";
import { explainAwsError, isRetryableAwsError, OperatorError, THROTTLED } from "../observability/aws-errors.js";

export const MAX_RECORDS_PER_REQUEST = 500;
export const MAX_REQUEST_BYTES = 5 * 1024 * 1024;
export const DEFAULT_MAX_RECORD_BYTES = 1024 * 1024;
const MAX_PARTITION_KEY_CHARS = 256;

/** How each record's partition key is chosen. */
export type PartitionKeyChoice =
  | { kind: "random" }
  /** A field of the JSON record (dots for nested fields: "user.id"). */
  | { kind: "field"; field: string }
  | { kind: "fixed"; key: string }
  /** Each record's own key, by its 1-based position in the input (a replay puts records back with theirs). */
  | { kind: "each"; key: (position: number) => string };

/**
 * One input: a line of text (sent as its UTF-8 bytes; a blank line is skipped), raw bytes (sent exactly
 * as they are, an empty array as a record of 0 bytes, which Kinesis accepts), or a value sent as JSON.
 */
export type FeedInput = string | Uint8Array | Record<string, unknown> | unknown[] | number | boolean | null | InvalidInput;

/**
 * An input a reader could not turn into a record (a line that is not base64, a frame cut short),
 * reported like any bad input: skipped, or the feed fails under `strict`. A `fatal` one ends the
 * feed whatever `strict` says (nothing after it can be read): everything before it is sent first.
 */
export class InvalidInput {
  constructor(
    readonly reason: string,
    readonly fatal = false,
  ) {}
}

export interface SkippedRecord {
  /** 1-based position in the input (the line number for a file). */
  readonly line: number;
  readonly reason: string;
}

export interface FeedProgress {
  /** Inputs read so far (lines, blank ones included). */
  readonly read: number;
  /** Bytes of input read (lines plus their newline). */
  readonly bytesRead: number;
  /** Records Kinesis accepted. */
  readonly sent: number;
  /** Data bytes Kinesis accepted. */
  readonly bytesSent: number;
  readonly skipped: number;
  readonly blank: number;
  /** Record sends repeated after a failed entry or a failed request. */
  readonly retried: number;
  /** Entries or requests that failed with ProvisionedThroughputExceededException / throttling. */
  readonly throttled: number;
  readonly requests: number;
  readonly elapsedMs: number;
}

export interface FeedResult extends FeedProgress {
  /** The skipped records (the first 1,000). */
  readonly skippedRecords: SkippedRecord[];
  readonly maxRecordBytes: number;
}

export interface FeedOptions {
  client: KinesisClient;
  stream: string;
  records: Iterable<FeedInput> | AsyncIterable<FeedInput>;
  /** Strings and bytes are JSON records: each must parse (it is sent as written); needed for a field partition key. */
  json?: boolean;
  /** @default random */
  partitionKey?: PartitionKeyChoice;
  /**
   * Each record's explicit hash key by its 1-based position, if it has one: it picks the record's shard
   * instead of the partition key's hash (a replay puts KPL user records back where their producer sent them).
   */
  explicitHashKey?: (position: number) => string | undefined;
  /** Records per second at most. */
  ratePerSecond?: number;
  /** Fail on the first bad input instead of skipping it. */
  strict?: boolean;
  /** Largest record (data plus partition key). Default: the stream's MaxRecordSizeInKiB, else 1 MiB. */
  maxRecordBytes?: number;
  /** Ask the stream for its record limit (and check that it exists) first. @default true */
  describeStream?: boolean;
  /** Sends of one record before the feed fails. @default 10 */
  maxAttempts?: number;
  /** First backoff ceiling; doubles per attempt up to maxDelayMs. @default 100 */
  baseDelayMs?: number;
  /** @default 5000 */
  maxDelayMs?: number;
  /** Requests in flight. More is faster; retries and concurrency can reorder records of a key. @default 1 */
  concurrency?: number;
  /** A partly filled request is sent when no input arrived for this long. @default 200 */
  lingerMs?: number;
  onProgress?: (p: FeedProgress) => void;
  onSkip?: (s: SkippedRecord) => void;
  /** Names the input at a 1-based position in messages. @default "line N" */
  where?: (position: number) => string;
  /** Bytes of input read so far, when the reader counts them (a file read in a binary format); else counted from the inputs. */
  inputBytes?: () => number;
  signal?: AbortSignal;
  /** For tests: the jitter source and the sleep. */
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** A feed that stopped: bad input under `strict`, a record out of attempts, or an error that names its fix. */
export class FeedError extends OperatorError {
  constructor(
    message: string,
    readonly progress: FeedProgress,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

interface Pending {
  readonly line: number;
  readonly entry: PutRecordsRequestEntry;
  /** Data plus partition key bytes. */
  readonly size: number;
  attempts: number;
  lastError?: string;
}

const defaultSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (ms <= 0) return resolve();
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });

function fieldOf(value: unknown, path: string): unknown {
  let v = value;
  for (const part of path.split(".")) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export async function feed(options: FeedOptions): Promise<FeedResult> {
  const { client, stream } = options;
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? ((ms: number) => defaultSleep(ms, options.signal));
  const maxAttempts = options.maxAttempts ?? 10;
  const baseDelay = options.baseDelayMs ?? 100;
  const maxDelay = options.maxDelayMs ?? 5000;
  const concurrency = Math.max(1, options.concurrency ?? 1);
  const lingerMs = options.lingerMs ?? 200;
  const where = options.where ?? ((position: number) => `line ${position}`);
  const keyChoice = options.partitionKey ?? { kind: "random" };
  const rate = options.ratePerSecond;
  if (rate !== undefined && !(rate > 0)) throw new OperatorError(`The rate must be > 0 records per second, got ${rate}.`);
  if (keyChoice.kind === "fixed" && (keyChoice.key.length < 1 || keyChoice.key.length > MAX_PARTITION_KEY_CHARS)) {
    throw new OperatorError(`A partition key has 1 to 256 characters; "${keyChoice.key.slice(0, 40)}" has ${keyChoice.key.length}.`);
  }
  // With a rate, requests are small and frequent (about 10 a second) rather than one burst a second.
  const recordsPerRequest = rate ? Math.max(1, Math.min(MAX_RECORDS_PER_REQUEST, Math.ceil(rate / 10))) : MAX_RECORDS_PER_REQUEST;

  const started = Date.now();
  const stats = { read: 0, bytesRead: 0, sent: 0, bytesSent: 0, skipped: 0, blank: 0, retried: 0, throttled: 0, requests: 0 };
  const skippedRecords: SkippedRecord[] = [];
  const progress = (): FeedProgress => ({
    ...stats,
    ...(options.inputBytes ? { bytesRead: options.inputBytes() } : {}),
    elapsedMs: Date.now() - started,
  });
  const report = () => options.onProgress?.(progress());
  const ctx = { stream, command: "sparkless feed", endpoint: undefined as string | undefined };
  const endpointOf = async () => {
    try {
      const ep = await client.config.endpoint?.();
      return ep ? `${ep.protocol}//${ep.hostname}${ep.port ? `:${ep.port}` : ""}${ep.path ?? ""}`.replace(/\/$/, "") : undefined;
    } catch {
      return undefined;
    }
  };
  ctx.endpoint = await endpointOf();

  let maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  if (options.describeStream !== false) {
    try {
      const d = await client.send(new DescribeStreamSummaryCommand({ StreamName: stream }), { abortSignal: options.signal });
      const kib = d.StreamDescriptionSummary?.MaxRecordSizeInKiB;
      if (options.maxRecordBytes === undefined && typeof kib === "number" && kib * 1024 > maxRecordBytes) maxRecordBytes = kib * 1024;
    } catch (e) {
      throw explainAwsError(e, ctx);
    }
  }

  let strictStop: SkippedRecord | undefined;
  const skip = (line: number, reason: string) => {
    const s = { line, reason };
    if (options.strict) {
      strictStop = s;
      return;
    }
    stats.skipped++;
    if (skippedRecords.length < 1000) skippedRecords.push(s);
    options.onSkip?.(s);
  };

  /** The entry for one input, or undefined when it is skipped. */
  const toPending = (input: FeedInput, line: number): Pending | undefined => {
    let data: Uint8Array;
    let parsed: unknown;
    let hasParsed = false;
    if (input instanceof InvalidInput) {
      if (input.fatal) strictStop = { line, reason: input.reason };
      else skip(line, input.reason);
      return undefined;
    }
    if (typeof input === "string") {
      if (input.trim() === "") {
        stats.blank++;
        return undefined;
      }
      if (options.json) {
        try {
          parsed = JSON.parse(input);
          hasParsed = true;
        } catch (e) {
          skip(line, `not JSON (${(e as Error).message})`);
          return undefined;
        }
      }
      data = utf8.encode(input);
    } else if (input instanceof Uint8Array) {
      data = input;
      if (options.json) {
        let text: string;
        try {
          text = strictUtf8.decode(input);
        } catch {
          skip(line, "not JSON (not valid UTF-8)");
          return undefined;
        }
        try {
          parsed = JSON.parse(text);
          hasParsed = true;
        } catch (e) {
          skip(line, `not JSON (${(e as Error).message})`);
          return undefined;
        }
      }
    } else {
      parsed = input;
      hasParsed = true;
      data = utf8.encode(JSON.stringify(input));
    }
    let key: string;
    if (keyChoice.kind === "fixed") key = keyChoice.key;
    else if (keyChoice.kind === "random") key = randomUUID();
    else if (keyChoice.kind === "each") {
      key = keyChoice.key(line);
      if (key.length < 1 || key.length > MAX_PARTITION_KEY_CHARS) {
        skip(line, `its partition key has ${key.length} characters (1 to 256 allowed)`);
        return undefined;
      }
    } else {
      if (!hasParsed) {
        skip(line, `a partition key from field "${keyChoice.field}" needs JSON records (--json)`);
        return undefined;
      }
      const v = fieldOf(parsed, keyChoice.field);
      if (v === undefined || v === null || typeof v === "object") {
        skip(line, `no field "${keyChoice.field}" (string or number) for the partition key`);
        return undefined;
      }
      key = String(v);
      if (key.length < 1 || key.length > MAX_PARTITION_KEY_CHARS) {
        skip(line, `the partition key from "${keyChoice.field}" has ${key.length} characters (1 to 256 allowed)`);
        return undefined;
      }
    }
    const size = data.byteLength + utf8.encode(key).byteLength;
    if (size > maxRecordBytes) {
      skip(line, `record of ${formatBytes(size)} is over the ${formatBytes(maxRecordBytes)} limit per record`);
      return undefined;
    }
    const hashKey = options.explicitHashKey?.(line);
    return { line, entry: { Data: data, PartitionKey: key, ...(hashKey !== undefined ? { ExplicitHashKey: hashKey } : {}) }, size, attempts: 0 };
  };

  const backoff = (attempt: number) => random() * Math.min(maxDelay, baseDelay * 2 ** (attempt - 1));

  let admitted = 0;
  /** Waits until the rate allows `n` more records. */
  const pace = async (n: number) => {
    if (!rate) return;
    const due = started + (admitted / rate) * 1000;
    admitted += n;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
  };

  /** Sends one request's records until every one is in, retrying only the failed ones. */
  const sendBatch = async (batch: Pending[]) => {
    let todo = batch;
    let round = 0;
    while (todo.length) {
      if (options.signal?.aborted) throw new FeedError(`stopped: ${stats.sent} records sent.`, progress());
      if (round > 0) await sleep(backoff(round));
      round++;
      for (const p of todo) p.attempts++;
      let failed: Pending[] = [];
      try {
        stats.requests++;
        const res = await client.send(new PutRecordsCommand({ StreamName: stream, Records: todo.map((p) => p.entry) }), {
          abortSignal: options.signal,
        });
        const results = res.Records ?? [];
        todo.forEach((p, i) => {
          const r = results[i];
          if (r && !r.ErrorCode) {
            stats.sent++;
            stats.bytesSent += p.entry.Data!.byteLength;
          } else {
            p.lastError = r?.ErrorCode ? `${r.ErrorCode}${r.ErrorMessage ? `: ${r.ErrorMessage}` : ""}` : "no result for this record";
            if (THROTTLED.test(r?.ErrorCode ?? "")) stats.throttled++;
            failed.push(p);
          }
        });
      } catch (e) {
        if (!isRetryableAwsError(e)) throw explainAwsError(e, ctx);
        if (THROTTLED.test((e as Error).name ?? "")) stats.throttled++;
        for (const p of todo) p.lastError = `${(e as Error).name}: ${(e as Error).message}`;
        failed = todo;
      }
      const out = failed.filter((p) => p.attempts >= maxAttempts);
      if (out.length) {
        throw new FeedError(
          `${out.length} record(s) still failed after ${maxAttempts} attempts (${where(out[0]!.line)}: ${out[0]!.lastError}). ` +
            `${stats.sent} records were sent. Lower the rate (--rate) or add shards to stream ${stream}, then feed the rest again.`,
          progress(),
        );
      }
      stats.retried += failed.length;
      todo = failed;
      report();
    }
    report();
  };

  // Up to `concurrency` requests in flight; the first error stops the feed.
  const inFlight = new Set<Promise<void>>();
  let firstError: unknown;
  const launch = async (batch: Pending[]) => {
    while (inFlight.size >= concurrency) await Promise.race(inFlight);
    if (firstError) throw firstError;
    await pace(batch.length);
    const p: Promise<void> = sendBatch(batch)
      .catch((e) => {
        firstError ??= e;
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };

  let batch: Pending[] = [];
  let batchBytes = 0;
  const flush = async () => {
    if (!batch.length) return;
    const b = batch;
    batch = [];
    batchBytes = 0;
    await launch(b);
  };

  const source = options.records as AsyncIterable<FeedInput> & Iterable<FeedInput>;
  const iterator: AsyncIterator<FeedInput> | Iterator<FeedInput> =
    typeof source[Symbol.asyncIterator] === "function" ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
  let line = 0;
  try {
    for (;;) {
      if (firstError) throw firstError;
      if (options.signal?.aborted) break;
      const next = iterator.next() as Promise<IteratorResult<FeedInput>> | IteratorResult<FeedInput>;
      // A slow source (a pipe) must not hold a partly filled request back.
      if (batch.length && next instanceof Promise) {
        let timer: NodeJS.Timeout | undefined;
        const lingered = await Promise.race([
          next.then(() => false),
          new Promise<boolean>((r) => {
            timer = setTimeout(() => r(true), lingerMs);
          }),
        ]);
        clearTimeout(timer);
        if (lingered) await flush();
      }
      const r = await next;
      if (r.done) break;
      line++;
      stats.read++;
      const input = r.value;
      stats.bytesRead += typeof input === "string" ? Buffer.byteLength(input) + 1 : input instanceof Uint8Array ? input.byteLength : 0;
      const p = toPending(input, line);
      if (strictStop) {
        // Everything before the bad record goes in; nothing from it on.
        await flush();
        await Promise.all(inFlight);
        if (firstError) throw firstError;
        const at = where(strictStop.line);
        const why = options.strict ? " (--strict; without it such records are skipped)" : "";
        throw new FeedError(`${at}: ${strictStop.reason}. Every record before ${at} was sent, none from it on${why}.`, progress());
      }
      if (!p) continue;
      if (batch.length >= recordsPerRequest || batchBytes + p.size > MAX_REQUEST_BYTES) await flush();
      batch.push(p);
      batchBytes += p.size;
    }
    await flush();
    await Promise.all(inFlight);
    if (firstError) throw firstError;
  } catch (e) {
    await Promise.allSettled(inFlight);
    await (iterator as AsyncIterator<FeedInput>).return?.();
    if (e instanceof FeedError) throw e;
    const explained = explainAwsError(e, ctx);
    throw explained instanceof OperatorError ? new FeedError(explained.message, progress(), { cause: e }) : e;
  }
  const result: FeedResult = { ...progress(), skippedRecords, maxRecordBytes };
  options.onProgress?.(result);
  return result;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10 * 1024 ? 1 : 0)} KiB`;
  return `${(n / 1024 / 1024).toFixed(n < 10 * 1024 * 1024 ? 2 : 1)} MiB`;
}
