/**
 * SparklessApp's template, resource by resource: one behaviour per test (Template.fromStack,
 * hasResourceProperties). The fixture app module runs a 1 s interval with 3 task attempts.
 * IAM statements are in iam.test.ts, prop checks in props.test.ts, cdk-nag in nag.test.ts.
 */
import { describe, expect, it } from "vitest";
import { Annotations, Match } from "aws-cdk-lib/assertions";
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as kinesis from "aws-cdk-lib/aws-kinesis";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as sns from "aws-cdk-lib/aws-sns";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { BATCH_RETENTION_S } from "../../lib/aws/dynamodb/batch-log.js";
import { DEFAULTS, deriveSizing } from "../../cdk/defaults.js";
import { scheduleInput } from "../../cdk/functions.js";
import { S3_FIXTURE_ENTRY, TWO_STREAMS_FIXTURE_ENTRY, synth, scope } from "./support.js";

const { template } = synth();

describe("input streams", () => {
  it("creates the stream the app reads, named as it reads it, provisioned with one shard for 24 h", () => {
    template.hasResourceProperties("AWS::Kinesis::Stream", {
      Name: "fixture-lines",
      ShardCount: 1,
      RetentionPeriodHours: 24,
      StreamModeDetails: { StreamMode: "PROVISIONED" },
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
    const t = synth({ entry: TWO_STREAMS_FIXTURE_ENTRY, inputStreams: [{ streamName: "a" }, { streamName: "b" }] }).template;
    t.resourceCountIs("AWS::Kinesis::Stream", 2);
  });
});

describe("queues", () => {
  const taskQueue = {
    RedrivePolicy: {
      deadLetterTargetArn: { "Fn::GetAtt": [Match.stringLikeRegexp("TaskDeadLetterQueue"), "Arn"] },
      maxReceiveCount: Match.anyValue(),
    },
  };
  const resultQueue = {
    RedrivePolicy: {
      deadLetterTargetArn: { "Fn::GetAtt": [Match.stringLikeRegexp("ResultDeadLetterQueue"), "Arn"] },
      maxReceiveCount: Match.anyValue(),
    },
  };

  it("creates the task queue, the result queue and a dead-letter queue for each, and no quarantine queue", () => {
    template.resourceCountIs("AWS::SQS::Queue", 4);
  });

  it("redrives task messages to the task DLQ after max(10, 2 × maxTaskAttempts + 2) receives", () => {
    template.hasResourceProperties("AWS::SQS::Queue", {
      RedrivePolicy: { deadLetterTargetArn: { "Fn::GetAtt": [Match.stringLikeRegexp("TaskDeadLetterQueue"), "Arn"] }, maxReceiveCount: 10 },
    });
  });

  it("gives the task queue a visibility timeout of 6 × the worker timeout", () => {
    template.hasResourceProperties("AWS::SQS::Queue", { ...taskQueue, VisibilityTimeout: 6 * 30 });
  });

  it("keeps results one day, visible again 30 s after a receive, and redrives them to the result DLQ after 5 receives", () => {
    template.hasResourceProperties("AWS::SQS::Queue", {
      RedrivePolicy: { deadLetterTargetArn: { "Fn::GetAtt": [Match.stringLikeRegexp("ResultDeadLetterQueue"), "Arn"] }, maxReceiveCount: 5 },
      MessageRetentionPeriod: 86_400,
      VisibilityTimeout: 30,
    });
  });

  it("takes messages of up to 256 KiB on the task and result queues", () => {
    template.hasResourceProperties("AWS::SQS::Queue", { ...taskQueue, MaximumMessageSize: 262_144 });
    template.hasResourceProperties("AWS::SQS::Queue", { ...resultQueue, MaximumMessageSize: 262_144 });
  });

  it("keeps both DLQs' messages 14 days", () => {
    template.resourcePropertiesCountIs("AWS::SQS::Queue", { MessageRetentionPeriod: 14 * 86_400 }, 2);
  });

  it("encrypts every queue at rest (SSE-SQS)", () => {
    template.resourcePropertiesCountIs("AWS::SQS::Queue", { SqsManagedSseEnabled: true }, 4);
  });

  it("denies every request to any queue that does not use TLS", () => {
    template.resourcePropertiesCountIs(
      "AWS::SQS::QueuePolicy",
      {
        PolicyDocument: {
          Statement: [
            Match.objectLike({ Effect: "Deny", Action: "sqs:*", Principal: { AWS: "*" }, Condition: { Bool: { "aws:SecureTransport": "false" } } }),
          ],
        },
      },
      4,
    );
  });
});

describe("tables", () => {
  it("creates the meta and state tables keyed pk/sk (strings), on demand", () => {
    template.resourceCountIs("AWS::DynamoDB::Table", 2);
    template.resourcePropertiesCountIs(
      "AWS::DynamoDB::Table",
      {
        KeySchema: [
          { AttributeName: "pk", KeyType: "HASH" },
          { AttributeName: "sk", KeyType: "RANGE" },
        ],
        AttributeDefinitions: [
          { AttributeName: "pk", AttributeType: "S" },
          { AttributeName: "sk", AttributeType: "S" },
        ],
        BillingMode: "PAY_PER_REQUEST",
      },
      2,
    );
    expect(
      Object.keys(template.findResources("AWS::DynamoDB::Table"))
        .map((id) => id.replace(/[0-9A-F]{8}$/, ""))
        .sort(),
    ).toEqual(["AppMetaTable", "AppStateTable"]);
  });

  it("enables TTL on `ttl` on every table", () => {
    template.resourcePropertiesCountIs("AWS::DynamoDB::Table", { TimeToLiveSpecification: { AttributeName: "ttl", Enabled: true } }, 2);
  });

  it("enables point-in-time recovery on every table", () => {
    template.resourcePropertiesCountIs("AWS::DynamoDB::Table", { PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }, 2);
  });

  it("encrypts every table with KMS", () => {
    template.resourcePropertiesCountIs("AWS::DynamoDB::Table", { SSESpecification: { SSEEnabled: true } }, 2);
  });

  it("protects both tables from deletion by default", () => {
    template.resourcePropertiesCountIs("AWS::DynamoDB::Table", { DeletionProtectionEnabled: true }, 2);
  });

  it("turns deletion protection off with tableDeletionProtection: false", () => {
    synth({ tableDeletionProtection: false }).template.resourcePropertiesCountIs("AWS::DynamoDB::Table", { DeletionProtectionEnabled: false }, 2);
  });

  it("retains the tables and buckets when the stack is deleted, by default", () => {
    for (const type of ["AWS::DynamoDB::Table", "AWS::S3::Bucket"]) {
      expect(Object.values(template.findResources(type)).map((t) => t.DeletionPolicy)).toEqual(["Retain", "Retain"]);
    }
  });

  it("deletes tables, stream, queues, buckets and logs with removalPolicy DESTROY", () => {
    const t = synth({ removalPolicy: RemovalPolicy.DESTROY, tableDeletionProtection: false }).template;
    for (const type of ["AWS::DynamoDB::Table", "AWS::Kinesis::Stream", "AWS::SQS::Queue", "AWS::S3::Bucket", "AWS::Logs::LogGroup"]) {
      expect(Object.values(t.findResources(type)).map((r) => r.DeletionPolicy)).toSatisfy(
        (p: string[]) => p.length > 0 && p.every((x) => x === "Delete"),
      );
    }
  });
});

describe("existing tables", () => {
  const within = scope();
  const meta = dynamodb.Table.fromTableName(within, "Meta", "shared-meta");
  const state = dynamodb.Table.fromTableName(within, "State", "shared-state");
  const { template: t, construct } = synth({ metaTable: meta, stateTable: state });

  it("creates no table when both are given", () => {
    t.resourceCountIs("AWS::DynamoDB::Table", 0);
    expect([construct.metaTable, construct.stateTable]).toEqual([meta, state]);
  });

  it("passes their names to both functions", () => {
    t.resourcePropertiesCountIs(
      "AWS::Lambda::Function",
      {
        Environment: { Variables: Match.objectLike({ SPARKLESS_META_TABLE: "shared-meta", SPARKLESS_STATE_TABLE: "shared-state" }) },
      },
      2,
    );
  });

  it("creates the other table when only one is given", () => {
    const one = synth({ metaTable: dynamodb.Table.fromTableName(scope(), "Meta", "shared-meta") }).template;
    one.resourceCountIs("AWS::DynamoDB::Table", 1);
    expect(Object.keys(one.findResources("AWS::DynamoDB::Table"))[0]).toMatch(/^AppStateTable/);
  });
});

describe("existing queues", () => {
  it("uses imported task and result queues and creates no queue", () => {
    const within = scope();
    const { template: t, construct } = synth({
      taskQueue: sqs.Queue.fromQueueArn(within, "Tasks", "arn:aws:sqs:us-east-1:111122223333:shared-tasks"),
      resultQueue: sqs.Queue.fromQueueArn(within, "Results", "arn:aws:sqs:us-east-1:111122223333:shared-results"),
    });
    t.resourceCountIs("AWS::SQS::Queue", 0);
    expect(construct.deadLetterQueue).toBeUndefined();
    t.hasResourceProperties("AWS::Lambda::EventSourceMapping", { EventSourceArn: "arn:aws:sqs:us-east-1:111122223333:shared-tasks" });
  });

  it("takes the dead-letter queue of an sqs.Queue given", () => {
    const { template: t, construct } = synth((stack) => {
      const dlq = new sqs.Queue(stack, "MyTasksDlq", { enforceSSL: true });
      return {
        taskQueue: new sqs.Queue(stack, "MyTasks", {
          enforceSSL: true,
          visibilityTimeout: Duration.seconds(180),
          deadLetterQueue: { queue: dlq, maxReceiveCount: 10 },
        }),
      };
    });
    t.resourceCountIs("AWS::SQS::Queue", 4);
    expect(construct.deadLetterQueue?.node.id).toBe("MyTasksDlq");
  });
});

describe("bucket", () => {
  const bucketId = Object.keys(template.findResources("AWS::S3::Bucket")).find((id) => /^AppBucket/.test(id))!;
  const logsId = Object.keys(template.findResources("AWS::S3::Bucket")).find((id) => /^AppAccessLogsBucket/.test(id))!;
  const bucket = template.findResources("AWS::S3::Bucket")[bucketId]!.Properties;

  it("creates the app's bucket and a bucket for its access logs", () => {
    template.resourceCountIs("AWS::S3::Bucket", 2);
    expect(bucketId).toBeDefined();
    expect(logsId).toBeDefined();
  });

  it("encrypts both buckets with S3-managed keys", () => {
    template.resourcePropertiesCountIs(
      "AWS::S3::Bucket",
      {
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }] },
      },
      2,
    );
  });

  it("blocks all public access and disables ACLs on both buckets", () => {
    template.resourcePropertiesCountIs(
      "AWS::S3::Bucket",
      {
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        OwnershipControls: { Rules: [{ ObjectOwnership: "BucketOwnerEnforced" }] },
        AccessControl: Match.absent(),
      },
      2,
    );
  });

  it("keeps no versions", () => {
    template.allResourcesProperties("AWS::S3::Bucket", { VersioningConfiguration: Match.absent() });
  });

  it("denies every request to either bucket that does not use TLS", () => {
    for (const id of [bucketId, logsId]) {
      template.hasResourceProperties("AWS::S3::BucketPolicy", {
        Bucket: { Ref: id },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: "Deny",
              Action: "s3:*",
              Principal: { AWS: "*" },
              Condition: { Bool: { "aws:SecureTransport": "false" } },
              Resource: [{ "Fn::GetAtt": [id, "Arn"] }, { "Fn::Join": ["", [{ "Fn::GetAtt": [id, "Arn"] }, "/*"]] }],
            }),
          ]),
        },
      });
    }
  });

  it("expires shuffle data and task inputs after a day and checkpoints after 8 days, under the app's prefix", () => {
    expect(bucket.LifecycleConfiguration.Rules).toEqual([
      { Id: "cdkfixture-ExpireShuffle", Prefix: "cdkfixture/shuffle/", ExpirationInDays: 1, Status: "Enabled" },
      { Id: "cdkfixture-ExpireInputs", Prefix: "cdkfixture/inputs/", ExpirationInDays: 1, Status: "Enabled" },
      { Id: "cdkfixture-ExpireCheckpoints", Prefix: "cdkfixture/checkpoints/", ExpirationInDays: 8, Status: "Enabled" },
    ]);
  });

  it("keeps checkpoint objects longer than the batch log and manifests that name them", () => {
    expect(DEFAULTS.checkpointObjectDays * 86_400).toBeGreaterThan(BATCH_RETENTION_S);
  });

  it("logs the bucket's access to the access-log bucket, under the app's name", () => {
    expect(bucket.LoggingConfiguration).toEqual({ DestinationBucketName: { Ref: logsId }, LogFilePrefix: "cdkfixture/" });
  });

  it("lets only S3 log delivery, for this bucket and account, write access logs (a bucket policy, not an ACL)", () => {
    template.hasResourceProperties("AWS::S3::BucketPolicy", {
      Bucket: { Ref: logsId },
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: "Allow",
            Action: "s3:PutObject",
            Principal: { Service: "logging.s3.amazonaws.com" },
            Resource: { "Fn::Join": ["", [{ "Fn::GetAtt": [logsId, "Arn"] }, "/cdkfixture/*"]] },
            Condition: {
              ArnLike: { "aws:SourceArn": { "Fn::GetAtt": [bucketId, "Arn"] } },
              StringEquals: { "aws:SourceAccount": { Ref: "AWS::AccountId" } },
            },
          },
        ]),
      },
    });
  });

  it("expires access logs after 30 days", () => {
    template.hasResourceProperties("AWS::S3::Bucket", {
      LifecycleConfiguration: { Rules: [{ Id: "ExpireAccessLogs", ExpirationInDays: 30, Status: "Enabled" }] },
    });
  });

  it("gives a bucket of the same stack passed in the lifecycle rules of this app's prefixes, next to its own", () => {
    const { template: t, construct } = synth((stack) => ({
      bucket: new s3.Bucket(stack, "Shared", { lifecycleRules: [{ id: "OwnRule", expiration: Duration.days(90) }] }),
    }));
    t.resourceCountIs("AWS::S3::Bucket", 1);
    expect(construct.accessLogsBucket).toBeUndefined();
    const rules = Object.values(t.findResources("AWS::S3::Bucket"))[0]!.Properties.LifecycleConfiguration.Rules as { Id: string }[];
    expect(rules.map((r) => r.Id)).toEqual(["OwnRule", "cdkfixture-ExpireShuffle", "cdkfixture-ExpireInputs", "cdkfixture-ExpireCheckpoints"]);
  });

  it("uses an existing bucket instead of creating one", () => {
    const existing = s3.Bucket.fromBucketName(scope(), "Existing", "my-shared-bucket");
    const { template: t, construct } = synth({ bucket: existing });
    t.resourceCountIs("AWS::S3::Bucket", 0);
    t.resourceCountIs("AWS::S3::BucketPolicy", 0);
    expect(construct.bucket).toBe(existing);
    expect(construct.accessLogsBucket).toBeUndefined();
    t.resourcePropertiesCountIs(
      "AWS::Lambda::Function",
      { Environment: { Variables: Match.objectLike({ SPARKLESS_BUCKET: "my-shared-bucket" }) } },
      2,
    );
  });
});

