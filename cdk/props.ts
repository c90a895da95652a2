/**
 * The SparklessApp construct's props and their checks. Every prop is readonly and documented with its
 * valid range and default; `validateProps` checks each in the constructor and fails synthesis with a
 * message naming the prop, what is allowed and the value received. It also loads what the app module
 * declares (cdk/app-module.ts) and refuses props that disagree with it: the functions run the module,
 * so a different name or interval here would size, name and watch something that never runs.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { Duration, RemovalPolicy, Token } from "aws-cdk-lib";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as kinesis from "aws-cdk-lib/aws-kinesis";
import type * as kms from "aws-cdk-lib/aws-kms";
import type * as logs from "aws-cdk-lib/aws-logs";
import type * as s3 from "aws-cdk-lib/aws-s3";
import type * as sns from "aws-cdk-lib/aws-sns";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { resolveConfig, type AppConfig } from "../lib/app/app.js";
import { Milliseconds } from "../lib/core/duration.js";
import { InvalidArgumentError } from "../lib/core/errors.js";
import { readAppModuleSync, type AppModuleDeclaration } from "./app-module.js";
import { MAX_LAMBDA_TIMEOUT_S, SCHEDULE_PERIOD_S } from "./defaults.js";

/** The pipeline settings passed to both functions as SPARKLESS_CONFIG (the fields of `defineApp`). */
export interface SparklessConfig {
  /** Overrides the app's name. 1–48 characters of [a-zA-Z0-9-]. @default the app module's name */
  readonly name?: string;
  /** Overrides the batch interval, as text like "5s" or "1m". 1 s – 15 min on AWS. @default the app module's interval */
  readonly batchInterval?: string;
  /** Partitions of keyed operations when none is given. A positive integer. @default the app module's (2) */
  readonly defaultParallelism?: number;
  /** Attempts per task before its batch fails. A positive integer. @default the app module's (4) */
  readonly maxTaskAttempts?: number;
  /** Where stateful operations keep their state unless they choose: "memory" (the coordinator's) or "dynamodb" (the state table). @default the app module's ("memory") */
  readonly stateBackend?: "memory" | "dynamodb";
  /** Where checkpoint pages go: "dynamodb" (the state table) or "s3" (the bucket). Also sets SPARKLESS_CHECKPOINT_STORE. @default the app module's ("dynamodb") */
  readonly checkpointStore?: "dynamodb" | "s3";
  /**
   * Where batches run: "auto" (in the coordinator unless a batch exceeds the limits), "in-process" or
   * "fan-out" (every stage that can run on workers does). @default the app module's ({ mode: "auto" })
   */
  readonly execution?: {
    readonly mode?: "auto" | "in-process" | "fan-out";
    readonly maxInProcessRecords?: number;
    readonly maxInProcessBytes?: number;
  };
}

/** One Kinesis stream the app reads: created here, or an existing one. */
export interface InputStreamProps {
  /**
   * The stream's name, exactly as the app module reads it with `ssc.kinesisStream(name)`: 1–128 characters
   * of [a-zA-Z0-9_.-]. A created stream gets this name; an imported one must have it.
   */
  readonly streamName: string;
  /** An existing stream to read instead of creating one. Its name must be `streamName`. @default a stream is created */
  readonly stream?: kinesis.IStream;
  /**
   * The customer managed KMS key an existing `stream` is encrypted with, when the stream object does not
   * carry it: `Stream.fromStreamArn` cannot know the key, and GetRecords on a stream encrypted with a
   * customer managed key fails with KMSAccessDenied unless the reader may kms:Decrypt with it. Both roles
   * get kms:Decrypt on this key (statement DecryptInputStreams). Not needed when `stream.encryptionKey` is
   * set (`Stream.fromStreamAttributes({ streamArn, encryptionKey })`, or a `Stream` created with a key);
   * refused when it is another key than that one. Only with `stream`.
   * @default `stream.encryptionKey`, if any; else none (a stream encrypted with aws/kinesis needs no grant)
   */
  readonly encryptionKey?: kms.IKey;
  /** Capacity mode of a created stream. @default StreamMode.PROVISIONED (the cheapest at rest) */
  readonly streamMode?: kinesis.StreamMode;
  /** Shards of a created PROVISIONED stream, 1–500 (the default account quota). Not allowed with ON_DEMAND. @default 1 */
  readonly shardCount?: number;
  /** Retention of a created stream, 24–8760 hours. @default Duration.hours(24) */
  readonly retentionPeriod?: Duration;
  /**
   * The input's age (GetRecords.IteratorAgeMilliseconds, maximum) that raises this stream's alarm when
   * exceeded for 5 minutes: from 1 minute to the stream's retention. Records older than the retention are
   * trimmed unprocessed.
   * @default a quarter of the retention: 6 h for 24 h (an existing stream is taken to keep 24 h, Kinesis' minimum)
   */
  readonly iteratorAgeAlarmThreshold?: Duration;
}

