/**
 * Both sinks inside an app run by the real CLI, `sparkless local`, with no client and no sink
 * configuration: `AWS_ENDPOINT_URL` points at moto_server (one endpoint for every service, the shape of
 * LocalStack's 4566), as a LocalStack user runs it, and the sinks' clients find it there, with the
 * region and dummy credentials a local endpoint gets. The app keeps running word totals
 * (updateStateByKey) and writes them every batch through dynamoDbSink and kinesisSink; the table must
 * end equal to an independent word count, and every Kinesis record must carry its id.
 * Without moto_server on PATH, one test reports that this did not run (see test/support/moto.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { CreateTableCommand, DynamoDBClient, waitUntilTableExists } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand, PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsClientConfig } from "../../lib/local/engines.js";
import { ensureStream } from "../../lib/local/runtime.js";
import { openEnvelope } from "../../lib/sinks/index.js";
import { eventually, startCli } from "../local/cli-helpers.js";
import { motoInstalled, motoMissingTest, startMoto, type Moto } from "../support/moto.js";

const lib = (p: string) => pathToFileURL(fileURLToPath(new URL(`../../lib/${p}`, import.meta.url))).href;

/** The app module, written into a scratch folder: it imports Sparkless by absolute URL. */
const APP_SOURCE = `
import { defineApp } from ${JSON.stringify(lib("index.ts"))};
import { dynamoDbSink, kinesisSink } from ${JSON.stringify(lib("sinks/index.ts"))};
const sum = (values, total) => values.reduce((a, b) => a + b, total ?? 0);
export default defineApp({ name: "sinkapp", batchInterval: "1s" }, (ssc) => {
  const totals = ssc.kinesisStream("sink-words").flatMap((l) => l.split(" ")).filter((w) => w !== "").map((w) => [w, 1]).updateStateByKey(sum);
  totals.foreachRDD((rdd, time) => rdd.foreachPartition(dynamoDbSink({ table: "sink-totals", key: "word", item: ([w, n]) => ({ word: w, total: n }), time })));
  totals.foreachRDD((rdd, time) => rdd.foreachPartition(kinesisSink({ stream: "sink-out", name: "sinkapp", time })));
});
`;

const LINES = ["the quick brown fox", "jumps over the lazy dog", "the dog sleeps", "a fox and a dog", "quick quick"];

function wordCounts(lines: string[]): Record<string, number> {
  const m: Record<string, number> = {};
  for (const l of lines) for (const w of l.split(" ")) if (w) m[w] = (m[w] ?? 0) + 1;
  return m;
}

describe("the sinks in an app run by sparkless local, found through AWS_ENDPOINT_URL", () => {
  if (!motoInstalled()) {
    motoMissingTest("test/sinks/local-run.test.ts (the sinks under sparkless local against moto_server)");
    return;
  }
  let moto: Moto;
  let work: string;
  let dynamodb: DynamoDBClient;
  let kinesis: KinesisClient;

  beforeAll(async () => {
    moto = await startMoto();
    work = mkdtempSync(path.join(os.tmpdir(), "sparkless-sinks-"));
    dynamodb = new DynamoDBClient(awsClientConfig(moto.url, "us-east-1"));
    kinesis = new KinesisClient(awsClientConfig(moto.url, "us-east-1"));
  }, 90_000);

  afterAll(async () => {
    dynamodb?.destroy();
    kinesis?.destroy();
    await moto?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("writes the running totals to DynamoDB and Kinesis with no client given", async () => {
    const appPath = path.join(work, "sink-app.mjs");
    writeFileSync(appPath, APP_SOURCE);
    await dynamodb.send(
      new CreateTableCommand({
        TableName: "sink-totals",
        KeySchema: [{ AttributeName: "word", KeyType: "HASH" }],
        AttributeDefinitions: [{ AttributeName: "word", AttributeType: "S" }],
        BillingMode: "PAY_PER_REQUEST",
      }),
    );
    await waitUntilTableExists({ client: dynamodb, maxWaitTime: 30 }, { TableName: "sink-totals" });
    await ensureStream(kinesis, "sink-words", 1);
    await ensureStream(kinesis, "sink-out", 2);
    await kinesis.send(
      new PutRecordsCommand({ StreamName: "sink-words", Records: LINES.map((l, i) => ({ Data: Buffer.from(l), PartitionKey: `k${i}` })) }),
    );

    const doc = DynamoDBDocumentClient.from(dynamodb);
    const expected = wordCounts(LINES);
    // The CLI's only hint is AWS_ENDPOINT_URL; the sinks get nothing else (no AWS_REGION, no credentials).
    const run = startCli(["local", appPath, "--workers", "1", "--shards", "1"], { cwd: work, env: { AWS_ENDPOINT_URL: moto.url } });
    let items: Record<string, unknown>[] = [];
    try {
      await eventually(
        `the totals in the table\nstderr:\n${run.stderr}`,
        async () => {
          if (run.child.exitCode !== null) throw new Error(`sparkless local exited early (${run.child.exitCode}):\n${run.stderr}`);
          items = (await doc.send(new ScanCommand({ TableName: "sink-totals" }))).Items ?? [];
          const got = Object.fromEntries(items.map((i) => [i.word, i.total]));
          return JSON.stringify(Object.entries(got).sort()) === JSON.stringify(Object.entries(expected).sort()) ? true : undefined;
        },
        120_000,
      );
    } finally {
      run.child.kill("SIGINT");
    }
    const exit = await run.exited;
    expect(exit.code, `stderr:\n${run.stderr}`).toBe(0);
    for (const item of items) expect(typeof item.batchTime === "number" && item.batchTime > 0, JSON.stringify(item)).toBe(true);

    // Kinesis: every record is an envelope whose id names the app, a batch, a partition and an index.
    const shards = (await kinesis.send(new ListShardsCommand({ StreamName: "sink-out" }))).Shards ?? [];
    const ids: string[] = [];
    for (const shard of shards) {
      const it = (
        await kinesis.send(new GetShardIteratorCommand({ StreamName: "sink-out", ShardId: shard.ShardId!, ShardIteratorType: "TRIM_HORIZON" }))
      ).ShardIterator;
      const res = await kinesis.send(new GetRecordsCommand({ ShardIterator: it!, Limit: 10_000 }));
      for (const r of res.Records ?? []) {
        const { id, value } = openEnvelope(r.Data!);
        expect(id).toMatch(/^sinkapp\/\d+\/\d+\/\d+$/);
        expect(r.PartitionKey).toBe(id);
        expect(Array.isArray(value) && typeof value[0] === "string").toBe(true);
        ids.push(id);
      }
    }
    expect(ids.length).toBeGreaterThanOrEqual(Object.keys(expected).length);
  }, 240_000);
});
