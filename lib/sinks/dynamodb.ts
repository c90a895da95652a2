/**
 * The DynamoDB sink: one conditional PutItem per element of a partition,
 * stamped with the batch time, so that writing a batch again is harmless and
 * a batch that runs late never overwrites what a newer batch wrote.
 *
 * Use it over `foreachPartition` inside `foreachRDD`:
 *
 * ```ts
 * counts.foreachRDD((rdd, time) =>
 *   rdd.foreachPartition(dynamoDbSink({ table: "Counts", key: "word", item: ([w, n]) => ({ word: w, count: n }), time })));
 * ```
 *
 * Each put carries `ConditionExpression: attribute_not_exists(#bt) OR #bt <= :bt`
 * (`#bt` the batch-time attribute, `:bt` this batch's time). Why the condition,
 * as a timeline of one key:
 *
 *   t=1  batch 1000 writes {word: "a", count: 1, batchTime: 1000}
 *   t=2  batch 2000 writes {word: "a", count: 5, batchTime: 2000}      1000 <= 2000: written
 *   t=3  batch 1000 runs again (its worker died before the batch was
 *        recorded done) and puts {word: "a", count: 1, batchTime: 1000}
 *        2000 <= 1000 is false: ConditionalCheckFailedException, counted
 *        as skipped; the table keeps the newer value
 *   t=4  batch 2000 runs again: 2000 <= 2000, the same item is rewritten
 *
 * BatchWriteItem would be cheaper but takes no condition, so it could let t=3
 * win; one PutItem per element, a few in flight, is what keeps the guarantee.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { Time } from "../core/duration.js";
import { InvalidArgumentError, SparklessError, describe } from "../core/errors.js";
import { batchTimeOf, clientConfigFromEnv, type PartitionWriter } from "./clients.js";

/** A key attribute's value: DynamoDB keys are strings, numbers or binary. */
export type KeyValue = string | number | Uint8Array;

export interface DynamoDbSinkOptions<T> {
  /** The table's name. It must exist, with `key` as its key schema. */
  readonly table: string;
  /**
   * The table's key attributes: the partition key's name, or `[partitionKey, sortKey]`. Every item
   * must hold them, as a string, number or Uint8Array.
   */
  readonly key: string | readonly [string] | readonly [string, string];
  /**
   * The item an element becomes: key attributes and values, as plain JavaScript (marshalled by
   * `@aws-sdk/lib-dynamodb`; `undefined` attributes are left out). It must be deterministic, so that a
   * rerun of a batch writes the same items.
   */
  readonly item: (element: T) => Record<string, unknown>;
  /** The batch time, the `time` that `foreachRDD` passes (a `Time`, or its milliseconds). */
  readonly time: Time | number;
  /**
   * The attribute holding the time of the batch that wrote the item (a number, in milliseconds).
   * Items must not hold it themselves.
   * @default "batchTime"
   */
  readonly batchTimeAttribute?: string;
  /** PutItem requests in flight per partition, 1 to 100. @default 10 */
  readonly concurrency?: number;
  /**
   * The client to write with: a `DynamoDBClient` or a `DynamoDBDocumentClient`. Its own retry settings
   * apply. @default one client per process, built from the environment (see `dynamoDbClientConfigFromEnv`)
   */
  readonly client?: DynamoDBClient | DynamoDBDocumentClient;
  /**
   * Attempts per PutItem of the client built here, throttling (ProvisionedThroughputExceededException,
   * ThrottlingException) and 5xx answers retried by the SDK with exponential backoff. Ignored with
   * `client`. @default 8
   */
  readonly maxAttempts?: number;
  /** Called once per partition written, with what happened to its elements. */
  readonly onResult?: (result: DynamoDbSinkResult) => void;
}

/** What the sink did with one partition. */
export interface DynamoDbSinkResult {
  readonly table: string;
  readonly batchTime: number;
  readonly partition: number;
  /** Elements in the partition. */
  readonly elements: number;
  /** Items put (new, or replacing one of the same or an older batch). */
  readonly written: number;
  /** Items left alone because a newer batch had written them (the condition failed). */
  readonly skipped: number;
  /** Elements not put because a later element of the partition has the same key (the last one wins). */
  readonly superseded: number;
}

