/**
 * sparkless quarantine (list, replay), retry and reset against the embedded engines, with the app's
 * engines found the way a `sparkless local` run registers them. Batches run through the coordinator's
 * job generator (the integration harness): retry marks a failed batch running again, and the
 * coordinator's next start runs it from its recorded input; reset leaves nothing of the app in the
 * meta and state tables (batch records, app info, checkpoint manifests and pages).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadApp } from "../../lib/app/app.js";
import { DynamoBatchLog } from "../../lib/aws/dynamodb/batch-log.js";
import { defineApp, Seconds } from "../../lib/index.js";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { quarantineCommand, ReplayRefusedError, resetCommand, retryCommand } from "../../lib/cli/ops.js";
import { encode } from "../../lib/core/codec.js";
import { QuarantineDataError } from "../../lib/core/errors.js";
import { OperatorError } from "../../lib/observability/aws-errors.js";
import { sharedEngines, stopSharedEngines } from "../../lib/local/run-batches-local.js";
import { registerLocalRun, type CliIo } from "../../lib/cli/target.js";
import type { EmbeddedEngines } from "../../lib/local/engines.js";
import { putRecord, startHarness } from "../integration/helpers.js";

let engines: EmbeddedEngines;
const cwd = mkdtempSync(path.join(tmpdir(), "sparkless-ops-"));
beforeAll(async () => {
  engines = await sharedEngines();
}, 120_000);
afterAll(() => stopSharedEngines(), 60_000);

function io(): CliIo & { out: () => string } {
  let text = "";
  const stdout = {
    write: (s: string) => {
      text += s;
      return true;
    },
  };
  return { stdout, stderr: { write: () => true }, stdin: new PassThrough(), env: {}, cwd, out: () => text };
}

describe("recovery commands", () => {
  it("lists quarantined records with their coordinates and replays them into their stream", async () => {
    const name = `opsq${process.pid}`;
    const stream = `${name}-in`;
    const app = defineApp({ name, batchInterval: Seconds(1) }, (ssc) => {
      ssc
        .kinesisStream<{ n: number }>(stream, { decode: "json" })
        .map((r) => r.n)
        .foreachRDD(async (rdd) => {
          await rdd.collect();
        });
    });
    const h = await startHarness(engines, app, { streams: { [stream]: 1 } });
    const unregister = registerLocalRun(
      {
        app: name,
        pid: process.pid,
        endpoints: { kinesis: engines.kinesis, dynamodb: engines.dynamodb, sqs: engines.sqs },
        streams: [stream],
        startedAt: Date.now(),
      },
      cwd,
    );
    try {
      await putRecord(h.kinesis, stream, JSON.stringify({ n: 1 }));
      const bad = await putRecord(h.kinesis, stream, "{not json");
      const rec = await h.nextBatch();
      expect(rec.quarantinedRecords).toBe(1);
      const list = io();
      expect(await quarantineCommand(["--app", name], list)).toBe(0);
      // The stream's own name (not the input's internal id), why, and a bounded, escaped preview with the size.
      expect(list.out()).toContain(`stream ${stream}  shard ${bad.shardId}  sequence ${bad.sequenceNumber}`);
      expect(list.out()).toMatch(/could not be decoded \(operator kinesisStream-\d+\): .*(JSON|Unexpected|Expected)/);
      expect(list.out()).toContain('record: 9 B  "{not json"\n');
      expect(list.out()).toContain("1 record(s)");
      const json = io();
      expect(await quarantineCommand(["--app", name, "--json"], json)).toBe(0);
      expect(JSON.parse(json.out())).toMatchObject([
        { stream, shard: bad.shardId, sequenceNumber: bad.sequenceNumber, size: 9, preview: '"{not json"' },
      ]);
      const replay = io();
      expect(await quarantineCommand(["replay", "--app", name], replay)).toBe(0);
      expect(replay.out()).toContain("replayed 1 of 1");
      // The replayed bytes come back through the stream and are quarantined again by the next batch.
      const next = await h.nextBatch();
      expect(next.quarantinedRecords).toBe(1);
    } finally {
      unregister();
      await h.stop();
    }
  });

  it("replay refuses, putting nothing back, when a record cannot be given back byte for byte", async () => {
    const name = `opsv${process.pid}`;
    const stream = `${name}-in`;
    const app = defineApp({ name, batchInterval: Seconds(1) }, (ssc) => {
      ssc.kinesisStream<{ n: number }>(stream, { decode: "json" }).foreachRDD(async (rdd) => {
        await rdd.collect();
      });
    });
    const h = await startHarness(engines, app, { streams: { [stream]: 1 } });
    const unregister = registerLocalRun(
      {
        app: name,
        pid: process.pid,
        endpoints: { kinesis: engines.kinesis, dynamodb: engines.dynamodb, sqs: engines.sqs },
        streams: [stream],
        startedAt: Date.now(),
      },
      cwd,
    );
    try {
      await putRecord(h.kinesis, stream, "{not json");
      expect((await h.nextBatch()).quarantinedRecords).toBe(1);
      // An entry as the version before this one stored a record over 300 KB: cut short, the record lost.
      await h.env.engine.clients.doc.send(
        new PutCommand({
          TableName: h.env.config.tables.meta,
          Item: {
            pk: `${name}#quarantine`,
            sk: "0000000000000500#r#x#shardId-000000000000#42#kinesisStream-1",
            r: encode({
              batchTime: 500,
              stream,
              shard: "shardId-000000000000",
              sequenceNumber: "42",
              operator: "kinesisStream-1",
              error: "boom",
              record: '[truncated: 1398110 bytes] {"batchTime":500',
            }),
          },
        }),
      );
      const list = io();
      expect(await quarantineCommand(["--app", name], list)).toBe(0);
      expect(list.out()).toMatch(/record: NOT KEPT WHOLE: an older version .* kept only the start .*replay refuses it\n/);
      const replay = io();
      const error = await quarantineCommand(["replay", "--app", name], replay).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(ReplayRefusedError);
      expect(error).toBeInstanceOf(OperatorError);
      expect((error as Error).message).toMatch(/refusing to replay: 1 of 2 record\(s\) cannot be put back byte for byte, and nothing was put back/);
      expect((error as Error).message).toContain(`${stream}/shardId-000000000000/42 of batch 500 cannot be given back exactly`);
      const [refused] = (error as ReplayRefusedError).refused;
      expect(refused).toBeInstanceOf(QuarantineDataError);
      expect(refused!.reason).toBe("cut short by an older version");
      expect(replay.out()).toBe("");
      // Nothing went into the stream, not even the record that could have been put back.
      expect((await h.nextBatch()).inputRecords ?? 0).toBe(0);

      // The other batch's record alone replays.
      const some = io();
      const good = (await h.env.engine.quarantine.list()).find((e) => e.batchTime !== 500)!;
      expect(await quarantineCommand(["replay", "--app", name, "--batch", String(good.batchTime)], some)).toBe(0);
      expect(some.out()).toContain("replayed 1 of 1 record(s)");
    } finally {
      unregister();
      await h.stop();
    }
  });

  it("retries a failed batch from the CLI once the cause is fixed: the coordinator runs it again from its recorded input", async () => {
    const name = `opsr${process.pid}`;
    const stream = `${name}-in`;
    const modulePath = path.join(cwd, `${name}.ts`);
    const lib = path.resolve("lib/index.ts");
    // The app fails in its output while a flag file exists: "the cause" that gets fixed. Its output
    // appends each batch's records to a file.
    const flag = path.join(cwd, `${name}.broken`);
    const sink = path.join(cwd, `${name}.out`);
    writeFileSync(flag, "");
    writeFileSync(
      modulePath,
      `
import { appendFileSync, existsSync } from "node:fs";
import { defineApp, Seconds } from ${JSON.stringify(lib)};
export default defineApp({ name: ${JSON.stringify(name)}, batchInterval: Seconds(1), maxTaskAttempts: 1 }, (ssc) => {
  ssc.kinesisStream(${JSON.stringify(stream)}).foreachRDD(async (rdd, time) => {
    if (existsSync(${JSON.stringify(flag)})) throw new Error("output sink down");
    appendFileSync(${JSON.stringify(sink)}, JSON.stringify({ time: time.milliseconds, records: await rdd.collect() }) + "\\n");
  });
});
`,
    );
    const app = await loadApp(modulePath);
    const h = await startHarness(engines, app, { streams: { [stream]: 1 } });
    const unregister = registerLocalRun(
      {
        app: name,
        pid: process.pid,
        endpoints: { kinesis: engines.kinesis, dynamodb: engines.dynamodb, sqs: engines.sqs },
        streams: [stream],
        startedAt: Date.now(),
      },
      cwd,
    );
    try {
      const none = io();
      expect(await retryCommand([modulePath], none)).toBe(0);
      expect(none.out()).toBe(`no failed batch for ${name}\n`);

      await putRecord(h.kinesis, stream, "hello");
      const failed = await h.nextBatch();
      expect(failed.status).toBe("failed");
      expect(failed.error).toMatch(/output sink down/);
      // A failed batch stops the app: no later batch runs until it is retried.
      await expect(h.generator.runBatch(h.generator.nextTime)).rejects.toThrow(/sparkless retry/);
      expect(existsSync(sink)).toBe(false);

      rmSync(flag);
      const retry = io();
      expect(await retryCommand([modulePath], retry)).toBe(0);
      expect(retry.out()).toContain(`batch ${failed.time} will run again (retry 1)`);
      expect(await h.engine.batchLog.getBatch(failed.time)).toMatchObject({ status: "running", retries: 1 });
      expect((await h.engine.batchLog.getBatch(failed.time))!.error).toBeUndefined();

      // What the coordinator's next invocation does: start (running the batch left running), hand over.
      await h.generator.resume();
      await h.generator.handOver();
      const done = (await h.engine.batchLog.getBatch(failed.time))!;
      expect(done).toMatchObject({ status: "completed", retries: 1 });
      expect(done.completedAt).toBeGreaterThanOrEqual(done.startedAt!);
      // It read exactly its recorded input, and its output ran once.
      expect(
        readFileSync(sink, "utf8")
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l)),
      ).toEqual([{ time: failed.time, records: ["hello"] }]);

      // Later batches follow; a batch that did not fail cannot be retried.
      await putRecord(h.kinesis, stream, "again");
      expect(await h.nextBatch()).toMatchObject({ time: failed.time + 1000, status: "completed" });
      expect(readFileSync(sink, "utf8")).toContain('"again"');
      await expect(retryCommand([modulePath, "--batch", String(failed.time)], io())).rejects.toThrow(
        /is completed: only a failed batch can be retried/,
      );
    } finally {
      unregister();
      await h.stop();
    }
  });

  it("reset needs --yes, then deletes the app's batch records, app info, checkpoint manifests and pages", async () => {
    const name = `opsx${process.pid}`;
    const stream = `${name}-in`;
    const app = defineApp({ name, batchInterval: Seconds(1) }, (ssc) => {
      ssc
        .kinesisStream(stream)
        .map((w) => [w, 1] as [string, number])
        .updateStateByKey((v: number[], s?: number) => v.length + (s ?? 0))
        .foreachRDD(async (rdd) => {
          await rdd.collect();
        });
    });
    const h = await startHarness(engines, app, { streams: { [stream]: 1 } });
    // Another app's items in the same table (its name starts with this one's) stay.
    const other = new DynamoBatchLog(h.env.engine.clients.doc, h.env.config.tables.meta, `${name}n`);
    await other.createApp({ zeroTime: 0, batchIntervalMs: 1000, fingerprint: [], createdAt: 0 });
    const unregister = registerLocalRun(
      {
        app: name,
        pid: process.pid,
        endpoints: { kinesis: engines.kinesis, dynamodb: engines.dynamodb, sqs: engines.sqs },
        streams: [stream],
        startedAt: Date.now(),
      },
      cwd,
    );
    try {
      await putRecord(h.kinesis, stream, "a");
      const batch = await h.nextBatch();
      expect(batch.status).toBe("completed");
      await h.generator.checkpoint(batch.time, true);
      const manifest = (await h.engine.checkpoints.latest())!;
      expect(manifest.time).toBe(batch.time);
      const [ckpt] = Object.values(manifest.streams);
      expect(ckpt).toBeDefined();
      expect(await h.engine.checkpoints.readPages(ckpt!.key, ckpt!.pages)).toHaveLength(ckpt!.pages);
      expect(await h.engine.batchLog.listBatches()).toHaveLength(1);

      await expect(resetCommand(["--app", name], io())).rejects.toThrow(/--yes/);
      expect(await h.engine.batchLog.listBatches()).toHaveLength(1);
      const out = io();
      expect(await resetCommand(["--app", name, "--yes"], out)).toBe(0);
      expect(out.out()).toMatch(/deleted \d+ item\(s\) of /);
      expect(await h.engine.batchLog.listBatches()).toEqual([]);
      expect(await h.engine.batchLog.getApp()).toBeUndefined();
      expect(await h.engine.checkpoints.latest()).toBeUndefined();
      await expect(h.engine.checkpoints.readPages(ckpt!.key, ckpt!.pages)).rejects.toThrow(/missing/i);
      expect(await other.getApp()).toBeDefined();
    } finally {
      unregister();
      await h.stop();
    }
  });
});
