/**
 * The Kinesis sink: a partition's elements into a stream through PutRecords,
 * each record with an id and a hash key that a rerun of the batch gives it
 * again, so consumers can drop the duplicates a rerun puts in.
 *
 * Use it over `foreachPartition` inside `foreachRDD`:
 *
 * ```ts
 * alerts.foreachRDD((rdd, time) => rdd.foreachPartition(kinesisSink({ stream: "alerts", name: "fraud-app", time })));
 * ```
 *
 * The record of element `i` of partition `p` in the batch of time `t` has the id `name/t/p/i`
 * (`recordId`). Its data is, by default, the envelope `{"id": ..., "value": element}` in JSON
 * (`openEnvelope` reads it back); a `data` function may embed the id its own way. Its partition key is
 * the id (or `partitionKey(element)`), and its ExplicitHashKey the MD5 of that partition key as a
 * 128-bit decimal number (`explicitHashKey`): the mapping Kinesis itself applies to partition keys,
 * sent explicitly so the shard a record lands in is fixed by its id.
 *
 * Requests hold at most 500 records and 5 MiB. An answer that fails some records
 * (ProvisionedThroughputExceededException, InternalFailure) has those, and only those, sent again after
 * an exponential backoff with full jitter, up to `maxAttempts` sends per record; then a KinesisSinkError.
 * A whole request that fails is retried by the SDK first, then counts as a failed send of its records.
 */
import { createHash } from "node:crypto";
import { KinesisClient, PutRecordsCommand, type PutRecordsRequestEntry } from "@aws-sdk/client-kinesis";
import { sleep } from "../core/clock.js";
import type { Time } from "../core/duration.js";
import { InvalidArgumentError, SparklessError, describe } from "../core/errors.js";
import { DEFAULT_MAX_RECORD_BYTES, MAX_RECORDS_PER_REQUEST, MAX_REQUEST_BYTES } from "../producer/feed.js";
import { KINESIS_MAX_RECORD_BYTES } from "../producer/lines.js";
import { isRetryableAwsError, THROTTLED } from "../observability/aws-errors.js";
import { batchTimeOf, clientConfigFromEnv, type PartitionWriter } from "./clients.js";

export interface KinesisSinkOptions<T> {
  /** The stream's name, or its ARN. */
  readonly stream: string;
  /**
   * The sink's name, the first part of every record id: the same across reruns and deployments of the
   * app, and different for two sinks writing to one stream (the app's name, say). 1 to 128 of
   * A-Z a-z 0-9 _ . -
   */
  readonly name: string;
  /** The batch time, the `time` that `foreachRDD` passes (a `Time`, or its milliseconds). */
  readonly time: Time | number;
  /**
   * A record's data, from its element and id. It must carry the id (or something a consumer derives it
   * from) for consumers to drop duplicates, and be deterministic.
   * @default the UTF-8 JSON `{"id": id, "value": element}` (elements must be JSON-serializable)
   */
  readonly data?: (element: T, id: string) => Uint8Array | string;
  /**
   * A record's partition key (1 to 256 characters), when records of one key should share a shard; the
   * hash key is then derived from it, and a record's shard from its key rather than its id.
   * @default the record id
   */
  readonly partitionKey?: (element: T, id: string) => string;
  /** The client to write with. @default one client per process, built from the environment (see `kinesisClientConfigFromEnv`) */
  readonly client?: KinesisClient;
  /** Sends of one record, its first included, before the sink gives up with a KinesisSinkError. 1 to 100. @default 10 */
  readonly maxAttempts?: number;
  /** First backoff ceiling before a record is sent again; it doubles per round up to `maxDelayMs`. @default 100 */
  readonly baseDelayMs?: number;
  /** @default 5000 */
  readonly maxDelayMs?: number;
  /**
   * Largest record, data plus partition key. A larger one fails the partition before anything is sent.
   * Raise it (up to 10 MiB) only for a stream whose MaxRecordSizeInKiB allows it. @default 1 MiB
   */
  readonly maxRecordBytes?: number;
  /** Called once per partition written. */
  readonly onResult?: (result: KinesisSinkResult) => void;
}

