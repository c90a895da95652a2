/**
 * SparklessApp's template, resource by resource: one behaviour per test (Template.fromStack,
 * hasResourceProperties). The fixture app module runs a 1 s interval with 3 task attempts.
 */
import { describe, expect, it } from "vitest";
import { Annotations, Match } from "aws-cdk-lib/assertions";
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as kinesis from "aws-cdk-lib/aws-kinesis";
import { deriveSizing } from "../../cdk/defaults.js";
import { synth, scope } from "./support.js";

const { template } = synth();

describe("input streams", () => {
  it("creates the stream the app reads, named as it reads it, provisioned with one shard for 24 h", () => {
    template.hasResourceProperties("AWS::Kinesis::Stream", {
      Name: "fixture-lines", ShardCount: 1, RetentionPeriodHours: 24, StreamModeDetails: { StreamMode: "PROVISIONED" },
    });
  });

  it("encrypts a created stream with the aws/kinesis key", () => {
    template.hasResourceProperties("AWS::Kinesis::Stream", { StreamEncryption: { EncryptionType: "KMS", KeyId: "alias/aws/kinesis" } });
  });

  it("creates an on-demand stream without a shard count", () => {
    const t = synth({ inputStreams: [{ streamName: "fixture-lines", streamMode: kinesis.StreamMode.ON_DEMAND }] }).template;
    t.hasResourceProperties("AWS::Kinesis::Stream", { StreamModeDetails: { StreamMode: "ON_DEMAND" }, ShardCount: Match.absent() });
  });

  it("honours shardCount and retentionPeriod", () => {
    const t = synth({ inputStreams: [{ streamName: "fixture-lines", shardCount: 4, retentionPeriod: Duration.hours(48) }] }).template;
    t.hasResourceProperties("AWS::Kinesis::Stream", { ShardCount: 4, RetentionPeriodHours: 48 });
  });

  it("imports an existing stream instead of creating one, and reads it by its ARN", () => {
    const arn = "arn:aws:kinesis:eu-west-1:111122223333:stream/fixture-lines";
    const { template: t } = synth({
      inputStreams: [{ streamName: "fixture-lines", stream: kinesis.Stream.fromStreamArn(scope(), "Existing", arn) }],
    });
    t.resourceCountIs("AWS::Kinesis::Stream", 0);
    t.hasResourceProperties("AWS::IAM::Role", {
      Policies: [{ PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Sid: "ReadInputStreams", Resource: arn })]) } }],
    });
  });

  it("creates one stream per input", () => {
    const t = synth({ inputStreams: [{ streamName: "a" }, { streamName: "b" }] }).template;
    t.resourceCountIs("AWS::Kinesis::Stream", 2);
  });
});

describe("queues", () => {
  it("redrives task messages to the DLQ after max(10, 2 × maxTaskAttempts + 2) receives", () => {
    template.hasResourceProperties("AWS::SQS::Queue", {
      RedrivePolicy: { deadLetterTargetArn: { "Fn::GetAtt": [Match.stringLikeRegexp("TaskDeadLetterQueue"), "Arn"] }, maxReceiveCount: 10 },
    });
  });

  it("gives the task queue a visibility timeout of 6 × the worker timeout", () => {
    template.hasResourceProperties("AWS::SQS::Queue", { RedrivePolicy: Match.anyValue(), VisibilityTimeout: 6 * 30 });
  });

  it("keeps DLQ messages 14 days", () => {
    template.hasResourceProperties("AWS::SQS::Queue", { MessageRetentionPeriod: 14 * 86_400 });
  });

  it("encrypts both queues at rest (SSE-SQS)", () => {
    template.resourcePropertiesCountIs("AWS::SQS::Queue", { SqsManagedSseEnabled: true }, 2);
  });

  it("denies every request to either queue that does not use TLS", () => {
    template.resourcePropertiesCountIs("AWS::SQS::QueuePolicy", {
      PolicyDocument: {
        Statement: [Match.objectLike({ Effect: "Deny", Action: "sqs:*", Principal: { AWS: "*" }, Condition: { Bool: { "aws:SecureTransport": "false" } } })],
      },
    }, 2);
  });

  it("creates no quarantine queue: quarantined records live in the meta table", () => {
    template.resourceCountIs("AWS::SQS::Queue", 2);
  });
});

