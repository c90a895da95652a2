/**
 * What tells a team that one app needs a person: the alarms (each with what it means and the runbook
 * section in its description), the optional SNS topic they notify, and the dashboard. Thresholds and
 * evaluations come from cdk/defaults.ts, where each is explained.
 *
 * The app's own metrics come from the coordinator as CloudWatch embedded metric format documents
 * (lib/observability/metrics.ts): namespace Sparkless, the single dimension App = the app's name, which
 * is why the construct refuses an `appName` other than the module's.
 */
import { ArnFormat, Duration, Stack } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kinesis from "aws-cdk-lib/aws-kinesis";
import type * as logs from "aws-cdk-lib/aws-logs";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as sns from "aws-cdk-lib/aws-sns";
import * as subscriptions from "aws-cdk-lib/aws-sns-subscriptions";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import { REQUESTS_LOG_MESSAGE } from "../lib/observability/cost.js";
import {
  ALARM_PERIOD_S,
  BATCH_FAILED_EVALUATION,
  COORDINATOR_FAILURE_EVALUATION,
  DEFAULTS,
  ITERATOR_AGE_EVALUATION,
  LAST_BATCH_AGE_EVALUATION,
  METRIC_DIMENSION,
  METRIC_NAMESPACE,
  METRICS,
  RUNBOOK_SECTIONS,
  RUNBOOK_URL,
  SCHEDULING_DELAY_EVALUATION,
  iteratorAgeThresholdMs,
  lastBatchAgeThresholdMs,
  schedulingDelayPeriodS,
  schedulingDelayThresholdMs,
} from "./defaults.js";

/** Every alarm of one app. Each notifies `alarmTopic` (or the topic created for `alarmEmail`) when it goes to ALARM. */
export interface SparklessAlarms {
  /** BatchFailed ≥ 1: a batch failed and the app is stopped on it until `sparkless retry`. */
  readonly batchFailed: cloudwatch.Alarm;
  /** LastCompletedBatchAge above its threshold, or not reported at all: batches stopped, or no coordinator runs. */
  readonly lastCompletedBatchAge: cloudwatch.Alarm;
  /** The scheduling delay stayed above its threshold for 5 periods: the app is falling behind its input. */
  readonly schedulingDelay: cloudwatch.Alarm;
  /** The coordinator function's Lambda Errors in 2 of 3 minutes. */
  readonly coordinatorErrors: cloudwatch.Alarm;
  /** The coordinator function's Lambda Throttles in 2 of 3 minutes. */
  readonly coordinatorThrottles: cloudwatch.Alarm;
  /** Per input stream, in the order of `inputStreams`: its input is older than a quarter of its retention. */
  readonly inputIteratorAge: readonly cloudwatch.Alarm[];
  /** New messages in the task DLQ; undefined when the task queue was given without a known DLQ. */
  readonly deadLetterQueue?: cloudwatch.Alarm;
  /** New messages in the result DLQ; undefined when the result queue was given without a known DLQ. */
  readonly resultDeadLetterQueue?: cloudwatch.Alarm;
  /** Records were quarantined. */
  readonly quarantinedRecords: cloudwatch.Alarm;
}

/** The alarms as a list, in a stable order (the dashboard's, and the one to iterate for actions). */
export function alarmList(a: SparklessAlarms): cloudwatch.Alarm[] {
  return [
    a.batchFailed,
    a.lastCompletedBatchAge,
    a.coordinatorErrors,
    a.coordinatorThrottles,
    ...a.inputIteratorAge,
    ...(a.deadLetterQueue ? [a.deadLetterQueue] : []),
    ...(a.resultDeadLetterQueue ? [a.resultDeadLetterQueue] : []),
    a.schedulingDelay,
    a.quarantinedRecords,
  ];
}

/**
 * The topic the alarms notify: the one given, or, for `alarmEmail` alone, a created one, TLS only
 * (cdk-nag AwsSolutions-SNS3) with a policy that lets only this account's CloudWatch alarms publish
 * (`enforceSSL` makes the topic's policy explicit, so the allow must be too). It is not encrypted with
 * KMS: CloudWatch cannot publish to a topic under the AWS managed key aws/sns, a customer managed key
 * costs about $1 a month, and a notification carries the alarm's name and state, no data of the app.
 * Pass your own `alarmTopic` where rules require SSE (its key policy must then let
 * cloudwatch.amazonaws.com use the key: https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services).
 */
