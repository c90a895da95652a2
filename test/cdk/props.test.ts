/**
 * Every prop is checked in the constructor, and the message names the prop, what is allowed and the
 * value received. The props that restate the app module (appName, batchInterval, maxTaskAttempts,
 * checkpointStore, the streams) are checked against what the module declares, loaded at synth.
 */
import { describe, expect, it } from "vitest";
import { Duration } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as kinesis from "aws-cdk-lib/aws-kinesis";
import * as kms from "aws-cdk-lib/aws-kms";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { readAppModuleSync } from "../../cdk/app-module.js";
import type { SparklessAppProps } from "../../cdk/sparkless-app.js";
import { BROKEN_FIXTURE_ENTRY, FIXTURE_ENTRY, S3_FIXTURE_ENTRY, synth, scope } from "./support.js";

const existing = () => kinesis.Stream.fromStreamArn(scope(), "S", "arn:aws:kinesis:us-east-1:111122223333:stream/other");
const key = (arn = "arn:aws:kms:us-east-1:111122223333:key/11111111-1111-1111-1111-111111111111") => kms.Key.fromKeyArn(scope(), "K", arn);

const cases: [string, Partial<SparklessAppProps>, RegExp][] = [
  ["entry of another kind", { entry: "app.py" }, /`entry`.*\.ts, \.mts, \.js or \.mjs.*got "app\.py"/],
  ["entry that does not exist", { entry: "nowhere/app.ts" }, /existing app module, got "nowhere\/app\.ts"/],
  ["appName with a dot", { appName: "word.count" }, /`appName`.*\[a-zA-Z0-9-\], got "word\.count"/],
  ["batchInterval below 1 s", { batchInterval: Duration.millis(500) }, /from 1 s to 15 min on AWS, got 500 ms/],
  ["batchInterval above 15 min", { batchInterval: Duration.minutes(20) }, /between 100 ms and 15 minutes, got 1200000 ms/],
  ["maxTaskAttempts 0", { maxTaskAttempts: 0 }, /`maxTaskAttempts`.*from 1 to 100, got 0/],
  ["config with an unknown field", { config: { batchIntervall: "2s" } as never }, /only the fields name, batchInterval.*unknown: batchIntervall/],
  ["config.batchInterval not a duration", { config: { batchInterval: "soon" } }, /duration like `500ms`.*got `soon`/],
  ["config.batchInterval below 1 s", { config: { batchInterval: "200ms" } }, /on AWS, got 200 ms \(config\.batchInterval "200ms"\)/],
  ["config.name invalid", { config: { name: "a b" } }, /app `name`.*got `"a b"`/],
  ["config.defaultParallelism 0", { config: { defaultParallelism: 0 } }, /defaultParallelism/],
  ["checkpointStore of another kind", { checkpointStore: "efs" as never }, /`checkpointStore` to be "dynamodb" or "s3", got "efs"/],
  [
    "config.checkpointStore of another kind",
    { config: { checkpointStore: "efs" as never } },
    /`checkpointStore` to be "dynamodb" or "s3", got `"?efs"?`/,
  ],
  [
    "config.stateBackend of another kind",
    { config: { stateBackend: "redis" as never } },
    /`stateBackend` to be "memory" or "dynamodb", got `"?redis"?`/,
  ],
  [
    "config.execution.mode of another kind",
    { config: { execution: { mode: "lambda" as never } } },
    /`execution\.mode` to be "auto", "in-process" or "fan-out", got `"?lambda"?`/,
  ],
  ["config.execution.maxInProcessRecords 0", { config: { execution: { maxInProcessRecords: 0 } } }, /execution\.maxInProcessRecords/],
  ["a bucket that is not one", { bucket: "my-bucket" as never }, /`bucket` to be an s3\.IBucket.*got "my-bucket"/],
  ["no input stream", { inputStreams: [] }, /`inputStreams` to list at least one Kinesis stream, got \[\]/],
  ["a bad stream name", { inputStreams: [{ streamName: "no spaces" }] }, /`inputStreams\[0\]\.streamName`.*got "no spaces"/],
  ["the same stream twice", { inputStreams: [{ streamName: "a" }, { streamName: "a" }] }, /unique, got "a" twice/],
  [
    "shardCount with ON_DEMAND",
    { inputStreams: [{ streamName: "a", streamMode: kinesis.StreamMode.ON_DEMAND, shardCount: 2 }] },
    /no `inputStreams\[0\]\.shardCount` with StreamMode\.ON_DEMAND.*got 2/,
  ],
  ["shardCount 0", { inputStreams: [{ streamName: "a", shardCount: 0 }] }, /`inputStreams\[0\]\.shardCount`.*from 1 to 500, got 0/],
  [
    "retention below 24 h",
    { inputStreams: [{ streamName: "a", retentionPeriod: Duration.hours(12) }] },
    /`inputStreams\[0\]\.retentionPeriod`.*from 86400 s.*got 12 hours/,
  ],
  [
    "an existing stream with another name",
    { inputStreams: [{ streamName: "fixture-lines", stream: existing() }] },
    /named "fixture-lines" as the app module reads it, got "other"/,
  ],
  [
    "an existing stream with create props",
    { inputStreams: [{ streamName: "other", stream: existing(), shardCount: 2 }] },
    /either `stream`.*or the props to create one, got both/,
  ],
  ["coordinatorMemorySize 64", { coordinatorMemorySize: 64 }, /`coordinatorMemorySize`.*from 128 to 10240 MB, got 64/],
  ["workerMemorySize 1.5", { workerMemorySize: 1.5 }, /`workerMemorySize`.*integer.*got 1\.5/],
  ["coordinatorTimeout 5 s", { coordinatorTimeout: Duration.seconds(5) }, /`coordinatorTimeout`.*from 10 s to 900 s, got 5 seconds/],
  ["workerTimeout 16 min", { workerTimeout: Duration.minutes(16) }, /`workerTimeout`.*to 900 s, got 16 minutes/],
  ["workerTimeout 1.5 s", { workerTimeout: Duration.millis(1500) }, /`workerTimeout` to be whole seconds.*got 1 second 500 millis/],
  ["workerBatchSize 11", { workerBatchSize: 11 }, /`workerBatchSize`.*from 1 to 10, got 11/],
  ["workerMaxConcurrency 1", { workerMaxConcurrency: 1 }, /`workerMaxConcurrency`.*from 2 to 1000, got 1/],
  ["maxReceiveCount at maxTaskAttempts", { maxReceiveCount: 3 }, /`maxReceiveCount`.*from 4 to 1000, got 3/],
  [
    "schedulingDelayAlarmThreshold 2 h",
    { schedulingDelayAlarmThreshold: Duration.hours(2) },
    /`schedulingDelayAlarmThreshold`.*to 3600 s, got 2 hours/,
  ],
  ["dashboardName with a space", { dashboardName: "my dash" }, /`dashboardName`.*got "my dash"/],
  // resources given
  ["a metaTable that is not a table", { metaTable: "meta" as never }, /`metaTable` to be a dynamodb\.ITable.*got "meta"/],
  ["a stateTable that is not a table", { stateTable: 42 as never }, /`stateTable` to be a dynamodb\.ITable.*got 42/],
  [
    "the same table twice",
    (() => {
      const t = dynamodb.Table.fromTableName(scope(), "T", "one");
      return { metaTable: t, stateTable: t };
    })(),
    /two tables, got the same table for both/,
  ],
  ["a taskQueue that is not a queue", { taskQueue: "tasks" as never }, /`taskQueue` to be an sqs\.IQueue.*got "tasks"/],
  [
    "the same queue twice",
    (() => {
      const q = sqs.Queue.fromQueueArn(scope(), "Q", "arn:aws:sqs:us-east-1:111122223333:q");
      return { taskQueue: q, resultQueue: q };
    })(),
    /two queues, got the same queue for both/,
  ],
  [
    "maxReceiveCount with a taskQueue given",
    { taskQueue: sqs.Queue.fromQueueArn(scope(), "T", "arn:aws:sqs:us-east-1:111122223333:q"), maxReceiveCount: 12 },
    /no `maxReceiveCount` with `taskQueue`.*got 12/,
  ],
  [
    "a FIFO task queue",
    { taskQueue: sqs.Queue.fromQueueArn(scope(), "F", "arn:aws:sqs:us-east-1:111122223333:q.fifo") },
    /standard queues, got a FIFO queue as `taskQueue`/,
  ],
  ["tableDeletionProtection not a boolean", { tableDeletionProtection: "yes" as never }, /`tableDeletionProtection` to be true or false, got "yes"/],
  [
    "encryptionKey on a created stream",
    { inputStreams: [{ streamName: "fixture-lines", encryptionKey: key() }] },
    /`inputStreams\[0\]\.encryptionKey` only with `stream`.*got a key for "fixture-lines"/,
  ],
  [
    "encryptionKey that is not a key",
    { inputStreams: [{ streamName: "fixture-lines", stream: existing(), encryptionKey: "alias/x" as never }] },
    /`inputStreams\[0\]\.encryptionKey` to be a kms\.IKey.*got "alias\/x"/,
  ],
  [
    "encryptionKey other than the stream's own",
    (() => {
      const within = scope();
      const stream = kinesis.Stream.fromStreamAttributes(within, "S", {
        streamArn: "arn:aws:kinesis:us-east-1:111122223333:stream/fixture-lines",
        encryptionKey: kms.Key.fromKeyArn(within, "Own", "arn:aws:kms:us-east-1:111122223333:key/own"),
      });
      return {
        inputStreams: [
          { streamName: "fixture-lines", stream, encryptionKey: kms.Key.fromKeyArn(within, "Other", "arn:aws:kms:us-east-1:111122223333:key/other") },
        ],
      };
    })(),
    /already has encryptionKey arn:aws:kms:us-east-1:111122223333:key\/own, got arn:aws:kms:us-east-1:111122223333:key\/other/,
  ],
  [
    "iteratorAgeAlarmThreshold past the retention",
    { inputStreams: [{ streamName: "fixture-lines", iteratorAgeAlarmThreshold: Duration.hours(25) }] },
    /`inputStreams\[0\]\.iteratorAgeAlarmThreshold`.*from 60 s to 86400 s, got 1 day 1 hour/,
  ],
  // alarms
  [
    "lastCompletedBatchAgeAlarmThreshold below a schedule period and an interval",
    { lastCompletedBatchAgeAlarmThreshold: Duration.seconds(30) },
    /`lastCompletedBatchAgeAlarmThreshold`.*from 61 s to 86400 s, got 30 seconds/,
  ],
  ["an alarmEmail that is not an address", { alarmEmail: "oncall" }, /`alarmEmail` to be an email address.*got "oncall"/],
  [
    "an alarmTopic that is not a topic",
    { alarmTopic: "arn:aws:sns:us-east-1:111122223333:t" as never },
    /`alarmTopic` to be an sns\.ITopic.*got "arn:aws:sns/,
  ],
  ["a runbookUrl with a space", { runbookUrl: "our wiki" }, /`runbookUrl`.*without spaces, got "our wiki"/],
  [
    "an appModule without its interval",
    { appModule: { appName: "cdkfixture" } as never },
    /`appModule` to be what the module declares.*got \{"appName":"cdkfixture"\}/,
  ],
];