describe("functions", () => {
  const coordinator = { Description: Match.stringLikeRegexp("runs a batch every") };
  const worker = { Description: Match.stringLikeRegexp("runs the tasks") };

  it("runs both functions on the newest Node.js runtime, arm64, with the ESM bundle's handler", () => {
    template.resourcePropertiesCountIs("AWS::Lambda::Function", { Runtime: "nodejs24.x", Architectures: ["arm64"], Handler: "index.handler" }, 2);
  });

  it("derives the coordinator's timeout and memory from the interval: 55 s + max(3 s, 2 intervals), 192 MB", () => {
    template.hasResourceProperties("AWS::Lambda::Function", { ...coordinator, Timeout: 58, MemorySize: 192 });
  });

  it("derives the worker's timeout and memory from the interval: 5 intervals, at least 30 s, 1024 MB", () => {
    template.hasResourceProperties("AWS::Lambda::Function", { ...worker, Timeout: 30, MemorySize: 1024 });
  });

  const engineEnvironment = {
    SPARKLESS_APP: "cdkfixture",
    SPARKLESS_META_TABLE: { Ref: Match.stringLikeRegexp("^AppMetaTable") },
    SPARKLESS_STATE_TABLE: { Ref: Match.stringLikeRegexp("^AppStateTable") },
    SPARKLESS_BUCKET: { Ref: Match.stringLikeRegexp("^AppBucket") },
    SPARKLESS_TASK_QUEUE_URL: { Ref: Match.stringLikeRegexp("^AppTaskQueue") },
    SPARKLESS_RESULT_QUEUE_URL: { Ref: Match.stringLikeRegexp("^AppResultQueue") },
    SPARKLESS_CHECKPOINT_STORE: "dynamodb",
    SPARKLESS_CONFIG: "{}",
    NODE_OPTIONS: "--enable-source-maps",
  };

  it("sets the engine's environment on the worker", () => {
    template.hasResourceProperties("AWS::Lambda::Function", { ...worker, Environment: { Variables: engineEnvironment } });
  });

  it("sets the engine's environment on the coordinator, with the worker's timeout in ms", () => {
    template.hasResourceProperties("AWS::Lambda::Function", {
      ...coordinator,
      Environment: { Variables: { ...engineEnvironment, SPARKLESS_WORKER_TIMEOUT_MS: "30000" } },
    });
  });

  it("passes the worker timeout override to the coordinator", () => {
    synth({ workerTimeout: Duration.seconds(45) }).template.hasResourceProperties("AWS::Lambda::Function", {
      ...coordinator,
      Environment: { Variables: Match.objectLike({ SPARKLESS_WORKER_TIMEOUT_MS: "45000" }) },
    });
  });

  it("sets SPARKLESS_CHECKPOINT_STORE from the module's checkpointStore, overridden by config.checkpointStore", () => {
    const store = (t: ReturnType<typeof synth>["template"]) =>
      Object.values(t.findResources("AWS::Lambda::Function")).map((f) => f.Properties.Environment.Variables.SPARKLESS_CHECKPOINT_STORE);
    expect(store(synth({ entry: S3_FIXTURE_ENTRY }).template)).toEqual(["s3", "s3"]);
    expect(store(synth({ entry: S3_FIXTURE_ENTRY, checkpointStore: "s3" }).template)).toEqual(["s3", "s3"]);
    expect(store(synth({ entry: S3_FIXTURE_ENTRY, config: { checkpointStore: "dynamodb" } }).template)).toEqual(["dynamodb", "dynamodb"]);
    expect(store(synth({ config: { checkpointStore: "s3" } }).template)).toEqual(["s3", "s3"]);
  });

  it("passes `config` as SPARKLESS_CONFIG JSON", () => {
    const config = { batchInterval: "2s", defaultParallelism: 4, stateBackend: "dynamodb", execution: { mode: "fan-out" } } as const;
    synth({ config }).template.resourcePropertiesCountIs(
      "AWS::Lambda::Function",
      {
        Environment: { Variables: Match.objectLike({ SPARKLESS_CONFIG: JSON.stringify(config) }) },
      },
      2,
    );
  });

  it("names the app after config.name when given", () => {
    synth({ config: { name: "renamed" } }).template.resourcePropertiesCountIs(
      "AWS::Lambda::Function",
      {
        Environment: { Variables: Match.objectLike({ SPARKLESS_APP: "renamed" }) },
      },
      2,
    );
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
      FunctionName: { Ref: Match.stringLikeRegexp("Coordinator") },
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 60,
    });
  });

  it("writes each function's logs to its own log group, kept one month", () => {
    template.resourcePropertiesCountIs("AWS::Logs::LogGroup", { RetentionInDays: 30 }, 2);
    template.resourcePropertiesCountIs("AWS::Lambda::Function", { LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp("Logs") } } }, 2);
  });
});

