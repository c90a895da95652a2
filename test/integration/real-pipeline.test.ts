// A real pipeline end to end on the embedded engines (kinesalite, DynamoDB Local, fauxqs for SQS and S3):
// it reads new S3 text files (textFileStream) and KPL-aggregated Kinesis records (built by the format's
// reference library, mixed with plain ones), keeps running word counts, and writes them as S3 text files
// in Spark's layout and to a DynamoDB table through the idempotent sink. Every output is compared with an
// oracle computed from the input lines alone, in process and with every stage fanned out to the workers.
import { createRequire } from "node:module";
import { CreateTableCommand, ScanCommand } from "@aws-sdk/client-dynamodb";
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineApp } from "../../lib/app/app.js";
import { Seconds } from "../../lib/core/duration.js";
import type { EmbeddedEngines } from "../../lib/local/engines.js";
import { sharedEngines, stopSharedEngines } from "../../lib/local/run-batches-local.js";
import { dynamoDbSink } from "../../lib/sinks/index.js";
import { putRecord, splitWords, startHarness, sumCounts, wordCounts } from "./helpers.js";

interface RefAggregator {
  addUserRecord(record: { partitionKey: string; data: Buffer }): void;
  build(): { partitionKey: string; data: Buffer } | undefined;
}
const ref = createRequire(import.meta.url)("aws-kinesis-agg") as { RecordAggregator: new () => RefAggregator };

/** One Kinesis record holding `lines` as KPL user records, as the Kinesis Producer Library writes them. */
function aggregate(lines: readonly string[]): { data: Uint8Array; partitionKey: string } {
  const a = new ref.RecordAggregator();
  lines.forEach((l, i) => a.addUserRecord({ partitionKey: `u${i}`, data: Buffer.from(l) }));
  const built = a.build()!;
  return { data: new Uint8Array(built.data), partitionKey: built.partitionKey };
}

/** What one batch brings: lines in new S3 objects, KPL aggregates and plain Kinesis records. */
interface BatchInput {
  files: Record<string, string>;
  aggregates: string[][];
  plain: string[];
}

const BATCHES: BatchInput[] = [
  { files: {}, aggregates: [["to be or", "not to be"], ["that is"]], plain: ["the question"] },
  { files: { "a.txt": "whether tis nobler\nin the mind\n", "b.txt": "to suffer\r\nthe slings" }, aggregates: [], plain: ["and arrows"] },
  { files: { "c.txt": "of outrageous fortune\n" }, aggregates: [["or to take arms", "against a sea", "of troubles"]], plain: [] },
];
const linesOf = (b: BatchInput): string[] => [
  ...Object.values(b.files).flatMap((t) => t.split(/\r\n|\n/).filter((l) => l !== "")),
  ...b.aggregates.flat(),
  ...b.plain,
];

let engines: EmbeddedEngines;
beforeAll(async () => {
  engines = await sharedEngines();
}, 120_000);
afterAll(stopSharedEngines, 60_000);

describe("S3 files and KPL records in; S3 text files and a DynamoDB table out", () => {
  for (const mode of ["in-process", "fan-out"] as const) {
    it(`word counts over both inputs equal the oracle's, in every output (${mode})`, async () => {
      const id = `e2e-${mode === "fan-out" ? "fo" : "ip"}-${process.pid}`;
      const stream = `${id}-events`;
      const inBucket = `${id}-in`;
      const outBucket = `${id}-out`;
      const table = `${id}-totals`;
      const h = await startHarness(
        engines,
        defineApp({ name: id, batchInterval: Seconds(1) }, (ssc) => {
          const files = ssc.textFileStream(`s3://${inBucket}/logs/`);
          const events = ssc.kinesisStream(stream);
          const totals = files
            .union(events)
            .flatMap(splitWords)
            .map((w): [string, number] => [w, 1])
            .updateStateByKey(sumCounts);
          totals.saveAsTextFiles(`s3://${outBucket}/totals`, "txt");
          totals.foreachRDD((rdd, time) =>
            rdd.foreachPartition(
              dynamoDbSink<[string, number]>({
                table,
                key: "word",
                item: ([word, count]) => ({ word, count }),
                time,
                client: h.env.engine.clients.dynamodb,
              }),
            ),
          );
        }),
        { streams: { [stream]: 2 }, execution: { mode } },
      );
      try {
        const { s3, dynamodb } = h.env.engine.clients;
        for (const b of [inBucket, outBucket]) await s3.send(new CreateBucketCommand({ Bucket: b }));
        await dynamodb.send(
          new CreateTableCommand({
            TableName: table,
            BillingMode: "PAY_PER_REQUEST",
            AttributeDefinitions: [{ AttributeName: "word", AttributeType: "S" }],
            KeySchema: [{ AttributeName: "word", KeyType: "HASH" }],
          }),
        );
        const seen: string[] = [];
        for (const [i, b] of BATCHES.entries()) {
          for (const [name, body] of Object.entries(b.files))
            await s3.send(new PutObjectCommand({ Bucket: inBucket, Key: `logs/${i}-${name}`, Body: body }));
          for (const lines of b.aggregates) {
            const a = aggregate(lines);
            await putRecord(h.kinesis, stream, a.data, a.partitionKey);
          }
          for (const line of b.plain) await putRecord(h.kinesis, stream, line, `p-${line}`);
          const r = await h.nextBatch();
          expect(r.status, r.error).toBe("completed");
          seen.push(...linesOf(b));
          // The batch's S3 output: prefix-<ms>.suffix/part-NNNNN, one per partition, then _SUCCESS.
          const dir = `totals-${r.time}.txt/`;
          const keys = ((await s3.send(new ListObjectsV2Command({ Bucket: outBucket, Prefix: dir }))).Contents ?? []).map((o) => o.Key!).sort();
          expect(keys).toEqual([`${dir}_SUCCESS`, `${dir}part-00000`, `${dir}part-00001`]);
          let text = "";
          for (const k of keys.filter((x) => x.includes("part-")))
            text += await (await s3.send(new GetObjectCommand({ Bucket: outBucket, Key: k }))).Body!.transformToString();
          const expected = [...wordCounts(seen)].map(([w, n]) => `(${w},${n})`).sort();
          expect(
            text
              .split("\n")
              .filter((l) => l !== "")
              .sort(),
          ).toEqual(expected);
        }
        // The table holds the final totals, each item stamped with the batch that wrote it last.
        const items = (await dynamodb.send(new ScanCommand({ TableName: table }))).Items ?? [];
        const final = new Map(items.map((it) => [it.word!.S!, Number(it.count!.N)]));
        expect(final).toEqual(wordCounts(seen));
        expect(new Set(items.map((it) => Number(it.batchTime!.N)))).toEqual(new Set([3000]));
        expect(await h.env.engine.quarantine.list()).toEqual([]);
      } finally {
        await h.stop();
      }
    });
  }
});
