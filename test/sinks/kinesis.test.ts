// The Kinesis sink against kinesalite: every element put once with a deterministic id and hash key,
// the same ids, data and hash keys when a batch runs again, chunks within PutRecords' limits, only the
// failed entries retried (failures injected from outside: a middleware on a real client fails chosen
// entries of a real PutRecords), a typed error once a record is out of attempts, and bad options.
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  type PutRecordsCommandInput,
  type PutRecordsCommandOutput,
  type PutRecordsRequestEntry,
  type PutRecordsResultEntry,
} from "@aws-sdk/client-kinesis";
import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../lib/core/errors.js";
import { Time } from "../../lib/core/duration.js";
import { awsClientConfig, startEmbeddedEngines, type EmbeddedEngines } from "../../lib/local/engines.js";
import {
  explicitHashKey,
  kinesisClientConfigFromEnv,
  kinesisSink,
  KinesisSinkError,
  openEnvelope,
  recordId,
  type KinesisSinkResult,
} from "../../lib/sinks/index.js";

let engines: EmbeddedEngines;
let kinesis: KinesisClient;
let streams = 0;

beforeAll(async () => {
  engines = await startEmbeddedEngines({ dynamodb: false, sqs: false });
  kinesis = new KinesisClient(awsClientConfig(engines.kinesis, engines.region));
}, 120_000);

afterAll(async () => {
  kinesis?.destroy();
  await engines?.stop();
}, 30_000);

async function newStream(shards = 2): Promise<string> {
  const name = `sink-${process.pid}-${++streams}`;
  await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  for (let i = 0; i < 200; i++) {
    const s = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    if (s.StreamDescriptionSummary?.StreamStatus === "ACTIVE") return name;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`stream ${name} did not become ACTIVE`);
}

interface Read {
  shard: string;
  range: [bigint, bigint];
  partitionKey: string;
  data: Buffer;
}

/** Every record of the stream, shard by shard, in order. */
async function readAll(stream: string): Promise<Read[]> {
  const shards = (await kinesis.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
  const out: Read[] = [];
  for (const shard of shards) {
    const range: [bigint, bigint] = [BigInt(shard.HashKeyRange!.StartingHashKey!), BigInt(shard.HashKeyRange!.EndingHashKey!)];
    let iterator = (
      await kinesis.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: shard.ShardId!, ShardIteratorType: "TRIM_HORIZON" }))
    ).ShardIterator;
    for (let i = 0; iterator && i < 100; i++) {
      const res = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      for (const r of res.Records ?? []) out.push({ shard: shard.ShardId!, range, partitionKey: r.PartitionKey!, data: Buffer.from(r.Data!) });
      if (!res.Records?.length) break;
      iterator = res.NextShardIterator;
    }
  }
  return out;
}

/** A client whose PutRecords requests are recorded, and whose entries `fail` chooses are failed without being sent. */
function faultyClient(fail: (entry: PutRecordsRequestEntry, request: number) => string | undefined = () => undefined) {
  const client = new KinesisClient(awsClientConfig(engines.kinesis, engines.region));
  const requests: PutRecordsRequestEntry[][] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== "PutRecordsCommand") return next(args);
      const input = args.input as PutRecordsCommandInput;
      const entries = input.Records ?? [];
      const request = requests.push(entries) - 1;
      const verdicts = entries.map((e) => fail(e, request));
      const kept = entries.filter((_, i) => !verdicts[i]);
      const real = kept.length
        ? await next({ ...args, input: { ...input, Records: kept } })
        : { output: { Records: [], FailedRecordCount: 0, $metadata: {} } as PutRecordsCommandOutput, response: {} };
      const answers = [...((real.output as PutRecordsCommandOutput).Records ?? [])];
      const merged: PutRecordsResultEntry[] = verdicts.map((code) => (code ? { ErrorCode: code, ErrorMessage: "injected" } : answers.shift()!));
      const output = { ...(real.output as PutRecordsCommandOutput), Records: merged, FailedRecordCount: merged.filter((r) => r.ErrorCode).length };
      return { ...real, output };
    },
    { step: "initialize", name: "failSomeEntries" },
  );
  return { client, requests };
}

const idOf = (entry: PutRecordsRequestEntry) => openEnvelope(entry.Data!).id;
const md5Decimal = (s: string) => BigInt(`0x${createHash("md5").update(s).digest("hex")}`);

