/**
 * Least privilege for one app: the actions each handler sends (listed here with the code that sends
 * them), one role per function with one inline policy, each statement on exactly the resources it is
 * about; the object grants in the bucket's own policy; and the role EventBridge Scheduler assumes to
 * invoke the coordinator. No AWS managed policy, no `*` action, no `*` resource.
 */
import { Stack } from "aws-cdk-lib";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kinesis from "aws-cdk-lib/aws-kinesis";
import type * as kms from "aws-cdk-lib/aws-kms";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as logs from "aws-cdk-lib/aws-logs";
import type * as s3 from "aws-cdk-lib/aws-s3";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";

// ---------------------------------------------------------------------------------------------
// The actions each handler sends, with the code that sends them (lib/aws/*). A role holds exactly these.

/**
 * The coordinator on the meta table (lib/aws/dynamodb/): the batch log and the app's info (GetItem,
 * PutItem, UpdateItem, Query), its lease (PutItem, DeleteItem), the claims of fanned-out tasks
 * (BatchGetItem), checkpoint manifests (PutItem, Query) and records quarantined by batches it runs (PutItem).
 */
export const COORDINATOR_META_ACTIONS = [
  "dynamodb:GetItem",
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
  "dynamodb:Query",
  "dynamodb:BatchGetItem",
] as const;
/**
 * The coordinator on the state table: checkpoint pages (BatchWriteItem, BatchGetItem) and, for
 * operators on the "dynamodb" state backend, the per-key state of batches it runs (Query, BatchGetItem,
 * GetItem, PutItem, DeleteItem).
 */
export const COORDINATOR_STATE_ACTIONS = [
  "dynamodb:GetItem",
  "dynamodb:PutItem",
  "dynamodb:DeleteItem",
  "dynamodb:Query",
  "dynamodb:BatchGetItem",
  "dynamodb:BatchWriteItem",
] as const;
/** The worker on the meta table: task claims (PutItem, GetItem, UpdateItem), batch log reads (GetItem, Query), quarantined records (PutItem). */
export const WORKER_META_ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"] as const;
/** The worker on the state table: the per-key state backend only (never checkpoint pages, which only the coordinator writes). */
export const WORKER_STATE_ACTIONS = [
  "dynamodb:GetItem",
  "dynamodb:PutItem",
  "dynamodb:DeleteItem",
  "dynamodb:Query",
  "dynamodb:BatchGetItem",
] as const;
/** Every DynamoDB action either role holds. */
export const DYNAMODB_ACTIONS = [
  ...new Set([...COORDINATOR_META_ACTIONS, ...COORDINATOR_STATE_ACTIONS, ...WORKER_META_ACTIONS, ...WORKER_STATE_ACTIONS]),
];
/**
 * A table given with a customer managed key: what aws-cdk-lib's Table grants give a reader and writer on
 * its key, without their wildcards (ReEncrypt*, GenerateDataKey*), which reading and writing items do not use.
 */
export const TABLE_KMS_ACTIONS = ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"] as const;

/** S3BlobStore and S3Pages (lib/aws/s3.ts): PutObject, and GetObject (with a byte range for shuffle reads). */
export const S3_ACTIONS = ["s3:GetObject", "s3:PutObject"] as const;
/**
 * The key prefixes under `<app>/` each function reads and writes, each expired by a lifecycle rule of
 * a created bucket. The coordinator: task inputs it moves out of messages, workers' shuffle output it
 * reads back, checkpoint objects. The worker: shuffle output and task inputs, never checkpoints.
 */
export const COORDINATOR_OBJECT_PREFIXES = ["shuffle/", "inputs/", "checkpoints/"] as const;
export const WORKER_OBJECT_PREFIXES = ["shuffle/", "inputs/"] as const;
/** SSE-KMS on an imported bucket: GetObject needs Decrypt, PutObject GenerateDataKey. */
export const BUCKET_KMS_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey"] as const;

/** KinesisSource.allocate (coordinator): ListShards, then GetShardIterator/GetRecords up to the shard's end. */
export const COORDINATOR_KINESIS_ACTIONS = ["kinesis:ListShards", "kinesis:GetShardIterator", "kinesis:GetRecords"] as const;
/** KinesisSource.read (worker): GetShardIterator after the block's start, GetRecords to its end. */
export const WORKER_KINESIS_ACTIONS = ["kinesis:GetShardIterator", "kinesis:GetRecords"] as const;
/** GetRecords on a stream encrypted with a customer managed key decrypts with it. */
export const STREAM_KMS_ACTIONS = ["kms:Decrypt"] as const;

