// The dashboard server over any batch log (here the in-memory one): the self-contained page,
// the JSON API the page reads (one entry per batch, a stored run of empty batches expanded by the
// app's own interval, each batch's mode), and errors that name their fix.
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
  a.union(b)
    .reduceByKey((x, y) => x + y)
    .print();
  ssc.queueStream<number>([]).count(); // no output depends on it: not drawn
});

const batch = (i: number, patch: Partial<BatchRecord> = {}): BatchRecord => ({
  time: i * 2000,
  blocks: {},
  status: "completed",
  generatedAt: i * 2000,
  startedAt: i * 2000 + 10,
  completedAt: i * 2000 + 110,
  inputRecords: 10 * i,
  ...patch,
});

describe("the dashboard server", () => {
  const log = new MemoryBatchLog();
  const lone = new MemoryBatchLog();
  let ui: UiServer;
  let broken: UiServer;
  let loneUi: UiServer;
  beforeAll(async () => {
    // Batches 1 to 3 (3 fanned out), 4 and 5 empty (kept in the record of 6), 6.
    for (const r of [batch(1), batch(2), batch(3, { mode: "fan-out" }), batch(6, { emptyFrom: 8000, emptyBlocks: {} })]) await log.createBatch(r);
    ui = await startUiServer({ app: "srv", batchLog: log, batchIntervalMs: 2000, graph: describeApp(app) }, { now: () => 14_000 });
    const econnrefused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" });
    broken = await startUiServer({
      app: "x",
      batchLog: {
        listBatches: async () => {
          throw econnrefused;
        },
      },
      endpoint: "http://127.0.0.1:9",
    });
    // A log whose only record ends a run of empty batches: only the app's stored interval expands it.
    await lone.createApp({ zeroTime: 0, batchIntervalMs: 2000, fingerprint: [], createdAt: 0 });
    await lone.createBatch(batch(4, { emptyFrom: 2000, emptyBlocks: {} }));
    loneUi = await startUiServer({ app: "lone", batchLog: lone }, { now: () => 9000 });
  });
  afterAll(async () => {
    await ui?.close();
    await broken?.close();
    await loneUi?.close();
  });

  it("serves one self-contained page", async () => {
    const res = await fetch(ui.url);
    expect(res.headers.get("content-type")).toMatch(/text\/html/);
    const html = await res.text();
    expect(html).toMatch(/<title>Sparkless · srv · Streaming<\/title>/);
    // no external script, style, font or image: only the SVG namespace names a URL
    expect(html.match(/https?:\/\/[^\s"'<>]+/g)?.filter((u) => u !== "http://www.w3.org/2000/svg") ?? []).toEqual([]);
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/);
    for (const id of ["chart-rate", "chart-sched", "chart-proc", "dag", "batches"]) expect(html).toContain(`id="${id}"`);
    expect(html).toMatch(/<th>Quarantined<\/th><th class="mode">Mode<\/th><th>Status<\/th>/);
    expect(html).not.toMatch(/generated/);
    // The page's script is valid JavaScript (it is only parsed here; the browser test runs it).
    const script = /<script>([\s\S]*)<\/script>/.exec(html)![1]!;
    expect(() => new Function(script)).not.toThrow();
  });

  it("gives the batches, totals and lag as JSON, one entry per batch of an empty run", async () => {
    const s = (await (await fetch(new URL("api/status?limit=4", ui.url))).json()) as any;
    expect(s).toMatchObject({
      app: "srv",
      now: 14_000,
      totalBatches: 6,
      batchIntervalMs: 2000,
      lag: { waiting: 0, lastCompletedTime: 12_000, lagMs: 2000 },
    });
    expect(s.batches.map((b: any) => [b.time, b.inputRate, b.processingTime ?? null, b.mode, b.empty ?? false])).toEqual([
      [6000, 15, 100, "fan-out", false],
      [8000, 0, null, "in-process", true],
      [10_000, 0, null, "in-process", true],
      [12_000, 30, 100, "in-process", false],
    ]);
    expect(s.totals).toMatchObject({ batches: 4, completed: 4, empty: 2, fannedOut: 1, inputRecords: 90 });
  });

  it("expands empty runs by the interval stored with the app when it is not given", async () => {
    const s = (await (await fetch(new URL("api/status", loneUi.url))).json()) as any;
    expect(s).toMatchObject({ totalBatches: 4, batchIntervalMs: 2000 });
    expect(s.batches.map((b: any) => [b.time, b.status, b.empty ?? false])).toEqual([
      [2000, "completed", true],
      [4000, "completed", true],
      [6000, "completed", true],
      [8000, "completed", false],
    ]);
    expect((await (await fetch(new URL("api/graph", loneUi.url))).json()) as any).toEqual({ nodes: [], batchIntervalMs: 2000 });
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