export interface SparklessAppProps {
  /**
   * Path of the app module (its default export is `defineApp(...)`), absolute or relative to the working
   * directory; a .ts, .mts, .js or .mjs file that exists. It is bundled into both functions as
   * `sparkless-app`, and loaded at synth (in a child process, under tsx) to check the props below against
   * what it declares.
   */
  readonly entry: string;
  /**
   * The app's name, exactly as the module's `defineApp({ name })` gives it: 1–48 characters of
   * [a-zA-Z0-9-]. The functions label their metrics with the module's name, so any other name is refused
   * (the alarms would watch a name nobody reports). To rename the app, set `config.name`: both the
   * construct and the functions use it.
   */
  readonly appName: string;
  /**
   * The module's batch interval, exactly as it declares it: 1 s – 15 min. Sizes and alarm thresholds
   * derive from it (or from `config.batchInterval`, which the functions use too); another interval is refused.
   */
  readonly batchInterval: Duration;
  /**
   * The module's attempts per task, 1–100; sets the task DLQ's maxReceiveCount. Refused when it differs
   * from what the module declares. @default the module's (`defineApp({ maxTaskAttempts })`, else 4)
   */
  readonly maxTaskAttempts?: number;
  /**
   * The module's checkpoint store, "dynamodb" or "s3"; `config.checkpointStore` overrides it. Both functions
   * get the effective one as SPARKLESS_CHECKPOINT_STORE. Refused when it differs from what the module declares.
   * @default the module's (`defineApp({ checkpointStore })`, else "dynamodb")
   */
  readonly checkpointStore?: "dynamodb" | "s3";
  /**
   * What the app module declares, when you have read it already (`readAppModule(entry)`) or it cannot be
   * loaded at synth (it needs AWS or variables at import time). The props are checked against this instead.
   * @default the construct loads `entry` at synth in a child process (cdk/app-module.ts readAppModuleSync)
   */
  readonly appModule?: AppModuleDeclaration;
  /** Pipeline settings passed as SPARKLESS_CONFIG; they override the module's without a code change. @default {} */
  readonly config?: SparklessConfig;
  /** The Kinesis streams the app reads: at least one, names unique, every stream the module reads among them. */
  readonly inputStreams: readonly InputStreamProps[];
  /**
   * An existing meta table instead of creating one: the batch log, the app's info, the coordinator's lease,
   * task claims, checkpoint manifests and quarantined records, keyed by the app's name, so several apps can
   * share it. It must have the partition key `pk` and sort key `sk` (strings) and TTL on `ttl` (batch
   * records, claims and manifests expire by it). Both roles get their actions on its ARN; a table with an
   * `encryptionKey` (customer managed) gives them kms:Decrypt, kms:DescribeKey, kms:Encrypt and
   * kms:GenerateDataKey on that key (statement MetaTableKey). Backups, deletion protection and removal are yours.
   * @default a table is created (on demand, TTL, point-in-time recovery, AWS managed key, deletion protection)
   */
  readonly metaTable?: dynamodb.ITable;
  /**
   * An existing state table instead of creating one: checkpoint pages and per-key state. The same
   * requirements and grants as `metaTable` (statement StateTableKey for its key). Use a table other than
   * the meta table.
   * @default a table is created, like the meta table
   */
  readonly stateTable?: dynamodb.ITable;
  /**
   * Deletion protection on the tables the construct creates: deleting the stack (or replacing a table)
   * fails until it is turned off. With `removalPolicy: DESTROY` turn it off too, or `cdk destroy` stops at
   * the tables (synthesis warns). No effect on `metaTable`/`stateTable` given.
   * @default true
   */
  readonly tableDeletionProtection?: boolean;
  /**
   * An existing task queue instead of creating one: a standard queue (not FIFO) with a visibility timeout
   * of at least 6 × the worker's timeout (AWS's rule for SQS event sources), messages up to 256 KiB and a
   * redrive policy to a DLQ. When it is an `sqs.Queue` of this app with a `deadLetterQueue`, the task DLQ
   * alarm watches that queue; otherwise there is no task DLQ alarm (synthesis warns). A queue with an
   * `encryptionMasterKey` gives the coordinator kms:GenerateDataKey and kms:Decrypt (it sends) and the
   * worker kms:Decrypt (it receives) on that key (statement TaskQueueKey).
   * @default a queue is created, with its DLQ
   */
  readonly taskQueue?: sqs.IQueue;
  /**
   * An existing result queue instead of creating one: a standard queue with messages up to 256 KiB and a
   * redrive policy to a DLQ (the created one redrives after 5 receives). The result DLQ alarm as for
   * `taskQueue`; a key gives the worker kms:GenerateDataKey and kms:Decrypt and the coordinator kms:Decrypt
   * (statement ResultQueueKey).
   * @default a queue is created (visibility 30 s, 1 day's retention), with its DLQ
   */
  readonly resultQueue?: sqs.IQueue;
  /**
   * An existing bucket for the app's shuffle data and S3 checkpoints (objects under `<appName>/`),
   * instead of creating one; several apps can share it. An `s3.Bucket` of the same stack gets what a
   * created bucket has: the object grants in its policy and lifecycle rules expiring this app's
   * prefixes. An imported bucket (`fromBucketName`, `fromBucketAttributes`) or one of another stack
   * cannot be changed here: the roles get the object permissions in their own policies (cdk-nag's
   * AwsSolutions-IAM5 then reports the object wildcard), and expiring `<appName>/shuffle/` and
   * `<appName>/inputs/` after a day and `<appName>/checkpoints/` after 8 days is yours. Access logging,
   * encryption and TLS are the bucket's own. Its `encryptionKey`, if any, gets kms:Decrypt and
   * kms:GenerateDataKey.
   * @default a bucket is created (with a second one for its access logs)
   */
  readonly bucket?: s3.IBucket;
  /** Memory of the coordinator, 128–10240 MB. @default 192/512/1024 MB for intervals up to 10 s/60 s/beyond */
  readonly coordinatorMemorySize?: number;
  /**
   * Timeout of the coordinator, 10–900 s. Keep it at most 60 s + max(3 s, 2 intervals) − 5 s, or an
   * invocation outlives the schedule and the next one finds the lease held.
   * @default 55 s + max(3 s, 2 intervals), at most 900 s
   */
  readonly coordinatorTimeout?: Duration;
  /** Memory of the worker, 128–10240 MB. @default 1024/1769/3008 MB for intervals up to 10 s/60 s/beyond */
  readonly workerMemorySize?: number;
  /** Timeout of the worker, 1–900 s; the task queue's visibility timeout is 6 × this. @default 5 intervals, 30–900 s */
  readonly workerTimeout?: Duration;
  /** Task messages per worker invocation, 1–10 (run concurrently). @default 10 */
  readonly workerBatchSize?: number;
  /** Concurrent worker invocations the event source mapping may run, 2–1000. @default 10 */
  readonly workerMaxConcurrency?: number;
  /**
   * Receives of a task message before SQS moves it to the DLQ of the created task queue, from
   * maxTaskAttempts + 1 to 1000. Not with `taskQueue`. @default max(10, 2 × maxTaskAttempts + 2)
   */
  readonly maxReceiveCount?: number;
  /** Retention of both functions' log groups. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * What deleting the stack does to the tables, created streams, queues, created buckets and log groups.
   * CloudFormation deletes only empty buckets: with DESTROY, empty them first
   * (their objects expire within 8 days anyway), and turn `tableDeletionProtection` off. @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * The scheduling delay (maximum per period) above which, for 5 periods in a row, the app counts as
   * falling behind: 1 s – 1 h. The period is a minute, or the interval rounded up to minutes when longer.
   * @default max(30 s, 5 intervals)
   */
  readonly schedulingDelayAlarmThreshold?: Duration;
  /**
   * The age of the newest completed batch (LastCompletedBatchAge) above which the pipeline counts as
   * stopped, in 2 of 3 minutes (a minute without any report counts as above): from 60 s + 1 interval
   * (what a healthy app can show) to 24 h.
   * @default 60 s (the schedule period) + 3 intervals: 63 s at 1 s, 90 s at 10 s, 4 min at 1 min
   */
  readonly lastCompletedBatchAgeAlarmThreshold?: Duration;
  /**
   * An SNS topic every alarm notifies when it goes to ALARM (`alarm.addAlarmAction`). CloudWatch must be
   * able to publish to it (and use its key, if encrypted).
   * @default the topic created for `alarmEmail`, if given; else no actions (add them with `alarm.addAlarmAction`)
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * An email address subscribed to the alarms (to `alarmTopic`, or else to a topic created for it: TLS
   * only, only this account's CloudWatch alarms may publish; not KMS-encrypted, see cdk/monitoring.ts
   * alarmTopic). The address must confirm the subscription from the email AWS sends.
   * @default no subscription
   */
  readonly alarmEmail?: string;
  /**
   * Where the alarm descriptions send the reader: each description ends with `Runbook: <runbookUrl>#<section>`
   * (sections in cdk/defaults.ts RUNBOOK_SECTIONS). Your team's copy of the runbook, up to 512 characters
   * without spaces. @default "docs/operations.md" (Sparkless's)
   */
  readonly runbookUrl?: string;
  /** The dashboard's name: 1–255 characters of [a-zA-Z0-9_-]. @default `Sparkless-${appName}` */
  readonly dashboardName?: string;
  /**
   * Where the app writes text files (`saveAsTextFiles("s3://bucket/prefix")`, `rdd.saveAsTextFile`): both
   * functions may list, read, put and delete keys under each prefix (a rerun replaces a batch's parts),
   * and use the bucket's KMS key. The app's `textFileStream` directories need nothing here: the
   * construct reads them from the module and grants list and read on each. @default none
   */
  readonly outputLocations?: readonly { readonly bucket: s3.IBucket; readonly prefix?: string }[];
}

