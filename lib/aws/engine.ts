/**
 * The AWS engine: every storage and transport interface over DynamoDB, SQS,
 * S3 and Kinesis, wired from one configuration. Both Lambda handlers and the
 * local runtime build their engine here; only the endpoints differ.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { KinesisClient } from "@aws-sdk/client-kinesis";
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { InvalidArgumentError } from "../core/errors.js";
import type { StreamSource, TaskMessage, TaskResult } from "../storage/interfaces.js";
import type { Engine } from "../streaming/context.js";
import { DynamoBatchLog } from "./dynamodb/batch-log.js";
import { DynamoCheckpointStore, DynamoPages } from "./dynamodb/checkpoints.js";
import { DynamoClaims } from "./dynamodb/claims.js";
import { DynamoLease } from "./dynamodb/lease.js";
import { DynamoQuarantine } from "./dynamodb/quarantine.js";
import { DynamoStateStore } from "./dynamodb/state-store.js";
import type { TableNames } from "./dynamodb/tables.js";
import { KinesisSource } from "./kinesis.js";
import { BlobBlockSource } from "../sources/memory/blob-blocks.js";
import { Meter } from "../observability/metering.js";
import { S3BlobStore, S3ObjectStore, S3Pages } from "./s3.js";
import { SqsQueue } from "./sqs.js";
import { S3ObjectLister } from "./s3-files.js";
import { FileStreamSource, S3_FILES } from "../sources/s3/file-source.js";

export interface AwsEngineConfig {
  /** The app's name: the namespace of its items in the shared tables, and of its objects in the bucket. */
  readonly app: string;
  readonly region: string;
  readonly tables: TableNames;
  /** The bucket of large shuffle data (and of checkpoints with `checkpointStore: "s3"`). */
  readonly bucket: string;
  readonly taskQueueUrl: string;
  readonly resultQueueUrl: string;
  /** Where checkpoint pages go. @default "dynamodb" */
  readonly checkpointStore?: "dynamodb" | "s3";
  /** Endpoints of engines other than AWS (the embedded engines, LocalStack). */
  readonly endpoints?: { readonly kinesis?: string; readonly dynamodb?: string; readonly sqs?: string; readonly s3?: string };
  /** Credentials for local engines; on AWS the default provider chain is used. */
  readonly credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** Reads the engine configuration the CDK construct (or the local runtime) puts in the environment. */
export function engineConfigFromEnv(env: NodeJS.ProcessEnv = process.env): AwsEngineConfig {
  const need = (name: string): string => {
    const v = env[name];
    if (!v)
      throw new InvalidArgumentError(
        `The environment variable ${name} is not set. The CDK construct sets it on both functions; locally, run through \`sparkless local\`.`,
      );
    return v;
  };
  const endpoint = env.AWS_ENDPOINT_URL;
  const store = env.SPARKLESS_CHECKPOINT_STORE;
  if (store !== undefined && store !== "dynamodb" && store !== "s3") {
    throw new InvalidArgumentError(`Expected SPARKLESS_CHECKPOINT_STORE to be "dynamodb" or "s3", got \`${store}\`.`);
  }
  return {
    app: need("SPARKLESS_APP"),
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1",
    tables: { meta: need("SPARKLESS_META_TABLE"), state: need("SPARKLESS_STATE_TABLE") },
    bucket: need("SPARKLESS_BUCKET"),
    taskQueueUrl: need("SPARKLESS_TASK_QUEUE_URL"),
    resultQueueUrl: need("SPARKLESS_RESULT_QUEUE_URL"),
    ...(store ? { checkpointStore: store } : {}),
    endpoints: {
      kinesis: env.SPARKLESS_KINESIS_ENDPOINT ?? endpoint,
      dynamodb: env.SPARKLESS_DYNAMODB_ENDPOINT ?? endpoint,
      sqs: env.SPARKLESS_SQS_ENDPOINT ?? endpoint,
      s3: env.SPARKLESS_S3_ENDPOINT ?? endpoint,
    },
  };
}