/** What the sink did with one partition. */
export interface KinesisSinkResult {
  readonly stream: string;
  readonly batchTime: number;
  readonly partition: number;
  /** Records put (each once, whatever its retries). */
  readonly records: number;
  /** PutRecords requests sent. */
  readonly requests: number;
  /** Record sends repeated after a failed entry or a failed request. */
  readonly retried: number;
  /** Failed entries or requests that were throttling (ProvisionedThroughputExceededException, ...). */
  readonly throttled: number;
}

/** A record that could not be put. */
export interface FailedRecord {
  readonly id: string;
  /** The last error: an entry's ErrorCode, or a failed request's error name. */
  readonly errorCode: string;
  readonly errorMessage: string;
}

/**
 * Records that still failed after `maxAttempts` sends, or a request Kinesis refused (a stream that does
 * not exist, access denied). The batch's output fails and runs again when the batch does: records
 * already put are put again, with the same ids and hash keys.
 */
export class KinesisSinkError extends SparklessError {
  constructor(
    message: string,
    readonly stream: string,
    readonly batchTime: number,
    readonly partition: number,
    /** Records of the partition put before the sink stopped. */
    readonly sent: number,
    readonly failed: readonly FailedRecord[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const SINK_NAME = /^[A-Za-z0-9_.-]{1,128}$/;
const STREAM_NAME = /^[A-Za-z0-9_.-]{1,128}$/;
const STREAM_ARN = /^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:\d{12}:stream\/[A-Za-z0-9_.-]{1,128}$/;
/** The id of the record of element `index` of partition `partition` in the batch of time `batchTime`. */
export function recordId(name: string, batchTime: number, partition: number, index: number): string {
  return `${name}/${batchTime}/${partition}/${index}`;
}

/** The ExplicitHashKey of a partition key: its MD5 as an unsigned 128-bit decimal number, as Kinesis maps keys to shards. */
export function explicitHashKey(partitionKey: string): string {
  return BigInt(`0x${createHash("md5").update(partitionKey, "utf8").digest("hex")}`).toString(10);
}

/** Reads the default envelope back: the record id and the element. */
export function openEnvelope(data: Uint8Array | string): { id: string; value: unknown } {
  const text = typeof data === "string" ? data : new TextDecoder().decode(data);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new InvalidArgumentError(
      `Expected a kinesisSink envelope ({"id": ..., "value": ...} in JSON), got \`${text.slice(0, 100)}\`, which is not JSON. Records written with a \`data\` function carry their id the way it chose.`,
      { cause: e },
    );
  }
  const id = (parsed as { id?: unknown } | null)?.id;
  if (parsed === null || typeof parsed !== "object" || typeof id !== "string") {
    throw new InvalidArgumentError(
      `Expected a kinesisSink envelope ({"id": ..., "value": ...} in JSON), got \`${text.slice(0, 100)}\`: no string \`id\`.`,
    );
  }
  return { id, value: (parsed as { value?: unknown }).value };
}

interface Pending {
  readonly id: string;
  readonly entry: PutRecordsRequestEntry;
  readonly size: number;
  attempts: number;
  lastCode: string;
  lastMessage: string;
}

const utf8 = new TextEncoder();

/**
 * Returns the function `rdd.foreachPartition` calls: it puts one record per element into `stream` and
 * resolves once Kinesis has accepted every one.
 *
 * Guarantee after a worker dies mid-write: at-least-once with deterministic ids. Its task runs again
 * (after a coordinator dies, the whole batch does) and puts its records again, so a consumer may read a record twice (or more); every copy carries the
 * same id, data and hash key (hence lands in the same shard), given deterministic elements, `data` and
 * `partitionKey`. Consumers dedupe by id. Records of one partition are sent in order, but a retried
 * record lands after records sent after it.
 *
 * Options are checked here, before anything is sent: a bad one throws an InvalidArgumentError.
 */
export function kinesisSink<T>(options: KinesisSinkOptions<T>): PartitionWriter<T> {
  const o = checkOptions(options);
  return async (items, partition) => {
    const client = options.client ?? defaultClient();
    // Every record is built and checked first: a bad element sends nothing of its partition.
    const pending: Pending[] = [];
    let index = 0;
    for (const element of items) pending.push(buildRecord(element, partition, index++, o));
    const stats = { records: 0, requests: 0, retried: 0, throttled: 0 };
    for (const chunk of chunks(pending)) await sendChunk(client, chunk, partition, o, stats);
    options.onResult?.({ stream: o.stream, batchTime: o.batchTime, partition, ...stats });
  };
}

interface Checked<T> {
  readonly stream: string;
  readonly target: { StreamName: string } | { StreamARN: string };
  readonly name: string;
  readonly batchTime: number;
  readonly data: (element: T, id: string) => Uint8Array | string;
  readonly partitionKey: ((element: T, id: string) => string) | undefined;
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly maxRecordBytes: number;
}

const envelope = (element: unknown, id: string): string => JSON.stringify({ id, value: element });

function checkOptions<T>(options: KinesisSinkOptions<T>): Checked<T> {
  if (options === null || typeof options !== "object") {
    throw new InvalidArgumentError(`Expected kinesisSink options { stream, name, time }, got \`${describe(options)}\`.`);
  }
  const { stream, name, time } = options;
  const isArn = typeof stream === "string" && stream.startsWith("arn:");
  if (typeof stream !== "string" || !(isArn ? STREAM_ARN.test(stream) : STREAM_NAME.test(stream))) {
    throw new InvalidArgumentError(
      `Expected \`stream\` to be a Kinesis stream name (1 to 128 of A-Z a-z 0-9 _ . -) or a stream ARN, got \`${describe(stream)}\`. Pass the name of an existing stream.`,
    );
  }
  if (typeof name !== "string" || !SINK_NAME.test(name)) {
    throw new InvalidArgumentError(
      `Expected \`name\` to be 1 to 128 of A-Z a-z 0-9 _ . - (it starts every record id, "name/batchTime/partition/index"), got \`${describe(name)}\`. Use the app's name, or one name per sink.`,
    );
  }
  const batchTime = batchTimeOf(time);
  if (typeof batchTime !== "number" || !Number.isSafeInteger(batchTime) || batchTime < 0) {
    throw new InvalidArgumentError(
      `Expected \`time\` to be the batch time (the Time that foreachRDD passes, or whole milliseconds >= 0), got \`${describe(time)}\`. Pass foreachRDD's second argument: foreachRDD((rdd, time) => rdd.foreachPartition(kinesisSink({ ..., time }))).`,
    );
  }
  for (const f of ["data", "partitionKey", "onResult"] as const) {
    if (options[f] !== undefined && typeof options[f] !== "function") {
      throw new InvalidArgumentError(`Expected \`${f}\` to be a function, got \`${describe(options[f])}\`.`);
    }
  }
  const int = (field: string, value: number, min: number, max: number, what: string): number => {
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new InvalidArgumentError(`Expected \`${field}\` to be a whole number from ${min} to ${max}, got \`${describe(value)}\`. It is ${what}.`);
    }
    return value;
  };
  const maxAttempts = int("maxAttempts", options.maxAttempts ?? 10, 1, 100, "the number of sends of one record before the sink gives up");
  const baseDelayMs = int("baseDelayMs", options.baseDelayMs ?? 100, 0, 60_000, "the first backoff ceiling, in milliseconds");
  const maxDelayMs = int(
    "maxDelayMs",
    options.maxDelayMs ?? 5_000,
    baseDelayMs,
    300_000,
    "the largest backoff ceiling, in milliseconds, at least `baseDelayMs`",
  );
  const maxRecordBytes = int(
    "maxRecordBytes",
    options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES,
    1,
    KINESIS_MAX_RECORD_BYTES,
    "the largest record (data plus partition key) in bytes; Kinesis allows 1 MiB unless the stream's MaxRecordSizeInKiB is raised",
  );
  if (options.client !== undefined && typeof (options.client as { send?: unknown })?.send !== "function") {
    throw new InvalidArgumentError(
      `Expected \`client\` to be a KinesisClient, got \`${describe(options.client)}\`. Leave it out to use a client built from the environment.`,
    );
  }
  return {
    stream,
    target: isArn ? { StreamARN: stream } : { StreamName: stream },
    name,
    batchTime,
    data: options.data ?? envelope,
    partitionKey: options.partitionKey,
    maxAttempts,
    baseDelayMs,
    maxDelayMs,
    maxRecordBytes,
  };
}

function buildRecord<T>(element: T, partition: number, index: number, o: Checked<T>): Pending {
  const id = recordId(o.name, o.batchTime, partition, index);
  let raw: unknown;
  try {
    raw = o.data(element, id);
  } catch (e) {
    throw new InvalidArgumentError(
      `The data of record ${id} could not be made: ${(e as Error)?.message ?? String(e)}. ${o.data === envelope ? "The default envelope is JSON: map elements to JSON-serializable values (no BigInt, no cycles), or pass a `data` function." : "Fix the `data` function."}`,
      { cause: e },
    );
  }
  if (typeof raw !== "string" && !(raw instanceof Uint8Array)) {
    throw new InvalidArgumentError(
      `Expected \`data\` to return a string or a Uint8Array for record ${id}, got \`${describe(raw)}\`. Return the record's bytes, with its id in them.`,
    );
  }
  const data = typeof raw === "string" ? utf8.encode(raw) : raw;
  const key = o.partitionKey ? o.partitionKey(element, id) : id;
  if (typeof key !== "string" || key.length < 1 || key.length > 256) {
    throw new InvalidArgumentError(`Expected \`partitionKey\` to return 1 to 256 characters for record ${id}, got \`${describe(key)}\`.`);
  }
  const size = data.byteLength + utf8.encode(key).byteLength;
  if (size > o.maxRecordBytes) {
    throw new InvalidArgumentError(
      `Record ${id} is ${size} bytes (data plus partition key), over the limit of ${o.maxRecordBytes} bytes per record (\`maxRecordBytes\`). ` +
        `Make the element smaller or split it into several, or raise \`maxRecordBytes\` (up to ${KINESIS_MAX_RECORD_BYTES}) for a stream whose MaxRecordSizeInKiB allows it.`,
    );
  }
  return { id, entry: { Data: data, PartitionKey: key, ExplicitHashKey: explicitHashKey(key) }, size, attempts: 0, lastCode: "", lastMessage: "" };
}

/** Consecutive runs of at most 500 records and 5 MiB (a record alone larger than 5 MiB goes on its own). */
function* chunks(records: Pending[]): Generator<Pending[]> {
  let chunk: Pending[] = [];
  let bytes = 0;
  for (const r of records) {
    if (chunk.length && (chunk.length >= MAX_RECORDS_PER_REQUEST || bytes + r.size > MAX_REQUEST_BYTES)) {
      yield chunk;
      chunk = [];
      bytes = 0;
    }
    chunk.push(r);
    bytes += r.size;
  }
  if (chunk.length) yield chunk;
}

/** Besides what the feed retries: an engine not answering yet, and HTTP 429. */
const isRetryable = (e: unknown) => isRetryableAwsError(e, { codes: ["ECONNREFUSED"], statuses: [429] });

/** Sends one chunk until every record is in, retrying only the failed ones. */
async function sendChunk<T>(
  client: KinesisClient,
  chunk: Pending[],
  partition: number,
  o: Checked<T>,
  stats: { records: number; requests: number; retried: number; throttled: number },
): Promise<void> {
  let todo = chunk;
  for (let round = 1; todo.length; round++) {
    // Full jitter: retries of many partitions (or apps) against one shard do not fall in step.
    if (round > 1) await sleep(Math.random() * Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** (round - 2)));
    for (const p of todo) p.attempts++;
    let failed: Pending[] = [];
    try {
      stats.requests++;
      const res = await client.send(new PutRecordsCommand({ ...o.target, Records: todo.map((p) => p.entry) }));
      const results = res.Records ?? [];
      todo.forEach((p, i) => {
        const r = results[i];
        if (r && !r.ErrorCode) {
          stats.records++;
        } else {
          p.lastCode = r?.ErrorCode ?? "NoResult";
          p.lastMessage = r?.ErrorMessage ?? (r ? "" : "the answer had no result for this record");
          if (THROTTLED.test(p.lastCode)) stats.throttled++;
          failed.push(p);
        }
      });
    } catch (e) {
      const err = e as Error;
      if (!isRetryable(e)) {
        throw new KinesisSinkError(
          `PutRecords into stream ${o.stream} failed (batch ${o.batchTime}, partition ${partition}): ${err?.name ?? "Error"}: ${err?.message ?? String(e)}. ${fixFor(err, o.stream)} ` +
            `${stats.records} record(s) of the partition were put; when the batch runs again they are put again with the same ids.`,
          o.stream,
          o.batchTime,
          partition,
          stats.records,
          todo.map((p) => ({ id: p.id, errorCode: err?.name ?? "Error", errorMessage: err?.message ?? String(e) })),
          { cause: e },
        );
      }
      if (THROTTLED.test(err?.name ?? "")) stats.throttled++;
      for (const p of todo) {
        p.lastCode = err?.name ?? "Error";
        p.lastMessage = err?.message ?? String(e);
      }
      failed = todo;
    }
    const out = failed.filter((p) => p.attempts >= o.maxAttempts);
    if (out.length) {
      const first = out[0]!;
      throw new KinesisSinkError(
        `${out.length} record(s) of stream ${o.stream} still failed after ${o.maxAttempts} sends (batch ${o.batchTime}, partition ${partition}; ` +
          `${first.id}: ${first.lastCode}${first.lastMessage ? `: ${first.lastMessage}` : ""}). ${stats.records} record(s) of the partition were put. ` +
          `Add shards to the stream (or use on-demand capacity), or raise \`maxAttempts\`; when the batch runs again its records are put again with the same ids.`,
        o.stream,
        o.batchTime,
        partition,
        stats.records,
        failed.map((p) => ({ id: p.id, errorCode: p.lastCode, errorMessage: p.lastMessage })),
      );
    }
    stats.retried += failed.length;
    todo = failed;
  }
}

