// The DynamoDB sink against DynamoDB Local: element puts, the batch-time condition (an older batch
// replayed never overwrites a newer one; the same batch again rewrites identically), throttling
// retried by the SDK (faults injected from outside, by a middleware on a real client), typed errors,
// and a real pipeline run by runBatches whose foreachRDD writes through the sink.
import {
  CreateTableCommand,
  DynamoDBClient,
  ScanCommand,
  waitUntilTableExists,
  type AttributeDefinition,
  type KeySchemaElement,
} from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, ScanCommand as DocScanCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../lib/core/errors.js";
import { Seconds, Time } from "../../lib/core/duration.js";
import { awsClientConfig, startEmbeddedEngines, type EmbeddedEngines } from "../../lib/local/engines.js";
import { runBatches } from "../../lib/testing/run-batches.js";
import { dynamoDbClientConfigFromEnv, dynamoDbSink, DynamoDbSinkError, type DynamoDbSinkResult } from "../../lib/sinks/index.js";

let engines: EmbeddedEngines;
let client: DynamoDBClient;
let doc: DynamoDBDocumentClient;
let tables = 0;

beforeAll(async () => {
  engines = await startEmbeddedEngines({ kinesis: false, sqs: false });
  client = new DynamoDBClient(awsClientConfig(engines.dynamodb, engines.region));
  doc = DynamoDBDocumentClient.from(client);
}, 120_000);

afterAll(async () => {
  client?.destroy();
  await engines?.stop();
}, 30_000);

/** A new table keyed by `pk` (string), or by `pk` and `sk` (number). */
async function newTable(sortKey = false): Promise<string> {
  const name = `sink-${process.pid}-${++tables}`;
  const schema: KeySchemaElement[] = [
    { AttributeName: "pk", KeyType: "HASH" },
    ...(sortKey ? [{ AttributeName: "sk", KeyType: "RANGE" as const }] : []),
  ];
  const attrs: AttributeDefinition[] = [
    { AttributeName: "pk", AttributeType: "S" },
    ...(sortKey ? [{ AttributeName: "sk", AttributeType: "N" as const }] : []),
  ];
  await client.send(new CreateTableCommand({ TableName: name, KeySchema: schema, AttributeDefinitions: attrs, BillingMode: "PAY_PER_REQUEST" }));
  await waitUntilTableExists({ client, maxWaitTime: 30 }, { TableName: name });
  return name;
}

/** The whole table, sorted by key, as plain objects. */
async function scan(table: string): Promise<Record<string, unknown>[]> {
  const items = (await doc.send(new DocScanCommand({ TableName: table, ConsistentRead: true }))).Items ?? [];
  return items.sort((a, b) => (String(a.pk) + String(a.sk ?? "") < String(b.pk) + String(b.sk ?? "") ? -1 : 1));
}

type Count = readonly [string, number];
const byWord = (table: string, time: Time | number, results: DynamoDbSinkResult[] = [], extra: object = {}) =>
  dynamoDbSink<Count>({ table, key: "pk", item: ([w, n]) => ({ pk: w, count: n }), time, client, onResult: (r) => results.push(r), ...extra });

