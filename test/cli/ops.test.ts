/**
 * sparkless quarantine (list, replay), retry and reset against the embedded engines, with the app's
 * engines found the way a `sparkless local` run registers them.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PassThrough } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineApp, Seconds } from "../../lib/index.js";
import { quarantineCommand, resetCommand, retryCommand } from "../../lib/cli/ops.js";
import { sharedEngines, stopSharedEngines } from "../../lib/local/run-batches-local.js";
import { registerLocalRun, type CliIo } from "../../lib/observability/target.js";
import type { EmbeddedEngines } from "../../lib/local/engines.js";
import { putRecord, startHarness } from "../integration/helpers.js";

let engines: EmbeddedEngines;
const cwd = mkdtempSync(path.join(tmpdir(), "sparkless-ops-"));
beforeAll(async () => { engines = await sharedEngines(); }, 120_000);
afterAll(() => stopSharedEngines(), 60_000);

function io(): CliIo & { out: () => string } {
  let text = "";
  const stdout = { write: (s: string) => { text += s; return true; } };
  return { stdout, stderr: { write: () => true }, stdin: new PassThrough(), env: {}, cwd, out: () => text };
}

describe("recovery commands", () => {
  it("lists quarantined records with their coordinates and replays them into their stream", async () => {
    const name = `opsq${process.pid}`;
    const stream = `${name}-in`;
    const app = defineApp({ name, batchInterval: Seconds(1) }, (ssc) => {
      ssc.kinesisStream<{ n: number }>(stream, { decode: "json" }).map((r) => r.n).foreachRDD(async (rdd) => { await rdd.collect(); });
    });
    const h = await startHarness(engines, app, { streams: { [stream]: 1 } });
    const unregister = registerLocalRun({ app: name, pid: process.pid, endpoints: { kinesis: engines.kinesis, dynamodb: engines.dynamodb, sqs: engines.sqs }, streams: [stream], startedAt: Date.now() }, cwd);
    try {
      await putRecord(h.kinesis, stream, JSON.stringify({ n: 1 }));
      const bad = await putRecord(h.kinesis, stream, "{not json");
      const rec = await h.nextBatch();
      expect(rec.quarantinedRecords).toBe(1);
      const list = io();
      expect(await quarantineCommand(["--app", name], list)).toBe(0);
      expect(list.out()).toContain(`${stream}/${bad.shardId}/${bad.sequenceNumber}`);
      expect(list.out()).toMatch(/JSON|Unexpected|Expected/);
      expect(list.out()).toContain("1 record(s)");
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

  it("retries a failed batch from the CLI once the cause is fixed", async () => {
    const name = `opsr${process.pid}`;
    const stream = `${name}-in`;
    const modulePath = path.join(cwd, `${name}.ts`);
    const { writeFileSync } = await import("node:fs");
    const lib = path.resolve("lib/index.ts");
    // The app fails in its output while a flag file exists: "the cause" that gets fixed.
    const flag = path.join(cwd, `${name}.broken`);
    writeFileSync(flag, "");
    writeFileSync(modulePath, `
import { existsSync } from "node:fs";
import { defineApp, Seconds } from ${JSON.stringify(lib)};
export default defineApp({ name: ${JSON.stringify(name)}, batchInterval: Seconds(1), maxTaskAttempts: 1 }, (ssc) => {
  ssc.kinesisStream(${JSON.stringify(stream)}).foreachRDD(async (rdd) => {
    if (existsSync(${JSON.stringify(flag)})) throw new Error("output sink down");
    await rdd.collect();
  });
});
`);
    const { loadApp } = await import("../../lib/app/app.js");
    const app = await loadApp(modulePath);
    const h = await startHarness(engines, app, { streams: { [stream]: 1 } });
    const unregister = registerLocalRun({ app: name, pid: process.pid, endpoints: { kinesis: engines.kinesis, dynamodb: engines.dynamodb, sqs: engines.sqs }, streams: [stream], startedAt: Date.now() }, cwd);
    try {
      await putRecord(h.kinesis, stream, "hello");
      const failed = await h.nextBatch();
      expect(failed.status).toBe("failed");
      const { rmSync } = await import("node:fs");
      rmSync(flag);
      const retry = io();
      expect(await retryCommand([modulePath], retry)).toBe(0);
      expect(retry.out()).toContain(`batch ${failed.time} sent again`);
      let status = "";
      for (let i = 0; i < 200 && status !== "completed"; i++) {
        status = (await h.engine.batchLog.getBatch(failed.time))!.status;
        await new Promise((r) => setTimeout(r, 25));
      }
      expect(status).toBe("completed");
      expect((await h.engine.batchLog.getBatch(failed.time))!.retries).toBe(1);
    } finally {
      unregister();
      await h.stop();
    }
  });

  it("reset needs --yes, then deletes every batch and state item of the app", async () => {
    const name = `opsx${process.pid}`;
    const stream = `${name}-in`;
    const app = defineApp({ name, batchInterval: Seconds(1) }, (ssc) => {
      ssc.kinesisStream(stream).map((w) => [w, 1]).updateStateByKey((v: number[], s?: number) => v.length + (s ?? 0)).foreachRDD(async (rdd) => { await rdd.collect(); });
    });
    const h = await startHarness(engines, app, { streams: { [stream]: 1 } });
    const unregister = registerLocalRun({ app: name, pid: process.pid, endpoints: { kinesis: engines.kinesis, dynamodb: engines.dynamodb, sqs: engines.sqs }, streams: [stream], startedAt: Date.now() }, cwd);
    try {
      await putRecord(h.kinesis, stream, "a");
      await h.nextBatch();
      expect((await h.engine.batchLog.listBatches()).length).toBe(1);
      await expect(resetCommand(["--app", name], io())).rejects.toThrow(/--yes/);
      const out = io();
      expect(await resetCommand(["--app", name, "--yes"], out)).toBe(0);
      expect(out.out()).toMatch(/deleted \d+ item\(s\)/);
      expect(await h.engine.batchLog.listBatches()).toEqual([]);
      expect(await h.engine.state.scan(h.ssc.graph.streams.find((s) => s.kind === "updateStateByKey")!.id, 0, Number.MAX_SAFE_INTEGER)).toEqual([]);
    } finally {
      unregister();
      await h.stop();
    }
  });
});