/** The coordinator on the task queue: it sends the tasks of fanned-out stages (SendMessageBatch needs sqs:SendMessage). */
export const COORDINATOR_TASK_QUEUE_ACTIONS = ["sqs:SendMessage"] as const;
/** The coordinator on the result queue: it long-polls the results and deletes them (DeleteMessageBatch needs sqs:DeleteMessage). */
export const COORDINATOR_RESULT_QUEUE_ACTIONS = ["sqs:ReceiveMessage", "sqs:DeleteMessage"] as const;
/**
 * The worker on the task queue: the event source mapping receives, deletes and reads the queue's
 * attributes with the function's role; the worker makes a task another worker is running visible again
 * a second later (ChangeMessageVisibility). Workers never send tasks.
 */
export const WORKER_TASK_QUEUE_ACTIONS = [
  "sqs:ReceiveMessage",
  "sqs:DeleteMessage",
  "sqs:ChangeMessageVisibility",
  "sqs:GetQueueAttributes",
] as const;
/** The worker on the result queue: it sends each task's result (SendMessageBatch needs sqs:SendMessage). */
export const WORKER_RESULT_QUEUE_ACTIONS = ["sqs:SendMessage"] as const;
/**
 * SSE-KMS on a queue given (a created queue uses SSE-SQS and needs no key grant): SQS's documented
 * key permissions, a sender kms:GenerateDataKey and kms:Decrypt, a receiver kms:Decrypt.
 */
export const QUEUE_SEND_KMS_ACTIONS = ["kms:GenerateDataKey", "kms:Decrypt"] as const;
export const QUEUE_RECEIVE_KMS_ACTIONS = ["kms:Decrypt"] as const;
/** Writing to the function's own log group (the group exists, so no CreateLogGroup). */
export const LOGS_ACTIONS = ["logs:CreateLogStream", "logs:PutLogEvents"] as const;
/** EventBridge Scheduler's role: invoking the coordinator (an unqualified function ARN), nothing else. */
export const SCHEDULER_ACTIONS = ["lambda:InvokeFunction"] as const;

/** What the roles are about. */
export interface Grantable {
  readonly appName: string;
  readonly streams: readonly kinesis.IStream[];
  readonly streamKeys: readonly (kms.IKey | undefined)[];
  readonly metaTable: dynamodb.ITable;
  readonly stateTable: dynamodb.ITable;
  readonly taskQueue: sqs.IQueue;
  readonly resultQueue: sqs.IQueue;
  readonly bucket: s3.IBucket;
  readonly ownBucket: boolean;
  readonly coordinatorLogGroup: logs.ILogGroup;
  readonly workerLogGroup: logs.ILogGroup;
}

interface RoleGrants {
  readonly logGroup: logs.ILogGroup;
  readonly kinesis: readonly string[];
  readonly meta: readonly string[];
  readonly state: readonly string[];
  readonly taskQueue: readonly string[];
  readonly resultQueue: readonly string[];
  readonly taskQueueKey: readonly string[];
  readonly resultQueueKey: readonly string[];
  readonly objectsSid: string;
  readonly objectPrefixes: readonly string[];
}

const unique = <T>(xs: readonly (T | undefined)[], key: (x: T) => string): T[] => {
  const seen = new Map<string, T>();
  for (const x of xs) if (x !== undefined && !seen.has(key(x))) seen.set(key(x), x);
  return [...seen.values()];
};

