/**
 * SparklessApp: one Sparkless app module deployed on AWS, secure by default.
 *
 * It owns everything the runtime of docs/runtime.md needs: the Kinesis input stream(s), the meta and
 * state tables, the bucket for shuffle data too large for a message and for S3 checkpoints, the task
 * queue and the result queue with their dead-letter queues (each created securely here, or an existing
 * one passed in); the coordinator function on a one-minute EventBridge Scheduler schedule and the worker
 * function behind an SQS event source mapping, both bundled with esbuild from the user's app module; one
 * least-privilege role per function (and one for the schedule); the alarms that page someone when the
 * pipeline is stuck, an optional SNS topic for them, and a dashboard. Sizes follow from the batch
 * interval (cdk/defaults.ts). The props are checked against what the app module declares.
 *
 * The constructor reads as the list of its parts, one file each: the props (cdk/props.ts), the
 * resources (cdk/resources.ts), IAM (cdk/iam.ts), the functions and their triggers (cdk/functions.ts)
 * and monitoring (cdk/monitoring.ts).
 */
import { Annotations, Duration, RemovalPolicy } from "aws-cdk-lib";
import type * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type * as iam from "aws-cdk-lib/aws-iam";
import type * as kinesis from "aws-cdk-lib/aws-kinesis";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as nodejs from "aws-cdk-lib/aws-lambda-nodejs";
import type * as logs from "aws-cdk-lib/aws-logs";
import type * as s3 from "aws-cdk-lib/aws-s3";
import type * as scheduler from "aws-cdk-lib/aws-scheduler";
import type * as sns from "aws-cdk-lib/aws-sns";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import * as cxapi from "aws-cdk-lib/cx-api";
import { Construct } from "constructs";
import { COORDINATOR_LOOP_S, MAX_LAMBDA_TIMEOUT_S, SCHEDULE_PERIOD_S, deriveSizing, type Sizing } from "./defaults.js";
import { coordinatorSchedule, functions, workerTasks } from "./functions.js";
import { parseS3Directory } from "../lib/sources/s3/file-source.js";
import { functionRoles, grantDataLocations, schedulerRole } from "./iam.js";
import { alarmList, alarms, alarmTopic, dashboard, notify, type SparklessAlarms } from "./monitoring.js";
import { validateProps, type SparklessAppProps } from "./props.js";
import { buckets, inputStreams, logGroups, queues, tables } from "./resources.js";

export * from "./iam.js";
export type { AppModuleDeclaration } from "./app-module.js";
export type { SparklessAlarms } from "./monitoring.js";
export type { InputStreamProps, SparklessAppProps, SparklessConfig } from "./props.js";