/**
 * A PutItem that failed for a reason other than its condition, after the SDK's retries. The batch's
 * output fails, and runs again when the batch does: items already written are rewritten with the same
 * batch time, so nothing is lost or doubled.
 */
export class DynamoDbSinkError extends SparklessError {
  constructor(
    message: string,
    readonly table: string,
    readonly batchTime: number,
    readonly partition: number,
    /** The key of the first item that failed. */
    readonly key: Readonly<Record<string, KeyValue>>,
    /** Items written in this partition before the sink stopped. */
    readonly written: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;
const MAX_CONCURRENCY = 100;

/**
 * Returns the function `rdd.foreachPartition` calls: it puts one item per element into `table`, each
 * conditional on the batch time, and resolves once every element is written or skipped.
 *
 * Guarantee after a worker dies mid-write: its task runs again (after a coordinator dies, the whole batch
 * does) and the sink rewrites the same items with the same batch time, so the table ends as if the batch had been written once (effectively exactly-once
 * for the final table state); an older batch that runs again never overwrites an item a newer batch
 * wrote. While a batch is being (re)written a reader may see some of its items and not others, and an
 * item written by something other than the sink (no batch-time attribute) is overwritten. Elements of
 * one partition with the same key: only the last is put (the table would end with it anyway). Partitions
 * are written at once (one task each on the workers of a fanned-out batch), so when two partitions hold
 * the same key either may win: keep each key in one partition (the output of `reduceByKey`, or of any
 * keyed operation, does).
 *
 * Options are checked here, before anything is written: a bad one throws an InvalidArgumentError.
 */
export function dynamoDbSink<T>(options: DynamoDbSinkOptions<T>): PartitionWriter<T> {
  const o = checkOptions(options);
  return async (items, partition) => {
    const doc = options.client ? documentClient(options.client) : defaultClient(o.maxAttempts);
    // Items are built and checked before the first put: a bad element writes nothing of its partition.
    const byKey = new Map<string, { item: Record<string, unknown>; key: Record<string, KeyValue> }>();
    let index = 0;
    for (const element of items) {
      const item = o.item(element);
      const key = checkItem(item, element, index++, o);
      const id = keyId(key);
      byKey.delete(id); // a later element of the same key goes last, as a sequential write would leave it
      byKey.set(id, { item: { ...item, [o.batchTimeAttribute]: o.batchTime }, key });
    }
    const puts = [...byKey.values()];
    let written = 0;
    let skipped = 0;
    let failure: { key: Record<string, KeyValue>; error: unknown } | undefined;
    let next = 0;
    const lane = async (): Promise<void> => {
      while (!failure && next < puts.length) {
        const put = puts[next++]!;
        try {
          await doc.send(
            new PutCommand({
              TableName: o.table,
              Item: put.item,
              ConditionExpression: "attribute_not_exists(#bt) OR #bt <= :bt",
              ExpressionAttributeNames: { "#bt": o.batchTimeAttribute },
              ExpressionAttributeValues: { ":bt": o.batchTime },
            }),
          );
          written++;
        } catch (e) {
          if ((e as Error)?.name === "ConditionalCheckFailedException") skipped++;
          else failure ??= { key: put.key, error: e };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(o.concurrency, puts.length) }, lane));
    if (failure) {
      const e = failure.error as Error;
      throw new DynamoDbSinkError(
        `PutItem into table ${o.table} failed for key ${JSON.stringify(failure.key)} (batch ${o.batchTime}, partition ${partition}): ` +
          `${e?.name ?? "Error"}: ${e?.message ?? String(e)}. ${fixFor(e, o)} ${written} item(s) of the partition were written; ` +
          `when the batch runs again they are rewritten with the same batch time.`,
        o.table,
        o.batchTime,
        partition,
        failure.key,
        written,
        { cause: e },
      );
    }
    options.onResult?.({
      table: o.table,
      batchTime: o.batchTime,
      partition,
      elements: items.length,
      written,
      skipped,
      superseded: items.length - puts.length,
    });
  };
}

interface Checked<T> {
  readonly table: string;
  readonly keys: readonly string[];
  readonly item: (element: T) => Record<string, unknown>;
  readonly batchTime: number;
  readonly batchTimeAttribute: string;
  readonly concurrency: number;
  readonly maxAttempts: number;
}

function checkOptions<T>(options: DynamoDbSinkOptions<T>): Checked<T> {
  if (options === null || typeof options !== "object") {
    throw new InvalidArgumentError(`Expected dynamoDbSink options { table, key, item, time }, got \`${describe(options)}\`.`);
  }
  const { table, key, item, time } = options;
  if (typeof table !== "string" || !TABLE_NAME.test(table)) {
    throw new InvalidArgumentError(
      `Expected \`table\` to be a DynamoDB table name (3 to 255 of A-Z a-z 0-9 _ . -), got \`${describe(table)}\`. Pass the name of an existing table.`,
    );
  }
  const keys = typeof key === "string" ? [key] : key;
  if (
    !Array.isArray(keys) ||
    keys.length < 1 ||
    keys.length > 2 ||
    keys.some((k) => typeof k !== "string" || k === "") ||
    new Set(keys).size !== keys.length
  ) {
    throw new InvalidArgumentError(
      `Expected \`key\` to be the table's key attribute names: "pk" or ["pk", "sk"] (1 or 2 distinct non-empty names), got \`${describe(key)}\`. Use the names of the table's key schema.`,
    );
  }
  if (typeof item !== "function") {
    throw new InvalidArgumentError(
      `Expected \`item\` to be a function from an element to its item (key attributes and values), got \`${describe(item)}\`.`,
    );
  }
  const batchTime = batchTimeOf(time);
  if (typeof batchTime !== "number" || !Number.isSafeInteger(batchTime) || batchTime < 0) {
    throw new InvalidArgumentError(
      `Expected \`time\` to be the batch time (the Time that foreachRDD passes, or whole milliseconds >= 0), got \`${describe(time)}\`. Pass foreachRDD's second argument: foreachRDD((rdd, time) => rdd.foreachPartition(dynamoDbSink({ ..., time }))).`,
    );
  }
  const batchTimeAttribute = options.batchTimeAttribute ?? "batchTime";
  if (typeof batchTimeAttribute !== "string" || batchTimeAttribute === "" || keys.includes(batchTimeAttribute)) {
    throw new InvalidArgumentError(
      `Expected \`batchTimeAttribute\` to be a non-empty attribute name other than the key attributes (${keys.join(", ")}), got \`${describe(batchTimeAttribute)}\`. Choose a name the items do not use.`,
    );
  }
  const concurrency = options.concurrency ?? 10;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY) {
    throw new InvalidArgumentError(
      `Expected \`concurrency\` to be a whole number from 1 to ${MAX_CONCURRENCY}, got \`${describe(concurrency)}\`. It is the number of PutItem requests in flight per partition.`,
    );
  }
  const maxAttempts = options.maxAttempts ?? 8;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1 || maxAttempts > 20) {
    throw new InvalidArgumentError(
      `Expected \`maxAttempts\` to be a whole number from 1 to 20, got \`${describe(maxAttempts)}\`. It is the SDK's attempts per PutItem.`,
    );
  }
  if (options.client !== undefined && typeof (options.client as { send?: unknown })?.send !== "function") {
    throw new InvalidArgumentError(
      `Expected \`client\` to be a DynamoDBClient or DynamoDBDocumentClient, got \`${describe(options.client)}\`. Leave it out to use a client built from the environment.`,
    );
  }
  if (options.onResult !== undefined && typeof options.onResult !== "function") {
    throw new InvalidArgumentError(`Expected \`onResult\` to be a function, got \`${describe(options.onResult)}\`.`);
  }
  return { table, keys, item, batchTime, batchTimeAttribute, concurrency, maxAttempts };
}

