// `startEmbeddedEngines({ dataDir })`: a process holding the engines on a data folder is killed with
// SIGKILL; its engines (kinesalite, the JVM of DynamoDB Local) die with it, through the watchdog and
// kinesalite's stdin pipe; engines started again on the folder hold the same stream records, table item
// and S3 object, and so do they after a graceful stop. A folder in use by a live process is refused.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand, PutRecordsCommand } from "@aws-sdk/client-kinesis";
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, describe, expect, it } from "vitest";
import { awsClientConfig, startEmbeddedEngines, type EmbeddedEngines } from "../../lib/local/engines.js";
import { DataDirInUseError } from "../../lib/local/errors.js";
import { tsxImportArgs } from "../../lib/local/optional.js";

const holder = fileURLToPath(new URL("./fixtures/engines-holder.ts", import.meta.url));
const root = mkdtempSync(path.join(tmpdir(), "sparkless-data-dir-"));
const dir = path.join(root, "data");
let engines: EmbeddedEngines | undefined;

afterAll(async () => {
  await engines?.stop();
  rmSync(root, { recursive: true, force: true });
}, 30_000);

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const commandOf = (pid: number) => {
  try {
    return execFileSync("ps", ["-o", "args=", "-p", String(pid)], { encoding: "utf8" }).trim();
  } catch {
    return "";
  }
};

async function everything(
  e: EmbeddedEngines,
): Promise<{ records: string[]; item?: string; object?: { body: number[]; type?: string }; keys: string[] }> {
  const kinesis = new KinesisClient(awsClientConfig(e.kinesis, e.region));
  const dynamodb = new DynamoDBClient(awsClientConfig(e.dynamodb, e.region));
  const s3 = new S3Client({ ...awsClientConfig(e.s3, e.region), forcePathStyle: true });
  try {
    const records: string[] = [];
    for (const shard of (await kinesis.send(new ListShardsCommand({ StreamName: "kept" }))).Shards ?? []) {
      const it = await kinesis.send(new GetShardIteratorCommand({ StreamName: "kept", ShardId: shard.ShardId!, ShardIteratorType: "TRIM_HORIZON" }));
      const got = await kinesis.send(new GetRecordsCommand({ ShardIterator: it.ShardIterator!, Limit: 1000 }));
      records.push(...(got.Records ?? []).map((r) => `${shard.ShardId}/${r.SequenceNumber}`));
    }
    const item = (await dynamodb.send(new GetItemCommand({ TableName: "kept", Key: { pk: { S: "a" } }, ConsistentRead: true }))).Item?.v?.N;
    const keys = ((await s3.send(new ListObjectsV2Command({ Bucket: "kept" }))).Contents ?? []).map((o) => o.Key!);
    const obj = await s3.send(new GetObjectCommand({ Bucket: "kept", Key: "app/checkpoints/page 1" }));
    return {
      records: records.sort(),
      item,
      keys: keys.sort(),
      object: { body: [...(await obj.Body!.transformToByteArray())], type: obj.ContentType },
    };
  } finally {
    kinesis.destroy();
    dynamodb.destroy();
    s3.destroy();
  }
}

describe("embedded engines on a data folder", () => {
  it("survive a SIGKILL of their parent with their data, leave no engine behind, and refuse a second owner", async () => {
    const child = spawn(process.execPath, [...tsxImportArgs(), holder, dir], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    const ready = await new Promise<{ pid: number; processIds: number[]; failed: number; sequenceNumbers: string[] }>((resolve, reject) => {
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        const nl = out.indexOf("\n");
        if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)));
      });
      child.once("exit", (code) => reject(new Error(`the holder exited (${code}) before it was ready:\n${err}`)));
    });
    expect(ready.failed).toBe(0);
    const engineArgs = ready.processIds.map(commandOf);
    expect(
      engineArgs.some((a) => /DynamoDBLocal\.jar .*-dbPath .*data\/dynamodb/.test(a)),
      engineArgs.join("\n"),
    ).toBe(true);
    expect(engineArgs.some((a) => /kinesalite/.test(a))).toBe(true);

    // A live owner: refused at once, naming it.
    const refused = await startEmbeddedEngines({ dataDir: dir }).then(
      (e) => e.stop().then(() => undefined),
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(DataDirInUseError);
    expect((refused as DataDirInUseError).pid).toBe(ready.pid);
    expect((refused as Error).message).toMatch(/is in use by process \d+ .*stop that run first, or pass another --data-dir/);

    const exited = new Promise((r) => child.once("exit", r));
    process.kill(ready.pid, "SIGKILL");
    await exited;
    // The JVM, kinesalite and the watchdog go with it: nothing of ours to wait for but the kernel.
    for (let i = 0; i < 100 && ready.processIds.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
    expect(ready.processIds.filter(alive).map((p) => `${p} ${commandOf(p)}`)).toEqual([]);

    engines = await startEmbeddedEngines({ dataDir: dir });
    expect(engines.dataDir).toBe(path.resolve(dir));
    const after = await everything(engines);
    expect(after.records).toEqual([...ready.sequenceNumbers].sort());
    expect(after.item).toBe("42");
    expect(after.keys).toEqual(["app/checkpoints/page 1"]);
    expect(after.object).toEqual({ body: [0, 1, 2, 255], type: "application/x-test" });
  }, 120_000);

  it("keep what was written after a restart through a graceful stop too", async () => {
    const e = engines!;
    const kinesis = new KinesisClient(awsClientConfig(e.kinesis, e.region));
    const s3 = new S3Client({ ...awsClientConfig(e.s3, e.region), forcePathStyle: true });
    const put = await kinesis.send(new PutRecordsCommand({ StreamName: "kept", Records: [{ Data: Buffer.from("late"), PartitionKey: "late" }] }));
    await s3.send(new PutObjectCommand({ Bucket: "kept", Key: "app/shuffle/2", Body: Buffer.from("x") }));
    kinesis.destroy();
    s3.destroy();
    const before = await everything(e);
    await e.stop();
    engines = await startEmbeddedEngines({ dataDir: dir });
    const again = await everything(engines);
    expect(again).toEqual(before);
    expect(again.records).toContain(`${put.Records![0]!.ShardId}/${put.Records![0]!.SequenceNumber}`);
    expect(again.keys).toEqual(["app/checkpoints/page 1", "app/shuffle/2"]);
  }, 90_000);
});