describe("tables", () => {
  it("creates the meta, data and state tables keyed pk/sk (strings), on demand", () => {
    template.resourcePropertiesCountIs("AWS::DynamoDB::Table", {
      KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }, { AttributeName: "sk", KeyType: "RANGE" }],
      AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }, { AttributeName: "sk", AttributeType: "S" }],
      BillingMode: "PAY_PER_REQUEST",
    }, 3);
  });

  it("enables TTL on `ttl` on every table", () => {
    template.resourcePropertiesCountIs("AWS::DynamoDB::Table", { TimeToLiveSpecification: { AttributeName: "ttl", Enabled: true } }, 3);
  });

  it("enables point-in-time recovery on every table", () => {
    template.resourcePropertiesCountIs("AWS::DynamoDB::Table", { PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }, 3);
  });

  it("encrypts every table with KMS", () => {
    template.resourcePropertiesCountIs("AWS::DynamoDB::Table", { SSESpecification: { SSEEnabled: true } }, 3);
  });

  it("retains the tables when the stack is deleted, by default", () => {
    expect(Object.values(template.findResources("AWS::DynamoDB::Table")).map((t) => t.DeletionPolicy)).toEqual(["Retain", "Retain", "Retain"]);
  });

  it("deletes tables, stream, queues and logs with removalPolicy DESTROY", () => {
    const t = synth({ removalPolicy: RemovalPolicy.DESTROY }).template;
    for (const type of ["AWS::DynamoDB::Table", "AWS::Kinesis::Stream", "AWS::SQS::Queue", "AWS::Logs::LogGroup"]) {
      expect(Object.values(t.findResources(type)).map((r) => r.DeletionPolicy)).toSatisfy((p: string[]) => p.length > 0 && p.every((x) => x === "Delete"));
    }
  });
});