/** Checks one element's item and returns its key. */
function checkItem<T>(item: unknown, element: T, index: number, o: Checked<T>): Record<string, KeyValue> {
  const where = `element ${index} (${describe(element).slice(0, 100)})`;
  if (item === null || typeof item !== "object" || Array.isArray(item)) {
    throw new InvalidArgumentError(
      `Expected \`item\` to return an object of attributes for ${where}, got \`${describe(item)}\`. Return e.g. { ${o.keys.map((k) => `${k}: ...`).join(", ")}, ... }.`,
    );
  }
  const attrs = item as Record<string, unknown>;
  const key: Record<string, KeyValue> = {};
  for (const name of o.keys) {
    const v = attrs[name];
    const ok = (typeof v === "string" && v !== "") || (typeof v === "number" && Number.isFinite(v)) || (v instanceof Uint8Array && v.byteLength > 0);
    if (!ok) {
      throw new InvalidArgumentError(
        `The item for ${where} has no usable key attribute \`${name}\`: got \`${describe(v)}\`, and a key attribute must be a non-empty string, a finite number or non-empty bytes. ` +
          `Make \`item\` return every key attribute (${o.keys.join(", ")}), or set \`key\` to the table's key schema.`,
      );
    }
    key[name] = v as KeyValue;
  }
  if (o.batchTimeAttribute in attrs) {
    throw new InvalidArgumentError(
      `The item for ${where} holds \`${o.batchTimeAttribute}\`, the attribute the sink writes the batch time to. Rename it in \`item\`, or pass another \`batchTimeAttribute\`.`,
    );
  }
  return key;
}

