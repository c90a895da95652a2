// The dashboard in a real browser: `runLocal` (embedded engines, the coordinator, a worker process)
// serves it; the test feeds the app's stream, loads the page in headless Chromium and checks that
// batches appear in the table with the mode they ran in (a run of empty batches in one row), the
// charts draw them and the DAG shows the app's graph. The
// screenshot is kept in test-artifacts/dashboard.png (and, with SPARKLESS_UPDATE_DOCS_IMAGES=1, in docs/images/).
import { copyFileSync, existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KinesisClient } from "@aws-sdk/client-kinesis";
import { chromium as playwright, type Browser } from "playwright-core";
import { loadApp } from "../../lib/app/app.js";
import { awsClientConfig } from "../../lib/local/engines.js";
import { runLocal } from "../../lib/local/runtime.js";
import { feed } from "../../lib/producer/feed.js";
import { describeApp } from "../../lib/ui/graph.js";
import { findChromium } from "../support/browser.js";

const root = path.resolve(fileURLToPath(new URL("../..", import.meta.url)));
const appPath = path.join(root, "test/ui/fixtures/dashboard-app.ts");

describe("the dashboard of a local run, in headless Chromium", () => {
  const logs: string[] = [];
  const stop = new AbortController();
  let run: Promise<{ completed: number }> | undefined;
  let browser: Browser | undefined;
  let dashboard = "";
  let kinesisEndpoint = "";

  beforeAll(async () => {
    // The browser first: without one the test fails at once, saying where it looked (test/support/browser.ts).
    const chromium = await findChromium();
    run = runLocal({ appPath, workers: 1, shards: 1, signal: stop.signal, log: (l) => logs.push(l), ui: {} });
    run.catch(() => undefined);
    for (let i = 0; i < 600 && !dashboard; i++) {
      const text = logs.join("\n");
      dashboard = /dashboard (http:\/\/\S+)/.exec(text)?.[1] ?? "";
      kinesisEndpoint = /Kinesis\s+(http:\/\/\S+)/.exec(text)?.[1] ?? "";
      if (!dashboard) await Promise.race([new Promise((r) => setTimeout(r, 100)), run]);
    }
    if (!dashboard) throw new Error(`sparkless local printed no dashboard URL:\n${logs.join("\n")}`);
    browser = await playwright.launch({ executablePath: chromium.executablePath, headless: true, args: [...chromium.args] });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    stop.abort();
    await run?.catch(() => undefined);
  }, 60_000);

  it("shows batches as they complete, charts them and draws the DAG", async () => {
    // Feed the app's stream for about 6 s (a dozen batches of 500 ms), as a user would with `sparkless feed`.
    const kinesis = new KinesisClient(awsClientConfig(kinesisEndpoint, "us-east-1"));
    const lines = Array.from({ length: 600 }, (_, i) => `the quick brown fox ${i % 7} jumps over the lazy dog`);
    const feeding = feed({ client: kinesis, stream: "dash-words", records: lines, ratePerSecond: 100 });

    const page = await browser!.newPage({ viewport: { width: 1280, height: 1100 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    const outside: string[] = [];
    page.on("request", (r) => {
      if (!r.url().startsWith(dashboard)) outside.push(r.url());
    });
    await page.goto(dashboard);
    expect((await feeding).sent).toBe(600);
    kinesis.destroy();

    // Batches with input have completed, the charts hold points for them, and a run of empty batches
    // (before the feed, or after it, written at the next checkpoint) shows as one row.
    // (globalThis.document: this project compiles without the DOM's types; the page's CSP forbids eval)
    await page.waitForFunction(
      () => {
        const doc = (globalThis as any).document;
        const rows: any[] = [...doc.querySelectorAll("#batches tbody tr[data-status=completed]")];
        const withInput = rows.filter((r) => Number(r.cells[1].textContent.replace(/,/g, "")) > 0);
        const points = Number(doc.querySelector("#chart-proc")?.getAttribute("data-points") ?? 0);
        return withInput.length >= 6 && points >= 6 && doc.querySelector("#batches tbody tr.emptyrun") !== null;
      },
      undefined,
      { timeout: 60_000, polling: 250 },
    );

    const table = await page.$$eval("#batches tbody tr[data-status]", (rows) =>
      rows.map((r) => ({
        status: r.getAttribute("data-status"),
        empty: Number(r.getAttribute("data-empty") ?? 0),
        input: Number(r.cells[1]!.textContent!.replace(/,/g, "")),
        time: r.cells[0]!.textContent!,
        mode: r.cells[7]!.textContent,
        statusText: r.cells[8]!.textContent!,
      })),
    );
    expect(table.filter((r) => r.status === "completed" && r.input > 0).length).toBeGreaterThanOrEqual(6);
    // Small batches run in the coordinator (mode "auto").
    expect(new Set(table.map((r) => r.mode))).toEqual(new Set(["in process"]));
    const run = table.find((r) => r.empty > 0)!;
    expect(run.empty).toBeGreaterThanOrEqual(2);
    expect(run).toMatchObject({ status: "completed", input: 0, statusText: `completed${run.empty} empty batches` });
    expect(run.time).toMatch(/^\d\d:\d\d:\d\d(\.\d+)? – \d\d:\d\d:\d\d(\.\d+)?$/);

    for (const id of ["chart-rate", "chart-sched", "chart-proc"]) {
      const chart = await page.$eval(`#${id}`, (svg) => ({
        points: Number(svg.getAttribute("data-points")),
        circles: svg.querySelectorAll("circle.point").length,
        line: svg.querySelector("path.line")?.getAttribute("d") ?? "",
        box: svg.getBoundingClientRect().height,
      }));
      expect(chart.points, id).toBeGreaterThanOrEqual(6);
      expect(chart.circles, id).toBe(Math.min(chart.points, 120));
      expect(chart.line.split("L").length, id).toBe(chart.points);
      expect(chart.box, id).toBeGreaterThan(100);
    }
    // The input rate chart has a point above zero.
    const rateMax = await page.$eval("#chart-rate", (svg) =>
      Math.min(...[...svg.querySelectorAll("circle.point")].map((c) => Number(c.getAttribute("cy")))),
    );
    expect(rateMax).toBeLessThan(150);

    // The DAG: every stream of the app's graph, with an edge per parent.
    const graph = describeApp(await loadApp(appPath));
    const dag = await page.$$eval("#dag g.dag-node", (gs) => gs.map((g) => ({ id: g.getAttribute("data-id"), text: g.textContent })));
    expect(dag.map((n) => n.id)).toEqual(graph.nodes.map((n) => n.id));
    expect(dag[0]!.text).toMatch(/kinesisStream.*stream dash-words/);
    const edges = await page.$$eval("#dag path.edge", (ps) => ps.length);
    expect(edges).toBe(graph.nodes.reduce((a, n) => a + n.parents.length, 0));
    expect(await page.textContent("#c-batches")).toMatch(/^\d+/);

    expect(errors).toEqual([]);
    expect(outside).toEqual([]); // self-contained: nothing but its own server

    const artifacts = path.join(root, "test-artifacts");
    mkdirSync(artifacts, { recursive: true });
    const shot = path.join(artifacts, "dashboard.png");
    await page.screenshot({ path: shot, fullPage: true });
    // The docs keep a copy, refreshed on request only, so a test run leaves the work tree as it was.
    if (process.env.SPARKLESS_UPDATE_DOCS_IMAGES) {
      mkdirSync(path.join(root, "docs/images"), { recursive: true });
      copyFileSync(shot, path.join(root, "docs/images/dashboard.png"));
    }
    expect(existsSync(shot)).toBe(true);
    await page.close();
  }, 120_000);
});
