import { execFileSync } from "node:child_process";
import { connect } from "node:net";
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  PutRecordsCommand,
  SplitShardCommand,
} from "@aws-sdk/client-kinesis";
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  TransactWriteItemsCommand,
  waitUntilTableExists,
} from "@aws-sdk/client-dynamodb";
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EngineStartError, JAVA_MISSING_MESSAGE, awsClientConfig, startEmbeddedEngines, type EmbeddedEngines } from "../../lib/local/engines.js";

const START_TIMEOUT = 120_000;

let engines: EmbeddedEngines;
let kinesis: KinesisClient;
let dynamodb: DynamoDBClient;
let sqs: SQSClient;
let startMs = 0;

beforeAll(async () => {
  const t0 = Date.now();
  engines = await startEmbeddedEngines();
  startMs = Date.now() - t0;
  kinesis = new KinesisClient(awsClientConfig(engines.kinesis, engines.region));
  dynamodb = new DynamoDBClient(awsClientConfig(engines.dynamodb, engines.region));
  sqs = new SQSClient(awsClientConfig(engines.sqs, engines.region));
}, START_TIMEOUT);

afterAll(async () => {
  kinesis?.destroy();
  dynamodb?.destroy();
  sqs?.destroy();
  await engines?.stop();
}, 30_000);

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitStreamActive(name: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const s = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    if (s.StreamDescriptionSummary?.StreamStatus === "ACTIVE") return;
    await sleep(50);
  }
  throw new Error(`stream ${name} did not become ACTIVE`);
}

