/**
 * SparklessApp: one Sparkless app module deployed on AWS, secure by default.
 *
 * It owns everything the runtime of docs/runtime.md needs: the Kinesis input stream(s) (created or
 * imported), the task queue and its dead-letter queue (TLS only, encrypted), the meta/data/state tables
 * (TTL, point-in-time recovery, encryption at rest), the coordinator function on a one-minute schedule
 * and the worker function behind an SQS event source mapping, both bundled with esbuild from the user's
 * app module, one least-privilege role per function, and a dashboard with alarms. Sizes follow from the
 * batch interval (cdk/defaults.ts). Quarantined records live in the meta table (`app#quarantine`).
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Annotations, Duration, RemovalPolicy, Token } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kinesis from "aws-cdk-lib/aws-kinesis";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as nodejs from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { resolveConfig, type AppConfig } from "../lib/app/app.js";
import { Milliseconds } from "../lib/core/duration.js";
import { InvalidArgumentError } from "../lib/core/errors.js";
import {
  COORDINATOR_LOOP_S, DEFAULTS, MAX_LAMBDA_TIMEOUT_S, METRIC_DIMENSION, METRIC_NAMESPACE, METRICS, SCHEDULE_PERIOD_S,
  VISIBILITY_FACTOR, deriveSizing, type Sizing,
} from "./defaults.js";

/** The repository root: the handlers' entry files live under it. */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** The DynamoDB actions the stores in lib/aws/dynamodb.ts and the lease in lib/aws/engine.ts send. */
export const DYNAMODB_ACTIONS = [
  "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
  "dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem",
] as const;
/** KinesisSource.allocate (coordinator): ListShards, then GetShardIterator/GetRecords up to the shard's end. */
export const COORDINATOR_KINESIS_ACTIONS = ["kinesis:ListShards", "kinesis:GetShardIterator", "kinesis:GetRecords"] as const;
/** KinesisSource.read (worker): GetShardIterator after the block's start, GetRecords to its end. */
export const WORKER_KINESIS_ACTIONS = ["kinesis:GetShardIterator", "kinesis:GetRecords"] as const;
/** The coordinator sends the first stage's tasks of a batch it starts (SendMessageBatch needs sqs:SendMessage). */
export const COORDINATOR_SQS_ACTIONS = ["sqs:SendMessage"] as const;
/**
 * The worker: the event source mapping receives, deletes and reads the queue's attributes with the
 * function's role; the worker shortens a message's visibility for a retry and sends the next stage's tasks.
 */
export const WORKER_SQS_ACTIONS = [
  "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes", "sqs:SendMessage",
] as const;
/** Writing to the function's own log group (the group exists, so no CreateLogGroup). */
export const LOGS_ACTIONS = ["logs:CreateLogStream", "logs:PutLogEvents"] as const;

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
  /** Capacity mode of a created stream. @default StreamMode.PROVISIONED (the cheapest at rest) */
  readonly streamMode?: kinesis.StreamMode;
  /** Shards of a created PROVISIONED stream, 1–500 (the default account quota). Not allowed with ON_DEMAND. @default 1 */
  readonly shardCount?: number;
  /** Retention of a created stream, 24–8760 hours. @default Duration.hours(24) */
  readonly retentionPeriod?: Duration;
}

export interface SparklessAppProps {
  /**
   * Path of the app module (its default export is `defineApp(...)`), absolute or relative to the working
   * directory; a .ts, .mts, .js or .mjs file that exists. It is bundled into both functions as `sparkless-app`.
   */
  readonly entry: string;
  /** The app's name, as the module's `defineApp({ name })` gives it: 1–48 characters of [a-zA-Z0-9-]. */
  readonly appName: string;
  /** The module's batch interval: 1 s – 15 min. Sizes are derived from it (or from `config.batchInterval`). */
  readonly batchInterval: Duration;
  /** The module's attempts per task, 1–100; sets the DLQ's maxReceiveCount. @default 4 */
  readonly maxTaskAttempts?: number;
  /** Pipeline settings passed as SPARKLESS_CONFIG; they override the module's without a code change. @default {} */
  readonly config?: SparklessConfig;
  /** The Kinesis streams the app reads: at least one, names unique. */
  readonly inputStreams: readonly InputStreamProps[];
  /** Memory of the coordinator, 128–10240 MB. @default 256/512/1024 MB for intervals up to 10 s/60 s/beyond */
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
  /** Receives of a task message before SQS moves it to the DLQ, from maxTaskAttempts + 1 to 1000. @default max(10, 2 × maxTaskAttempts + 2) */
  readonly maxReceiveCount?: number;
  /** Retention of both functions' log groups. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** What deleting the stack does to the tables, created streams, queues and log groups. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** The scheduling delay that raises the alarm when exceeded for 5 minutes in a row, 1 s – 1 h. @default max(30 s, 5 intervals) */
  readonly schedulingDelayAlarmThreshold?: Duration;
  /** The dashboard's name: 1–255 characters of [a-zA-Z0-9_-]. @default `Sparkless-${appName}` */
  readonly dashboardName?: string;
}