function keyId(key: Record<string, KeyValue>): string {
  return JSON.stringify(Object.values(key).map((v) => (v instanceof Uint8Array ? ["B", Buffer.from(v).toString("base64")] : [typeof v, v])));
}

function fixFor(e: Error | undefined, o: { readonly table: string; readonly keys: readonly string[] }): string {
  switch (e?.name) {
    case "ResourceNotFoundException":
      return `Create table ${o.table}, or check \`table\` and the region (AWS_REGION) the client uses.`;
    case "ValidationException":
      return `Check that \`key\` (${o.keys.join(", ")}) is the table's key schema with the same types, and that items stay under 400 KB.`;
    case "AccessDeniedException":
    case "UnrecognizedClientException":
      return `Grant the function dynamodb:PutItem on the table (with the CDK construct: table.grantWriteData(app.coordinatorRole) and app.workerRole), or check the credentials.`;
    default:
      return "Throttling and 5xx answers were retried by the SDK first; raise `maxAttempts` or the table's capacity if they persist.";
  }
}

const MARSHALL = { marshallOptions: { removeUndefinedValues: true } } as const;

function documentClient(client: DynamoDBClient | DynamoDBDocumentClient): DynamoDBDocumentClient {
  return client instanceof DynamoDBDocumentClient ? client : DynamoDBDocumentClient.from(client, MARSHALL);
}

const defaults = new Map<string, DynamoDBDocumentClient>();

/** One client per process and configuration: a sink is made per batch, its client is not. */
function defaultClient(maxAttempts: number): DynamoDBDocumentClient {
  const config = dynamoDbClientConfigFromEnv(process.env, maxAttempts);
  const id = `${config.endpoint ?? ""}|${config.region ?? ""}|${maxAttempts}`;
  let doc = defaults.get(id);
  if (!doc) {
    doc = DynamoDBDocumentClient.from(new DynamoDBClient(config), MARSHALL);
    defaults.set(id, doc);
  }
  return doc;
}

/**
 * The configuration of the client a sink builds when none is given. The endpoint is the first set of
 * SPARKLESS_DYNAMODB_ENDPOINT (what `sparkless local` gives its processes), AWS_ENDPOINT_URL_DYNAMODB
 * and AWS_ENDPOINT_URL (LocalStack); none: AWS's own. The region is AWS_REGION or AWS_DEFAULT_REGION
 * (Lambda sets AWS_REGION), else us-east-1 for an endpoint, else the SDK's chain (the config file).
 * Credentials come from the SDK's chain, except for an endpoint on this machine with no
 * AWS_ACCESS_KEY_ID set: the embedded engines' dummy credentials.
 */
export function dynamoDbClientConfigFromEnv(env: NodeJS.ProcessEnv = process.env, maxAttempts = 8) {
  return clientConfigFromEnv("DYNAMODB", env, maxAttempts);
}