/** The props as checked: the effective values the construct builds from. */
export interface CheckedProps {
  /** The module's absolute path. */
  readonly entry: string;
  /** `config.name`, else `appName`. */
  readonly appName: string;
  /** `config.batchInterval`, else `batchInterval`, in ms. */
  readonly intervalMs: number;
  readonly maxTaskAttempts: number;
  readonly checkpointStore: "dynamodb" | "s3";
  /** Names in `inputStreams` the module does not read (synthesis warns). */
  readonly unreadStreams: readonly string[];
  /** The module's `textFileStream` directories, `s3://bucket/prefix/`. */
  readonly fileDirectories: readonly string[];
}

// ---------------------------------------------------------------------------------------------
// Every message names the prop, the allowed range and the value received.

function fail(message: string): never {
  throw new InvalidArgumentError(message);
}
export function shown(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value instanceof Duration) return value.toString();
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
function checkInt(name: string, value: number | undefined, min: number, max: number, unit = ""): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    fail(`Expected \`${name}\` to be an integer from ${min} to ${max}${unit}, got ${shown(value)}.`);
  }
}
function checkSeconds(name: string, value: Duration | undefined, minS: number, maxS: number): void {
  if (value === undefined || Token.isUnresolved(value.toSeconds({ integral: false }))) return;
  const s = value.toSeconds({ integral: false });
  if (!(s >= minS && s <= maxS)) fail(`Expected \`${name}\` to be from ${minS} s to ${maxS} s, got ${value.toHumanString()} (${s} s).`);
}
/** An `I…` interface from another construct library: an object with the string attribute `attr`. */
function checkResource(name: string, value: unknown, attr: string, what: string): void {
  if (value === undefined) return;
  if (typeof value !== "object" || value === null || typeof (value as Record<string, unknown>)[attr] !== "string") {
    fail(`Expected \`${name}\` to be ${what}, got ${shown(value)}.`);
  }
}
const sameKey = (a: kms.IKey, b: kms.IKey) => a === b || (!Token.isUnresolved(a.keyArn) && a.keyArn === b.keyArn);

