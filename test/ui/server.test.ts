// The dashboard server over any batch log (here the in-memory one): the self-contained page,
// the JSON API the page reads, and errors that name their fix.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineApp } from "../../lib/app/app.js";
import { Seconds } from "../../lib/core/duration.js";
import { MemoryBatchLog } from "../../lib/storage/memory.js";
import type { BatchRecord } from "../../lib/storage/interfaces.js";
import { describeApp } from "../../lib/ui/graph.js";
import { startUiServer, type UiServer } from "../../lib/ui/server.js";

const app = defineApp({ name: "srv", batchInterval: Seconds(2) }, (ssc) => {
  const a = ssc.kinesisStream("in-a").map((x) => [x, 1] as [string, number]);
  const b = ssc.queueStream<[string, number]>([]);
  a.union(b).reduceByKey((x, y) => x + y).print();
  ssc.queueStream<number>([]).count(); // no output depends on it: not drawn
});

describe("the dashboard server", () => {
  const log = new MemoryBatchLog();
  let ui: UiServer;
  let broken: UiServer;
  beforeAll(async () => {
    for (let i = 1; i <= 3; i++) {
      await log.createBatch({ time: i * 2000, blocks: {}, stages: [], materialized: {}, status: "completed", generatedAt: i * 2000, startedAt: i * 2000 + 10, completedAt: i * 2000 + 110, inputRecords: 10 * i } as BatchRecord);
    }
    ui = await startUiServer({ app: "srv", batchLog: log, batchIntervalMs: 2000, graph: describeApp(app) }, { now: () => 8000 });
    const econnrefused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" });
    broken = await startUiServer({ app: "x", batchLog: { listBatches: async () => { throw econnrefused; } }, endpoint: "http://127.0.0.1:9" });
  });
  afterAll(async () => { await ui?.close(); await broken?.close(); });

  it("serves one self-contained page", async () => {
    const res = await fetch(ui.url);
    expect(res.headers.get("content-type")).toMatch(/text\/html/);
    const html = await res.text();
    expect(html).toMatch(/<title>Sparkless · srv · Streaming<\/title>/);
    // no external script, style, font or image: only the SVG namespace names a URL
    expect(html.match(/https?:\/\/[^\s"'<>]+/g)?.filter((u) => u !== "http://www.w3.org/2000/svg") ?? []).toEqual([]);
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/);
    for (const id of ["chart-rate", "chart-sched", "chart-proc", "dag", "batches"]) expect(html).toContain(`id="${id}"`);
  });

  it("gives the batches, totals and lag as JSON", async () => {
    const s = (await (await fetch(new URL("api/status?limit=2", ui.url))).json()) as any;
    expect(s).toMatchObject({ app: "srv", now: 8000, totalBatches: 3, batchIntervalMs: 2000, lag: { waiting: 0, lastCompletedTime: 6000, lagMs: 2000 } });
    expect(s.batches.map((b: { time: number; inputRate: number; processingTime: number }) => [b.time, b.inputRate, b.processingTime])).toEqual([[4000, 10, 100], [6000, 15, 100]]);
  });

  it("gives the graph of the streams that outputs depend on", async () => {
    const g = (await (await fetch(new URL("api/graph", ui.url))).json()) as any;
    expect(g.nodes.map((n: { kind: string }) => n.kind)).toEqual(["kinesisStream", "map", "queueStream", "union", "reduceByKey", "print"]);
    const union = g.nodes.find((n: { kind: string }) => n.kind === "union");
    expect(union.parents).toEqual([g.nodes[1].id, g.nodes[2].id]);
    expect(g.nodes[0]).toMatchObject({ source: "in-a", input: true, output: false });
    expect(g.nodes[5]).toMatchObject({ output: true });
  });

  it("answers an unreadable batch log with the fix, and unknown paths with 404", async () => {
    const res = await fetch(new URL("api/status", broken.url));
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: string }).error).toMatch(/nothing answers at http:\/\/127.0.0.1:9: start `sparkless local`/);
    expect((await fetch(new URL("nope", ui.url))).status).toBe(404);
  });
});