/** The props that must say what the module says, and the message that names both values and the fix. */
const mismatches: [string, Partial<SparklessAppProps>, RegExp][] = [
  [
    "appName other than the module's",
    { appName: "clicks" },
    /Expected `appName` to be "cdkfixture", the name the app module .*fixture-app\.ts declares \(defineApp\(\{ name \}\)\), got "clicks"\..*alarms watching "clicks" would never see data\. Pass appName: "cdkfixture", or rename the app for both with config\.name\./,
  ],
  [
    "batchInterval other than the module's",
    { batchInterval: Duration.seconds(2) },
    /Expected `batchInterval` to be 1000 ms, the interval the app module .*fixture-app\.ts declares, got 2000 ms\..*Pass batchInterval: Duration\.millis\(1000\), or change both with config\.batchInterval\./,
  ],
  [
    "maxTaskAttempts other than the module's",
    { maxTaskAttempts: 5 },
    /Expected `maxTaskAttempts` to be 3, as the app module .* declares, got 5\. Leave it out/,
  ],
  [
    "checkpointStore other than the module's",
    { checkpointStore: "s3" },
    /Expected `checkpointStore` to be "dynamodb", as the app module .* declares, got "s3"\. Leave it out/,
  ],
  [
    "inputStreams without a stream the module reads",
    { inputStreams: [{ streamName: "other-lines" }] },
    /Expected `inputStreams` to list every Kinesis stream the app module .* reads \(fixture-lines\), got other-lines \(missing: fixture-lines\)\. Add \{ streamName: "fixture-lines" \}/,
  ],
  [
    "appModule that says otherwise",
    { appModule: { appName: "cdkfixture", batchInterval: Duration.seconds(5) } },
    /Expected `batchInterval` to be 5000 ms, the interval the app module .* declares, got 1000 ms/,
  ],
];