const CONFIG_KEYS = new Set([
  "name",
  "batchInterval",
  "defaultParallelism",
  "maxTaskAttempts",
  "stateBackend",
  "checkpointStore",
  "execution",
  "onRecordError",
]);
const STREAM_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;
const APP_NAME = /^[a-zA-Z0-9-]{1,48}$/;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** Checks every prop, then the props against the app module; returns the effective values. */
export function validateProps(props: SparklessAppProps): CheckedProps {
  if (typeof props.entry !== "string" || !/\.(ts|mts|js|mjs)$/.test(props.entry)) {
    fail(`Expected \`entry\` to be the path of the app module (.ts, .mts, .js or .mjs), got ${shown(props.entry)}.`);
  }
  const entry = path.resolve(props.entry);
  if (!existsSync(entry))
    fail(`Expected \`entry\` to be an existing app module, got ${shown(props.entry)} (resolved to ${entry}, which does not exist).`);
  if (typeof props.appName !== "string" || !APP_NAME.test(props.appName)) {
    fail(`Expected \`appName\` to be 1 to 48 characters of [a-zA-Z0-9-], got ${shown(props.appName)}.`);
  }
  if (!(props.batchInterval instanceof Duration)) fail(`Expected \`batchInterval\` to be a Duration, got ${shown(props.batchInterval)}.`);
  checkInt("maxTaskAttempts", props.maxTaskAttempts, 1, 100);
  if (props.checkpointStore !== undefined && props.checkpointStore !== "dynamodb" && props.checkpointStore !== "s3") {
    fail(`Expected \`checkpointStore\` to be "dynamodb" or "s3", got ${shown(props.checkpointStore)}.`);
  }
  const config = props.config ?? {};
  if (typeof config !== "object" || config === null || Array.isArray(config))
    fail(`Expected \`config\` to be an object like {"batchInterval":"5s"}, got ${shown(config)}.`);
  const unknown = Object.keys(config).filter((k) => !CONFIG_KEYS.has(k));
  if (unknown.length)
    fail(`Expected \`config\` to have only the fields ${[...CONFIG_KEYS].join(", ")}, got ${shown(config)} (unknown: ${unknown.join(", ")}).`);
  // The same checks (and messages) as the handlers apply when they read SPARKLESS_CONFIG.
  const resolve = (maxTaskAttempts: number, checkpointStore: "dynamodb" | "s3" | undefined) =>
    resolveConfig(
      {
        name: props.appName,
        batchInterval: Milliseconds(props.batchInterval.toMilliseconds()),
        maxTaskAttempts,
        ...(checkpointStore ? { checkpointStore } : {}),
      },
      config as Partial<AppConfig>,
    );
  const early = resolve(props.maxTaskAttempts ?? 4, props.checkpointStore);
  const intervalMs = early.batchInterval.milliseconds;
  if (intervalMs < 1000 || intervalMs > 900_000) {
    fail(
      `Expected the batch interval to be from 1 s to 15 min on AWS, got ${intervalMs} ms${config.batchInterval !== undefined ? ` (config.batchInterval ${shown(config.batchInterval)})` : ""}.`,
    );
  }
  checkInt("maxTaskAttempts", early.maxTaskAttempts, 1, 100);

  if (!Array.isArray(props.inputStreams) || props.inputStreams.length === 0) {
    fail(`Expected \`inputStreams\` to list at least one Kinesis stream, got ${shown(props.inputStreams)}.`);
  }
  const seen = new Set<string>();
  props.inputStreams.forEach((s, i) => {
    const at = `inputStreams[${i}]`;
    if (typeof s.streamName !== "string" || !STREAM_NAME.test(s.streamName))
      fail(`Expected \`${at}.streamName\` to be 1 to 128 characters of [a-zA-Z0-9_.-], got ${shown(s.streamName)}.`);
    if (seen.has(s.streamName)) fail(`Expected the names in \`inputStreams\` to be unique, got ${shown(s.streamName)} twice.`);
    seen.add(s.streamName);
    checkResource(`${at}.encryptionKey`, s.encryptionKey, "keyArn", "a kms.IKey (kms.Key.fromKeyArn(...), or a Key)");
    if (s.stream) {
      if (s.streamMode !== undefined || s.shardCount !== undefined || s.retentionPeriod !== undefined) {
        fail(
          `Expected \`${at}\` to give either \`stream\` (an existing stream) or the props to create one, got both (streamName ${shown(s.streamName)}).`,
        );
      }
      if (!Token.isUnresolved(s.stream.streamName) && s.stream.streamName !== s.streamName) {
        fail(
          `Expected the existing stream of \`${at}\` to be named ${shown(s.streamName)} as the app module reads it, got ${shown(s.stream.streamName)}.`,
        );
      }
      if (s.encryptionKey && s.stream.encryptionKey && !sameKey(s.encryptionKey, s.stream.encryptionKey)) {
        fail(
          `Expected \`${at}.encryptionKey\` only for a stream imported without its key, but the stream already has encryptionKey ${s.stream.encryptionKey.keyArn}, got ${s.encryptionKey.keyArn}. Leave \`encryptionKey\` out.`,
        );
      }
      checkSeconds(`${at}.iteratorAgeAlarmThreshold`, s.iteratorAgeAlarmThreshold, 60, 8760 * 3600);
      return;
    }
    if (s.encryptionKey) {
      fail(
        `Expected \`${at}.encryptionKey\` only with \`stream\` (the key of an existing stream); a created stream is encrypted with aws/kinesis, got a key for ${shown(s.streamName)}.`,
      );
    }
    if (s.streamMode === kinesis.StreamMode.ON_DEMAND && s.shardCount !== undefined) {
      fail(`Expected no \`${at}.shardCount\` with StreamMode.ON_DEMAND (on-demand streams scale themselves), got ${shown(s.shardCount)}.`);
    }
    checkInt(`${at}.shardCount`, s.shardCount, 1, 500);
    checkSeconds(`${at}.retentionPeriod`, s.retentionPeriod, 24 * 3600, 8760 * 3600);
    const retentionS = s.retentionPeriod && !Token.isUnresolved(s.retentionPeriod.toSeconds()) ? s.retentionPeriod.toSeconds() : 24 * 3600;
    checkSeconds(`${at}.iteratorAgeAlarmThreshold`, s.iteratorAgeAlarmThreshold, 60, retentionS);
  });

  checkResource("bucket", props.bucket, "bucketArn", "an s3.IBucket (s3.Bucket.fromBucketName(...), or a Bucket)");
  checkResource("metaTable", props.metaTable, "tableArn", "a dynamodb.ITable (dynamodb.Table.fromTableName(...), or a Table)");
  checkResource("stateTable", props.stateTable, "tableArn", "a dynamodb.ITable (dynamodb.Table.fromTableName(...), or a Table)");
  if (props.metaTable && props.metaTable === props.stateTable)
    fail("Expected `metaTable` and `stateTable` to be two tables, got the same table for both.");
  checkResource("taskQueue", props.taskQueue, "queueArn", "an sqs.IQueue (sqs.Queue.fromQueueArn(...), or a Queue)");
  checkResource("resultQueue", props.resultQueue, "queueArn", "an sqs.IQueue (sqs.Queue.fromQueueArn(...), or a Queue)");
  if (props.taskQueue && props.taskQueue === props.resultQueue)
    fail("Expected `taskQueue` and `resultQueue` to be two queues, got the same queue for both.");
  if (props.taskQueue && props.maxReceiveCount !== undefined) {
    fail(`Expected no \`maxReceiveCount\` with \`taskQueue\` (an existing queue's redrive policy is its own), got ${shown(props.maxReceiveCount)}.`);
  }
  if (props.taskQueue?.fifo || props.resultQueue?.fifo)
    fail(`Expected standard queues, got a FIFO queue as \`${props.taskQueue?.fifo ? "taskQueue" : "resultQueue"}\`.`);
  if (props.tableDeletionProtection !== undefined && typeof props.tableDeletionProtection !== "boolean") {
    fail(`Expected \`tableDeletionProtection\` to be true or false, got ${shown(props.tableDeletionProtection)}.`);
  }
  if (props.removalPolicy !== undefined && !Object.values(RemovalPolicy).includes(props.removalPolicy)) {
    fail(`Expected \`removalPolicy\` to be a RemovalPolicy, got ${shown(props.removalPolicy)}.`);
  }
  checkInt("coordinatorMemorySize", props.coordinatorMemorySize, 128, 10_240, " MB");
  checkInt("workerMemorySize", props.workerMemorySize, 128, 10_240, " MB");
  checkSeconds("coordinatorTimeout", props.coordinatorTimeout, 10, MAX_LAMBDA_TIMEOUT_S);
  checkSeconds("workerTimeout", props.workerTimeout, 1, MAX_LAMBDA_TIMEOUT_S);
  if (props.workerTimeout && !Number.isInteger(props.workerTimeout.toSeconds({ integral: false }))) {
    fail(`Expected \`workerTimeout\` to be whole seconds (SQS visibility is in seconds), got ${props.workerTimeout.toHumanString()}.`);
  }
  checkInt("workerBatchSize", props.workerBatchSize, 1, 10);
  checkInt("workerMaxConcurrency", props.workerMaxConcurrency, 2, 1000);
  checkSeconds("schedulingDelayAlarmThreshold", props.schedulingDelayAlarmThreshold, 1, 3600);
  checkSeconds("lastCompletedBatchAgeAlarmThreshold", props.lastCompletedBatchAgeAlarmThreshold, SCHEDULE_PERIOD_S + intervalMs / 1000, 86_400);
  checkResource("alarmTopic", props.alarmTopic, "topicArn", "an sns.ITopic (sns.Topic.fromTopicArn(...), or a Topic)");
  if (props.alarmEmail !== undefined && (typeof props.alarmEmail !== "string" || !EMAIL.test(props.alarmEmail))) {
    fail(`Expected \`alarmEmail\` to be an email address like ops@example.com, got ${shown(props.alarmEmail)}.`);
  }
  if (props.runbookUrl !== undefined && (typeof props.runbookUrl !== "string" || !/^\S{1,512}$/.test(props.runbookUrl))) {
    fail(`Expected \`runbookUrl\` to be 1 to 512 characters without spaces, got ${shown(props.runbookUrl)}.`);
  }
  if (props.dashboardName !== undefined && !/^[a-zA-Z0-9_-]{1,255}$/.test(props.dashboardName)) {
    fail(`Expected \`dashboardName\` to be 1 to 255 characters of [a-zA-Z0-9_-], got ${shown(props.dashboardName)}.`);
  }
  if (
    props.appModule !== undefined &&
    (typeof props.appModule !== "object" ||
      props.appModule === null ||
      typeof props.appModule.appName !== "string" ||
      !(props.appModule.batchInterval instanceof Duration))
  ) {
    fail(
      `Expected \`appModule\` to be what the module declares, { appName, batchInterval, ... } as readAppModule(entry) gives it, got ${shown(props.appModule)}.`,
    );
  }

  // Last, as it loads the module: the props against what the module declares.
  const declared = props.appModule ?? readAppModuleSync(entry);
  const unreadStreams = checkAgainstModule(props, declared);
  const maxTaskAttempts = props.maxTaskAttempts ?? declared.maxTaskAttempts ?? 4;
  const resolved = resolve(maxTaskAttempts, props.checkpointStore ?? declared.checkpointStore);
  checkInt("maxTaskAttempts", resolved.maxTaskAttempts, 1, 100);
  checkInt("maxReceiveCount", props.maxReceiveCount, resolved.maxTaskAttempts + 1, 1000);
  return {
    entry,
    appName: resolved.name,
    intervalMs,
    maxTaskAttempts: resolved.maxTaskAttempts,
    checkpointStore: resolved.checkpointStore,
    unreadStreams,
    fileDirectories: declared.fileDirectories ?? [],
  };
}