describe("functions", () => {
  const coordinator = { Description: Match.stringLikeRegexp("generates a batch") };
  const worker = { Description: Match.stringLikeRegexp("runs the tasks") };

  it("runs both functions on the newest Node.js runtime, arm64, with the ESM bundle's handler", () => {
    template.resourcePropertiesCountIs("AWS::Lambda::Function", { Runtime: "nodejs24.x", Architectures: ["arm64"], Handler: "index.handler" }, 2);
  });

  it("derives the coordinator's timeout and memory from the interval: 55 s + max(3 s, 2 intervals), 256 MB", () => {
    template.hasResourceProperties("AWS::Lambda::Function", { ...coordinator, Timeout: 58, MemorySize: 256 });
  });

  it("derives the worker's timeout and memory from the interval: 5 intervals, at least 30 s, 1024 MB", () => {
    template.hasResourceProperties("AWS::Lambda::Function", { ...worker, Timeout: 30, MemorySize: 1024 });
  });

  it("sets the engine's environment on both functions", () => {
    template.resourcePropertiesCountIs("AWS::Lambda::Function", {
      Environment: {
        Variables: {
          SPARKLESS_APP: "cdkfixture",
          SPARKLESS_META_TABLE: { Ref: Match.stringLikeRegexp("MetaTable") },
          SPARKLESS_DATA_TABLE: { Ref: Match.stringLikeRegexp("DataTable") },
          SPARKLESS_STATE_TABLE: { Ref: Match.stringLikeRegexp("StateTable") },
          SPARKLESS_TASK_QUEUE_URL: { Ref: Match.stringLikeRegexp("TaskQueue") },
          SPARKLESS_CONFIG: "{}",
          NODE_OPTIONS: "--enable-source-maps",
        },
      },
    }, 2);
  });

  it("passes `config` as SPARKLESS_CONFIG JSON", () => {
    const config = { batchInterval: "2s", defaultParallelism: 4 };
    synth({ config }).template.resourcePropertiesCountIs("AWS::Lambda::Function", {
      Environment: { Variables: Match.objectLike({ SPARKLESS_CONFIG: JSON.stringify(config) }) },
    }, 2);
  });

  it("names the app after config.name when given", () => {
    synth({ config: { name: "renamed" } }).template.resourcePropertiesCountIs("AWS::Lambda::Function", {
      Environment: { Variables: Match.objectLike({ SPARKLESS_APP: "renamed" }) },
    }, 2);
  });

  it("sizes from config.batchInterval when it overrides the module's (20 s: 95 s/512 MB, 100 s/1769 MB, visibility 600 s)", () => {
    const t = synth({ config: { batchInterval: "20s" } }).template;
    t.hasResourceProperties("AWS::Lambda::Function", { ...coordinator, Timeout: 95, MemorySize: 512 });
    t.hasResourceProperties("AWS::Lambda::Function", { ...worker, Timeout: 100, MemorySize: 1769 });
    t.hasResourceProperties("AWS::SQS::Queue", { RedrivePolicy: Match.anyValue(), VisibilityTimeout: 600 });
  });

  it("takes memory and timeout overrides, keeping visibility at 6 × the worker timeout", () => {
    const t = synth({ workerTimeout: Duration.seconds(45), workerMemorySize: 2048, coordinatorMemorySize: 512 }).template;
    t.hasResourceProperties("AWS::Lambda::Function", { ...worker, Timeout: 45, MemorySize: 2048 });
    t.hasResourceProperties("AWS::Lambda::Function", { ...coordinator, MemorySize: 512 });
    t.hasResourceProperties("AWS::SQS::Queue", { RedrivePolicy: Match.anyValue(), VisibilityTimeout: 270 });
  });

  it("does not retry a failed coordinator invocation: the next scheduled one takes over", () => {
    template.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
      FunctionName: { Ref: Match.stringLikeRegexp("Coordinator") }, MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60,
    });
  });

  it("writes each function's logs to its own log group, kept one month", () => {
    template.resourcePropertiesCountIs("AWS::Logs::LogGroup", { RetentionInDays: 30 }, 2);
    template.resourcePropertiesCountIs("AWS::Lambda::Function", { LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp("Logs") } } }, 2);
  });
});

describe("schedule and event source", () => {
  it("invokes the coordinator every minute, without EventBridge retries", () => {
    template.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "rate(1 minute)",
      State: "ENABLED",
      Targets: [Match.objectLike({
        Arn: { "Fn::GetAtt": [Match.stringLikeRegexp("Coordinator"), "Arn"] },
        RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
      })],
    });
  });

  it("feeds the worker from the task queue with ReportBatchItemFailures, 10 messages a batch, at most 10 at once", () => {
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      EventSourceArn: { "Fn::GetAtt": [Match.stringLikeRegexp("TaskQueue"), "Arn"] },
      FunctionName: { Ref: Match.stringLikeRegexp("Worker") },
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      BatchSize: 10,
      ScalingConfig: { MaximumConcurrency: 10 },
    });
  });

  it("takes workerMaxConcurrency and workerBatchSize", () => {
    synth({ workerMaxConcurrency: 50, workerBatchSize: 5 }).template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      BatchSize: 5, ScalingConfig: { MaximumConcurrency: 50 },
    });
  });
});

