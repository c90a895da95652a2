/**
 * The stateful resources of one app, each created here or taken from the props (AWS Solutions
 * Constructs style: pass an existing resource, or let the construct create a secure one): the input
 * streams, the meta and state tables, the bucket (with its access-log bucket), the task and result
 * queues with their dead-letter queues, and the functions' log groups. Nothing here grants anything;
 * cdk/iam.ts does.
 */
import { Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as kinesis from "aws-cdk-lib/aws-kinesis";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as logs from "aws-cdk-lib/aws-logs";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { DEFAULTS, VISIBILITY_FACTOR } from "./defaults.js";
import type { InputStreamProps, SparklessAppProps } from "./props.js";

export interface InputStreams {
  /** In the order of `inputStreams`. */
  readonly streams: readonly kinesis.IStream[];
  /** The customer managed key each stream is read with (`encryptionKey`, else the stream's own), if any. */
  readonly keys: readonly (kms.IKey | undefined)[];
  /** Each stream's retention in hours: a created stream's, else Kinesis' minimum (24 h). */
  readonly retentionHours: readonly number[];
}

/** One stream per input: created (provisioned, one shard, 24 h, aws/kinesis encryption) or the one given. */
export function inputStreams(scope: Construct, inputs: readonly InputStreamProps[], removalPolicy: RemovalPolicy): InputStreams {
  const streams = inputs.map((s, i) => {
    if (s.stream) return s.stream;
    const mode = s.streamMode ?? kinesis.StreamMode.PROVISIONED;
    return new kinesis.Stream(scope, `Input${i}`, {
      streamName: s.streamName,
      streamMode: mode,
      ...(mode === kinesis.StreamMode.PROVISIONED ? { shardCount: s.shardCount ?? DEFAULTS.shardCount } : {}),
      retentionPeriod: s.retentionPeriod ?? Duration.hours(DEFAULTS.retentionHours),
      encryption: kinesis.StreamEncryption.MANAGED,
      removalPolicy,
    });
  });
  return {
    streams,
    keys: inputs.map((s, i) => s.encryptionKey ?? streams[i]!.encryptionKey),
    retentionHours: inputs.map((s) => (s.stream || !s.retentionPeriod ? DEFAULTS.retentionHours : s.retentionPeriod.toHours())),
  };
}

export interface Tables {
  readonly metaTable: dynamodb.ITable;
  readonly stateTable: dynamodb.ITable;
}

/** The meta and state tables (lib/aws/dynamodb/tables.ts): created, or the ones given. */
export function tables(scope: Construct, props: SparklessAppProps, removalPolicy: RemovalPolicy): Tables {
  const table = (id: string) =>
    new dynamodb.Table(scope, id, {
      partitionKey: { name: "pk", type: dynamodb.AttributeType.STRING },
      sortKey: { name: "sk", type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: "ttl",
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      // The batch log and the checkpoints are the app's state: deleting a table by accident (a stack
      // deleted, a change that replaces the table) loses it for good, point-in-time recovery or not.
      deletionProtection: props.tableDeletionProtection ?? true,
      removalPolicy,
    });
  return {
    metaTable: props.metaTable ?? table("MetaTable"),
    stateTable: props.stateTable ?? table("StateTable"),
  };
}

export interface Buckets {
  readonly bucket: s3.IBucket;
  readonly accessLogsBucket?: s3.Bucket;
  /**
   * Whether the bucket is one of this stack (created here, or an s3.Bucket passed in): it then takes the
   * object grants in its own policy and the lifecycle rules; an imported one cannot be changed here.
   */
  readonly ownBucket: boolean;
}

/** The app's bucket (lib/aws/s3.ts): every key starts with the app's name, and every prefix expires. */
export function buckets(scope: Construct, appName: string, given: s3.IBucket | undefined, removalPolicy: RemovalPolicy): Buckets {
  const under = (prefix: string) => `${appName}/${prefix}`;
  // The runtime deletes nothing by request: every object the functions may write expires by one of these.
  const expiry: s3.LifecycleRule[] = [
    { id: `${appName}-ExpireShuffle`, prefix: under("shuffle/"), expiration: Duration.days(DEFAULTS.shuffleObjectDays) },
    { id: `${appName}-ExpireInputs`, prefix: under("inputs/"), expiration: Duration.days(DEFAULTS.shuffleObjectDays) },
    { id: `${appName}-ExpireCheckpoints`, prefix: under("checkpoints/"), expiration: Duration.days(DEFAULTS.checkpointObjectDays) },
  ];
  if (given) {
    const ownBucket = given instanceof s3.Bucket && Stack.of(given) === Stack.of(scope);
    if (ownBucket) for (const rule of expiry) (given as s3.Bucket).addLifecycleRule(rule);
    return { bucket: given, ownBucket };
  }
  const privateBucket = {
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    versioned: false,
    removalPolicy,
  } satisfies s3.BucketProps;
  // Server access logs (SSE-S3: log delivery cannot write to a KMS-encrypted bucket). A bucket that
  // receives access logs does not log its own access.
  const accessLogsBucket = new s3.Bucket(scope, "AccessLogsBucket", {
    ...privateBucket,
    lifecycleRules: [{ id: "ExpireAccessLogs", expiration: Duration.days(DEFAULTS.accessLogDays) }],
  });
  const bucket = new s3.Bucket(scope, "Bucket", {
    ...privateBucket,
    serverAccessLogsBucket: accessLogsBucket,
    serverAccessLogsPrefix: `${appName}/`,
    lifecycleRules: expiry,
  });
  return { bucket, accessLogsBucket, ownBucket: true };
}

export interface Queues {
  readonly taskQueue: sqs.IQueue;
  /** The task queue's DLQ: created, or the `deadLetterQueue` of an sqs.Queue given; unknown for an imported queue. */
  readonly deadLetterQueue?: sqs.IQueue;
  readonly resultQueue: sqs.IQueue;
  readonly resultDeadLetterQueue?: sqs.IQueue;
}

/** The task and result queues, each with its DLQ: created (SSE-SQS, TLS only), or the ones given. */
export function queues(
  scope: Construct,
  props: SparklessAppProps,
  sizes: { workerTimeoutS: number; maxReceiveCount: number },
  removalPolicy: RemovalPolicy,
): Queues {
  const queue = (id: string, extra: sqs.QueueProps) =>
    new sqs.Queue(scope, id, {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      removalPolicy,
      ...extra,
    });
  const dlqOf = (q: sqs.IQueue) => (q instanceof sqs.Queue ? q.deadLetterQueue?.queue : undefined);

  let task: Pick<Queues, "taskQueue" | "deadLetterQueue">;
  if (props.taskQueue) {
    task = { taskQueue: props.taskQueue, deadLetterQueue: dlqOf(props.taskQueue) };
  } else {
    const deadLetterQueue = queue("TaskDeadLetterQueue", { retentionPeriod: Duration.days(DEFAULTS.dlqRetentionDays) });
    task = {
      deadLetterQueue,
      taskQueue: queue("TaskQueue", {
        visibilityTimeout: Duration.seconds(VISIBILITY_FACTOR * sizes.workerTimeoutS),
        maxMessageSizeBytes: DEFAULTS.maxMessageBytes,
        deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: sizes.maxReceiveCount },
      }),
    };
  }
  let result: Pick<Queues, "resultQueue" | "resultDeadLetterQueue">;
  if (props.resultQueue) {
    result = { resultQueue: props.resultQueue, resultDeadLetterQueue: dlqOf(props.resultQueue) };
  } else {
    const resultDeadLetterQueue = queue("ResultDeadLetterQueue", { retentionPeriod: Duration.days(DEFAULTS.dlqRetentionDays) });
    result = {
      resultDeadLetterQueue,
      resultQueue: queue("ResultQueue", {
        visibilityTimeout: Duration.seconds(DEFAULTS.resultVisibilityS),
        retentionPeriod: Duration.days(DEFAULTS.resultRetentionDays),
        maxMessageSizeBytes: DEFAULTS.maxMessageBytes,
        deadLetterQueue: { queue: resultDeadLetterQueue, maxReceiveCount: DEFAULTS.resultMaxReceiveCount },
      }),
    };
  }
  return { ...task, ...result };
}

/** One log group per function, so each role writes only its own. */
export function logGroups(scope: Construct, retention: logs.RetentionDays | undefined, removalPolicy: RemovalPolicy) {
  const logGroup = (id: string) => new logs.LogGroup(scope, id, { retention: retention ?? logs.RetentionDays.ONE_MONTH, removalPolicy });
  return { coordinatorLogGroup: logGroup("CoordinatorLogs"), workerLogGroup: logGroup("WorkerLogs") };
}