/** The alarms of one app; add actions (SNS, ...) with `alarm.addAlarmAction`. */
export interface SparklessAlarms {
  /** The scheduling delay stayed above the threshold for 5 minutes: the app is falling behind. */
  readonly schedulingDelay: cloudwatch.Alarm;
  /** A task message reached the dead-letter queue. */
  readonly deadLetterQueue: cloudwatch.Alarm;
  /** Records were quarantined (undecodable input). */
  readonly quarantinedRecords: cloudwatch.Alarm;
}

// ---------------------------------------------------------------------------------------------
// validation: every message names the prop, the allowed range and the value received

function fail(message: string): never {
  throw new InvalidArgumentError(message);
}
function shown(value: unknown): string {
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

const CONFIG_KEYS = new Set(["name", "batchInterval", "defaultParallelism", "maxTaskAttempts"]);
const STREAM_NAME = /^[a-zA-Z0-9_.-]{1,128}$/;
const APP_NAME = /^[a-zA-Z0-9-]{1,48}$/;

export class SparklessApp extends Construct {
  /** The app's name as deployed (SPARKLESS_APP): `config.name`, else `appName`. */
  public readonly appName: string;
  /** The effective batch interval: `config.batchInterval`, else `batchInterval`. */
  public readonly batchInterval: Duration;
  /** The sizes derived from the interval, before prop overrides (cdk/defaults.ts). */
  public readonly sizing: Sizing;
  /** The input streams, in the order of `inputStreams` (created or imported). */
  public readonly inputStreams: readonly kinesis.IStream[];
  /** Batch log, task completions and claims, the coordinator's lease, quarantined records. */
  public readonly metaTable: dynamodb.Table;
  /** Shuffle output and materialized blocks. */
  public readonly dataTable: dynamodb.Table;
  /** Versioned keyed state. */
  public readonly stateTable: dynamodb.Table;
  /** The task queue the worker's event source mapping reads. */
  public readonly taskQueue: sqs.Queue;
  /** Task messages received more than maxReceiveCount times. */
  public readonly deadLetterQueue: sqs.Queue;
  public readonly coordinator: nodejs.NodejsFunction;
  public readonly worker: nodejs.NodejsFunction;
  public readonly coordinatorRole: iam.Role;
  public readonly workerRole: iam.Role;
  public readonly coordinatorLogGroup: logs.LogGroup;
  public readonly workerLogGroup: logs.LogGroup;
  /** The rule that invokes the coordinator every minute. */
  public readonly schedule: events.Rule;
  public readonly eventSourceMapping: lambda.EventSourceMapping;
  public readonly dashboard: cloudwatch.Dashboard;
  public readonly alarms: SparklessAlarms;

  constructor(scope: Construct, id: string, props: SparklessAppProps) {
    super(scope, id);
    const p = this.validate(props);
    this.appName = p.appName;
    this.batchInterval = Duration.millis(p.intervalMs);
    this.sizing = deriveSizing(p.intervalMs, p.maxTaskAttempts);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;

    // ---- input
    this.inputStreams = props.inputStreams.map((s, i) => s.stream ?? new kinesis.Stream(this, `Input${i}`, {
      streamName: s.streamName,
      streamMode: s.streamMode ?? kinesis.StreamMode.PROVISIONED,
      ...((s.streamMode ?? kinesis.StreamMode.PROVISIONED) === kinesis.StreamMode.PROVISIONED ? { shardCount: s.shardCount ?? DEFAULTS.shardCount } : {}),
      retentionPeriod: s.retentionPeriod ?? Duration.hours(DEFAULTS.retentionHours),
      encryption: kinesis.StreamEncryption.MANAGED,
      removalPolicy,
    }));

    // ---- tables (docs/runtime.md "DynamoDB: tables and items")
    const table = (id: string) => new dynamodb.Table(this, id, {
      partitionKey: { name: "pk", type: dynamodb.AttributeType.STRING },
      sortKey: { name: "sk", type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: "ttl",
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy,
    });
    this.metaTable = table("MetaTable");
    this.dataTable = table("DataTable");
    this.stateTable = table("StateTable");
    const tables = [this.metaTable, this.dataTable, this.stateTable];

    // ---- queues
    const workerTimeoutS = props.workerTimeout?.toSeconds() ?? this.sizing.workerTimeoutS;
    this.deadLetterQueue = new sqs.Queue(this, "TaskDeadLetterQueue", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(DEFAULTS.dlqRetentionDays),
      removalPolicy,
    });
    this.taskQueue = new sqs.Queue(this, "TaskQueue", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(VISIBILITY_FACTOR * workerTimeoutS),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? this.sizing.maxReceiveCount },
      removalPolicy,
    });

    // ---- roles: exactly the actions each handler sends, on exactly its resources
    const logGroup = (id: string) => new logs.LogGroup(this, id, { retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH, removalPolicy });
    this.coordinatorLogGroup = logGroup("CoordinatorLogs");
    this.workerLogGroup = logGroup("WorkerLogs");
    const streamArns = this.inputStreams.map((s) => s.streamArn);
    const streamKeys = this.inputStreams.flatMap((s) => (s.encryptionKey ? [s.encryptionKey.keyArn] : []));
    const statements = (logGroupArn: string, kinesisActions: readonly string[], sqsActions: readonly string[]) => [
      new iam.PolicyStatement({ sid: "Logs", actions: [...LOGS_ACTIONS], resources: [logGroupArn] }),
      new iam.PolicyStatement({ sid: "ReadInputStreams", actions: [...kinesisActions], resources: streamArns }),
      ...(streamKeys.length ? [new iam.PolicyStatement({ sid: "DecryptInputStreams", actions: ["kms:Decrypt"], resources: streamKeys })] : []),
      new iam.PolicyStatement({ sid: "Tables", actions: [...DYNAMODB_ACTIONS], resources: tables.map((t) => t.tableArn) }),
      new iam.PolicyStatement({ sid: "TaskQueue", actions: [...sqsActions], resources: [this.taskQueue.queueArn] }),
    ];
    const role = (id: string, what: string, policy: iam.PolicyStatement[]) => new iam.Role(this, id, {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      description: `Sparkless ${this.appName} ${what}: least privilege`,
      inlinePolicies: { Sparkless: new iam.PolicyDocument({ statements: policy }) },
    });
    this.coordinatorRole = role("CoordinatorRole", "coordinator", statements(this.coordinatorLogGroup.logGroupArn, COORDINATOR_KINESIS_ACTIONS, COORDINATOR_SQS_ACTIONS));
    this.workerRole = role("WorkerRole", "worker", statements(this.workerLogGroup.logGroupArn, WORKER_KINESIS_ACTIONS, WORKER_SQS_ACTIONS));

    // ---- functions
    const environment: Record<string, string> = {
      SPARKLESS_APP: this.appName,
      SPARKLESS_META_TABLE: this.metaTable.tableName,
      SPARKLESS_DATA_TABLE: this.dataTable.tableName,
      SPARKLESS_STATE_TABLE: this.stateTable.tableName,
      SPARKLESS_TASK_QUEUE_URL: this.taskQueue.queueUrl,
      SPARKLESS_CONFIG: JSON.stringify(props.config ?? {}),
      NODE_OPTIONS: "--enable-source-maps",
    };
    const fn = (id: string, entry: string, memorySize: number, timeout: Duration, fnRole: iam.Role, logGroupOf: logs.LogGroup, extra: Partial<nodejs.NodejsFunctionProps>) =>
      new nodejs.NodejsFunction(this, id, {
        entry: path.join(ROOT, entry),
        handler: "handler",
        runtime: lambda.Runtime.NODEJS_24_X,
        architecture: lambda.Architecture.ARM_64,
        memorySize,
        timeout,
        role: fnRole,
        logGroup: logGroupOf,
        environment,
        projectRoot: ROOT,
        depsLockFilePath: path.join(ROOT, "package-lock.json"),
        bundling: {
          format: nodejs.OutputFormat.ESM,
          minify: true,
          sourceMap: true,
          sourcesContent: false,
          // The whole bundle, SDK included: versions pinned by our lockfile, not by the runtime's copy.
          bundleAwsSDK: true,
          externalModules: [],
          // ESM output: give bundled CommonJS code a `require` for Node's built-ins.
          banner: "import { createRequire as __sparklessCreateRequire } from 'node:module'; const require = __sparklessCreateRequire(import.meta.url);",
          esbuildArgs: { "--alias": [`sparkless-app=${p.entry}`] },
        },
        ...extra,
      });
    this.coordinator = fn(
      "Coordinator", "functions/coordinator/index.ts",
      props.coordinatorMemorySize ?? this.sizing.coordinatorMemoryMb,
      props.coordinatorTimeout ?? Duration.seconds(this.sizing.coordinatorTimeoutS),
      this.coordinatorRole, this.coordinatorLogGroup,
      {
        description: `Sparkless ${this.appName}: generates a batch every ${this.batchInterval.toHumanString()} for ${COORDINATOR_LOOP_S} s of each minute`,
        // A failed invocation is not retried: the next scheduled one takes over and catches up.
        retryAttempts: 0,
        maxEventAge: Duration.seconds(SCHEDULE_PERIOD_S),
      },
    );
    this.worker = fn(
      "Worker", "functions/worker/index.ts",
      props.workerMemorySize ?? this.sizing.workerMemoryMb,
      Duration.seconds(workerTimeoutS),
      this.workerRole, this.workerLogGroup,
      { description: `Sparkless ${this.appName}: runs the tasks delivered from the task queue` },
    );

    this.schedule = new events.Rule(this, "CoordinatorSchedule", {
      description: `Keeps the Sparkless ${this.appName} coordinator running: one invocation a minute`,
      schedule: events.Schedule.rate(Duration.seconds(SCHEDULE_PERIOD_S)),
      targets: [new targets.LambdaFunction(this.coordinator, { retryAttempts: 0, maxEventAge: Duration.seconds(SCHEDULE_PERIOD_S) })],
    });

    this.eventSourceMapping = new lambda.EventSourceMapping(this, "WorkerTasks", {
      target: this.worker,
      eventSourceArn: this.taskQueue.queueArn,
      batchSize: props.workerBatchSize ?? DEFAULTS.workerBatchSize,
      reportBatchItemFailures: true,
      maxConcurrency: props.workerMaxConcurrency ?? DEFAULTS.workerMaxConcurrency,
    });

    // ---- monitoring
    const dims = { [METRIC_DIMENSION]: this.appName };
    const metric = (metricName: string, statistic: string, label?: string) =>
      new cloudwatch.Metric({ namespace: METRIC_NAMESPACE, metricName, dimensionsMap: dims, statistic, period: Duration.minutes(1), ...(label ? { label } : {}) });
    const schedulingDelay = metric(METRICS.schedulingDelay, "Maximum", "scheduling delay (max)");
    const processingTime = metric(METRICS.processingTime, "Average", "processing time (avg)");
    const totalDelay = metric(METRICS.totalDelay, "Average", "total delay (avg)");
    const inputRecords = metric(METRICS.inputRecords, "Sum", "input records");
    const quarantined = metric(METRICS.quarantinedRecords, "Sum", "quarantined records");
    const dlqDepth = this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: "Maximum", period: Duration.minutes(1), label: "DLQ messages" });
    const iteratorAges = this.inputStreams.map((s, i) => s.metricGetRecordsIteratorAgeMilliseconds({
      statistic: "Maximum", period: Duration.minutes(1), label: `${props.inputStreams[i]!.streamName} iterator age (max)`,
    }));

    const thresholdMs = props.schedulingDelayAlarmThreshold?.toMilliseconds() ?? Math.max(30_000, 5 * p.intervalMs);
    this.alarms = {
      schedulingDelay: new cloudwatch.Alarm(this, "SchedulingDelayAlarm", {
        alarmDescription: `Sparkless ${this.appName}: batches start more than ${thresholdMs} ms after their time for 5 minutes; the app is falling behind its input.`,
        // Alarms take the metric without its dashboard label: a label would render it as metric math.
        metric: metric(METRICS.schedulingDelay, "Maximum"),
        threshold: thresholdMs,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 5,
        datapointsToAlarm: 5,
        treatMissingData: cloudwatch.TreatMissingData.MISSING,
      }),
      deadLetterQueue: new cloudwatch.Alarm(this, "DeadLetterQueueAlarm", {
        alarmDescription: `Sparkless ${this.appName}: a task message reached the dead-letter queue.`,
        metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: "Maximum", period: Duration.minutes(1) }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      quarantinedRecords: new cloudwatch.Alarm(this, "QuarantinedRecordsAlarm", {
        alarmDescription: `Sparkless ${this.appName}: input records could not be decoded and were quarantined (meta table, pk ${this.appName}#quarantine).`,
        metric: metric(METRICS.quarantinedRecords, "Sum"),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    };

    this.dashboard = new cloudwatch.Dashboard(this, "Dashboard", {
      dashboardName: props.dashboardName ?? `Sparkless-${this.appName}`,
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Batch timeline: delays (ms) and input records",
        left: [schedulingDelay, processingTime, totalDelay],
        right: [inputRecords],
        leftYAxis: { label: "ms", showUnits: false, min: 0 },
        rightYAxis: { label: "records", showUnits: false, min: 0 },
        width: 24,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: "Quarantined records", left: [quarantined], width: 8 }),
      new cloudwatch.GraphWidget({ title: "Dead-letter queue depth", left: [dlqDepth], width: 8 }),
      new cloudwatch.GraphWidget({ title: "Kinesis iterator age (ms)", left: iteratorAges, width: 8 }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: "Functions: errors and throttles",
        left: [this.coordinator.metricErrors({ label: "coordinator errors" }), this.worker.metricErrors({ label: "worker errors" }), this.worker.metricThrottles({ label: "worker throttles" })],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: "Task queue",
        left: [this.taskQueue.metricApproximateNumberOfMessagesVisible({ label: "visible" }), this.taskQueue.metricApproximateAgeOfOldestMessage({ label: "oldest (s)" })],
        width: 12,
      }),
    );
    this.dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({
      title: "Alarms", alarms: [this.alarms.schedulingDelay, this.alarms.deadLetterQueue, this.alarms.quarantinedRecords], width: 24,
    }));

    const coordinatorTimeoutS = props.coordinatorTimeout?.toSeconds() ?? this.sizing.coordinatorTimeoutS;
    if (coordinatorTimeoutS - this.sizing.coordinatorMarginS > SCHEDULE_PERIOD_S - 5) {
      Annotations.of(this).addWarningV2("sparkless:coordinator-overlap",
        `The coordinator loops ${coordinatorTimeoutS - this.sizing.coordinatorMarginS} s per invocation (timeout ${coordinatorTimeoutS} s minus its margin ${this.sizing.coordinatorMarginS} s): the next scheduled invocation finds the lease held and does nothing. Keep it below ${SCHEDULE_PERIOD_S - 5} s.`);
    }
    if (COORDINATOR_LOOP_S + this.sizing.coordinatorMarginS > MAX_LAMBDA_TIMEOUT_S) {
      Annotations.of(this).addWarningV2("sparkless:long-interval",
        `A batch interval of ${this.batchInterval.toHumanString()} needs a coordinator margin of ${this.sizing.coordinatorMarginS} s, more than Lambda's ${MAX_LAMBDA_TIMEOUT_S} s timeout allows with a ${COORDINATOR_LOOP_S} s loop: batches are generated up to ${Math.ceil(this.sizing.coordinatorMarginS + COORDINATOR_LOOP_S - MAX_LAMBDA_TIMEOUT_S)} s late.`);
    }
  }

  /** Checks every prop; returns the effective name, interval and task attempts. */
  private validate(props: SparklessAppProps): { entry: string; appName: string; intervalMs: number; maxTaskAttempts: number } {
    if (typeof props.entry !== "string" || !/\.(ts|mts|js|mjs)$/.test(props.entry)) {
      fail(`Expected \`entry\` to be the path of the app module (.ts, .mts, .js or .mjs), got ${shown(props.entry)}.`);
    }
    const entry = path.resolve(props.entry);
    if (!existsSync(entry)) fail(`Expected \`entry\` to be an existing app module, got ${shown(props.entry)} (resolved to ${entry}, which does not exist).`);
    if (typeof props.appName !== "string" || !APP_NAME.test(props.appName)) {
      fail(`Expected \`appName\` to be 1 to 48 characters of [a-zA-Z0-9-], got ${shown(props.appName)}.`);
    }
    if (!(props.batchInterval instanceof Duration)) fail(`Expected \`batchInterval\` to be a Duration, got ${shown(props.batchInterval)}.`);
    checkInt("maxTaskAttempts", props.maxTaskAttempts, 1, 100);
    const config = props.config ?? {};
    if (typeof config !== "object" || config === null || Array.isArray(config)) fail(`Expected \`config\` to be an object like {"batchInterval":"5s"}, got ${shown(config)}.`);
    const unknown = Object.keys(config).filter((k) => !CONFIG_KEYS.has(k));
    if (unknown.length) fail(`Expected \`config\` to have only the fields ${[...CONFIG_KEYS].join(", ")}, got ${shown(config)} (unknown: ${unknown.join(", ")}).`);
    // The same checks (and messages) as the handlers apply when they read SPARKLESS_CONFIG.
    const resolved = resolveConfig(
      { name: props.appName, batchInterval: Milliseconds(props.batchInterval.toMilliseconds()), maxTaskAttempts: props.maxTaskAttempts ?? 4 },
      config as Partial<AppConfig>,
    );
    const intervalMs = resolved.batchInterval.milliseconds;
    if (intervalMs < 1000 || intervalMs > 900_000) {
      fail(`Expected the batch interval to be from 1 s to 15 min on AWS, got ${intervalMs} ms${config.batchInterval !== undefined ? ` (config.batchInterval ${shown(config.batchInterval)})` : ""}.`);
    }
    checkInt("maxTaskAttempts", resolved.maxTaskAttempts, 1, 100);

    if (!Array.isArray(props.inputStreams) || props.inputStreams.length === 0) {
      fail(`Expected \`inputStreams\` to list at least one Kinesis stream, got ${shown(props.inputStreams)}.`);
    }
    const seen = new Set<string>();
    props.inputStreams.forEach((s, i) => {
      const at = `inputStreams[${i}]`;
      if (typeof s.streamName !== "string" || !STREAM_NAME.test(s.streamName)) fail(`Expected \`${at}.streamName\` to be 1 to 128 characters of [a-zA-Z0-9_.-], got ${shown(s.streamName)}.`);
      if (seen.has(s.streamName)) fail(`Expected the names in \`inputStreams\` to be unique, got ${shown(s.streamName)} twice.`);
      seen.add(s.streamName);
      if (s.stream) {
        if (s.streamMode !== undefined || s.shardCount !== undefined || s.retentionPeriod !== undefined) {
          fail(`Expected \`${at}\` to give either \`stream\` (an existing stream) or the props to create one, got both (streamName ${shown(s.streamName)}).`);
        }
        if (!Token.isUnresolved(s.stream.streamName) && s.stream.streamName !== s.streamName) {
          fail(`Expected the existing stream of \`${at}\` to be named ${shown(s.streamName)} as the app module reads it, got ${shown(s.stream.streamName)}.`);
        }
        return;
      }
      if (s.streamMode === kinesis.StreamMode.ON_DEMAND && s.shardCount !== undefined) {
        fail(`Expected no \`${at}.shardCount\` with StreamMode.ON_DEMAND (on-demand streams scale themselves), got ${shown(s.shardCount)}.`);
      }
      checkInt(`${at}.shardCount`, s.shardCount, 1, 500);
      checkSeconds(`${at}.retentionPeriod`, s.retentionPeriod, 24 * 3600, 8760 * 3600);
    });

    checkInt("coordinatorMemorySize", props.coordinatorMemorySize, 128, 10_240, " MB");
    checkInt("workerMemorySize", props.workerMemorySize, 128, 10_240, " MB");
    checkSeconds("coordinatorTimeout", props.coordinatorTimeout, 10, MAX_LAMBDA_TIMEOUT_S);
    checkSeconds("workerTimeout", props.workerTimeout, 1, MAX_LAMBDA_TIMEOUT_S);
    if (props.workerTimeout && !Number.isInteger(props.workerTimeout.toSeconds({ integral: false }))) {
      fail(`Expected \`workerTimeout\` to be whole seconds (SQS visibility is in seconds), got ${props.workerTimeout.toHumanString()}.`);
    }
    checkInt("workerBatchSize", props.workerBatchSize, 1, 10);
    checkInt("workerMaxConcurrency", props.workerMaxConcurrency, 2, 1000);
    checkInt("maxReceiveCount", props.maxReceiveCount, resolved.maxTaskAttempts + 1, 1000);
    checkSeconds("schedulingDelayAlarmThreshold", props.schedulingDelayAlarmThreshold, 1, 3600);
    if (props.dashboardName !== undefined && !/^[a-zA-Z0-9_-]{1,255}$/.test(props.dashboardName)) {
      fail(`Expected \`dashboardName\` to be 1 to 255 characters of [a-zA-Z0-9_-], got ${shown(props.dashboardName)}.`);
    }
    return { entry, appName: resolved.name, intervalMs, maxTaskAttempts: resolved.maxTaskAttempts };
  }
}