/** The coordinator's and the worker's roles: exactly the actions each handler sends, on exactly its resources. */
export function functionRoles(scope: Construct, g: Grantable): { coordinatorRole: iam.Role; workerRole: iam.Role } {
  const streamKeyArns = unique(g.streamKeys, (k) => JSON.stringify(Stack.of(scope).resolve(k.keyArn))).map((k) => k.keyArn);
  const statements = (r: RoleGrants) => [
    new iam.PolicyStatement({ sid: "Logs", actions: [...LOGS_ACTIONS], resources: [r.logGroup.logGroupArn] }),
    new iam.PolicyStatement({ sid: "ReadInputStreams", actions: [...r.kinesis], resources: g.streams.map((s) => s.streamArn) }),
    ...(streamKeyArns.length
      ? [new iam.PolicyStatement({ sid: "DecryptInputStreams", actions: [...STREAM_KMS_ACTIONS], resources: streamKeyArns })]
      : []),
    new iam.PolicyStatement({ sid: "MetaTable", actions: [...r.meta], resources: [g.metaTable.tableArn] }),
    ...(g.metaTable.encryptionKey
      ? [new iam.PolicyStatement({ sid: "MetaTableKey", actions: [...TABLE_KMS_ACTIONS], resources: [g.metaTable.encryptionKey.keyArn] })]
      : []),
    new iam.PolicyStatement({ sid: "StateTable", actions: [...r.state], resources: [g.stateTable.tableArn] }),
    ...(g.stateTable.encryptionKey
      ? [new iam.PolicyStatement({ sid: "StateTableKey", actions: [...TABLE_KMS_ACTIONS], resources: [g.stateTable.encryptionKey.keyArn] })]
      : []),
    new iam.PolicyStatement({ sid: "TaskQueue", actions: [...r.taskQueue], resources: [g.taskQueue.queueArn] }),
    ...(g.taskQueue.encryptionMasterKey
      ? [new iam.PolicyStatement({ sid: "TaskQueueKey", actions: [...r.taskQueueKey], resources: [g.taskQueue.encryptionMasterKey.keyArn] })]
      : []),
    new iam.PolicyStatement({ sid: "ResultQueue", actions: [...r.resultQueue], resources: [g.resultQueue.queueArn] }),
    ...(g.resultQueue.encryptionMasterKey
      ? [new iam.PolicyStatement({ sid: "ResultQueueKey", actions: [...r.resultQueueKey], resources: [g.resultQueue.encryptionMasterKey.keyArn] })]
      : []),
  ];
  const coordinator: RoleGrants = {
    logGroup: g.coordinatorLogGroup,
    kinesis: COORDINATOR_KINESIS_ACTIONS,
    meta: COORDINATOR_META_ACTIONS,
    state: COORDINATOR_STATE_ACTIONS,
    taskQueue: COORDINATOR_TASK_QUEUE_ACTIONS,
    resultQueue: COORDINATOR_RESULT_QUEUE_ACTIONS,
    taskQueueKey: QUEUE_SEND_KMS_ACTIONS,
    resultQueueKey: QUEUE_RECEIVE_KMS_ACTIONS,
    objectsSid: "CoordinatorObjects",
    objectPrefixes: COORDINATOR_OBJECT_PREFIXES,
  };
  const worker: RoleGrants = {
    logGroup: g.workerLogGroup,
    kinesis: WORKER_KINESIS_ACTIONS,
    meta: WORKER_META_ACTIONS,
    state: WORKER_STATE_ACTIONS,
    taskQueue: WORKER_TASK_QUEUE_ACTIONS,
    resultQueue: WORKER_RESULT_QUEUE_ACTIONS,
    taskQueueKey: QUEUE_RECEIVE_KMS_ACTIONS,
    resultQueueKey: QUEUE_SEND_KMS_ACTIONS,
    objectsSid: "WorkerObjects",
    objectPrefixes: WORKER_OBJECT_PREFIXES,
  };
  const role = (id: string, what: string, r: RoleGrants) => {
    const policy = new iam.PolicyDocument({ statements: statements(r) });
    const created = new iam.Role(scope, id, {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      description: `Sparkless ${g.appName} ${what}: least privilege`,
      inlinePolicies: { Sparkless: policy },
    });
    grantObjects(g, created, policy, r);
    return created;
  };
  return { coordinatorRole: role("CoordinatorRole", "coordinator", coordinator), workerRole: role("WorkerRole", "worker", worker) };
}

/**
 * Objects: the bucket grants them in its own policy, to each role by ARN and on its prefixes only.
 * Object keys are only known at run time, so the grant needs a wildcard after the prefix; in the
 * bucket's policy it stays next to the bucket it is about. An imported bucket's policy is not ours to
 * change, so the role gets the same statement.
 */
function grantObjects(g: Grantable, role: iam.Role, policy: iam.PolicyDocument, r: RoleGrants): void {
  const objects = r.objectPrefixes.map((prefix) => g.bucket.arnForObjects(`${g.appName}/${prefix}*`));
  if (g.ownBucket) {
    g.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: `${g.appName}${r.objectsSid}`.replace(/[^A-Za-z0-9]/g, ""),
        principals: [role],
        actions: [...S3_ACTIONS],
        resources: objects,
      }),
    );
  } else {
    policy.addStatements(new iam.PolicyStatement({ sid: "BucketObjects", actions: [...S3_ACTIONS], resources: objects }));
  }
  if (g.bucket.encryptionKey) {
    policy.addStatements(new iam.PolicyStatement({ sid: "BucketKey", actions: [...BUCKET_KMS_ACTIONS], resources: [g.bucket.encryptionKey.keyArn] }));
  }
}