describe("SparklessApp props", () => {
  it.each(cases)("refuses %s", (_name, props, message) => {
    expect(() => synth(props)).toThrow(message);
  });
});

describe("SparklessApp props against the app module", () => {
  it.each(mismatches)("refuses %s", (_name, props, message) => {
    expect(() => synth(props)).toThrow(message);
  });

  it("reads what the module declares, whatever SPARKLESS_CONFIG says in the synth's environment", () => {
    const before = process.env.SPARKLESS_CONFIG;
    process.env.SPARKLESS_CONFIG = JSON.stringify({ name: "elsewhere", batchInterval: "9s" });
    try {
      const declared = readAppModuleSync(FIXTURE_ENTRY);
      expect([
        declared.appName,
        declared.batchInterval.toMilliseconds(),
        declared.maxTaskAttempts,
        declared.checkpointStore,
        declared.kinesisStreams,
      ]).toEqual(["cdkfixture", 1000, 3, "dynamodb", ["fixture-lines"]]);
    } finally {
      if (before === undefined) delete process.env.SPARKLESS_CONFIG;
      else process.env.SPARKLESS_CONFIG = before;
    }
  });

  it("takes maxTaskAttempts and checkpointStore from the module when left out", () => {
    const { construct } = synth({ entry: S3_FIXTURE_ENTRY, maxTaskAttempts: undefined });
    expect(construct.checkpointStore).toBe("s3");
    expect(construct.sizing.maxReceiveCount).toBe(10);
  });

  it("renames the app with config.name, for the construct and the functions alike", () => {
    expect(synth({ config: { name: "renamed" } }).construct.appName).toBe("renamed");
  });

  it("says what to do when the module cannot be loaded at synth", () => {
    expect(() => synth({ entry: BROKEN_FIXTURE_ENTRY })).toThrow(
      /Could not load the app module .*fixture-broken-app\.ts at synth.*: Error: FIXTURE_REQUIRED_TABLE is not set \(at .*fixture-broken-app\.ts:5:\d+\)\. Make the module importable.*pass `appModule` with what it declares/,
    );
  });

  it("checks against appModule instead of loading a module that cannot be loaded", () => {
    const { construct } = synth({ entry: BROKEN_FIXTURE_ENTRY, appModule: { appName: "cdkfixture", batchInterval: Duration.seconds(1) } });
    expect(construct.appName).toBe("cdkfixture");
  });
});

describe("SparklessApp props accepted", () => {
  it("accepts the fixture's props as they are", () => {
    expect(synth().construct.appName).toBe("cdkfixture");
  });

  it("accepts an existing stream named as the app reads it", () => {
    const s = kinesis.Stream.fromStreamArn(scope(), "S", "arn:aws:kinesis:us-east-1:111122223333:stream/fixture-lines");
    expect(synth({ inputStreams: [{ streamName: "fixture-lines", stream: s }] }).construct.inputStreams).toEqual([s]);
  });

  it("accepts the fields of defineApp in config", () => {
    const config = { stateBackend: "dynamodb", checkpointStore: "s3", execution: { mode: "fan-out", maxInProcessRecords: 5000 } } as const;
    expect(synth({ config }).construct.checkpointStore).toBe("s3");
  });

  it("exposes the effective interval from config", () => {
    expect(synth({ config: { batchInterval: "5s" } }).construct.batchInterval.toSeconds()).toBe(5);
  });
});