describe("schedule and event source", () => {
  it("invokes the coordinator with EventBridge Scheduler every minute, at the minute (no flexible window)", () => {
    template.resourceCountIs("AWS::Events::Rule", 0);
    template.hasResourceProperties("AWS::Scheduler::Schedule", {
      ScheduleExpression: "rate(1 minute)",
      State: "ENABLED",
      FlexibleTimeWindow: { Mode: "OFF" },
      Target: Match.objectLike({ Arn: { "Fn::GetAtt": [Match.stringLikeRegexp("^AppCoordinator"), "Arn"] } }),
    });
  });

  it("does not retry a missed invocation and keeps no dead-letter queue for it: the next one catches up", () => {
    template.hasResourceProperties("AWS::Scheduler::Schedule", {
      Target: Match.objectLike({ RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 }, DeadLetterConfig: Match.absent() }),
    });
  });

  it("invokes with its own role and a payload naming the schedule", () => {
    template.hasResourceProperties("AWS::Scheduler::Schedule", {
      Target: Match.objectLike({
        RoleArn: { "Fn::GetAtt": [Match.stringLikeRegexp("^AppSchedulerRole"), "Arn"] },
        Input: JSON.stringify(scheduleInput("cdkfixture")),
      }),
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
      BatchSize: 5,
      ScalingConfig: { MaximumConcurrency: 50 },
    });
  });
});