export function alarmTopic(scope: Construct, appName: string, given: sns.ITopic | undefined, email: string | undefined): sns.ITopic | undefined {
  let topic = given;
  if (!topic && email) {
    const stack = Stack.of(scope);
    const created = new sns.Topic(scope, "AlarmTopic", { displayName: `Sparkless ${appName} alarms`, enforceSSL: true });
    created.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "CloudWatchAlarmsPublish",
        principals: [new iam.ServicePrincipal("cloudwatch.amazonaws.com")],
        actions: ["sns:Publish"],
        resources: [created.topicArn],
        conditions: {
          StringEquals: { "aws:SourceAccount": stack.account },
          ArnLike: {
            "aws:SourceArn": stack.formatArn({
              service: "cloudwatch",
              resource: "alarm",
              resourceName: "*",
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );
    topic = created;
  }
  if (topic && email) topic.addSubscription(new subscriptions.EmailSubscription(email));
  return topic;
}

export interface MonitoredResources {
  readonly appName: string;
  readonly batchIntervalMs: number;
  readonly runbookUrl?: string;
  readonly streamNames: readonly string[];
  readonly streams: readonly kinesis.IStream[];
  readonly streamRetentionHours: readonly number[];
  readonly iteratorAgeThresholds: readonly (Duration | undefined)[];
  readonly coordinator: lambda.IFunction;
  /** Where the coordinator's "requests per batch" lines go (the cost widget queries them). @default no such widget */
  readonly coordinatorLogGroup?: logs.ILogGroup;
  readonly worker: lambda.IFunction;
  readonly taskQueue: sqs.IQueue;
  readonly resultQueue: sqs.IQueue;
  readonly deadLetterQueue?: sqs.IQueue;
  readonly resultDeadLetterQueue?: sqs.IQueue;
  readonly maxReceiveCount?: number;
  readonly schedulingDelayThreshold?: Duration;
  readonly lastCompletedBatchAgeThreshold?: Duration;
}

const minute = Duration.seconds(ALARM_PERIOD_S);

/** One of the app's own metrics (namespace Sparkless, dimension App), for an alarm: no label, or it renders as metric math. */
function appMetric(appName: string, metricName: string, statistic: string, period: Duration = minute, label?: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRIC_NAMESPACE,
    metricName,
    dimensionsMap: { [METRIC_DIMENSION]: appName },
    statistic,
    period,
    ...(label ? { label } : {}),
  });
}

/**
 * New messages in a DLQ over the last minute, from its depth: DIFF(FILL(FILL(depth, REPEAT), 0)) > 0.
 *
 * Not NumberOfMessagesSent: SQS does not count a message it moves to a DLQ under a redrive policy in the
 * DLQ's NumberOfMessagesSent, only messages sent to it by a SendMessage call
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html#sqs-dlq-number-of-messages),
 * so that metric never sees a dead-lettered task. And not the depth itself (depth ≥ 1): a message stays
 * for the DLQ's 14 days, holding the alarm in ALARM that long and hiding every later failure. The
 * change of ApproximateNumberOfMessagesVisible (maximum per minute) rises exactly when messages arrive.
 * FILL(…, REPEAT) carries the last depth over a missing data point, so a gap does not read as the depth
 * dropping to 0 and coming back; the outer FILL(…, 0) covers a DLQ that has been empty and untouched
 * for over six hours, which SQS stops reporting ("inactive" queues,
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-monitoring-using-cloudwatch.html),
 * so the first message after such a quiet spell still counts as a rise from 0. Depth falling (a redrive
 * out, a purge, expiry) is negative and never alarms. ApproximateNumberOfMessagesNotVisible is left out:
 * receiving a message to inspect it would otherwise not move the sum, but that metric is known to read 1
 * on an empty DLQ (cdklabs/construct-hub#1779); inspect with a visibility timeout of 0 instead.
 */
export function newDeadLetters(dlq: sqs.IQueue, label: string): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: "DIFF(FILL(FILL(depth, REPEAT), 0))",
    usingMetrics: { depth: dlq.metricApproximateNumberOfMessagesVisible({ statistic: "Maximum", period: minute }) },
    period: minute,
    label,
  });
}