describe("monitoring", () => {
  const body = JSON.stringify(Object.values(template.findResources("AWS::CloudWatch::Dashboard"))[0]?.Properties.DashboardBody);

  it("draws the batch timeline from the Sparkless namespace, dimension App", () => {
    for (const m of ["InputRecords", "SchedulingDelay", "ProcessingTime", "TotalDelay", "QuarantinedRecords"]) {
      expect(body).toContain(`[\\"Sparkless\\",\\"${m}\\",\\"App\\",\\"cdkfixture\\"`);
    }
  });

  it("draws the DLQ depth and the Kinesis iterator age", () => {
    expect(body).toContain("ApproximateNumberOfMessagesVisible");
    expect(body).toContain("GetRecords.IteratorAgeMilliseconds");
  });

  it("names the dashboard after the app", () => {
    template.hasResourceProperties("AWS::CloudWatch::Dashboard", { DashboardName: "Sparkless-cdkfixture" });
  });

  it("alarms when the scheduling delay stays above max(30 s, 5 intervals) for 5 minutes", () => {
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Namespace: "Sparkless", MetricName: "SchedulingDelay", Dimensions: [{ Name: "App", Value: "cdkfixture" }],
      Threshold: 30_000, ComparisonOperator: "GreaterThanThreshold", EvaluationPeriods: 5, DatapointsToAlarm: 5, Period: 60,
    });
  });

  it("alarms on a non-empty dead-letter queue", () => {
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Namespace: "AWS/SQS", MetricName: "ApproximateNumberOfMessagesVisible",
      Dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": [Match.stringLikeRegexp("TaskDeadLetterQueue"), "QueueName"] } }],
      Threshold: 1, ComparisonOperator: "GreaterThanOrEqualToThreshold", TreatMissingData: "notBreaching",
    });
  });

  it("alarms on quarantined records", () => {
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Namespace: "Sparkless", MetricName: "QuarantinedRecords", Statistic: "Sum", Dimensions: [{ Name: "App", Value: "cdkfixture" }],
      Threshold: 1, ComparisonOperator: "GreaterThanOrEqualToThreshold", TreatMissingData: "notBreaching",
    });
  });

  it("takes the scheduling delay threshold", () => {
    synth({ schedulingDelayAlarmThreshold: Duration.seconds(90) }).template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "SchedulingDelay", Threshold: 90_000,
    });
  });
});

describe("warnings", () => {
  it("warns when the coordinator's timeout would outlive the schedule period", () => {
    const { stack } = synth({ coordinatorTimeout: Duration.seconds(70) });
    Annotations.fromStack(stack).hasWarning("*", Match.stringLikeRegexp("next scheduled invocation finds the lease held"));
  });

  it("warns that intervals past 422 s generate batches late", () => {
    const { stack } = synth({ config: { batchInterval: "10m" } });
    Annotations.fromStack(stack).hasWarning("*", Match.stringLikeRegexp("generated up to 355 s late"));
  });

  it("does not warn with the derived sizes", () => {
    const { stack } = synth();
    expect(Annotations.fromStack(stack).findWarning("*", Match.stringLikeRegexp("sparkless:"))).toEqual([]);
  });
});

describe("deriveSizing", () => {
  it.each([
    // interval ms, coordinator s, coordinator MB, worker s, worker MB, visibility s
    [1_000, 58, 256, 30, 1024, 180],
    [2_000, 59, 256, 30, 1024, 180],
    [10_000, 75, 256, 50, 1024, 300],
    [60_000, 175, 512, 300, 1769, 1800],
    [300_000, 655, 1024, 900, 3008, 5400],
    [900_000, 900, 1024, 900, 3008, 5400],
  ])("interval %i ms → coordinator %i s/%i MB, worker %i s/%i MB, visibility %i s", (ms, cs, cm, ws, wm, vis) => {
    const s = deriveSizing(ms, 4);
    expect([s.coordinatorTimeoutS, s.coordinatorMemoryMb, s.workerTimeoutS, s.workerMemoryMb, s.visibilityTimeoutS]).toEqual([cs, cm, ws, wm, vis]);
  });

  it("ends each coordinator loop at least 5 s before the next scheduled invocation, up to 422 s intervals", () => {
    for (let ms = 1_000; ms <= 422_000; ms += 1_000) {
      const s = deriveSizing(ms, 4);
      expect(s.coordinatorTimeoutS - s.coordinatorMarginS).toBeLessThanOrEqual(55.5);
    }
  });

  it("sets maxReceiveCount above the worker's own attempts", () => {
    expect(deriveSizing(1_000, 4).maxReceiveCount).toBe(10);
    expect(deriveSizing(1_000, 8).maxReceiveCount).toBe(18);
  });
});