describe("dashboard", () => {
  const body = JSON.stringify(Object.values(template.findResources("AWS::CloudWatch::Dashboard"))[0]?.Properties.DashboardBody);

  it("draws the batch timeline and liveness from the Sparkless namespace, dimension App", () => {
    for (const m of [
      "InputRecords",
      "SchedulingDelay",
      "ProcessingTime",
      "TotalDelay",
      "QuarantinedRecords",
      "LastCompletedBatchAge",
      "BatchFailed",
    ]) {
      expect(body).toContain(`[\\"Sparkless\\",\\"${m}\\",\\"App\\",\\"cdkfixture\\"`);
    }
  });

  it("draws the DLQ depth, the Kinesis iterator age and both queues", () => {
    expect(body).toContain("ApproximateNumberOfMessagesVisible");
    expect(body).toContain("GetRecords.IteratorAgeMilliseconds");
    expect(body).toContain("Task and result queues");
  });

  it("shows every alarm", () => {
    const alarmIds = Object.keys(template.findResources("AWS::CloudWatch::Alarm"));
    for (const id of alarmIds) expect(body).toContain(id);
  });

  it("names the dashboard after the app", () => {
    template.hasResourceProperties("AWS::CloudWatch::Dashboard", { DashboardName: "Sparkless-cdkfixture" });
  });

  it("shows what the pipeline costs: requests per batch and the monthly estimate, and by service from the coordinator's log", () => {
    for (const m of ["RequestsPerBatch", "EstimatedMonthlyCost"]) expect(body).toContain(`[\\"Sparkless\\",\\"${m}\\",\\"App\\",\\"cdkfixture\\"`);
    // A Logs Insights query over the coordinator's log group, averaging the handler's "requests per batch" lines.
    expect(body).toMatch(/\\"type\\":\\"log\\".*filter message = \\+"requests per batch\\+"/);
    expect(body).toContain("stats avg(DynamoDB) as DynamoDB, avg(SQS) as SQS, avg(S3) as S3, avg(Kinesis) as Kinesis by bin(5m)");
  });
});