/**
 * The props that must say what the module says. The functions run the module (with `config` on top),
 * so a prop that differs would name, size or watch an app that never runs: with another `appName` the
 * metrics arrive under the module's name and the alarms, watching this one, never see data.
 */
function checkAgainstModule(props: SparklessAppProps, declared: AppModuleDeclaration): string[] {
  const module = `the app module ${props.entry}`;
  if (props.appName !== declared.appName) {
    fail(
      `Expected \`appName\` to be ${shown(declared.appName)}, the name ${module} declares (defineApp({ name })), got ${shown(props.appName)}. ` +
        `The functions label their metrics with the module's name, so alarms watching ${shown(props.appName)} would never see data. ` +
        `Pass appName: ${shown(declared.appName)}, or rename the app for both with config.name.`,
    );
  }
  const declaredMs = declared.batchInterval.toMilliseconds();
  if (props.batchInterval.toMilliseconds() !== declaredMs) {
    fail(
      `Expected \`batchInterval\` to be ${declaredMs} ms, the interval ${module} declares, got ${props.batchInterval.toMilliseconds()} ms. ` +
        "The functions run the module's interval, while sizes and alarm thresholds would follow this one. " +
        `Pass batchInterval: Duration.millis(${declaredMs}), or change both with config.batchInterval.`,
    );
  }
  if (props.maxTaskAttempts !== undefined && declared.maxTaskAttempts !== undefined && props.maxTaskAttempts !== declared.maxTaskAttempts) {
    fail(
      `Expected \`maxTaskAttempts\` to be ${declared.maxTaskAttempts}, as ${module} declares, got ${props.maxTaskAttempts}. ` +
        "Leave it out (it defaults to the module's), or change both with config.maxTaskAttempts.",
    );
  }
  if (props.checkpointStore !== undefined && declared.checkpointStore !== undefined && props.checkpointStore !== declared.checkpointStore) {
    fail(
      `Expected \`checkpointStore\` to be ${shown(declared.checkpointStore)}, as ${module} declares, got ${shown(props.checkpointStore)}. ` +
        "Leave it out (it defaults to the module's), or change both with config.checkpointStore.",
    );
  }
  if (!declared.kinesisStreams) return [];
  const listed = props.inputStreams.map((s) => s.streamName);
  const missing = declared.kinesisStreams.filter((s) => !listed.includes(s));
  if (missing.length) {
    fail(
      `Expected \`inputStreams\` to list every Kinesis stream ${module} reads (${declared.kinesisStreams.join(", ")}), got ${listed.join(", ")} ` +
        `(missing: ${missing.join(", ")}). Add { streamName: ${shown(missing[0])} } to create it, or { streamName, stream } for an existing one.`,
    );
  }
  return listed.filter((s) => !declared.kinesisStreams!.includes(s));
}