describe("dynamoDbSink", () => {
  it("puts one item per element, stamped with the batch time", async () => {
    const table = await newTable();
    const results: DynamoDbSinkResult[] = [];
    await byWord(
      table,
      new Time(1000),
      results,
    )(
      [
        ["a", 1],
        ["b", 2],
        ["c", 3],
      ],
      0,
    );
    expect(await scan(table)).toEqual([
      { pk: "a", count: 1, batchTime: 1000 },
      { pk: "b", count: 2, batchTime: 1000 },
      { pk: "c", count: 3, batchTime: 1000 },
    ]);
    expect(results).toEqual([{ table, batchTime: 1000, partition: 0, elements: 3, written: 3, skipped: 0, superseded: 0 }]);
  });

  it("an older batch replayed does not overwrite a newer one; the same batch again rewrites identically", async () => {
    const table = await newTable();
    const results: DynamoDbSinkResult[] = [];
    await byWord(
      table,
      1000,
      results,
    )(
      [
        ["a", 1],
        ["b", 1],
      ],
      0,
    );
    await byWord(table, 2000, results)([["a", 5]], 0);
    const afterNewer = await scan(table);
    expect(afterNewer).toEqual([
      { pk: "a", count: 5, batchTime: 2000 },
      { pk: "b", count: 1, batchTime: 1000 },
    ]);

    // Batch 1000 runs again (its worker died before it was recorded done), with what it wrote before
    // and a key no newer batch has: "a" stays 2000's, "b" and "c" are (re)written by 1000.
    await byWord(
      table,
      1000,
      results,
    )(
      [
        ["a", 1],
        ["b", 1],
        ["c", 7],
      ],
      0,
    );
    expect(await scan(table)).toEqual([
      { pk: "a", count: 5, batchTime: 2000 },
      { pk: "b", count: 1, batchTime: 1000 },
      { pk: "c", count: 7, batchTime: 1000 },
    ]);
    expect(results[2]).toMatchObject({ batchTime: 1000, written: 2, skipped: 1 });

    // Batch 2000 again: the same item, written again, nothing else changes.
    const before = await scan(table);
    await byWord(table, 2000, results)([["a", 5]], 0);
    expect(results[3]).toMatchObject({ batchTime: 2000, written: 1, skipped: 0 });
    expect(await scan(table)).toEqual(before);
  });

  it("writes composite keys and binary values; of two elements with one key in a partition, the last wins", async () => {
    const table = await newTable(true);
    const results: DynamoDbSinkResult[] = [];
    const sink = dynamoDbSink<{ user: string; day: number; total: number }>({
      table,
      key: ["pk", "sk"],
      time: 3000,
      client: doc,
      concurrency: 2,
      onResult: (r) => results.push(r),
      item: (e) => ({ pk: e.user, sk: e.day, total: e.total, blob: new Uint8Array([e.total]), note: undefined }),
    });
    await sink(
      [
        { user: "u1", day: 1, total: 1 },
        { user: "u1", day: 2, total: 2 },
        { user: "u1", day: 1, total: 9 },
        { user: "u2", day: 1, total: 4 },
      ],
      3,
    );
    const items = await scan(table);
    expect(items.map((i) => [i.pk, i.sk, i.total, i.batchTime])).toEqual([
      ["u1", 1, 9, 3000],
      ["u1", 2, 2, 3000],
      ["u2", 1, 4, 3000],
    ]);
    expect(Buffer.from(items[0]!.blob as Uint8Array)).toEqual(Buffer.from([9]));
    expect(results).toEqual([{ table, batchTime: 3000, partition: 3, elements: 4, written: 3, skipped: 0, superseded: 1 }]);
  });

  it("puts many elements with bounded concurrency", async () => {
    const table = await newTable();
    let inFlight = 0;
    let most = 0;
    const counted = new DynamoDBClient(awsClientConfig(engines.dynamodb, engines.region));
    counted.middlewareStack.add(
      (next) => async (args) => {
        inFlight++;
        most = Math.max(most, inFlight);
        try {
          return await next(args);
        } finally {
          inFlight--;
        }
      },
      { step: "initialize", name: "countInFlight" },
    );
    try {
      const elements: Count[] = Array.from({ length: 200 }, (_, i) => [`w${i}`, i]);
      await dynamoDbSink<Count>({ table, key: "pk", item: ([w, n]) => ({ pk: w, count: n }), time: 1000, client: counted, concurrency: 4 })(
        elements,
        0,
      );
      expect((await scan(table)).length).toBe(200);
      expect(most).toBeLessThanOrEqual(4);
      expect(most).toBeGreaterThan(1);
    } finally {
      counted.destroy();
    }
  });

  it("throttled puts are retried by the SDK with backoff, and every item arrives", async () => {
    const table = await newTable();
    const throttling = new DynamoDBClient({ ...awsClientConfig(engines.dynamodb, engines.region), maxAttempts: 5 });
    let attempts = 0;
    // Below the retry middleware, so each throttled answer is one attempt the SDK retries.
    throttling.middlewareStack.addRelativeTo(
      ((next: (args: unknown) => Promise<unknown>) => async (args: unknown) => {
        attempts++;
        if (attempts <= 2) {
          throw Object.assign(new Error("The level of configured provisioned throughput for the table was exceeded."), {
            name: "ProvisionedThroughputExceededException",
            $fault: "client",
            $metadata: { httpStatusCode: 400 },
          });
        }
        return next(args);
      }) as never,
      { relation: "after", toMiddleware: "retryMiddleware", name: "throttleTwice" },
    );
    try {
      const results: DynamoDbSinkResult[] = [];
      await dynamoDbSink<Count>({
        table,
        key: "pk",
        item: ([w, n]) => ({ pk: w, count: n }),
        time: 1000,
        client: throttling,
        concurrency: 1,
        onResult: (r) => results.push(r),
      })(
        [
          ["a", 1],
          ["b", 2],
        ],
        0,
      );
      expect(attempts).toBe(4); // 2 throttled + 2 puts
      expect(results[0]).toMatchObject({ written: 2, skipped: 0 });
      expect((await scan(table)).map((i) => i.pk)).toEqual(["a", "b"]);
    } finally {
      throttling.destroy();
    }
  });

  it("a put that fails for another reason is a DynamoDbSinkError naming the table, key and fix", async () => {
    const error = await byWord("no-such-table", 1000)([["a", 1]], 2).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DynamoDbSinkError);
    const e = error as DynamoDbSinkError;
    expect(e.message).toMatch(/PutItem into table no-such-table failed for key \{"pk":"a"\} \(batch 1000, partition 2\): ResourceNotFoundException/);
    expect(e.message).toMatch(/Create table no-such-table/);
    expect(e).toMatchObject({ table: "no-such-table", batchTime: 1000, partition: 2, key: { pk: "a" }, written: 0 });
    expect((e.cause as Error).name).toBe("ResourceNotFoundException");
  });

  it("refuses bad options with an InvalidArgumentError naming the value, the limit and the fix", () => {
    const ok = { table: "Counts", key: "pk", item: (x: unknown) => ({ pk: String(x) }), time: 1000 };
    const cases: [object, RegExp][] = [
      [{ ...ok, table: "" }, /`table` to be a DynamoDB table name \(3 to 255 of .*\), got `""`\. Pass the name/],
      [{ ...ok, key: [] }, /`key` to be the table's key attribute names: "pk" or \["pk", "sk"\] .* got `\[\]`/],
      [{ ...ok, key: ["a", "a"] }, /1 or 2 distinct non-empty names\), got `\["a","a"\]`/],
      [{ ...ok, item: { pk: 1 } }, /`item` to be a function/],
      [{ ...ok, time: -1 }, /`time` to be the batch time .* got `-1`\. Pass foreachRDD's second argument/],
      [{ ...ok, time: undefined }, /`time` to be the batch time/],
      [{ ...ok, batchTimeAttribute: "pk" }, /`batchTimeAttribute` to be a non-empty attribute name other than the key attributes \(pk\), got `"pk"`/],
      [{ ...ok, concurrency: 0 }, /`concurrency` to be a whole number from 1 to 100, got `0`/],
      [{ ...ok, maxAttempts: 1.5 }, /`maxAttempts` to be a whole number from 1 to 20, got `1.5`/],
      [{ ...ok, client: {} }, /`client` to be a DynamoDBClient or DynamoDBDocumentClient/],
    ];
    for (const [options, message] of cases) {
      expect(() => dynamoDbSink(options as never), JSON.stringify(options)).toThrow(InvalidArgumentError);
      expect(() => dynamoDbSink(options as never)).toThrow(message);
    }
  });

  it("an item without its key, or holding the batch-time attribute, is refused before anything is written", async () => {
    const table = await newTable();
    const noKey = dynamoDbSink<Count>({ table, key: "pk", item: ([w, n]) => ({ word: w, count: n }), time: 1000, client });
    const error = await noKey([["a", 1]], 0).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toMatch(
      /The item for element 0 \(\["a",1\]\) has no usable key attribute `pk`: got `undefined`, and a key attribute must be a non-empty string, a finite number or non-empty bytes\. Make `item` return every key attribute \(pk\)/,
    );

    const partly = dynamoDbSink<Count>({
      table,
      key: "pk",
      item: ([w, n]) => (n > 1 ? { pk: "", count: n } : { pk: w, count: n }),
      time: 1000,
      client,
    });
    await expect(
      partly(
        [
          ["a", 1],
          ["b", 2],
        ],
        0,
      ),
    ).rejects.toThrow(/element 1 .* got `""`/);
    const clash = dynamoDbSink<Count>({ table, key: "pk", item: ([w, n]) => ({ pk: w, batchTime: n }), time: 1000, client });
    await expect(clash([["a", 1]], 0)).rejects.toThrow(
      /holds `batchTime`, the attribute the sink writes the batch time to\. Rename it in `item`, or pass another `batchTimeAttribute`/,
    );
    const notObject = dynamoDbSink<Count>({ table, key: "pk", item: () => null as never, time: 1000, client });
    await expect(notObject([["a", 1]], 0)).rejects.toThrow(/`item` to return an object of attributes for element 0 .* got `null`/);
    // Element "a" of the partly bad partition was not written: the partition is checked first.
    expect(await scan(table)).toEqual([]);
  });

  it("builds its client from the environment: sparkless local's endpoint, region and local credentials", () => {
    const local = dynamoDbClientConfigFromEnv({ SPARKLESS_DYNAMODB_ENDPOINT: "http://127.0.0.1:4567", AWS_ENDPOINT_URL: "http://other:1" });
    expect(local).toMatchObject({
      endpoint: "http://127.0.0.1:4567",
      region: "us-east-1",
      credentials: { accessKeyId: "sparklesslocal" },
      maxAttempts: 8,
    });
    const localstack = dynamoDbClientConfigFromEnv({ AWS_ENDPOINT_URL: "http://localhost:4566", AWS_REGION: "eu-west-1", AWS_ACCESS_KEY_ID: "test" });
    expect(localstack).toMatchObject({ endpoint: "http://localhost:4566", region: "eu-west-1" });
    expect(localstack).not.toHaveProperty("credentials");
    const aws = dynamoDbClientConfigFromEnv({ AWS_REGION: "eu-central-1" }, 3);
    expect(aws).toMatchObject({ region: "eu-central-1", maxAttempts: 3 });
    expect(aws).not.toHaveProperty("endpoint");
    expect(aws).not.toHaveProperty("credentials");
  });

  it("with no client, the sink uses the environment's endpoint", async () => {
    const table = await newTable();
    const saved = { endpoint: process.env.SPARKLESS_DYNAMODB_ENDPOINT, key: process.env.AWS_ACCESS_KEY_ID };
    process.env.SPARKLESS_DYNAMODB_ENDPOINT = engines.dynamodb;
    delete process.env.AWS_ACCESS_KEY_ID;
    try {
      await dynamoDbSink<Count>({ table, key: "pk", item: ([w, n]) => ({ pk: w, count: n }), time: 1000 })([["env", 1]], 0);
    } finally {
      if (saved.endpoint === undefined) delete process.env.SPARKLESS_DYNAMODB_ENDPOINT;
      else process.env.SPARKLESS_DYNAMODB_ENDPOINT = saved.endpoint;
      if (saved.key !== undefined) process.env.AWS_ACCESS_KEY_ID = saved.key;
    }
    expect(await scan(table)).toEqual([{ pk: "env", count: 1, batchTime: 1000 }]);
  });
});