describe("alarms", () => {
  const app = { Namespace: "Sparkless", Dimensions: [{ Name: "App", Value: "cdkfixture" }] };
  const coordinator = { Namespace: "AWS/Lambda", Dimensions: [{ Name: "FunctionName", Value: { Ref: Match.stringLikeRegexp("^AppCoordinator") } }] };

  it("creates nine alarms for one input stream, none with actions unless a topic is given", () => {
    template.resourceCountIs("AWS::CloudWatch::Alarm", 9);
    template.allResourcesProperties("AWS::CloudWatch::Alarm", { AlarmActions: Match.absent() });
  });

  it("names what each alarm means and its runbook section in the description", () => {
    for (const a of Object.values(template.findResources("AWS::CloudWatch::Alarm"))) {
      expect(a.Properties.AlarmDescription).toMatch(/^Sparkless cdkfixture: .{40,} Runbook: docs\/operations\.md#alarm-[a-z-]+$/);
    }
  });

  it("BatchFailed: any failed batch (Sum ≥ 1) in the last 3 minutes; no data is fine", () => {
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      ...app,
      MetricName: "BatchFailed",
      Statistic: "Sum",
      Period: 60,
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      EvaluationPeriods: 3,
      DatapointsToAlarm: 1,
      TreatMissingData: "notBreaching",
      AlarmDescription: Match.stringLikeRegexp("sparkless retry.*#alarm-batch-failed$"),
    });
  });

  it("LastCompletedBatchAge: above 60 s + 3 intervals in 2 of 3 minutes, and missing data breaches (no coordinator reports)", () => {
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      ...app,
      MetricName: "LastCompletedBatchAge",
      Statistic: "Maximum",
      Period: 60,
      Threshold: 63_000,
      ComparisonOperator: "GreaterThanThreshold",
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      TreatMissingData: "breaching",
      AlarmDescription: Match.stringLikeRegexp("#alarm-batches-stopped$"),
    });
  });

  it("LastCompletedBatchAge: the threshold grows with the interval (10 s: 90 s) and takes lastCompletedBatchAgeAlarmThreshold", () => {
    synth({ config: { batchInterval: "10s" } }).template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "LastCompletedBatchAge",
      Threshold: 90_000,
    });
    synth({ lastCompletedBatchAgeAlarmThreshold: Duration.minutes(5) }).template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "LastCompletedBatchAge",
      Threshold: 300_000,
    });
  });

  it("SchedulingDelay: above max(30 s, 5 intervals) for 5 minutes in a row; batches that stop count as fine (the age alarm reports them)", () => {
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      ...app,
      MetricName: "SchedulingDelay",
      Statistic: "Maximum",
      Period: 60,
      Threshold: 30_000,
      ComparisonOperator: "GreaterThanThreshold",
      EvaluationPeriods: 5,
      DatapointsToAlarm: 5,
      TreatMissingData: "notBreaching",
    });
  });

  it("SchedulingDelay: periods of the interval rounded up to minutes for long intervals (5 min: 300 s periods, 25 min threshold)", () => {
    synth({ config: { batchInterval: "5m" } }).template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "SchedulingDelay",
      Period: 300,
      Threshold: 1_500_000,
      EvaluationPeriods: 5,
    });
  });

  it("SchedulingDelay: takes schedulingDelayAlarmThreshold", () => {
    synth({ schedulingDelayAlarmThreshold: Duration.seconds(90) }).template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "SchedulingDelay",
      Threshold: 90_000,
    });
  });

  it.each(["Errors", "Throttles"])("the coordinator's Lambda %s: at least one in 2 of the last 3 minutes", (metric) => {
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      ...coordinator,
      MetricName: metric,
      Statistic: "Sum",
      Period: 60,
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      TreatMissingData: "notBreaching",
      AlarmDescription: Match.stringLikeRegexp(`#alarm-coordinator-${metric.toLowerCase()}$`),
    });
  });

  it("iterator age: each input stream's GetRecords.IteratorAgeMilliseconds above a quarter of its retention (6 h of 24 h) for 5 minutes", () => {
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      Namespace: "AWS/Kinesis",
      MetricName: "GetRecords.IteratorAgeMilliseconds",
      Dimensions: [{ Name: "StreamName", Value: { Ref: Match.stringLikeRegexp("^AppInput0") } }],
      Statistic: "Maximum",
      Period: 60,
      Threshold: 6 * 3_600_000,
      ComparisonOperator: "GreaterThanThreshold",
      EvaluationPeriods: 5,
      DatapointsToAlarm: 5,
      TreatMissingData: "notBreaching",
      AlarmDescription: Match.stringLikeRegexp("fixture-lines.*#alarm-input-iterator-age$"),
    });
  });

  it("iterator age: follows a created stream's retention (48 h: 12 h) and takes iteratorAgeAlarmThreshold", () => {
    synth({ inputStreams: [{ streamName: "fixture-lines", retentionPeriod: Duration.hours(48) }] }).template.hasResourceProperties(
      "AWS::CloudWatch::Alarm",
      { MetricName: "GetRecords.IteratorAgeMilliseconds", Threshold: 12 * 3_600_000 },
    );
    synth({ inputStreams: [{ streamName: "fixture-lines", iteratorAgeAlarmThreshold: Duration.hours(2) }] }).template.hasResourceProperties(
      "AWS::CloudWatch::Alarm",
      { MetricName: "GetRecords.IteratorAgeMilliseconds", Threshold: 2 * 3_600_000 },
    );
  });

  it("iterator age: one alarm per stream, an imported one by its name, at 6 h (Kinesis' minimum retention is 24 h)", () => {
    const existing = kinesis.Stream.fromStreamArn(scope(), "B", "arn:aws:kinesis:us-east-1:111122223333:stream/b");
    const t = synth({ entry: TWO_STREAMS_FIXTURE_ENTRY, inputStreams: [{ streamName: "a" }, { streamName: "b", stream: existing }] }).template;
    t.resourcePropertiesCountIs("AWS::CloudWatch::Alarm", { MetricName: "GetRecords.IteratorAgeMilliseconds" }, 2);
    t.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "GetRecords.IteratorAgeMilliseconds",
      Dimensions: [{ Name: "StreamName", Value: "b" }],
      Threshold: 6 * 3_600_000,
    });
  });

  it.each(["TaskDeadLetterQueue", "ResultDeadLetterQueue"])(
    "%s: new messages (a rise in its depth over a minute), not the messages already there",
    (dlq) => {
      template.hasResourceProperties("AWS::CloudWatch::Alarm", {
        Metrics: [
          Match.objectLike({ Expression: "DIFF(FILL(FILL(depth, REPEAT), 0))", ReturnData: true }),
          {
            Id: "depth",
            ReturnData: false,
            MetricStat: {
              Metric: {
                Namespace: "AWS/SQS",
                MetricName: "ApproximateNumberOfMessagesVisible",
                Dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": [Match.stringLikeRegexp(`^App${dlq}`), "QueueName"] } }],
              },
              Period: 60,
              Stat: "Maximum",
            },
          },
        ],
        Threshold: 0,
        ComparisonOperator: "GreaterThanThreshold",
        EvaluationPeriods: 1,
        TreatMissingData: "notBreaching",
        AlarmDescription: Match.stringLikeRegexp(`#alarm-${dlq === "TaskDeadLetterQueue" ? "task" : "result"}-dead-letter-queue$`),
      });
    },
  );

  it("no longer alarms on the DLQs' depth itself", () => {
    template.resourcePropertiesCountIs("AWS::CloudWatch::Alarm", { MetricName: "ApproximateNumberOfMessagesVisible" }, 0);
  });

  it("QuarantinedRecords: any quarantined record (Sum ≥ 1) in a minute; no data is fine", () => {
    template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      ...app,
      MetricName: "QuarantinedRecords",
      Statistic: "Sum",
      Period: 60,
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      EvaluationPeriods: 1,
      TreatMissingData: "notBreaching",
    });
  });

  it("points the descriptions at runbookUrl", () => {
    synth({ runbookUrl: "https://wiki.example.com/sparkless" }).template.hasResourceProperties("AWS::CloudWatch::Alarm", {
      MetricName: "BatchFailed",
      AlarmDescription: Match.stringLikeRegexp("Runbook: https://wiki.example.com/sparkless#alarm-batch-failed$"),
    });
  });

  it("exposes every alarm on the construct", () => {
    const { construct, template: t } = synth();
    expect(construct.alarmList).toHaveLength(9);
    expect(Object.keys(t.findResources("AWS::CloudWatch::Alarm")).length).toBe(construct.alarmList.length);
    expect(construct.alarms.inputIteratorAge).toHaveLength(1);
  });

  it("has no DLQ alarm for an imported queue whose DLQ it cannot know", () => {
    const { construct, template: t } = synth({
      taskQueue: sqs.Queue.fromQueueArn(scope(), "Tasks", "arn:aws:sqs:us-east-1:111122223333:shared-tasks"),
    });
    expect(construct.alarms.deadLetterQueue).toBeUndefined();
    t.resourceCountIs("AWS::CloudWatch::Alarm", 8);
  });
});

