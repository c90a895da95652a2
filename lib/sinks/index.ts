/**
 * Idempotent sinks (`sparkless/sinks`): what `foreachPartition` calls inside
 * `foreachRDD` to write a batch's elements to DynamoDB or Kinesis, so that a
 * batch that runs again (a coordinator or worker that died mid-batch) does
 * no harm. See docs/sinks.md.
 *
 *  - dynamodb.ts  `dynamoDbSink`: a PutItem per element, conditional on the batch time
 *                 (the final table state is as if each batch were written once)
 *  - kinesis.ts   `kinesisSink`: PutRecords with deterministic record ids and hash keys
 *                 (at-least-once; consumers dedupe by id)
 *
 * This is an adapter layer: it imports the AWS SDK, which the core does not.
 */
export {
  dynamoDbSink,
  dynamoDbClientConfigFromEnv,
  DynamoDbSinkError,
  type DynamoDbSinkOptions,
  type DynamoDbSinkResult,
  type KeyValue,
} from "./dynamodb.js";
export type { PartitionWriter } from "./clients.js";
export {
  kinesisSink,
  kinesisClientConfigFromEnv,
  KinesisSinkError,
  recordId,
  explicitHashKey,
  openEnvelope,
  type FailedRecord,
  type KinesisSinkOptions,
  type KinesisSinkResult,
} from "./kinesis.js";