describe("dynamoDbSink in a pipeline", () => {
  const lines = [["the cat sat", "on the mat"], ["the dog"], [], ["a cat and a dog", "the end"], ["cat"]];

  /** Independently: for each word, its count in the latest batch that has it, and that batch's time. */
  function expected(intervalMs: number): Record<string, unknown>[] {
    const last = new Map<string, { count: number; batchTime: number }>();
    lines.forEach((batch, i) => {
      const counts = new Map<string, number>();
      for (const line of batch) for (const w of line.split(" ")) if (w) counts.set(w, (counts.get(w) ?? 0) + 1);
      for (const [w, n] of counts) last.set(w, { count: n, batchTime: (i + 1) * intervalMs });
    });
    return [...last.entries()].map(([pk, v]) => ({ pk, ...v })).sort((a, b) => (a.pk < b.pk ? -1 : 1));
  }

  for (const restartEachBatch of [false, true]) {
    it(`runBatches writes each batch's word counts through the sink${restartEachBatch ? ", every batch after a cold restart that reruns the one before" : ""}`, async () => {
      const table = await newTable();
      const results: DynamoDbSinkResult[] = [];
      const out = await runBatches<readonly [string, number]>({
        batchInterval: Seconds(1),
        inputs: [lines],
        inputPartitions: 2,
        defaultParallelism: 2,
        engine: "memory",
        restartEachBatch,
        pipeline: (stream) => {
          const counts = stream
            .flatMap((l: string) => l.split(" "))
            .filter((w) => w !== "")
            .map((w): [string, number] => [w, 1])
            .reduceByKey((a, b) => a + b);
          counts.foreachRDD((rdd, time) =>
            rdd.foreachPartition(
              dynamoDbSink({ table, key: "pk", item: ([w, n]) => ({ pk: w, count: n }), time, client, onResult: (r) => results.push(r) }),
            ),
          );
          return counts;
        },
      });
      expect(out).toHaveLength(5);
      expect(await scan(table)).toEqual(expected(1000));
      // Two partitions per batch (defaultParallelism 2), batches 1000..5000.
      expect(new Set(results.map((r) => r.batchTime))).toEqual(new Set([1000, 2000, 3000, 4000, 5000]));
      expect(results.every((r) => r.skipped === 0)).toBe(true);
      if (restartEachBatch) expect(results.length).toBeGreaterThan(10);
      else expect(results).toHaveLength(10);
    });
  }
});

describe("raw attribute types", () => {
  it("stores the batch time as a number", async () => {
    const table = await newTable();
    await byWord(table, 42)([["x", 1]], 0);
    const raw = await client.send(new ScanCommand({ TableName: table }));
    expect(raw.Items?.[0]?.batchTime).toEqual({ N: "42" });
  });
});