function fixFor(e: Error | undefined, stream: string): string {
  switch (e?.name) {
    case "ResourceNotFoundException":
      return `Create stream ${stream}, or check \`stream\` and the region (AWS_REGION) the client uses.`;
    case "AccessDeniedException":
    case "UnrecognizedClientException":
      return `Grant the function kinesis:PutRecords on the stream (with the CDK construct: stream.grantWrite(app.coordinatorRole) and app.workerRole), or check the credentials.`;
    default:
      return "Kinesis refused the request: check the stream's state and the records.";
  }
}

const defaults = new Map<string, KinesisClient>();

/** One client per process and configuration: a sink is made per batch, its client is not. */
function defaultClient(): KinesisClient {
  const config = kinesisClientConfigFromEnv();
  const id = `${config.endpoint ?? ""}|${config.region ?? ""}`;
  let client = defaults.get(id);
  if (!client) {
    client = new KinesisClient(config);
    defaults.set(id, client);
  }
  return client;
}

/**
 * The configuration of the client a sink builds when none is given: as `dynamoDbClientConfigFromEnv`,
 * with SPARKLESS_KINESIS_ENDPOINT and AWS_ENDPOINT_URL_KINESIS, HTTP/1.1, and 8 attempts per request.
 */
export function kinesisClientConfigFromEnv(env: NodeJS.ProcessEnv = process.env) {
  return clientConfigFromEnv("KINESIS", env, 8);
}