/**
 * The role EventBridge Scheduler assumes to invoke the coordinator: trusted only by schedules of this
 * account's default schedule group (the confused-deputy conditions AWS documents for Scheduler), allowed
 * only lambda:InvokeFunction on the coordinator's unqualified ARN. aws-scheduler-targets' LambdaInvoke
 * would also grant `<arn>:*` (every version and alias), a wildcard cdk-nag reports; the schedule gets
 * this role without policy updates instead (`withoutPolicyUpdates`), so the grant is exactly this one.
 */
export function schedulerRole(scope: Construct, appName: string, coordinator: lambda.IFunction): iam.Role {
  const stack = Stack.of(scope);
  return new iam.Role(scope, "SchedulerRole", {
    assumedBy: new iam.ServicePrincipal("scheduler.amazonaws.com", {
      conditions: {
        StringEquals: {
          "aws:SourceAccount": stack.account,
          "aws:SourceArn": stack.formatArn({ service: "scheduler", resource: "schedule-group", resourceName: "default" }),
        },
      },
    }),
    description: `Sparkless ${appName} schedule: invokes the coordinator, nothing else`,
    inlinePolicies: {
      Sparkless: new iam.PolicyDocument({
        statements: [new iam.PolicyStatement({ sid: "InvokeCoordinator", actions: [...SCHEDULER_ACTIONS], resources: [coordinator.functionArn] })],
      }),
    },
  });
}

/** A place in a user's bucket the app reads (`textFileStream`) or writes (`saveAsTextFiles`, `saveAsTextFile`). */
export interface DataLocation {
  /** The bucket's name, or the bucket itself (then its KMS key, if any, is granted too). */
  readonly bucket: string | s3.IBucket;
  /** The key prefix; "" for the whole bucket. */
  readonly prefix: string;
}

const bucketArnOf = (stack: Stack, b: string | s3.IBucket) =>
  typeof b === "string" ? stack.formatArn({ service: "s3", region: "", account: "", resource: b }) : b.bucketArn;

/**
 * Grants both function roles what the app needs at its data locations, and no more: `s3:ListBucket`
 * on the bucket only for keys under the prefix, and the object actions on `prefix*`. Reads get
 * `s3:GetObject` (textFileStream lists, then reads with If-Match); writes also `s3:PutObject` and
 * `s3:DeleteObject` (a rerun replaces a batch's parts and deletes stale ones, docs/outputs.md).
 */
export function grantDataLocations(
  scope: Construct,
  roles: readonly iam.Role[],
  reads: readonly DataLocation[],
  writes: readonly DataLocation[],
): void {
  if (reads.length + writes.length === 0) return;
  const stack = Stack.of(scope);
  const add = (statements: iam.PolicyStatement[], l: DataLocation, i: number, kind: "Read" | "Write") => {
    const arn = bucketArnOf(stack, l.bucket);
    statements.push(
      new iam.PolicyStatement({
        sid: `List${kind}${i}`,
        actions: ["s3:ListBucket"],
        resources: [arn],
        conditions: { StringLike: { "s3:prefix": [`${l.prefix}*`] } },
      }),
      new iam.PolicyStatement({
        sid: `${kind}Objects${i}`,
        actions: kind === "Read" ? ["s3:GetObject"] : ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
        resources: [`${arn}/${l.prefix}*`],
      }),
    );
    const key = typeof l.bucket === "string" ? undefined : l.bucket.encryptionKey;
    if (key)
      statements.push(
        new iam.PolicyStatement({
          sid: `${kind}Key${i}`,
          actions: kind === "Read" ? ["kms:Decrypt"] : ["kms:Decrypt", "kms:GenerateDataKey"],
          resources: [key.keyArn],
        }),
      );
  };
  for (const role of roles) {
    const statements: iam.PolicyStatement[] = [];
    reads.forEach((l, i) => add(statements, l, i, "Read"));
    writes.forEach((l, i) => add(statements, l, i, "Write"));
    role.attachInlinePolicy(new iam.Policy(scope, `${role.node.id}DataLocations`, { statements }));
  }
}
