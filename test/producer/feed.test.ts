// feed(): batching within PutRecords' limits, retry of only the failed records (injected
// ProvisionedThroughputExceededException, per entry and per request), bad input, partition keys,
// the rate limit and the errors that name their fix; against embedded Kinesis (kinesalite).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  ListShardsCommand,
  type PutRecordsCommandInput,
  type PutRecordsCommandOutput,
  type PutRecordsResultEntry,
} from "@aws-sdk/client-kinesis";
import { awsClientConfig, startEmbeddedEngines, type EmbeddedEngines } from "../../lib/local/engines.js";
import { ensureStream } from "../../lib/local/runtime.js";
import { feed, FeedError, MAX_REQUEST_BYTES } from "../../lib/producer/feed.js";
import { explainAwsError, OperatorError } from "../../lib/observability/aws-errors.js";

let engines: EmbeddedEngines;
let admin: KinesisClient;
let n = 0;

beforeAll(async () => {
  engines = await startEmbeddedEngines({ dynamodb: false, sqs: false });
  admin = new KinesisClient({ ...awsClientConfig(engines.kinesis, engines.region) });
});
afterAll(async () => {
  admin?.destroy();
  await engines?.stop();
});

async function newStream(shards = 2): Promise<string> {
  const name = `feed-${process.pid}-${++n}`;
  await ensureStream(admin, name, shards);
  return name;
}

/** Every record in the stream, as text, with its partition key. */
async function readAll(stream: string): Promise<{ data: string; key: string }[]> {
  const shards = (await admin.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
  const out: { data: string; key: string }[] = [];
  for (const s of shards) {
    let it = (await admin.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: s.ShardId!, ShardIteratorType: "TRIM_HORIZON" })))
      .ShardIterator;
    for (;;) {
      const r = await admin.send(new GetRecordsCommand({ ShardIterator: it!, Limit: 10_000 }));
      for (const rec of r.Records ?? []) out.push({ data: Buffer.from(rec.Data!).toString("utf8"), key: rec.PartitionKey! });
      it = r.NextShardIterator;
      if (!r.Records?.length) break;
    }
  }
  return out;
}

interface Call {
  records: number;
  bytes: number;
  keys: string[];
}

/**
 * A client whose PutRecords calls are recorded, and optionally made to fail:
 * `failEntry(call, index)` fails an entry with ProvisionedThroughputExceededException (the entry is
 * not sent, and its result says so, as Kinesis answers); `failRequest(call)` fails the whole request.
 */
function testClient(faults: { failEntry?: (call: number, index: number) => boolean; failRequest?: (call: number) => boolean } = {}) {
  const client = new KinesisClient({ ...awsClientConfig(engines.kinesis, engines.region), maxAttempts: 1 });
  const calls: Call[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== "PutRecordsCommand") return next(args);
      const input = args.input as PutRecordsCommandInput;
      const call = calls.length;
      calls.push({
        records: input.Records!.length,
        bytes: input.Records!.reduce((a, r) => a + r.Data!.byteLength + Buffer.byteLength(r.PartitionKey!), 0),
        keys: input.Records!.map((r) => r.PartitionKey!),
      });
      if (faults.failRequest?.(call)) {
        throw Object.assign(new Error("Rate exceeded for stream (injected)"), {
          name: "ProvisionedThroughputExceededException",
          $fault: "client",
          $metadata: { httpStatusCode: 400 },
        });
      }
      const failed = new Set(input.Records!.map((_, i) => i).filter((i) => faults.failEntry?.(call, i)));
      if (failed.size === 0) return next(args);
      const kept = input.Records!.filter((_, i) => !failed.has(i));
      const result = kept.length
        ? await next({ ...args, input: { ...input, Records: kept } })
        : { output: { Records: [], FailedRecordCount: 0, $metadata: {} }, response: {} };
      const sent = [...((result.output as PutRecordsCommandOutput).Records ?? [])];
      const records: PutRecordsResultEntry[] = input.Records!.map((_, i) =>
        failed.has(i) ? { ErrorCode: "ProvisionedThroughputExceededException", ErrorMessage: "Rate exceeded for shard (injected)" } : sent.shift()!,
      );
      return {
        ...result,
        output: { ...(result.output as PutRecordsCommandOutput), Records: records, FailedRecordCount: failed.size },
      } as typeof result;
    },
    { step: "initialize", name: "injectFailures" },
  );
  return { client, calls };
}