function canConnect(endpoint: string): Promise<boolean> {
  const url = new URL(endpoint);
  return new Promise((resolve) => {
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    socket.setTimeout(2_000);
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

describe("embedded engines", () => {
  it("start on 127.0.0.1 ports, in parallel", () => {
    for (const endpoint of [engines.kinesis, engines.dynamodb, engines.sqs]) {
      expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    }
    expect(new Set([engines.kinesis, engines.dynamodb, engines.sqs]).size).toBe(3);
    expect(engines.region).toBe("us-east-1");
    // in parallel: the whole start-up is not the sum of the parts
    const { kinesis: k = 0, dynamodb: d = 0, sqs: s = 0 } = engines.startupMs;
    expect(startMs).toBeLessThan(k + d + s + 1_000);
    console.log(`embedded engines started in ${startMs} ms`, engines.startupMs);
  });

  describe("Kinesis", () => {
    const stream = "engines-test";

    it("creates a 2-shard stream, puts records and reads them back by sequence number", async () => {
      await kinesis.send(new CreateStreamCommand({ StreamName: stream, ShardCount: 2 }));
      await waitStreamActive(stream);

      const shards = (await kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
      expect(shards).toHaveLength(2);

      const put = await kinesis.send(
        new PutRecordsCommand({
          StreamName: stream,
          Records: Array.from({ length: 20 }, (_, i) => ({ Data: encoder.encode(`record-${i}`), PartitionKey: `key-${i}` })),
        }),
      );
      expect(put.FailedRecordCount ?? 0).toBe(0);
      expect(put.Records).toHaveLength(20);
      const byShard = new Map<string, { seq: string; data: string }[]>();
      put.Records!.forEach((r, i) => {
        const list = byShard.get(r.ShardId!) ?? [];
        list.push({ seq: r.SequenceNumber!, data: `record-${i}` });
        byShard.set(r.ShardId!, list);
      });
      expect(byShard.size).toBe(2); // 20 keys spread over both shards

      for (const [shardId, written] of byShard) {
        const first = written[0]!;
        const at = await kinesis.send(
          new GetShardIteratorCommand({
            StreamName: stream,
            ShardId: shardId,
            ShardIteratorType: "AT_SEQUENCE_NUMBER",
            StartingSequenceNumber: first.seq,
          }),
        );
        const got = await kinesis.send(new GetRecordsCommand({ ShardIterator: at.ShardIterator!, Limit: 100 }));
        expect(got.Records!.map((r) => decoder.decode(r.Data))).toEqual(written.map((w) => w.data));
        expect(got.Records!.map((r) => r.SequenceNumber)).toEqual(written.map((w) => w.seq));

        const after = await kinesis.send(
          new GetShardIteratorCommand({
            StreamName: stream,
            ShardId: shardId,
            ShardIteratorType: "AFTER_SEQUENCE_NUMBER",
            StartingSequenceNumber: first.seq,
          }),
        );
        const rest = await kinesis.send(new GetRecordsCommand({ ShardIterator: after.ShardIterator!, Limit: 100 }));
        expect(rest.Records!.map((r) => decoder.decode(r.Data))).toEqual(written.slice(1).map((w) => w.data));
      }
    });

    it("splits a shard: ListShards shows the parent closed and the children", async () => {
      const before = (await kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards!;
      const parent = before[0]!;
      const lo = BigInt(parent.HashKeyRange!.StartingHashKey!);
      const hi = BigInt(parent.HashKeyRange!.EndingHashKey!);
      await kinesis.send(
        new SplitShardCommand({ StreamName: stream, ShardToSplit: parent.ShardId!, NewStartingHashKey: ((lo + hi) / 2n + 1n).toString() }),
      );
      await waitStreamActive(stream);
      const after = (await kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards!;
      expect(after).toHaveLength(4);
      const closed = after.find((s) => s.ShardId === parent.ShardId)!;
      expect(closed.SequenceNumberRange?.EndingSequenceNumber).toBeDefined();
      const children = after.filter((s) => s.ParentShardId === parent.ShardId);
      expect(children).toHaveLength(2);
      expect(children.map((c) => c.HashKeyRange!.StartingHashKey)).toEqual([lo.toString(), ((lo + hi) / 2n + 1n).toString()]);
    });
  });

  describe("DynamoDB", () => {
    it("creates a table, rejects a conditional put, runs a transaction", async () => {
      await dynamodb.send(
        new CreateTableCommand({
          TableName: "engines-test",
          BillingMode: "PAY_PER_REQUEST",
          AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
          KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
        }),
      );
      await waitUntilTableExists({ client: dynamodb, maxWaitTime: 30 }, { TableName: "engines-test" });

      await dynamodb.send(
        new PutItemCommand({
          TableName: "engines-test",
          Item: { pk: { S: "a" }, v: { N: "1" } },
          ConditionExpression: "attribute_not_exists(pk)",
        }),
      );
      await expect(
        dynamodb.send(
          new PutItemCommand({
            TableName: "engines-test",
            Item: { pk: { S: "a" }, v: { N: "2" } },
            ConditionExpression: "attribute_not_exists(pk)",
          }),
        ),
      ).rejects.toBeInstanceOf(ConditionalCheckFailedException);

      await dynamodb.send(
        new TransactWriteItemsCommand({
          TransactItems: [
            {
              Update: {
                TableName: "engines-test",
                Key: { pk: { S: "a" } },
                UpdateExpression: "SET v = :new",
                ConditionExpression: "v = :old",
                ExpressionAttributeValues: { ":new": { N: "3" }, ":old": { N: "1" } },
              },
            },
            { Put: { TableName: "engines-test", Item: { pk: { S: "b" }, v: { N: "10" } }, ConditionExpression: "attribute_not_exists(pk)" } },
          ],
        }),
      );
      const a = await dynamodb.send(new GetItemCommand({ TableName: "engines-test", Key: { pk: { S: "a" } }, ConsistentRead: true }));
      const b = await dynamodb.send(new GetItemCommand({ TableName: "engines-test", Key: { pk: { S: "b" } }, ConsistentRead: true }));
      expect(a.Item?.v?.N).toBe("3");
      expect(b.Item?.v?.N).toBe("10");

      // a transaction whose condition fails writes nothing
      await expect(
        dynamodb.send(
          new TransactWriteItemsCommand({
            TransactItems: [
              { Put: { TableName: "engines-test", Item: { pk: { S: "c" } } } },
              {
                ConditionCheck: {
                  TableName: "engines-test",
                  Key: { pk: { S: "a" } },
                  ConditionExpression: "v = :x",
                  ExpressionAttributeValues: { ":x": { N: "99" } },
                },
              },
            ],
          }),
        ),
      ).rejects.toMatchObject({ name: "TransactionCanceledException" });
      const c = await dynamodb.send(new GetItemCommand({ TableName: "engines-test", Key: { pk: { S: "c" } }, ConsistentRead: true }));
      expect(c.Item).toBeUndefined();
    });
  });

  describe("SQS", () => {
    it("sends a batch, hides received messages, redelivers after the visibility timeout", async () => {
      const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: "engines-test", Attributes: { VisibilityTimeout: "30" } }));
      expect(QueueUrl).toBeDefined();
      const sent = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl,
          Entries: [
            { Id: "1", MessageBody: "one" },
            { Id: "2", MessageBody: "two" },
            { Id: "3", MessageBody: "three" },
          ],
        }),
      );
      expect(sent.Successful).toHaveLength(3);
      expect(sent.Failed ?? []).toHaveLength(0);

      const first = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: 1,
          WaitTimeSeconds: 1,
          MessageSystemAttributeNames: ["ApproximateReceiveCount"],
        }),
      );
      const messages = first.Messages ?? [];
      expect(messages.map((m) => m.Body).sort()).toEqual(["one", "three", "two"]);
      expect(messages.every((m) => m.Attributes?.ApproximateReceiveCount === "1")).toBe(true);

      const one = messages.find((m) => m.Body === "one")!;
      const two = messages.find((m) => m.Body === "two")!;
      const three = messages.find((m) => m.Body === "three")!;
      // "two" is done; "three" gets more time; "one" is left to time out
      await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: two.ReceiptHandle! }));
      await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle: three.ReceiptHandle!, VisibilityTimeout: 60 }));

      // nothing visible while the messages are in flight
      const hidden = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
      expect(hidden.Messages ?? []).toHaveLength(0);

      await sleep(1_500);
      const again = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 2,
          MessageSystemAttributeNames: ["ApproximateReceiveCount"],
        }),
      );
      expect((again.Messages ?? []).map((m) => m.Body)).toEqual(["one"]);
      expect(again.Messages![0]!.Attributes?.ApproximateReceiveCount).toBe("2");
      expect(again.Messages![0]!.MessageId).toBe(one.MessageId);
      await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: again.Messages![0]!.ReceiptHandle! }));

      const attrs = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }),
      );
      expect(attrs.Attributes?.ApproximateNumberOfMessages).toBe("0");
      expect(attrs.Attributes?.ApproximateNumberOfMessagesNotVisible).toBe("1"); // "three"
    });
  });

  it("a clear error when java is missing", async () => {
    const saved = process.env.JAVA_HOME;
    process.env.JAVA_HOME = "/nonexistent-jdk";
    try {
      const error = await startEmbeddedEngines({ kinesis: false, sqs: false }).then(
        async (e) => {
          await e.stop();
          return undefined;
        },
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(EngineStartError);
      expect((error as EngineStartError).engine).toBe("dynamodb");
      expect((error as Error).message).toContain(JAVA_MISSING_MESSAGE);
    } finally {
      if (saved === undefined) delete process.env.JAVA_HOME;
      else process.env.JAVA_HOME = saved;
    }
  });

  // last: stops the shared engines (afterAll's stop() is then a no-op)
  it("stop() frees the ports and leaves no processes behind", async () => {
    const endpoints = [engines.kinesis, engines.dynamodb, engines.sqs];
    for (const endpoint of endpoints) expect(await canConnect(endpoint)).toBe(true);
    const pids = engines.processIds;
    expect(pids.length).toBeGreaterThanOrEqual(3); // kinesalite, DynamoDB Local, watchdog

    await engines.stop();

    for (const endpoint of endpoints) expect(await canConnect(endpoint)).toBe(false);
    // no process left whose pid or process group is one we started
    const table = execFileSync("ps", ["-e", "-o", "pid=,pgid=,stat="], { encoding: "utf8" });
    const left = table
      .split("\n")
      .map((line) => line.trim().split(/\s+/))
      .filter(([pid, pgid, stat]) => pid && !stat?.startsWith("Z") && (pids.includes(Number(pid)) || pids.includes(Number(pgid))));
    expect(left).toEqual([]);
  });
});
