/**
 * `npm run bench -- --quick` through the real code, in this process: the
 * JSON and the markdown it writes, every table and target present, every
 * figure a finite number, and requests counted wherever work happened. No
 * timing thresholds: benchmarks are a command, not assertions (the machines
 * are noisy, and --quick figures mean nothing).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runBench } from "../../tools/bench/main.js";
import { HAND, RXJS, SPARKLESS, SPARKLESS_DEFAULT } from "../../tools/bench/memory.js";
import { requestsOf, total } from "../../lib/observability/metering.js";
import { targets, type BenchReport } from "../../tools/bench/report.js";

const out = mkdtempSync(join(tmpdir(), "sparkless-bench-test-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** Paths of every number in `x` that is not finite (JSON writes NaN and Infinity as null). */
function notFinite(x: unknown, path = "report"): string[] {
  if (x === null || (typeof x === "number" && !Number.isFinite(x))) return [path];
  if (typeof x !== "object") return [];
  return Object.entries(x as Record<string, unknown>).flatMap(([k, v]) => notFinite(v, `${path}.${k}`));
}

describe("npm run bench -- --quick", () => {
  it("runs every scenario and writes every table and target, with finite figures and counted requests", async () => {
    await runBench({ quick: true, out, log: () => undefined });
    expect(existsSync(join(out, "benchmarks.json"))).toBe(true);
    const r = JSON.parse(readFileSync(join(out, "benchmarks.json"), "utf8")) as BenchReport;
    const md = readFileSync(join(out, "benchmarks.md"), "utf8");
    expect(r.quick).toBe(true);
    expect(notFinite(r)).toEqual([]);

    // 1. Every contender at every size, over the same records, ending with the same state.
    expect(r.memory.sizes.length).toBe(2);
    for (const size of r.memory.sizes) {
      expect(size.sameResults).toBe(true);
      expect(size.contenders.map((c) => c.name).slice(0, 3)).toEqual([HAND, RXJS, SPARKLESS]);
      expect(size.contenders[0]!.ratioToHandLoop).toBe(1);
      for (const c of size.contenders) expect(c.runsMs.length).toBeGreaterThan(0);
    }
    expect(r.memory.sizes[0]!.contenders.map((c) => c.name)).toContain(SPARKLESS_DEFAULT);

    // 2. Every distributed run did its work, and the requests of it were counted.
    const d = r.distributed;
    for (const s of [d.stateful1k, d.statefulLong, d.stateful10k, d.stateless1k]) {
      expect(s.recordsPut).toBeGreaterThan(0);
      expect(s.timeline.records).toBe(s.recordsPut);
      expect(s.latency.records).toBe(s.recordsPut);
      expect(s.latency.p50Ms).toBeLessThanOrEqual(s.latency.p99Ms);
      expect(requestsOf(s.window.counts, "Kinesis", { api: "GetRecords" })).toBeGreaterThan(0);
      expect(total(s.window.counts, "writeUnits", { service: "DynamoDB", purpose: "batch log" })).toBeGreaterThan(0);
      expect(s.producerCounts.kinesisRecordsPut).toBeGreaterThan(0);
      expect(s.window.coordinatorCpuMs).toBeGreaterThan(0);
    }
    expect(d.statefulLong.intervalMs).toBeGreaterThan(d.stateful1k.intervalMs);
    expect(d.stateful10k.ratePerSecond).toBeGreaterThan(d.stateful1k.ratePerSecond);
    for (const x of d.rest) {
      expect(x.window.batches).toBeGreaterThan(0);
      expect(requestsOf(x.window.counts, "Kinesis", { api: "GetRecords" })).toBeGreaterThan(0);
    }
    expect(d.minute.invocations).toBeGreaterThan(0);
    expect(requestsOf(d.minute.counts, "DynamoDB")).toBeGreaterThan(0);
    expect(d.minute.emfBytes).toBeGreaterThan(0);
    // The large batch fanned out: task and result messages, shuffle objects, claims, worker time.
    expect(d.large.mode).toBe("fan-out");
    expect(requestsOf(d.large.counts, "SQS")).toBeGreaterThan(0);
    expect(requestsOf(d.large.counts, "DynamoDB", { purpose: "task claims" })).toBeGreaterThan(0);
    expect(d.large.workerInvocations).toBeGreaterThan(0);
    for (const x of d.direct) {
      expect(x.recordsApplied).toBe(x.recordsPut);
      expect(requestsOf(x.counts, "Kinesis", { api: "GetRecords" })).toBeGreaterThan(0);
    }
    expect(d.requestsPerBatch.map((x) => x.batches).every((b) => b > 0)).toBe(true);
    expect(d.latencyModel.length).toBe(3);

    // Scale: the memory backends read nothing while warm; the per-key backend reads the active keys.
    expect(r.scale.map((s) => `${s.variant.pipeline}/${s.variant.backend}`)).toEqual([
      "update-state/memory",
      "map-with-state/memory",
      "map-with-state/dynamodb",
    ]);
    expect(r.scale[2]!.perBatch.rru).toBeGreaterThan(0);
    expect(r.scale[0]!.fullCheckpointBytes).toBeGreaterThan(0);

    // 3. Every cell of the cost table, the baselines and the checkpoint store choice.
    expect(r.cost.cells.length).toBe(2 * r.cost.rates.length * r.cost.intervals.length + 1);
    for (const c of r.cost.cells) expect(c.monthly.total).toBeGreaterThan(0);
    expect(r.cost.cells.filter((c) => c.basis === "measured").length).toBeGreaterThanOrEqual(7);
    expect(r.cost.flinkMinimumMonthly).toBeCloseTo(160.6, 1);
    // One row per stateful run whose window held a checkpoint (none in --quick's short windows), and the large state.
    expect(r.cost.checkpointStores.at(-1)!.label).toContain("keys");
    for (const x of r.cost.checkpointStores) expect(x.s3Monthly).toBeGreaterThan(0);

    // The targets, and the markdown's sections.
    const list = targets(r);
    // One per size (and per size timed with the defaults) for the engine, ten for the distributed path and the cost.
    const engineTargets = r.memory.sizes.length + r.memory.sizes.filter((s) => s.contenders.some((c) => c.name === SPARKLESS_DEFAULT)).length;
    expect(list.length).toBe(engineTargets + 10);
    for (const t of list) expect(Number.isFinite(t.value), t.name).toBe(true);
    for (const heading of [
      "## Targets",
      "## Before and after",
      "## 1. In-memory engine",
      "### Where the engine's time goes",
      "## 2. The distributed path",
      "### Sustained runs",
      "### Requests per batch",
      "### Latency",
      "### At rest",
      "### One large batch",
      "### Direct Kinesis consumer",
      "### Scale",
      "## 3. Cost",
      "### $/month",
      "### Where each dollar goes",
      "### Checkpoint store",
      "### Prices",
    ])
      expect(md).toContain(heading);
    for (const t of list) expect(md).toContain(t.name);
  }, 240_000);
});