describe("kinesisSink", () => {
  it("puts every element once with its id in the envelope, its id as partition key, and MD5(id) as hash key", async () => {
    const stream = await newStream(2);
    const results: KinesisSinkResult[] = [];
    const { client, requests } = faultyClient();
    try {
      for (const [p, items] of [
        [0, ["a", "b", "c"]],
        [1, ["d", { x: 1 }]],
      ] as const) {
        await kinesisSink({ stream, name: "app", time: new Time(2000), client, onResult: (r) => results.push(r) })(items, p);
      }
      const read = await readAll(stream);
      const got = read.map((r) => ({ ...openEnvelope(r.data), key: r.partitionKey })).sort((a, b) => (a.id < b.id ? -1 : 1));
      expect(got).toEqual([
        { id: "app/2000/0/0", value: "a", key: "app/2000/0/0" },
        { id: "app/2000/0/1", value: "b", key: "app/2000/0/1" },
        { id: "app/2000/0/2", value: "c", key: "app/2000/0/2" },
        { id: "app/2000/1/0", value: "d", key: "app/2000/1/0" },
        { id: "app/2000/1/1", value: { x: 1 }, key: "app/2000/1/1" },
      ]);
      expect(recordId("app", 2000, 1, 1)).toBe("app/2000/1/1");
      // Each record sits in the shard whose range holds the MD5 of its id, the hash key that was sent.
      for (const r of read) {
        const h = md5Decimal(openEnvelope(r.data).id);
        expect(h >= r.range[0] && h <= r.range[1]).toBe(true);
      }
      for (const e of requests.flat()) expect(e.ExplicitHashKey).toBe(md5Decimal(idOf(e)).toString());
      expect(explicitHashKey("app/2000/0/0")).toBe(md5Decimal("app/2000/0/0").toString());
      expect(results).toEqual([
        { stream, batchTime: 2000, partition: 0, records: 3, requests: 1, retried: 0, throttled: 0 },
        { stream, batchTime: 2000, partition: 1, records: 2, requests: 1, retried: 0, throttled: 0 },
      ]);
    } finally {
      client.destroy();
    }
  });

  it("a rerun of a batch puts the same ids, data, partition keys and hash keys, so consumers can drop the copies", async () => {
    const stream = await newStream(4);
    const { client, requests } = faultyClient();
    const elements = Array.from({ length: 40 }, (_, i) => ({ word: `w${i % 7}`, n: i }));
    try {
      const sink = () => kinesisSink<{ word: string; n: number }>({ stream, name: "wc", time: 5000, client, partitionKey: (e) => e.word });
      await sink()(elements, 3);
      await sink()(elements, 3); // the batch again, after a worker died once its records were in
      expect(requests).toHaveLength(2);
      const strip = (es: PutRecordsRequestEntry[]) =>
        es.map((e) => ({ data: Buffer.from(e.Data!).toString(), key: e.PartitionKey, hash: e.ExplicitHashKey }));
      expect(strip(requests[1]!)).toEqual(strip(requests[0]!));
      // A user partition key routes by key: the hash key is its MD5.
      expect(requests[0]![0]).toMatchObject({ PartitionKey: "w0", ExplicitHashKey: md5Decimal("w0").toString() });

      const read = await readAll(stream);
      expect(read).toHaveLength(80);
      const byId = new Map<string, Read[]>();
      for (const r of read) byId.set(openEnvelope(r.data).id, [...(byId.get(openEnvelope(r.data).id) ?? []), r]);
      expect(byId.size).toBe(40);
      for (const copies of byId.values()) {
        expect(copies).toHaveLength(2);
        expect(copies[1]!.shard).toBe(copies[0]!.shard);
        expect(copies[1]!.data.equals(copies[0]!.data)).toBe(true);
      }
      // What a consumer dedupes to: each element once.
      const deduped = [...byId.values()]
        .map((c) => openEnvelope(c[0]!.data).value as { n: number })
        .map((v) => v.n)
        .sort((a, b) => a - b);
      expect(deduped).toEqual(elements.map((e) => e.n));
    } finally {
      client.destroy();
    }
  });

  it("sends at most 500 records and 5 MiB per request", async () => {
    const stream = await newStream(1);
    const { client, requests } = faultyClient();
    try {
      await kinesisSink<number>({ stream, name: "many", time: 1000, client })(
        Array.from({ length: 1_200 }, (_, i) => i),
        0,
      );
      expect(requests.map((r) => r.length)).toEqual([500, 500, 200]);
      const big = "x".repeat(700 * 1024);
      await kinesisSink<string>({ stream, name: "big", time: 1000, client })(
        Array.from({ length: 9 }, () => big),
        0,
      );
      const sizes = requests.slice(3).map((r) => r.reduce((s, e) => s + e.Data!.byteLength + Buffer.byteLength(e.PartitionKey!), 0));
      expect(requests.slice(3).map((r) => r.length)).toEqual([7, 2]);
      for (const s of sizes) expect(s).toBeLessThanOrEqual(5 * 1024 * 1024);
      expect(await readAll(stream)).toHaveLength(1_209);
    } finally {
      client.destroy();
    }
  });

  it("retries only the entries that failed, with backoff, until every record is in", async () => {
    const stream = await newStream(2);
    // Request 0: odd elements throttled. Request 1 (the retry): element 3 fails again, with InternalFailure.
    const { client, requests } = faultyClient((entry, request) => {
      const n = openEnvelope(entry.Data!).value as number;
      if (request === 0 && n % 2 === 1) return "ProvisionedThroughputExceededException";
      if (request === 1 && n === 3) return "InternalFailure";
      return undefined;
    });
    const results: KinesisSinkResult[] = [];
    try {
      const t0 = Date.now();
      await kinesisSink<number>({ stream, name: "retry", time: 1000, client, baseDelayMs: 50, onResult: (r) => results.push(r) })(
        Array.from({ length: 10 }, (_, i) => i),
        0,
      );
      expect(requests.map((r) => r.map((e) => openEnvelope(e.Data!).value))).toEqual([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 5, 7, 9], [3]]);
      expect(Date.now() - t0).toBeLessThan(5_000);
      expect(results).toEqual([{ stream, batchTime: 1000, partition: 0, records: 10, requests: 3, retried: 6, throttled: 5 }]);
      const values = (await readAll(stream)).map((r) => openEnvelope(r.data).value as number).sort((a, b) => a - b);
      expect(values).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    } finally {
      client.destroy();
    }
  });

  it("gives up after maxAttempts with a KinesisSinkError naming the records, the error and the fix", async () => {
    const stream = await newStream(1);
    const { client, requests } = faultyClient((entry) =>
      openEnvelope(entry.Data!).value === 2 ? "ProvisionedThroughputExceededException" : undefined,
    );
    try {
      const error = await kinesisSink<number>({ stream, name: "stuck", time: 7000, client, maxAttempts: 3, baseDelayMs: 1 })([0, 1, 2, 3], 4).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(KinesisSinkError);
      const e = error as KinesisSinkError;
      expect(e.message).toMatch(
        /1 record\(s\) of stream .* still failed after 3 sends \(batch 7000, partition 4; stuck\/7000\/4\/2: ProvisionedThroughputExceededException: injected\)\. 3 record\(s\) of the partition were put\. Add shards to the stream/,
      );
      expect(e).toMatchObject({
        stream,
        batchTime: 7000,
        partition: 4,
        sent: 3,
        failed: [{ id: "stuck/7000/4/2", errorCode: "ProvisionedThroughputExceededException" }],
      });
      expect(requests).toHaveLength(3);
    } finally {
      client.destroy();
    }
  });

  it("a request Kinesis refuses is a KinesisSinkError with the fix", async () => {
    const error = await kinesisSink<number>({ stream: "no-such-stream", name: "x", time: 1000, client: kinesis })([1], 0).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KinesisSinkError);
    expect((error as Error).message).toMatch(
      /PutRecords into stream no-such-stream failed \(batch 1000, partition 0\): ResourceNotFoundException.*Create stream no-such-stream/,
    );
    expect(((error as Error).cause as Error).name).toBe("ResourceNotFoundException");
  });

  it("a caller's data function embeds the id its own way", async () => {
    const stream = await newStream(1);
    await kinesisSink<string>({ stream, name: "csv", time: 1000, client: kinesis, data: (e, id) => `${id},${e}` })(["a", "b"], 0);
    expect((await readAll(stream)).map((r) => r.data.toString())).toEqual(["csv/1000/0/0,a", "csv/1000/0/1,b"]);
  });

  it("refuses bad options and bad records with an InvalidArgumentError naming the value, the limit and the fix", async () => {
    const ok = { stream: "s", name: "app", time: 1000 };
    const cases: [object, RegExp][] = [
      [{ ...ok, stream: "" }, /`stream` to be a Kinesis stream name \(1 to 128 of .*\) or a stream ARN, got `""`/],
      [
        { ...ok, name: "a:b/c" },
        /`name` to be 1 to 128 of A-Z a-z 0-9 _ \. - \(it starts every record id, "name\/batchTime\/partition\/index"\), got `"a:b\/c"`\. Use the app's name/,
      ],
      [{ ...ok, time: 1.5 }, /`time` to be the batch time .* got `1.5`/],
      [{ ...ok, maxAttempts: 0 }, /`maxAttempts` to be a whole number from 1 to 100, got `0`/],
      [{ ...ok, baseDelayMs: 10, maxDelayMs: 5 }, /`maxDelayMs` to be a whole number from 10 to 300000, got `5`/],
      [{ ...ok, maxRecordBytes: 20 * 1024 * 1024 }, /`maxRecordBytes` to be a whole number from 1 to 10485760/],
      [{ ...ok, data: "json" }, /`data` to be a function, got `"json"`/],
    ];
    for (const [options, message] of cases) {
      expect(() => kinesisSink(options as never), JSON.stringify(options)).toThrow(InvalidArgumentError);
      expect(() => kinesisSink(options as never)).toThrow(message);
    }
    expect(() => kinesisSink({ ...ok, stream: "arn:aws:kinesis:us-east-1:123456789012:stream/s" })).not.toThrow();

    const stream = await newStream(1);
    const { client, requests } = faultyClient();
    try {
      const tooBig = kinesisSink<string>({ stream, name: "big", time: 1000, client, maxRecordBytes: 1000 });
      await expect(tooBig(["small", "y".repeat(2000)], 0)).rejects.toThrow(
        /Record big\/1000\/0\/1 is 2\d{3} bytes \(data plus partition key\), over the limit of 1000 bytes per record \(`maxRecordBytes`\)\. Make the element smaller/,
      );
      await expect(kinesisSink<bigint>({ stream, name: "b", time: 1000, client })([1n], 0)).rejects.toThrow(
        /The data of record b\/1000\/0\/0 could not be made: .*BigInt.*JSON-serializable/,
      );
      await expect(kinesisSink<number>({ stream, name: "d", time: 1000, client, data: (n) => n as never })([1], 0)).rejects.toThrow(
        /`data` to return a string or a Uint8Array for record d\/1000\/0\/0, got `1`/,
      );
      await expect(kinesisSink<number>({ stream, name: "k", time: 1000, client, partitionKey: () => "" })([1], 0)).rejects.toThrow(
        /`partitionKey` to return 1 to 256 characters for record k\/1000\/0\/0, got `""`/,
      );
      // Nothing of a partition with a bad record was sent.
      expect(requests).toHaveLength(0);
    } finally {
      client.destroy();
    }
    expect(() => openEnvelope("not json")).toThrow(InvalidArgumentError);
  });

  it("builds its client from the environment, HTTP/1.1 for local engines", async () => {
    const config = kinesisClientConfigFromEnv({ SPARKLESS_KINESIS_ENDPOINT: engines.kinesis });
    expect(config).toMatchObject({ endpoint: engines.kinesis, region: "us-east-1", credentials: { accessKeyId: "sparklesslocal" } });
    const stream = await newStream(1);
    const saved = { endpoint: process.env.SPARKLESS_KINESIS_ENDPOINT, key: process.env.AWS_ACCESS_KEY_ID };
    process.env.SPARKLESS_KINESIS_ENDPOINT = engines.kinesis;
    delete process.env.AWS_ACCESS_KEY_ID;
    try {
      await kinesisSink<string>({ stream, name: "env", time: 1000 })(["hello"], 0);
    } finally {
      if (saved.endpoint === undefined) delete process.env.SPARKLESS_KINESIS_ENDPOINT;
      else process.env.SPARKLESS_KINESIS_ENDPOINT = saved.endpoint;
      if (saved.key !== undefined) process.env.AWS_ACCESS_KEY_ID = saved.key;
    }
    expect((await readAll(stream)).map((r) => openEnvelope(r.data))).toEqual([{ id: "env/1000/0/0", value: "hello" }]);
  });
});