const lines = (count: number, prefix = "line") => Array.from({ length: count }, (_, i) => `${prefix} ${i}`);
const noSleep = async () => undefined;

describe("feed", () => {
  it("batches up to 500 records a request and delivers every line once", async () => {
    const stream = await newStream();
    const { client, calls } = testClient();
    const input = lines(1_234);
    const result = await feed({ client, stream, records: input });
    expect(result.sent).toBe(1_234);
    expect(calls.map((c) => c.records)).toEqual([500, 500, 234]);
    const got = await readAll(stream);
    expect(got.map((r) => r.data).sort()).toEqual([...input].sort());
    // random partition keys spread over the shards
    expect(new Set(got.map((r) => r.key)).size).toBe(1_234);
    client.destroy();
  });

  it("keeps every request within 5 MiB and sends big records whole", async () => {
    const stream = await newStream(1);
    const { client, calls } = testClient();
    const big = Array.from({ length: 20 }, (_, i) => `${i}:` + "x".repeat(600 * 1024));
    const result = await feed({ client, stream, records: big, partitionKey: { kind: "fixed", key: "k" } });
    expect(result.sent).toBe(20);
    expect(calls.length).toBeGreaterThanOrEqual(3);
    for (const c of calls) expect(c.bytes).toBeLessThanOrEqual(MAX_REQUEST_BYTES);
    expect(calls.map((c) => c.records)).toEqual([8, 8, 4]);
    const got = await readAll(stream);
    expect(got.map((r) => r.data.length).sort()).toEqual(big.map((b) => b.length).sort());
    client.destroy();
  });

  it("retries only the entries Kinesis failed (ProvisionedThroughputExceededException), with backoff", async () => {
    const stream = await newStream();
    // The first request fails every third entry; the first retry fails one more entry again.
    const { client, calls } = testClient({ failEntry: (call, i) => (call === 0 && i % 3 === 0) || (call === 1 && i === 0) });
    const delays: number[] = [];
    const input = lines(300, "p");
    const result = await feed({
      client,
      stream,
      records: input,
      sleep: async (ms) => {
        delays.push(ms);
      },
      random: () => 1,
    });
    expect(result.sent).toBe(300);
    expect(result.retried).toBe(100 + 1);
    expect(result.throttled).toBe(101);
    // Only the failed entries were sent again: 300, then the 100 failed, then the 1 failed again.
    expect(calls.map((c) => c.records)).toEqual([300, 100, 1]);
    expect(delays).toEqual([100, 200]);
    const got = (await readAll(stream)).map((r) => r.data);
    expect(got.length).toBe(300);
    expect(new Set(got)).toEqual(new Set(input));
    client.destroy();
  });

  it("retries a whole request that failed with ProvisionedThroughputExceededException", async () => {
    const stream = await newStream();
    const { client, calls } = testClient({ failRequest: (call) => call < 2 });
    const result = await feed({ client, stream, records: lines(50), sleep: noSleep });
    expect(result.sent).toBe(50);
    expect(result.retried).toBe(100);
    expect(calls.map((c) => c.records)).toEqual([50, 50, 50]);
    expect((await readAll(stream)).length).toBe(50);
    client.destroy();
  });

  it("fails, naming the fix, when records are still throttled after the last attempt", async () => {
    const stream = await newStream();
    const { client } = testClient({ failEntry: (_call, i) => i === 0 });
    const err = await feed({ client, stream, records: lines(10), maxAttempts: 3, sleep: noSleep }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FeedError);
    expect((err as Error).message).toMatch(/1 record\(s\) still failed after 3 attempts \(line 1: ProvisionedThroughputExceededException/);
    expect((err as Error).message).toMatch(/--rate|shards/);
    client.destroy();
  });

  it("reports an oversized record with its line number and skips it; never truncates", async () => {
    const stream = await newStream(1);
    const { client } = testClient();
    const input = ["small 1", "y".repeat(1024 * 1024 + 10), "", "small 2"];
    const skipped: number[] = [];
    const result = await feed({ client, stream, records: input, onSkip: (s) => skipped.push(s.line) });
    expect(skipped).toEqual([2]);
    expect(result.skippedRecords[0]!.reason).toMatch(/over the 1.00 MiB limit/);
    expect(result).toMatchObject({ sent: 2, skipped: 1, blank: 1 });
    expect((await readAll(stream)).map((r) => r.data).sort()).toEqual(["small 1", "small 2"]);
    client.destroy();
  });

  it("with strict, sends what came before the bad record and fails naming its line", async () => {
    const stream = await newStream(1);
    const { client } = testClient();
    const input = ["a", "b", "z".repeat(2 * 1024 * 1024), "c"];
    const err = await feed({ client, stream, records: input, strict: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FeedError);
    expect((err as Error).message).toMatch(/^line 3: record of 2.00 MiB/);
    expect((await readAll(stream)).map((r) => r.data).sort()).toEqual(["a", "b"]);
    client.destroy();
  });

  it("takes the partition key from a JSON field, skipping records without it", async () => {
    const stream = await newStream();
    const { client, calls } = testClient();
    const input = ['{"user":{"id":"u1"},"n":1}', '{"user":{"id":7},"n":2}', '{"n":3}', "not json"];
    const result = await feed({ client, stream, records: input, json: true, partitionKey: { kind: "field", field: "user.id" } });
    expect(result.sent).toBe(2);
    expect(calls[0]!.keys).toEqual(["u1", "7"]);
    expect(result.skippedRecords.map((s) => s.line)).toEqual([3, 4]);
    expect(result.skippedRecords[0]!.reason).toMatch(/no field "user.id"/);
    expect(result.skippedRecords[1]!.reason).toMatch(/not JSON/);
    // records are sent as written
    expect((await readAll(stream)).map((r) => r.data).sort()).toEqual([input[0], input[1]].sort());
    client.destroy();
  });

  it("sends objects from code as JSON, with a fixed key", async () => {
    const stream = await newStream(1);
    const { client, calls } = testClient();
    const result = await feed({ client, stream, records: [{ a: 1 }, [2, 3]], partitionKey: { kind: "fixed", key: "all" } });
    expect(result.sent).toBe(2);
    expect(calls[0]!.keys).toEqual(["all", "all"]);
    expect((await readAll(stream)).map((r) => r.data)).toEqual(['{"a":1}', "[2,3]"]);
    client.destroy();
  });

  it("keeps to the rate limit", async () => {
    const stream = await newStream(1);
    const { client, calls } = testClient();
    const t0 = Date.now();
    const result = await feed({ client, stream, records: lines(60), ratePerSecond: 100 });
    const elapsed = Date.now() - t0;
    expect(result.sent).toBe(60);
    // 60 records at 100/s: the last request is due at 0.5 s at the earliest
    expect(elapsed).toBeGreaterThanOrEqual(450);
    expect(Math.max(...calls.map((c) => c.records))).toBeLessThanOrEqual(10);
    client.destroy();
  });

  it("names the fix for a missing stream and for an endpoint where nothing answers", async () => {
    const { client } = testClient();
    const missing = await feed({ client, stream: "no-such-stream", records: ["x"] }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(OperatorError);
    expect((missing as Error).message).toMatch(/stream no-such-stream does not exist .*check --stream/);
    client.destroy();
    const dead = new KinesisClient({ ...awsClientConfig("http://127.0.0.1:9", "us-east-1"), maxAttempts: 1 });
    const refused = await feed({ client: dead, stream: "s", records: ["x"] }).catch((e: unknown) => e);
    expect((refused as Error).message).toMatch(/nothing answers at http:\/\/127.0.0.1:9: start `sparkless local`.*--endpoint/);
    dead.destroy();
  });

  it("names the fix for missing credentials", () => {
    const e = Object.assign(new Error("Could not load credentials from any providers"), { name: "CredentialsProviderError" });
    expect(explainAwsError(e).message).toMatch(/^no AWS credentials: set AWS_PROFILE/);
  });

  it("sends a request's worth without waiting for a slow source to fill it", async () => {
    const stream = await newStream(1);
    const { client, calls } = testClient();
    async function* slow() {
      yield "first";
      await new Promise((r) => setTimeout(r, 400));
      yield "second";
    }
    await feed({ client, stream, records: slow(), lingerMs: 50 });
    expect(calls.map((c) => c.records)).toEqual([1, 1]);
    client.destroy();
  });
});

describe("the package", () => {
  it("exports feed for producers in code as sparkless/producer", async () => {
    const mod = await import("sparkless/producer");
    expect(mod.feed).toBe(feed);
  });
});