/** Every alarm of the app. */
export function alarms(scope: Construct, r: MonitoredResources): SparklessAlarms {
  const app = r.appName;
  const runbook = (section: string) => `Runbook: ${r.runbookUrl ?? RUNBOOK_URL}#${section}`;
  const describe = (what: string, section: string) => `Sparkless ${app}: ${what} ${runbook(section)}`;

  const ageThresholdMs = r.lastCompletedBatchAgeThreshold?.toMilliseconds() ?? lastBatchAgeThresholdMs(r.batchIntervalMs);
  const delayThresholdMs = r.schedulingDelayThreshold?.toMilliseconds() ?? schedulingDelayThresholdMs(r.batchIntervalMs);
  const delayPeriodS = schedulingDelayPeriodS(r.batchIntervalMs);

  const inputIteratorAge = r.streams.map((stream, i) => {
    const name = r.streamNames[i]!;
    const thresholdMs = r.iteratorAgeThresholds[i]?.toMilliseconds() ?? iteratorAgeThresholdMs(r.streamRetentionHours[i]!);
    return new cloudwatch.Alarm(scope, `InputIteratorAgeAlarm${i}`, {
      alarmDescription: describe(
        `the input of stream ${name} is older than ${thresholdMs / 3_600_000} h (GetRecords.IteratorAgeMilliseconds, maximum) for 5 minutes in a row. ` +
          `Kinesis trims records older than the stream's retention (${r.streamRetentionHours[i]} h unless raised) whether they were processed or not: the app is that far behind, or stopped and now replaying, and is about to lose input.`,
        RUNBOOK_SECTIONS.inputIteratorAge,
      ),
      // The coordinator (and workers, for fanned-out batches) read with GetRecords (lib/aws/kinesis.ts),
      // which is what this stream-level metric measures: "the age of the last record in all GetRecords
      // calls made against a Kinesis stream" (https://docs.aws.amazon.com/streams/latest/dev/monitoring-with-cloudwatch.html).
      metric: stream.metricGetRecordsIteratorAgeMilliseconds({ statistic: "Maximum", period: minute }),
      threshold: thresholdMs,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      ...ITERATOR_AGE_EVALUATION,
      // No reads, no data: a coordinator that stopped reading is the LastCompletedBatchAge alarm's.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  });

  const dlqAlarm = (id: string, dlq: sqs.IQueue | undefined, what: string, section: string) =>
    dlq &&
    new cloudwatch.Alarm(scope, id, {
      alarmDescription: describe(
        `new messages arrived in the last minute in the ${what}. The alarm counts arrivals, not the messages already there (kept up to 14 days), so it fires again on every new failure.`,
        section,
      ),
      metric: newDeadLetters(dlq, `new messages in the ${what}`),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

  return {
    batchFailed: new cloudwatch.Alarm(scope, "BatchFailedAlarm", {
      alarmDescription: describe(
        "a batch failed and the app is stopped on it: no later batch runs until `sparkless retry`, and Kinesis keeps the unprocessed input only for the stream's retention.",
        RUNBOOK_SECTIONS.batchFailed,
      ),
      metric: appMetric(app, METRICS.batchFailed, "Sum"),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      ...BATCH_FAILED_EVALUATION,
      // Reported only while a batch is failed: no data is the normal state.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
    lastCompletedBatchAge: new cloudwatch.Alarm(scope, "LastCompletedBatchAgeAlarm", {
      alarmDescription: describe(
        `no batch completed in the last ${ageThresholdMs / 1000} s, or no coordinator reported at all, in 2 of the last 3 minutes: ` +
          "the pipeline is stopped (a failed batch, a coordinator that fails or is not invoked) or stuck on a batch.",
        RUNBOOK_SECTIONS.batchesStopped,
      ),
      metric: appMetric(app, METRICS.lastCompletedBatchAge, "Maximum"),
      threshold: ageThresholdMs,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      ...LAST_BATCH_AGE_EVALUATION,
      // Every running coordinator reports at least every 10 s: no data means none runs.
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    }),
    schedulingDelay: new cloudwatch.Alarm(scope, "SchedulingDelayAlarm", {
      alarmDescription: describe(
        `batches started more than ${delayThresholdMs / 1000} s after their time for ${SCHEDULING_DELAY_EVALUATION.evaluationPeriods} periods of ${delayPeriodS} s in a row: ` +
          "the app is falling behind its input while batches still complete.",
        RUNBOOK_SECTIONS.schedulingDelay,
      ),
      metric: appMetric(app, METRICS.schedulingDelay, "Maximum", Duration.seconds(delayPeriodS)),
      threshold: delayThresholdMs,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      ...SCHEDULING_DELAY_EVALUATION,
      // Batches that stop report no delay at all: that is the LastCompletedBatchAge alarm's to report, so
      // here a period without batches counts as fine (OK, never stuck in INSUFFICIENT_DATA).
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
    coordinatorErrors: new cloudwatch.Alarm(scope, "CoordinatorErrorsAlarm", {
      alarmDescription: describe(
        "the coordinator function failed (Lambda Errors: an exception, a timeout or running out of memory) in 2 of the last 3 minutes; batches do not advance while it fails.",
        RUNBOOK_SECTIONS.coordinatorErrors,
      ),
      metric: r.coordinator.metricErrors({ statistic: "Sum", period: minute }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      ...COORDINATOR_FAILURE_EVALUATION,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
    coordinatorThrottles: new cloudwatch.Alarm(scope, "CoordinatorThrottlesAlarm", {
      alarmDescription: describe(
        "Lambda throttled the coordinator's scheduled invocations (no concurrency left in the account or region) in 2 of the last 3 minutes; no batch runs while it lasts.",
        RUNBOOK_SECTIONS.coordinatorThrottles,
      ),
      metric: r.coordinator.metricThrottles({ statistic: "Sum", period: minute }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      ...COORDINATOR_FAILURE_EVALUATION,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
    inputIteratorAge,
    deadLetterQueue: dlqAlarm(
      "DeadLetterQueueAlarm",
      r.deadLetterQueue,
      `task dead-letter queue: task messages no worker could handle${r.maxReceiveCount ? ` in ${r.maxReceiveCount} receives` : ""}`,
      RUNBOOK_SECTIONS.taskDeadLetterQueue,
    ),
    resultDeadLetterQueue: dlqAlarm(
      "ResultDeadLetterQueueAlarm",
      r.resultDeadLetterQueue,
      `result dead-letter queue: results the coordinator failed on ${DEFAULTS.resultMaxReceiveCount} times`,
      RUNBOOK_SECTIONS.resultDeadLetterQueue,
    ),
    quarantinedRecords: new cloudwatch.Alarm(scope, "QuarantinedRecordsAlarm", {
      alarmDescription: describe(
        `input records could not be decoded or made a user function throw, and were quarantined (meta table, pk ${app}#quarantine); the batches went on without them.`,
        RUNBOOK_SECTIONS.quarantinedRecords,
      ),
      metric: appMetric(app, METRICS.quarantinedRecords, "Sum"),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
  };
}

/** Every alarm notifies the topic when it goes to ALARM. */
export function notify(all: readonly cloudwatch.Alarm[], topic: sns.ITopic | undefined): void {
  if (!topic) return;
  const action = new actions.SnsAction(topic);
  for (const alarm of all) alarm.addAlarmAction(action);
}

/** The dashboard: the batch timeline, liveness, the input, the queues, the functions and every alarm. */
export function dashboard(scope: Construct, name: string, r: MonitoredResources, all: readonly cloudwatch.Alarm[]): cloudwatch.Dashboard {
  const app = r.appName;
  const board = new cloudwatch.Dashboard(scope, "Dashboard", { dashboardName: name, defaultInterval: Duration.hours(3) });
  board.addWidgets(
    new cloudwatch.GraphWidget({
      title: "Batch timeline: delays (ms) and input records",
      left: [
        appMetric(app, METRICS.schedulingDelay, "Maximum", minute, "scheduling delay (max)"),
        appMetric(app, METRICS.processingTime, "Average", minute, "processing time (avg)"),
        appMetric(app, METRICS.totalDelay, "Average", minute, "total delay (avg)"),
      ],
      right: [appMetric(app, METRICS.inputRecords, "Sum", minute, "input records")],
      leftYAxis: { label: "ms", showUnits: false, min: 0 },
      rightYAxis: { label: "records", showUnits: false, min: 0 },
      width: 24,
    }),
  );
  board.addWidgets(
    new cloudwatch.GraphWidget({
      title: "Liveness: age of the newest completed batch (ms), failed batches",
      left: [appMetric(app, METRICS.lastCompletedBatchAge, "Maximum", minute, "last completed batch age (max)")],
      right: [appMetric(app, METRICS.batchFailed, "Sum", minute, "failed batch reports")],
      leftAnnotations: [{ value: r.lastCompletedBatchAgeThreshold?.toMilliseconds() ?? lastBatchAgeThresholdMs(r.batchIntervalMs), label: "alarm" }],
      width: 12,
    }),
    new cloudwatch.GraphWidget({
      title: "Cost: requests per batch, estimated $/month at the current rate",
      left: [appMetric(app, METRICS.requestsPerBatch, "Average", minute, "requests per batch (avg; Kinesis apart)")],
      right: [appMetric(app, METRICS.estimatedMonthlyCost, "Average", minute, "estimated $/month")],
      leftYAxis: { label: "requests", showUnits: false, min: 0 },
      rightYAxis: { label: "$/month", showUnits: false, min: 0 },
      width: 12,
    }),
    new cloudwatch.GraphWidget({
      title: "Kinesis iterator age (ms)",
      left: r.streams.map((s, i) =>
        s.metricGetRecordsIteratorAgeMilliseconds({
          statistic: "Maximum",
          period: minute,
          label: `${r.streamNames[i]} iterator age (max)`,
        }),
      ),
      width: 12,
    }),
  );
  if (r.coordinatorLogGroup) {
    // By service from the coordinator's log line (lib/runtime/handlers.ts): no custom metric per service.
    board.addWidgets(
      new cloudwatch.LogQueryWidget({
        title: "Requests per batch, by service (coordinator's count)",
        logGroupNames: [r.coordinatorLogGroup.logGroupName],
        view: cloudwatch.LogQueryVisualizationType.LINE,
        queryLines: [
          `filter message = "${REQUESTS_LOG_MESSAGE}"`,
          "stats avg(DynamoDB) as DynamoDB, avg(SQS) as SQS, avg(S3) as S3, avg(Kinesis) as Kinesis by bin(5m)",
        ],
        width: 24,
      }),
    );
  }
  const dlqDepth = (q: sqs.IQueue | undefined, label: string) =>
    q ? [q.metricApproximateNumberOfMessagesVisible({ statistic: "Maximum", period: minute, label })] : [];
  board.addWidgets(
    new cloudwatch.GraphWidget({
      title: "Quarantined records",
      left: [appMetric(app, METRICS.quarantinedRecords, "Sum", minute, "quarantined records")],
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: "Dead-letter queue depth",
      left: [...dlqDepth(r.deadLetterQueue, "task DLQ messages"), ...dlqDepth(r.resultDeadLetterQueue, "result DLQ messages")],
      width: 8,
    }),
    new cloudwatch.GraphWidget({
      title: "Functions: errors and throttles",
      left: [
        r.coordinator.metricErrors({ label: "coordinator errors" }),
        r.coordinator.metricThrottles({ label: "coordinator throttles" }),
        r.worker.metricErrors({ label: "worker errors" }),
        r.worker.metricThrottles({ label: "worker throttles" }),
      ],
      width: 8,
    }),
  );
  board.addWidgets(
    new cloudwatch.GraphWidget({
      title: "Task and result queues",
      left: [
        r.taskQueue.metricApproximateNumberOfMessagesVisible({ label: "tasks visible" }),
        r.taskQueue.metricApproximateAgeOfOldestMessage({ label: "oldest task (s)" }),
        r.resultQueue.metricApproximateNumberOfMessagesVisible({ label: "results visible" }),
      ],
      width: 24,
    }),
  );
  board.addWidgets(new cloudwatch.AlarmStatusWidget({ title: "Alarms", alarms: [...all], width: 24 }));
  return board;
}
