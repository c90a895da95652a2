/**
 * Every prop is checked in the constructor, and the message names the prop, what is allowed and the
 * value received.
 */
import { describe, expect, it } from "vitest";
import { Duration } from "aws-cdk-lib";
import * as kinesis from "aws-cdk-lib/aws-kinesis";
import type { SparklessAppProps } from "../../cdk/sparkless-app.js";
import { synth, scope } from "./support.js";

const existing = () => kinesis.Stream.fromStreamArn(scope(), "S", "arn:aws:kinesis:us-east-1:111122223333:stream/other");

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
  ["no input stream", { inputStreams: [] }, /`inputStreams` to list at least one Kinesis stream, got \[\]/],
  ["a bad stream name", { inputStreams: [{ streamName: "no spaces" }] }, /`inputStreams\[0\]\.streamName`.*got "no spaces"/],
  ["the same stream twice", { inputStreams: [{ streamName: "a" }, { streamName: "a" }] }, /unique, got "a" twice/],
  ["shardCount with ON_DEMAND", { inputStreams: [{ streamName: "a", streamMode: kinesis.StreamMode.ON_DEMAND, shardCount: 2 }] }, /no `inputStreams\[0\]\.shardCount` with StreamMode\.ON_DEMAND.*got 2/],
  ["shardCount 0", { inputStreams: [{ streamName: "a", shardCount: 0 }] }, /`inputStreams\[0\]\.shardCount`.*from 1 to 500, got 0/],
  ["retention below 24 h", { inputStreams: [{ streamName: "a", retentionPeriod: Duration.hours(12) }] }, /`inputStreams\[0\]\.retentionPeriod`.*from 86400 s.*got 12 hours/],
  ["an existing stream with another name", { inputStreams: [{ streamName: "fixture-lines", stream: existing() }] }, /named "fixture-lines" as the app module reads it, got "other"/],
  ["an existing stream with create props", { inputStreams: [{ streamName: "other", stream: existing(), shardCount: 2 }] }, /either `stream`.*or the props to create one, got both/],
  ["coordinatorMemorySize 64", { coordinatorMemorySize: 64 }, /`coordinatorMemorySize`.*from 128 to 10240 MB, got 64/],
  ["workerMemorySize 1.5", { workerMemorySize: 1.5 }, /`workerMemorySize`.*integer.*got 1\.5/],
  ["coordinatorTimeout 5 s", { coordinatorTimeout: Duration.seconds(5) }, /`coordinatorTimeout`.*from 10 s to 900 s, got 5 seconds/],
  ["workerTimeout 16 min", { workerTimeout: Duration.minutes(16) }, /`workerTimeout`.*to 900 s, got 16 minutes/],
  ["workerTimeout 1.5 s", { workerTimeout: Duration.millis(1500) }, /`workerTimeout` to be whole seconds.*got 1 second 500 millis/],
  ["workerBatchSize 11", { workerBatchSize: 11 }, /`workerBatchSize`.*from 1 to 10, got 11/],
  ["workerMaxConcurrency 1", { workerMaxConcurrency: 1 }, /`workerMaxConcurrency`.*from 2 to 1000, got 1/],
  ["maxReceiveCount at maxTaskAttempts", { maxReceiveCount: 3 }, /`maxReceiveCount`.*from 4 to 1000, got 3/],
  ["schedulingDelayAlarmThreshold 2 h", { schedulingDelayAlarmThreshold: Duration.hours(2) }, /`schedulingDelayAlarmThreshold`.*to 3600 s, got 2 hours/],
  ["dashboardName with a space", { dashboardName: "my dash" }, /`dashboardName`.*got "my dash"/],
];

describe("SparklessApp props", () => {
  it.each(cases)("refuses %s", (_name, props, message) => {
    expect(() => synth(props)).toThrow(message);
  });

  it("accepts the fixture's props as they are", () => {
    expect(synth().construct.appName).toBe("cdkfixture");
  });

  it("accepts an existing stream named as the app reads it", () => {
    const s = kinesis.Stream.fromStreamArn(scope(), "S", "arn:aws:kinesis:us-east-1:111122223333:stream/fixture-lines");
    expect(synth({ inputStreams: [{ streamName: "fixture-lines", stream: s }] }).construct.inputStreams).toEqual([s]);
  });

  it("exposes the effective interval from config", () => {
    expect(synth({ config: { batchInterval: "5s" } }).construct.batchInterval.toSeconds()).toBe(5);
  });
});