describe("alarm notifications", () => {
  it("notifies alarmTopic from every alarm", () => {
    const topicArn = "arn:aws:sns:us-east-1:111122223333:oncall";
    const { template: t } = synth((stack) => ({ alarmTopic: sns.Topic.fromTopicArn(stack, "Oncall", topicArn) }));
    t.resourcePropertiesCountIs("AWS::CloudWatch::Alarm", { AlarmActions: [topicArn] }, 9);
    t.resourceCountIs("AWS::SNS::Topic", 0);
  });

  const withEmail = synth({ alarmEmail: "oncall@example.com" });

  it("creates a topic for alarmEmail, subscribes the address and notifies it from every alarm", () => {
    const t = withEmail.template;
    t.resourceCountIs("AWS::SNS::Topic", 1);
    t.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      Endpoint: "oncall@example.com",
      TopicArn: { Ref: Match.stringLikeRegexp("^AppAlarmTopic") },
    });
    t.resourcePropertiesCountIs("AWS::CloudWatch::Alarm", { AlarmActions: [{ Ref: Match.stringLikeRegexp("^AppAlarmTopic") }] }, 9);
    expect(withEmail.construct.alarmTopic).toBeDefined();
  });

  it("does not encrypt the created topic with a key CloudWatch could not use, and creates no key", () => {
    withEmail.template.hasResourceProperties("AWS::SNS::Topic", { KmsMasterKeyId: Match.absent() });
    withEmail.template.resourceCountIs("AWS::KMS::Key", 0);
  });

  it("lets only this account's CloudWatch alarms publish to the created topic, over TLS only", () => {
    withEmail.template.hasResourceProperties("AWS::SNS::TopicPolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Action: "sns:Publish", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
          Match.objectLike({
            Effect: "Allow",
            Action: "sns:Publish",
            Principal: { Service: "cloudwatch.amazonaws.com" },
            Condition: { StringEquals: { "aws:SourceAccount": { Ref: "AWS::AccountId" } }, ArnLike: { "aws:SourceArn": Match.anyValue() } },
          }),
        ]),
      },
    });
  });

  it("subscribes alarmEmail to alarmTopic when both are given, creating no topic", () => {
    const topicArn = "arn:aws:sns:us-east-1:111122223333:oncall";
    const { template: t } = synth((stack) => ({ alarmTopic: sns.Topic.fromTopicArn(stack, "Oncall", topicArn), alarmEmail: "oncall@example.com" }));
    t.resourceCountIs("AWS::SNS::Topic", 0);
    t.hasResourceProperties("AWS::SNS::Subscription", { Protocol: "email", TopicArn: topicArn });
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

  it("warns that DESTROY with deletion protection leaves the tables behind", () => {
    const { stack } = synth({ removalPolicy: RemovalPolicy.DESTROY });
    Annotations.fromStack(stack).hasWarning("*", Match.stringLikeRegexp("tableDeletionProtection: false"));
  });

  it("warns that a queue given without a known DLQ has no DLQ alarm", () => {
    const { stack } = synth({ resultQueue: sqs.Queue.fromQueueArn(scope(), "R", "arn:aws:sqs:us-east-1:111122223333:results") });
    Annotations.fromStack(stack).hasWarning("*", Match.stringLikeRegexp("resultQueue given is not an sqs.Queue with a deadLetterQueue"));
  });

  it("warns about a listed stream the module does not read", () => {
    const { stack } = synth({ inputStreams: [{ streamName: "fixture-lines" }, { streamName: "spare" }] });
    Annotations.fromStack(stack).hasWarning("*", Match.stringLikeRegexp("reads none of spare"));
  });

  it("does not warn with the derived sizes", () => {
    const { stack } = synth();
    expect(Annotations.fromStack(stack).findWarning("*", Match.stringLikeRegexp("sparkless:"))).toEqual([]);
  });
});

describe("deriveSizing", () => {
  it.each([
    // interval ms, coordinator s, coordinator MB, worker s, worker MB, visibility s
    [1_000, 58, 192, 30, 1024, 180],
    [2_000, 59, 192, 30, 1024, 180],
    [10_000, 75, 192, 50, 1024, 300],
    [11_000, 77, 512, 55, 1769, 330],
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