export class SparklessApp extends Construct {
  /** The app's name as deployed (SPARKLESS_APP, the metrics' App dimension): `config.name`, else `appName`. */
  public readonly appName: string;
  /** The effective batch interval: `config.batchInterval`, else `batchInterval`. */
  public readonly batchInterval: Duration;
  /** The sizes derived from the interval, before prop overrides (cdk/defaults.ts). */
  public readonly sizing: Sizing;
  /** The input streams, in the order of `inputStreams` (created or imported). */
  public readonly inputStreams: readonly kinesis.IStream[];
  /** Where checkpoint pages go (SPARKLESS_CHECKPOINT_STORE): `config.checkpointStore`, else the module's. */
  public readonly checkpointStore: "dynamodb" | "s3";
  /** The batch log, the app's info, the coordinator's lease, task claims, checkpoint manifests, quarantined records: created, or `metaTable`. */
  public readonly metaTable: dynamodb.ITable;
  /** Checkpoint pages (checkpointStore "dynamodb") and the per-key state of operators on the "dynamodb" backend: created, or `stateTable`. */
  public readonly stateTable: dynamodb.ITable;
  /** Shuffle data too large for a message and, with checkpointStore "s3", checkpoints: created, or the `bucket` prop. */
  public readonly bucket: s3.IBucket;
  /** The created bucket's server access logs; undefined when `bucket` is an existing one. */
  public readonly accessLogsBucket?: s3.Bucket;
  /** The task queue: the coordinator sends, the worker's event source mapping reads. Created, or `taskQueue`. */
  public readonly taskQueue: sqs.IQueue;
  /** Task messages received more than maxReceiveCount times: created, or the DLQ of an sqs.Queue given; undefined when unknown. */
  public readonly deadLetterQueue?: sqs.IQueue;
  /** The result queue: workers send each task's result, the coordinator reads and deletes them. Created, or `resultQueue`. */
  public readonly resultQueue: sqs.IQueue;
  /** Results the coordinator received without settling them, 5 times: created, or the DLQ of an sqs.Queue given; undefined when unknown. */
  public readonly resultDeadLetterQueue?: sqs.IQueue;
  public readonly coordinator: nodejs.NodejsFunction;
  public readonly worker: nodejs.NodejsFunction;
  public readonly coordinatorRole: iam.Role;
  public readonly workerRole: iam.Role;
  /** The role EventBridge Scheduler assumes to invoke the coordinator. */
  public readonly schedulerRole: iam.Role;
  public readonly coordinatorLogGroup: logs.LogGroup;
  public readonly workerLogGroup: logs.LogGroup;
  /** The EventBridge Scheduler schedule that invokes the coordinator every minute. */
  public readonly schedule: scheduler.Schedule;
  public readonly eventSourceMapping: lambda.EventSourceMapping;
  /** The topic the alarms notify: `alarmTopic`, or the one created for `alarmEmail`; undefined without either. */
  public readonly alarmTopic?: sns.ITopic;
  /** Every alarm, by name (cdk/monitoring.ts). */
  public readonly alarms: SparklessAlarms;
  /** Every alarm, as a list. */
  public readonly alarmList: readonly cloudwatch.Alarm[];
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: SparklessAppProps) {
    super(scope, id);
    // Server access logs are delivered under a bucket policy, not the legacy LogDeliveryWrite ACL, unless
    // the app chose otherwise (context is read by every construct below this one).
    if (this.node.tryGetContext(cxapi.S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY) === undefined) {
      this.node.setContext(cxapi.S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);
    }
    const p = validateProps(props);
    this.appName = p.appName;
    this.batchInterval = Duration.millis(p.intervalMs);
    this.checkpointStore = p.checkpointStore;
    this.sizing = deriveSizing(p.intervalMs, p.maxTaskAttempts);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const workerTimeoutS = props.workerTimeout?.toSeconds() ?? this.sizing.workerTimeoutS;
    const maxReceiveCount = props.maxReceiveCount ?? this.sizing.maxReceiveCount;

    // ---- resources: created here, or the ones given
    const input = inputStreams(this, props.inputStreams, removalPolicy);
    this.inputStreams = input.streams;
    ({ metaTable: this.metaTable, stateTable: this.stateTable } = tables(this, props, removalPolicy));
    const bucket = buckets(this, this.appName, props.bucket, removalPolicy);
    this.bucket = bucket.bucket;
    this.accessLogsBucket = bucket.accessLogsBucket;
    ({
      taskQueue: this.taskQueue,
      deadLetterQueue: this.deadLetterQueue,
      resultQueue: this.resultQueue,
      resultDeadLetterQueue: this.resultDeadLetterQueue,
    } = queues(this, props, { workerTimeoutS, maxReceiveCount }, removalPolicy));
    ({ coordinatorLogGroup: this.coordinatorLogGroup, workerLogGroup: this.workerLogGroup } = logGroups(this, props.logRetention, removalPolicy));

    // ---- IAM: exactly the actions each handler sends, on exactly its resources
    ({ coordinatorRole: this.coordinatorRole, workerRole: this.workerRole } = functionRoles(this, {
      appName: this.appName,
      streams: this.inputStreams,
      streamKeys: input.keys,
      metaTable: this.metaTable,
      stateTable: this.stateTable,
      taskQueue: this.taskQueue,
      resultQueue: this.resultQueue,
      bucket: this.bucket,
      ownBucket: bucket.ownBucket,
      coordinatorLogGroup: this.coordinatorLogGroup,
      workerLogGroup: this.workerLogGroup,
    }));

    // The app's own data: the textFileStream directories it declares (read), the output locations given (written).
    const directories = p.fileDirectories.map((d) => parseS3Directory(d));
    grantDataLocations(
      this,
      [this.coordinatorRole, this.workerRole],
      directories,
      (props.outputLocations ?? []).map((o) => ({ bucket: o.bucket, prefix: o.prefix ?? "" })),
    );

    // ---- functions and what invokes them
    ({ coordinator: this.coordinator, worker: this.worker } = functions(this, {
      appName: this.appName,
      entry: p.entry,
      batchInterval: this.batchInterval,
      environment: {
        SPARKLESS_APP: this.appName,
        SPARKLESS_META_TABLE: this.metaTable.tableName,
        SPARKLESS_STATE_TABLE: this.stateTable.tableName,
        SPARKLESS_BUCKET: this.bucket.bucketName,
        SPARKLESS_TASK_QUEUE_URL: this.taskQueue.queueUrl,
        SPARKLESS_RESULT_QUEUE_URL: this.resultQueue.queueUrl,
        SPARKLESS_CHECKPOINT_STORE: this.checkpointStore,
        SPARKLESS_CONFIG: JSON.stringify(props.config ?? {}),
        NODE_OPTIONS: "--enable-source-maps",
      },
      coordinatorMemoryMb: props.coordinatorMemorySize ?? this.sizing.coordinatorMemoryMb,
      coordinatorTimeout: props.coordinatorTimeout ?? Duration.seconds(this.sizing.coordinatorTimeoutS),
      coordinatorRole: this.coordinatorRole,
      coordinatorLogGroup: this.coordinatorLogGroup,
      workerMemoryMb: props.workerMemorySize ?? this.sizing.workerMemoryMb,
      workerTimeoutS,
      workerRole: this.workerRole,
      workerLogGroup: this.workerLogGroup,
    }));
    this.schedulerRole = schedulerRole(this, this.appName, this.coordinator);
    // Without policy updates: the role already holds exactly the invoke grant (cdk/iam.ts schedulerRole).
    this.schedule = coordinatorSchedule(this, this.appName, this.coordinator, this.schedulerRole.withoutPolicyUpdates());
    this.eventSourceMapping = workerTasks(this, this.worker, this.taskQueue, {
      batchSize: props.workerBatchSize,
      maxConcurrency: props.workerMaxConcurrency,
    });

    // ---- monitoring
    const monitored = {
      appName: this.appName,
      batchIntervalMs: p.intervalMs,
      runbookUrl: props.runbookUrl,
      streamNames: props.inputStreams.map((s) => s.streamName),
      streams: this.inputStreams,
      streamRetentionHours: input.retentionHours,
      iteratorAgeThresholds: props.inputStreams.map((s) => s.iteratorAgeAlarmThreshold),
      coordinator: this.coordinator,
      coordinatorLogGroup: this.coordinatorLogGroup,
      worker: this.worker,
      taskQueue: this.taskQueue,
      resultQueue: this.resultQueue,
      deadLetterQueue: this.deadLetterQueue,
      resultDeadLetterQueue: this.resultDeadLetterQueue,
      maxReceiveCount: props.taskQueue ? undefined : maxReceiveCount,
      schedulingDelayThreshold: props.schedulingDelayAlarmThreshold,
      lastCompletedBatchAgeThreshold: props.lastCompletedBatchAgeAlarmThreshold,
    };
    this.alarms = alarms(this, monitored);
    this.alarmList = alarmList(this.alarms);
    this.alarmTopic = alarmTopic(this, this.appName, props.alarmTopic, props.alarmEmail);
    notify(this.alarmList, this.alarmTopic);
    this.dashboard = dashboard(this, props.dashboardName ?? `Sparkless-${this.appName}`, monitored, this.alarmList);

    this.warn(props, p.unreadStreams);
  }

  /** What synthesizes but will not behave as one would expect. */
  private warn(props: SparklessAppProps, unreadStreams: readonly string[]): void {
    const coordinatorTimeoutS = props.coordinatorTimeout?.toSeconds() ?? this.sizing.coordinatorTimeoutS;
    if (coordinatorTimeoutS - this.sizing.coordinatorMarginS > SCHEDULE_PERIOD_S - 5) {
      Annotations.of(this).addWarningV2(
        "sparkless:coordinator-overlap",
        `The coordinator loops ${coordinatorTimeoutS - this.sizing.coordinatorMarginS} s per invocation (timeout ${coordinatorTimeoutS} s minus its margin ${this.sizing.coordinatorMarginS} s): the next scheduled invocation finds the lease held and does nothing. Keep it below ${SCHEDULE_PERIOD_S - 5} s.`,
      );
    }
    if (COORDINATOR_LOOP_S + this.sizing.coordinatorMarginS > MAX_LAMBDA_TIMEOUT_S) {
      Annotations.of(this).addWarningV2(
        "sparkless:long-interval",
        `A batch interval of ${this.batchInterval.toHumanString()} needs a coordinator margin of ${this.sizing.coordinatorMarginS} s, more than Lambda's ${MAX_LAMBDA_TIMEOUT_S} s timeout allows with a ${COORDINATOR_LOOP_S} s loop: batches are generated up to ${Math.ceil(this.sizing.coordinatorMarginS + COORDINATOR_LOOP_S - MAX_LAMBDA_TIMEOUT_S)} s late.`,
      );
    }
    if (props.removalPolicy === RemovalPolicy.DESTROY && (props.tableDeletionProtection ?? true) && !(props.metaTable && props.stateTable)) {
      Annotations.of(this).addWarningV2(
        "sparkless:deletion-protection",
        "removalPolicy is DESTROY but the tables have deletion protection: `cdk destroy` fails on them until it is off. Set tableDeletionProtection: false to delete them with the stack.",
      );
    }
    if (!this.deadLetterQueue || !this.resultDeadLetterQueue) {
      const which = [!this.deadLetterQueue && "taskQueue", !this.resultDeadLetterQueue && "resultQueue"].filter(Boolean).join(" and ");
      Annotations.of(this).addWarningV2(
        "sparkless:no-dlq-alarm",
        `The ${which} given ${which.includes(" and ") ? "are" : "is"} not an sqs.Queue with a deadLetterQueue, so no alarm watches its dead-letter queue. Pass the sqs.Queue itself, or alarm on its DLQ with newDeadLetters(dlq) (cdk/monitoring.ts).`,
      );
    }
    if (unreadStreams.length) {
      Annotations.of(this).addWarningV2(
        "sparkless:unread-stream",
        `The app module reads none of ${unreadStreams.join(", ")}, listed in inputStreams: the roles may read them and a created one bills by the hour. Remove them from inputStreams if the app does not need them.`,
      );
    }
  }
}