/** The variables that carry `config` to another process. */
export function engineConfigToEnv(config: AwsEngineConfig): Record<string, string> {
  const env: Record<string, string> = {
    SPARKLESS_APP: config.app,
    AWS_REGION: config.region,
    SPARKLESS_META_TABLE: config.tables.meta,
    SPARKLESS_STATE_TABLE: config.tables.state,
    SPARKLESS_BUCKET: config.bucket,
    SPARKLESS_TASK_QUEUE_URL: config.taskQueueUrl,
    SPARKLESS_RESULT_QUEUE_URL: config.resultQueueUrl,
  };
  if (config.checkpointStore) env.SPARKLESS_CHECKPOINT_STORE = config.checkpointStore;
  if (config.endpoints?.kinesis) env.SPARKLESS_KINESIS_ENDPOINT = config.endpoints.kinesis;
  if (config.endpoints?.dynamodb) env.SPARKLESS_DYNAMODB_ENDPOINT = config.endpoints.dynamodb;
  if (config.endpoints?.sqs) env.SPARKLESS_SQS_ENDPOINT = config.endpoints.sqs;
  if (config.endpoints?.s3) env.SPARKLESS_S3_ENDPOINT = config.endpoints.s3;
  if (config.credentials) {
    env.AWS_ACCESS_KEY_ID = config.credentials.accessKeyId;
    env.AWS_SECRET_ACCESS_KEY = config.credentials.secretAccessKey;
  }
  return env;
}

export interface AwsClients {
  readonly dynamodb: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  readonly kinesis: KinesisClient;
  readonly s3: S3Client;
}

export function createClients(config: Pick<AwsEngineConfig, "region" | "endpoints" | "credentials">): AwsClients {
  const common = (endpoint: string | undefined) => ({
    region: config.region,
    maxAttempts: 8,
    ...(endpoint ? { endpoint } : {}),
    ...(config.credentials ? { credentials: config.credentials } : {}),
    // HTTP/1.1 everywhere: the Kinesis client's HTTP/2 default fails against local engines.
    requestHandler: new NodeHttpHandler({ connectionTimeout: 5_000, requestTimeout: 30_000 }),
  });
  const dynamodb = new DynamoDBClient(common(config.endpoints?.dynamodb));
  return {
    dynamodb,
    doc: DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } }),
    sqs: new SQSClient(common(config.endpoints?.sqs)),
    kinesis: new KinesisClient(common(config.endpoints?.kinesis)),
    // Path-style addressing for local endpoints (fauxqs, moto, LocalStack serve buckets under the path).
    s3: new S3Client({ ...common(config.endpoints?.s3), ...(config.endpoints?.s3 ? { forcePathStyle: true } : {}) }),
  };
}

export interface AwsEngine extends Engine {
  readonly clients: AwsClients;
  readonly config: AwsEngineConfig;
}

export function createAwsEngine(
  config: AwsEngineConfig,
  clients: AwsClients = createClients(config),
  options: {
    /**
     * Count every request this process sends (and ask DynamoDB for its consumed units), for the per-batch
     * cost the coordinator records. A worker's engine needs none: nothing reads its counts. @default true
     */
    meter?: boolean;
  } = {},
): AwsEngine {
  const { doc } = clients;
  const prefix = `${config.app}/`;
  const meter = options.meter === false ? undefined : new Meter();
  meter?.attachAll(clients);
  const pages =
    config.checkpointStore === "s3" ? new S3Pages(clients.s3, config.bucket, prefix) : new DynamoPages(doc, config.tables.state, config.app);
  return {
    config,
    clients,
    ...(meter ? { meter } : {}),
    batchLog: new DynamoBatchLog(doc, config.tables.meta, config.app),
    checkpoints: new DynamoCheckpointStore(doc, config.tables.meta, config.app, pages),
    state: new DynamoStateStore(doc, config.tables.state, config.app),
    quarantine: new DynamoQuarantine(doc, config.tables.meta, config.app),
    lease: new DynamoLease(doc, config.tables.meta, config.app),
    tasks: new SqsQueue<TaskMessage>(clients.sqs, config.taskQueueUrl),
    results: new SqsQueue<TaskResult>(clients.sqs, config.resultQueueUrl),
    claims: new DynamoClaims(doc, config.tables.meta, config.app),
    blobs: new S3BlobStore(clients.s3, config.bucket, prefix),
    // The user's buckets, for outputs to s3:// paths (the bucket comes with each path).
    objects: new S3ObjectStore(clients.s3),
    // "blob": the blocks queueStream writes to the blob store (lib/sources/memory/blob-blocks.ts).
    sources: new Map<string, StreamSource>([
      ["kinesis", new KinesisSource(clients.kinesis)],
      ["blob", new BlobBlockSource(new S3BlobStore(clients.s3, config.bucket, prefix))],
      // "s3files": textFileStream's objects in the user's buckets (lib/sources/s3/).
      [S3_FILES, new FileStreamSource(new S3ObjectLister(clients.s3))],
    ]),
    async close() {
      clients.dynamodb.destroy();
      clients.sqs.destroy();
      clients.kinesis.destroy();
      clients.s3.destroy();
    },
  };
}
