/**
 * The AWS engine: the storage and transport interfaces over DynamoDB, SQS
 * and Kinesis, wired from one configuration. Both Lambda handlers and the
 * local runtime build their engine here; only the endpoints differ.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand, DeleteCommand } from "@aws-sdk/lib-dynamodb";
import { KinesisClient } from "@aws-sdk/client-kinesis";
import { SQSClient } from "@aws-sdk/client-sqs";
import { NodeHttpHandler } from "@smithy/node-http-handler";
import { InvalidArgumentError } from "../core/errors.js";
import type { LeaseStore, StreamSource } from "../storage/interfaces.js";
import type { Engine } from "../streaming/context.js";
import { DynamoBatchLog, DynamoBlockStore, DynamoQuarantine, DynamoShuffleStore, DynamoStateStore, type TableNames } from "./dynamodb.js";
import { KinesisSource } from "./kinesis.js";
import { SqsTaskQueue } from "./sqs.js";

export interface AwsEngineConfig {
  /** The app's name: the namespace of its items in the shared tables. */
  readonly app: string;
  readonly region: string;
  readonly tables: TableNames;
  readonly taskQueueUrl: string;
  /** Endpoints of engines other than AWS (the embedded engines, LocalStack). */
  readonly endpoints?: { readonly kinesis?: string; readonly dynamodb?: string; readonly sqs?: string };
  /** Credentials for local engines; on AWS the default provider chain is used. */
  readonly credentials?: { accessKeyId: string; secretAccessKey: string };
}

/** Reads the engine configuration the CDK construct (or the local runtime) puts in the environment. */
export function engineConfigFromEnv(env: NodeJS.ProcessEnv = process.env): AwsEngineConfig {
  const need = (name: string): string => {
    const v = env[name];
    if (!v) throw new InvalidArgumentError(`The environment variable ${name} is not set. The CDK construct sets it on both functions; locally, run through \`sparkless local\`.`);
    return v;
  };
  const endpoint = env.AWS_ENDPOINT_URL;
  return {
    app: need("SPARKLESS_APP"),
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? "us-east-1",
    tables: { meta: need("SPARKLESS_META_TABLE"), data: need("SPARKLESS_DATA_TABLE"), state: need("SPARKLESS_STATE_TABLE") },
    taskQueueUrl: need("SPARKLESS_TASK_QUEUE_URL"),
    endpoints: {
      kinesis: env.SPARKLESS_KINESIS_ENDPOINT ?? endpoint,
      dynamodb: env.SPARKLESS_DYNAMODB_ENDPOINT ?? endpoint,
      sqs: env.SPARKLESS_SQS_ENDPOINT ?? endpoint,
    },
  };
}

/** The variables that carry `config` to another process. */
export function engineConfigToEnv(config: AwsEngineConfig): Record<string, string> {
  const env: Record<string, string> = {
    SPARKLESS_APP: config.app,
    AWS_REGION: config.region,
    SPARKLESS_META_TABLE: config.tables.meta,
    SPARKLESS_DATA_TABLE: config.tables.data,
    SPARKLESS_STATE_TABLE: config.tables.state,
    SPARKLESS_TASK_QUEUE_URL: config.taskQueueUrl,
  };
  if (config.endpoints?.kinesis) env.SPARKLESS_KINESIS_ENDPOINT = config.endpoints.kinesis;
  if (config.endpoints?.dynamodb) env.SPARKLESS_DYNAMODB_ENDPOINT = config.endpoints.dynamodb;
  if (config.endpoints?.sqs) env.SPARKLESS_SQS_ENDPOINT = config.endpoints.sqs;
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
}

export function createClients(config: AwsEngineConfig): AwsClients {
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
  };
}

/** The coordinator's lease item in the meta table. */
export class DynamoLease implements LeaseStore {
  constructor(private readonly doc: DynamoDBDocumentClient, private readonly table: string, private readonly app: string) {}
  async acquire(owner: string, until: number, now: number): Promise<boolean> {
    try {
      await this.doc.send(new PutCommand({
        TableName: this.table,
        Item: { pk: `${this.app}#lease`, sk: "coordinator", owner, until },
        ConditionExpression: "attribute_not_exists(pk) OR #owner = :owner OR #until <= :now",
        ExpressionAttributeNames: { "#owner": "owner", "#until": "until" },
        ExpressionAttributeValues: { ":owner": owner, ":now": now },
      }));
      return true;
    } catch (e) {
      if ((e as Error).name === "ConditionalCheckFailedException") return false;
      throw e;
    }
  }
  async release(owner: string): Promise<void> {
    try {
      await this.doc.send(new DeleteCommand({
        TableName: this.table, Key: { pk: `${this.app}#lease`, sk: "coordinator" },
        ConditionExpression: "#owner = :owner", ExpressionAttributeNames: { "#owner": "owner" }, ExpressionAttributeValues: { ":owner": owner },
      }));
    } catch (e) {
      if ((e as Error).name !== "ConditionalCheckFailedException") throw e;
    }
  }
}

export interface AwsEngine extends Engine {
  readonly clients: AwsClients;
  readonly config: AwsEngineConfig;
}

export function createAwsEngine(config: AwsEngineConfig, clients: AwsClients = createClients(config)): AwsEngine {
  const { doc } = clients;
  const kinesis = new KinesisSource(clients.kinesis);
  return {
    config,
    clients,
    batchLog: new DynamoBatchLog(doc, config.tables.meta, config.app),
    shuffles: new DynamoShuffleStore(doc, config.tables.data, config.app),
    blocks: new DynamoBlockStore(doc, config.tables.data, config.app),
    state: new DynamoStateStore(doc, config.tables.state, config.app),
    quarantine: new DynamoQuarantine(doc, config.tables.meta, config.app),
    queue: new SqsTaskQueue(clients.sqs, config.taskQueueUrl),
    lease: new DynamoLease(doc, config.tables.meta, config.app),
    sources: new Map<string, StreamSource>([["kinesis", kinesis]]),
    async close() {
      clients.dynamodb.destroy();
      clients.sqs.destroy();
      clients.kinesis.destroy();
    },
  };
}
