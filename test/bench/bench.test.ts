/**
 * `npm run bench -- --quick` through the real code: the JSON and markdown it
 * writes, and the relations that hold whatever the timings. No timing
 * thresholds: benchmarks are a command, not assertions.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runBench } from "../../lib/bench/main.js";
import { targets, type BenchReport } from "../../lib/bench/report.js";
import { requestsOf, sumValues } from "../../lib/bench/metering.js";

const out = mkdtempSync(join(tmpdir(), "sparkless-bench-test-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const finite = (x: number) => expect(Number.isFinite(x) && x > 0, `${x} should be a finite number > 0`).toBe(true);

describe("npm run bench -- --quick", () => {
  it("measures every scenario and writes the JSON and the markdown table", async () => {
    await runBench({ quick: true, out, log: () => undefined });
    expect(existsSync(join(out, "benchmarks.json"))).toBe(true);
    const r = JSON.parse(readFileSync(join(out, "benchmarks.json"), "utf8")) as BenchReport;
    const md = readFileSync(join(out, "benchmarks.md"), "utf8");
    expect(r.quick).toBe(true);
    expect(r.machine.cores).toBeGreaterThan(0);

    // 1. Three contenders over the same records, every word counted, ratios to the hand loop.
    expect(r.memory.contenders.map((c) => c.name.split(" ")[0])).toEqual(["hand", "Sparkless", "RxJS"]);
    for (const c of r.memory.contenders) {
      expect(c.wordsCounted).toBe(r.memory.records * r.memory.wordsPerRecord);
      finite(c.recordsPerSecond);
      finite(c.ratioToHandLoop);
    }
    expect(r.memory.contenders[0]!.ratioToHandLoop).toBe(1);

    // 2. The direct consumer and the full path each processed every preloaded record.
    finite(r.throughput.direct.recordsPerSecond);
    expect(r.throughput.fullPath.length).toBeGreaterThan(0);
    for (const f of r.throughput.fullPath) {
      expect(f.records).toBe(r.throughput.records);
      finite(f.ratioToDirect);
      expect(requestsOf(f.counts, "Kinesis")).toBeGreaterThan(0);
      expect(requestsOf(f.counts, "SQS")).toBeGreaterThan(0);
      expect(requestsOf(f.counts, "DynamoDB")).toBeGreaterThan(0);
      expect(sumValues(f.counts.writeUnits)).toBeGreaterThan(0);
      expect(sumValues(f.counts.readUnits)).toBeGreaterThan(0);
      // The workers read every record from Kinesis; the coordinator read none (arrival-time blocks).
      expect(f.counts.kinesisRecordsRead).toBe(r.throughput.records);
      expect(f.counts.invocations.worker!.count).toBeGreaterThan(0);
      expect(f.counts.invocations.coordinator!.count).toBeGreaterThan(0);
    }

    // 3. Percentiles are ordered.
    for (const o of [r.overhead.empty, r.overhead.oneRecord]) {
      expect(o.batches).toBeGreaterThan(0);
      expect(o.p50Ms).toBeLessThanOrEqual(o.p99Ms);
      expect(o.p99Ms).toBeLessThanOrEqual(o.maxMs);
    }

    // 4. Costs are finite and positive; the sustained run put (PUT payload units) what it completed.
    for (const run of [r.sustained, r.sustainedLong]) {
      expect(run.recordsCompleted).toBe(run.recordsSent);
      expect(run.counts.kinesisPutPayloadUnits).toBe(run.recordsSent);
    }
    expect(r.sustainedLong.intervalMs).toBeGreaterThan(r.sustained.intervalMs);
    for (const c of [r.cost.throughputRequests.perMillion, r.cost.sustained.monthly, r.cost.sustainedLong.monthly, r.cost.atRest.oneSecond.monthly, r.cost.atRest.oneMinute.monthly]) finite(c.total);
    // Longer batches cost less at rest.
    expect(r.cost.atRest.oneMinute.monthly.total).toBeLessThan(r.cost.atRest.oneSecond.monthly.total);
    expect(r.cost.baselines.flinkMinimumMonthly).toBeCloseTo(160.6, 1);
    expect(r.minute.idleInvocations).toBeGreaterThan(0);

    // The markdown has the targets table and every scenario.
    expect(targets(r)).toHaveLength(7);
    for (const heading of ["## Targets", "## 1.", "## 2.", "## 3.", "## 4.", "### Prices"]) expect(md).toContain(heading);
    expect(md).toContain(r.machine.cpu);
  }, 300_000);
});
